"""Unit tests of the tabular AIS readers: DMA CSV, NOAA MarineCadastre CSV and mapped CSV/Parquet.

No real DMA file is available, so the DMA files here are written to the documented layout
(http://web.ais.dk/aisdata/, "Columns in *.csv file"). Every test reads a small temporary file
through the public Reader API; what the readers hand on is then put through the shared
validator where the point is that a row *survives the reader* (lat 91, bad timestamps).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sanctionwatch.config import Config, load_config
from sanctionwatch.ingest.base import (
    IDENTITY_RAW_SCHEMA,
    POSITION_RAW_SCHEMA,
    QUARANTINE_RAW_SCHEMA,
    REASONS,
    InputError,
    RawChunk,
)
from sanctionwatch.ingest.csv_formats import DMA_HEADER, NOAA_HEADER, DmaCsvReader, NoaaCsvReader
from sanctionwatch.ingest.mapping import MappedReader, MappingError, load_mapping
from sanctionwatch.ingest.validate import validate_identities, validate_positions

UTC = dt.UTC
NOW = dt.datetime(2024, 1, 6, tzinfo=UTC)  # "ingest time" for the validator
DMA_HEAD = "# " + ",".join(DMA_HEADER)
NOAA_HEAD = ",".join(NOAA_HEADER)


# ---- helpers ---------------------------------------------------------------------------------

def config(**overrides: Any) -> Config:
    return load_config().with_overrides({f"ingest.{k}": v for k, v in overrides.items()})


def write(tmp_path: Path, lines: Sequence[str | bytes], name: str = "ais.csv", end: bytes = b"\n") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + end for x in lines))
    return path


def merged(chunks: Iterable[RawChunk]) -> RawChunk:
    return RawChunk.combine(chunks)


def read(reader: Any, path: Path, options: dict[str, Any] | None = None, **overrides: Any) -> RawChunk:
    return merged(reader.read(path, config(**overrides), options or {}))


def reasons(chunk: RawChunk) -> list[tuple[int, str]]:
    return chunk.quarantine.select("record_no", "reason").rows()


def dma_row(ts: str = "13/01/2016 00:00:01", mobile: str = "Class A", mmsi: str = "219000873",
            lat: str = "56.990910", lon: str = "10.304543", status: str = "Under way using engine",
            sog: str = "12.3", cog: str = "180.5", heading: str = "181", imo: str = "Unknown",
            callsign: str = "Unknown", name: str = "", ship_type: str = "Undefined", width: str = "",
            length: str = "", draught: str = "", destination: str = "Unknown", eta: str = "",
            abcd: str = ",,,") -> str:
    return (f"{ts},{mobile},{mmsi},{lat},{lon},{status},0.0,{sog},{cog},{heading},{imo},{callsign},"
            f"{name},{ship_type},,{width},{length},GPS,{draught},{destination},{eta},AIS,{abcd}")


def noaa_row(mmsi: str = "367379190", ts: str = "2022-01-03T00:00:00", lat: str = "30.3706",
             lon: str = "-88.56408", sog: str = "0.0", cog: str = "336.2", heading: str = "511",
             name: str = "EAGLE", imo: str = "IMO8207721", callsign: str = "WTD4583", vtype: str = "31",
             status: str = "0", length: str = "28", width: str = "11", draft: str = "3.3",
             cargo: str = "52", tclass: str = "A") -> str:
    return ",".join([mmsi, ts, lat, lon, sog, cog, heading, name, imo, callsign, vtype, status, length,
                     width, draft, cargo, tclass])


def mapping_file(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- the Reader protocol -----------------------------------------------------------------------

@pytest.mark.parametrize("reader", [DmaCsvReader(), NoaaCsvReader()])
def test_reader_identity_and_schemas(tmp_path: Path, reader: Any) -> None:
    assert reader.name in {"dma_csv", "noaa_csv"} and reader.description
    assert reader.check_mmsi({}) is True
    head = DMA_HEAD if reader.name == "dma_csv" else NOAA_HEAD
    row = dma_row() if reader.name == "dma_csv" else noaa_row()
    chunk = read(reader, write(tmp_path, [head, row]))
    for frame, schema in ((chunk.positions, POSITION_RAW_SCHEMA), (chunk.identities, IDENTITY_RAW_SCHEMA)):
        assert {k: frame.schema[k] for k in schema} == schema
        assert {"raw", "ts_error", "ts_text"} <= set(frame.columns)
    assert {"length_m", "beam_m"} <= set(chunk.identities.columns)
    assert chunk.quarantine.schema == pl.Schema(QUARANTINE_RAW_SCHEMA)


def test_sniff_recognises_exact_headers_only(tmp_path: Path) -> None:
    dma, noaa = DmaCsvReader(), NoaaCsvReader()
    p = tmp_path / "x.csv"
    variants = {
        "dma": (DMA_HEAD + "\n" + dma_row()).encode(),
        "dma_bom_crlf_lower": b"\xef\xbb\xbf" + (DMA_HEAD.lower() + "\r\n").encode(),
        "dma_without_hash": (",".join(DMA_HEADER) + "\n").encode(),
        "noaa": (NOAA_HEAD + "\n" + noaa_row()).encode(),
        "noaa_upper_bom": b"\xef\xbb\xbf" + NOAA_HEAD.upper().encode(),
    }
    for name, head in variants.items():
        assert dma.sniff(p, head) is name.startswith("dma"), name
        assert noaa.sniff(p, head) is name.startswith("noaa"), name
    for other in (",".join(NOAA_HEADER[:-1]), "Time,MMSI,Latitude_degrees,Longitude_degrees",
                  "!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26", "", DMA_HEAD.replace(",D", "")):
        assert not dma.sniff(p, other.encode()) and not noaa.sniff(p, other.encode()), other
    assert MappedReader(load_mapping(SOLENT_MAPPING)).sniff(p, variants["noaa"]) is False


# ---- DMA ---------------------------------------------------------------------------------------

def test_dma_good_row_values(tmp_path: Path) -> None:
    row = dma_row(mmsi="636092932", lat="55.5", lon="11.25", status="Moored", sog="0.1", cog="359.9",
                  heading="42", imo="9321172", callsign="A8VX7", name='"MAERSK, KALMAR"', ship_type="Tanker",
                  width="32", length="228", draught="12.5", destination="AARHUS", eta="14/01/2016 06:00:00",
                  abcd="200,28,12,20")
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, row]))
    assert chunk.records_read == 1 and chunk.quarantine.height == 0 and chunk.skipped == 0
    pos = chunk.positions.row(0, named=True)
    assert pos == {
        "mmsi": 636092932, "ts_utc": dt.datetime(2016, 1, 13, 0, 0, 1, tzinfo=UTC), "lat_deg": 55.5,
        "lon_deg": 11.25, "sog_knots": pytest.approx(0.1), "cog_deg": pytest.approx(359.9), "heading_deg": 42,
        "nav_status": 5, "msg_type": None, "accuracy": None, "record_no": 2, "raw": row,
        "ts_error": None, "ts_text": None,
    }
    ident = chunk.identities.row(0, named=True)
    assert {k: ident[k] for k in ("mmsi", "imo", "name", "call_sign", "ship_type", "transceiver_class",
                                  "to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m", "destination",
                                  "eta_text", "length_m", "beam_m", "record_no")} == {
        "mmsi": 636092932, "imo": 9321172, "name": "MAERSK, KALMAR", "call_sign": "A8VX7", "ship_type": 80,
        "transceiver_class": "A", "to_bow_m": 200, "to_stern_m": 28, "to_port_m": 12, "to_starboard_m": 20,
        "destination": "AARHUS", "eta_text": "14/01/2016 06:00:00", "length_m": 228.0, "beam_m": 32.0,
        "record_no": 2,
    }
    assert ident["draught_m"] == pytest.approx(12.5)


def test_dma_timestamps_are_day_first(tmp_path: Path) -> None:
    rows = [dma_row(ts="13/01/2016 23:59:59"),  # a 13th day: month-first parsing would fail
            dma_row(ts="01/02/2016 00:00:00"),  # 1 February, not 2 January
            dma_row(ts="31/12/2015 23:59:59")]
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, *rows]))
    assert chunk.positions["ts_utc"].to_list() == [
        dt.datetime(2016, 1, 13, 23, 59, 59, tzinfo=UTC), dt.datetime(2016, 2, 1, tzinfo=UTC),
        dt.datetime(2015, 12, 31, 23, 59, 59, tzinfo=UTC)]


def test_dma_non_vessel_mobiles_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [dma_row(mobile="Class A"), dma_row(mobile="Base Station", mmsi="2190068"),
            dma_row(mobile="AtoN", mmsi="992191001"), dma_row(mobile="Class B", mmsi="219012345"),
            dma_row(mobile="SAR Airborne", mmsi="111219501"), dma_row(mobile="Base Station", mmsi="2190069"),
            dma_row(mobile="Search and Rescue Transponder", mmsi="970123456")]
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, *rows]))
    assert chunk.records_read == 7 and chunk.skipped == 5 and chunk.quarantine.height == 0
    assert chunk.skipped_by_kind == {"base_station": 2, "aton": 1, "sar_airborne": 1,
                                     "search_and_rescue_transponder": 1}
    assert chunk.positions.select("mmsi", "record_no").rows() == [(219000873, 2), (219012345, 5)]


def test_dma_empty_type_of_mobile_is_kept(tmp_path: Path) -> None:
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, dma_row(mobile="", name="X")]))
    assert chunk.skipped == 0 and chunk.positions.height == 1
    assert chunk.identities["transceiver_class"].to_list() == [None]


@pytest.mark.parametrize(("text", "code"), [
    ("Under way using engine", 0), ("At anchor", 1), ("Not under command", 2),
    ("Restricted maneuverability", 3), ("Restricted manoeuverability", 3), ("Constrained by her draught", 4),
    ("Moored", 5), ("Aground", 6), ("Engaged in fishing", 7), ("Under way sailing", 8),
    ("Reserved for future amendment [HSC]", 9), ("Reserved for future amendment [WIG]", 10),
    ("Power-driven vessel towing astern", 11), ("Power-driven vessel pushing ahead or towing alongside", 12),
    ("Reserved for future use", 13), ("AIS-SART (active)", 14), ("ais-sart", 14),
    ("Unknown value", None), ("", None), ("Something new", None), ("  moored ", 5), ("5", 5), ("15", None),
])
def test_dma_navigational_status_text(tmp_path: Path, text: str, code: int | None) -> None:
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, dma_row(status=text)]))
    assert chunk.quarantine.height == 0
    assert chunk.positions["nav_status"].to_list() == [code]


@pytest.mark.parametrize(("text", "code"), [
    ("Cargo", 70), ("Tanker", 80), ("Passenger", 60), ("Fishing", 30), ("Tug", 52), ("Pilot", 50),
    ("Towing long/wide", 32), ("Law enforcement", 55), ("HSC", 40), ("WIG", 20), ("Other", 90),
    ("Pleasure", 37), ("Sailing", 36), ("Military", 35), ("SAR", 51), ("Not party to conflict", 59),
    ("Undefined", None), ("Reserved", None), ("Spare 1", None), ("Unknown", None), ("Hovercraft", None),
    ("84", 84),
])
def test_dma_ship_type_text(tmp_path: Path, text: str, code: int | None) -> None:
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, dma_row(ship_type=text, name="X")]))
    assert chunk.identities["ship_type"].to_list() == [code]


def test_dma_unknown_placeholders_are_null(tmp_path: Path) -> None:
    row = dma_row(imo="Unknown", callsign="Unknown", destination="Unknown", name="Unknown", draught="5.2")
    ident = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, row])).identities.row(0, named=True)
    assert (ident["imo"], ident["call_sign"], ident["destination"], ident["name"]) == (None, None, None, None)
    assert ident["draught_m"] == pytest.approx(5.2)


def test_dma_row_without_identity_fields_gives_no_identity(tmp_path: Path) -> None:
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, dma_row(), dma_row(name="NORDIC")]))
    assert chunk.positions.height == 2
    # the transceiver class alone (on every row) is not an identity report
    assert chunk.identities.select("name", "transceiver_class", "record_no").rows() == [("NORDIC", "A", 3)]


def test_dma_bad_numbers_are_quarantined_with_the_column(tmp_path: Path) -> None:
    rows = [dma_row(), dma_row(lat="56,99"), dma_row(sog="fast", heading="12.5"), dma_row(imo="IMO-X", name="Y"),
            dma_row(width="wide", name="Z"), dma_row()]
    path = write(tmp_path, [DMA_HEAD, *rows])
    chunk = read(DmaCsvReader(), path)
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (3, "bad_value", "row has 27 fields, the header has 26"),  # the decimal comma adds a field
        (4, "bad_value", "SOG 'fast' is not a number; Heading '12.5' is not a whole number in Int16 range"),
        (5, "bad_value", "IMO 'IMO-X' is not a whole number in Int64 range"),
        (6, "bad_value", "Width 'wide' is not a number"),
    ]
    assert chunk.quarantine["raw"].to_list() == [rows[1], rows[2], rows[3], rows[4]]
    assert chunk.positions["record_no"].to_list() == [2, 7]
    assert set(chunk.quarantine["reason"]) <= set(REASONS)


def test_dma_bad_and_missing_timestamps_reach_the_validator(tmp_path: Path) -> None:
    rows = [dma_row(ts="32/01/2016 00:00:00"), dma_row(ts="2016-01-13 00:00:00"), dma_row(ts=""),
            dma_row(ts="13/01/2016 00:00:01")]
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, *rows]))
    assert chunk.quarantine.height == 0  # the reader does not drop them
    pos = chunk.positions
    assert pos["ts_error"].to_list() == ["bad_timestamp", "bad_timestamp", None, None]
    assert pos["ts_text"].to_list() == ["32/01/2016 00:00:00", "2016-01-13 00:00:00", None, None]
    good, q = validate_positions(pos, config(), NOW)
    assert q.select("record_no", "reason", "detail").rows() == [
        (2, "bad_timestamp", "unparseable timestamp 32/01/2016 00:00:00"),
        (3, "bad_timestamp", "unparseable timestamp 2016-01-13 00:00:00"),
        (4, "no_timestamp", "no timestamp"),
    ]
    assert good["record_no"].to_list() == [5]
    _, q_ids = validate_identities(chunk.identities, config(), NOW)
    assert q_ids.height == 0  # these rows carry no identity fields


def test_dma_lat_91_survives_the_reader(tmp_path: Path) -> None:
    rows = [dma_row(lat="91.000000", lon="181.000000"), dma_row(lat="0", lon="0"), dma_row(lat="-95", lon="10")]
    chunk = read(DmaCsvReader(), write(tmp_path, [DMA_HEAD, *rows]))
    assert chunk.quarantine.height == 0 and chunk.positions.height == 3
    assert chunk.positions.row(0, named=True)["lat_deg"] == 91.0
    _, q = validate_positions(chunk.positions, config(), NOW)
    assert reasons(RawChunk(quarantine=q)) == [(2, "position_not_available"), (3, "null_island"),
                                                (4, "position_out_of_range")]
    assert q["raw"][0] == rows[0]


def test_non_utf8_bytes_are_quarantined_not_fatal(tmp_path: Path) -> None:
    good_utf8 = dma_row(name="ÆRØ FÆRGEN")
    latin1 = dma_row(name="ÆRØ").encode("latin-1")
    path = write(tmp_path, [DMA_HEAD.encode(), good_utf8.encode(), latin1, b"\xff\xfe" + dma_row().encode()])
    chunk = read(DmaCsvReader(), path)
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (3, "invalid_utf8", "line contains bytes that are not UTF-8"),
        (4, "invalid_utf8", "line contains bytes that are not UTF-8"),
    ]
    assert "\ufffd" in chunk.quarantine["raw"][0]
    assert chunk.identities["name"].to_list() == ["ÆRØ FÆRGEN"]
    assert chunk.positions["record_no"].to_list() == [2]


@pytest.mark.parametrize("reader", [DmaCsvReader(), NoaaCsvReader()])
def test_wrong_header_is_a_one_line_input_error(tmp_path: Path, reader: Any) -> None:
    path = write(tmp_path, ["when,where,who", "1,2,3"], name="other.csv")
    with pytest.raises(InputError) as err:
        list(reader.read(path, config(), {}))
    message = str(err.value)
    assert message.startswith(f"{path}:1: missing columns ")
    assert "\n" not in message and "found: when, where, who; use --format or --mapping" in message
    expected = "Timestamp, MMSI, Latitude, Longitude" if reader.name == "dma_csv" else "MMSI, BaseDateTime, LAT, LON"
    assert f"missing columns {expected};" in message
    assert err.value.line == 1 and err.value.path == str(path)


@pytest.mark.parametrize("reader", [DmaCsvReader(), NoaaCsvReader()])
def test_empty_file_and_header_only(tmp_path: Path, reader: Any) -> None:
    empty = write(tmp_path, [], name="empty.csv")
    with pytest.raises(InputError, match=r"empty\.csv:1: file is empty"):
        list(reader.read(empty, config(), {}))
    head = DMA_HEAD if reader.name == "dma_csv" else NOAA_HEAD
    chunks = list(reader.read(write(tmp_path, [head], name="head.csv"), config(), {}))
    assert len(chunks) == 1 and chunks[0].records_read == 0 and chunks[0].positions.height == 0


def test_a_reordered_or_partial_dma_header_still_reads(tmp_path: Path) -> None:
    """Only the columns the reader needs must be there, in any order."""
    path = write(tmp_path, ["MMSI,Latitude,Longitude,# Timestamp", "219000873,56.5,10.5,13/01/2016 00:00:01"])
    chunk = read(DmaCsvReader(), path)
    assert chunk.positions.select("mmsi", "lat_deg", "ts_utc").rows() == [
        (219000873, 56.5, dt.datetime(2016, 1, 13, 0, 0, 1, tzinfo=UTC))]


# ---- NOAA --------------------------------------------------------------------------------------

def test_noaa_values_and_not_available_codes(tmp_path: Path) -> None:
    rows = [noaa_row(),
            noaa_row(mmsi="636021061", sog="102.3", cog="360.0", heading="511.0", status="15", imo="",
                     name="MSC NAISHA III", vtype="70.0", length="208.0", width="30.0", draft="8.0", tclass="B"),
            noaa_row(mmsi="338148873", sog="8.8", cog="272.7", heading="270.0", status="8.0", name="",
                     imo="", callsign="", vtype="", length="", width="", draft="", cargo="", tclass="B")]
    chunk = read(NoaaCsvReader(), write(tmp_path, [NOAA_HEAD, *rows]))
    assert chunk.quarantine.height == 0
    pos = chunk.positions.select("mmsi", "ts_utc", "lat_deg", "lon_deg", "sog_knots", "cog_deg",
                                 "heading_deg", "nav_status", "record_no").rows()
    t0 = dt.datetime(2022, 1, 3, tzinfo=UTC)
    assert pos[0] == (367379190, t0, 30.3706, -88.56408, 0.0, pytest.approx(336.2), None, 0, 2)
    assert pos[1] == (636021061, t0, 30.3706, -88.56408, None, None, None, None, 3)
    assert pos[2] == (338148873, t0, 30.3706, -88.56408, pytest.approx(8.8), pytest.approx(272.7), 270, 8, 4)
    ids = chunk.identities.select("mmsi", "imo", "name", "call_sign", "ship_type", "transceiver_class",
                                  "length_m", "beam_m", "draught_m", "to_bow_m").rows()
    assert ids == [(367379190, 8207721, "EAGLE", "WTD4583", 31, "A", 28.0, 11.0, pytest.approx(3.3), None),
                   (636021061, None, "MSC NAISHA III", "WTD4583", 70, "B", 208.0, 30.0, 8.0, None)]


def test_noaa_quoted_fields_and_crlf(tmp_path: Path) -> None:
    rows = [noaa_row(name='"SHIP, WITH COMMA"'), noaa_row(name='"QUOTE ""INSIDE"""'), noaa_row(name="PLAIN")]
    path = write(tmp_path, [NOAA_HEAD, *rows], end=b"\r\n")
    chunk = read(NoaaCsvReader(), path)
    assert chunk.identities["name"].to_list() == ["SHIP, WITH COMMA", 'QUOTE "INSIDE"', "PLAIN"]
    assert chunk.positions["raw"].to_list() == rows  # line ends removed, text otherwise as written
    assert chunk.positions["lon_deg"].to_list() == [-88.56408] * 3


