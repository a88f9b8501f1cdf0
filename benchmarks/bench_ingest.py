"""Ingest throughput and peak memory, side by side with the peers, in one run.

    python benchmarks/bench_ingest.py                 # 1M NMEA messages, 5M CSV rows
    python benchmarks/bench_ingest.py --nmea 200000 --csv 1000000   # quicker

Each measured step runs in its own child process, which reports its own peak RSS (``VmHWM``
from ``/proc/self/status``; ``ru_maxrss`` would not do, since Linux carries the parent's
high-water mark across fork and exec). The steps:

* ``sanctionwatch ingest`` of a generated NMEA log (tag-blocked, types 1 and 5) into a fresh
  project, versus a plain pyais loop decoding every sentence of the same file;
* ``sanctionwatch ingest`` of a generated NOAA MarineCadastre CSV, versus ``polars.read_csv``
  of the same file (which parses but validates, de-duplicates and stores nothing).

Results go to ``benchmarks/out/ingest.json`` and are printed as a Markdown table for
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def _tag_block(epoch_s: int) -> str:
    body = f"s:bench,c:{epoch_s}"
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"\\{body}*{cs:02X}\\"


def make_nmea(path: Path, n: int, seed: int = 1) -> None:
    """n sentences: ~95% type 1 positions, ~5% two-part type 5, from 2,000 vessels."""
    from pyais import encode_dict

    rng = np.random.default_rng(seed)
    pool_pos, pool_static = [], []
    for i in range(20_000):
        mmsi = 273_000_000 + (i % 2000)
        pool_pos.append(encode_dict({
            "type": 1, "mmsi": mmsi, "lat": float(rng.uniform(40, 45)), "lon": float(rng.uniform(129, 135)),
            "speed": float(np.round(rng.uniform(0, 15), 1)), "course": float(np.round(rng.uniform(0, 359), 1)),
            "heading": int(rng.integers(0, 360)), "status": 0,
        }, talker_id="AI", sentence_type="VDM")[0])
    for i in range(2000):
        pool_static.append(encode_dict({
            "type": 5, "mmsi": 273_000_000 + i, "imo": 9179842, "shipname": f"BENCH {i}", "callsign": f"UB{i:04d}",
            "ship_type": 70, "to_bow": 100, "to_stern": 20, "to_port": 10, "to_starboard": 10, "draught": 6.5,
            "destination": "VOSTOCHNY", "month": 9, "day": 1, "hour": 12, "minute": 0,
        }, talker_id="AI", sentence_type="VDM"))
    t0 = 1_693_526_400  # 2023-09-01T00:00:00Z
    written = 0
    with path.open("w", encoding="ascii") as fh:
        i = 0
        while written < n:
            t = t0 + i  # one message per second overall
            if i % 20 == 19:
                for part in pool_static[i % 2000]:
                    fh.write(_tag_block(t) + part + "\n")
                    written += 1
            else:
                fh.write(_tag_block(t) + pool_pos[i % 20_000] + "\n")
                written += 1
            i += 1


def make_csv(path: Path, n: int, seed: int = 2) -> None:
    import polars as pl

    rng = np.random.default_rng(seed)
    vessel = np.arange(n) % 5000
    t = np.datetime64("2023-09-01T00:00:00") + (np.arange(n) // 5000).astype("timedelta64[m]")
    df = pl.DataFrame({
        "MMSI": 273_000_000 + vessel,
        "BaseDateTime": np.datetime_as_string(t, unit="s"),
        "LAT": np.round(rng.uniform(40, 45, n), 5),
        "LON": np.round(rng.uniform(129, 135, n), 5),
        "SOG": np.round(rng.uniform(0, 15, n), 1),
        "COG": np.round(rng.uniform(0, 359.9, n), 1),
        "Heading": rng.integers(0, 360, n),
        "VesselName": [f"BENCH {v}" for v in vessel],
        "IMO": "IMO9179842",
        "CallSign": "UBYT2",
        "VesselType": 70,
        "Status": 0,
        "Length": 120,
        "Width": 20,
        "Draft": 6.5,
        "Cargo": 70,
        "TransceiverClass": "A",
    })
    df.write_csv(path)


# Appended to every step: print the process's own peak resident set size in kB.
_PEAK = ("\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")

STEPS = {
    "sanctionwatch_nmea": "from pathlib import Path; import sys\n"
    "from sanctionwatch.store import Project\nfrom sanctionwatch.ingest.pipeline import ingest_file\n"
    "p = Project.init(Path(sys.argv[2]))\nr = ingest_file(p, Path(sys.argv[1]))\n"
    "print(r.records_read, r.positions_kept + r.identities_kept)",
    "pyais_loop": "import sys\nfrom pyais.stream import FileReaderStream\nn = 0\n"
    "for msg in FileReaderStream(sys.argv[1]):\n    msg.decode()\n    n += 1\nprint(n, n)",
    "sanctionwatch_csv": "from pathlib import Path; import sys\n"
    "from sanctionwatch.store import Project\nfrom sanctionwatch.ingest.pipeline import ingest_file\n"
    "p = Project.init(Path(sys.argv[2]))\nr = ingest_file(p, Path(sys.argv[1]))\n"
    "print(r.records_read, r.positions_kept)",
    "polars_read_csv": "import sys, polars as pl\ndf = pl.read_csv(sys.argv[1])\nprint(df.height, df.height)",
}


def run_step(name: str, *args: str) -> dict[str, float | int | str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STEPS[name] + _PEAK, *args], stdout=subprocess.PIPE,
                          text=True, check=True)
    seconds = time.perf_counter() - t0
    records, kept, peak_kb = (int(x) for x in proc.stdout.split()[-3:])
    return {"step": name, "records": records, "kept": kept, "seconds": round(seconds, 2),
            "records_per_s": round(records / seconds), "peak_rss_mb": round(peak_kb / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nmea", type=int, default=1_000_000, help="NMEA sentences to generate")
    ap.add_argument("--csv", type=int, default=5_000_000, help="CSV rows to generate")
    ap.add_argument("--work", type=Path, default=OUT / "work")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    nmea, csv = args.work / "bench.nmea", args.work / "bench.csv"
    if not nmea.exists() or sum(1 for _ in nmea.open()) != args.nmea:
        make_nmea(nmea, args.nmea)
    if not csv.exists() or sum(1 for _ in csv.open()) != args.csv + 1:
        make_csv(csv, args.csv)
    import shutil

    results = []
    for step, path in [("sanctionwatch_nmea", nmea), ("pyais_loop", nmea),
                       ("sanctionwatch_csv", csv), ("polars_read_csv", csv)]:
        proj = args.work / f"project-{step}"
        shutil.rmtree(proj, ignore_errors=True)
        r = run_step(step, str(path), str(proj))
        r["input_mb"] = round(path.stat().st_size / 2**20)
        results.append(r)
        print(r, flush=True)
        shutil.rmtree(proj, ignore_errors=True)
    by = {r["step"]: r for r in results}
    ratios = {
        "nmea_ingest_vs_pyais_loop_speed": round(by["sanctionwatch_nmea"]["records_per_s"]
                                                 / by["pyais_loop"]["records_per_s"], 2),
        "csv_ingest_vs_polars_read_csv_speed": round(by["sanctionwatch_csv"]["records_per_s"]
                                                     / by["polars_read_csv"]["records_per_s"], 3),
    }
    env = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps({"results": results, "ratios": ratios, "env": env}, indent=2))
    print("\n| step | input | records | seconds | records/s | peak RSS |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['step']} | {r['input_mb']} MB | {r['records']:,} | {r['seconds']} | "
              f"{r['records_per_s']:,} | {r['peak_rss_mb']} MB |")
    print("\nratios:", ratios)


if __name__ == "__main__":
    main()
