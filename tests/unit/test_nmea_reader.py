"""Unit tests of the NMEA 0183 AIS reader on hand-made sentences.

Valid sentences are built with pyais's encoder (so payloads and checksums are right) and then
broken on purpose. Every test reads a small temporary file through the public Reader API.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from sanctionwatch.config import Config, load_config
from sanctionwatch.ingest.base import (
    IDENTITY_RAW_SCHEMA,
    POSITION_RAW_SCHEMA,
    QUARANTINE_RAW_SCHEMA,
    REASONS,
    InputError,
    RawChunk,
)
from sanctionwatch.ingest.nmea import NmeaReader
from sanctionwatch.ingest.nmea_decode import POSITION_BATCH_SCHEMA, PyaisPositionDecoder
from sanctionwatch.ingest.validate import validate_identities, validate_positions

UTC = dt.UTC
T0 = dt.datetime(2024, 1, 5, 12, 0, tzinfo=UTC)
T0_UNIX = 1704456000  # T0 as a UNIX time
NOW = dt.datetime(2024, 1, 6, tzinfo=UTC)  # "ingest time" for the validator
MMSI = 235070716


# ---- building sentences -----------------------------------------------------------------
def xor_hex(text: str) -> str:
    return f"{reduce(xor, text.encode(), 0):02X}"


def nmea(body: str, start: str = "!") -> str:
    """A sentence with the right checksum around ``body`` (between the delimiter and '*')."""
    return f"{start}{body}*{xor_hex(body)}"


def tag(fields: str) -> str:
    """A tag block with the right checksum."""
    return f"\\{fields}*{xor_hex(fields)}\\"


def enc(data: dict[str, Any], talker: str = "AI", kind: str = "VDM", channel: str = "A",
        seq: int | None = None) -> list[str]:
    return encode_dict(data, talker_id=talker, sentence_type=kind, radio_channel=channel, seq_id=seq)


def pos(mmsi: int = MMSI, lat: float = 36.9, lon: float = 20.7, msg_type: int = 1, **kw: Any) -> str:
    data = {"msg_type": msg_type, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 14.6,
            "course": 156.1, "heading": 157, "status": 0, "accuracy": True, **kw}
    (sentence,) = enc(data)
    return sentence


def type5(mmsi: int = MMSI, seq: int | None = 3, channel: str = "A", **kw: Any) -> list[str]:
    data = {"msg_type": 5, "mmsi": mmsi, "imo": 9383663, "callsign": "9HMQ9",
            "shipname": "RUTH THERESA", "ship_type": 80, "to_bow": 78, "to_stern": 23,
            "to_port": 1, "to_starboard": 17, "month": 12, "day": 30, "hour": 16, "minute": 30,
            "draught": 7.8, "destination": "BOSTON,USA", **kw}
    return enc(data, channel=channel, seq=seq)


def break_checksum(sentence: str) -> str:
    good = int(sentence[-2:], 16)
    return f"{sentence[:-2]}{(good ^ 0x55):02X}"


def without_sequence_id(sentence: str) -> str:
    fields = sentence[1:-3].split(",")
    fields[3] = ""
    return nmea(",".join(fields))


def bad_tag(fields: str) -> str:
    """A tag block whose checksum is wrong (and not the 00 placeholder)."""
    wrong = int(xor_hex(fields), 16) ^ 0x55 or 0x01
    return f"\\{fields}*{wrong:02X}\\"


# ---- reading ----------------------------------------------------------------------------
def config(**overrides: Any) -> Config:
    return load_config().with_overrides({f"ingest.{k}": v for k, v in overrides.items()})


def write(tmp_path: Path, lines: Sequence[str | bytes], name: str = "log.nmea") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def read_chunks(tmp_path: Path, lines: Sequence[str | bytes], options: dict[str, Any] | None = None,
                **overrides: Any) -> list[RawChunk]:
    path = write(tmp_path, lines)
    return list(NmeaReader().read(path, config(**overrides), options or {}))


def read(tmp_path: Path, lines: Sequence[str | bytes], options: dict[str, Any] | None = None,
         **overrides: Any) -> RawChunk:
    """All chunks of a read merged into one."""
    return RawChunk.combine(read_chunks(tmp_path, lines, options, **overrides))


def reasons(chunk: RawChunk) -> list[tuple[int, str]]:
    return [(r["record_no"], r["reason"]) for r in chunk.quarantine.iter_rows(named=True)]


def ts(chunk: RawChunk, table: str = "positions") -> list[dt.datetime | None]:
    return getattr(chunk, table)["ts_utc"].to_list()


# ---- schema and basics --------------------------------------------------------------------
def test_reader_identity_and_schemas(tmp_path: Path) -> None:
    reader = NmeaReader()
    assert reader.name == "nmea" and reader.description
    chunk = read(tmp_path, [pos(), *type5(), "!AIVDM,1,1,,A,15N1u<PP1FJuvSRH,0*"])
    for column, dtype in POSITION_RAW_SCHEMA.items():
        assert chunk.positions.schema[column] == dtype, column
    for column, dtype in IDENTITY_RAW_SCHEMA.items():
        assert chunk.identities.schema[column] == dtype, column
    assert dict(chunk.quarantine.schema) == QUARANTINE_RAW_SCHEMA
    for frame in (chunk.positions, chunk.identities):
        assert {"raw", "ts_error", "ts_text"} <= set(frame.columns)
    assert set(chunk.quarantine["reason"]) <= set(REASONS)


def test_first_position_decoded(tmp_path: Path) -> None:
    line = "!AIVDM,1,1,,A,33P;Tw0tjBQO22:E7dm66DrB20UP,0*2E"  # first line of pyais's sample
    row = read(tmp_path, [line]).positions.row(0, named=True)
    assert row["mmsi"] == 235070716
    assert row["lat_deg"] == pytest.approx(36.910433) and row["lon_deg"] == pytest.approx(20.760008)
    assert row["sog_knots"] == pytest.approx(14.6) and row["cog_deg"] == pytest.approx(156.1)
    assert (row["heading_deg"], row["nav_status"], row["msg_type"], row["accuracy"]) == (157, 0, 3, True)
    assert (row["record_no"], row["raw"], row["ts_utc"], row["ts_error"]) == (1, line, None, None)


@pytest.mark.parametrize(("talker", "kind"), [
    ("AI", "VDM"), ("AI", "VDO"), ("AB", "VDM"), ("BS", "VDM"), ("SA", "VDM"), ("AN", "VDM"),
    ("AN", "VDO"), ("BS", "VDO"),
])
def test_every_talker_and_vdm_vdo(tmp_path: Path, talker: str, kind: str) -> None:
    single = enc({"msg_type": 1, "mmsi": MMSI, "lat": 10.5, "lon": -20.25}, talker=talker, kind=kind)
    multi = enc({"msg_type": 5, "mmsi": 211000000, "shipname": "X"}, talker=talker, kind=kind, seq=1)
    chunk = read(tmp_path, [*single, *multi])
    assert single[0].startswith(f"!{talker}{kind},")
    assert chunk.positions.select("mmsi", "lat_deg", "lon_deg").rows() == [(MMSI, 10.5, -20.25)]
    assert chunk.identities["name"].to_list() == ["X"]
    assert chunk.quarantine.height == 0


# ---- "not available" values: mapped or left for the validator ---------------------------------
def test_not_available_values(tmp_path: Path) -> None:
    lines = [
        pos(lat=91, lon=181, speed=102.3, course=360, heading=511, status=15),
        *enc({"msg_type": 27, "mmsi": MMSI, "lat": 91, "lon": 181, "speed": 63, "course": 511,
              "status": 15}),
        *enc({"msg_type": 18, "mmsi": MMSI, "lat": 1.5, "lon": 2.5, "speed": 102.3,
              "course": 360, "heading": 511}),
        *enc({"msg_type": 27, "mmsi": MMSI, "lat": 50.0, "lon": -4.0, "speed": 12, "course": 270,
              "status": 1, "accuracy": True}),
    ]
    rows = read(tmp_path, lines).positions.select(
        "lat_deg", "lon_deg", "sog_knots", "cog_deg", "heading_deg", "nav_status", "msg_type",
        "accuracy").rows()
    assert rows == [
        (91.0, 181.0, None, None, None, None, 1, True),  # kept: the validator quarantines it
        (91.0, 181.0, None, None, None, None, 27, False),
        (1.5, 2.5, None, None, None, None, 18, False),  # class B: no navigational status
        (50.0, -4.0, 12.0, 270.0, None, 1, 27, True),
    ]


def test_lat_91_reaches_the_validator(tmp_path: Path) -> None:
    chunk = read(tmp_path, [pos(lat=91, lon=181), pos(lat=0, lon=0), pos()],
                 {"default_time": T0})
    good, quarantine = validate_positions(chunk.positions, load_config(), NOW)
    assert quarantine.select("record_no", "reason").rows() == [
        (1, "position_not_available"), (2, "null_island")]
    assert quarantine["raw"][0] == chunk.positions["raw"][0]
    assert good["record_no"].to_list() == [3]


# ---- timestamps -------------------------------------------------------------------------------
PLAIN = pos()
PLAIN_BODY = PLAIN[1:-3]


@pytest.mark.parametrize(("line", "expected"), [
    pytest.param(tag(f"s:rx1,c:{T0_UNIX}") + PLAIN, T0, id="tag-seconds"),
    pytest.param(tag(f"c:{T0_UNIX}123,s:rx1") + PLAIN, T0 + dt.timedelta(milliseconds=123),
                 id="tag-milliseconds"),
    pytest.param(tag(f"c:{T0_UNIX}.5") + PLAIN, T0 + dt.timedelta(milliseconds=500),
                 id="tag-fractional-seconds"),
    pytest.param(f"\\s:FM7,c:{T0_UNIX}*00\\" + PLAIN, T0, id="tag-checksum-placeholder-00"),
    pytest.param(f"\\c:{T0_UNIX}\\" + PLAIN, T0, id="tag-without-checksum"),
    pytest.param(tag("g:1-1-77,s:rx1") + PLAIN, None, id="tag-without-c"),
    pytest.param(f"2024-01-05T12:00:00Z {PLAIN}", T0, id="iso-Z-space"),
    pytest.param(f"2024-01-05T12:00:00.250Z;{PLAIN}", T0 + dt.timedelta(milliseconds=250),
                 id="iso-fraction-semicolon"),
    pytest.param(f"2024-01-05 12:00:00 {PLAIN}", T0, id="iso-space-naive-is-utc"),
    pytest.param(f"2024-01-05T14:00:00+02:00 {PLAIN}", T0, id="iso-offset"),
    pytest.param(f"{T0_UNIX};{PLAIN}", T0, id="unix-semicolon"),
    pytest.param(f"{T0_UNIX} {PLAIN}", T0, id="unix-space"),
    pytest.param(f"{T0_UNIX}000\t{PLAIN}", T0, id="unix-ms-tab"),
    pytest.param(f"{PLAIN},d-109,S2105,t120000.00,T00.1,r003669946,{T0_UNIX}", T0, id="uscg"),
    pytest.param(f"{PLAIN},d-109,S2105,t120000.00,T00.1,r003669946,{T0_UNIX},{T0_UNIX - 59}", T0,
                 id="uscg-two-numbers-first-wins"),
    pytest.param(f"{PLAIN},b003669794,{T0_UNIX}", T0, id="uscg-short"),
    pytest.param(f"{PLAIN},r08ACERDC", None, id="uscg-without-time"),
    # priorities: tag block > prefix > USCG trailer
    pytest.param(f"{T0_UNIX + 60};" + tag(f"c:{T0_UNIX}") + PLAIN, T0, id="tag-beats-prefix"),
    pytest.param(f"{T0_UNIX} {PLAIN},r003669946,{T0_UNIX + 60}", T0, id="prefix-beats-uscg"),
    pytest.param(f"{T0_UNIX};" + bad_tag(f"c:{T0_UNIX + 60}") + PLAIN, T0, id="bad-tag-falls-back-to-prefix"),
])
def test_timestamp_sources(tmp_path: Path, line: str, expected: dt.datetime | None) -> None:
    assert xor_hex(f"s:FM7,c:{T0_UNIX}") != "00"  # the placeholder case really is one
    chunk = read(tmp_path, [line])
    assert chunk.quarantine.height == 0
    row = chunk.positions.row(0, named=True)
    assert (row["ts_utc"], row["ts_error"], row["ts_text"]) == (expected, None, None)
    assert row["mmsi"] == MMSI and row["raw"] == line


@pytest.mark.parametrize(("line", "ts_text"), [
    pytest.param(bad_tag(f"s:rx1,c:{T0_UNIX}") + PLAIN,
                 f"tag block {bad_tag(f's:rx1,c:{T0_UNIX}')} (checksum mismatch)", id="tag-checksum-mismatch"),
    pytest.param(tag("c:yesterday") + PLAIN, f"tag block \\c:yesterday*{xor_hex('c:yesterday')}\\ "
                 "(c: is not a UNIX time)", id="tag-c-not-a-number"),
    pytest.param(f"2024-13-45 99:00:00 {PLAIN}", "2024-13-45 99:00:00", id="prefix-impossible-date"),
    pytest.param(f"05/01/2024 12:00 {PLAIN}", "05/01/2024 12:00", id="prefix-not-iso"),
    pytest.param(f"rx7;{PLAIN}", "rx7", id="prefix-not-a-time"),
])
def test_unusable_timestamp_is_flagged(tmp_path: Path, line: str, ts_text: str) -> None:
    chunk = read(tmp_path, [line], {"default_time": T0})  # never papers over a bad timestamp
    row = chunk.positions.row(0, named=True)
    assert (row["ts_utc"], row["ts_error"], row["ts_text"]) == (None, "bad_timestamp", ts_text)
    _, quarantine = validate_positions(chunk.positions, load_config(), NOW)
    assert quarantine.select("record_no", "reason").rows() == [(1, "bad_timestamp")]
    assert ts_text in quarantine["detail"][0]


def test_gatehouse_wrapper_dates_the_next_sentence(tmp_path: Path) -> None:
    wrapper = nmea("PGHP,1,2024,1,5,12,0,0,250,338,2,,1,09", start="$")
    corrupt = wrapper[:-2] + ("00" if wrapper[-2:] != "00" else "01")
    chunk = read(tmp_path, [wrapper, pos(), "", pos(), corrupt, pos(), nmea("PGHP,1,2024,13,5,0,0,0,0,1,2,,1,09", "$"), pos()])
    assert ts(chunk) == [T0 + dt.timedelta(milliseconds=250), None, None, None]
    assert chunk.positions["ts_error"].to_list() == [None, None, "bad_timestamp", "bad_timestamp"]
    assert chunk.positions["ts_text"][2] == f"{corrupt} (checksum mismatch)"
    assert chunk.skipped_by_kind == {"other_sentence": 3, "blank": 1}


def test_default_time_only_where_no_timestamp(tmp_path: Path) -> None:
    lines = [pos(), tag(f"c:{T0_UNIX + 60}") + pos(), *type5(), f"xx;{pos()}"]
    chunk = read(tmp_path, lines, {"default_time": T0})
    assert ts(chunk) == [T0, T0 + dt.timedelta(seconds=60), None]
    assert ts(chunk, "identities") == [T0]
    assert ts(read(tmp_path, lines)) == [None, T0 + dt.timedelta(seconds=60), None]
    _, quarantine = validate_identities(read(tmp_path, lines).identities, load_config(), NOW)
    assert quarantine["reason"].to_list() == ["no_timestamp"]
    later = read(tmp_path, [pos()], {"default_time": "2024-01-05T12:00:00+00:00"})
    assert ts(later) == [T0]


@pytest.mark.parametrize("bad", [dt.datetime(2024, 1, 5), "2024-01-05T12:00:00", "noon", 12])
def test_default_time_must_be_aware(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(InputError, match="default_time"):
        read(tmp_path, [pos()], {"default_time": bad})


def test_multipart_takes_first_fragment_time(tmp_path: Path) -> None:
    first, second = type5()
    chunk = read(tmp_path, [tag(f"g:1-2-9,c:{T0_UNIX}") + first, tag("g:2-2-9") + second])
    assert ts(chunk, "identities") == [T0]
    chunk = read(tmp_path, [first, f"{T0_UNIX};{second}"])
    assert ts(chunk, "identities") == [T0]


# ---- framing errors ----------------------------------------------------------------------
def test_checksum_error_is_quarantined(tmp_path: Path) -> None:
    first, second = type5()
    bad = break_checksum(PLAIN)
    chunk = read(tmp_path, [bad, pos(), break_checksum(first), second,
                            f"{T0_UNIX};{break_checksum(PLAIN)},r1,{T0_UNIX}"])
    assert reasons(chunk) == [(1, "bad_checksum"), (3, "bad_checksum"), (4, "orphan_fragment"),
                              (5, "bad_checksum")]
    row = chunk.quarantine.row(0, named=True)
    assert row["raw"] == bad
    assert row["detail"] == f"checksum {int(bad[-2:], 16):02X} in the sentence, {PLAIN[-2:]} computed"
    assert chunk.positions["record_no"].to_list() == [2]


@pytest.mark.parametrize(("line", "detail"), [
    (PLAIN[:25], "no '*' checksum (sentence truncated?)"),
    (PLAIN[:-1], "checksum after '*' is not two hex digits"),
    (PLAIN[:-2] + "G1", "checksum after '*' is not two hex digits"),
    (PLAIN + "junk", "unexpected text after the checksum"),
    (nmea("AIVDM,1,1,,A," + PLAIN_BODY.split(",")[5]), "6 fields, 7 expected"),
    (nmea(PLAIN_BODY + ",extra"), "8 fields, 7 expected"),
    (nmea(PLAIN_BODY.replace("VDM,1,1,", "VDM,2,3,")), "fragment number '3' is not 1..2"),
    (nmea(PLAIN_BODY.replace("VDM,1,1,", "VDM,0,1,")), "fragment count '0' is not 1..9"),
    (nmea(PLAIN_BODY.replace("VDM,1,1,", "VDM,x,1,")), "fragment count 'x' is not 1..9"),
    (nmea(PLAIN_BODY[:-1] + "7"), "fill bits '7' is not 0..5"),
    (nmea(PLAIN_BODY.replace("VDM,1,1,,", "VDM,1,1,q,")), "sequential message id 'q' is not a number"),
    ("hello world", "no NMEA sentence in the line (no '!', '$' or tag block)"),
    ("\\c:1704456000*07" + PLAIN, "tag block not closed with '\\'"),
    (tag(f"c:{T0_UNIX}"), "empty sentence after a tag block"),
    (tag(f"c:{T0_UNIX}") + "AIVDM,1,1", "text is not an NMEA sentence"),
])
def test_malformed_sentences(tmp_path: Path, line: str, detail: str) -> None:
    chunk = read(tmp_path, [pos(), line])
    assert chunk.quarantine.select("record_no", "reason", "detail", "raw").rows() == [
        (2, "malformed_sentence", detail, line)]
    assert chunk.positions.height == 1


def test_bad_checksum_wins_over_broken_fields(tmp_path: Path) -> None:
    broken = PLAIN.replace(",1,1,", ",1,5,", 1)  # fields broken *and* checksum now wrong
    assert reasons(read(tmp_path, [broken])) == [(1, "bad_checksum")]


def test_non_utf8_line(tmp_path: Path) -> None:
    lines: list[str | bytes] = [pos(), PLAIN.encode()[:20] + b"\xff\xfe" + PLAIN.encode()[22:],
                                "# comment with UTF-8: Sø", pos()]
    chunk = read(tmp_path, lines)
    row = chunk.quarantine.row(0, named=True)
    assert (row["record_no"], row["reason"]) == (2, "invalid_utf8")
    assert "\ufffd" in row["raw"] and row["raw"].startswith(PLAIN[:20])
    assert chunk.positions["record_no"].to_list() == [1, 4]
    assert chunk.skipped_by_kind == {"comment": 1}


def test_raw_is_truncated(tmp_path: Path) -> None:
    long_line = "x" * 500
    chunk = read(tmp_path, [long_line, pos()], quarantine_raw_max_chars=80)
    assert chunk.quarantine["raw"][0] == "x" * 80


def test_decode_errors(tmp_path: Path) -> None:
    payload = PLAIN_BODY.split(",")[5]
    lines = [
        nmea("AIVDM,1,1,,B,,0"),  # empty payload
        nmea(f"AIVDM,1,1,,A,{payload[:-2]}~~,0"),  # "~" is not six-bit armour
        nmea(f"AIVDM,1,1,,A,{payload[:20]},0"),  # 120 bits: type 1 needs 137
        nmea("AIVDM,1,1,,A,H52MJh1<D6098DE`D0,0"),  # type 24 part A cut in the name (108 bits)
        nmea("AIVDM,1,1,,A,H52MJh8U000000,0"),  # type 24 part number 2: no such part
        nmea(f"AIVDM,1,1,,A,X{payload[1:]},0"),  # "X" is not armour, so not a message type
        pos(),
    ]
    chunk = read(tmp_path, lines)
    assert chunk.quarantine.select("record_no", "reason").rows() == [
        (i, "decode_error") for i in range(1, 7)]
    details = chunk.quarantine["detail"].to_list()
    assert details[0] == "empty payload"
    assert details[1].startswith("payload characters outside the AIS six-bit armour")
    assert details[2] == "payload of message type 1 has 120 bits, at least 137 needed"
    assert details[3] == "payload of message type 24 part A has 108 bits, at least 160 needed"
    assert details[4].startswith("pyais: UnknownPartNoException")
    assert details[5] == "payload characters outside the AIS six-bit armour: 'X'"
    assert chunk.positions["record_no"].to_list() == [7]


# ---- what is skipped -------------------------------------------------------------------------
def test_skipped_and_counted(tmp_path: Path) -> None:
    lines = [
        "# a comment", "", "   ",
        nmea("GPRMC,120000,A,4807.038,N,01131.000,E,022.4,084.4,050124,003.1,W", "$"),
        nmea("GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "$"),
        nmea("PGHP,1,2024,1,5,12,0,0,0,338,2,,1,09", "$"),
        nmea("AIALR,120000,001,A,V,AIS: general failure"),
        *enc({"msg_type": 4, "mmsi": 3669702, "year": 2024, "month": 1, "day": 5}),
        *enc({"msg_type": 21, "mmsi": 993692016, "name": "BUOY", "lat": 1, "lon": 2}),
        *enc({"msg_type": 8, "mmsi": MMSI, "data": b"\x01" * 100}, seq=4),  # 3 fragments
        pos(),
    ]
    chunk = read(tmp_path, lines)
    assert chunk.skipped_by_kind == {"comment": 1, "blank": 2, "other_sentence": 4,
                                     "non_position_type": 3}
    assert chunk.skipped == 10 and chunk.records_read == len(lines)
    assert chunk.quarantine.height == 0 and chunk.positions["record_no"].to_list() == [len(lines)]


# ---- multi-sentence assembly ------------------------------------------------------------------
def test_type5_fields(tmp_path: Path) -> None:
    lines = type5() + type5(mmsi=211000000, month=0) + type5(mmsi=212000000, hour=24)
    chunk = read(tmp_path, lines)
    row = chunk.identities.row(0, named=True)
    assert row == row | {
        "mmsi": MMSI, "imo": 9383663, "name": "RUTH THERESA", "call_sign": "9HMQ9",
        "ship_type": 80, "transceiver_class": "A", "to_bow_m": 78, "to_stern_m": 23,
        "to_port_m": 1, "to_starboard_m": 17, "destination": "BOSTON,USA",
        "eta_text": "12-30 16:30", "record_no": 1, "raw": "\n".join(lines[:2]),
    }
    assert row["draught_m"] == pytest.approx(7.8)
    assert chunk.identities["eta_text"].to_list() == ["12-30 16:30", None, None]
    assert chunk.identities["record_no"].to_list() == [1, 3, 5]


def test_interleaved_channels_and_sequence_ids(tmp_path: Path) -> None:
    a1, a2 = type5(mmsi=211000001, seq=3, channel="A")
    b1, b2 = type5(mmsi=211000002, seq=3, channel="B")
    c1, c2 = type5(mmsi=211000003, seq=4, channel="A")
    lines = [a1, b1, c1, pos(), b2, c2, a2]
    chunk = read(tmp_path, lines)
    assert chunk.quarantine.height == 0
    assert chunk.identities.select("mmsi", "record_no").sort("record_no").rows() == [
        (211000001, 1), (211000002, 2), (211000003, 3)]
    assert chunk.identities.filter(pl.col("mmsi") == 211000002)["raw"][0] == f"{b1}\n{b2}"


def test_fragments_out_of_order(tmp_path: Path) -> None:
    first, second = type5()
    chunk = read(tmp_path, [second, first])
    assert chunk.identities.select("name", "record_no").rows() == [("RUTH THERESA", 2)]
    assert chunk.identities["raw"][0] == f"{first}\n{second}"


def test_orphans(tmp_path: Path) -> None:
    second = type5(seq=1)[1]
    other1 = type5(seq=2)[0]
    chunk = read(tmp_path, [second, pos(), other1])
    assert chunk.identities.height == 0 and chunk.positions.height == 1
    assert chunk.quarantine.select("record_no", "reason").rows() == [
        (1, "orphan_fragment"), (3, "orphan_fragment")]
    assert chunk.quarantine["detail"].to_list() == [
        "fragment 2 of 2 (sequence id 1, channel A): message still incomplete at end of file",
        "fragment 1 of 2 (sequence id 2, channel A): message still incomplete at end of file",
    ]
    assert chunk.quarantine["raw"].to_list() == [second, other1]


def test_duplicate_fragment_number(tmp_path: Path) -> None:
    first, second = type5()
    retry = type5(shipname="SECOND TRY")[0]  # the name lies in the first fragment
    chunk = read(tmp_path, [first, retry, second])
    assert chunk.quarantine.select("record_no", "reason").rows() == [(1, "orphan_fragment")]
    assert chunk.quarantine["detail"][0].endswith(
        "fragment 1 arrived again before the message was complete")
    assert chunk.identities.select("name", "record_no").rows() == [("SECOND TRY", 2)]


def test_fragment_window(tmp_path: Path) -> None:
    first, second = type5()
    # the partner may come `window` sentences later, not one more; comments do not count
    inside = read(tmp_path, [first, pos(), "# not a sentence", second], nmea_fragment_window_sentences=2)
    assert inside.identities.height == 1 and inside.quarantine.height == 0
    late = read(tmp_path, [first, pos(), pos(), second], nmea_fragment_window_sentences=2)
    assert late.identities.height == 0
    assert late.quarantine.select("record_no", "reason").rows() == [
        (1, "orphan_fragment"), (4, "orphan_fragment")]
    assert late.quarantine["detail"][0].endswith("did not arrive within 2 sentences")
    assert late.positions["record_no"].to_list() == [2, 3]
    # invalid sentences still advance the window's clock
    broken = read(tmp_path, [first, break_checksum(pos()), pos(), second],
                  nmea_fragment_window_sentences=2)
    assert sorted(reasons(broken)) == [(1, "orphan_fragment"), (2, "bad_checksum"),
                                       (4, "orphan_fragment")]


def test_empty_sequence_id_needs_adjacency(tmp_path: Path) -> None:
    first, second = (without_sequence_id(s) for s in type5())
    assert first.split(",")[3] == ""
    adjacent = read(tmp_path, [first, second])
    assert adjacent.identities["record_no"].to_list() == [1]
    b_only = enc({"msg_type": 1, "mmsi": 211000009, "lat": 1, "lon": 1}, channel="B")
    assert read(tmp_path, [first, *b_only, second]).identities["record_no"].to_list() == [1]
    interrupted = read(tmp_path, [first, pos(), second])
    assert sorted(reasons(interrupted)) == [(1, "orphan_fragment"), (3, "orphan_fragment")]
    assert "no sequence id" in interrupted.quarantine["detail"][0]


def test_spire_fragments_on_one_line(tmp_path: Path) -> None:
    first, second = type5(seq=1)
    assert xor_hex(f"c:{T0_UNIX},s:FM7") != "00"  # so "*00" below is the placeholder
    line = (f"\\c:{T0_UNIX},s:FM7*00\\{first}\\c:{T0_UNIX},s:FM7*00\\{second}")
    grouped = tag(f"g:1-2-5,c:{T0_UNIX}") + first + tag("g:2-2-5") + second
    chunk = read(tmp_path, [line, grouped])
    assert chunk.identities.select("mmsi", "ts_utc", "record_no", "raw").rows() == [
        (MMSI, T0, 1, line), (MMSI, T0, 2, grouped)]


def test_fragments_across_chunks(tmp_path: Path) -> None:
    first, second = type5()
    lines = [pos()] * 999 + [first, second] + [pos()] * 10
    chunks = read_chunks(tmp_path, lines, chunk_rows=1000)
    assert [c.records_read for c in chunks] == [1000, 11]
    assert chunks[0].identities.height == 0
    assert chunks[1].identities["record_no"].to_list() == [1000]
    assert chunks[1].positions["record_no"].to_list() == list(range(1002, 1012))


# ---- class B static data ---------------------------------------------------------------
def test_type19_gives_position_and_identity(tmp_path: Path) -> None:
    line = enc({"msg_type": 19, "mmsi": 338123456, "shipname": "SEA BREEZE II", "ship_type": 36,
                "to_bow": 9, "to_stern": 3, "to_port": 1, "to_starboard": 2, "lat": 50.1,
                "lon": -1.2, "speed": 5.2, "course": 90.5, "heading": 91})
    chunk = read(tmp_path, line, {"default_time": T0})
    assert chunk.positions.select("mmsi", "lat_deg", "lon_deg", "heading_deg", "nav_status",
                                  "msg_type", "record_no").rows() == [
        (338123456, 50.1, -1.2, 91, None, 19, 1)]
    assert chunk.identities.select("mmsi", "name", "call_sign", "ship_type", "transceiver_class",
                                   "to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m",
                                   "ts_utc", "record_no").rows() == [
        (338123456, "SEA BREEZE II", None, 36, "B", 9, 3, 1, 2, T0, 1)]


def test_type24_parts_are_merged(tmp_path: Path) -> None:
    part_a = enc({"msg_type": 24, "mmsi": 338123456, "partno": 0, "shipname": "SEA BREEZE"})
    part_b = enc({"msg_type": 24, "mmsi": 338123456, "partno": 1, "callsign": "WDX1234",
                  "ship_type": 37, "to_bow": 8, "to_stern": 4, "to_port": 2, "to_starboard": 2})
    other_b = enc({"msg_type": 24, "mmsi": 338000001, "partno": 1, "callsign": "OTHER",
                   "ship_type": 30})
    rename = enc({"msg_type": 24, "mmsi": 338123456, "partno": 0, "shipname": "SEA BREEZE 2"})
    type19 = enc({"msg_type": 19, "mmsi": 338123456, "shipname": "SEA BREEZE 3", "ship_type": 36,
                  "to_bow": 9, "to_stern": 3, "to_port": 1, "to_starboard": 2, "lat": 1, "lon": 1})
    chunk = read(tmp_path, [*part_a, *part_b, *other_b, *rename, *type19])
    assert chunk.identities.select("mmsi", "name", "call_sign", "ship_type", "to_bow_m",
                                   "transceiver_class", "imo", "record_no").rows() == [
        (338123456, "SEA BREEZE", None, None, None, "B", None, 1),
        (338123456, "SEA BREEZE", "WDX1234", 37, 8, "B", None, 2),
        (338000001, None, "OTHER", 30, 0, "B", None, 3),
        (338123456, "SEA BREEZE 2", "WDX1234", 37, 8, "B", None, 4),
        (338123456, "SEA BREEZE 3", "WDX1234", 36, 9, "B", None, 5),
    ]


def test_auxiliary_craft_part_b_has_no_dimensions(tmp_path: Path) -> None:
    part_b = enc({"msg_type": 24, "mmsi": 981234567, "partno": 1, "callsign": "AUX1",
                  "ship_type": 37, "mothership_mmsi": 338123456})
    row = read(tmp_path, part_b).identities.row(0, named=True)
    assert (row["call_sign"], row["to_bow_m"], row["to_starboard_m"]) == ("AUX1", None, None)


# ---- chunking and streaming --------------------------------------------------------------------
def test_chunking_counts_and_record_numbers(tmp_path: Path) -> None:
    block = [pos(), "# c", "", *type5(), pos(lat=91), break_checksum(PLAIN), pos(msg_type=3),
             *enc({"msg_type": 4, "mmsi": 3669702}), nmea("GPZDA,120000,05,01,2024,,", "$")]
    lines = block * 250  # 2500 lines
    path = write(tmp_path, lines)
    chunks = list(NmeaReader().read(path, config(chunk_rows=1000), {}))
    assert [c.records_read for c in chunks] == [1000, 1000, 500]
    sizes = [len(x.encode()) + 1 for x in lines]
    assert [c.bytes_read for c in chunks] == [sum(sizes[:1000]), sum(sizes[:2000]), path.stat().st_size]
    positions = pl.concat([c.positions for c in chunks])
    assert positions.height == 750
    expected = [i + 1 for i, x in enumerate(lines) if x in (pos(), pos(lat=91), pos(msg_type=3))]
    assert positions["record_no"].to_list() == expected
    assert all(c.positions["record_no"].is_between(1000 * k + 1, 1000 * (k + 1)).all()
               for k, c in enumerate(chunks))
    assert sum(c.identities.height for c in chunks) == 250
    assert sum(c.skipped for c in chunks) == 250 * 4
    assert sum(c.quarantine.height for c in chunks) == 250
    assert {k: sum(c.skipped_by_kind.get(k, 0) for c in chunks)
            for k in ("comment", "blank", "other_sentence", "non_position_type")} == {
        "comment": 250, "blank": 250, "other_sentence": 250, "non_position_type": 250}


def test_empty_file_yields_one_empty_chunk(tmp_path: Path) -> None:
    (chunk,) = read_chunks(tmp_path, [])
    assert (chunk.records_read, chunk.bytes_read, chunk.positions.height) == (0, 0, 0)


def test_file_that_is_not_nmea(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an NMEA log"):
        read(tmp_path, ["MMSI,BaseDateTime,LAT,LON", "367033650,2024-01-05T12:00:00,42.7,-70.3"])
    with pytest.raises(InputError, match="cannot open"):
        list(NmeaReader().read(tmp_path / "missing.nmea", load_config(), {}))


def test_position_decoder_can_be_replaced(tmp_path: Path) -> None:
    class Recording(PyaisPositionDecoder):
        def __init__(self) -> None:
            self.calls: list[list[bytes]] = []

        def decode(self, payloads: Sequence[bytes], fill_bits: Sequence[int],
                   sentences: Sequence[bytes]) -> pl.DataFrame:
            self.calls.append(list(sentences))
            out = super().decode(payloads, fill_bits, sentences)
            assert dict(out.schema) == POSITION_BATCH_SCHEMA
            return out

    decoder = Recording()
    path = write(tmp_path, [pos(), break_checksum(PLAIN), *type5(), f"{pos(msg_type=18)},r1,{T0_UNIX}"])
    (chunk,) = NmeaReader(decoder).read(path, load_config(), {})
    # single-sentence position reports only, checksum-checked, USCG trailer cut off
    assert decoder.calls == [[pos().encode(), pos(msg_type=18).encode()]]
    assert chunk.positions["record_no"].to_list() == [1, 5]


# ---- sniffing ----------------------------------------------------------------------------
@pytest.mark.parametrize("head", [
    PLAIN + "\r\n" + PLAIN,
    "# header comment\n\n" + tag(f"c:{T0_UNIX}") + PLAIN + "\n",
    f"2024-01-05T12:00:00Z {PLAIN}\n2024-01-05 12:00:01 {PLAIN}\n",
    f"{T0_UNIX};{PLAIN}\n{T0_UNIX}000 {PLAIN}\n",
    "$PGHP,1,2008,5,9,0,0,0,10,338,2,,1,09*17\n" + PLAIN + "\n",
    f"\\c:{T0_UNIX},s:FM112*00\\{type5()[0]}\\g:2-1-1*00\\{type5()[1]}\n",
])
def test_sniff_accepts_nmea(head: str) -> None:
    assert NmeaReader().sniff(Path("x.txt"), head.encode())


@pytest.mark.parametrize("head", [
    "",
    "MMSI,BaseDateTime,LAT,LON\n367033650,2024-01-05T12:00:00,42.7,-70.3\n",
    f"mmsi,nmea\n{MMSI},{PLAIN}\n{MMSI},{PLAIN}\n{MMSI},{PLAIN}\n",
    "$GPRMC,120000,A,4807.038,N,01131.000,E,022.4,084.4,050124,003.1,W*6A\n",
    '{"mmsi": 235070716, "raw": "' + PLAIN + '"}\n',
    "\x1f\x8b\x08\x00binary",
])
def test_sniff_rejects_other_formats(head: str) -> None:
    assert not NmeaReader().sniff(Path("x.nmea"), head.encode())


# ---- robustness ---------------------------------------------------------------------------
_POOL = [
    PLAIN, pos(msg_type=3, lat=91, lon=181), *type5(), *type5(seq=None),
    *(without_sequence_id(s) for s in type5()),
    tag(f"s:rx1,c:{T0_UNIX}") + pos(msg_type=18), f"{T0_UNIX};{PLAIN}", f"{PLAIN},r003669946,{T0_UNIX}",
    nmea("PGHP,1,2024,1,5,12,0,0,0,338,2,,1,09", "$"), "# comment", "",
    *enc({"msg_type": 24, "mmsi": 338123456, "partno": 0, "shipname": "SEA BREEZE"}),
    *enc({"msg_type": 19, "mmsi": 338123456, "shipname": "X", "lat": 1, "lon": 1}),
    *enc({"msg_type": 27, "mmsi": MMSI, "lat": 50.0, "lon": -4.0}),
]


def _mutate(line: str, at: int, new: bytes) -> bytes:
    raw = line.encode()
    at = at % (len(raw) + 1)
    return raw[:at] + new + raw[at + 1:]


_NOISY_LINE = st.one_of(
    st.sampled_from(_POOL).map(str.encode),
    st.builds(_mutate, st.sampled_from(_POOL), st.integers(0, 200),
              st.binary(max_size=3).filter(lambda b: b"\n" not in b)),
    st.builds(lambda line, n: line.encode()[:n], st.sampled_from(_POOL), st.integers(0, 80)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NOISY_LINE, max_size=30))
def test_noise_never_breaks_the_reader(lines: list[bytes]) -> None:
    lines = [PLAIN.encode(), *lines]  # at least one sentence, so the file is an NMEA log
    with tempfile.TemporaryDirectory() as tmp:
        chunk = read(Path(tmp), lines, nmea_fragment_window_sentences=5)
    n = len(lines)
    assert chunk.records_read == n
    for frame in (chunk.positions, chunk.identities, chunk.quarantine):
        assert frame["record_no"].is_between(1, n).all()
    assert set(chunk.quarantine["reason"]) <= set(REASONS)
    valid_positions = {i for i, x in enumerate(lines, 1)
                       if x.decode("utf-8", "replace").strip() in {PLAIN, pos(msg_type=3, lat=91, lon=181)}}
    assert valid_positions <= set(chunk.positions["record_no"])
    assert chunk.positions["ts_utc"].dtype == pl.Datetime("us", "UTC")
