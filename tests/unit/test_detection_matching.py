"""Detection <-> AIS matching: expected positions, scoring, one-to-one assignment, dark and missed."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import sys
from dataclasses import fields, replace
from types import MappingProxyType, ModuleType

import polars as pl
import pytest

from sanctionwatch.config import Config
from sanctionwatch.geo import haversine_m
from sanctionwatch.imagery.expected import expected_positions, rhumb_destination, scene_times
from sanctionwatch.imagery.match_params import KNOT_M_PER_MIN, MatchingParams
from sanctionwatch.imagery.matching import dark_candidates, match_detections, vessel_lengths
from sanctionwatch.schema import DETECTION_MATCHES, DETECTIONS
from tests.builders import TrackBuilder, offset_deg, positions_frame
from tests.conftest import REPO

T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
LAT, LON = 35.0, 20.0
P = MatchingParams()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def fixes(mmsi: int, points: list[tuple[float, float, float]], *, sog: float | None = 0.0,
          cog: float | None = None, record_no0: int = 1) -> list[dict[str, object]]:
    """POSITIONS rows from (minutes after T0, lat, lon)."""
    return [{"mmsi": mmsi, "ts_utc": at(m), "lat_deg": la, "lon_deg": lo, "sog_knots": sog, "cog_deg": cog,
             "source_id": "ais", "record_no": record_no0 + k} for k, (m, la, lo) in enumerate(points)]


def scene(minutes: float = 0.0, scene_id: str = "S1", half_deg: float = 0.5) -> pl.DataFrame:
    x0, x1, y0, y1 = LON - half_deg, LON + half_deg, LAT - half_deg, LAT + half_deg
    wkt = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    return pl.DataFrame({"scene_id": [scene_id], "ts_utc": [at(minutes)], "footprint_wkt": [wkt]}).cast(
        {"ts_utc": pl.Datetime("us", "UTC")})


def detections(points: list[tuple[float, float]], *, minutes: float = 0.0, lengths: list[float | None] | None = None,
               scene_id: str = "S1") -> pl.DataFrame:
    n = len(points)
    df = pl.DataFrame({
        "detection_id": [f"d{i + 1}" for i in range(n)], "scene_id": [scene_id] * n, "ts_utc": [at(minutes)] * n,
        "lat_deg": [p[0] for p in points], "lon_deg": [p[1] for p in points],
        "length_m": lengths or [None] * n, "source_id": ["det"] * n, "record_no": list(range(1, n + 1)),
    }, schema_overrides={"length_m": pl.Float32, "ts_utc": pl.Datetime("us", "UTC")})
    return df.select([pl.col(c) if c in df.columns else pl.lit(None).alias(c) for c in DETECTIONS.names]).cast(
        DETECTIONS.polars())


def expect(rows: list[dict[str, object]], minutes: float, scenes: pl.DataFrame | None = None,
           params: MatchingParams = P) -> pl.DataFrame:
    st = scenes if scenes is not None else scene(minutes)
    return expected_positions(positions_frame(rows), st, params)


def run(rows: list[dict[str, object]], dets: pl.DataFrame, *, scenes: pl.DataFrame | None = None,
        lengths: pl.DataFrame | None = None, params: MatchingParams = P) -> tuple[pl.DataFrame, pl.DataFrame]:
    st = scene_times(dets, scenes)
    exp = expected_positions(positions_frame(rows), st, params)
    return match_detections(dets, exp, lengths, params, scenes=scenes)


# --- expected positions -------------------------------------------------------------------------

@pytest.mark.parametrize("course", [90.0, 0.0, 37.0, 250.0])
def test_interpolation_is_exact_on_a_straight_track(course: float) -> None:
    # A ship holding course and 12 kn: fixes every 10 min; the scene 3 min after a fix.
    step_m = 12.0 * KNOT_M_PER_MIN * 10.0
    pts = []
    for k in range(7):
        la, lo = rhumb_destination(LAT, LON, course, k * step_m)
        pts.append((10.0 * k, float(la), float(lo)))
    rows = fixes(1, pts, sog=12.0, cog=course)
    e = expect(rows, 33.0)
    assert e.height == 1 and e["method"][0] == "interpolated"
    true_lat, true_lon = rhumb_destination(LAT, LON, course, 3.3 * step_m)
    assert haversine_m(e["expected_lat_deg"][0], e["expected_lon_deg"][0], true_lat, true_lon) < 0.5
    assert e["fix_offset_min"][0] == pytest.approx(-3.0)  # the nearer fix, 3 min before the scene
    assert [r["record_no"] for r in e["evidence"][0]] == [4, 5]
    assert e["uncertainty_m"][0] == pytest.approx(P.base_uncertainty_m + 3.0 * P.interp_speed_fraction * 12.0
                                                  * KNOT_M_PER_MIN, rel=1e-3)


def test_interpolation_takes_the_short_way_across_the_antimeridian() -> None:
    rows = fixes(1, [(0.0, 0.0, 179.95), (10.0, 0.0, -179.95)], sog=36.0, cog=90.0)
    st = pl.DataFrame({"scene_id": ["S"], "ts_utc": [at(5.0)]}).cast({"ts_utc": pl.Datetime("us", "UTC")})
    e = expected_positions(positions_frame(rows), st)
    assert e["method"][0] == "interpolated"
    assert abs(abs(e["expected_lon_deg"][0]) - 180.0) < 1e-6


def test_no_interpolation_across_a_long_gap() -> None:
    # Fixes every 10 min to minute 60, then 5 h of silence: longer than max_interp_gap_min (4 h).
    t = TrackBuilder(1, LAT, LON, T0.replace(tzinfo=None).isoformat())
    t.point(sog=10.0, cog=90.0)
    for _ in range(6):
        t.point(sog=10.0, cog=90.0, after_min=10.0)  # stationary reports are fine: we test the method
    t.silent(hours=5).point(LAT + 0.5, LON, sog=10.0, cog=90.0)
    e = expected_positions(t.frame(), scene(90.0))
    assert e["method"].to_list() == ["dead_reckoned"]
    assert e["fix_offset_min"][0] == pytest.approx(-30.0)
    la, lo = rhumb_destination(LAT, LON, 90.0, 10.0 * KNOT_M_PER_MIN * 30.0)
    assert haversine_m(e["expected_lat_deg"][0], e["expected_lon_deg"][0], la, lo) < 1.0
    # In the middle of the gap the nearest fix is 2.5 h away (> max_fix_offset_min): nothing.
    assert expected_positions(t.frame(), scene(60.0 + 150.0)).height == 0


def test_no_interpolation_across_a_segment_boundary() -> None:
    # An impossible jump (200 km in 20 min) splits the track into two segments.
    far_lat, far_lon = offset_deg(LAT, LON, north_m=200_000.0)
    rows = fixes(1, [(0.0, LAT, LON), (10.0, LAT, LON), (30.0, far_lat, far_lon), (40.0, far_lat, far_lon)])
    e = expect(rows, 15.0)
    assert e.height == 1  # one MMSI, one expected position
    assert e["method"][0] != "interpolated"
    assert haversine_m(e["expected_lat_deg"][0], e["expected_lon_deg"][0], LAT, LON) < 1.0  # held at the fix


def test_extrapolation_uses_sog_and_cog_and_its_radius_grows() -> None:
    rows = fixes(1, [(0.0, LAT, LON), (10.0, *rhumb_destination(LAT, LON, 90.0, 10 * 10.0 * KNOT_M_PER_MIN))],
                 sog=10.0, cog=90.0)
    last_lat, last_lon = rows[-1]["lat_deg"], rows[-1]["lon_deg"]
    radii = []
    for dt_min in (10.0, 30.0, 60.0):
        e = expect(rows, 10.0 + dt_min)
        assert e["method"][0] == "dead_reckoned"
        d = haversine_m(last_lat, last_lon, e["expected_lat_deg"][0], e["expected_lon_deg"][0])
        assert d == pytest.approx(10.0 * KNOT_M_PER_MIN * dt_min, rel=1e-6)
        assert e["expected_lon_deg"][0] > last_lon  # east, along the COG
        radii.append(e["uncertainty_m"][0])
    assert radii[0] < radii[1] < radii[2]
    assert radii[2] == pytest.approx(P.base_uncertainty_m + 60.0 * P.extrap_speed_fraction * 10.0 * KNOT_M_PER_MIN)
    # From a fix after the scene the vessel is dead-reckoned backwards (west of its first fix).
    e = expect(rows, -20.0)
    assert e["method"][0] == "dead_reckoned" and e["fix_offset_min"][0] == pytest.approx(20.0)
    assert e["expected_lon_deg"][0] < LON


def test_without_sog_the_vessel_is_held_with_a_wide_radius() -> None:
    rows = fixes(1, [(0.0, LAT, LON)], sog=None)
    e = expect(rows, 30.0)
    assert e["method"][0] == "held"
    assert e["expected_lat_deg"][0] == pytest.approx(LAT) and e["expected_lon_deg"][0] == pytest.approx(LON)
    assert e["uncertainty_m"][0] == pytest.approx(P.base_uncertainty_m + 30.0 * P.unknown_speed_knots * KNOT_M_PER_MIN)


# --- matching -----------------------------------------------------------------------------------

def parked(mmsi: int, north_m: float = 0.0, east_m: float = 0.0, record_no0: int = 1) -> list[dict[str, object]]:
    """A stationary vessel with fixes at the scene time and 10 min later (radius = base)."""
    la, lo = offset_deg(LAT, LON, north_m=north_m, east_m=east_m)
    return fixes(mmsi, [(0.0, la, lo), (10.0, la, lo)], record_no0=record_no0)


def test_a_detection_near_a_vessel_matches_it() -> None:
    dets = detections([offset_deg(LAT, LON, east_m=100.0)])
    m, missed = run(parked(111), dets, scenes=scene())
    row = m.row(0, named=True)
    assert row["status"] == "matched" and row["mmsi"] == 111
    assert row["distance_m"] == pytest.approx(100.0, abs=1.0)
    assert row["evidence"][0] == {"source_id": "det", "record_no": 1}
    assert {"source_id": "ais", "record_no": 1} in row["evidence"]
    assert 0.5 <= row["score"] <= 1.0
    assert m.columns == DETECTION_MATCHES.names and missed.height == 0


def test_assignment_is_one_to_one_and_optimal_where_greedy_fails() -> None:
    # V1 at 0 m, V2 at 300 m east; D1 at 200 m, D2 at 500 m. Greedy nearest-first takes D1-V2 (100 m)
    # and leaves V1-D2 (500 m); the optimum is D1-V1 and D2-V2 (200 m each).
    rows = parked(1) + parked(2, east_m=300.0, record_no0=10)
    dets = detections([offset_deg(LAT, LON, east_m=200.0), offset_deg(LAT, LON, east_m=500.0)])
    d1 = [haversine_m(*dets.row(0)[3:5], *offset_deg(LAT, LON, east_m=x)) for x in (0.0, 300.0)]
    assert d1[1] < d1[0]  # D1's nearest vessel is V2
    m, _ = run(rows, dets)
    assert dict(zip(m["detection_id"], m["mmsi"], strict=True)) == {"d1": 1, "d2": 2}
    assert m["status"].to_list() == ["matched", "matched"]


def test_a_detection_with_no_vessel_nearby_is_a_dark_candidate() -> None:
    dets = detections([offset_deg(LAT, LON, east_m=100.0), offset_deg(LAT, LON, north_m=30_000.0)])
    m, _ = run(parked(111), dets, scenes=scene())
    dark = m.filter(pl.col("detection_id") == "d2").row(0, named=True)
    assert dark["status"] == "dark_candidate" and dark["mmsi"] is None and dark["score"] is None
    assert dark["evidence"] == [{"source_id": "det", "record_no": 2}]
    out = dark_candidates(m, dets)
    assert out["detection_id"].to_list() == ["d2"] and "lat_deg" in out.columns


def test_dark_candidates_can_drop_detections_near_the_shore() -> None:
    dets = detections([(LAT, LON), (48.85, 2.35)])  # open Ionian Sea; Paris
    m, _ = run([], dets)
    assert m["status"].to_list() == ["dark_candidate", "dark_candidate"]
    kept = dark_candidates(m, dets, min_distance_from_shore_m=20_000.0)
    assert kept["detection_id"].to_list() == ["d1"] and kept["distance_from_shore_m"][0] >= 20_000.0


def test_a_wrong_length_scores_lower_and_loses_the_detection() -> None:
    rows = parked(1, north_m=-60.0) + parked(2, north_m=60.0, record_no0=10)
    lengths = vessel_lengths(pl.DataFrame({"mmsi": [1, 2], "length_m": [60.0, 180.0], "n_reports": [3, 3]}))
    dets = detections([(LAT, LON)], lengths=[175.0])
    m, _ = run(rows, dets, lengths=lengths)
    assert m["mmsi"][0] == 2 and m["length_ratio"][0] == pytest.approx(175.0 / 180.0)
    right = run(parked(1), dets, lengths=lengths.with_columns(pl.lit(180.0).alias("length_m")))[0]["score"][0]
    wrong = run(parked(1), dets, lengths=lengths)[0]["score"][0]
    assert wrong < right


def test_vessel_lengths_takes_the_most_reported_value() -> None:
    ids = pl.DataFrame({"mmsi": [1, 1, 1, 2], "length_m": [100.0, 120.0, None, 0.0], "n_reports": [2, 9, 50, 5]})
    assert vessel_lengths(ids).rows() == [(1, 120.0)]


def test_a_vessel_inside_the_footprint_but_not_detected_is_missed() -> None:
    inside = parked(1)
    outside = parked(2, north_m=120_000.0, record_no0=10)  # beyond the 0.5 deg half-width
    empty = detections([])
    m, missed = run(inside + outside, empty, scenes=scene())
    assert m.height == 0
    assert missed["mmsi"].to_list() == [1] and missed["status"].to_list() == ["missed"]
    assert missed["best_score"][0] is None


def test_unassigned_detections_near_a_taken_vessel_are_ambiguous_or_dark() -> None:
    # V's own detection at 20 m wins. A second detection 250 m away could still be V (within the
    # ambiguity factor): ambiguous. One 700 m away is clearly not V: dark candidate.
    for east_m, status in ((250.0, "ambiguous"), (700.0, "dark_candidate")):
        dets = detections([offset_deg(LAT, LON, east_m=20.0), offset_deg(LAT, LON, east_m=-east_m)])
        m, _ = run(parked(7), dets)
        assert m["status"].to_list() == ["matched", status]
        assert m["mmsi"].to_list() == [7, 7 if status == "ambiguous" else None]


def test_a_weak_candidate_left_free_is_ambiguous() -> None:
    # Alone in an empty scene, 3 radii away, but five times the vessel's length: below min_score, so
    # not assigned, yet the vessel could be there.
    dets = detections([offset_deg(LAT, LON, east_m=3.0 * P.base_uncertainty_m)], lengths=[300.0])
    lengths = pl.DataFrame({"mmsi": [7], "length_m": [60.0]})
    m, missed = run(parked(7), dets, scenes=scene(), lengths=lengths)
    assert m["status"][0] == "ambiguous" and m["mmsi"][0] == 7 and m["score"][0] < P.min_score
    assert missed["status"].to_list() == ["ambiguous"] and missed["candidate_detection_id"].to_list() == ["d1"]


def test_params_validate_and_come_from_the_config() -> None:
    with pytest.raises(ValueError, match="min_score"):
        MatchingParams(min_score=1.0)
    with pytest.raises(ValueError, match="base_uncertainty_m"):
        MatchingParams(base_uncertainty_m=0.0)
    values = {f"imagery.match_{f.name}": getattr(P, f.name) for f in fields(MatchingParams)}
    values["imagery.match_min_score"] = 0.6
    assert MatchingParams.from_config(Config(MappingProxyType(values))) == replace(P, min_score=0.6)


# --- evaluation on generated scenes ---------------------------------------------------------------

def _eval_module() -> ModuleType:
    name = "eval_detection_matching"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_generated_scenes_at_low_noise_match_and_flag_well() -> None:
    ev = _eval_module()
    busy = ev.evaluate(ev.Sim(noise_m=0.0, offset_min=5, n_vessels=100), [1, 2])
    assert busy["ais_precision"] >= 0.95 and busy["ais_recall"] >= 0.95
    open_water = ev.evaluate(ev.Sim(noise_m=50.0, offset_min=5, n_vessels=100, anchored_fraction=0.0,
                                    sts_share=0.0), [3, 4])
    for key in ("ais_precision", "ais_recall", "dark_precision_excl_false", "dark_recall", "missed_precision",
                "missed_recall"):
        assert open_water[key] >= 0.95, key
    # Every false detection is (wrongly, but unavoidably) a dark candidate: matching cannot tell.
    assert open_water["dark_flags_false"] > 0
    assert not math.isnan(open_water["ais_precision"])
