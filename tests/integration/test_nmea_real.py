"""The NMEA reader on real AIS logs, checked against an independent decode with pyais.

The reference side never calls the reader's code: it frames lines with one regular
expression, checks checksums with its own XOR, lets pyais's stream assembler
(:class:`pyais.IterMessages`) join fragments and pyais decode them. The reader's documented
normalisations are then applied to pyais's values:

* speed/course/heading "not available" codes become None (102.3 kn, 360 deg, 511; message 27:
  63 kn, 511 deg; message 27 has no heading);
* a message shorter than its ITU-R M.1371-5 length is a ``decode_error`` (pyais would read
  part of a field as a value), as is an empty payload;
* message types other than 1, 2, 3, 5, 18, 19, 24, 27 are skipped as ``non_position_type``;
* fragments pyais's assembler could not join are ``orphan_fragment`` quarantines.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any

import pytest
from pyais import FileReaderStream, IterMessages
from pyais.exceptions import MissingPayloadException

from sanctionwatch.config import load_config
from sanctionwatch.ingest.base import RawChunk
from sanctionwatch.ingest.nmea import NmeaReader
from tests.conftest import TEST_DATA, shared_file

UTC = dt.UTC
DATA = TEST_DATA / "nmea"
COPIED = sorted(p.name for p in DATA.iterdir() if p.name != "ATTRIBUTION.md")
AGPL = "nmea/aisdb_test_data_20211101.nm4"  # not redistributable: read from ../shared
FILES = [*COPIED, pytest.param(f"shared:{AGPL}", marks=pytest.mark.shared, id="aisdb_test_data")]

# optional tag block, then a VDM/VDO sentence up to its two checksum digits
SENTENCE = re.compile(r"(?:\\([^\\]*)\\)?(![A-Z]{2}VD[MO],[^*\\]*\*([0-9A-Fa-f]{2}))")
TAG_TIME = re.compile(r"(?:^|,)c:(\d+)")
# ITU-R M.1371-5 message lengths in bits (type 24 per part)
STANDARD_BITS = {1: 168, 2: 168, 3: 168, 18: 168, 19: 312, 27: 96, 5: 424, 24: (160, 168)}
POSITION_TYPES = {1, 2, 3, 18, 19, 27}
STATIC_TYPES = {5, 19, 24}


def path_of(name: str) -> Path:
    return shared_file(name.removeprefix("shared:")) if name.startswith("shared:") else DATA / name


def read_all(path: Path) -> RawChunk:
    return RawChunk.combine(NmeaReader().read(path, load_config(), {}))


def position_key(mmsi: int, lat: float, lon: float, sog: float | None, cog: float | None,
                 heading: int | None) -> tuple[Any, ...]:
    return (mmsi, round(lat, 6), round(lon, 6), None if sog is None else round(sog, 1),
            None if cog is None else round(cog, 1), heading)


@dataclass
class Reference:
    positions: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    identities: Counter[int] = field(default_factory=Counter)  # per MMSI
    quarantine: Counter[str] = field(default_factory=Counter)
    non_position_messages: int = 0
    tag_time_by_line: dict[int, dt.datetime] = field(default_factory=dict)
    lines: int = 0


def reference(path: Path) -> Reference:
    ref = Reference()
    sentences: list[bytes] = []
    lines = path.read_bytes().splitlines()
    ref.lines = len(lines)
    for line_no, raw in enumerate(lines, 1):
        for match in SENTENCE.finditer(raw.decode("utf-8")):
            tag, sentence, check = match.groups()
            body = sentence[1:sentence.index("*")]
            if reduce(xor, body.encode(), 0) != int(check, 16):
                ref.quarantine["bad_checksum"] += 1
                continue
            sentences.append(sentence.encode())
            c_time = TAG_TIME.search(tag or "")
            if c_time and line_no not in ref.tag_time_by_line:
                ref.tag_time_by_line[line_no] = dt.datetime.fromtimestamp(int(c_time[1]), UTC)
    fragments = sum(1 for s in sentences if s.split(b",")[1] != b"1")
    messages = list(IterMessages(sentences))
    ref.quarantine["orphan_fragment"] = fragments - sum(m.frag_cnt for m in messages if m.frag_cnt > 1)
    for msg in messages:
        try:
            decoded = msg.decode()
        except MissingPayloadException:
            ref.quarantine["decode_error"] += 1
            continue
        kind = decoded.msg_type
        if kind not in POSITION_TYPES | STATIC_TYPES:
            ref.non_position_messages += 1
            continue
        standard = STANDARD_BITS[kind]
        if kind == 24:
            standard = standard[decoded.partno]
        if len(msg.bv) < standard:
            ref.quarantine["decode_error"] += 1
            continue
        if kind in STATIC_TYPES:
            ref.identities[decoded.mmsi] += 1
        if kind in POSITION_TYPES:
            long_range = kind == 27
            sog = None if decoded.speed == (63 if long_range else 102.3) else decoded.speed
            cog = None if decoded.course == (511 if long_range else 360) else decoded.course
            heading = None if long_range or decoded.heading == 511 else decoded.heading
            ref.positions[position_key(decoded.mmsi, decoded.lat, decoded.lon, sog, cog, heading)] += 1
    ref.quarantine = +ref.quarantine  # drop zero counts
    return ref


@pytest.mark.parametrize("name", FILES)
def test_matches_independent_pyais_decode(name: str) -> None:
    path = path_of(name)
    got = read_all(path)
    ref = reference(path)
    positions = Counter(position_key(*row) for row in got.positions.select(
        "mmsi", "lat_deg", "lon_deg", "sog_knots", "cog_deg", "heading_deg").iter_rows())
    assert positions == ref.positions
    assert Counter(got.identities["mmsi"].to_list()) == ref.identities
    assert Counter(got.quarantine["reason"].to_list()) == ref.quarantine
    assert got.skipped_by_kind.get("non_position_type", 0) == ref.non_position_messages
    assert got.records_read == ref.lines
    assert got.bytes_read == path.stat().st_size
    # every record number is a real line; every quarantined raw text is that line
    lines = path.read_bytes().decode().splitlines()
    for row in got.quarantine.iter_rows(named=True):
        assert row["raw"] == lines[row["record_no"] - 1].strip()


@pytest.mark.parametrize("name", [n for n in FILES if "tag" in str(n) or "spire" in str(n)
                                  or "aisdb" in str(n)])
def test_tag_block_times(name: str) -> None:
    path = path_of(name)
    got = read_all(path)
    ref = reference(path)
    assert ref.tag_time_by_line
    for table in (got.positions, got.identities):
        for record_no, ts_utc in table.select("record_no", "ts_utc").iter_rows():
            assert ts_utc == ref.tag_time_by_line[record_no]


@pytest.mark.parametrize("name", ["libais_typeexamples.nmea", "libais_test.aivdm"])
def test_uscg_trailer_times(name: str) -> None:
    """Logger time: the first bare number after the checksum (libais's ``ais/uscg.py`` rule)."""
    path = DATA / name
    lines = path.read_text().splitlines()
    got = read_all(path)
    assert got.positions.height > 0
    for record_no, ts_utc, ts_error in got.positions.select("record_no", "ts_utc", "ts_error").iter_rows():
        trailer = lines[record_no - 1].split("*", 1)[1].split(",")[1:]
        first_number = next(int(f) for f in trailer if f.isdigit())
        assert (ts_utc, ts_error) == (dt.datetime.fromtimestamp(first_number, UTC), None)


def test_gatehouse_times_match_pyais() -> None:
    path = DATA / "pyais_gatehouse.nmea"
    with FileReaderStream(path) as stream:
        wrapped = [m.wrapper_msg for m in stream]
    got = read_all(path).positions.sort("record_no")
    assert got.height == len(wrapped) == 4
    for (ts_utc, ts_error, ts_text), wrapper in zip(
            got.select("ts_utc", "ts_error", "ts_text").iter_rows(), wrapped, strict=True):
        if wrapper is None:
            assert (ts_utc, ts_error) == (None, None)
        elif wrapper.checksum == reduce(xor, wrapper.raw[1:wrapper.raw.index(b"*")], 0):
            assert ts_utc == wrapper.timestamp.replace(tzinfo=UTC)
        else:  # pyais does not check the wrapper's checksum; the reader distrusts the time
            assert (ts_utc, ts_error) == (None, "bad_timestamp")
            assert ts_text == f"{wrapper.raw.decode()} (checksum mismatch)"
    assert read_all(path).skipped_by_kind == {"other_sentence": 4, "blank": 2, "comment": 1}


def test_known_values_checked_by_hand() -> None:
    sample = read_all(DATA / "pyais_nmea_data_sample.txt")
    first = sample.positions.row(0, named=True)
    # !AIVDM,1,1,,A,33P;Tw0tjBQO22:E7dm66DrB20UP,0*2E
    assert first | {"lat_deg": round(first["lat_deg"], 6)} == first | {
        "mmsi": 235070716, "lat_deg": 36.910433, "lon_deg": 20.760008, "heading_deg": 157,
        "nav_status": 0, "msg_type": 3, "accuracy": True, "record_no": 1, "ts_utc": None,
        "raw": "!AIVDM,1,1,,A,33P;Tw0tjBQO22:E7dm66DrB20UP,0*2E"}
    assert (first["sog_knots"], first["cog_deg"]) == (pytest.approx(14.6), pytest.approx(156.1))
    # 100 lines "!AIVDM,1,1,,B,,0*25" (empty payload); 20 first fragments of type 5 without
    # their second fragment (19 stay pending 100 sentences, the last 2 until the end of file)
    assert Counter(sample.quarantine["reason"].to_list()) == {"decode_error": 100, "orphan_fragment": 20}

    examples = read_all(DATA / "libais_typeexamples.nmea").identities.row(0, named=True)
    assert examples == examples | {
        "mmsi": 249190000, "imo": 9383663, "name": "RUTH THERESA", "call_sign": "9HMQ9",
        "ship_type": 80, "transceiver_class": "A", "to_bow_m": 78, "to_stern_m": 23,
        "to_port_m": 1, "to_starboard_m": 17, "destination": "BOSTON,USA",
        "eta_text": "12-30 16:30", "record_no": 3,
        "ts_utc": dt.datetime(2012, 1, 1, 5, 1, 5, tzinfo=UTC),
    }
    assert examples["draught_m"] == pytest.approx(7.8)

    tagblock = read_all(DATA / "libais_tagblock.nmea")
    assert tagblock.identities.select("mmsi", "name", "call_sign", "record_no", "ts_utc").rows() == [
        (219005012, "ROSINANTE", "XPD5019", 1, dt.datetime(2014, 12, 10, 0, 0, 1, tzinfo=UTC))]
    assert tagblock.positions["record_no"].to_list() == [2, 4, 5]

    spire = read_all(DATA / "gfw_aistools_spire-test.nmea")
    # tag checksums are the "*00" placeholder (the real one is 0E): times are still used
    assert spire.identities.select("mmsi", "record_no", "ts_utc").rows() == [
        (2424139, 1, dt.datetime(2022, 9, 1, 17, 13, 4, tzinfo=UTC)),
        (2424139, 2, dt.datetime(2022, 9, 1, 17, 13, 4, tzinfo=UTC))]
    assert spire.quarantine.height == 0

    libais = read_all(DATA / "libais_test.aivdm")
    assert libais.skipped_by_kind["comment"] == 47 and libais.skipped_by_kind["blank"] == 35
    # seven "K" messages of 48-88 bits: too short for message 27 (96 bits)
    assert libais.quarantine["detail"].str.starts_with("payload of message type 27 has").sum() == 7


@pytest.mark.shared
def test_aisdb_known_values() -> None:
    got = read_all(shared_file(AGPL))
    assert got.positions["msg_type"][0] == 27  # line 2: Kn9`@i0DCuB@o01T
    first = got.positions.row(1, named=True)
    # line 4: \s:41925,c:1635731889,t:1635731965*66\!AIVDM,1,1,,,15Di=4002i<chWiba2`rPpD:04;`,0*37
    assert (first["record_no"], first["mmsi"], first["lat_deg"], first["lon_deg"],
            first["heading_deg"], first["msg_type"]) == (4, 357322000, -37.327088, 177.331613, 266, 1)
    assert (first["sog_knots"], first["cog_deg"]) == (pytest.approx(17.7), pytest.approx(269.1))
    assert first["ts_utc"] == dt.datetime(2021, 11, 1, 1, 58, 9, tzinfo=UTC)
    assert got.quarantine.height == 0
    assert got.skipped_by_kind == {"blank": 3, "non_position_type": 20}


@pytest.mark.parametrize("name", FILES)
def test_sniff_recognises_real_logs(name: str) -> None:
    path = path_of(name)
    with path.open("rb") as fh:
        assert NmeaReader().sniff(path, fh.read(64 * 1024))


@pytest.mark.shared
@pytest.mark.parametrize("name", ["ais/marinecadastre_AIS_2022_01_03_sample.csv",
                                  "ais/aisdb_test_data_20210701.csv",
                                  "ports/nga_world_port_index_pub150.csv"])
def test_sniff_rejects_real_csv(name: str) -> None:
    path = shared_file(name)
    with path.open("rb") as fh:
        assert not NmeaReader().sniff(path, fh.read(64 * 1024))