def test_rows_with_too_few_or_too_many_fields(tmp_path: Path) -> None:
    rows = [noaa_row(), "367379190,2022-01-03T00:00:00,30.3", noaa_row() + ",extra",
            noaa_row(name='"UNTERMINATED'), '"367379190",2022-01-03T00:00:00,30,-88', noaa_row()]
    chunk = read(NoaaCsvReader(), write(tmp_path, [NOAA_HEAD, *rows]))
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (3, "missing_field", "row has 3 fields, the header has 17"),
        (4, "bad_value", "row has 18 fields, the header has 17"),
        (5, "bad_value", "unterminated quoted field (quoted line breaks are not supported)"),
        (6, "missing_field", "row has 4 fields, the header has 17"),
    ]
    assert chunk.positions["record_no"].to_list() == [2, 7]


def test_mmsi_text_blank_lines_and_missing_final_newline(tmp_path: Path) -> None:
    rows = [noaa_row(mmsi="abc"), "", "   ", noaa_row(mmsi=""), noaa_row(mmsi="12345"),
            noaa_row(mmsi="367379190.0"), noaa_row(mmsi="3.67e8")]
    path = write(tmp_path, [NOAA_HEAD, *rows])
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    chunk = read(NoaaCsvReader(), path)
    assert chunk.records_read == 7 and chunk.skipped_by_kind == {"blank": 2}
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (2, "invalid_mmsi", "MMSI 'abc' is not a whole number")]
    # empty and short MMSIs are the validator's to judge
    assert chunk.positions.select("mmsi", "record_no").rows() == [
        (None, 5), (12345, 6), (367379190, 7), (367000000, 8)]
    _, q = validate_positions(chunk.positions, config(), NOW)
    assert q.select("record_no", "reason", "detail").rows() == [
        (5, "invalid_mmsi", "mmsi missing"), (6, "invalid_mmsi", "mmsi 12345")]


