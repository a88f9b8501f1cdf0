"""The Spark engine against the local engine on the same rows, per stage and as a whole run.

    python benchmarks/bench_engines.py                       # 1M and 10M (both engines), 50M (Spark)
    python benchmarks/bench_engines.py --sizes 1000000 --spark-only-sizes "" --stage-rows 200000
    python benchmarks/bench_engines.py --tiny                # the suite's smoke run (no Spark per-stage jobs)

Inputs are generated with ``bench_events.make_positions``: vessels on east-west lanes of port
points 50 nm apart, one fix every 2 minutes, alternately stopped 2-5 h and sailing at ~10 kn; here
four vessels share each lane, so stopped vessels meet and the encounter join has work. Each block
of 2,500 vessels (5M positions) is one Parquet file on its own set of lanes (so density, and with
it the encounter work per row, is the same at every size), committed to a project store through
the manifest as ``bench_events`` does.

Measured, each in its own child process (peak memory = the largest sum of RSS over the child and
all its descendants, JVM and Python workers included, sampled every 0.2 s):

1. **Whole run** at each size: ``run_local(project, full=True)`` and ``SparkEngine`` (``local[N]``,
   N = ``--cores``) on the same project, then a check that both left identical events. The Spark
   time is given with and without the session start; the stage timings and shuffle bytes come from
   Spark's event log.
2. **Per stage** on the first ``--stage-rows`` positions: locally, each stage function timed on its
   own (wall and process CPU time, Polars uses every core); in Spark local mode, one job per stage
   (positions partitioned by MMSI, ``mapInArrow`` calling segmentation + that stage), minus the job
   that only segments; encounters as the engine runs them (points, H3 join, pairs).
   Identity changes run on a generated identities table (one row per vessel, a tenth renamed).

Results go to ``benchmarks/out/engines.json`` (``engines_tiny.json`` for ``--tiny``) and are printed
as the Markdown tables of docs/scaling.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
BENCH_DIR = Path(__file__).resolve().parent
N_FIX = 2000  # fixes per vessel (2,000 x 2 min = 2.8 days)
BLOCK_VESSELS = 2500  # vessels per generated file (5M positions)
VESSELS_PER_LANE = 4


# -- generated input ----------------------------------------------------------------------------------


def _gen(n_vessels: int, seed: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH_DIR))
    from bench_events import make_positions

    return make_positions(n_vessels, N_FIX, max(1, n_vessels // VESSELS_PER_LANE), seed)


def make_project(path: Path, n_positions: int) -> dict[str, Any]:
    """A project holding ``n_positions`` generated positions in blocks of BLOCK_VESSELS vessels."""
    import numpy as np
    import pyarrow as pa

    sys.path.insert(0, str(BENCH_DIR))
    from bench_events import write_positions
    from sanctionwatch import __version__
    from sanctionwatch.schema import IDENTITIES, SOURCES
    from sanctionwatch.store import Project

    if path.exists():
        shutil.rmtree(path)
    n_vessels = max(1, n_positions // N_FIX)
    project = Project.init(path)
    con = project.con
    started = time.perf_counter()
    for b, first in enumerate(range(0, n_vessels, BLOCK_VESSELS)):
        nv = min(BLOCK_VESSELS, n_vessels - first)
        cols = _gen(nv, seed=7 + b)
        cols["mmsi"] = cols["mmsi"] + np.int32(first)
        cols["lon_deg"] = (cols["lon_deg"] + 10.0 * b + 180.0) % 360.0 - 180.0  # this block's own lanes
        source_id = f"bench{b:04d}"
        rel = f"parquet/positions/src-{source_id}.parquet"
        write_positions(path / rel, cols, source_id)
        ts_min, ts_max, rows = con.execute("SELECT min(ts_utc), max(ts_utc), count(*) FROM read_parquet(?)",
                                           [(path / rel).as_posix()]).fetchone()
        row = {
            "source_id": source_id, "sha256": f"{b:064d}", "path": (path / rel).as_posix(),
            "size_bytes": (path / rel).stat().st_size, "format": "mapped_parquet",
            "ingested_utc": dt.datetime.now(dt.UTC), "records_read": rows, "positions_kept": rows,
            "identities_kept": nv, "quarantined": 0, "duplicates": 0, "skipped": 0, "ts_min_utc": ts_min,
            "ts_max_utc": ts_max, "params_json": "{}", "tool_version": __version__,
        }
        con.execute("BEGIN TRANSACTION")
        con.register("_src", pa.Table.from_pylist([row], schema=SOURCES.arrow()))
        con.execute("INSERT INTO sources SELECT * FROM _src")
        con.unregister("_src")
        con.register("_ids", identities(first, nv, source_id, ts_min, IDENTITIES))
        con.execute("INSERT INTO identities SELECT * FROM _ids")
        con.unregister("_ids")
        con.execute("INSERT INTO manifest VALUES ('positions', ?, ?, ?, ?, ?, now())",
                    [rel, source_id, rows, ts_min, ts_max])
        con.execute("COMMIT")
    files = len(project.files())
    project.close()
    return {"positions": n_vessels * N_FIX, "vessels": n_vessels, "files": files,
            "bytes": sum(f.stat().st_size for f in (path / "parquet" / "positions").glob("*.parquet")),
            "generate_s": round(time.perf_counter() - started, 1)}


def identities(first: int, n: int, source_id: str, t0: dt.datetime, table: Any) -> Any:
    """One identity per vessel (IMO, name); every tenth vessel renamed a day later (an identity change)."""
    import pyarrow as pa

    from sanctionwatch.schema import conform

    rows = []
    for v in range(first, first + n):
        imo = 9_000_000 + v  # check digits are not right: identity changes then go by MMSI
        rows.append({"mmsi": 273_000_000 + v, "imo": imo, "name": f"BENCH {v}", "first_seen_utc": t0,
                     "last_seen_utc": t0 + dt.timedelta(hours=20), "n_reports": 50, "source_id": source_id,
                     "record_no": 1})
        if v % 10 == 0:
            rows.append({**rows[-1], "name": f"BENCH {v} II", "first_seen_utc": t0 + dt.timedelta(days=1),
                         "last_seen_utc": t0 + dt.timedelta(days=2), "record_no": 2})
    return conform(pa.Table.from_pylist(rows), table)


# -- measuring -----------------------------------------------------------------------------------------


def tree_rss_mb(pid: int) -> float:
    """RSS of ``pid`` and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run_child(kind: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``bench_engines.py --child kind args`` and return its JSON result plus wall time and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"child {kind} {args} failed ({proc.returncode}):\n{out[-3000:]}\n{err[-5000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result.update(wall_s=round(time.perf_counter() - started, 2), peak_rss_mb=round(peak))
    return result


def spark_conf(cores: int, eventlog: Path | None) -> dict[str, str]:
    conf = {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": str(max(4, 2 * cores)),
            "spark.default.parallelism": str(cores)}
    if eventlog is not None:
        eventlog.mkdir(parents=True, exist_ok=True)
        conf.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": eventlog.as_posix(),
                     "spark.eventLog.compress": "false"})
    return conf


