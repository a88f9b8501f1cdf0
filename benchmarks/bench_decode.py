"""AIS position decoding: the vectorised decoder against pyais, side by side in one run, one core.

    python benchmarks/bench_decode.py               # 1M position reports, 500k-line NMEA log
    python benchmarks/bench_decode.py --n 200000 --log-lines 100000   # quicker
    python benchmarks/bench_decode.py --tiny        # seconds; what the test suite runs

The process pins itself to one CPU (``sched_setaffinity``) and polars to one thread before
anything is measured. The corpus: ``--n`` single-sentence position reports, drawn from a pool
of 20,000 distinct ones encoded by pyais (types 1 55%, 2 3%, 3 12%, 18 25%, 27 5%; realistic
values, a few "not available" ones), each payload its own ``bytes`` object as the reader hands
them over. Every step decodes the same list, in ``--repeat`` rounds that run every step once (best kept per step):

* ``pyais NMEAMessage(s).decode()``: pyais on each sentence (what the reader did before);
* ``pyais decode only``: pyais's bit vector and message class on each payload, no sentence
  parsing (the strictest baseline);
* ``ais_fast.decode_positions``: ours, every field of every message into NumPy columns;
* ``batch: PyaisPositionDecoder`` / ``batch: VectorisedPositionDecoder``: the reader's decode
  step, payloads to the POSITIONS rows (a polars frame), pyais loop versus vectorised.

Before timing, ours is checked against pyais on the first rows of the corpus (every field) and
the two batch frames are compared whole. Then the NMEA reader end to end: a generated
tag-blocked log (``--log-lines``; 95% single-sentence position reports, 5% two-part type 5)
read by :class:`NmeaReader` with each batch decoder (framing, checksums, assembly, decode,
frames), and ``ingest_file`` into a fresh project (reader + validation + store) with each.

Results go to ``benchmarks/out/decode.json`` (``decode_tiny.json`` with ``--tiny``) and are
printed as Markdown tables for ``docs/decode.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
MIX = {1: 55, 2: 3, 3: 12, 18: 25, 27: 5}


def pin_one_core() -> str:
    """Run on one CPU (the first this process may use) with one polars thread."""
    os.environ["POLARS_MAX_THREADS"] = "1"
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def make_pool(size: int, seed: int = 1) -> list[bytes]:
    """Distinct position-report sentences encoded by pyais, in the MIX proportions."""
    from pyais import encode_dict

    rng = random.Random(seed)
    kinds, weights = zip(*MIX.items(), strict=True)
    pool = []
    for i in range(size):
        kind = rng.choices(kinds, weights)[0]
        data: dict[str, Any] = {"type": kind, "mmsi": 200_000_000 + rng.randrange(600_000_000),
                                "lat": rng.uniform(-60, 70), "lon": rng.uniform(-180, 180),
                                "accuracy": rng.random() < 0.5}
        if kind == 27:
            data |= {"speed": rng.randrange(0, 64), "course": rng.randrange(0, 512), "status": rng.randrange(16)}
        else:
            data |= {"speed": round(rng.uniform(0, 25), 1), "course": round(rng.uniform(0, 359.9), 1),
                     "heading": rng.choice([rng.randrange(360), 511]), "second": rng.randrange(60),
                     "radio": rng.randrange(1 << 19)}
            if kind != 18:
                data |= {"status": rng.choice([0, 0, 0, 1, 5, 7, 15]), "turn": rng.choice([0, -128, 5.0, -10.0])}
        if i % 97 == 0:  # now and then "not available" values
            data |= {"speed": 102.3 if kind != 27 else 63, "lat": 91.0, "lon": 181.0}
        pool.append(encode_dict(data, talker_id="AI", sentence_type="VDM")[0].encode())
    return pool


def make_corpus(n: int, pool: list[bytes], seed: int = 2) -> tuple[list[bytes], list[bytes], list[int]]:
    """n sentences from the pool; payloads and fill bits cut out of each one (fresh objects)."""
    rng = random.Random(seed)
    sentences = [pool[rng.randrange(len(pool))] for _ in range(n)]
    fields = [s.split(b",") for s in sentences]
    return sentences, [f[5] for f in fields], [int(f[6][:1]) for f in fields]


def check_equivalence(sentences: list[bytes], payloads: list[bytes], fills: list[int], rows: int) -> int:
    """Ours against pyais on the first ``rows`` (every field, value and type); the batch frames."""
    from polars.testing import assert_frame_equal
    from pyais import NMEAMessage

    from sanctionwatch.ingest.ais_fast import decode_positions
    from sanctionwatch.ingest.nmea_decode import PyaisPositionDecoder, VectorisedPositionDecoder

    fast = decode_positions(payloads[:rows], fills[:rows])
    assert fast.decoded.all(), "the benchmark corpus should be all standard-length reports"
    for row, sentence in enumerate(sentences[:rows]):
        msg = NMEAMessage(sentence).decode()
        ours = fast.pyais_values(row)
        for field in msg.fields():
            theirs = getattr(msg, field.name)
            mine = ours[field.name]
            assert type(mine) is type(theirs) and (
                mine.hex() == theirs.hex() if isinstance(mine, float) else mine == theirs), \
                f"row {row} field {field.name}: {mine!r} != pyais {theirs!r}"
    args = (payloads[:rows], fills[:rows], sentences[:rows])
    assert_frame_equal(VectorisedPositionDecoder().decode(*args), PyaisPositionDecoder().decode(*args),
                       check_exact=True)
    return rows


def decode_steps(sentences: list[bytes], payloads: list[bytes], fills: list[int],
                 repeat: int) -> list[dict[str, Any]]:
    from pyais import NMEAMessage

    from sanctionwatch.ingest.ais_fast import decode_positions
    from sanctionwatch.ingest.nmea_decode import PyaisPositionDecoder, VectorisedPositionDecoder

    def pyais_sentences() -> None:
        for s in sentences:
            NMEAMessage(s).decode()

    steps: list[tuple[str, Callable[[], Any]]] = [("pyais NMEAMessage(s).decode()", pyais_sentences)]
    try:  # pyais internals: the decode alone, without parsing the sentence
        from pyais.bit_vector import bit_vector
        from pyais.messages import MSG_CLASS

        def pyais_payloads() -> None:
            for p, f in zip(payloads, fills, strict=True):
                bv = bit_vector(p, f)
                MSG_CLASS[bv.get(0, 6)].from_vector(bv)

        steps.append(("pyais decode only (bit vector + message class)", pyais_payloads))
    except ImportError:
        print("pyais internals moved: the decode-only baseline is skipped")
    steps += [
        ("ais_fast.decode_positions (all fields)", lambda: decode_positions(payloads, fills)),
        ("batch: PyaisPositionDecoder", lambda: PyaisPositionDecoder().decode(payloads, fills, sentences)),
        ("batch: VectorisedPositionDecoder", lambda: VectorisedPositionDecoder().decode(payloads, fills, sentences)),
    ]
    return timed_rounds(steps, repeat, len(payloads), "messages")


def timed_rounds(steps: list[tuple[str, Callable[[], Any]]], repeat: int, count: int,
                 unit: str) -> list[dict[str, Any]]:
    """Best of ``repeat`` rounds, each running every step once (so that a change of load on a
    shared machine hits all steps alike, and the ratios stay fair)."""
    best = {name: float("inf") for name, _ in steps}
    for _ in range(repeat):
        for name, fn in steps:
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    results = [{"step": name, unit: count, "seconds": round(seconds, 4),
                f"{unit}_per_s": round(count / seconds)} for name, seconds in best.items()]
    for result in results:
        print(result, flush=True)
    return results


def _tag_block(epoch_s: int) -> str:
    body = f"s:bench,c:{epoch_s}"
    check = 0
    for ch in body:
        check ^= ord(ch)
    return f"\\{body}*{check:02X}\\"


def make_log(path: Path, lines: int, pool: list[bytes], seed: int = 3) -> None:
    """A tag-blocked log: 95% single-sentence position reports, 5% two-part type 5."""
    from pyais import encode_dict

    rng = random.Random(seed)
    statics = [encode_dict({"type": 5, "mmsi": 273_000_000 + i, "imo": 9179842, "shipname": f"BENCH {i}",
                            "callsign": f"UB{i:04d}", "ship_type": 70, "to_bow": 100, "to_stern": 20,
                            "to_port": 10, "to_starboard": 10, "draught": 6.5, "destination": "VOSTOCHNY",
                            "month": 9, "day": 1, "hour": 12, "minute": 0}, talker_id="AI", sentence_type="VDM")
               for i in range(200)]
    t0 = 1_693_526_400  # 2023-09-01T00:00:00Z
    written = 0
    with path.open("w", encoding="ascii") as fh:
        while written < lines:
            tag = _tag_block(t0 + written)
            if written % 40 == 39:
                for part in statics[rng.randrange(len(statics))]:
                    fh.write(tag + part + "\n")
                    written += 1
            else:
                fh.write(tag + pool[rng.randrange(len(pool))].decode() + "\n")
                written += 1


def reader_steps(log: Path, work: Path, repeat: int) -> list[dict[str, Any]]:
    from polars.testing import assert_frame_equal

    from sanctionwatch.config import load_config
    from sanctionwatch.ingest.base import RawChunk
    from sanctionwatch.ingest.nmea import NmeaReader
    from sanctionwatch.ingest.nmea_decode import PyaisPositionDecoder, VectorisedPositionDecoder
    from sanctionwatch.ingest.pipeline import ingest_file
    from sanctionwatch.ingest.registry import register_reader
    from sanctionwatch.store import Project

    config = load_config()
    lines = sum(1 for _ in log.open("rb"))
    decoders = {"pyais loop": PyaisPositionDecoder, "vectorised": VectorisedPositionDecoder}
    chunks = {name: RawChunk.combine(NmeaReader(cls()).read(log, config, {})) for name, cls in decoders.items()}
    for table in ("positions", "identities", "quarantine"):
        assert_frame_equal(getattr(chunks["vectorised"], table), getattr(chunks["pyais loop"], table),
                           check_exact=True)
    steps: list[tuple[str, Callable[[], Any]]] = [
        (f"NmeaReader.read, {name}", lambda cls=cls: list(NmeaReader(cls()).read(log, config, {})))
        for name, cls in decoders.items()]

    def ingest_with(cls: Any) -> Callable[[], None]:
        def ingest() -> None:
            register_reader("nmea", lambda: NmeaReader(cls()))
            project = work / "project"
            shutil.rmtree(project, ignore_errors=True)
            ingest_file(Project.init(project), log, format="nmea")
        return ingest

    steps += [(f"ingest_file (reader + validation + store), {name}", ingest_with(cls))
              for name, cls in decoders.items()]
    results = timed_rounds(steps, repeat, lines, "lines")
    register_reader("nmea", NmeaReader)
    shutil.rmtree(work / "project", ignore_errors=True)
    return results


def environment(pinned: str) -> dict[str, Any]:
    import numpy
    import polars
    import pyais

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "pinned": pinned, "python": platform.python_version(),
            "numpy": numpy.__version__, "polars": polars.__version__, "pyais": pyais.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="position reports to decode")
    ap.add_argument("--log-lines", type=int, default=500_000, help="lines of the generated NMEA log")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of timings (best kept per step)")
    ap.add_argument("--check", type=int, default=20_000, help="rows checked against pyais first")
    ap.add_argument("--tiny", action="store_true", help="a few thousand messages: a smoke test")
    ap.add_argument("--work", type=Path, default=OUT / "work")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.tiny:
        args.n, args.log_lines, args.repeat, args.check = 5000, 3000, 3, 2000
    pinned = pin_one_core()  # before polars is imported

    pool = make_pool(2000 if args.tiny else 20_000)
    sentences, payloads, fills = make_corpus(args.n, pool)
    checked = check_equivalence(sentences, payloads, fills, min(args.check, args.n))
    print(f"checked: {checked:,} messages identical to pyais (every field, value and type)", flush=True)
    decode = decode_steps(sentences, payloads, fills, args.repeat)

    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / f"decode-{args.log_lines}.nmea"
    if not log.exists() or sum(1 for _ in log.open("rb")) != args.log_lines:
        make_log(log, args.log_lines, pool)
    reader = reader_steps(log, args.work, args.repeat)

    by = {r["step"]: r["messages_per_s"] for r in decode}
    ours = by["ais_fast.decode_positions (all fields)"]
    ratios = {
        "decode_vs_pyais_sentences": round(ours / by["pyais NMEAMessage(s).decode()"], 1),
        "batch_vectorised_vs_pyais": round(by["batch: VectorisedPositionDecoder"]
                                           / by["batch: PyaisPositionDecoder"], 1),
        "reader_vectorised_vs_pyais": round(reader[1]["lines_per_s"] / reader[0]["lines_per_s"], 2),
        "ingest_vectorised_vs_pyais": round(reader[3]["lines_per_s"] / reader[2]["lines_per_s"], 2),
    }
    only = by.get("pyais decode only (bit vector + message class)")
    if only:
        ratios["decode_vs_pyais_decode_only"] = round(ours / only, 1)
    env = environment(pinned)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "decode_tiny.json" if args.tiny else "decode.json"
    (args.out / name).write_text(json.dumps({"decode": decode, "reader": reader, "ratios": ratios,
                                             "checked_rows": checked, "env": env}, indent=2))

    print(f"\n{env['cpu']}, one core ({pinned}); Python {env['python']}, NumPy {env['numpy']}, "
          f"pyais {env['pyais']}; {args.n:,} position reports, best of {args.repeat}\n")
    print("| step | messages | seconds | messages/s | vs pyais |")
    print("|---|---:|---:|---:|---:|")
    base = by["pyais NMEAMessage(s).decode()"]
    for r in decode:
        print(f"| {r['step']} | {r['messages']:,} | {r['seconds']} | {r['messages_per_s']:,} | "
              f"{r['messages_per_s'] / base:.1f}x |")
    print("\n| NMEA log end to end | lines | seconds | lines/s |")
    print("|---|---:|---:|---:|")
    for r in reader:
        print(f"| {r['step']} | {r['lines']:,} | {r['seconds']} | {r['lines_per_s']:,} |")
    print("\nratios:", ratios)
    print(f"decode vs pyais (ratio, same run): {ratios['decode_vs_pyais_sentences']}x")


if __name__ == "__main__":
    main()