def test_noaa_iso_variants_and_default_time(tmp_path: Path) -> None:
    rows = [noaa_row(ts="2022-01-03T01:02:03"), noaa_row(ts="2022-01-03 01:02:03.5"),
            noaa_row(ts="2022-01-03T03:02:03+02:00"), noaa_row(ts="2022-01-03T01:02Z"), noaa_row(ts="")]
    default = dt.datetime(2022, 1, 3, 12, tzinfo=UTC)
    chunk = read(NoaaCsvReader(), write(tmp_path, [NOAA_HEAD, *rows]), {"default_time": default})
    t = dt.datetime(2022, 1, 3, 1, 2, 3, tzinfo=UTC)
    assert chunk.positions["ts_utc"].to_list() == [t, t + dt.timedelta(microseconds=500_000), t,
                                                   t - dt.timedelta(seconds=3), default]
    with pytest.raises(InputError, match="default_time"):
        read(NoaaCsvReader(), write(tmp_path, [NOAA_HEAD, noaa_row()]),
             {"default_time": dt.datetime(2022, 1, 3)})


def test_chunking_keeps_record_numbers_and_counts(tmp_path: Path) -> None:
    """2,500 rows with chunk_rows = 1,000 (the minimum): three chunks, numbering continuous."""
    rows = []
    for i in range(2500):
        if i in (999, 1000, 2499):  # bad rows on both sides of a chunk boundary and at the end
            rows.append(noaa_row(mmsi=str(273000000 + i), lat="north"))
        elif i == 1500:
            rows.append("")
        else:
            rows.append(noaa_row(mmsi=str(273000000 + i), name=f"S{i}"))
    path = write(tmp_path, [NOAA_HEAD, *rows])
    chunks = list(NoaaCsvReader().read(path, config(chunk_rows=1000), {}))
    assert [c.records_read for c in chunks] == [1000, 1000, 500]
    assert [c.quarantine["record_no"].to_list() for c in chunks] == [[1001], [1002], [2501]]
    assert [c.skipped_by_kind for c in chunks] == [{}, {"blank": 1}, {}]
    assert [c.bytes_read for c in chunks] == sorted(c.bytes_read for c in chunks)
    assert chunks[-1].bytes_read == path.stat().st_size
    all_rows = merged(chunks)
    numbers = all_rows.positions["record_no"].to_list()
    assert numbers == [n for n in range(2, 2502) if n not in (1001, 1002, 1502, 2501)]
    assert all_rows.positions["mmsi"].to_list() == [273000000 + n - 2 for n in numbers]
    assert all_rows.identities["name"].to_list() == [f"S{n - 2}" for n in numbers]
    # accounting: every data line is a kept-for-validation row, a quarantined row or a skipped one
    assert all_rows.records_read == all_rows.positions.height + all_rows.quarantine.height + all_rows.skipped