def stage_log(eventlog: Path) -> list[dict[str, Any]]:
    """Completed stages of the (single) application logged under ``eventlog``: name, tasks, seconds,
    shuffle bytes written and read, input bytes."""
    stages = []
    for f in sorted(eventlog.rglob("events_*")) + sorted(p for p in eventlog.glob("*") if p.is_file()):
        for line in f.read_text().splitlines():
            e = json.loads(line)
            if e.get("Event") != "SparkListenerStageCompleted":
                continue
            si = e["Stage Info"]
            acc = {a["Name"]: a.get("Value") for a in si.get("Accumulables", [])}
            stages.append({
                "stage": si["Stage ID"], "name": si["Stage Name"].split(" at ")[0], "tasks": si["Number of Tasks"],
                "seconds": round((si["Completion Time"] - si["Submission Time"]) / 1000, 2),
                "shuffle_write_mb": round(int(acc.get("internal.metrics.shuffle.write.bytesWritten") or 0) / 2**20, 1),
                "shuffle_read_mb": round((int(acc.get("internal.metrics.shuffle.read.remoteBytesRead") or 0)
                                          + int(acc.get("internal.metrics.shuffle.read.localBytesRead") or 0)) / 2**20, 1),
                "input_mb": round(int(acc.get("internal.metrics.input.bytesRead") or 0) / 2**20, 1),
            })
    return stages


