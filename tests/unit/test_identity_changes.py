"""Identity-change detector (events.identity) on hand-made IDENTITIES frames with known answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sanctionwatch.config import defaults
from sanctionwatch.events.identity import EVENT_TYPE, detect_identity_changes, normalise_name
from sanctionwatch.identifiers import flag_for_mmsi, imo_is_valid
from sanctionwatch.schema import EVENTS, IDENTITIES

IMO = 9074729  # valid check digit (identifiers.imo_is_valid docstring)
IMO2 = 9179842  # ANGARA's IMO, valid
BAD_IMO = 9074728  # wrong check digit


def t(day: int, hour: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2023, month, day, hour, tzinfo=dt.UTC)


def ident(mmsi: int, name: str | None, first: dt.datetime, last: dt.datetime, *, imo: int | None = IMO,
          call_sign: str | None = "UFVN2", n: int = 50, source: str = "src0", rec: int = 1) -> dict[str, Any]:
    return {
        "mmsi": mmsi, "imo": imo, "imo_valid": None if imo is None else imo_is_valid(imo), "name": name,
        "call_sign": call_sign, "ship_type": 70, "flag_iso2": flag_for_mmsi(mmsi),
        "first_seen_utc": first, "last_seen_utc": last, "n_reports": n, "source_id": source, "record_no": rec,
    }


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    schema = {k: v for k, v in IDENTITIES.polars().items() if k in rows[0]}
    return pl.DataFrame(list(rows), schema=schema)  # type: ignore[arg-type]


def detect(*rows: dict[str, Any]) -> pl.DataFrame:
    out = detect_identity_changes(frame(*rows), defaults())
    assert dict(out.schema) == EVENTS.polars()
    assert (out.get_column("event_type") == EVENT_TYPE).all()
    return out


def kinds(events: pl.DataFrame) -> list[str]:
    return sorted(json.loads(a)["kind"] for a in events.get_column("attrs_json"))


def attrs_of(events: pl.DataFrame, kind: str) -> list[dict[str, Any]]:
    return [a for a in (json.loads(s) for s in events.get_column("attrs_json")) if a["kind"] == kind]


RENAME = (
    ident(273318650, "SIM VOLNA", t(1), t(19, 12), source="a", rec=10),
    ident(273318650, "SIM VERA", t(20, 6), t(30), source="b", rec=3),
)


def test_rename_same_imo_is_one_name_event() -> None:
    ev = detect(*RENAME)
    assert kinds(ev) == ["name"]
    a = attrs_of(ev, "name")[0]
    assert (a["before"], a["after"], a["imo"]) == ("SIM VOLNA", "SIM VERA", IMO)
    assert a["before_last_seen_utc"].startswith("2023-11-19T12:00")
    assert a["after_first_seen_utc"].startswith("2023-11-20T06:00")
    row = ev.row(0, named=True)
    assert row["mmsi"] == 273318650 and row["start_utc"] == t(20, 6)
    assert row["evidence"] == [{"source_id": "a", "record_no": 10}, {"source_id": "b", "record_no": 3}]


def test_reflag_gives_mmsi_and_flag_events() -> None:
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(10)),
        ident(620999123, "SIM VOLNA", t(12), t(30), source="b"),
    )
    assert kinds(ev) == ["flag", "mmsi"]
    flag = attrs_of(ev, "flag")[0]
    assert (flag["before"], flag["after"]) == ("RU", "KM")
    mmsi = attrs_of(ev, "mmsi")[0]
    assert (mmsi["before"], mmsi["after"]) == (273318650, 620999123)
    assert set(ev.get_column("mmsi")) == {620999123}  # the MMSI broadcasting the new identity


def test_whitespace_punctuation_case_only_is_not_a_change() -> None:
    assert normalise_name(" sim-volna. ") == normalise_name("SIM  VOLNA") == "SIMVOLNA"
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(10), call_sign="UFVN2"),
        ident(273318650, "SIM  VOLNA.", t(11), t(20), call_sign="ufvn 2", source="b"),
        ident(273318650, "sim volna", t(21), t(30), source="c"),
    )
    assert ev.height == 0


def test_garbled_single_report_is_ignored() -> None:
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(10)),
        ident(273318650, "SIM VOLNQ", t(10, 5), t(10, 5), n=1, source="b"),
        ident(273318650, "SIM VOLNA", t(11), t(30), source="c"),
    )
    assert ev.height == 0


def test_one_mmsi_two_imos_overlapping_is_multiple_identities() -> None:
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(20), imo=IMO),
        ident(273318650, "OTHER SHIP", t(5), t(25), imo=IMO2, call_sign="XYZ1", source="b"),
    )
    assert kinds(ev) == ["mmsi_multiple_identities"]
    a = attrs_of(ev, "mmsi_multiple_identities")[0]
    assert a["field"] == "imo" and sorted(a["values"]) == sorted([IMO, IMO2])
    assert a["max_overlap_hours"] == pytest.approx(15 * 24)
    row = ev.row(0, named=True)
    assert row["start_utc"] == t(5) and row["end_utc"] == t(20)


def test_one_mmsi_two_names_overlapping_without_imo() -> None:
    ev = detect(
        ident(412000001, "HAI XING 1", t(1), t(20), imo=None),
        ident(412000001, "LU YU 88", t(3), t(10), imo=None, source="b"),
    )
    assert kinds(ev) == ["mmsi_multiple_identities"]
    assert attrs_of(ev, "mmsi_multiple_identities")[0]["field"] == "name"


def test_short_overlap_below_threshold_is_a_sequential_change() -> None:
    ev = detect(
        ident(412000001, "HAI XING 1", t(1), t(10, 0), imo=None),
        ident(412000001, "LU YU 88", t(9, 23), t(20), imo=None, source="b"),  # 1 h overlap ...
    )
    assert kinds(ev) == ["mmsi_multiple_identities"]  # ... reaches the 1 h default
    ev = detect(
        ident(412000001, "HAI XING 1", t(1), t(9), imo=None),
        ident(412000001, "LU YU 88", t(10), t(20), imo=None, source="b"),
    )
    assert kinds(ev) == ["name"]
    a = attrs_of(ev, "name")[0]
    assert a["imo"] is None and (a["before"], a["after"]) == ("HAI XING 1", "LU YU 88")


def test_one_imo_two_mmsis_at_once_is_imo_reuse_not_flip_flops() -> None:
    rows = []
    for day in range(1, 6):  # daily files, both ships transmit every day
        rows.append(ident(273318650, "SIM VOLNA", t(day), t(day, 23), source=f"d{day}"))
        rows.append(ident(620999123, "SIM VOLNA", t(day, 1), t(day, 22), source=f"d{day}", rec=2))
    ev = detect(*rows)
    assert kinds(ev) == ["imo_multiple_mmsi"]


def test_same_identity_in_two_files_gives_no_event() -> None:
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(10), source="a"),
        ident(273318650, "SIM VOLNA", t(5), t(15), source="b"),
        ident(273318650, "SIM VOLNA", t(15), t(25), source="c"),
    )
    assert ev.height == 0


def test_invalid_imo_is_not_grouped_by_imo() -> None:
    # Two MMSIs, same (invalid) IMO, different names: no IMO-based mmsi/flag/name change.
    ev = detect(
        ident(273318650, "SIM VOLNA", t(1), t(10), imo=BAD_IMO),
        ident(620999123, "SIM VERA", t(12), t(30), imo=BAD_IMO, source="b"),
    )
    assert ev.height == 0


def test_deterministic_event_ids_and_order_independent() -> None:
    rows = [*RENAME, ident(273318650, "OTHER", t(2), t(9), imo=IMO2, source="c")]
    a = detect(*rows)
    b = detect(*reversed(rows))
    assert a.height >= 2
    assert a.get_column("event_id").to_list() == b.get_column("event_id").to_list()
    assert a.equals(b)
    assert a.get_column("event_id").n_unique() == a.height


def test_settings_change_params_and_threshold() -> None:
    cfg = defaults().with_overrides({"events.identity_min_reports": 100})
    ev = detect_identity_changes(frame(*RENAME), cfg)  # 50 reports each side < 100: noise
    assert ev.height == 0


def test_empty_input() -> None:
    empty = pl.DataFrame(schema=IDENTITIES.polars())  # type: ignore[arg-type]
    assert detect_identity_changes(empty, defaults()).height == 0


@pytest.mark.slow
def test_demo_scenario_rename_is_found(tmp_path: Path) -> None:
    from sanctionwatch.demo.scenario import build_scenario
    from sanctionwatch.ingest.pipeline import ingest_file
    from sanctionwatch.store import Project

    manifest = build_scenario(tmp_path / "demo")
    project = Project.init(tmp_path / "proj")
    try:
        for path in manifest.nmea_paths:
            ingest_file(project, path)
        identities = project.query("SELECT * FROM identities")
    finally:
        project.close()
    ev = detect_identity_changes(identities, defaults())
    names = [(a["before"], a["after"]) for a in attrs_of(ev, "name")]
    assert ("SIM VOLNA", "SIM VERA") in names
    rename = ev.filter(pl.col("attrs_json").str.contains("SIM VERA"))
    assert rename.height == 1
    assert rename.row(0, named=True)["start_utc"].date() == dt.date(2023, 11, 20)