# ---- mapping files -----------------------------------------------------------------------------

MAPPINGS = resources.files("sanctionwatch.data").joinpath("mappings")
SOLENT_MAPPING = Path(str(MAPPINGS.joinpath("solent_stonesoup.yaml")))

FULL_YAML = """
description: every option
format: csv
delimiter: ";"
skip_rows: 2
columns:
  mmsi: Ship
  ts_utc: When
  lat_deg: Lat
  lon_deg: Lon
  sog_knots: Speed
  cog_deg: Course
  heading_deg: Head
  nav_status: Status
  msg_type: Type
  accuracy: Acc
  imo: IMO number
  name: Name
  call_sign: Call
  ship_type: Kind
  transceiver_class: Class
  to_bow_m: A
  to_stern_m: B
  to_port_m: C
  to_starboard_m: D
  draught_m: Draught
  destination: Dest
  eta_text: ETA
  length_m: Len
  beam_m: Beam
timestamp_format: "%d.%m.%Y %H:%M:%S"
timezone: Europe/Copenhagen
units: {sog: m/s, draught: dm}
validate_mmsi: false
null_values: ["NA", "-"]
keep_values: {Source: [terrestrial, 2]}
"""

FULL_TOML = """
description = "every option"
format = "csv"
delimiter = ";"
skip_rows = 2
timestamp_format = "%d.%m.%Y %H:%M:%S"
timezone = "Europe/Copenhagen"
validate_mmsi = false
null_values = ["NA", "-"]

[columns]
mmsi = "Ship"
ts_utc = "When"
lat_deg = "Lat"
lon_deg = "Lon"
sog_knots = "Speed"
cog_deg = "Course"
heading_deg = "Head"
nav_status = "Status"
msg_type = "Type"
accuracy = "Acc"
imo = "IMO number"
name = "Name"
call_sign = "Call"
ship_type = "Kind"
transceiver_class = "Class"
to_bow_m = "A"
to_stern_m = "B"
to_port_m = "C"
to_starboard_m = "D"
draught_m = "Draught"
destination = "Dest"
eta_text = "ETA"
length_m = "Len"
beam_m = "Beam"

[units]
sog = "m/s"
draught = "dm"

[keep_values]
Source = ["terrestrial", 2]
"""

