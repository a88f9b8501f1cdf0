"""Precision and recall of detection <-> AIS matching and of dark-vessel flags, on simulated scenes.

    python benchmarks/eval_detection_matching.py            # all curves and one timing run (~30 s)
    python benchmarks/eval_detection_matching.py --quick    # one small scene per point (for the tests)

Each simulated scene is a 100 km x 100 km footprint at 35 N 20 E with ``--vessels`` ships at the
scene time: 80 % under way (6-16 kn, a heading random walk of 0.5 deg/sqrt(min), speed drift,
and 15 % making one 20-90 deg turn within 3 h of the scene) placed uniformly, 20 % at anchor in
one anchorage of 3 km radius (0-0.3 kn, swinging). Ship lengths are log-normal (median 120 m).
15 % of the ships have AIS off (dark truth); a quarter of those lie 150-500 m from an AIS ship (a
ship-to-ship transfer, the case that matters for sanctions). Every motion step is a rhumb-line
step of one minute.

AIS: the other ships report every 10 min with 10 m GNSS noise, SOG (+-0.1 kn), COG (+-1 deg) and
true heading (missing for 30 %). The *time offset* sets the fixes around the scene: with
``interp`` the last fix is ``offset`` min before and the next ``offset`` min after the scene;
with ``extrap`` there are fixes on one side only (before or after at random), the nearest
``offset`` min away.

Detections: each ship is detected with probability 0.95 at its true position plus Gaussian noise
of ``noise`` m per axis, length x exp(N(0, 0.15)), heading +-15 deg with a random 180 deg flip
(missing for 30 %); plus false detections (5 % of the ship count) uniform in the footprint.

Metrics (summed over ``--scenes`` scenes per point): AIS matching precision = correct matches /
matches, recall = correct matches / detections of AIS ships; dark flags precision =
dark_candidate flags on dark ships / all dark_candidate flags (false detections count against it;
"P excl. false" leaves them out), recall = dark ships flagged / dark ships detected; "hidden" =
dark ships matched to some AIS vessel (the error that hides a dark ship); "ambiguous" = share of
detections left ambiguous; missed P/R = AIS ships reported missed vs. ships truly not detected.
Results go to ``benchmarks/out/detection_matching.json``; tables are printed as Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sanctionwatch.imagery.expected import expected_positions, rhumb_destination, scene_times
from sanctionwatch.imagery.match_params import KNOT_M_PER_MIN, MatchingParams
from sanctionwatch.imagery.matching import match_detections, vessel_lengths
from sanctionwatch.schema import DETECTIONS, POSITIONS

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
M_PER_DEG = 111_195.08  # metres per degree of latitude on the EARTH_RADIUS_M sphere
T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sim:
    """One simulated scene's settings (see the module docstring)."""

    noise_m: float = 50.0
    offset_min: int = 5
    mode: str = "interp"  # or "extrap"
    n_vessels: int = 300
    dark_fraction: float = 0.15
    sts_share: float = 0.25  # of the dark ships, placed alongside an AIS ship
    anchored_fraction: float = 0.2
    turn_share: float = 0.15  # of ships under way
    p_detect: float = 0.95
    false_rate: float = 0.05  # false detections per ship
    scene_km: float = 100.0
    lat0: float = 35.0
    lon0: float = 20.0
    fix_every_min: int = 10
    fixes_each_side: int = 6


def _offset(lat: np.ndarray, lon: np.ndarray, north_m: np.ndarray, east_m: np.ndarray) -> tuple[Any, Any]:
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * np.cos(np.radians(lat)))