# -- children ------------------------------------------------------------------------------------------


def child_local_run(project_dir: str) -> dict[str, Any]:
    from sanctionwatch.engines.local import run_local
    from sanctionwatch.store import Project

    with Project.open(project_dir) as p:
        cpu0 = time.process_time()
        report = run_local(p, full=True)
        cpu = time.process_time() - cpu0
        ids = p.query("SELECT md5(string_agg(event_id, ',' ORDER BY event_id)) AS h, count(*) AS n FROM events").row(0)
    return {"seconds": round(report.seconds, 2), "cpu_s": round(cpu, 2), "positions": report.positions_processed,
            "events": report.events_by_type, "events_hash": ids[0], "events_total": ids[1]}


def child_spark_run(project_dir: str, cores: str, eventlog: str) -> dict[str, Any]:
    from sanctionwatch.engines.spark import SparkEngine, spark_session
    from sanctionwatch.store import Project

    t0 = time.perf_counter()
    spark = spark_session(f"local[{cores}]", conf=spark_conf(int(cores), Path(eventlog)))
    session_s = time.perf_counter() - t0
    with Project.open(project_dir) as p:
        report = SparkEngine(spark=spark).run(p, full=True)
        ids = p.query("SELECT md5(string_agg(event_id, ',' ORDER BY event_id)) AS h, count(*) AS n FROM events").row(0)
    spark.stop()
    return {"seconds": round(report.seconds, 2), "session_s": round(session_s, 2),
            "positions": report.positions_processed, "events": report.events_by_type, "events_hash": ids[0],
            "events_total": ids[1], "stages": stage_log(Path(eventlog))}


def _first_rows(project_dir: str, rows: int) -> Any:
    import polars as pl

    from sanctionwatch.store import Project

    with Project.open(project_dir, read_only=True) as p:
        files = [f.as_posix() for f in p.files()]
        ids = p.query("SELECT * FROM identities")
    return pl.scan_parquet(files).head(rows).collect(), ids


