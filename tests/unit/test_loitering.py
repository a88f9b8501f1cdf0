"""Loitering events (GFW pipe-loitering hourly-bucket definition) on small hand-made tracks."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.loitering import detect_loitering
from sanctionwatch.schema import EVENTS
from sanctionwatch.tracks.segment import segment
from tests.builders import TrackBuilder, offset_deg

CFG = load_config()
OCEAN = (20.0, -40.0)  # mid-Atlantic, hundreds of nm from any coast
COASTAL = (51.05, 1.45)  # ~5 nm off Dover


def drift(lat: float, lon: float, hours: float, *, knots: float = 0.5, start: str = "2024-01-01T00:00:00",
          mmsi: int = 1) -> TrackBuilder:
    """A fix every 10 min (exact clock) drifting east at ``knots`` for ``hours``."""
    t = TrackBuilder(mmsi, lat, lon, start).point(sog=knots)
    for k in range(1, round(hours * 6) + 1):
        t.point(*offset_deg(lat, lon, east_m=knots * 1852.0 * k / 6), sog=knots, after_min=10)
    return t


def run(t: TrackBuilder, config=CFG) -> pl.DataFrame:
    return detect_loitering(segment(t.frame(), config), config)


def attrs(events: pl.DataFrame, i: int = 0) -> dict[str, object]:
    return json.loads(events.item(i, "attrs_json"))


def test_five_hours_drifting_offshore_is_one_event():
    t = drift(*OCEAN, 5.0)
    events = run(t)
    assert events.schema == EVENTS.polars() and events.height == 1
    row = events.row(0, named=True)
    a = attrs(events)
    assert row["event_type"] == "loitering" and row["mmsi"] == 1 and row["params_id"] == CFG.params_id
    assert row["start_utc"] == t.rows[0]["ts_utc"] and row["end_utc"] == t.rows[-1]["ts_utc"]
    assert a["hours"] == pytest.approx(5.0)
    assert a["avg_speed_knots"] == pytest.approx(0.5, rel=0.01)
    assert a["distance_m"] == pytest.approx(0.5 * 1852 * 5, rel=0.01)
    assert a["distance_from_shore_nm"] > 60
    assert [(e["source_id"], e["record_no"]) for e in row["evidence"]] == [
        ("test", t.rows[0]["record_no"]), ("test", t.rows[-1]["record_no"])]


def test_three_hours_is_too_short():
    assert run(drift(*OCEAN, 3.0)).height == 0


def test_fast_vessel_does_not_loiter():
    assert run(drift(*OCEAN, 6.0, knots=8.0)).height == 0


def test_near_shore_is_dropped_unless_filter_disabled():
    assert run(drift(*COASTAL, 5.0)).height == 0
    no_filter = CFG.with_overrides({"events.loitering_min_distance_from_shore_nm": 0.0})
    events = run(drift(*COASTAL, 5.0), no_filter)
    assert events.height == 1 and attrs(events)["distance_from_shore_nm"] < 20


def test_run_across_midnight_is_one_event():
    t = drift(*OCEAN, 5.0, start="2024-01-01T22:00:00")
    events = run(t)
    assert events.height == 1
    assert events.item(0, "start_utc") == dt.datetime(2024, 1, 1, 22, tzinfo=dt.UTC)
    assert events.item(0, "end_utc") == dt.datetime(2024, 1, 2, 3, tzinfo=dt.UTC)


def test_fast_transit_splits_runs_and_starts_after_it():
    lat, lon = OCEAN
    t = drift(lat, lon, 2.0)  # 2 h slow
    t.sail_to(*offset_deg(t.lat, t.lon, east_m=20_000), knots=12, every_min=10)  # ~54 min fast
    fast_end = t.rows[-1]
    t.sail_to(*offset_deg(t.lat, t.lon, east_m=0.5 * 1852 * 5), knots=0.5, every_min=10)  # 5 h slow
    events = run(t)
    assert events.height == 1
    assert events.item(0, "start_utc") >= fast_end["ts_utc"]
    assert attrs(events)["hours"] >= 4.0


def test_empty_input():
    t = TrackBuilder(1, *OCEAN, "2024-01-01T00:00:00")
    assert run(t).height == 0