def _tracks(rng: np.random.Generator, s: Sim, n: int, lat: np.ndarray, lon: np.ndarray, course: np.ndarray,
            speed: np.ndarray, anchored: np.ndarray, span_min: int) -> tuple[np.ndarray, ...]:
    """True positions, course and speed at minutes -span..+span around the scene (index span = scene)."""
    steps = 2 * span_min + 1
    la, lo, co, sp = (np.empty((n, steps)) for _ in range(4))
    la[:, span_min], lo[:, span_min], co[:, span_min], sp[:, span_min] = lat, lon, course, speed
    turn_at = np.where(rng.random(n) < s.turn_share * ~anchored, rng.integers(-span_min, span_min + 1, n), 10**6)
    turn_by = rng.choice([-1.0, 1.0], n) * rng.uniform(20.0, 90.0, n)
    for direction in (1, -1):
        c, v, a, o = course.copy(), speed.copy(), lat.copy(), lon.copy()
        for k in range(1, span_min + 1):
            c = c + rng.normal(0.0, 0.5, n) + np.where(turn_at == direction * k, direction * turn_by, 0.0)
            c = np.where(anchored, c + rng.normal(0.0, 3.0, n), c)  # swinging at anchor
            v = np.clip(v + rng.normal(0.0, 0.03, n), 0.0, None)
            bearing = c if direction == 1 else c + 180.0
            a, o = rhumb_destination(a, o, np.mod(bearing, 360.0), v * KNOT_M_PER_MIN)
            i = span_min + direction * k
            la[:, i], lo[:, i], co[:, i], sp[:, i] = a, o, np.mod(c, 360.0), v
    return la, lo, co, sp


