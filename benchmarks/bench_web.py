"""Web app load test: `sanctionwatch serve` on 127.0.0.1, driven by concurrent clients on a realistic mix.

    python benchmarks/bench_web.py                          # the demo project (built in a temp folder), 1 and 4 clients, 20 s each
    python benchmarks/bench_web.py --project case/ --clients 1,8 --seconds 60
    python benchmarks/bench_web.py --tiny                   # 2 clients for 3 s (the test suite runs this)

The server runs in its own process exactly as a user starts it (`python -m sanctionwatch.cli serve
DIR --port 0`); the clients are threads of this process, each with its own keep-alive connection
(httpx), sending requests back to back for a bounded time. The mix is what a person browsing the
app asks for: the findings list (unfiltered, or filtered by rule, severity or vessel, 40 %), a
vessel page (30 %) and a vessel's track (30 %), over the project's findings and its busiest
vessels. Every answer must be 200. Reported per concurrency level: requests/s, p50 / p90 / p99
latency overall and per kind, and the server's peak RSS.

Results go to ``benchmarks/out/web.json`` (``web_tiny.json`` with --tiny) and are printed as
Markdown for ``docs/web.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

OUT = Path(__file__).resolve().parent / "out"
MIX = (("findings", 0.4), ("vessel", 0.3), ("track", 0.3))


def build_demo(work: Path) -> Path:
    from rich.console import Console

    from sanctionwatch.demo.run import run_demo

    with contextlib.redirect_stdout(io.StringIO()):  # the ingest summary prints to the CLI's console
        run_demo(work / "demo", Console(file=io.StringIO()))
    return work / "demo" / "project"


def start_server(project: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "sanctionwatch.cli", "serve", str(project), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "SANCTIONWATCH_TOKEN": ""})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not found:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise SystemExit(f"the server did not start: {line}")
    return proc, found.group(0)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def requests_for(base: str) -> dict[str, Callable[[random.Random], str]]:
    """URL makers for each kind of request, over the project's own findings and vessels."""
    with httpx.Client(base_url=base, timeout=60) as c:
        findings = c.get("/api/findings", params={"limit": 500}).json()
        vessels = c.get("/api/vessels", params={"limit": 20}).json()["items"]
    rules = sorted(findings["facets"]["rules"])
    mmsis = [v["mmsi"] for v in vessels if v["n_positions"] > 0]
    listed = sorted({m for f in findings["items"] for m in f["mmsis"]}) or mmsis
    if not mmsis:
        raise SystemExit("the project has no vessel with positions: nothing to load-test")

    def finding_list(rng: random.Random) -> str:
        pick = rng.random()
        if pick < 0.4 or not rules:
            return f"/api/findings?limit=50&offset={rng.choice((0, 0, 50))}"
        if pick < 0.6:
            return f"/api/findings?rule={rng.choice(rules)}"
        if pick < 0.8:
            return f"/api/findings?min_severity={rng.choice(('medium', 'high'))}"
        return f"/api/findings?vessel={rng.choice(listed)}"

    return {
        "findings": finding_list,
        "vessel": lambda rng: f"/api/vessels/{rng.choice(mmsis)}",
        "track": lambda rng: f"/api/vessels/{rng.choice(mmsis)}/track?max_points=3000",
    }