def child_local_stages(project_dir: str, rows: str) -> dict[str, Any]:
    from sanctionwatch.config import defaults
    from sanctionwatch.engines.stages import PER_VESSEL_STAGES, StageContext, _voyages, run_vessel_stages
    from sanctionwatch.events.encounters import (
        EncounterDetector,
        _contacts,
        detect_encounters,
        h3_cells,
        ring_table,
    )
    from sanctionwatch.events.identity import detect_identity_changes
    from sanctionwatch.tracks.segment import segment

    positions, ids = _first_rows(project_dir, int(rows))
    cfg = defaults()
    ctx = StageContext(cfg)
    _ = ctx.ports  # built once per run (per worker in Spark): not a stage
    # warm-up on a few vessels: module imports and first calls are not part of a stage's cost
    run_vessel_stages(positions.head(20_000), cfg, ctx)
    detect_encounters(segment(positions.head(20_000), cfg), cfg, ctx.ports)
    out: dict[str, Any] = {"rows": positions.height}

    def timed(name: str, fn: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        out[name] = {"seconds": round(time.perf_counter() - w0, 3), "cpu_s": round(time.process_time() - c0, 3)}
        return value

    seg = timed("segment", lambda: segment(positions, cfg))
    frames = [timed(stage.name, lambda stage=stage: stage.fn(seg, cfg, ctx)) for stage in PER_VESSEL_STAGES]
    timed("voyages", lambda: _voyages(frames, cfg, ctx))
    out["all_per_vessel"] = {k: round(sum(out[s][k] for s in ("gaps", "port_visits", "spoofing", "loitering",
                                                               "voyages")), 3) for k in ("seconds", "cpu_s")}
    det = EncounterDetector(cfg, ports=ctx.ports)

    def points() -> int:  # what the Spark engine's per-vessel pass does for the encounter join
        pts = det.points(seg)
        cells = h3_cells(pts.get_column("lat_deg").to_numpy(), pts.get_column("lon_deg").to_numpy(),
                         det.h3_resolution)
        return ring_table(cells).height

    def encounters() -> Any:  # the whole detector, as the local engine runs it
        pts = det.points(seg)
        return det.from_contacts(_contacts(pts, det.max_distance_m))

    timed("encounter_points", points)
    enc = timed("encounters", encounters)
    out["encounters"]["events"] = enc.height
    timed("identity_changes", lambda: detect_identity_changes(ids, cfg))
    out["identity_changes"]["rows"] = ids.height
    return out


def child_spark_stages(project_dir: str, rows: str, cores: str) -> dict[str, Any]:
    import uuid
    from collections import Counter

    import pyarrow as pa
    from pyspark.sql import functions as F

    from sanctionwatch.config import defaults
    from sanctionwatch.engines import spark_tasks
    from sanctionwatch.engines.spark import spark_events, spark_session
    from sanctionwatch.engines.stages import PER_VESSEL_STAGES, STAGE_POSITION_COLUMNS, _voyages
    from sanctionwatch.events.encounters import EncounterDetector, h3_cells, ring_table
    from sanctionwatch.schema import IDENTITIES, POSITIONS, conform
    from sanctionwatch.tracks.segment import segment

    positions_pl, ids_pl = _first_rows(project_dir, int(rows))
    spark = spark_session(f"local[{cores}]", conf=spark_conf(int(cores), None))
    cfg = defaults()
    work = Path(project_dir) / ".staging" / f"stages-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    positions_pl.write_parquet(work / "positions.parquet")
    ids_pl.write_parquet(work / "identities.parquet")
    positions = spark.read.schema(POSITIONS.spark_ddl()).parquet((work / "positions.parquet").as_posix()).cache()
    identities = spark.read.schema(IDENTITIES.spark_ddl()).parquet((work / "identities.parquet").as_posix())
    n = positions.count()
    payload = spark.sparkContext.broadcast(spark_tasks.TaskPayload(settings=dict(cfg.values), areas=None,
                                                                   token=uuid.uuid4().hex))

    def task(batches: Any, payload: Any = payload) -> Any:
        """The engine's per-vessel pass, each step timed inside the worker (process CPU time)."""
        ctx = spark_tasks.stage_context(payload.value)
        config = ctx.config
        det = EncounterDetector(config, ports=ctx.ports)
        cpu: Counter[str] = Counter()
        rows = 0

        def timed(name: str, fn: Any) -> Any:
            c0 = time.process_time()
            value = fn()
            cpu[name] += time.process_time() - c0
            return value

        def points(seg: Any) -> int:
            pts = det.points(seg)
            cells = h3_cells(pts.get_column("lat_deg").to_numpy(), pts.get_column("lon_deg").to_numpy(),
                             det.h3_resolution)
            return ring_table(cells).height

        for chunk in spark_tasks.key_chunks(batches, ["mmsi"], payload.value.chunk_rows):
            rows += chunk.num_rows
            positions = timed("arrow_in", lambda chunk=chunk: pl_frame(conform(chunk, POSITIONS)))
            seg = timed("segment", lambda positions=positions: segment(positions, config))
            frames = [timed(st.name, lambda st=st, seg=seg: st.fn(seg, config, ctx)) for st in PER_VESSEL_STAGES]
            timed("voyages", lambda frames=frames: _voyages(frames, config, ctx))
            timed("encounter_points", lambda seg=seg: points(seg))
        yield pa.RecordBatch.from_pylist([{"step": k, "cpu_s": float(v)} for k, v in cpu.items()]
                                         + [{"step": "rows", "cpu_s": float(rows)}])

    def per_vessel_job() -> tuple[float, dict[str, float]]:
        t0 = time.perf_counter()
        got = (positions.select(*STAGE_POSITION_COLUMNS).repartition(int(cores), "mmsi").sortWithinPartitions("mmsi")
               .mapInArrow(task, "step STRING, cpu_s DOUBLE").groupBy("step").agg(F.sum("cpu_s")).collect())
        return time.perf_counter() - t0, {r[0]: float(r[1]) for r in got}

    per_vessel_job()  # warm-up: Python workers, imports, port index
    wall, cpu = per_vessel_job()
    out: dict[str, Any] = {"rows": n, "per_vessel_job_s": round(wall, 3), "cores": int(cores)}
    for name, seconds in cpu.items():
        if name != "rows":
            out[name] = {"cpu_s": round(seconds, 3)}
    steps = ("gaps", "port_visits", "spoofing", "loitering", "voyages")
    out["all_per_vessel"] = {"cpu_s": round(sum(cpu.get(k, 0.0) for k in steps), 3)}
    out["spark_overhead"] = {"core_s": round(wall * int(cores) - sum(v for k, v in cpu.items() if k != "rows"), 3)}
    # the engine's job: per-vessel pass (cached), then the cross-vessel part (H3 join, pairs, identities)
    for mode in ("map", "group"):
        t0 = time.perf_counter()
        events, staged = spark_events(spark, positions, identities, cfg, per_vessel=mode)
        staged.count()
        t1 = time.perf_counter()
        counts = dict(events.groupBy("event_type").count().collect())
        t2 = time.perf_counter()
        staged.unpersist()
        out[f"engine_{mode}"] = {"per_vessel_s": round(t1 - t0, 3), "cross_vessel_s": round(t2 - t1, 3),
                                 "events": {k: int(v) for k, v in counts.items()}}
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)
    return out