def simulate(s: Sim, seed: int, scene_id: str = "S1") -> dict[str, Any]:
    """Positions, identities, detections, scenes and truth of one simulated scene."""
    rng = np.random.default_rng(seed)
    n = s.n_vessels
    half = s.scene_km * 500.0
    mmsi = 200_000_000 + seed % 1000 * 10_000 + np.arange(n)
    anchored = rng.random(n) < s.anchored_fraction
    north, east = rng.uniform(-half, half, n), rng.uniform(-half, half, n)
    c_n, c_e = rng.uniform(-half / 2, half / 2, 2)
    r, ang = 3000.0 * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
    north = np.where(anchored, c_n + r * np.cos(ang), north)
    east = np.where(anchored, c_e + r * np.sin(ang), east)
    dark = rng.random(n) < s.dark_fraction
    # Some dark ships lie alongside an AIS ship (ship-to-ship transfer).
    ais_idx = np.flatnonzero(~dark)
    sts = dark & (rng.random(n) < s.sts_share)
    partner = rng.choice(ais_idx, n)
    d_sts, a_sts = rng.uniform(150.0, 500.0, n), rng.uniform(0, 2 * np.pi, n)
    north = np.where(sts, north[partner] + d_sts * np.cos(a_sts), north)
    east = np.where(sts, east[partner] + d_sts * np.sin(a_sts), east)
    lat, lon = _offset(np.full(n, s.lat0), np.full(n, s.lon0), north, east)
    course = rng.uniform(0.0, 360.0, n)
    speed = np.where(anchored, rng.uniform(0.0, 0.3, n), rng.uniform(6.0, 16.0, n))
    course = np.where(sts, course[partner], course)
    speed = np.where(sts, speed[partner], speed)
    anchored = np.where(sts, anchored[partner], anchored)
    length = np.clip(np.exp(rng.normal(np.log(120.0), 0.6, n)), 15.0, 400.0)

    span = s.offset_min + s.fix_every_min * s.fixes_each_side + 1
    la, lo, co, sp = _tracks(rng, s, n, lat, lon, course, speed, anchored, span)
    t_scene = T0 + dt.timedelta(hours=seed % 1000)

    # AIS fixes of the ships with AIS on.
    ks = np.arange(s.fixes_each_side + 1) * s.fix_every_min + s.offset_min
    rows: dict[str, list[Any]] = {k: [] for k in ("mmsi", "ts_utc", "lat_deg", "lon_deg", "sog_knots", "cog_deg",
                                                   "heading_deg", "source_id", "record_no")}
    side = rng.choice([-1, 1], n)
    no_heading = rng.random(n) < 0.3
    rec = 0
    for v in np.flatnonzero(~dark):
        sides = (-1, 1) if s.mode == "interp" else (int(side[v]),)
        for sgn in sides:
            for k in ks:
                i = span + sgn * int(k)
                gn, ge = rng.normal(0.0, 10.0, 2)
                flat, flon = _offset(la[v, i], lo[v, i], gn, ge)
                rec += 1
                rows["mmsi"].append(int(mmsi[v]))
                rows["ts_utc"].append(t_scene + dt.timedelta(minutes=sgn * int(k)))
                rows["lat_deg"].append(float(flat))
                rows["lon_deg"].append(float(flon))
                rows["sog_knots"].append(max(0.0, float(sp[v, i] + rng.normal(0.0, 0.1))))
                rows["cog_deg"].append(float(np.mod(co[v, i] + rng.normal(0.0, 1.0), 360.0)))
                rows["heading_deg"].append(None if no_heading[v] else int(np.mod(round(co[v, i]), 360)))
                rows["source_id"].append("sim-ais")
                rows["record_no"].append(rec)
    positions = pl.DataFrame(rows).with_columns(
        pl.col("ts_utc").cast(pl.Datetime("us", "UTC"))).select(
        [pl.col(c) if c in rows else pl.lit(None).alias(c) for c in POSITIONS.names]).cast(
        POSITIONS.polars(), strict=False)
    identities = pl.DataFrame({"mmsi": mmsi[~dark].astype(np.int32), "length_m": length[~dark], "n_reports": 1})

    # Detections: true ships (with noise) and false ones.
    seen = rng.random(n) < s.p_detect
    dn, de = rng.normal(0.0, s.noise_m, n), rng.normal(0.0, s.noise_m, n)
    dlat, dlon = _offset(la[:, span], lo[:, span], dn, de)
    det_len = length * np.exp(rng.normal(0.0, 0.15, n))
    det_hdg = np.mod(co[:, span] + rng.normal(0.0, 15.0, n) + rng.choice([0.0, 180.0], n), 360.0)
    det_hdg = np.where(rng.random(n) < 0.3, np.nan, det_hdg)
    n_false = int(rng.poisson(s.false_rate * n))
    f_lat, f_lon = _offset(np.full(n_false, s.lat0), np.full(n_false, s.lon0),
                           rng.uniform(-half, half, n_false), rng.uniform(-half, half, n_false))
    vi = np.flatnonzero(seen)
    truth = [str(int(mmsi[v])) if not dark[v] else "dark" for v in vi] + ["false"] * n_false
    detections = pl.DataFrame({
        "detection_id": [f"{scene_id}-d{i}" for i in range(vi.size + n_false)],
        "scene_id": scene_id,
        "ts_utc": [t_scene] * (vi.size + n_false),
        "lat_deg": np.r_[dlat[vi], f_lat], "lon_deg": np.r_[dlon[vi], f_lon],
        "length_m": np.r_[det_len[vi], np.exp(rng.normal(np.log(30.0), 0.5, n_false))],
        "heading_deg": np.r_[det_hdg[vi], np.full(n_false, np.nan)],
        "source_id": "sim-det", "record_no": np.arange(1, vi.size + n_false + 1),
    }).with_columns(pl.col("heading_deg").fill_nan(None), pl.col("ts_utc").cast(pl.Datetime("us", "UTC")))
    detections = detections.select(
        [pl.col(c) if c in detections.columns else pl.lit(None).alias(c) for c in DETECTIONS.names]
    ).cast(DETECTIONS.polars(), strict=False)
    lat_c, lon_c = s.lat0, s.lon0
    dlat_box, dlon_box = half / M_PER_DEG, half / (M_PER_DEG * np.cos(np.radians(lat_c)))
    box = [(lon_c - dlon_box, lat_c - dlat_box), (lon_c + dlon_box, lat_c - dlat_box),
           (lon_c + dlon_box, lat_c + dlat_box), (lon_c - dlon_box, lat_c + dlat_box)]
    wkt = "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in [*box, box[0]]) + "))"
    scenes = pl.DataFrame({"scene_id": [scene_id], "ts_utc": [t_scene], "footprint_wkt": [wkt]}).with_columns(
        pl.col("ts_utc").cast(pl.Datetime("us", "UTC")))
    undetected_ais = {int(mmsi[v]) for v in np.flatnonzero(~seen & ~dark)}
    return {"positions": positions, "identities": identities, "detections": detections, "scenes": scenes,
            "truth": dict(zip(detections.get_column("detection_id").to_list(), truth, strict=True)),
            "undetected_ais": undetected_ais}


