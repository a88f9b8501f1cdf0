"""Voyages: observed (between port visits) and inferred (dark, from AIS gaps), and their counting."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.base import event_id, events_frame
from sanctionwatch.events.voyages import (
    BASIS_INFERRED,
    count_voyages,
    detect_voyages,
    infer_dark_voyages,
    inferred_confidence,
)
from sanctionwatch.geo import default_areas

CFG = load_config()
MMSI = 273210440
AREAS = default_areas()
POS = {a.area_id: (a.lat_deg, a.lon_deg) for a in AREAS}


def t(day: int, hour: float = 0.0) -> dt.datetime:
    return dt.datetime(2023, 9, 1, tzinfo=dt.UTC) + dt.timedelta(days=day - 1, hours=hour)


def visit(area_id: str, start: dt.datetime, end: dt.datetime | None, level: int = 4, rec: int = 0,
          mmsi: int = MMSI) -> dict[str, Any]:
    lat, lon = POS[area_id]
    return {
        "event_id": event_id("port_visit", mmsi, start, area_id, CFG.params_id),
        "event_type": "port_visit", "mmsi": mmsi, "segment_id": f"{mmsi}-1",
        "start_utc": start, "end_utc": end, "lat_deg": lat, "lon_deg": lon, "area_id": area_id,
        "confidence": level / 4, "basis": "ais",
        "attrs": {"confidence_level": level, "area_name": f"name of {area_id}"},
        "evidence": [("f.nmea", rec), ("f.nmea", rec + 1)], "params_id": CFG.params_id,
    }


def gap(off: tuple[float, float], on: tuple[float, float], start: dt.datetime, hours: float,
        rec: int = 100, mmsi: int = MMSI) -> dict[str, Any]:
    end = start + dt.timedelta(hours=hours)
    return {
        "event_id": event_id("ais_gap", mmsi, start, None, CFG.params_id),
        "event_type": "ais_gap", "mmsi": mmsi, "segment_id": f"{mmsi}-1",
        "start_utc": start, "end_utc": end, "lat_deg": off[0], "lon_deg": off[1], "basis": "ais",
        "attrs": {"duration_h": hours, "off_lat_deg": off[0], "off_lon_deg": off[1],
                  "on_lat_deg": on[0], "on_lon_deg": on[1], "is_closed": True},
        "evidence": [("f.nmea", rec), ("f.nmea", rec + 1)], "params_id": CFG.params_id,
    }


NEAR_VOSTOCHNY_OFF = (42.60, 132.85)  # ~23 km from Vostochny
NEAR_VOSTOCHNY_ON = (42.62, 132.95)  # ~16 km


def test_three_visits_give_two_voyages() -> None:
    visits = events_frame([
        visit("vostochny-port", t(1), t(2), rec=0),
        visit("rajin-port", t(3), t(4, 12), level=3, rec=10),
        visit("dunai-naval-pier", t(5, 6), t(6), rec=20),
    ])
    gaps = events_frame([gap(NEAR_VOSTOCHNY_OFF, (42.3, 130.5), t(2, 3), 15.0)])
    v = detect_voyages(visits, CFG, gaps=gaps).sort("start_utc")
    assert v.height == 2
    assert v.get_column("area_id").to_list() == ["vostochny-port", "rajin-port"]
    assert v.get_column("area2_id").to_list() == ["rajin-port", "dunai-naval-pier"]
    assert v.get_column("start_utc").to_list() == [t(2), t(4, 12)]
    assert v.get_column("end_utc").to_list() == [t(3), t(5, 6)]
    assert v.get_column("confidence").to_list() == pytest.approx([0.75, 0.75])
    assert set(v.get_column("basis")) == {"ais"}
    first = json.loads(v.get_column("attrs_json")[0])
    assert first["duration_h"] == pytest.approx(24.0)
    assert first["distance_m"] == pytest.approx(232_000, rel=0.05)
    assert first["max_gap_h"] == pytest.approx(15.0) and first["n_gaps"] == 1
    assert first["origin_name"] == "name of vostochny-port" and not first["same_port"]
    ev = v.get_column("evidence")[0].to_list()
    assert {(e["source_id"], e["record_no"]) for e in ev} == {("f.nmea", r) for r in (0, 1, 10, 11)}
    assert detect_voyages(visits, CFG).equals(detect_voyages(visits, CFG))  # deterministic


def test_same_port_kept_low_confidence_and_open_visits_dropped() -> None:
    visits = events_frame([
        visit("vostochny-port", t(1), t(2)),
        visit("vostochny-port", t(3), t(4)),
        visit("rajin-port", t(5), t(6), level=1),  # below the minimum confidence: ignored
        visit("dunai-naval-pier", t(7), None),  # open: arrival known, no departure
    ])
    v = detect_voyages(visits, CFG).sort("start_utc")
    assert v.get_column("area2_id").to_list() == ["vostochny-port", "dunai-naval-pier"]
    assert json.loads(v.get_column("attrs_json")[0])["same_port"] is True


def test_dark_round_trip_to_rajin_is_inferred() -> None:
    gaps = events_frame([gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(1), 60.0)])
    v = infer_dark_voyages(gaps, AREAS, CFG)
    assert v.height == 1
    row = v.row(0, named=True)
    assert (row["area_id"], row["area2_id"], row["basis"]) == ("vostochny-port", "rajin-port", BASIS_INFERRED)
    assert (row["start_utc"], row["end_utc"]) == (t(1), t(3, 12))
    attrs = json.loads(row["attrs_json"])
    # ~215 km each way at 15 kn (27.8 km/h) is ~7.7 h each way, plus 6 h alongside.
    assert attrs["required_hours"] == pytest.approx(2 * 215 / 27.78 + 6, rel=0.1)
    assert attrs["available_hours"] == pytest.approx(60.0)
    assert attrs["slack_hours"] == pytest.approx(60.0 - attrs["required_hours"])
    assert attrs["candidates"][0]["area_id"] == "rajin-port"
    assert 0.3 <= row["confidence"] <= 0.7
    assert {(e["source_id"], e["record_no"]) for e in row["evidence"]} == {("f.nmea", 100), ("f.nmea", 101)}


def test_short_gap_far_reappearance_and_dark_stay_give_nothing() -> None:
    short = gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(1), 10.0)
    far = gap(NEAR_VOSTOCHNY_OFF, (35.0, 129.0), t(5), 60.0, rec=200)  # ~1,000 km away (Busan area)
    stay = gap((42.23, 130.32), (42.25, 130.33), t(9), 60.0, rec=300)  # both ends at Rajin
    out = infer_dark_voyages(events_frame([short, far, stay]), AREAS, CFG)
    assert out.height == 0


def test_gap_switched_off_just_off_rajin_has_the_other_end_as_origin() -> None:
    g = gap((42.27, 130.33), (42.80, 132.25), t(1), 50.0)  # off 3 km from Rajin, on near Dunai
    out = infer_dark_voyages(events_frame([g]), AREAS, CFG)
    assert out.get_column("area_id").to_list() == ["dunai-naval-pier"]
    assert out.get_column("area2_id").to_list() == ["rajin-port"]


def test_confidence_falls_with_slack() -> None:
    assert inferred_confidence(0.0, 48.0) == pytest.approx(0.7)
    assert inferred_confidence(24.0, 48.0) == pytest.approx(0.5)
    assert inferred_confidence(500.0, 48.0) == pytest.approx(0.3)
    tight = infer_dark_voyages(events_frame([gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(1), 25.0)]), AREAS, CFG)
    loose = infer_dark_voyages(events_frame([gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(1), 90.0)]), AREAS, CFG)
    assert tight.get_column("confidence")[0] > loose.get_column("confidence")[0]


def test_count_voyages_round_trips_groups_and_since() -> None:
    visits = events_frame([
        visit("vostochny-port", t(1), t(2), rec=0),
        visit("rajin-port", t(3), t(4), rec=10),  # observed round trip: 2 legs, 1 delivery
        visit("vostochny-port", t(5), t(6), rec=20),
        visit("vladivostok-port", t(20), t(21), rec=30),
    ])
    observed = detect_voyages(visits, CFG)
    inferred = infer_dark_voyages(events_frame([
        gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(8), 60.0, rec=100),  # dark delivery 1
        gap(NEAR_VOSTOCHNY_OFF, NEAR_VOSTOCHNY_ON, t(14), 60.0, rec=200),  # dark delivery 2
        gap((42.35, 130.45), (42.30, 130.40), t(3, 2), 20.0, rec=300),  # inside the observed legs
    ]), AREAS, CFG)
    allv = pl.concat([observed, inferred])
    got = count_voyages(allv, "russia_far_east_ports", "dprk_ports")
    assert got.height == 3
    assert got.get_column("basis").to_list() == ["ais", BASIS_INFERRED, BASIS_INFERRED]
    assert got.get_column("return_event_id")[0] is not None
    assert count_voyages(allv, "russia_far_east_ports", "dprk_ports", since=t(10)).height == 1
    assert count_voyages(allv, "dprk_ports", "vostochny-port").height == 3  # either direction
    assert count_voyages(allv, "dunai-naval-pier", "rajin-port").height == 0
    with pytest.raises(ValueError, match="neither"):
        count_voyages(allv, "atlantis", "dprk_ports")


@pytest.mark.slow
def test_demo_reconstructs_angara_rajin_deliveries(tmp_path: Path) -> None:
    from sanctionwatch.demo.scenario import build_scenario
    from sanctionwatch.events.gaps import detect_gaps
    from sanctionwatch.events.port_visits import detect_port_visits
    from sanctionwatch.ingest.nmea import NmeaReader
    from sanctionwatch.tracks.segment import segment

    manifest = build_scenario(tmp_path)
    positions = _read_positions(NmeaReader, manifest.nmea_paths)
    seg = segment(positions.filter(pl.col("mmsi") == MMSI), CFG)
    gaps = detect_gaps(seg, CFG)
    visits = detect_port_visits(seg, CFG)
    voyages = pl.concat([detect_voyages(visits, CFG, gaps=gaps), infer_dark_voyages(gaps, AREAS, CFG)])
    since, until = dt.datetime(2023, 8, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 10, tzinfo=dt.UTC)
    got = count_voyages(voyages, "russia_far_east_ports", "dprk_ports", since, until=until, mmsi=MMSI)
    truth = [d for d in manifest.truth["rajin_deliveries"] if d["mmsi"] == MMSI]
    assert got.height >= 11
    assert got.height <= len(truth)
    spans = list(zip(got.get_column("start_utc"), got.get_column("end_utc"), strict=True))
    for d in truth:  # every counted voyage is a real delivery: a Rajin arrival lies inside it
        arrive = dt.datetime.fromisoformat(d["arrive_rajin_utc"].replace("Z", "+00:00"))
        assert sum(a <= arrive <= b for a, b in spans) <= 1
    hits = sum(any(a <= dt.datetime.fromisoformat(d["arrive_rajin_utc"].replace("Z", "+00:00")) <= b
                   for a, b in spans) for d in truth)
    assert hits == got.height


def _read_positions(reader_cls: Any, paths: Any) -> pl.DataFrame:
    from sanctionwatch.ingest.base import RawChunk
    from sanctionwatch.ingest.validate import validate_positions

    frames = []
    for path in paths:
        raw = RawChunk.combine(reader_cls().read(path, CFG, {})).positions
        if "mmsi" in raw.columns:
            raw = raw.filter(pl.col("mmsi") == MMSI)
        good, _ = validate_positions(raw, CFG, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        frames.append(good)
    return pl.concat(frames, how="diagonal_relaxed")
