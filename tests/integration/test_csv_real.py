"""The tabular readers on real AIS files, checked against the files read independently.

Every expected value comes from reading the same file with Python's :mod:`csv` module (or is a
count verified that way and written down). The Solent file is redistributable and lives in
``tests/data/ais``; the others are read from ``../shared/data/ais`` (see
``tests/data/ais/ATTRIBUTION.md``) and skip when that is absent.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.ingest.base import RawChunk
from sanctionwatch.ingest.csv_formats import NoaaCsvReader
from sanctionwatch.ingest.mapping import MappedReader
from sanctionwatch.ingest.validate import collapse_identities, validate_identities, validate_positions
from tests.conftest import TEST_DATA, shared_file

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 1, tzinfo=UTC)  # "ingest time" for the validator
MAPPINGS = resources.files("sanctionwatch.data").joinpath("mappings")
NOAA_IDENTITY_COLUMNS = ("VesselName", "IMO", "CallSign", "VesselType", "Length", "Width", "Draft")


def mapping(name: str) -> MappedReader:
    return MappedReader.from_file(Path(str(MAPPINGS.joinpath(name))))


def read_all(reader: Any, path: Path) -> RawChunk:
    return RawChunk.combine(reader.read(path, load_config(), {}))


def csv_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def opt_int(text: str) -> int | None:
    return int(float(text)) if text.strip() else None


def noaa_expected(r: dict[str, str]) -> dict[str, Any]:
    """What the reader should make of one MarineCadastre row, by the documented rules."""
    sog, cog, heading, status = opt_float(r["SOG"]), opt_float(r["COG"]), opt_int(r["Heading"]), opt_int(r["Status"])
    return {
        "mmsi": int(r["MMSI"]),
        "ts_utc": dt.datetime.fromisoformat(r["BaseDateTime"]).replace(tzinfo=UTC),
        "lat_deg": float(r["LAT"]),
        "lon_deg": float(r["LON"]),
        "sog_knots": None if sog == 102.3 else sog,
        "cog_deg": None if cog == 360.0 else cog,
        "heading_deg": None if heading == 511 else heading,
        "nav_status": None if status == 15 else status,
    }


def noaa_identity_expected(r: dict[str, str]) -> dict[str, Any]:
    return {
        "mmsi": int(r["MMSI"]),
        "imo": int(r["IMO"][3:]) if r["IMO"] else None,
        "name": r["VesselName"].strip() or None,
        "call_sign": r["CallSign"].strip() or None,
        "ship_type": opt_int(r["VesselType"]),
        "transceiver_class": r["TransceiverClass"] or None,
        "length_m": opt_float(r["Length"]),
        "beam_m": opt_float(r["Width"]),
        "draught_m": opt_float(r["Draft"]),
    }


def assert_rows_match(frame: pl.DataFrame, expected: list[dict[str, Any]]) -> None:
    """Column by column, floats to Float32 precision where the raw column is Float32."""
    assert frame.height == len(expected)
    for col in expected[0]:
        got = frame.get_column(col).to_list()
        want = [e[col] for e in expected]
        if frame.schema[col] == pl.Float32:
            assert got == [None if w is None else pytest.approx(w, rel=1e-6) for w in want], col
        else:
            assert got == want, col


# ---- NOAA MarineCadastre -------------------------------------------------------------------------

@pytest.mark.shared
def test_marinecadastre_sample() -> None:
    path = shared_file("ais/marinecadastre_AIS_2022_01_03_sample.csv")
    rows = csv_rows(path)
    assert len(rows) == 99_999
    chunk = read_all(NoaaCsvReader(), path)
    assert (chunk.records_read, chunk.quarantine.height, chunk.skipped) == (99_999, 0, 0)
    assert chunk.positions.height == 99_999
    assert chunk.positions["record_no"].to_list() == list(range(2, 100_001))
    assert chunk.bytes_read == path.stat().st_size

    # every row, every position column, against the csv module's reading
    assert_rows_match(chunk.positions.select(list(noaa_expected(rows[0]))), [noaa_expected(r) for r in rows])

    # identities: one per row that has any identity field (verified: 99,966 of them)
    with_identity = [r for r in rows if any(r[c].strip() for c in NOAA_IDENTITY_COLUMNS)]
    assert len(with_identity) == 99_966
    ids = chunk.identities
    assert_rows_match(ids.select(list(noaa_identity_expected(rows[0]))),
                      [noaa_identity_expected(r) for r in with_identity])

    # a few rows by hand (line numbers; the header is line 1)
    first = chunk.positions.row(0, named=True)
    assert (first["mmsi"], first["lat_deg"], first["lon_deg"], first["heading_deg"], first["nav_status"]) == (
        338148873, 33.60716, -117.91483, None, None)
    eagle = ids.filter(pl.col("record_no") == 3).row(0, named=True)
    assert (eagle["name"], eagle["imo"], eagle["call_sign"], eagle["ship_type"], eagle["length_m"],
            eagle["beam_m"], eagle["transceiver_class"]) == ("EAGLE", 8207721, "WTD4583", 31, 28.0, 11.0, "A")
    assert eagle["draught_m"] == pytest.approx(3.3)

    # what goes on past the validator: the 99 rows whose MMSI is not 9 digits are quarantined
    good, q = validate_positions(chunk.positions, load_config(), NOW)
    short = [i + 2 for i, r in enumerate(rows) if not 100_000_000 <= int(r["MMSI"]) <= 999_999_999]
    assert len(short) == 99
    assert Counter(q["reason"].to_list()) == {"invalid_mmsi": 99}
    assert q["record_no"].to_list() == short
    nine_digit = {r["MMSI"] for r in rows if 100_000_000 <= int(r["MMSI"]) <= 999_999_999}
    assert good.height == 99_900 and good["mmsi"].n_unique() == len(nine_digit) == 10_623
    good_ids, _ = validate_identities(ids, load_config(), NOW)
    assert collapse_identities(good_ids)["mmsi"].n_unique() == 10_620
    assert good["ts_utc"].min() == dt.datetime(2022, 1, 3, tzinfo=UTC)
    assert good["ts_utc"].max() == dt.datetime(2022, 1, 3, 23, 59, 59, tzinfo=UTC)


@pytest.mark.shared
def test_aisdb_noaa_1000_rows_with_floats_written() -> None:
    path = shared_file("ais/aisdb_test_data_noaa_20230101.csv")
    rows = csv_rows(path)
    chunk = read_all(NoaaCsvReader(), path)
    assert (chunk.records_read, chunk.positions.height, chunk.identities.height, chunk.quarantine.height) == (
        1000, 1000, 1000, 0)
    assert_rows_match(chunk.positions.select(list(noaa_expected(rows[0]))), [noaa_expected(r) for r in rows])
    assert_rows_match(chunk.identities.select(list(noaa_identity_expected(rows[0]))),
                      [noaa_identity_expected(r) for r in rows])
    naisha = chunk.identities.filter(pl.col("mmsi") == 636021061).row(0, named=True)
    assert (naisha["name"], naisha["imo"], naisha["ship_type"], naisha["length_m"], naisha["beam_m"]) == (
        "MSC NAISHA III", 9307839, 70, 208.0, 30.0)
    nav = chunk.positions.filter(pl.col("mmsi") == 636021061).row(0, named=True)
    assert (nav["nav_status"], nav["heading_deg"], nav["sog_knots"]) == (8, 270, pytest.approx(8.8))
    good, q = validate_positions(chunk.positions, load_config(), NOW)
    assert q.select("record_no", "reason").rows() == [(524, "invalid_mmsi"), (542, "invalid_mmsi")]
    assert good.height == 998 and good["mmsi"].n_unique() == 998
    assert good["ts_utc"].dt.date().unique().to_list() == [dt.date(2023, 1, 11)]


# ---- mapped files ------------------------------------------------------------------------------

def test_solent_via_mapping() -> None:
    path = TEST_DATA / "ais" / "stonesoup_solent_ais_20160112.csv"
    rows = csv_rows(path)
    reader = mapping("solent_stonesoup.yaml")
    chunk = read_all(reader, path)
    assert (chunk.records_read, chunk.positions.height, chunk.identities.height, chunk.quarantine.height) == (
        18_623, 18_623, 0, 0)
    pos = chunk.positions
    expected = [{
        "mmsi": int(r["MMSI"]),
        "ts_utc": dt.datetime.fromisoformat(r["Time"]).replace(tzinfo=UTC),
        "lat_deg": float(r["Latitude_degrees"]),
        "lon_deg": float(r["Longitude_degrees"]),
        "cog_deg": None if float(r["COG_degrees"]) == 360 else float(r["COG_degrees"]),
        "sog_knots": float(r["SOG_knots"]),
    } for r in rows]
    assert_rows_match(pos.select(list(expected[0])), expected)
    assert pos["cog_deg"].null_count() == 1027  # COG 360, "not available"
    assert pos["mmsi"].n_unique() == 91
    assert (pos["ts_utc"].min(), pos["ts_utc"].max()) == (
        dt.datetime(2016, 1, 12, 13, 2, 11, 218000, tzinfo=UTC), dt.datetime(2016, 1, 12, 14, 26, 41, 924000, tzinfo=UTC))
    # the impossible position (54.8 E, far from the Solent) is the validator's business and
    # passes it too: it is a valid coordinate
    odd = pos.filter(pl.col("lon_deg") > 10)
    assert odd.select("record_no", "mmsi", "lon_deg").rows() == [(8209, 245188000, 54.83172)]
    good, q = validate_positions(pos, load_config(), NOW)
    assert q.height == 0 and good.height == 18_623
    # the three duplicate (MMSI, Time) pairs are all handed on (de-duplication is the store's)
    dupes = pos.group_by("mmsi", "ts_utc").agg(pl.col("record_no").sort()).filter(pl.col("record_no").list.len() > 1)
    assert sorted(dupes["record_no"].to_list()) == [[425, 426], [2797, 2798], [11906, 11907]]


@pytest.mark.shared
def test_evergiven_via_mapping_bom_and_anonymised_ids() -> None:
    path = shared_file("ais/evergiven_boat-positions.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = csv_rows(path, encoding="utf-8-sig")
    reader = mapping("evergiven_movingpandas.yaml")
    assert reader.check_mmsi({}) is False
    chunk = read_all(reader, path)
    assert (chunk.records_read, chunk.positions.height, chunk.quarantine.height) == (22_287, 22_287, 0)
    expected = [{
        "mmsi": int(r["ID"]),
        "ts_utc": dt.datetime.strptime(r["ais_pos_timestamp"], "%d/%m/%Y %H:%M").replace(tzinfo=UTC),
        "lon_deg": float(r["longitude"]),
        "lat_deg": float(r["latitude"]),
    } for r in rows]
    pos = chunk.positions
    assert_rows_match(pos.select(list(expected[0])), expected)
    assert pos.row(0, named=True)["record_no"] == 2 and pos.row(0, named=True)["mmsi"] == 1
    assert pos["mmsi"].n_unique() == 256 and (pos["mmsi"].min(), pos["mmsi"].max()) == (1, 256)
    assert (pos["ts_utc"].min(), pos["ts_utc"].max()) == (
        dt.datetime(2021, 3, 20, tzinfo=UTC), dt.datetime(2021, 3, 24, 12, 52, tzinfo=UTC))
    # with the mapping's validate_mmsi: false the small ids pass; with 9-digit checking none would
    good, q = validate_positions(pos, load_config(), NOW, check_mmsi=reader.check_mmsi({}))
    assert (good.height, q.height) == (22_287, 0)
    _, q_strict = validate_positions(pos, load_config(), NOW, check_mmsi=True)
    assert Counter(q_strict["reason"].to_list()) == {"invalid_mmsi": 22_287}


@pytest.mark.shared
def test_aisdb_decoded_messages_via_mapping() -> None:
    path = shared_file("ais/aisdb_test_data_20210701.csv")
    rows = csv_rows(path)
    assert len(rows) == 2498
    chunk = read_all(mapping("aisdb_csv.yaml"), path)
    kept_types = {"1", "2", "3", "5", "18", "19", "24", "27"}
    skipped = Counter(f"Message_ID={r['Message_ID']}" for r in rows if r["Message_ID"] not in kept_types)
    assert chunk.skipped_by_kind == dict(skipped) and chunk.skipped == 62
    kept = [r for r in rows if r["Message_ID"] in kept_types]
    with_position = [r for r in kept if r["Latitude"] or r["Longitude"]]
    static = [r for r in kept if r["Message_ID"] in {"5", "19", "24"}]
    assert (chunk.records_read, chunk.quarantine.height) == (2498, 0)
    assert (chunk.positions.height, len(with_position)) == (2372, 2372)
    assert (chunk.identities.height, len(static)) == (105, 105)

    def none(text: str) -> str:
        return "" if text == "None" else text

    expected = [{
        "mmsi": int(r["MMSI"]),
        "msg_type": int(r["Message_ID"]),
        "ts_utc": dt.datetime.strptime(r["Time"], "%Y%m%d_%H%M%S").replace(tzinfo=UTC),
        "lat_deg": float(r["Latitude"]),
        "lon_deg": float(r["Longitude"]),
        "heading_deg": None if opt_int(none(r["Heading"])) == 511 else opt_int(none(r["Heading"])),
        "accuracy": None if not r["Accuracy"] else r["Accuracy"] == "1",
    } for r in with_position]
    assert_rows_match(chunk.positions.select(list(expected[0])), expected)
    zonda = chunk.identities.filter(pl.col("mmsi") == 538007407).row(0, named=True)
    assert (zonda["name"], zonda["call_sign"], zonda["imo"], zonda["ship_type"], zonda["to_bow_m"],
            zonda["to_stern_m"], zonda["to_port_m"], zonda["to_starboard_m"], zonda["destination"]) == (
        "GH ZONDA", "V7MF3", 9436472, 71, 182, 49, 24, 8, "BLUFF")
    assert zonda["draught_m"] == pytest.approx(8.7)  # 87 dm
    assert zonda["record_no"] == 1 + 1 + next(i for i, r in enumerate(rows) if r["MMSI"] == "538007407"
                                              and r["Message_ID"] == "5")


@pytest.mark.shared
def test_evergiven_ingest_end_to_end_learns_validate_mmsi(tmp_path: Path) -> None:
    """The pipeline asks the reader (check_mmsi) and so keeps the anonymised ids."""
    from sanctionwatch.ingest.pipeline import ingest_file
    from sanctionwatch.store import Project

    path = shared_file("ais/evergiven_boat-positions.csv")
    rows = csv_rows(path, encoding="utf-8-sig")
    repeats = sum(n - 1 for n in Counter(tuple(r.values()) for r in rows).values())
    assert repeats == 213  # identical rows (same id, minute and position)
    with Project.init(tmp_path / "case") as project:
        report = ingest_file(project, path, mapping=str(MAPPINGS.joinpath("evergiven_movingpandas.yaml")))
    assert (report.format, report.records_read, report.quarantined) == ("mapped_csv", 22_287, 0)
    assert (report.positions_kept, report.duplicates) == (22_287 - repeats, repeats)