FULL_HEADER = ("Source;Ship;When;Lat;Lon;Speed;Course;Head;Status;Type;Acc;IMO number;Name;Call;Kind;Class;"
               "A;B;C;D;Draught;Dest;ETA;Len;Beam")
FULL_ROWS = [
    # summer time (UTC+2), m/s speed, decimetre draught
    "terrestrial;17;15.07.2023 14:00:00;54.1;12.2;5;90;91;0;1;1;9321172;NORDIC;OXYZ2;70;A;100;20;5;7;87;"
    "ROSTOCK;07-15 18:00;120;12",
    # winter time (UTC+1), "NA" and "-" are empty
    "2;18;15.01.2023 14:00:00;54.2;NA;-;360;511;15;18;0;NA;-;NA;NA;B;NA;NA;NA;NA;NA;NA;NA;NA;NA",
    "satellite;19;15.01.2023 14:00:00;54.3;12.3;1;1;1;0;1;1;;;;;;;;;;;;;;",  # not kept
    "terrestrial;20;2023-01-15 14:00;54.3;12.3;1;1;1;0;1;maybe;;;;;;;;;;;;;;",  # bad flag, bad time
    "terrestrial;21;31.03.2024 02:30:00;54.3;12.3;1;1;1;0;1;1;;;;;;;;;;;;;;",  # not a local time
]