def drive(base: str, makers: dict[str, Callable[[random.Random], str]], clients: int,
          seconds: float) -> dict[str, Any]:
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    samples: list[list[tuple[str, float, int]]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        rng = random.Random(1000 + i)
        with httpx.Client(base_url=base, timeout=60) as c:
            start.wait()
            while time.perf_counter() < deadline[0]:
                kind = rng.choices(kinds, weights)[0]
                url = makers[kind](rng)
                t0 = time.perf_counter()
                r = c.get(url)
                r.read()
                samples[i].append((kind, time.perf_counter() - t0, r.status_code))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [s for per in samples for s in per]

    def stats(rows: list[tuple[str, float, int]]) -> dict[str, Any]:
        ms = np.array([r[1] for r in rows]) * 1000 if rows else np.array([np.nan])
        return {"requests": len(rows), "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p90_ms": round(float(np.percentile(ms, 90)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
                "max_ms": round(float(np.max(ms)), 1)}

    return {
        "clients": clients, "seconds": round(elapsed, 2), **stats(flat),
        "requests_per_s": round(len(flat) / elapsed, 1),
        "errors": sum(1 for r in flat if r[2] != 200),
        "by_kind": {k: stats([r for r in flat if r[0] == k]) for k in kinds},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", type=Path, help="An existing project (default: build the demo in --work).")
    ap.add_argument("--clients", default="1,4", help="Concurrency levels, comma-separated (default 1,4).")
    ap.add_argument("--seconds", type=float, default=20.0, help="Duration of each level (default 20).")
    ap.add_argument("--tiny", action="store_true", help="2 clients for 3 s: a quick check that it all runs.")
    ap.add_argument("--work", type=Path, help="Where to build the demo (default: a temporary folder).")
    ap.add_argument("--out", type=Path, default=OUT, help="Where to write web.json (default benchmarks/out).")
    args = ap.parse_args()
    if args.tiny:
        args.clients, args.seconds = "2", 3.0
    try:
        levels = [int(x) for x in args.clients.split(",")]
        if not levels or min(levels) < 1 or args.seconds <= 0:
            raise ValueError
    except ValueError:
        raise SystemExit("--clients: positive integers separated by commas; --seconds: > 0") from None

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = args.work or Path(tmp)
        if args.project is None:
            t = time.perf_counter()
            project = build_demo(work)
            print(f"Built the demo project in {time.perf_counter() - t:.1f} s: {project}")
        else:
            project = args.project
        proc, base = start_server(project)
        try:
            makers = requests_for(base)
            with httpx.Client(base_url=base, timeout=60) as c:  # warm-up: first calls import and cache
                for make in makers.values():
                    assert c.get(make(random.Random(0))).status_code == 200
            results = [drive(base, makers, n, args.seconds) for n in levels]
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
            if proc.stdout is not None:
                proc.stdout.close()
        from sanctionwatch.store import Project

        with Project.open(project, read_only=True) as p:
            sizes = {"positions": int(p.con.sql("SELECT coalesce(sum(n_rows), 0) FROM manifest WHERE "
                                                "table_name = 'positions'").fetchall()[0][0]),
                     "findings": int(p.con.sql("SELECT count(*) FROM findings").fetchall()[0][0])
                     if p.has_table("findings") else 0,
                     "events": int(p.con.sql("SELECT count(*) FROM events").fetchall()[0][0])
                     if p.has_table("events") else 0}

    report = {
        "when_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "project": str(project) if args.project else "demo", "sizes": sizes, "mix": dict(MIX),
        "server_peak_rss_mb": None if rss is None else round(rss, 1), "results": results,
    }
    from sanctionwatch.store import atomic_output

    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / ("web_tiny.json" if args.tiny else "web.json")
    with atomic_output(target) as tmp_file:
        tmp_file.write_text(json.dumps(report, indent=2), encoding="utf-8")

    print(f"\nProject: {report['project']} ({sizes['positions']:,} positions, {sizes['events']:,} events, "
          f"{sizes['findings']:,} findings); server peak RSS {report['server_peak_rss_mb']} MB; "
          f"{os.cpu_count()} CPUs shared by server and clients.\n")
    print("| clients | seconds | requests | requests/s | p50 ms | p90 ms | p99 ms | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['clients']} | {r['seconds']} | {r['requests']:,} | {r['requests_per_s']} | {r['p50_ms']} | "
              f"{r['p90_ms']} | {r['p99_ms']} | {r['errors']} |")
    print("\n| clients | request | requests | p50 ms | p90 ms | p99 ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in results:
        for kind, s in r["by_kind"].items():
            print(f"| {r['clients']} | {kind} | {s['requests']:,} | {s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} |")
    print(f"\nWrote {target}")
    if any(r["errors"] for r in results):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