def pl_frame(table: Any) -> Any:
    import polars as pl

    return pl.DataFrame(pl.from_arrow(table))


CHILDREN = {
    "local_run": child_local_run, "spark_run": child_spark_run,
    "local_stages": child_local_stages, "spark_stages": child_spark_stages,
}


# -- report --------------------------------------------------------------------------------------------


STAGE_ORDER = ["arrow_in", "segment", "gaps", "port_visits", "spoofing", "loitering", "voyages",
               "all_per_vessel", "encounter_points", "encounters", "identity_changes"]


def markdown(result: dict[str, Any]) -> str:
    cores = result["cores"]
    lines = ["### Whole run", "",
             "| positions | vessels | engine | seconds | positions/s | positions/s per core | peak RSS | identical |",
             "|---:|---:|---|---:|---:|---:|---:|---|"]
    for size in result["sizes"]:
        for engine in ("local", "spark"):
            r = size.get(engine)
            if r is None:
                lines.append(f"| {size['positions']:,} | {size['vessels']:,} | {engine} | not run: "
                             f"{size.get(engine + '_skipped', '')} | | | | |")
                continue
            secs = r["seconds"]
            label = engine if engine == "local" else f"spark local[{cores}] (+{r['session_s']:.0f} s session start)"
            rate = size["positions"] / secs
            same = size.get("identical")
            lines.append(f"| {size['positions']:,} | {size['vessels']:,} | {label} | {secs:.1f} | {rate:,.0f} | "
                         f"{rate / cores:,.0f} | {r['peak_rss_mb']:,} MB | "
                         f"{'yes' if same else ('no' if same is False else '-')} |")
    loc, spk = result["stages"].get("local", {}), result["stages"].get("spark", {})
    rows = loc.get("rows", result["stage_rows"])
    lines += ["", "### Per stage", "",
              f"On the first {rows:,} positions. Local: each stage function on its own in one process (wall "
              "seconds; per core = rows per process CPU second, Polars on every core). Spark local: the same "
              f"functions inside the Python workers of a `local[{cores}]` job (one Polars thread each), rows per "
              "CPU second of the step.", "",
              "| step | local s | local rows/s | local rows/s per core | Spark worker CPU s | Spark rows/s per core |",
              "|---|---:|---:|---:|---:|---:|"]
    for name in STAGE_ORDER:
        a, b = loc.get(name), spk.get(name)
        if not a and not b:
            continue
        n = a.get("rows", rows) if a else rows
        la = (f"{a['seconds']:.2f} | {n / max(a['seconds'], 1e-9):,.0f} | {n / max(a['cpu_s'], 1e-9):,.0f}"
              if a else "- | - | -")
        sb = f"{b['cpu_s']:.2f} | {rows / max(b['cpu_s'], 1e-9):,.0f}" if b else "- | -"
        lines.append(f"| {name} | {la} | {sb} |")
    if spk:
        over = spk["spark_overhead"]["core_s"]
        lines += ["", f"Spark per-vessel job: {spk['per_vessel_job_s']:.2f} s wall on {spk['cores']} cores, of which "
                  f"{over:.1f} core-seconds are Spark's own work (read, shuffle by MMSI, sort, Arrow both ways): "
                  f"{rows / max(over, 1e-9):,.0f} rows per core-second.", ""]
        for mode, label in (("map", "`mapInArrow` over MMSI-partitioned groups"),
                            ("group", "`groupBy(\"mmsi\").applyInArrow`, one call per vessel")):
            e = spk.get(f"engine_{mode}")
            if e:
                lines.append(f"- engine job, per-vessel pass as {label}: per-vessel pass {e['per_vessel_s']:.1f} s, "
                             f"cross-vessel part (H3 join, pairs, identities) {e['cross_vessel_s']:.1f} s "
                             f"({rows / max(e['cross_vessel_s'] * cores, 1e-9):,.0f} rows/s per core).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="1000000,10000000", help="positions, both engines (comma-separated)")
    ap.add_argument("--spark-only-sizes", default="50000000",
                    help="positions, Spark only (the local engine's encounter step holds every track in memory)")
    ap.add_argument("--stage-rows", type=int, default=1_000_000)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--tiny", action="store_true", help="20,000 positions, both engines; for the test suite")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--work", type=Path, default=OUT / "work" / "engines")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](*args.child[1:]), default=str))
        return
    if args.tiny:
        args.sizes, args.spark_only_sizes, args.stage_rows = "20000", "", 20_000
    sizes = [(int(float(s)), True) for s in args.sizes.split(",") if s]
    sizes += [(int(float(s)), False) for s in args.spark_only_sizes.split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "cores": args.cores, "load_avg_start": os.getloadavg(), "stage_rows": args.stage_rows, "sizes": [],
        "stages": {},
    }
    for n, both in sizes:
        project = args.work / f"p{n}"
        print(f"generating {n:,} positions ...", flush=True)
        size: dict[str, Any] = make_project(project, n)
        if both:
            print("  local engine ...", flush=True)
            size["local"] = run_child("local_run", str(project))
        else:
            size["local_skipped"] = "the local engine segments every track at once for encounters (memory)"
        print("  spark engine ...", flush=True)
        eventlog = args.work / f"eventlog-{n}"
        shutil.rmtree(eventlog, ignore_errors=True)
        size["spark"] = run_child("spark_run", str(project), str(args.cores), str(eventlog))
        if both:
            size["identical"] = (size["local"]["events_hash"], size["local"]["events_total"]) == (
                size["spark"]["events_hash"], size["spark"]["events_total"])
        result["sizes"].append(size)
        print(f"  local {size.get('local', {}).get('seconds')} s, spark {size['spark']['seconds']} s", flush=True)
    stage_project = args.work / f"p{sizes[0][0]}"
    if sizes[0][0] < args.stage_rows:
        stage_project = args.work / "stages"
        make_project(stage_project, args.stage_rows)
    print("per stage ...", flush=True)
    result["stages"]["local"] = run_child("local_stages", str(stage_project), str(args.stage_rows))
    if not args.tiny:  # the tiny run keeps to one Spark session (the whole run above)
        result["stages"]["spark"] = run_child("spark_stages", str(stage_project), str(args.stage_rows),
                                              str(args.cores))
    result["load_avg_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    name = "engines_tiny.json" if args.tiny else "engines.json"
    (args.out / name).write_text(json.dumps(result, indent=1, default=str))
    print(markdown(result))
    if not all(s.get("identical", True) for s in result["sizes"]):
        print("ENGINES DISAGREE", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