def evaluate(s: Sim, seeds: list[int], params: MatchingParams | None = None) -> dict[str, Any]:
    """Run matching on the simulated scenes of ``seeds`` and count outcomes against the truth."""
    c = {k: 0 for k in ("detections", "ais_dets", "dark_dets", "matched", "matched_ok", "dark_flags",
                        "dark_flags_ok", "dark_flags_false", "hidden", "ambiguous", "missed", "missed_ok",
                        "undetected")}
    for seed in seeds:
        sim = simulate(s, seed, scene_id=f"S{seed}")
        st = scene_times(sim["detections"], sim["scenes"])
        exp = expected_positions(sim["positions"], st, params)
        matches, missed = match_detections(sim["detections"], exp, vessel_lengths(sim["identities"]), params,
                                           scenes=sim["scenes"])
        truth = sim["truth"]
        for row in matches.iter_rows(named=True):
            t = truth[row["detection_id"]]
            c["detections"] += 1
            c["ais_dets"] += t not in ("dark", "false")
            c["dark_dets"] += t == "dark"
            if row["status"] == "matched":
                c["matched"] += 1
                c["matched_ok"] += t == str(row["mmsi"])
                c["hidden"] += t == "dark"
            elif row["status"] == "dark_candidate":
                c["dark_flags"] += 1
                c["dark_flags_ok"] += t == "dark"
                c["dark_flags_false"] += t == "false"
            else:
                c["ambiguous"] += 1
        reported = set(missed.filter(pl.col("status") == "missed").get_column("mmsi").to_list())
        c["missed"] += len(reported)
        c["missed_ok"] += len(reported & sim["undetected_ais"])
        c["undetected"] += len(sim["undetected_ais"])
    return {**c, **metrics(c)}


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def metrics(c: dict[str, int]) -> dict[str, float | None]:
    return {
        "ais_precision": _ratio(c["matched_ok"], c["matched"]),
        "ais_recall": _ratio(c["matched_ok"], c["ais_dets"]),
        "dark_precision": _ratio(c["dark_flags_ok"], c["dark_flags"]),
        "dark_precision_excl_false": _ratio(c["dark_flags_ok"], c["dark_flags"] - c["dark_flags_false"]),
        "dark_recall": _ratio(c["dark_flags_ok"], c["dark_dets"]),
        "hidden_share": _ratio(c["hidden"], c["dark_dets"]),
        "ambiguous_share": _ratio(c["ambiguous"], c["detections"]),
        "missed_precision": _ratio(c["missed_ok"], c["missed"]),
        "missed_recall": _ratio(c["missed_ok"], c["undetected"]),
    }


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


HEADER = ("| noise σ (m) | offset (min) | fixes | detections | AIS P | AIS R | dark P | dark P excl. false | "
          "dark R | dark hidden | ambiguous | missed P | missed R |")


def table(rows: list[dict[str, Any]]) -> str:
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['noise_m']:g} | {r['offset_min']} | {r['mode']} | {r['detections']} | {_f(r['ais_precision'])} | "
            f"{_f(r['ais_recall'])} | {_f(r['dark_precision'])} | {_f(r['dark_precision_excl_false'])} | "
            f"{_f(r['dark_recall'])} | {_f(r['hidden_share'])} | {_f(r['ambiguous_share'])} | "
            f"{_f(r['missed_precision'])} | {_f(r['missed_recall'])} |")
    return "\n".join(lines)


