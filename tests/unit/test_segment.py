"""Segmentation (gpsdio-segment rules) and spoofing indicators on small hand-made tracks."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.ports import build_port_index
from sanctionwatch.geo import Area, land_mask
from sanctionwatch.schema import EVENTS
from sanctionwatch.tracks.segment import (
    FLAG_DUPLICATE,
    FLAG_GAP,
    FLAG_INVALID,
    FLAG_SPEED,
    FLAG_START,
    SegmentParams,
    _match_points,
    _segment_valid,
    segment,
)
from sanctionwatch.tracks.spoofing import KIND_JUMP, KIND_ON_LAND, KIND_OVERLAP, spoofing_events
from tests.builders import TrackBuilder, offset_deg, positions_frame

CFG = load_config()
NO_PORTS = build_port_index(CFG, areas=[], include_wpi=False)
# Open water in the South China Sea, far from any coast or port.
SEA = (12.0, 113.0)


def seg_ids(df: pl.DataFrame) -> list[str | None]:
    return df.get_column("segment_id").to_list()


def kinds(events: pl.DataFrame) -> list[str]:
    return sorted(json.loads(a)["kind"] for a in events.get_column("attrs_json"))


def test_one_vessel_one_segment_with_a_readable_id():
    t = TrackBuilder(273000001, *SEA, "2024-03-05T06:07:08").point(sog=10, cog=90)
    t.sail_to(SEA[0], SEA[1] + 0.5, knots=10)
    out = segment(t.frame(), CFG)
    assert set(seg_ids(out)) == {"273000001-20240305T060708-1"}
    assert out.get_column("seg_flag").to_list() == [FLAG_START] + [None] * (out.height - 1)
    assert out.columns[-2:] == ["segment_id", "seg_flag"]


def test_a_gap_over_24_hours_starts_a_new_segment_but_23_hours_does_not():
    t = TrackBuilder(1, *SEA, "2024-01-01T00:00:00").point().stay(hours=1).silent(hours=23).stay(hours=1)
    assert len(set(seg_ids(segment(t.frame(), CFG)))) == 1
    t.silent(hours=24.5).stay(hours=1)
    out = segment(t.frame(), CFG)
    assert len(set(seg_ids(out))) == 2
    assert out.get_column("seg_flag").to_list().count(FLAG_GAP) == 1


def test_crossing_midnight_and_the_antimeridian_stays_one_segment():
    t = TrackBuilder(2, -16.0, 179.8, "2024-01-01T23:00:00").point(sog=12, cog=90)
    t.sail_to(-16.0, -179.8, knots=12, every_min=5)  # ~42 km east over the date line, into Jan 2
    out = segment(t.frame(), CFG)
    assert out.get_column("ts_utc").dt.day().to_list()[-1] == 2
    assert (out.get_column("lon_deg") < 0).any() and (out.get_column("lon_deg") > 0).any()
    assert len(set(seg_ids(out))) == 1
    assert spoofing_events(out, CFG, NO_PORTS).height == 0


def two_ships_one_mmsi() -> pl.DataFrame:
    """Ship A sails east at 10 kn; ship B, 60 km north, sails west; both report MMSI 7 in turn."""
    a = TrackBuilder(7, *SEA, "2024-01-01T00:00:00", source_id="a").point(sog=10, cog=90)
    a.sail_to(SEA[0], SEA[1] + 0.6, knots=10, every_min=10)
    b = TrackBuilder(7, SEA[0] + 0.55, SEA[1] + 0.6, "2024-01-01T00:03:00", source_id="b").point(sog=10, cog=270)
    b.sail_to(SEA[0] + 0.55, SEA[1], knots=10, every_min=10)
    return pl.concat([a.frame(), b.frame()])


def test_two_ships_on_one_mmsi_become_two_segments_not_a_zigzag():
    out = segment(two_ships_one_mmsi(), CFG)
    by_source = out.group_by("source_id").agg(pl.col("segment_id").unique())
    segs = dict(by_source.iter_rows())
    assert len(segs["a"]) == 1 and len(segs["b"]) == 1 and segs["a"] != segs["b"]
    # The second ship's first point is the only impossible step; it opens the second segment.
    assert out.get_column("seg_flag").to_list().count(FLAG_SPEED) == 1


def test_two_ships_on_one_mmsi_give_an_overlap_indicator_and_one_jump():
    events = spoofing_events(segment(two_ships_one_mmsi(), CFG), CFG, NO_PORTS)
    assert kinds(events) == [KIND_JUMP, KIND_OVERLAP]
    overlap = events.filter(pl.col("attrs_json").str.contains(KIND_OVERLAP)).row(0, named=True)
    attrs = json.loads(overlap["attrs_json"])
    assert attrs["separation_m"] > 50_000 and attrs["overlap_hours"] > 3
    assert {e["source_id"] for e in overlap["evidence"]} == {"a", "b"}


def test_short_overlapping_segments_are_noise_not_a_shared_mmsi():
    events = spoofing_events(segment(two_ships_one_mmsi(), CFG), CFG.with_overrides(
        {"tracks.spoofing_min_segment_points": 1000}), NO_PORTS)
    assert kinds(events) == [KIND_JUMP]


def test_a_teleport_is_one_point_segment_and_an_impossible_jump():
    t = TrackBuilder(9, *SEA, "2024-01-01T00:00:00").point(sog=10, cog=90)
    t.sail_to(SEA[0], SEA[1] + 0.2, knots=10)
    here = (t.lat, t.lon)
    t.point(SEA[0] + 5.0, SEA[1], sog=10, after_min=10)  # 550 km away ten minutes later
    t.point(*offset_deg(*here, east_m=3000), sog=10, cog=90, after_min=10)
    t.sail_to(SEA[0], SEA[1] + 0.4, knots=10)
    out = segment(t.frame(), CFG)
    counts = out.group_by("segment_id").len().sort("len")
    assert counts.get_column("len").to_list()[0] == 1 and counts.height == 2
    jumped = out.filter(pl.col("seg_flag") == FLAG_SPEED)
    assert jumped.height == 1 and jumped.item(0, "lat_deg") == pytest.approx(SEA[0] + 5.0)

    events = spoofing_events(out, CFG, NO_PORTS)
    assert kinds(events) == [KIND_JUMP]
    row = events.row(0, named=True)
    attrs = json.loads(row["attrs_json"])
    assert attrs["implied_speed_knots"] > 1000 and attrs["distance_m"] == pytest.approx(556_000, rel=0.01)
    assert [e["record_no"] for e in row["evidence"]] == [jumped.item(0, "record_no") - 1, jumped.item(0, "record_no")]
    assert row["event_type"] == "spoofing" and row["params_id"] == CFG.params_id


def test_duplicate_timestamps():
    t = TrackBuilder(11, *SEA, "2024-01-01T00:00:00").point(sog=5, cog=0).stay(hours=0.5, sog=0)
    t.point(sog=0)  # same instant, same place: a second reception
    t.point(*offset_deg(t.lat, t.lon, north_m=100), sog=0)  # same instant, 100 m off: GNSS jitter
    t.point(SEA[0] + 1.0, SEA[1], sog=0)  # same instant, 111 km off: another transmitter
    out = segment(t.frame(), CFG)
    flags = out.get_column("seg_flag").to_list()
    assert flags[-3:] == [FLAG_DUPLICATE, None, FLAG_SPEED]
    assert len(set(seg_ids(out)[:-1])) == 1 and seg_ids(out)[-1] != seg_ids(out)[0]


def test_a_vessel_with_one_point_and_an_empty_table():
    one = TrackBuilder(12, *SEA, "2024-01-01T00:00:00").point().frame()
    out = segment(one, CFG)
    assert out.get_column("seg_flag").to_list() == [FLAG_START] and out.item(0, "segment_id")
    empty = segment(one.clear(), CFG)
    assert empty.height == 0 and empty.schema["segment_id"] == pl.String
    assert spoofing_events(empty, CFG, NO_PORTS).schema == EVENTS.polars()


def test_out_of_order_input_gives_the_same_result():
    frame = pl.concat([two_ships_one_mmsi(), TrackBuilder(3, 0, 0.5, "2024-01-01T00:00:00").point().frame()])
    ordered = segment(frame, CFG)
    shuffled = segment(frame.sample(fraction=1.0, shuffle=True, seed=42), CFG)
    assert shuffled.equals(ordered)


def test_unusable_positions_get_no_segment():
    rows = [
        {"mmsi": 5, "ts_utc": "2024-01-01T00:00:00", "lat_deg": 91.0, "lon_deg": 181.0},  # AIS "not available"
        {"mmsi": 5, "ts_utc": "2024-01-01T00:01:00", "lat_deg": 0.0, "lon_deg": 0.0},  # unfixed GNSS
        {"mmsi": 5, "ts_utc": "2024-01-01T00:02:00", "lat_deg": SEA[0], "lon_deg": SEA[1]},
    ]
    out = segment(_frame(rows), CFG)
    assert out.get_column("seg_flag").to_list() == [FLAG_INVALID, FLAG_INVALID, FLAG_START]
    assert seg_ids(out)[:2] == [None, None]


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return positions_frame([
        {**r, "ts_utc": dt.datetime.fromisoformat(str(r["ts_utc"])).replace(tzinfo=dt.UTC),
         "source_id": "s", "record_no": i + 1}
        for i, r in enumerate(rows)
    ])


def test_segments_never_span_two_mmsis_and_ids_are_stable():
    a = TrackBuilder(100, *SEA, "2024-01-01T00:00:00").point().stay(hours=1)
    b = TrackBuilder(101, *SEA, "2024-01-01T00:00:00").point().stay(hours=1)  # same place and time
    out = segment(pl.concat([a.frame(), b.frame()]), CFG)
    assert out.group_by("segment_id").agg(pl.col("mmsi").n_unique()).get_column("mmsi").max() == 1
    assert sorted(set(seg_ids(out))) == ["100-20240101T000000-1", "101-20240101T000000-1"]


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_path_agrees_with_the_matcher(seed):
    """Where no step is impossible, the NumPy fast path and the per-point matcher must agree."""
    rng = np.random.default_rng(seed)
    n = 400
    t = np.cumsum(rng.choice([60.0, 600.0, 3600.0 * 30], size=n, p=[0.6, 0.39, 0.01]))
    lat = SEA[0] + np.cumsum(rng.normal(0, 0.002, n))
    lon = SEA[1] + np.cumsum(rng.normal(0, 0.002, n))
    sog, cog = rng.uniform(0, 12, n), rng.uniform(0, 360, n)
    params = SegmentParams.from_config(CFG)
    fast, fast_flags = _segment_valid(np.zeros(n, dtype=np.int64), t, lat, lon, sog, cog, params)
    slow, slow_flags = _match_points(t, lat, lon, sog, cog, params)
    assert fast.tolist() == slow.tolist()
    assert fast_flags.tolist() == slow_flags.tolist()


def test_positions_on_land_are_an_indicator_unless_in_port():
    # Central Mongolia: hundreds of km from any coast.
    inland = TrackBuilder(20, 47.0, 103.0, "2024-01-01T00:00:00").point().stay(hours=1)
    events = spoofing_events(segment(inland.frame(), CFG), CFG, NO_PORTS)
    assert kinds(events) == [KIND_ON_LAND]
    attrs = json.loads(events.item(0, "attrs_json"))
    assert attrs["n_points"] == 7 and attrs["max_inland_distance_m"] > 500_000

    # The same place declared a port: exempt (harbours often fall "on land" at 1:50m).
    yard = Area("yard", "Inland yard", "Point", 47.0, 103.0, radius_m=3000.0)
    ports = build_port_index(CFG, areas=[yard], include_wpi=False)
    assert spoofing_events(segment(inland.frame(), CFG), CFG, ports).height == 0


def test_near_coast_land_fixes_are_not_reported():
    # Rajin port's point lies ~3.4 km inland on the 1:50m coast (see watched_areas.geojson).
    lat, lon = 42.245, 130.3
    assert land_mask().contains(lat, lon)
    t = TrackBuilder(21, lat, lon, "2024-01-01T00:00:00").point().stay(hours=1)
    cfg = CFG.with_overrides({"tracks.land_min_inland_distance_m": 10_000})
    assert spoofing_events(segment(t.frame(), cfg), cfg, NO_PORTS).height == 0
    # With the packaged areas, the Rajin watched area (5 km) exempts it at the default threshold too.
    assert spoofing_events(segment(t.frame(), CFG), CFG, build_port_index(CFG)).height == 0


def test_spoofing_events_are_deterministic_and_conform():
    frame = segment(two_ships_one_mmsi(), CFG)
    first, second = spoofing_events(frame, CFG, NO_PORTS), spoofing_events(frame, CFG, NO_PORTS)
    assert first.equals(second) and first.schema == EVENTS.polars()
    assert first.get_column("event_id").n_unique() == first.height
    other = CFG.with_overrides({"tracks.max_implied_speed_knots": 25})
    assert set(spoofing_events(segment(two_ships_one_mmsi(), other), other, NO_PORTS)["event_id"]).isdisjoint(
        first["event_id"])