@pytest.mark.parametrize(("name", "text"), [("full.yaml", FULL_YAML), ("full.toml", FULL_TOML)])
def test_mapping_with_every_option(tmp_path: Path, name: str, text: str) -> None:
    mapping = load_mapping(mapping_file(tmp_path, text, name))
    assert (mapping.format, mapping.delimiter, mapping.skip_rows, mapping.timezone) == (
        "csv", ";", 2, "Europe/Copenhagen")
    assert mapping.keep_values == {"Source": frozenset({"terrestrial", "2"})}
    reader = MappedReader(mapping)
    assert reader.name == "mapped_csv" and reader.check_mmsi({}) is False
    path = write(tmp_path, ["exported by a provider", "2023 extract", FULL_HEADER, *FULL_ROWS])
    chunk = read(reader, path)
    assert chunk.records_read == 5 and chunk.skipped_by_kind == {"Source=satellite": 1}
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (7, "bad_value", "Acc 'maybe' is not a flag (0/1, true/false)")]
    pos = chunk.positions.select("mmsi", "ts_utc", "lat_deg", "lon_deg", "sog_knots", "cog_deg",
                                 "heading_deg", "nav_status", "msg_type", "accuracy", "record_no").rows()
    assert pos[0] == (17, dt.datetime(2023, 7, 15, 12, tzinfo=UTC), 54.1, 12.2,
                      pytest.approx(5 * 3600 / 1852), 90.0, 91, 0, 1, True, 4)
    assert pos[1] == (18, dt.datetime(2023, 1, 15, 13, tzinfo=UTC), 54.2, None, None, None, None, None, 18,
                      False, 5)
    assert pos[2][-1] == 8 and pos[2][1] is None  # 02:30 on 31 March 2024 does not exist in Copenhagen
    ts_error = chunk.positions.select("record_no", "ts_error", "ts_text").rows()
    assert ts_error[-1] == (8, "bad_timestamp", "31.03.2024 02:30:00")
    ids = chunk.identities.drop("raw", "ts_utc", "ts_error", "ts_text").rows(named=True)
    assert len(ids) == 1
    assert ids[0] == {"mmsi": 17, "imo": 9321172, "name": "NORDIC", "call_sign": "OXYZ2", "ship_type": 70,
                      "transceiver_class": "A", "to_bow_m": 100, "to_stern_m": 20, "to_port_m": 5,
                      "to_starboard_m": 7, "draught_m": pytest.approx(8.7), "destination": "ROSTOCK",
                      "eta_text": "07-15 18:00", "record_no": 4, "length_m": 120.0, "beam_m": 12.0}


def test_mapping_units_and_unix_timestamps(tmp_path: Path) -> None:
    base = "columns: {mmsi: id, ts_utc: t, lat_deg: y, lon_deg: x, sog_knots: v}\n"
    data = write(tmp_path, ["id,t,y,x,v", "235000001,1704456000,50,-1,1.852", "235000001,1704456000.5,50,-1,",
                            "235000001,soon,50,-1,0"])
    kmh = read(MappedReader(load_mapping(mapping_file(tmp_path, base + "timestamp_format: unix_s\n"
                                                      "units: {sog: km/h}\n"))), data)
    t = dt.datetime(2024, 1, 5, 12, tzinfo=UTC)
    assert kmh.positions["ts_utc"].to_list() == [t, t + dt.timedelta(milliseconds=500), None]
    assert kmh.positions["sog_knots"].to_list()[:2] == [pytest.approx(1.0), None]
    assert kmh.positions["ts_error"].to_list() == [None, None, "bad_timestamp"]
    ms = write(tmp_path, ["id,t,y,x,v", "235000001,1704456000123,50,-1,102.3"], name="ms.csv")
    knots = read(MappedReader(load_mapping(mapping_file(tmp_path, base + "timestamp_format: unix_ms\n"))), ms)
    assert knots.positions.row(0, named=True)["ts_utc"] == t + dt.timedelta(milliseconds=123)
    assert knots.positions.row(0, named=True)["sog_knots"] is None  # 102.3 kn is "not available"


def test_mapping_default_iso_timestamps_and_timezone(tmp_path: Path) -> None:
    text = "columns: {mmsi: id, ts_utc: t, lat_deg: y, lon_deg: x}\ntimezone: America/New_York\n"
    data = write(tmp_path, ["id,t,y,x", "235000001,2024-01-05T07:00:00,50,-1",
                            "235000001,2024-01-05 12:00:00Z,50,-1", "235000001,2024-01-05T13:00:00+01:00,50,-1",
                            "235000001,05/01/2024 12:00,50,-1"])
    chunk = read(MappedReader(load_mapping(mapping_file(tmp_path, text))), data)
    noon = dt.datetime(2024, 1, 5, 12, tzinfo=UTC)
    assert chunk.positions["ts_utc"].to_list() == [noon, noon, noon, None]


def test_mapping_tab_delimiter_and_ambiguous_local_time(tmp_path: Path) -> None:
    text = ('columns: {mmsi: id, ts_utc: t, lat_deg: y, lon_deg: x}\ndelimiter: "\\t"\n'
            'timestamp_format: "%Y-%m-%d %H:%M"\ntimezone: Europe/Copenhagen\n')
    mapping = load_mapping(mapping_file(tmp_path, text))
    assert mapping.delimiter == "\t"
    # 02:30 on 29 October 2023 happened twice in Copenhagen: the earlier (summer time) is taken
    path = write(tmp_path, ["id\tt\ty\tx", "235000001\t2023-10-29 02:30\t55.7\t12.6"])
    chunk = read(MappedReader(mapping), path)
    assert chunk.positions["ts_utc"].to_list() == [dt.datetime(2023, 10, 29, 0, 30, tzinfo=UTC)]


