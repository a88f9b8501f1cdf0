"""Ship-to-ship encounters (GFW pipe-encounters definition) on small hand-made tracks."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.encounters import detect_encounters, h3_resolution_for, resample
from sanctionwatch.events.ports import build_port_index, wpi_ports
from sanctionwatch.schema import EVENTS
from sanctionwatch.tracks.segment import segment
from tests.builders import TrackBuilder, offset_deg

CFG = load_config()
OCEAN = (20.0, -40.0)  # mid-Atlantic, far from any port
T0 = "2024-01-01T00:00:00"
UTC = dt.UTC


def ship(mmsi: int, lat: float, lon: float, hours: float, *, knots: float = 1.0, start: str = T0,
         every_min: float = 10.0, north_m: float = 0.0, record_no0: int = 1) -> TrackBuilder:
    """A fix every ``every_min`` (exact clock), heading east at ``knots``, ``north_m`` off (lat, lon)."""
    lat0, lon0 = offset_deg(lat, lon, north_m=north_m)
    t = TrackBuilder(mmsi, lat0, lon0, start, record_no0=record_no0).point(sog=knots)
    n = round(hours * 60 / every_min)
    for k in range(1, n + 1):
        t.point(*offset_deg(lat0, lon0, east_m=knots * 1852.0 * hours * k / n), sog=knots, after_min=every_min)
    return t


def run(*tracks: TrackBuilder, config=CFG, ports=None) -> pl.DataFrame:
    frame = pl.concat([t.frame() for t in tracks])
    return detect_encounters(segment(frame, config), config, ports=ports)


def attrs(events: pl.DataFrame, i: int = 0) -> dict[str, object]:
    return json.loads(events.item(i, "attrs_json"))


def test_side_by_side_three_hours_is_one_encounter():
    a = ship(2, *OCEAN, 3.0)
    b = ship(1, *OCEAN, 3.0, north_m=300, record_no0=1001)
    events = run(a, b)
    assert events.schema == EVENTS.polars() and events.height == 1
    row = events.row(0, named=True)
    assert row["event_type"] == "encounter" and (row["mmsi"], row["other_mmsi"]) == (1, 2)
    assert row["start_utc"] == dt.datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert row["end_utc"] == dt.datetime(2024, 1, 1, 3, tzinfo=UTC)
    x = attrs(events)
    assert x["duration_h"] == pytest.approx(3.0) and x["runs"] == 1 and x["buckets"] == 19
    assert x["median_distance_m"] == pytest.approx(300, abs=2)
    assert x["median_speed_knots"] == pytest.approx(1.0, rel=0.02)
    assert x["distance_from_port_km"] > 100
    # evidence: vessel 1 (smaller MMSI) and 2 at the start, then at the end
    assert [e["record_no"] for e in row["evidence"]] == [1001, 1, 1019, 19]
    assert row["lat_deg"] == pytest.approx(OCEAN[0] + 150 / 111_195, abs=1e-4)


def test_two_km_apart_is_no_encounter():
    assert run(ship(1, *OCEAN, 3.0), ship(2, *OCEAN, 3.0, north_m=2000)).height == 0


def test_just_inside_and_outside_distance():
    assert run(ship(1, *OCEAN, 3.0), ship(2, *OCEAN, 3.0, north_m=490)).height == 1
    assert run(ship(1, *OCEAN, 3.0), ship(2, *OCEAN, 3.0, north_m=510)).height == 0


def test_one_and_a_half_hours_is_too_short():
    assert run(ship(1, *OCEAN, 1.5), ship(2, *OCEAN, 1.5, north_m=300)).height == 0


def test_fast_pair_is_no_encounter():
    assert run(ship(1, *OCEAN, 3.0, knots=8), ship(2, *OCEAN, 3.0, knots=8, north_m=300)).height == 0


def test_near_a_port_is_dropped():
    port = wpi_ports().row(0, named=True)
    lat, lon = offset_deg(port["lat_deg"], port["lon_deg"], north_m=5000)
    ports = build_port_index(CFG, areas=[], include_wpi=True)
    assert run(ship(1, lat, lon, 3.0), ship(2, lat, lon, 3.0, north_m=300), ports=ports).height == 0
    lat, lon = offset_deg(port["lat_deg"], port["lon_deg"], north_m=30_000)
    # 30 km north might still be near another WPI port; use this one port only
    one = build_port_index(CFG, areas=[], include_wpi=False)
    assert run(ship(1, lat, lon, 3.0), ship(2, lat, lon, 3.0, north_m=300), ports=one).height == 1


def test_two_runs_two_hours_apart_are_merged():
    a = ship(1, *OCEAN, 7.0)
    b1 = ship(2, *OCEAN, 2.5, north_m=300)  # together 00:00-02:30, 3 km away 02:40-04:30, together 04:40-07:00
    # a heads east at 1 kn: start each leg of vessel 2 where a is then
    lat, lon = offset_deg(*OCEAN, east_m=1852.0 * 4 + 1852.0 * 40 / 60)
    b2 = ship(2, lat, lon, 2.33, north_m=300, start="2024-01-01T04:40:00", record_no0=900)
    lat, lon = offset_deg(*OCEAN, east_m=1852.0 * 2 + 1852.0 * 40 / 60)
    b_away = ship(2, lat, lon, 1.83, north_m=3000, start="2024-01-01T02:40:00", record_no0=500)
    events = run(a, b1, b_away, b2)
    assert events.height == 1
    x = attrs(events)
    assert x["runs"] == 2 and x["contact_h"] == pytest.approx(2.5 + 2.33, abs=0.2)
    assert events.item(0, "start_utc") == dt.datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert events.item(0, "end_utc") == dt.datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
    no_merge = CFG.with_overrides({"events.encounter_merge_gap_hours": 1.0})
    assert run(a, b1, b_away, b2, config=no_merge).height == 2


def test_three_ships_together_give_three_pairs():
    events = run(ship(1, *OCEAN, 3.0), ship(2, *OCEAN, 3.0, north_m=200), ship(3, *OCEAN, 3.0, north_m=400))
    assert sorted(zip(events["mmsi"], events["other_mmsi"], strict=True)) == [(1, 2), (1, 3), (2, 3)]
    assert events["event_id"].n_unique() == 3


def test_encounter_across_midnight():
    events = run(ship(1, *OCEAN, 3.0, start="2024-01-01T23:00:00"),
                 ship(2, *OCEAN, 3.0, north_m=300, start="2024-01-01T23:00:00"))
    assert events.height == 1
    assert events.item(0, "start_utc") == dt.datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert events.item(0, "end_utc") == dt.datetime(2024, 1, 2, 2, tzinfo=UTC)


def test_gap_of_an_hour_or_more_is_not_interpolated():
    # vessel 2 reports at 00:00..01:30 and again 02:40..04:10 (70 min silent): two 1.5 h runs, no event
    a = ship(1, *OCEAN, 4.2)
    lat, lon = offset_deg(*OCEAN, east_m=1852.0 * 160 / 60)
    b = [ship(2, *OCEAN, 1.5, north_m=300), ship(2, lat, lon, 1.5, north_m=300, start="2024-01-01T02:40:00",
                                                  record_no0=100)]
    assert run(a, *b).height == 0
    # with a 40 min hole the grid is interpolated through it: one event 00:00-04:10
    lat, lon = offset_deg(*OCEAN, east_m=1852.0 * 130 / 60)
    b = [ship(2, *OCEAN, 1.5, north_m=300), ship(2, lat, lon, 2.0, north_m=300, start="2024-01-01T02:10:00",
                                                  record_no0=100)]
    events = run(a, *b)
    assert events.height == 1 and attrs(events)["runs"] == 1


def test_resample_grid_is_aligned_and_skips_long_gaps():
    t = TrackBuilder(1, *OCEAN, "2024-01-01T00:03:00").point().point(after_min=20).point(after_min=75)
    pts = resample(segment(t.frame(), CFG), 600_000_000, 3_600_000_000)
    times = [dt.datetime.fromtimestamp(u / 1e6, UTC).strftime("%H:%M") for u in pts["t_us"]]
    assert times == ["00:10", "00:20"]  # 00:23 -> 01:38 is a 75 min gap: no points in it


def test_antimeridian_pair():
    lat, lon = 0.0, 179.995
    events = run(ship(1, lat, lon, 3.0), ship(2, lat, lon, 3.0, north_m=300))
    assert events.height == 1
    x = attrs(events)
    assert x["median_distance_m"] == pytest.approx(300, abs=2) and x["duration_h"] == pytest.approx(3.0)
    assert abs(events.item(0, "lon_deg")) > 179.9


def test_h3_resolution_covers_the_contact_distance():
    assert h3_resolution_for(500.0) == 7
    assert h3_resolution_for(5000.0) < 7


def test_empty_input():
    assert run(TrackBuilder(1, *OCEAN, T0)).height == 0
