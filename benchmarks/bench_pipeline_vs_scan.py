"""The local pipeline against a bare scan of the same Parquet: what the analysis costs over reading.

    python benchmarks/bench_pipeline_vs_scan.py                 # 1M and 10M positions
    python benchmarks/bench_pipeline_vs_scan.py --sizes 1000000
    python benchmarks/bench_pipeline_vs_scan.py --tiny          # 20,000 positions (the test suite)

For each size, one project is generated as in ``bench_engines.py`` (vessels on shared lanes,
stopping and sailing, a fix every 2 minutes) and, in this one process run, three things are timed
on the same files:

1. **bare scan (DuckDB)**: every POSITIONS column of every file read into Arrow, sorted by vessel
   and time as the engine reads them (``SELECT * ... ORDER BY mmsi, ts_utc``);
2. **bare scan (Polars)**: ``pl.read_parquet`` of the same files (no sort): the floor;
3. **local pipeline**: ``run_local(full=True)``: segmentation, gaps, port visits, spoofing
   indicators, loitering, voyages, identity changes and encounters, events stored.

The ratio pipeline / scan says how much of a run is analysis rather than I/O. Results go to
``benchmarks/out/pipeline_vs_scan.json`` and are printed as a Markdown table (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out"


def measure(project_dir: Path, n_positions: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH_DIR))
    import polars as pl

    from bench_engines import make_project
    from sanctionwatch.engines.local import run_local
    from sanctionwatch.schema import POSITIONS
    from sanctionwatch.store import Project

    made = make_project(project_dir, n_positions)
    with Project.open(project_dir) as p:
        files = [f.as_posix() for f in p.files("positions")]
        cols = ", ".join(f'"{c}"' for c in POSITIONS.names)
        t0 = time.perf_counter()
        scanned = p.con.sql(f"SELECT {cols} FROM read_parquet(?) ORDER BY mmsi, ts_utc",
                            params=[files]).to_arrow_table()
        duck_s = time.perf_counter() - t0
        rows = scanned.num_rows
        del scanned
        t0 = time.perf_counter()
        frame = pl.read_parquet(files)
        polars_s = time.perf_counter() - t0
        assert frame.height == rows
        del frame
        report = run_local(p, full=True)
        events = int(p.query("SELECT count(*) FROM events").item())
    return {"positions": rows, "vessels": made["vessels"], "files": len(files),
            "scan_duckdb_s": round(duck_s, 3), "scan_polars_s": round(polars_s, 3),
            "pipeline_s": round(report.seconds, 2), "events": events,
            "pipeline_vs_duckdb_scan": round(report.seconds / duck_s, 1),
            "pipeline_vs_polars_scan": round(report.seconds / polars_s, 1),
            "pipeline_rows_per_s": round(rows / report.seconds)}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| positions | files | bare scan, DuckDB sorted (s) | bare scan, Polars (s) | local pipeline (s) "
             "| events | pipeline / DuckDB scan | pipeline / Polars scan | pipeline rows/s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['positions']:,} | {r['files']} | {r['scan_duckdb_s']:.2f} | {r['scan_polars_s']:.2f} "
                     f"| {r['pipeline_s']:.1f} | {r['events']:,} | {r['pipeline_vs_duckdb_scan']:.0f}x "
                     f"| {r['pipeline_vs_polars_scan']:.0f}x | {r['pipeline_rows_per_s']:,} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="positions (comma-separated)")
    ap.add_argument("--tiny", action="store_true", help="20,000 positions, for the test suite")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--work", type=Path, default=OUT / "work" / "pipeline_vs_scan")
    args = ap.parse_args()
    sizes = [20_000] if args.tiny else [int(s) for s in args.sizes.split(",") if s]
    results = []
    for n in sizes:
        results.append(measure(args.work / f"p{n}", n))
        print(f"{n:,} positions: {results[-1]}", file=sys.stderr)
    table = markdown(results)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "pipeline_vs_scan_tiny.json" if args.tiny else "pipeline_vs_scan.json"
    (args.out / name).write_text(json.dumps({"machine": platform.platform(), "python": sys.version.split()[0],
                                             "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
