"""Tracks and events: stop / port-visit detection versus MovingPandas, and a whole ``run`` versus a
bare Parquet scan, side by side in one run.

    python benchmarks/bench_events.py              # 1M points (peer on 100k), 10M positions
    python benchmarks/bench_events.py --points 200000 --peer-points 20000 --positions 1000000

Inputs are generated: vessels on east-west "lanes" of fixed port points 50 nm apart, one fix every
2 minutes, alternately stopped at a port for 2-5 h (GNSS jitter, sigma 20 m, SOG 0-0.2 kn) and
sailing to the next port at ~10 kn. Every measured step runs in its own child process, which
reports its own peak RSS (``VmHWM`` from ``/proc/self/status``). The steps:

1. ``tracks.segment.segment`` + ``events.port_visits.detect_port_visits`` (port index built from
   the same port points as Point areas) on all ``--points``, and on the first ``--peer-points``;
   MovingPandas on those ``--peer-points``: building the ``TrajectoryCollection``, then
   ``ObservationGapSplitter`` and ``TrajectoryStopDetector.get_stop_points``. Running the peer on
   1M points would take far longer than the ~5 min budget, so the ratio is taken on the subset
   (both sides on exactly the same rows) and the peer's full-size time is projected linearly
   (its stop detector is a per-point Python loop per trajectory, so linear in points).
   The stops found by both are matched by vessel and time overlap.
2. ``engines.local.run_local`` on a project holding ``--positions`` generated positions (written
   directly as a POSITIONS Parquet file and committed through the manifest, skipping the CSV
   reader), versus a bare ``polars.scan_parquet`` of the same file.

Results go to ``benchmarks/out/events.json`` and are printed as Markdown for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
WORK = OUT / "work" / "events"

FIX_S = 120  # one fix every 2 minutes
SAIL_FIXES = 150  # 5 h at 10 kn = 50 nm between consecutive ports
PORT_SPACING_M = 50 * 1852.0
LANE_STEP_DEG = 0.1  # lanes 11 km apart, beyond the 4 km exit radius of each other's ports
PORT_RADIUS_M = 3000.0  # entry radius of every generated port (GFW default entry distance)
MAX_DIAMETER_M = 500.0  # MovingPandas stop diameter
MIN_STOP = dt.timedelta(hours=1)
PEER_GAP = dt.timedelta(hours=24)  # = tracks.segment_max_gap_hours
M_PER_DEG = 111_195.0
T0 = np.datetime64("2024-03-01T00:00:00", "us")


# -- generated input --------------------------------------------------------------------------------


def lane_origin(lane: int) -> tuple[float, float, float]:
    """(lat, lon of port 0, longitude step between ports) of a lane."""
    lat = -40.0 + (lane % 800) * LANE_STEP_DEG
    lon = -160.0 + (lane // 800) * 20.0
    return lat, lon, PORT_SPACING_M / (M_PER_DEG * math.cos(math.radians(lat)))


def ports_table(n_lanes: int, n_fix: int) -> list[tuple[str, float, float]]:
    per_lane = n_fix // (60 + SAIL_FIXES) + 2
    out = []
    for lane in range(n_lanes):
        lat, lon, step = lane_origin(lane)
        out += [(f"P{lane}-{k}", lat, lon + k * step) for k in range(per_lane)]
    return out


def make_positions(n_vessels: int, n_fix: int, n_lanes: int, seed: int) -> dict[str, np.ndarray]:
    """POSITIONS columns for n_vessels x n_fix fixes, sorted by (mmsi, ts_utc)."""
    rng = np.random.default_rng(seed)
    n = n_vessels * n_fix
    lat = np.empty(n)
    lon = np.empty(n)
    sog = np.empty(n, dtype=np.float32)
    cog = np.empty(n, dtype=np.float32)
    ts = np.empty(n, dtype="datetime64[us]")
    for v in range(n_vessels):
        lane_lat, lane_lon, step = lane_origin(v % n_lanes)
        frac, stopped, k = [], [], 0
        while len(frac) < n_fix:
            dwell = int(rng.integers(60, 151))  # 2-5 h in port
            frac.append(np.full(dwell, float(k)))
            stopped.append(np.ones(dwell, bool))
            frac.append(k + np.arange(1, SAIL_FIXES + 1) / SAIL_FIXES)
            stopped.append(np.zeros(SAIL_FIXES, bool))
            k += 1
        f = np.concatenate(frac)[:n_fix]
        s = np.concatenate(stopped)[:n_fix]
        sl = slice(v * n_fix, (v + 1) * n_fix)
        cos = math.cos(math.radians(lane_lat))
        lat[sl] = lane_lat + rng.normal(0, 20.0, n_fix) / M_PER_DEG
        lon[sl] = lane_lon + f * step + rng.normal(0, 20.0, n_fix) / (M_PER_DEG * cos)
        sog[sl] = np.where(s, np.round(np.abs(rng.normal(0, 0.07, n_fix)), 1), 10.0 + rng.normal(0, 0.3, n_fix))
        cog[sl] = np.where(s, rng.uniform(0, 359.9, n_fix), 90.0 + rng.normal(0, 2.0, n_fix))
        start = T0 + np.timedelta64(int(rng.integers(0, 86_400)), "s")
        ts[sl] = start + np.arange(n_fix) * np.timedelta64(FIX_S, "s")
    return {
        "mmsi": np.repeat(np.arange(n_vessels, dtype=np.int32) + 273_000_000, n_fix),
        "ts_utc": ts, "lat_deg": lat, "lon_deg": lon, "sog_knots": sog, "cog_deg": np.round(cog, 1),
    }


def write_positions(path: Path, cols: dict[str, np.ndarray], source_id: str) -> None:
    """Write cols as a POSITIONS-schema Parquet file (zstd, 122,880-row groups, like the store)."""
    import polars as pl
    import pyarrow.parquet as pq

    from sanctionwatch.schema import POSITIONS

    n = len(cols["mmsi"])
    df = pl.DataFrame({
        **{k: v for k, v in cols.items() if k != "ts_utc"},
        "ts_utc": pl.Series(cols["ts_utc"]).dt.replace_time_zone("UTC"),
        "heading_deg": pl.Series([None] * n, dtype=pl.Int16),
        "nav_status": pl.Series([None] * n, dtype=pl.Int8),
        "msg_type": np.full(n, 1, dtype=np.int8),
        "accuracy": np.ones(n, dtype=bool),
        "source_id": pl.Series([source_id], dtype=pl.String).extend_constant(source_id, n - 1),
        "record_no": np.arange(1, n + 1, dtype=np.int64),
    })
    table = df.select(POSITIONS.names).to_arrow().cast(POSITIONS.arrow())
    pq.write_table(table, path, compression="zstd", row_group_size=122_880)


def make_project(path: Path, n_positions: int) -> None:
    """A project whose store holds n_positions generated rows (committed via the manifest)."""
    import pyarrow as pa

    from sanctionwatch import __version__
    from sanctionwatch.schema import SOURCES
    from sanctionwatch.store import Project

    if path.exists():
        shutil.rmtree(path)
    n_fix = 2000
    n_vessels = max(1, n_positions // n_fix)
    project = Project.init(path)
    rel = "parquet/positions/src-bench.parquet"
    write_positions(path / rel, make_positions(n_vessels, n_fix, n_vessels, seed=7), "bench")
    ts_min, ts_max, rows = project.con.execute(
        "SELECT min(ts_utc), max(ts_utc), count(*) FROM read_parquet(?)", [(path / rel).as_posix()]).fetchone()
    now = dt.datetime.now(dt.UTC)
    row = {
        "source_id": "bench", "sha256": "0" * 64, "path": (path / rel).as_posix(),
        "size_bytes": (path / rel).stat().st_size, "format": "mapped_parquet", "ingested_utc": now,
        "records_read": rows, "positions_kept": rows, "identities_kept": 0, "quarantined": 0,
        "duplicates": 0, "skipped": 0, "ts_min_utc": ts_min, "ts_max_utc": ts_max,
        "params_json": "{}", "tool_version": __version__,
    }
    con = project.con
    con.execute("BEGIN TRANSACTION")
    con.register("_src", pa.Table.from_pylist([{k: row.get(k) for k in SOURCES.names}], schema=SOURCES.arrow()))
    con.execute("INSERT INTO sources SELECT * FROM _src")
    con.unregister("_src")
    con.execute("INSERT INTO manifest VALUES ('positions', ?, 'bench', ?, ?, ?, now())", [rel, rows, ts_min, ts_max])
    con.execute("COMMIT")
    project.close()


# -- measured steps (each in its own process) -------------------------------------------------------

_PEAK = "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"

_PORTS = (
    "import json, sys, time\nimport polars as pl\n"
    "from sanctionwatch.config import defaults\nfrom sanctionwatch.geo import Area\n"
    "from sanctionwatch.events.ports import build_port_index\n"
    "cfg = defaults()\n"
    "areas = [Area(p, p, 'Point', la, lo, radius_m=float(sys.argv[3]), kind='port') "
    "for p, la, lo in json.load(open(sys.argv[2]))]\n"
)

STEPS = {
    # sanctionwatch: segment + port visits. argv: positions.parquet ports.json radius stops_out.json
    "ours": _PORTS
    + "from sanctionwatch.tracks.segment import segment\n"
    "from sanctionwatch.events.port_visits import detect_port_visits\n"
    "df = pl.read_parquet(sys.argv[1])\n"
    "t0 = time.perf_counter(); ports = build_port_index(cfg, areas=areas, include_wpi=False)\n"
    "t1 = time.perf_counter(); seg = segment(df, cfg)\n"
    "t2 = time.perf_counter(); ev = detect_port_visits(seg, cfg, ports)\n"
    "t3 = time.perf_counter()\n"
    "stops = []\n"
    "for m, a, end in ev.select('mmsi', 'attrs_json', 'end_utc').iter_rows():\n"
    "    since = None\n"
    "    attrs = json.loads(a)\n"
    "    for typ, ts, port in attrs['events']:\n"
    "        if typ == 'PORT_STOP_BEGIN' and since is None: since = (ts, port)\n"
    "        elif typ == 'PORT_STOP_END' and since is not None: stops.append([m, since[0], ts, since[1]]); since = None\n"
    "    if since is not None: stops.append([m, since[0], end.isoformat(), since[1]])\n"
    "json.dump(stops, open(sys.argv[4], 'w'))\n"
    "print(json.dumps({'rows': df.height, 'seconds': t3 - t0, 'index_s': t1 - t0, 'segment_s': t2 - t1, "
    "'visits_s': t3 - t2, 'visits': ev.height, 'stops': len(stops), "
    "'segments': seg.get_column('segment_id').n_unique()}))",
    # MovingPandas. argv: positions.parquet max_diameter_m min_duration_s gap_s stops_out.json
    "movingpandas": "import json, sys, time, warnings\nwarnings.simplefilter('ignore')\n"
    "from datetime import timedelta\nimport geopandas as gpd, pandas as pd\nimport movingpandas as mpd\n"
    "df = pd.read_parquet(sys.argv[1], columns=['mmsi', 'ts_utc', 'lat_deg', 'lon_deg'])\n"
    "df['ts_utc'] = df['ts_utc'].dt.tz_localize(None)\n"
    "t0 = time.perf_counter()\n"
    "gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon_deg, df.lat_deg), crs='EPSG:4326')\n"
    "tc = mpd.TrajectoryCollection(gdf, traj_id_col='mmsi', t='ts_utc')\n"
    "t1 = time.perf_counter()\n"
    "split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(seconds=float(sys.argv[4])))\n"
    "t2 = time.perf_counter()\n"
    "sp = mpd.TrajectoryStopDetector(split).get_stop_points(max_diameter=float(sys.argv[2]), "
    "min_duration=timedelta(seconds=float(sys.argv[3])))\n"
    "t3 = time.perf_counter()\n"
    "stops = [[int(str(tid).split('_')[0]), s.isoformat(), e.isoformat()] "
    "for tid, s, e in zip(sp['traj_id'], sp['start_time'], sp['end_time'])]\n"
    "json.dump(stops, open(sys.argv[5], 'w'))\n"
    "print(json.dumps({'rows': len(df), 'seconds': t3 - t0, 'build_s': t1 - t0, 'split_s': t2 - t1, "
    "'stops_s': t3 - t2, 'trajectories': len(split.trajectories), 'stops': len(stops)}))",
    # Whole run. argv: project
    "run_local": "import json, sys, time\nfrom sanctionwatch.store import Project\n"
    "from sanctionwatch.engines.local import run_local\n"
    "p = Project.open(sys.argv[1])\nt0 = time.perf_counter(); r = run_local(p)\n"
    "s = time.perf_counter() - t0\n"
    "print(json.dumps({'rows': r.positions_processed, 'seconds': s, 'vessels': r.vessels_processed, "
    "'events': r.events_by_type}))",
    # Bare scan. argv: parquet
    "polars_scan": "import json, sys, time\nimport polars as pl\nt0 = time.perf_counter()\n"
    "r = pl.scan_parquet(sys.argv[1]).select(pl.len(), pl.col('lat_deg').mean()).collect()\n"
    "print(json.dumps({'rows': int(r.item(0, 0)), 'seconds': time.perf_counter() - t0}))",
    "duckdb_scan": "import json, sys, time\nimport duckdb\nt0 = time.perf_counter()\n"
    "n, _ = duckdb.connect().execute('SELECT count(*), avg(lat_deg) FROM read_parquet(?)', [sys.argv[1]]).fetchone()\n"
    "print(json.dumps({'rows': int(n), 'seconds': time.perf_counter() - t0}))",
}


def measure(step: str, *args: object, timeout: float | None = None) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", STEPS[step] + _PEAK, *map(str, args)],
        capture_output=True, text=True, timeout=timeout,
    )
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{step} failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    out = json.loads(lines[-2])
    out.update(step=step, wall_s=round(wall, 2), peak_rss_mb=round(int(lines[-1]) / 1024))
    print(f"  {step}: {out['seconds']:.2f} s, peak {out['peak_rss_mb']} MB", file=sys.stderr)
    return out


# -- stop agreement ------------------------------------------------------------------------------


def _ts(s: str) -> float:
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def agreement(ours_path: Path, peer_path: Path) -> dict:
    """Match stops by MMSI and time overlap (each stop used at most once)."""
    ours = [(m, _ts(a), _ts(b)) for m, a, b, _ in json.loads(ours_path.read_text())]
    peer = [(m, _ts(a), _ts(b)) for m, a, b in json.loads(peer_path.read_text())]
    by_mmsi: dict[int, list[int]] = {}
    for j, (m, _, _) in enumerate(peer):
        by_mmsi.setdefault(m, []).append(j)
    used: set[int] = set()
    d_start, d_end = [], []
    for m, a, b in ours:
        best, overlap = None, 0.0
        for j in by_mmsi.get(m, []):
            if j in used:
                continue
            o = min(b, peer[j][2]) - max(a, peer[j][1])
            if o > overlap:
                best, overlap = j, o
        if best is not None:
            used.add(best)
            d_start.append(a - peer[best][1])
            d_end.append(b - peer[best][2])
    matched = len(d_start)
    unmatched_peer = [peer[j] for j in range(len(peer)) if j not in used]
    unmatched_ours = len(ours) - matched
    return {
        "ours": len(ours), "peer": len(peer), "matched": matched,
        "only_ours": unmatched_ours, "only_peer": len(unmatched_peer),
        "only_peer_first_of_vessel": sum(
            a == min(peer[j][1] for j in by_mmsi[m]) for m, a, _ in unmatched_peer),
        "only_peer_max_duration_h": round(max(((b - a) / 3600 for _, a, b in unmatched_peer), default=0.0), 2),
        "start_diff_min_median": round(float(np.median(d_start)) / 60, 1) if d_start else None,
        "start_diff_min_range": [round(min(d_start) / 60, 1), round(max(d_start) / 60, 1)] if d_start else None,
        "end_diff_min_median": round(float(np.median(d_end)) / 60, 1) if d_end else None,
        "end_diff_min_range": [round(min(d_end) / 60, 1), round(max(d_end) / 60, 1)] if d_end else None,
    }


# -- main -------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000, help="points for stop detection (1,000 per vessel)")
    ap.add_argument("--peer-points", type=int, default=100_000, help="subset given to MovingPandas")
    ap.add_argument("--positions", type=int, default=10_000_000, help="positions for the whole run (2,000/vessel)")
    ap.add_argument("--lanes", type=int, default=50, help="lanes of ports shared by the stop-detection vessels")
    ap.add_argument("--skip-run", action="store_true", help="only the stop-detection comparison")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "args": vars(args),
    }

    # 1. stops / port visits
    n_fix = 1000
    n_vessels = max(1, args.points // n_fix)
    peer_vessels = max(1, min(n_vessels, args.peer_points // n_fix))
    print(f"generating {n_vessels * n_fix:,} points ...", file=sys.stderr)
    cols = make_positions(n_vessels, n_fix, args.lanes, seed=3)
    full, sub = WORK / "stops_full.parquet", WORK / "stops_sub.parquet"
    write_positions(full, cols, "stops")
    write_positions(sub, {k: v[: peer_vessels * n_fix] for k, v in cols.items()}, "stops")
    del cols
    ports = WORK / "ports.json"
    ports.write_text(json.dumps(ports_table(min(args.lanes, n_vessels), n_fix)))
    print("stop detection ...", file=sys.stderr)
    ours_full = measure("ours", full, ports, PORT_RADIUS_M, WORK / "ours_full.json")
    ours_sub = measure("ours", sub, ports, PORT_RADIUS_M, WORK / "ours_sub.json")
    peer = measure("movingpandas", sub, MAX_DIAMETER_M, MIN_STOP.total_seconds(), PEER_GAP.total_seconds(),
                   WORK / "peer_sub.json")
    agree = agreement(WORK / "ours_sub.json", WORK / "peer_sub.json")
    results["stops"] = {
        "ours_full": ours_full, "ours_subset": ours_sub, "movingpandas_subset": peer, "agreement": agree,
        "ports": len(json.loads(ports.read_text())), "port_radius_m": PORT_RADIUS_M,
        "max_diameter_m": MAX_DIAMETER_M,
        "ratio_subset": peer["seconds"] / ours_sub["seconds"],
        "ratio_subset_detection_only": (peer["split_s"] + peer["stops_s"]) / ours_sub["seconds"],
        "peer_projected_full_s": peer["seconds"] * ours_full["rows"] / peer["rows"],
    }

    # 2. whole run vs bare scan
    if not args.skip_run:
        project = WORK / "project"
        print(f"generating a project with {args.positions:,} positions ...", file=sys.stderr)
        make_project(project, args.positions)
        pq = project / "parquet" / "positions" / "src-bench.parquet"
        print("run ...", file=sys.stderr)
        scan_pl = measure("polars_scan", pq)
        scan_dd = measure("duckdb_scan", pq)
        run = measure("run_local", project)
        results["run"] = {
            "run_local": run, "polars_scan": scan_pl, "duckdb_scan": scan_dd,
            "parquet_mb": round(pq.stat().st_size / 1e6),
            "ratio_polars": scan_pl["seconds"] / run["seconds"],
        }

    (OUT / "events.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))


def _row(step: str, r: dict, note: str = "") -> str:
    return (f"| {step} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows'] / r['seconds']:,.0f} | "
            f"{r['peak_rss_mb']:,} MB | {note} |")


def table(res: dict) -> str:
    s = res["stops"]
    o, osub, p, a = s["ours_full"], s["ours_subset"], s["movingpandas_subset"], s["agreement"]
    lines = [
        "| step | points | seconds | points/s | peak RSS | notes |", "|---|---:|---:|---:|---:|---|",
        _row("sanctionwatch segment + port visits", o,
             f"segment {o['segment_s']:.2f} s, visits {o['visits_s']:.2f} s; {o['visits']:,} visits"),
        _row("sanctionwatch segment + port visits (subset)", osub,
             f"segment {osub['segment_s']:.2f} s, visits {osub['visits_s']:.2f} s; {osub['visits']:,} visits"),
        _row("MovingPandas build + split + stops (subset)", p,
             f"TrajectoryCollection {p['build_s']:.2f} s, split {p['split_s']:.2f} s, "
             f"stops {p['stops_s']:.2f} s; {p['stops']:,} stops"),
    ]
    if "run" in res:
        r = res["run"]
        lines += [
            _row("`run_local` (whole run)", r["run_local"],
                 f"{r['run_local']['vessels']:,} vessels; Parquet {r['parquet_mb']} MB"),
            _row("`polars.scan_parquet` (len, mean)", r["polars_scan"]),
            _row("DuckDB `count(*), avg()`", r["duckdb_scan"]),
        ]
    lines += [
        "",
        f"Stop detection, same {osub['rows']:,} points: sanctionwatch **{s['ratio_subset']:.0f}x** faster than "
        f"MovingPandas including the TrajectoryCollection build, **{s['ratio_subset_detection_only']:.0f}x** on "
        f"split + stop detection alone. Peer projected to {o['rows']:,} points: "
        f"~{s['peer_projected_full_s'] / 60:.0f} min (linear).",
        f"Stops: ours {a['ours']:,}, MovingPandas {a['peer']:,}, matched {a['matched']:,}, only ours "
        f"{a['only_ours']}, only MovingPandas {a['only_peer']} ({a['only_peer_first_of_vessel']} of them the "
        f"vessel's first stop, under way when its data begins); our start minus theirs: median "
        f"{a['start_diff_min_median']} min (range {a['start_diff_min_range']}), end: median "
        f"{a['end_diff_min_median']} min (range {a['end_diff_min_range']}).",
    ]
    if "run" in res:
        lines.append(f"Whole run at **{res['run']['ratio_polars']:.3f}x** the speed of a bare polars scan.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