def run_points(points: list[Sim], seeds: list[int], params: MatchingParams | None = None) -> list[dict[str, Any]]:
    out = []
    for s in points:
        r = evaluate(s, seeds, params)
        out.append({"noise_m": s.noise_m, "offset_min": s.offset_min, "mode": s.mode, **r})
    return out


def scale_run(n_ships: int) -> dict[str, Any]:
    """Time one big scene: ``n_ships`` over 250 km x 250 km, 2 % at anchor, fixes 15 min either side."""
    sim = simulate(Sim(n_vessels=n_ships, scene_km=250.0, anchored_fraction=0.02, offset_min=15), seed=5)
    t = time.perf_counter()
    exp = expected_positions(sim["positions"], scene_times(sim["detections"], sim["scenes"]))
    t_exp = time.perf_counter() - t
    t = time.perf_counter()
    match_detections(sim["detections"], exp, vessel_lengths(sim["identities"]), scenes=sim["scenes"])
    t_match = time.perf_counter() - t
    return {"ships": n_ships, "fixes": sim["positions"].height, "detections": sim["detections"].height,
            "expected_s": t_exp, "match_s": t_match}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one scene of 100 ships per point, fewer points")
    ap.add_argument("--scenes", type=int, default=8, help="scenes per point")
    ap.add_argument("--scale", type=int, default=20_000, help="ships in the one-scene timing run (0: skip)")
    ap.add_argument("--vessels", type=int, default=300, help="ships per scene")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT, help="where detection_matching.json goes")
    args = ap.parse_args()
    n_scenes, n_vessels = (1, 100) if args.quick else (args.scenes, args.vessels)
    seeds = [args.seed * 1000 + k for k in range(n_scenes)]
    base = Sim(n_vessels=n_vessels)
    noises = [0.0, 50.0, 100.0, 200.0, 400.0]
    offsets = [1, 5, 15, 30, 60, 120]
    if args.quick:
        noises, offsets = [0.0, 100.0, 200.0], [5, 15, 60]
    t0 = time.perf_counter()
    params = MatchingParams()
    print(f"Defaults: {json.dumps(asdict(params))}\n")
    curves = {
        "noise (fixes 5 min either side)": run_points(
            [replace(base, noise_m=x, offset_min=5, mode="interp") for x in noises], seeds),
        "offset, interpolated (noise 50 m)": run_points(
            [replace(base, noise_m=50.0, offset_min=o, mode="interp") for o in offsets], seeds),
        "offset, extrapolated (noise 50 m)": run_points(
            [replace(base, noise_m=50.0, offset_min=o, mode="extrap") for o in offsets], seeds),
        "noise x offset, extrapolated": run_points(
            [replace(base, noise_m=x, offset_min=o, mode="extrap") for x in (noises[2], noises[-1])
             for o in (offsets[2], offsets[-2])], seeds),
        "open water (no anchorage, no ship-to-ship), extrapolated, noise 50 m": run_points(
            [replace(base, noise_m=50.0, offset_min=o, mode="extrap", anchored_fraction=0.0, sts_share=0.0)
             for o in offsets[1::2]], seeds),
    }
    for name, rows in curves.items():
        print(f"### {name}\n\n{table(rows)}\n")
    seconds = time.perf_counter() - t0
    print(f"{n_scenes} scene(s) of {n_vessels} ships per point; {seconds:.1f} s\n")
    timing = scale_run(args.scale) if args.scale and not args.quick else None
    if timing:
        print("### Timing, one scene\n\n| ships | AIS fixes | detections | expected_positions (s) | "
              "match_detections (s) |\n|---|---|---|---|---|\n"
              f"| {timing['ships']} | {timing['fixes']} | {timing['detections']} | {timing['expected_s']:.2f} | "
              f"{timing['match_s']:.2f} |\n")
    args.out.mkdir(parents=True, exist_ok=True)
    name = "detection_matching_quick.json" if args.quick else "detection_matching.json"
    (args.out / name).write_text(json.dumps({
        "params": asdict(params), "sim": asdict(base), "seeds": seeds, "seconds": round(seconds, 1), "curves": curves,
        "timing": timing,
    }, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
