"""CFAR ship detector: throughput and peak memory on a 10k x 10k scene; Pd and false alarms at 3 Pfa.

    python benchmarks/bench_cfar.py                               # 10,000² scene, 4,000² Pd scene
    python benchmarks/bench_cfar.py --size 3000 --pd-size 2000    # quicker

Scenes are generated GeoTIFFs (float32 linear intensity, 512 x 512 internal tiles, UTM 52N, 10 m
pixels, open sea in the middle of the Sea of Japan, so the land mask is built and finds nothing):
K-distributed clutter (gamma texture ν = 2 times exponential speckle, the sea-clutter model of
domain.md §3.4) with bright rectangular ships of known length, width and heading added.

1. Throughput: each step runs in its own child process, which reports its own peak RSS
   (``VmHWM`` from ``/proc/self/status``, as benchmarks/bench_ingest.py does): a windowed rasterio
   read of the whole band (the I/O floor), then ``detect_vessels`` with the K rule (default) and
   with plain cell averaging, tiled at the default 2048 px.
2. Detection: on a second scene with ships on a jittered 1.5 km grid (outside each other's 600 m
   rings), signal-to-clutter ratio log-uniform in 10-25 dB, lengths 40-300 m, both rules at
   Pfa = 1e-5, 10^-6.5 (default) and 1e-8: Pd (a ship counts as found when a detection lies
   within 60 m of its centre), Pd by SCR band, false alarms (detections matching no ship) per km²,
   and the median length error.

Results go to ``benchmarks/out/cfar.json`` and are printed as Markdown for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
CRS = "EPSG:32652"
PIXEL_M = 10.0
CENTRE_XY = (900_000.0, 4_500_000.0)  # UTM 52N, ~40.6N 133.7E: > 100 km from any coast
NU = 2.0  # K texture shape of the generated sea
MEAN = 0.01  # mean clutter intensity (sigma0 -20 dB)
BLOCK_ROWS = 512
PFAS = (1e-5, 10**-6.5, 1e-8)
MATCH_M = 60.0
SCR_BANDS_DB = ((10, 15), (15, 20), (20, 25))


# -- generated scenes ---------------------------------------------------------------------------------


def plan_ships(n_px: int, spacing_px: int, rng: np.random.Generator) -> np.ndarray:
    """Ships on a jittered grid: columns row, col, length_m, width_m, heading_deg, scr_db."""
    centres = np.arange(spacing_px // 2, n_px - spacing_px // 2 + 1, spacing_px)
    rr, cc = np.meshgrid(centres, centres, indexing="ij")
    k = rr.size
    jitter = spacing_px // 10
    length = rng.uniform(40, 300, k)
    return np.column_stack([
        rr.ravel() + rng.uniform(-jitter, jitter, k), cc.ravel() + rng.uniform(-jitter, jitter, k),
        length, np.clip(length / 6, 10, 50), rng.uniform(0, 180, k), rng.uniform(10, 25, k),
    ])


def paint(block: np.ndarray, row0: int, ships: np.ndarray) -> None:
    """Add the ships that touch rows [row0, row0 + len(block)) (constant SCR over their rectangle)."""
    reach = ships[:, 2] / 2 / PIXEL_M + 3
    for r, c, length, width, heading, scr_db in ships[(ships[:, 0] + reach >= row0)
                                                      & (ships[:, 0] - reach < row0 + block.shape[0])]:
        half = math.ceil(length / 2 / PIXEL_M) + 2
        r_lo, r_hi = max(int(r) - half, row0), min(int(r) + half + 1, row0 + block.shape[0])
        c_lo, c_hi = max(int(c) - half, 0), min(int(c) + half + 1, block.shape[1])
        if r_lo >= r_hi:
            continue
        yy, xx = np.mgrid[r_lo:r_hi, c_lo:c_hi]
        east, north = (xx - c) * PIXEL_M, -(yy - r) * PIXEL_M
        h = math.radians(heading)
        inside = ((np.abs(east * math.sin(h) + north * math.cos(h)) <= length / 2)
                  & (np.abs(east * math.cos(h) - north * math.sin(h)) <= width / 2))
        block[r_lo - row0 : r_hi - row0, c_lo:c_hi][inside] += np.float32(MEAN * 10 ** (scr_db / 10))


def write_scene(path: Path, n_px: int, ships: np.ndarray, seed: int) -> None:
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    x0, y0 = CENTRE_XY[0] - n_px / 2 * PIXEL_M, CENTRE_XY[1] + n_px / 2 * PIXEL_M
    profile = {"driver": "GTiff", "height": n_px, "width": n_px, "count": 1, "dtype": "float32", "crs": CRS,
               "transform": Affine(PIXEL_M, 0.0, x0, 0.0, -PIXEL_M, y0), "tiled": True, "blockxsize": 512,
               "blockysize": 512, "BIGTIFF": "IF_SAFER"}
    from rasterio.windows import Window

    with rasterio.open(path, "w", **profile) as ds:
        for row0 in range(0, n_px, BLOCK_ROWS):
            rows = min(BLOCK_ROWS, n_px - row0)
            shape = (rows, n_px)
            block = (MEAN * rng.gamma(NU, 1 / NU, shape) * rng.exponential(1.0, shape)).astype(np.float32)
            paint(block, row0, ships)
            ds.write(block, 1, window=Window(0, row0, n_px, rows))


# -- throughput, one child process per step ------------------------------------------------------------

# Appended to every step: print the process's own peak resident set size in kB.
_PEAK = "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"

STEPS = {
    # the same 64 MB GDAL block cache as detect_vessels, so the floor is comparable
    "rasterio_read": "import sys, rasterio\nfrom rasterio.windows import Window\nn = 0\n"
    "with rasterio.Env(GDAL_CACHEMAX=64), rasterio.open(sys.argv[1]) as ds:\n"
    "    for r in range(0, ds.height, 2048):\n"
    "        a = ds.read(1, window=Window(0, r, ds.width, min(2048, ds.height - r)))\n        n += a.size\n"
    "print(n, 0)",
    "cfar_k": "import sys, datetime as dt\nfrom sanctionwatch.imagery.cfar import CfarParams, detect_vessels\n"
    "r = detect_vessels(sys.argv[1], dt.datetime(2024, 1, 1, tzinfo=dt.UTC), params=CfarParams(method='k'))\n"
    "print(r.stats.width * r.stats.height, r.detections.num_rows)",
    "cfar_ca": "import sys, datetime as dt\nfrom sanctionwatch.imagery.cfar import CfarParams, detect_vessels\n"
    "r = detect_vessels(sys.argv[1], dt.datetime(2024, 1, 1, tzinfo=dt.UTC), params=CfarParams(method='ca'))\n"
    "print(r.stats.width * r.stats.height, r.detections.num_rows)",
}


def run_step(name: str, scene: Path) -> dict[str, float | int | str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STEPS[name] + _PEAK, str(scene)], stdout=subprocess.PIPE,
                          text=True, check=True)
    seconds = time.perf_counter() - t0
    pixels, detections, peak_kb = (int(x) for x in proc.stdout.split()[-3:])
    return {"step": name, "megapixels": round(pixels / 1e6, 1), "detections": detections,
            "seconds": round(seconds, 2), "mpx_per_s": round(pixels / 1e6 / seconds, 2),
            "peak_rss_mb": round(peak_kb / 1024)}


# -- detection quality ---------------------------------------------------------------------------------


def score(scene: Path, ships: np.ndarray, method: str, pfa: float) -> dict[str, object]:
    import pyproj

    from sanctionwatch.imagery.cfar import CfarParams, detect_vessels

    res = detect_vessels(scene, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), params=CfarParams(method=method, pfa=pfa))
    det = res.detections
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    dx, dy = to_utm.transform(det["lon_deg"].to_numpy(), det["lat_deg"].to_numpy())
    n_px = res.stats.width
    x0, y0 = CENTRE_XY[0] - n_px / 2 * PIXEL_M, CENTRE_XY[1] + n_px / 2 * PIXEL_M
    sx, sy = x0 + (ships[:, 1] + 0.5) * PIXEL_M, y0 - (ships[:, 0] + 0.5) * PIXEL_M
    # nearest detection per ship, and whether each detection is some ship's match
    found = np.zeros(len(ships), dtype=bool)
    used = np.zeros(det.num_rows, dtype=bool)
    len_err = []
    lengths = det["length_m"].to_numpy()
    for k in range(len(ships)):
        if det.num_rows == 0:
            break
        d = np.hypot(dx - sx[k], dy - sy[k])
        d[used] = np.inf
        i = int(np.argmin(d))
        if d[i] <= MATCH_M:
            found[k], used[i] = True, True
            len_err.append(abs(lengths[i] - ships[k, 2]) / ships[k, 2])
    # Unmatched detections within half a ship's length (+ MATCH_M) of a ship are fragments of it (a weak
    # long ship breaking up near the threshold); the others are false alarms.
    near = np.array([bool(np.any(np.hypot(sx - dx[i], sy - dy[i]) <= ships[:, 2] / 2 + MATCH_M))
                     for i in np.flatnonzero(~used)], dtype=bool)
    false_alarms = int((~near).sum()) if near.size else 0
    area_km2 = res.stats.pixels_tested * res.stats.pixel_dx_m * res.stats.pixel_dy_m / 1e6
    by_band = {f"{lo}-{hi} dB": round(float(found[(ships[:, 5] >= lo) & (ships[:, 5] < hi)].mean()), 3)
               for lo, hi in SCR_BANDS_DB}
    return {"method": method, "pfa": pfa, "ships": len(ships), "pd": round(float(found.mean()), 3),
            "pd_by_scr": by_band, "fragments": int(near.sum()), "false_alarms": false_alarms,
            "false_alarms_per_km2": round(false_alarms / area_km2, 4),
            "nominal_false_pixels_per_km2": round(pfa * 1e6 / (res.stats.pixel_dx_m * res.stats.pixel_dy_m), 4),
            "median_rel_length_error": round(float(np.median(len_err)), 3) if len_err else None,
            "area_km2": round(area_km2, 1), "seconds": round(res.stats.seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000, help="side of the throughput scene in pixels")
    ap.add_argument("--pd-size", type=int, default=4_000, help="side of the detection scene in pixels")
    ap.add_argument("--work", type=Path, default=OUT / "work" / "cfar")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)

    big = args.work / f"scene_{args.size}.tif"
    big_ships = plan_ships(args.size, 500, rng)  # one ship per 25 km²
    t0 = time.perf_counter()
    if not big.exists():
        write_scene(big, args.size, big_ships, seed=1)
    print(f"throughput scene {big} ({big.stat().st_size / 2**20:.0f} MB, {time.perf_counter() - t0:.1f} s)",
          flush=True)
    results = []
    for step in ("rasterio_read", "cfar_k", "cfar_ca"):
        r = run_step(step, big)
        results.append(r)
        print(r, flush=True)

    small = args.work / f"pd_scene_{args.pd_size}.tif"
    ships = plan_ships(args.pd_size, 150, np.random.default_rng(7))
    write_scene(small, args.pd_size, ships, seed=2)
    quality = []
    for method in ("k", "ca"):
        for pfa in PFAS:
            q = score(small, ships, method, pfa)
            quality.append(q)
            print(q, flush=True)

    env = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cfar.json").write_text(json.dumps({"throughput": results, "quality": quality, "env": env,
                                                    "size": args.size, "pd_size": args.pd_size}, indent=2))
    print("\n| step | scene | megapixels | seconds | Mpx/s | peak RSS | detections |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['step']} | {args.size:,}² px float32 | {r['megapixels']} | {r['seconds']} | {r['mpx_per_s']} | "
              f"{r['peak_rss_mb']} MB | {r['detections']:,} |")
    bands = " | ".join(f"Pd {lo}-{hi} dB" for lo, hi in SCR_BANDS_DB)
    print(f"\n| rule | Pfa | Pd | {bands} | fragments | false alarms | false alarms / km² | Pfa x pixels / km² | median length error |")
    print("|---|---:|---:|" + "---:|" * len(SCR_BANDS_DB) + "---:|---:|---:|---:|---:|")
    for q in quality:
        by = " | ".join(str(v) for v in q["pd_by_scr"].values())  # type: ignore[attr-defined]
        err = q["median_rel_length_error"]
        print(f"| {q['method']} | {q['pfa']:.1e} | {q['pd']} | {by} | {q['fragments']} | {q['false_alarms']} | "
              f"{q['false_alarms_per_km2']} | "
              f"{q['nominal_false_pixels_per_km2']} | {'-' if err is None else f'{100 * err:.0f} %'} |")
    print(f"\n{len(ships)} ships on {quality[0]['area_km2']} km² (detection scene); K clutter ν = {NU}.")


if __name__ == "__main__":
    main()