def test_mapping_bom_and_column_name_matching(tmp_path: Path) -> None:
    text = "columns: {mmsi: ID, ts_utc: Time, lat_deg: latitude, lon_deg: Longitude}\nvalidate_mmsi: false\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,TIME,Latitude,longitude\n7,2021-03-20T00:22:00,31.4,32.3\n")
    chunk = read(MappedReader(load_mapping(mapping_file(tmp_path, text))), path)
    assert chunk.positions.select("mmsi", "lat_deg", "lon_deg", "record_no").rows() == [(7, 31.4, 32.3, 2)]


def test_mapping_missing_file_column_is_an_input_error(tmp_path: Path) -> None:
    text = "columns: {mmsi: MMSI, ts_utc: Time, lat_deg: Lat, lon_deg: Lon, name: ShipName}\n"
    path = write(tmp_path, ["MMSI,Time,Lat,Lon,Name", "235000001,2024-01-05T12:00:00,50,-1,X"])
    with pytest.raises(InputError, match=r"ais\.csv:1: missing columns ShipName; found: MMSI, Time, Lat, "
                                         r"Lon, Name; use --format or --mapping"):
        read(MappedReader(load_mapping(mapping_file(tmp_path, text))), path)
    skipped = "columns: {mmsi: MMSI, ts_utc: Time, lat_deg: Lat, lon_deg: Lon}\nskip_rows: 1\n"
    with pytest.raises(InputError, match=r"ais\.csv:2: missing columns MMSI, Time, Lat, Lon"):
        read(MappedReader(load_mapping(mapping_file(tmp_path, skipped))), path)


MINIMAL = "columns: {mmsi: a, ts_utc: b, lat_deg: c, lon_deg: d}\n"


@pytest.mark.parametrize(("text", "message"), [
    (MINIMAL + "delimeter: ';'\n", "delimeter: unknown key (did you mean 'delimiter'?)"),
    ("columns: {mmsi: a, ts_utc: b, lat_deg: c, lon_deg: d, speed: e}\n", "columns.speed: unknown target column"),
    ("columns: {mmsi: a, ts_utc: b, lat_deg: c, lon_deg: d, sog: e}\n", "(did you mean 'sog_knots'?)"),
    ("columns: {mmsi: a, ts_utc: b}\n", "columns: required target columns missing: lat_deg, lon_deg"),
    ("columns: {mmsi: a, ts_utc: b, lat_deg: c, lon_deg: 4}\n", "columns.lon_deg: must be a non-empty text"),
    ("format: csv\n", "columns: must map raw column names"),
    (MINIMAL + "format: excel\n", "format: 'excel' is not one of csv, parquet"),
    (MINIMAL + "delimiter: ';;'\n", "delimiter: must be one character"),
    (MINIMAL + "skip_rows: -1\n", "skip_rows: must be a whole number >= 0"),
    (MINIMAL + "skip_rows: true\n", "skip_rows: must be a whole number >= 0"),
    (MINIMAL + "validate_mmsi: 'no'\n", "validate_mmsi: must be true or false"),
    (MINIMAL + "timezone: Mars/Olympus\n", "timezone: unknown time zone 'Mars/Olympus'"),
    (MINIMAL + "timestamp_format: ISO\n", "timestamp_format: 'ISO' is not a strftime/chrono format"),
    (MINIMAL + "timestamp_format: '%Q-%Y'\n", "timestamp_format: '%Q-%Y' is not a valid format: unknown directive '%Q'"),
    (MINIMAL + "units: {sog: mph}\n", "units.sog: 'mph' is not one of knots, m/s, km/h"),
    (MINIMAL + "units: {draught: ft}\n", "units.draught: 'ft' is not one of m, dm"),
    (MINIMAL + "units: {cog: rad}\n", "units.cog: unknown quantity; known: sog, draught"),
    (MINIMAL + "units: knots\n", "units: must map a quantity"),
    (MINIMAL + "null_values: []\n", "null_values: must be a value or a non-empty list"),
    (MINIMAL + "keep_values: {Type: []}\n", "keep_values.Type: must be a value or a non-empty list"),
    (MINIMAL + "keep_values: [1]\n", "keep_values: must map a file column"),
    (MINIMAL + "format: parquet\ndelimiter: ';'\n", "delimiter: applies to CSV only (format is parquet)"),
    (MINIMAL + "description: [1]\n", "description: must be text"),
    ("- mmsi\n- ts_utc\n", "a mapping file must be a set of 'key: value' entries"),
    ("columns: {mmsi: a\n", "not valid YAML"),
])
def test_mapping_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = mapping_file(tmp_path, text)
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert isinstance(err.value, InputError)
    assert str(err.value).startswith(str(path)) and message in str(err.value), str(err.value)


def test_mapping_file_errors_toml_and_missing(tmp_path: Path) -> None:
    bad_toml = mapping_file(tmp_path, "columns = {mmsi = }\n", "m.toml")
    with pytest.raises(MappingError, match=r"m\.toml: not valid TOML"):
        load_mapping(bad_toml)
    unknown = mapping_file(tmp_path, 'format = "csv"\nencoding = "latin-1"\n', "u.toml")
    with pytest.raises(MappingError, match=r"u\.toml: encoding: unknown key"):
        load_mapping(unknown)
    with pytest.raises(MappingError, match=r"nope\.yaml: mapping file not found"):
        MappedReader.from_file(tmp_path / "nope.yaml")
    with pytest.raises(MappingError, match=r"y\.yaml:3: not valid YAML"):
        load_mapping(mapping_file(tmp_path, "columns:\n  - a\n b: c\n", "y.yaml"))


