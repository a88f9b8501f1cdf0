"""AIS gap events (GFW pipe-gaps definition) on small hand-made tracks."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.gaps import GapDetector, detect_gaps
from sanctionwatch.events.port_visits import PortVisitDetector
from sanctionwatch.events.ports import build_port_index
from sanctionwatch.geo import haversine_m
from sanctionwatch.schema import EVENTS
from sanctionwatch.tracks.segment import segment
from sanctionwatch.tracks.spoofing import SpoofingDetector
from tests.builders import TrackBuilder

CFG = load_config()
# Mid-Atlantic, > 500 nm from any coast; and a spot ~5 nm off Dover.
OCEAN = (20.0, -40.0)
COASTAL = (51.05, 1.45)


def attrs(events: pl.DataFrame, i: int = 0) -> dict[str, object]:
    return json.loads(events.item(i, "attrs_json"))


def track_with_gap(lat: float, lon: float, gap_hours: float, *, every_min: float = 30.0, before_hours: float = 12.0,
                   mmsi: int = 1) -> TrackBuilder:
    t = TrackBuilder(mmsi, lat, lon, "2024-01-01T00:00:00").point(sog=0)
    t.stay(hours=before_hours, every_min=every_min)
    t.silent(hours=gap_hours - every_min / 60.0)
    return t.stay(hours=1, every_min=every_min)


def test_threshold_is_inclusive_at_six_hours():
    assert detect_gaps(segment(track_with_gap(*OCEAN, 5.9).frame(), CFG), CFG).height == 0
    events = detect_gaps(segment(track_with_gap(*OCEAN, 6.0).frame(), CFG), CFG)
    assert events.height == 1
    assert attrs(events)["duration_h"] == pytest.approx(6.0)


def test_attributes_evidence_and_schema():
    t = TrackBuilder(2, *OCEAN, "2024-01-01T20:00:00").point(sog=10).stay(hours=2, every_min=30, sog=10)
    off = t.rows[-1]
    t.silent(hours=9.5).point(OCEAN[0] + 1.0, OCEAN[1], sog=10, after_min=30)  # across midnight, 1 deg north
    on = t.rows[-1]
    events = detect_gaps(segment(t.frame(), CFG), CFG)
    assert events.schema == EVENTS.polars() and events.height == 1
    row = events.row(0, named=True)
    a = attrs(events)
    assert row["event_type"] == "ais_gap" and row["basis"] == "ais" and row["params_id"] == CFG.params_id
    assert row["start_utc"] == off["ts_utc"] and row["end_utc"] == on["ts_utc"]
    assert (row["lat_deg"], row["lon_deg"]) == (off["lat_deg"], off["lon_deg"])
    assert [(e["source_id"], e["record_no"]) for e in row["evidence"]] == [
        ("test", off["record_no"]), ("test", on["record_no"])]
    assert a["duration_h"] == pytest.approx(10.0)
    assert a["distance_m"] == pytest.approx(haversine_m(OCEAN[0], OCEAN[1], OCEAN[0] + 1, OCEAN[1]), abs=0.1)
    assert a["implied_speed_knots"] == pytest.approx(111_195 / 1852 / 10, rel=1e-3)
    assert a["on_utc"].startswith("2024-01-02T08:00:00")
    assert a["off_distance_from_shore_m"] > 50 * 1852 and not a["off_on_land"]
    assert a["is_closed"] and not a["is_multi_segment_gap"]


def test_likely_disabling_needs_duration_offshore_and_prior_positions():
    # 13 h, mid-ocean, a fix every 30 min before: all checkable GFW criteria hold.
    a = attrs(detect_gaps(segment(track_with_gap(*OCEAN, 13).frame(), CFG), CFG))
    assert a["likely_disabling"] is True
    assert a["disabling_criteria"] == {"min_duration": True, "offshore": True, "positions_before": True,
                                       "satellite_reception": None}
    assert a["positions_before"] == 24  # (OFF - 12 h, OFF]: the fix exactly 12 h before is outside
    # Too short.
    assert attrs(detect_gaps(segment(track_with_gap(*OCEAN, 8).frame(), CFG), CFG))["likely_disabling"] is False
    # Near the coast: terrestrial coverage artefacts are not "disabling".
    near = attrs(detect_gaps(segment(track_with_gap(*COASTAL, 13).frame(), CFG), CFG))
    assert near["likely_disabling"] is False and near["disabling_criteria"]["offshore"] is False
    # Sparse reception before the gap (one fix every 2 h): unreliable, unless the check is switched off.
    sparse = segment(track_with_gap(*OCEAN, 13, every_min=120).frame(), CFG)
    assert attrs(detect_gaps(sparse, CFG))["likely_disabling"] is False
    off = CFG.with_overrides({"events.gap_disabling_min_positions_before": 0})
    assert attrs(detect_gaps(sparse, off))["likely_disabling"] is True


def test_gap_across_the_antimeridian_is_measured_the_short_way():
    t = TrackBuilder(3, -10.0, 179.5, "2024-01-01T00:00:00").point(sog=5)
    t.silent(hours=7).point(-10.0, -179.5, sog=5)
    a = attrs(detect_gaps(segment(t.frame(), CFG), CFG))
    assert a["distance_m"] == pytest.approx(haversine_m(-10, 179.5, -10, -179.5), abs=0.1)
    assert a["distance_m"] < 120_000


def test_a_gap_is_about_the_transponder_so_it_spans_segments():
    # 30 h silence breaks the track into two segments; the gap is still one event, marked multi-segment.
    t = track_with_gap(*OCEAN, 30)
    seg = segment(t.frame(), CFG)
    assert seg.get_column("segment_id").n_unique() == 2
    events = detect_gaps(seg, CFG)
    assert events.height == 1
    a = attrs(events)
    assert a["is_multi_segment_gap"] is True and a["off_segment_id"] != a["on_segment_id"]


def test_shared_mmsi_gaps_only_when_both_transmitters_are_silent():
    a = TrackBuilder(4, *OCEAN, "2024-01-01T00:00:00", source_id="a").point().stay(hours=4).silent(hours=8).stay(hours=1)
    b = TrackBuilder(4, OCEAN[0] + 2, OCEAN[1], "2024-01-01T00:05:00", source_id="b").point().stay(hours=20)
    assert detect_gaps(segment(pl.concat([a.frame(), b.frame()]), CFG), CFG).height == 0
    assert detect_gaps(segment(a.frame(), CFG), CFG).height == 1


def test_one_point_no_points_and_out_of_order():
    one = TrackBuilder(5, *OCEAN, "2024-01-01T00:00:00").point().frame()
    assert detect_gaps(segment(one, CFG), CFG).height == 0
    assert detect_gaps(segment(one.clear(), CFG), CFG).schema == EVENTS.polars()
    frame = pl.concat([track_with_gap(*OCEAN, 7, mmsi=m).frame() for m in (6, 7)])
    ordered = detect_gaps(segment(frame, CFG), CFG)
    shuffled = detect_gaps(segment(frame.sample(fraction=1.0, shuffle=True, seed=3), CFG), CFG)
    assert ordered.height == 2 and shuffled.equals(ordered)


def test_open_gap_until_the_end_of_the_window_keeps_its_id_when_closed():
    t = TrackBuilder(8, *OCEAN, "2024-01-01T00:00:00").point().stay(hours=2)
    until = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
    open_ = detect_gaps(segment(t.frame(), CFG), CFG, until_utc=until)
    assert open_.height == 1 and open_.item(0, "end_utc") is None
    assert attrs(open_)["is_closed"] is False and attrs(open_)["duration_h"] == pytest.approx(10.0)
    # Not yet long enough: no open gap.
    assert detect_gaps(segment(t.frame(), CFG), CFG, until_utc=until - dt.timedelta(hours=5)).height == 0
    t.silent(hours=12).point()
    closed = detect_gaps(segment(t.frame(), CFG), CFG)
    assert closed.item(0, "event_id") == open_.item(0, "event_id")
    assert closed.item(0, "end_utc") is not None


def test_event_ids_depend_on_parameters():
    frame = segment(track_with_gap(*OCEAN, 7).frame(), CFG)
    base = detect_gaps(frame, CFG)
    assert detect_gaps(frame, CFG).equals(base)
    other = CFG.with_overrides({"events.gap_min_hours": 5})
    changed = detect_gaps(frame, other)
    assert changed.item(0, "params_id") == other.params_id != CFG.params_id
    assert changed.item(0, "event_id") != base.item(0, "event_id")


def test_detectors_share_one_verb():
    frame = segment(track_with_gap(*OCEAN, 7).frame(), CFG)
    no_ports = build_port_index(CFG, areas=[], include_wpi=False)
    for det in (GapDetector(CFG), PortVisitDetector(CFG, no_ports), SpoofingDetector(CFG, no_ports)):
        out = det.detect(frame)
        assert out.schema == EVENTS.polars() and set(out["event_type"]) <= {det.event_type}
