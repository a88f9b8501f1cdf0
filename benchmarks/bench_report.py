"""The HTML report at scale: 1M positions, a few hundred vessels, 1k findings.

    python benchmarks/bench_report.py                # 1,000,000 positions, 300 vessels, 1,000 findings
    python benchmarks/bench_report.py --tiny         # 20,000 positions, 12 vessels, 40 findings (CI)

The project is built through the normal paths: a generated NOAA-layout AIS CSV (one fix every
6 minutes per vessel, vessels shuttling between the packaged watched ports of the Sea of Japan
through offshore approach points and a hub, dwelling 6-30 h in port, with two AIS gaps of 7-18 h
each) is ingested with ``ingest_file`` and ``run_local`` computes the events (port visits, voyages,
gaps...). Findings are then synthesised from those real events so they are consistent with them:
each names one vessel (or the two of an encounter), 1-8 of its events (a third of them spanning
the vessel's whole record, like a voyage-count finding), their evidence records and their span.

Measured, each in its own child process with its own peak RSS (``VmHWM``): ``build_report`` on
all findings, and ``build_dossier`` of the busiest vessel. Recorded: seconds, file size, maps,
track points stored in the maps' windows vs drawn, evidence lines quoted. With ``--browser``
(and Chromium installed) the report is also opened headless: time to load and to draw every map.

Results go to ``benchmarks/out/report.json`` (``report_tiny.json`` with --tiny) and are printed as
Markdown for docs/report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
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

# Sea of Japan: the packaged watched ports, an offshore approach point for each, and a hub at sea,
# so every leg stays on water.
PORTS = {
    "rajin-port": ((42.245, 130.300), (42.15, 130.45)),
    "vostochny-port": ((42.740, 133.060), (42.62, 133.06)),
    "dunai-naval-pier": ((42.880, 132.338), (42.78, 132.40)),
    "vladivostok-port": ((43.105, 131.885), (42.95, 131.95)),
}
HUB = (42.35, 131.70)
FIX_S = 360  # one fix every 6 minutes
KNOTS = 12.0
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
NOAA_HEADER = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
               "Length,Width,Draft,Cargo,TransceiverClass")


def _leg(a: tuple[float, float], b: tuple[float, float], speed_kn: float) -> tuple[np.ndarray, np.ndarray]:
    """Fixes every FIX_S seconds from a to b at speed_kn (flat interpolation: legs are < 200 km)."""
    km = math.hypot((b[0] - a[0]) * 111.2, (b[1] - a[1]) * 111.2 * math.cos(math.radians(a[0])))
    n = max(1, int(km / (speed_kn * 1.852) * 3600 / FIX_S))
    f = np.arange(1, n + 1) / n
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def vessel_track(rng: np.random.Generator, n_fix: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds from T0, lat, lon) of one vessel: dwell, sail to another port, dwell..., with two gaps."""
    names = list(PORTS)
    here = names[int(rng.integers(len(names)))]
    lats: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    total = 0
    while total < n_fix * 1.2:
        (plat, plon), _ = PORTS[here]
        dwell = int(rng.uniform(6, 30) * 3600 / FIX_S)
        lats.append(plat + rng.normal(0, 0.0004, dwell))
        lons.append(plon + rng.normal(0, 0.0005, dwell))
        there = names[int(rng.integers(len(names) - 1))]
        there = there if there != here else names[-1]
        route = [PORTS[here][0], PORTS[here][1], HUB, PORTS[there][1], PORTS[there][0]]
        speed = rng.uniform(0.8, 1.2) * KNOTS
        for a, b in itertools.pairwise(route):
            la, lo = _leg(a, b, speed)
            lats.append(la + rng.normal(0, 0.0003, la.size))
            lons.append(lo + rng.normal(0, 0.0003, lo.size))
        total = sum(x.size for x in lats)
        here = there
    lat, lon = np.concatenate(lats), np.concatenate(lons)
    t = int(rng.integers(0, 86_400)) + np.arange(lat.size, dtype=np.int64) * FIX_S
    keep = np.ones(lat.size, dtype=bool)
    for _ in range(2):  # two AIS gaps of 7-18 h
        start = int(rng.integers(lat.size // 10, lat.size - lat.size // 10))
        keep[start:start + int(rng.uniform(7, 18) * 3600 / FIX_S)] = False
    t, lat, lon = t[keep][:n_fix], lat[keep][:n_fix], lon[keep][:n_fix]
    return t, lat, lon


def write_csv(path: Path, n_positions: int, n_vessels: int, seed: int = 11) -> int:
    """The NOAA-layout CSV; returns the rows written."""
    rng = np.random.default_rng(seed)
    per = n_positions // n_vessels
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(NOAA_HEADER + "\n")
        for v in range(n_vessels):
            mmsi = 273_500_000 + v
            t, lat, lon = vessel_track(rng, per)
            dlat, dlon = np.diff(lat, prepend=lat[0]), np.diff(lon, prepend=lon[0])
            sog = np.hypot(dlat * 111.2, dlon * 82.0) / 1.852 / (FIX_S / 3600)
            cog = np.mod(np.degrees(np.arctan2(dlon * 82.0, dlat * 111.2)), 360)
            base = T0.replace(tzinfo=None)
            lines = []
            for k in range(t.size):
                ident = f"BENCH {v:04d},IMO{9_000_000 + v},UBN{v:04d},70," if k % 50 == 0 else ",,,,"
                ts = (base + dt.timedelta(seconds=int(t[k]))).strftime("%Y-%m-%dT%H:%M:%S")
                lines.append(f"{mmsi},{ts},{lat[k]:.5f},{lon[k]:.5f},{sog[k]:.1f},{cog[k]:.1f},,{ident}"
                             f"0,120,18,8.5,,A\n")
            fh.writelines(lines)
            rows += t.size
    return rows


def build_project(work: Path, n_positions: int, n_vessels: int, n_findings: int) -> dict:
    """Ingest the generated CSV, compute events, synthesise findings; returns what was made."""
    import polars as pl
    import pyarrow as pa

    from sanctionwatch.engines.local import run_local
    from sanctionwatch.findings.store import SEVERITIES, ensure_findings_table
    from sanctionwatch.ingest.pipeline import ingest_file
    from sanctionwatch.schema import FINDINGS, conform
    from sanctionwatch.store import Project

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    csv = work / "ais_bench.csv"
    t0 = time.perf_counter()
    rows = write_csv(csv, n_positions, n_vessels)
    t_gen = time.perf_counter() - t0
    project = Project.init(work / "project")
    try:
        t0 = time.perf_counter()
        ingest_file(project, csv, format="noaa_csv")
        t_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = run_local(project)
        t_run = time.perf_counter() - t0
        events = project.query("SELECT event_id, event_type, mmsi, other_mmsi, start_utc, end_utc, area_id, "
                               "area2_id, evidence FROM events ORDER BY mmsi, start_utc")
        rng = np.random.default_rng(5)
        by_vessel = {m: g for (m,), g in events.group_by(["mmsi"], maintain_order=True)}
        vessels = sorted(by_vessel)
        findings = []
        for k in range(n_findings):
            m = vessels[k % len(vessels)]
            g = by_vessel[m]
            if k % 3 == 0:  # a pattern over the vessel's whole record, like a voyage count
                idx = np.sort(rng.choice(g.height, size=min(8, g.height), replace=False))
            else:
                first = int(rng.integers(g.height))
                idx = np.arange(first, min(first + int(rng.integers(1, 4)), g.height))
            sel = g[idx.tolist()]
            mmsis = sorted({int(m), *[int(x) for x in sel.get_column("other_mmsi").drop_nulls()]})
            start = sel.get_column("start_utc").min()
            end = sel.select(pl.coalesce("end_utc", "start_utc").max()).item()
            refs = list(dict.fromkeys((r["source_id"], r["record_no"]) for ev in sel.get_column("evidence").to_list()
                                      for r in (ev or [])))
            types = ", ".join(sorted(set(sel.get_column("event_type"))))
            findings.append({
                "finding_id": hashlib.sha256(f"bench|{k}".encode()).hexdigest()[:24],
                "rule": ["bench_pattern", "bench_single", "bench_single"][k % 3],
                "severity": SEVERITIES[int(rng.integers(len(SEVERITIES)))],
                "statement": f"Synthetic finding {k}: {sel.height} events ({types}) of MMSI {m} from "
                             f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC.",
                "confidence": float(rng.uniform(0.3, 1.0)),
                "confidence_reason": "synthetic (benchmark): observed in AIS",
                "start_utc": start, "end_utc": end, "mmsis": mmsis,
                "area_ids": sorted({a for a in sel.get_column("area_id").drop_nulls()}),
                "event_ids": sel.get_column("event_id").to_list(),
                "evidence": [{"source_id": s, "record_no": r} for s, r in refs],
                "params_id": project.config.params_id, "title": f"Bench finding {k}", "attrs_json": "{}",
            })
        ensure_findings_table(project)
        with project.transaction() as con:
            con.execute("DELETE FROM findings")
            con.register("_f", conform(pa.Table.from_pylist(findings), FINDINGS))
            con.execute("INSERT INTO findings SELECT * FROM _f")
            con.unregister("_f")
        busiest = int(project.query("SELECT mmsi FROM {positions} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
                      .item())
        counts = {t: n for t, n in project.con.sql("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall()}
    finally:
        project.close()
    return {"positions": rows, "vessels": n_vessels, "findings": len(findings), "events": counts,
            "csv_mb": round(csv.stat().st_size / 1e6, 1), "generate_s": round(t_gen, 2),
            "ingest_s": round(t_ingest, 2), "run_local_s": round(t_run, 2), "run_vessels": run.vessels_processed,
            "busiest_mmsi": busiest}


_PEAK = "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
STEPS = {
    "report": "import json, sys, time\nfrom sanctionwatch.store import Project\n"
    "from sanctionwatch.report.html import build_report\n"
    "p = Project.open(sys.argv[1], read_only=True)\nt0 = time.perf_counter()\n"
    "s = build_report(p, sys.argv[2])\nsec = time.perf_counter() - t0\n"
    "print(json.dumps({'seconds': sec, 'bytes': s.bytes, 'findings': s.findings, 'maps': s.maps, "
    "'tracks': s.tracks, 'points_stored': s.points_stored, 'points_drawn': s.points_drawn, "
    "'track_budget': s.track_budget, 'evidence_shown': s.evidence_shown, 'evidence_total': s.evidence_total}))",
    "dossier": "import json, sys, time\nfrom sanctionwatch.store import Project\n"
    "from sanctionwatch.report.dossier import build_dossier\n"
    "p = Project.open(sys.argv[1], read_only=True)\nt0 = time.perf_counter()\n"
    "s = build_dossier(p, sys.argv[3], sys.argv[2])\nsec = time.perf_counter() - t0\n"
    "print(json.dumps({'seconds': sec, 'bytes': s.bytes, 'findings': s.findings, 'points_stored': s.points_stored, "
    "'points_drawn': s.points_drawn}))",
}


def measure(step: str, *args: object) -> dict:
    proc = subprocess.run([sys.executable, "-c", STEPS[step] + _PEAK, *map(str, args)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(f"{step} failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    out = json.loads(lines[-2])
    out.update(step=step, peak_rss_mb=round(int(lines[-1]) / 1024))
    print(f"  {step}: {out['seconds']:.1f} s, {out['bytes'] / 1e6:.1f} MB, peak {out['peak_rss_mb']} MB",
          file=sys.stderr)
    return out


def browser_load(html: Path) -> dict | None:
    """Open the report in headless Chromium: load time, and time to draw every map (scrolling)."""
    chromium, driver_bin = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver_bin):
        return None
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sw-bench-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_bin), options=opts)
    driver.set_page_load_timeout(300)
    driver.set_script_timeout(600)
    try:
        t0 = time.perf_counter()
        driver.get(html.as_uri())
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = driver.execute_script("const maps = document.querySelectorAll('div.map[data-map]');"
                                  "maps.forEach(m => window.swReport.render(m)); return maps.length;")
        all_maps = time.perf_counter() - t0
        heap = driver.execute_script("return performance.memory ? performance.memory.usedJSHeapSize : null")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return {"load_s": round(loaded, 2), "maps": n, "draw_all_maps_s": round(all_maps, 2),
            "draw_per_map_ms": round(all_maps / max(n, 1) * 1000, 1),
            "js_heap_mb": round(heap / 1e6) if heap else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--vessels", type=int, default=300)
    ap.add_argument("--findings", type=int, default=1000)
    ap.add_argument("--tiny", action="store_true", help="20,000 positions, 12 vessels, 40 findings (CI)")
    ap.add_argument("--browser", action="store_true", help="also time loading the report in headless Chromium")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the JSON and the work files")
    args = ap.parse_args()
    if args.tiny:
        args.positions, args.vessels, args.findings = 20_000, 12, 40
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work" / ("report_tiny" if args.tiny else "report")
    print(f"building a project: {args.positions:,} positions, {args.vessels} vessels, {args.findings:,} findings",
          file=sys.stderr)
    made = build_project(work, args.positions, args.vessels, args.findings)
    project = work / "project"
    report = measure("report", project, work / "report.html")
    dossier = measure("dossier", project, work / "dossier.html", made["busiest_mmsi"])
    result = {"date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
              "args": {k: str(v) for k, v in vars(args).items()}, "project": made, "report": report,
              "dossier": dossier}
    if args.browser:
        result["browser"] = browser_load(work / "report.html")
    (args.out / ("report_tiny.json" if args.tiny else "report.json")).write_text(json.dumps(result, indent=2))
    print(table(result))


def table(res: dict) -> str:
    p, r, d = res["project"], res["report"], res["dossier"]
    lines = [
        "| step | positions | vessels | findings | seconds | file | peak RSS | track points drawn / stored | "
        "evidence lines |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| `build_report` | {p['positions']:,} | {p['vessels']:,} | {r['findings']:,} | {r['seconds']:.1f} | "
        f"{r['bytes'] / 1e6:.1f} MB | {r['peak_rss_mb']:,} MB | {r['points_drawn']:,} / {r['points_stored']:,} "
        f"({r['tracks']:,} tracks, <= {r['track_budget']} each) | {r['evidence_shown']:,} of {r['evidence_total']:,} |",
        f"| `build_dossier` (busiest vessel) | {p['positions']:,} | 1 | {d['findings']:,} | {d['seconds']:.1f} | "
        f"{d['bytes'] / 1e6:.1f} MB | {d['peak_rss_mb']:,} MB | {d['points_drawn']:,} / {d['points_stored']:,} | |",
        "",
        f"Project: {p['csv_mb']} MB NOAA CSV generated in {p['generate_s']} s, ingested in {p['ingest_s']} s, events "
        f"in {p['run_local_s']} s (" + ", ".join(f"{n:,} {t}" for t, n in sorted(p["events"].items())) + ").",
    ]
    b = res.get("browser")
    if b:
        lines.append(f"Headless Chromium: loaded in {b['load_s']} s; all {b['maps']:,} maps drawn in "
                     f"{b['draw_all_maps_s']} s ({b['draw_per_map_ms']} ms each); JS heap {b['js_heap_mb']} MB.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
