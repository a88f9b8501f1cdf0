"""Port visits: GFW's state machine with hysteresis, visit assembly and confidence, on hand-made tracks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
import pytest
import shapely

from sanctionwatch.config import Config, load_config
from sanctionwatch.events.port_visits import (
    PortEventType,
    confidence_level,
    detect_port_visits,
    run_port_visits,
)
from sanctionwatch.events.ports import ZONE_BAND, ZONE_IN, ZONE_OUT, PortIndex, build_port_index
from sanctionwatch.geo import Area, haversine_m
from sanctionwatch.schema import EVENTS
from sanctionwatch.tracks.segment import segment
from tests.builders import TrackBuilder, offset_deg

CFG = load_config()
ALL_LEVELS = CFG.with_overrides({"events.port_visit_min_confidence": 1})
P = (5.0, 110.0)  # a port point with no radius of its own: the GFW 3 km / 4 km distances apply
PORT = Area("port-p", "Port P", "Point", *P)
PORTS = build_port_index(CFG, areas=[PORT], include_wpi=False)


def visits(frame: pl.DataFrame, cfg: Config = ALL_LEVELS, ports: PortIndex = PORTS, **kw: Any) -> pl.DataFrame:
    return detect_port_visits(segment(frame, cfg), cfg, ports, **kw)


def attrs(events: pl.DataFrame, i: int = 0) -> dict:
    return json.loads(events.item(i, "attrs_json"))


def event_types(events: pl.DataFrame, i: int = 0) -> list[str]:
    return [e[0] for e in attrs(events, i)["events"]]


def at(north_m: float, east_m: float = 0.0, origin: tuple[float, float] = P) -> tuple[float, float]:
    return offset_deg(*origin, north_m=north_m, east_m=east_m)


def full_visit(mmsi: int = 1, start: str = "2024-01-01T00:00:00", stop_hours: float = 10.0,
               gap_hours: float = 0.0) -> TrackBuilder:
    """Arrive from 20 km north at 10 kn, stop 500 m from the port (with an optional silence in the
    middle of the stop), leave 20 km south."""
    t = TrackBuilder(mmsi, *at(20_000), start).point(sog=10, cog=180)
    t.sail_to(*at(500), knots=10, every_min=5)
    t.stay(hours=stop_hours / 2, every_min=10, sog=0.0)
    if gap_hours:
        t.silent(hours=gap_hours)
    t.stay(hours=stop_hours / 2, every_min=10, sog=0.0)
    return t.sail_to(*at(-20_000), knots=10, every_min=5)


def first_row_within(frame: pl.DataFrame, metres: float, after: int = 0) -> dict:
    d = haversine_m(frame["lat_deg"].to_numpy(), frame["lon_deg"].to_numpy(), *P)
    return next(r for i, r in enumerate(frame.iter_rows(named=True)) if i >= after and d[i] <= metres)


def test_full_visit_is_confidence_4_with_entry_stop_exit_evidence():
    frame = full_visit().frame()
    events = visits(frame)
    assert events.height == 1 and events.schema == EVENTS.polars()
    row, a = events.row(0, named=True), attrs(events)
    assert event_types(events) == ["PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_EXIT"]
    assert a["confidence_level"] == 4 and row["confidence"] == 1.0
    assert row["area_id"] == "port-p" and (row["lat_deg"], row["lon_deg"]) == P
    entry = first_row_within(frame, 3000)
    stop = frame.filter(pl.col("sog_knots") == 0).row(0, named=True)
    leave = frame.with_row_index("i").filter((pl.col("i") > stop["record_no"]) & (pl.col("sog_knots") > 0))
    exit_ = next(r for r in leave.iter_rows(named=True) if haversine_m(r["lat_deg"], r["lon_deg"], *P) >= 4000)
    assert [e["record_no"] for e in row["evidence"]] == [entry["record_no"], exit_["record_no"], stop["record_no"]]
    assert row["start_utc"] == entry["ts_utc"] and row["end_utc"] == exit_["ts_utc"]
    assert a["n_stops"] == 1 and a["stopped_hours"] == pytest.approx(10.0, abs=0.2) and a["is_closed"]
    assert row["event_type"] == "port_visit" and row["basis"] == "ais" and row["params_id"] == ALL_LEVELS.params_id


def test_passing_by_is_confidence_1_and_dropped_by_default():
    t = TrackBuilder(2, *at(20_000, 2000), "2024-01-01T00:00:00").point(sog=10)
    t.sail_to(*at(-20_000, 2000), knots=10, every_min=5)  # 2 km off the port, never slowing
    events = visits(t.frame())
    assert event_types(events) == ["PORT_ENTRY", "PORT_EXIT"] and attrs(events)["confidence_level"] == 1
    assert events.item(0, "confidence") == 0.25
    assert visits(t.frame(), cfg=CFG).height == 0  # GFW's published visits keep confidence >= 2


def test_confidence_2_and_3_from_segments_that_begin_or_end_in_port():
    # Begins in port (no entry), stops, data ends in port: stop only -> 2.
    t = TrackBuilder(3, *at(1000), "2024-01-01T00:00:00").point(sog=3).stay(hours=1, sog=3).stay(hours=5, sog=0)
    events = visits(t.frame())
    assert attrs(events)["confidence_level"] == 2 and not attrs(events)["is_closed"]
    # ... and leaves: stop + exit -> 3.
    t.sail_to(*at(-20_000), knots=10)
    assert attrs(visits(t.frame()))["confidence_level"] == 3
    # Arrives and stops, data ends: entry + stop -> 3.
    u = TrackBuilder(4, *at(20_000), "2024-01-01T00:00:00").point(sog=10).sail_to(*at(500), knots=10)
    u.stay(hours=5, sog=0)
    assert attrs(visits(u.frame()))["confidence_level"] == 3
    # Begins in port moving slowly (never stopped) with an in-port gap: gap only -> 2.
    g = TrackBuilder(5, *at(1000), "2024-01-01T00:00:00").point(sog=1).stay(hours=2, sog=1).silent(hours=6)
    g.stay(hours=2, sog=1)
    ev = visits(g.frame())
    assert event_types(ev) == ["PORT_GAP_BEGIN", "PORT_GAP_END"] and attrs(ev)["confidence_level"] == 2


@pytest.mark.parametrize(
    ("types", "level"),
    [
        ({"PORT_ENTRY", "PORT_EXIT", "PORT_STOP_BEGIN"}, 4),
        ({"PORT_ENTRY", "PORT_EXIT", "PORT_GAP_END"}, 4),
        ({"PORT_ENTRY", "PORT_STOP_END"}, 3),
        ({"PORT_EXIT", "PORT_GAP_BEGIN"}, 3),
        ({"PORT_STOP_BEGIN"}, 2),
        ({"PORT_GAP_BEGIN", "PORT_GAP_END"}, 2),
        ({"PORT_ENTRY", "PORT_EXIT"}, 1),
        ({"PORT_EXIT"}, 1),
    ],
)
def test_confidence_levels_exactly_as_gfw(types, level):
    assert confidence_level({PortEventType(t) for t in types}) == level


def test_confidence_needs_some_event():
    with pytest.raises(ValueError, match="without port events"):
        confidence_level(set())


def test_a_gap_inside_the_port_keeps_one_visit():
    frame = full_visit(gap_hours=8).frame()
    events = visits(frame)
    assert events.height == 1
    types = event_types(events)
    assert types == ["PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_GAP_BEGIN", "PORT_GAP_END", "PORT_STOP_END", "PORT_EXIT"]
    a = attrs(events)
    assert a["n_gaps"] == 1 and a["confidence_level"] == 4
    # GAP_BEGIN is stamped 4 h after the last message before the silence (GFW _yield_gap_beg).
    begin, end = (dt.datetime.fromisoformat(e[1]) for e in a["events"][2:4])
    ts = frame["ts_utc"].to_list()
    k = next(i for i in range(1, len(ts)) if ts[i] - ts[i - 1] > dt.timedelta(hours=4))
    assert begin == ts[k - 1] + dt.timedelta(hours=4) and end == ts[k]


def test_a_gap_long_enough_to_split_the_track_still_keeps_one_visit():
    frame = full_visit(gap_hours=30).frame()
    seg = segment(frame, ALL_LEVELS)
    assert seg["segment_id"].n_unique() == 2
    events = detect_port_visits(seg, ALL_LEVELS, PORTS)
    assert events.height == 1
    a = attrs(events)
    assert len(a["segment_ids"]) == 2 and a["n_gaps"] == 1 and a["confidence_level"] == 4
    assert event_types(events).count("PORT_ENTRY") == 1 and event_types(events).count("PORT_EXIT") == 1


def test_hysteresis_a_vessel_hovering_between_3_and_4_km_does_not_flap():
    t = TrackBuilder(6, *at(20_000), "2024-01-01T00:00:00").point(sog=8).sail_to(*at(2000), knots=8)
    for k in range(12):  # wander between 3.2 and 3.8 km, twice dipping back to 2 km
        t.point(*at(3200 + 600 * (k % 2)), sog=3, after_min=10)
        if k in (4, 8):
            t.point(*at(2000), sog=3, after_min=10)
    t.sail_to(*at(20_000), knots=8)
    events = visits(t.frame())
    assert event_types(events) == ["PORT_ENTRY", "PORT_EXIT"]
    # Without hysteresis (exit = entry) the same track flaps: three visits.
    no_band = ALL_LEVELS.with_overrides({"events.port_exit_distance_km": 3.0})
    flappy = visits(t.frame(), cfg=no_band, ports=build_port_index(no_band, areas=[PORT], include_wpi=False))
    assert flappy.height == 3


def test_hovering_outside_the_entry_distance_never_enters():
    t = TrackBuilder(7, *at(20_000), "2024-01-01T00:00:00").point(sog=8).sail_to(*at(3500), knots=8)
    t.stay(hours=10, sog=0).sail_to(*at(20_000), knots=8)
    assert visits(t.frame()).height == 0


def test_stop_hysteresis_between_0_2_and_0_5_knots():
    t = TrackBuilder(8, *at(20_000), "2024-01-01T00:00:00").point(sog=10).sail_to(*at(500), knots=10)
    for sog in (0.1, 0.3, 0.4, 0.45, 0.6, 0.3, 0.25, 0.1, 0.4):
        t.point(sog=sog, after_min=30)
    t.sail_to(*at(20_000), knots=10)
    a = attrs(visits(t.frame()))
    assert [e[0] for e in a["events"]] == [
        "PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_EXIT"]
    assert a["n_stops"] == 2


def test_missing_sog_falls_back_to_implied_speed():
    frame = full_visit().frame().with_columns(pl.lit(None, dtype=pl.Float32).alias("sog_knots"))
    events = visits(frame)
    assert event_types(events) == ["PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_EXIT"]


def test_an_area_radius_overrides_the_entry_distance_with_exit_four_thirds():
    big = Area("big", "Big anchorage", "Point", *P, radius_m=5000.0)
    ports = build_port_index(CFG, areas=[big], include_wpi=False)
    t = TrackBuilder(9, *at(20_000), "2024-01-01T00:00:00").point(sog=10).sail_to(*at(4500), knots=10)
    t.stay(hours=6, sog=0)
    t.sail_to(*at(6300), knots=2).stay(hours=2, sog=2)  # 6.3 km < 6.67 km: still in port
    assert event_types(visits(t.frame(), ports=ports))[-1] == "PORT_STOP_END"
    t.sail_to(*at(7000), knots=2)
    assert event_types(visits(t.frame(), ports=ports)) == [
        "PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_EXIT"]
    lats, lons = zip(at(4900), at(6000), at(6800), strict=True)
    hits = ports.classify(np.array(lats), np.array(lons))
    assert hits.zone.tolist() == [ZONE_IN, ZONE_BAND, ZONE_OUT]


def test_polygon_area_entered_at_its_edge_and_left_1_km_outside():
    lat0, lon0 = 30.0, -40.0
    square = shapely.box(lon0 - 0.05, lat0 - 0.05, lon0 + 0.05, lat0 + 0.05)
    area = Area("box", "Box anchorage", "Polygon", lat0, lon0, polygon=square)
    ports = build_port_index(CFG, areas=[area], include_wpi=False)
    edge = lat0 + 0.05
    t = TrackBuilder(10, edge + 0.1, lon0, "2024-01-01T00:00:00").point(sog=8)
    t.sail_to(edge - 0.01, lon0, knots=8).stay(hours=5, sog=0)
    t.sail_to(*offset_deg(edge, lon0, north_m=600), knots=4).stay(hours=1, sog=4)  # in the 1 km band
    t.sail_to(edge - 0.01, lon0, knots=4).stay(hours=2, sog=0)
    t.sail_to(edge + 0.1, lon0, knots=8)
    events = visits(t.frame(), ports=ports)
    assert events.height == 1 and events.item(0, "area_id") == "box"
    assert event_types(events) == ["PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_STOP_END", "PORT_STOP_BEGIN",
                                   "PORT_STOP_END", "PORT_EXIT"]


def test_visit_area_is_the_port_of_the_first_stop():
    a_pt, b_pt = at(1500), at(-1500)  # two ports 3 km apart; the vessel enters near A, stops at B
    ports = build_port_index(CFG, areas=[Area("a", "A", "Point", *a_pt), Area("b", "B", "Point", *b_pt)],
                             include_wpi=False)
    t = TrackBuilder(11, *at(20_000), "2024-01-01T00:00:00").point(sog=10).sail_to(*b_pt, knots=10)
    t.stay(hours=5, sog=0).sail_to(*at(-20_000), knots=10)
    events = visits(t.frame(), ports=ports)
    assert events.height == 1 and events.item(0, "area_id") == "b" and attrs(events)["start_area_id"] == "a"


def test_watched_area_beats_the_gazetteer_and_wpi_ports_are_found():
    ports = build_port_index(CFG)  # packaged watched areas + 3,803 WPI ports
    rajin = (42.245, 130.3)  # the Rajin watched area; WPI Najin is 1.3 km away
    port_said = (31.266667, 32.3)  # WPI Bur Sa'id (wpi-45140), no watched area
    for origin, expected, source in ((rajin, "rajin-port", "area"), (port_said, "wpi-45140", "wpi")):
        t = TrackBuilder(12, *offset_deg(*origin, north_m=20_000), "2024-01-01T00:00:00").point(sog=10)
        t.sail_to(*origin, knots=10).stay(hours=5, sog=0).sail_to(*offset_deg(*origin, north_m=20_000), knots=10)
        events = visits(t.frame(), cfg=CFG, ports=ports)
        assert events.height == 1 and events.item(0, "area_id") == expected
        assert attrs(events)["area_source"] == source and attrs(events)["confidence_level"] == 4


def test_port_on_the_antimeridian():
    port = Area("dateline", "Dateline port", "Point", -17.0, 179.99)
    ports = build_port_index(CFG, areas=[port], include_wpi=False)
    t = TrackBuilder(13, -17.0, -179.7, "2024-01-01T00:00:00").point(sog=10)
    t.sail_to(-17.0, -179.995, knots=10).stay(hours=4, sog=0).sail_to(-17.0, -179.7, knots=10)
    events = visits(t.frame(), ports=ports)
    assert events.height == 1 and attrs(events)["confidence_level"] == 4


def test_a_visit_across_midnight_is_one_visit():
    events = visits(full_visit(start="2024-01-01T20:00:00", stop_hours=8).frame())
    assert events.height == 1
    assert events.item(0, "start_utc").day == 1 and events.item(0, "end_utc").day == 2


def test_out_of_order_input_and_determinism():
    frame = pl.concat([full_visit(mmsi=m).frame() for m in (20, 21)])
    ordered = visits(frame)
    assert ordered.height == 2 and ordered["event_id"].n_unique() == 2
    assert visits(frame.sample(fraction=1.0, shuffle=True, seed=5)).equals(ordered)


def test_one_point_and_empty_input():
    one = TrackBuilder(22, *P, "2024-01-01T00:00:00").point(sog=0).frame()
    assert visits(one).height == 0
    assert visits(one.clear()).schema == EVENTS.polars()


def test_open_visit_gets_a_gap_at_the_end_of_the_window():
    t = TrackBuilder(23, *at(20_000), "2024-01-01T00:00:00").point(sog=10).sail_to(*at(500), knots=10)
    t.stay(hours=2, sog=0)
    last = t.t
    events = visits(t.frame(), until_utc=last + dt.timedelta(hours=10))
    assert event_types(events) == ["PORT_ENTRY", "PORT_STOP_BEGIN", "PORT_GAP_BEGIN"]
    assert events.item(0, "end_utc") == last + dt.timedelta(hours=4)
    assert attrs(events)["is_closed"] is False


def test_a_later_batch_continues_the_visit_with_the_same_event_id():
    seg = segment(full_visit(gap_hours=6).frame(), ALL_LEVELS)
    whole = detect_port_visits(seg, ALL_LEVELS, PORTS)
    mid = seg["ts_utc"][seg.height // 2]
    first, states = run_port_visits(seg.filter(pl.col("ts_utc") < mid), ALL_LEVELS, PORTS)
    assert first.height == 1 and attrs(first)["is_closed"] is False
    assert first.item(0, "event_id") == whole.item(0, "event_id")
    second, states2 = run_port_visits(seg.filter(pl.col("ts_utc") >= mid), ALL_LEVELS, PORTS, states=states)
    assert second.equals(whole)
    assert all(s.state == "AT_SEA" and not s.visit for s in states2.values())


def test_exit_below_entry_is_rejected():
    bad = CFG.with_overrides({"events.port_exit_distance_km": 2.0})
    with pytest.raises(ValueError, match="hysteresis"):
        build_port_index(bad, areas=[PORT], include_wpi=False)
    bad_speed = CFG.with_overrides({"events.port_stop_end_speed_knots": 0.1})
    with pytest.raises(ValueError, match="hysteresis"):
        detect_port_visits(segment(full_visit().frame(), CFG), bad_speed, PORTS)