def test_shipped_example_mappings_load() -> None:
    names = sorted(p.name for p in MAPPINGS.iterdir() if p.name.endswith((".yaml", ".toml")))
    assert {"solent_stonesoup.yaml", "evergiven_movingpandas.yaml", "aisdb_csv.yaml"} <= set(names)
    for name in names:
        mapping = load_mapping(Path(str(MAPPINGS.joinpath(name))))
        assert mapping.description, f"{name} should say what it is for"
    assert load_mapping(Path(str(MAPPINGS.joinpath("evergiven_movingpandas.yaml")))).validate_mmsi is False


# ---- Parquet via a mapping ---------------------------------------------------------------------

PARQUET_MAPPING = """
format: parquet
columns: {mmsi: mmsi, ts_utc: time, lat_deg: lat, lon_deg: lon, sog_knots: speed, name: ship, ship_type: kind,
          accuracy: acc}
keep_values: {source: [T]}
"""


def _parquet(tmp_path: Path, table: pa.Table, row_group_size: int = 1000, name: str = "ais.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_parquet_via_mapping_typed_columns_across_row_groups(tmp_path: Path) -> None:
    n = 2500
    t0 = dt.datetime(2024, 1, 5, 12)
    table = pa.table({
        "mmsi": pa.array([235000000 + i % 7 for i in range(n)], pa.int64()),
        "time": pa.array([t0 + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("ms")),
        "lat": pa.array([50 + i / 1e4 for i in range(n)], pa.float64()),
        "lon": pa.array([-1.0] * n, pa.float32()),
        "speed": pa.array([None if i == 3 else "12.5" if i != 1700 else "quick" for i in range(n)], pa.string()),
        "ship": pa.array([f"SHIP {i % 7}" if i % 2 else None for i in range(n)]).dictionary_encode(),
        "kind": pa.array([70] * n, pa.int32()),
        "acc": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
        "source": pa.array(["S" if i == 10 else "T" for i in range(n)]),
        "unused": pa.array([0] * n),
    })
    path = _parquet(tmp_path, table, row_group_size=600)
    reader = MappedReader(load_mapping(mapping_file(tmp_path, PARQUET_MAPPING)))
    assert reader.name == "mapped_parquet" and reader.check_mmsi({}) is True
    chunks = list(reader.read(path, config(chunk_rows=1000), {}))
    assert [c.records_read for c in chunks] == [1000, 1000, 500]
    assert chunks[-1].bytes_read == path.stat().st_size
    chunk = merged(chunks)
    assert chunk.skipped_by_kind == {"source=S": 1}
    assert chunk.quarantine.select("record_no", "reason", "detail").rows() == [
        (1701, "bad_value", "speed 'quick' is not a number")]
    pos = chunk.positions
    assert pos.height == n - 2 and pos["record_no"].to_list() == [r for r in range(1, n + 1) if r not in (11, 1701)]
    first = pos.row(0, named=True)
    assert (first["mmsi"], first["ts_utc"], first["sog_knots"], first["accuracy"]) == (
        235000000, t0.replace(tzinfo=UTC), 12.5, True)
    assert pos.row(3, named=True)["sog_knots"] is None
    # ship_type is on every row, so every used row is an identity observation; odd rows have names
    assert chunk.identities.height == n - 2
    assert chunk.identities["name"].to_list()[:4] == [None, "SHIP 1", None, "SHIP 3"]
    assert chunk.identities["ship_type"].unique().to_list() == [70]
    assert chunk.quarantine["raw"][0].startswith("235000")


def test_parquet_aware_timestamps_and_unix(tmp_path: Path) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))  # Europe/Paris in January
    aware = pa.table({"mmsi": [235000001], "time": pa.array([dt.datetime(2024, 1, 5, 13, tzinfo=paris)],
                                                            pa.timestamp("us", tz="Europe/Paris")),
                      "lat": [50.0], "lon": [-1.0]})
    text = "format: parquet\ncolumns: {mmsi: mmsi, ts_utc: time, lat_deg: lat, lon_deg: lon}\n"
    chunk = read(MappedReader(load_mapping(mapping_file(tmp_path, text))), _parquet(tmp_path, aware))
    assert chunk.positions["ts_utc"].to_list() == [dt.datetime(2024, 1, 5, 12, tzinfo=UTC)]
    unix = pa.table({"mmsi": [235000001], "time": pa.array([1704456000], pa.int64()), "lat": [50.0],
                     "lon": [-1.0]})
    path = _parquet(tmp_path, unix, name="unix.parquet")
    with pytest.raises(InputError, match=r"column 'time' \(for ts_utc\) has type int64; set timestamp_format"):
        read(MappedReader(load_mapping(mapping_file(tmp_path, text))), path)
    chunk = read(MappedReader(load_mapping(mapping_file(tmp_path, text + "timestamp_format: unix_s\n"))), path)
    assert chunk.positions["ts_utc"].to_list() == [dt.datetime(2024, 1, 5, 12, tzinfo=UTC)]


def test_parquet_errors(tmp_path: Path) -> None:
    text = "format: parquet\ncolumns: {mmsi: mmsi, ts_utc: time, lat_deg: lat, lon_deg: longitude}\n"
    reader = MappedReader(load_mapping(mapping_file(tmp_path, text)))
    table = pa.table({"mmsi": [1], "time": ["2024-01-05T12:00:00"], "lat": [50.0], "lon": [-1.0]})
    with pytest.raises(InputError, match=r"missing columns longitude; found: mmsi, time, lat, lon"):
        read(reader, _parquet(tmp_path, table))
    not_parquet = write(tmp_path, ["mmsi,time,lat,longitude"], name="fake.parquet")
    with pytest.raises(InputError, match=r"fake\.parquet: not a readable Parquet file"):
        read(reader, not_parquet)
    nested = pa.table({"mmsi": [1], "time": ["2024-01-05T12:00:00"], "lat": [[50.0]], "longitude": [-1.0]})
    with pytest.raises(InputError, match=r"column 'lat' \(for lat_deg\) has type list<element: double>"):
        read(reader, _parquet(tmp_path, nested, name="nested.parquet"))
