"""The vectorised position decoder is bit-identical to pyais.

pyais is the oracle throughout: every payload is decoded by both, and every field pyais gives
(spare fields included) is compared for value *and* Python type (``int``/``float``/``bool``/
``bytes``/enum; floats by their exact bits). The inputs:

* every message of every real NMEA file (``tests/data/nmea`` and ``../shared/data/nmea``);
* a generated corpus of 200,000 payloads built bit by bit with the ITU-R M.1371-5 layouts
  (independently of the decoder's tables): edge values of every field (0, 1, the maximum,
  the sign boundaries, "not available" codes, lat 91 / lon 181, negative coordinates,
  turn -128/-127/127...), every value of every field up to 12 bits wide, random values, and
  payloads the decoder must leave to pyais (other lengths, fill bits, other types, characters
  outside the armour, empty);
* hypothesis: random field values, and random payload strings.

The ingest adapter (:class:`VectorisedPositionDecoder`) is checked against
:class:`PyaisPositionDecoder` frame for frame, and the NMEA reader with each decoder gives the
same chunks on the real files.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pyais import IterMessages, NMEAMessage
from pyais.exceptions import AISBaseException
from pyais.messages import to_turn

from sanctionwatch.config import load_config
from sanctionwatch.ingest.ais_fast import FAST_TYPES, TYPE_FIELDS, FastPositions, decode_positions
from sanctionwatch.ingest.base import RawChunk
from sanctionwatch.ingest.nmea import NmeaReader
from sanctionwatch.ingest.nmea_decode import PyaisPositionDecoder, VectorisedPositionDecoder
from tests.conftest import TEST_DATA, shared_file

# ---- an independent bit packer (ITU-R M.1371-5 Annex 8 layouts: field, width, signed) -------
LAYOUTS: dict[int, list[tuple[str, int, bool]]] = {
    1: [("msg_type", 6, False), ("repeat", 2, False), ("mmsi", 30, False), ("status", 4, False),
        ("turn", 8, True), ("speed", 10, False), ("accuracy", 1, False), ("lon", 28, True),
        ("lat", 27, True), ("course", 12, False), ("heading", 9, False), ("second", 6, False),
        ("maneuver", 2, False), ("spare_1", 3, False), ("raim", 1, False), ("radio", 19, False)],
    18: [("msg_type", 6, False), ("repeat", 2, False), ("mmsi", 30, False), ("reserved_1", 8, False),
         ("speed", 10, False), ("accuracy", 1, False), ("lon", 28, True), ("lat", 27, True),
         ("course", 12, False), ("heading", 9, False), ("second", 6, False), ("reserved_2", 2, False),
         ("cs", 1, False), ("display", 1, False), ("dsc", 1, False), ("band", 1, False),
         ("msg22", 1, False), ("assigned", 1, False), ("raim", 1, False), ("radio", 20, False)],
    27: [("msg_type", 6, False), ("repeat", 2, False), ("mmsi", 30, False), ("accuracy", 1, False),
         ("raim", 1, False), ("status", 4, False), ("lon", 18, True), ("lat", 17, True),
         ("speed", 6, False), ("course", 9, False), ("gnss", 1, False), ("spare_1", 1, False)],
}
LAYOUTS[2] = LAYOUTS[3] = LAYOUTS[1]
ARMOUR = bytes(range(0x30, 0x58)) + bytes(range(0x60, 0x78))  # six-bit value -> character
STANDARD_CHARS = {1: 28, 2: 28, 3: 28, 18: 28, 27: 16}
BATCH_FIRST = {ARMOUR[t] for t in STANDARD_CHARS}  # first payload characters the reader batches
DEG = 600_000  # 1/10000 minute
DEG27 = 600  # 1/10 minute (message 27)

# edge values per field name (signed ones as signed numbers), on top of 0, 1, max, sign bounds
SPECIAL: dict[str, list[int]] = {
    "lon": [181 * DEG, 180 * DEG, -180 * DEG, -181 * DEG, 180 * DEG - 1, -1, -5, 5, 3, -3, 6, -6],
    "lat": [91 * DEG, 90 * DEG, -90 * DEG, -91 * DEG, 90 * DEG - 1, -1, -5, 5, 3, -3, 6, -6],
    "speed": [1023, 1022, 1021, 63, 62],
    "course": [3600, 3599, 3601, 4095, 511, 360],
    "heading": [511, 359, 360, 510],
    "turn": [-128, -127, 127, 126, -126, 1, -1, 0],
    "status": [15, 14, 0],
    "second": [60, 61, 62, 63, 59],
    "mmsi": [999_999_999, 100_000_000, 2**30 - 1, 0, 1],
}
SPECIAL_27 = {
    "lon": [181 * DEG27, 180 * DEG27, -180 * DEG27, -181 * DEG27, -1, 1, -3, 3],
    "lat": [91 * DEG27, 90 * DEG27, -90 * DEG27, -91 * DEG27, -1, 1, -3, 3],
    "speed": [63, 62, 0],
    "course": [511, 360, 359, 510],
}


def pack(values: Sequence[int], widths: Sequence[int], extra_bits: int = 0) -> tuple[bytes, int]:
    """Armoured payload and fill bits of the given raw field values (+ ``extra_bits`` zeros)."""
    value = bits = 0
    for v, w in zip(values, widths, strict=True):
        value = (value << w) | (v & ((1 << w) - 1))
        bits += w
    value <<= extra_bits
    bits += extra_bits
    chars = -(-bits // 6)
    fill = chars * 6 - bits
    value <<= fill
    return bytes(ARMOUR[(value >> (6 * (chars - 1 - i))) & 63] for i in range(chars)), fill


def edge_values(msg_type: int, name: str, width: int, signed: bool) -> list[int]:
    top = (1 << width) - 1
    values = [0, 1, top, top - 1, 1 << (width - 1), (1 << (width - 1)) - 1]
    values += (SPECIAL_27 if msg_type == 27 else SPECIAL).get(name, [])
    return values


def random_message(rng: random.Random, msg_type: int, edge_share: float = 0.3,
                   sweep: dict[str, int] | None = None) -> tuple[bytes, int]:
    layout = LAYOUTS[msg_type]
    values = []
    for name, width, signed in layout:
        if name == "msg_type":
            values.append(msg_type)
        elif sweep is not None and name in sweep:
            values.append(sweep[name])
        elif rng.random() < edge_share:
            values.append(rng.choice(edge_values(msg_type, name, width, signed)))
        else:
            values.append(rng.getrandbits(width))
    return pack(values, [w for _, w, _ in layout])


def oddity(rng: random.Random) -> tuple[bytes, int]:
    """A payload the fast path must leave to pyais (or that pyais decodes as something else)."""
    msg_type = rng.choice([1, 2, 3, 18, 27])
    payload, _ = random_message(rng, msg_type)
    how = rng.randrange(7)
    if how == 0:  # fill bits on a standard length
        return payload, rng.randint(1, 5)
    if how == 1:  # cut short or overlong (pyais reads what is there)
        cut = rng.choice([1, 2, 5, 11]) if msg_type != 27 else rng.choice([1, 2, 3])
        return payload[:-cut], rng.randint(0, 5)
    if how == 2:
        return payload + bytes(rng.choice(ARMOUR) for _ in range(rng.randint(1, 8))), rng.randint(0, 5)
    if how == 3:  # another message type with a position-report length
        other = rng.choice([0, 4, 5, 9, 11, 19, 21, 24, 63])
        return bytes([ARMOUR[other]]) + payload[1:], 0
    if how == 4:  # a character outside the armour ('X'..'_' and beyond are not armour)
        i = rng.randrange(len(payload))
        return payload[:i] + bytes([rng.choice(b"XYZ[]^_xyz{|}~ !\"#$%&'()+-./")]) + payload[i + 1:], 0
    if how == 5:  # the other standard length for this type (27 at 168 bits, 1 at 96)
        other_len = 16 if STANDARD_CHARS[msg_type] == 28 else 28
        body = (payload * 2)[:other_len]
        return body, 0
    return b"", 0


def corpus(n: int, seed: int, odd_share: float = 0.05, sweeps: bool = True) -> tuple[list[bytes], list[int]]:
    """``n`` payloads, shuffled: the sweeps (if asked), then random messages and oddities."""
    rng = random.Random(seed)
    payloads: list[bytes] = []
    fills: list[int] = []

    def add(item: tuple[bytes, int]) -> None:
        payloads.append(item[0])
        fills.append(item[1])

    for msg_type in (1, 2, 3, 18, 27) if sweeps else ():
        # every value of every field up to 12 bits wide, and edge values of each wide one
        for name, width, signed in LAYOUTS[msg_type]:
            if name == "msg_type":
                continue
            values = range(1 << width) if width <= 12 else edge_values(msg_type, name, width, signed)
            for v in values:
                add(random_message(rng, msg_type, sweep={name: v}))
        # every coordinate within +-3000 of 0 and of the edges (rounding of the scaling)
        scale = DEG27 if msg_type == 27 else DEG
        for name, limit in (("lat", 90), ("lon", 180)) if msg_type in (1, 18, 27) else ():
            for centre in (0, limit * scale, -limit * scale, (limit + 1) * scale):
                for v in range(centre - 3000, centre + 3001, 1 if msg_type == 27 else 7):
                    add(random_message(rng, msg_type, sweep={name: v}))
    assert len(payloads) <= n, f"the sweeps alone are {len(payloads)} payloads"
    while len(payloads) < n:
        if rng.random() < odd_share:
            add(oddity(rng))
        else:
            add(random_message(rng, rng.choices([1, 2, 3, 18, 27], [40, 5, 10, 35, 10])[0]))
    order = list(range(len(payloads)))
    rng.shuffle(order)  # mix types, lengths and oddities within every block
    return [payloads[i] for i in order], [fills[i] for i in order]


# ---- comparison with pyais -------------------------------------------------------------------
def sentence(payload: bytes, fill: int, channel: bytes = b"A") -> bytes:
    return b"!AIVDM,1,1,," + channel + b"," + payload + b"," + str(fill).encode() + b"*00"


def pyais_fields(payload: bytes, fill: int) -> dict[str, Any] | None:
    """pyais's decode of a payload: every field (spare ones too) in its order; None if it fails."""
    try:
        msg = NMEAMessage(sentence(payload, fill)).decode()
    except (AISBaseException, ValueError, IndexError, KeyError):
        return None
    return {a.name: getattr(msg, a.name) for a in msg.fields()}


def standard(payload: bytes, fill: int) -> bool:
    """The fast path's contract: a type it decodes, at its standard length, no fill bits, armour."""
    if not payload or payload.translate(None, ARMOUR):
        return False
    msg_type = ARMOUR.index(payload[0])
    return msg_type in FAST_TYPES and len(payload) == STANDARD_CHARS[msg_type] and fill == 0


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a.hex() == b.hex()
    return bool(a == b)


def first_mismatch(fast: FastPositions, payloads: Sequence[bytes], fills: Sequence[int]) -> str | None:
    """Compare every row with pyais; a description of the first difference, or None."""
    for row, (payload, fill) in enumerate(zip(payloads, fills, strict=True)):
        expected_fast = standard(payload, fill)
        if bool(fast.decoded[row]) != expected_fast:
            return (f"row {row} {payload!r} fill {fill}: decoded={bool(fast.decoded[row])}, "
                    f"the contract says {expected_fast}")
        if not expected_fast:
            continue
        theirs = pyais_fields(payload, fill)
        if theirs is None:
            return f"row {row} {payload!r} fill {fill}: decoded here, but pyais fails"
        ours = fast.pyais_values(row)
        if list(ours) != list(theirs):
            return f"row {row} {payload!r}: fields {list(ours)} != pyais {list(theirs)}"
        for name, value in theirs.items():
            if not same(ours[name], value):
                return (f"row {row} {payload!r} fill {fill} field {name!r}: ours {ours[name]!r} "
                        f"({type(ours[name]).__name__}), pyais {value!r} ({type(value).__name__})")
    return None


def assert_identical(payloads: Sequence[bytes], fills: Sequence[int], **kw: Any) -> FastPositions:
    fast = decode_positions(payloads, fills, **kw)
    mismatch = first_mismatch(fast, payloads, fills)
    assert mismatch is None, mismatch
    return fast


def assert_same_batch(payloads: Sequence[bytes], fills: Sequence[int],
                      sentences: Sequence[bytes] | None = None) -> pl.DataFrame:
    """Both batch decoders on what the reader batches: payloads that start with 1, 2, 3, 18, 27."""
    if sentences is None:
        sentences = [sentence(p, f) for p, f in zip(payloads, fills, strict=True)]
    keep = [i for i, p in enumerate(payloads) if p and p[0] in BATCH_FIRST]
    payloads, fills, sentences = ([x[i] for i in keep] for x in (payloads, fills, sentences))
    ours = VectorisedPositionDecoder().decode(payloads, fills, sentences)
    theirs = PyaisPositionDecoder().decode(payloads, fills, sentences)
    assert_frame_equal(ours, theirs, check_exact=True)
    return ours


# ---- real data ---------------------------------------------------------------------------------
DATA = TEST_DATA / "nmea"
COPIED = sorted(p.name for p in DATA.iterdir() if p.name != "ATTRIBUTION.md")
SENTENCE = re.compile(rb"![A-Z]{2}VD[MO],[^*\\]*\*[0-9A-Fa-f]{2}")


def real_messages(path: Path) -> tuple[list[bytes], list[int], list[bytes]]:
    """Every complete message of a log (pyais assembles the fragments): payload, fill bits, and
    for single-sentence ones the sentence as the reader hands it over (else b"")."""
    sentences = [m.group(0) for line in path.read_bytes().splitlines() for m in SENTENCE.finditer(line)]
    payloads, fills, bare = [], [], []
    for msg in IterMessages(sentences):
        payloads.append(msg.payload)
        fills.append(msg.fill_bits)
        bare.append(msg.raw if msg.frag_cnt == 1 else b"")
    return payloads, fills, bare


def check_real_file(path: Path) -> None:
    payloads, fills, bare = real_messages(path)
    fast = assert_identical(payloads, fills)
    positions = [i for i, p in enumerate(payloads) if p and p[0] in BATCH_FIRST]
    assert int(fast.decoded.sum()) == sum(standard(payloads[i], fills[i]) for i in positions)
    # the ingest adapter on the single-sentence position reports, as the reader batches them
    single = [i for i in positions if bare[i]]
    assert_same_batch([payloads[i] for i in single], [fills[i] for i in single], [bare[i] for i in single])
    # the reader: identical chunks whichever decoder it uses
    config = load_config()
    ours = RawChunk.combine(NmeaReader().read(path, config, {}))
    theirs = RawChunk.combine(NmeaReader(PyaisPositionDecoder()).read(path, config, {}))
    for table in ("positions", "identities", "quarantine"):
        assert_frame_equal(getattr(ours, table), getattr(theirs, table), check_exact=True)
    assert ours.skipped_by_kind == theirs.skipped_by_kind


@pytest.mark.parametrize("name", COPIED)
def test_real_files_in_the_repo(name: str) -> None:
    check_real_file(DATA / name)


@pytest.mark.shared
def test_every_file_in_shared() -> None:
    files = sorted(p for p in shared_file("nmea").iterdir() if p.is_file() and p.suffix != ".md")
    assert len(files) >= 9
    for path in files:
        try:
            check_real_file(path)
        except AssertionError as err:
            raise AssertionError(f"{path.name}: {err}") from err


def test_real_files_have_fast_rows() -> None:
    decoded = sum(int(decode_positions(*real_messages(DATA / name)[:2]).decoded.sum()) for name in COPIED)
    assert decoded > 500


# ---- generated corpora ---------------------------------------------------------------------
@pytest.mark.slow
def test_generated_corpus_200k() -> None:
    payloads, fills = corpus(200_000, seed=8)
    fast = assert_identical(payloads, fills)
    assert 0.9 < fast.decoded.mean() < 0.99  # the oddities went to pyais
    assert_same_batch(payloads, fills)


@pytest.mark.parametrize("block_rows", [1, 3, 64, 4096])
def test_small_corpus_any_block_size(block_rows: int) -> None:
    payloads, fills = corpus(3000, seed=block_rows, odd_share=0.2, sweeps=False)
    assert_identical(payloads, fills, block_rows=block_rows)


def test_turn_speed_course_tables_are_pyais() -> None:
    for raw in range(-128, 128):
        for arg in (raw, float(raw)):  # pyais's fast path passes ints, its generic one floats
            payload, fill = pack([1, 0, 1, 0, raw] + [0] * 11, [w for _, w, _ in LAYOUTS[1]])
            fast = decode_positions([payload], [fill])
            got, want = fast.pyais_values(0)["turn"], to_turn(arg)
            assert same(got, want), (raw, got, want)


def test_uniform_blocks() -> None:
    """Blocks with one layout and one length (the strided path) and with one length, two layouts."""
    rng = random.Random(5)
    for types in ([1], [18], [27], [2, 3], [1, 18], [27, 1]):
        items = [random_message(rng, rng.choice(types)) for _ in range(500)]
        fast = assert_identical([p for p, _ in items], [f for _, f in items])
        assert fast.decoded.all()


def test_nothing_to_decode() -> None:
    fast = decode_positions([], [])
    assert len(fast) == 0 and all(len(c) == 0 for c in fast.columns.values())
    fast = assert_identical([b"", b"", b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53"], [0, 0, 2])
    assert not fast.decoded.any()
    with pytest.raises(ValueError, match="not decoded here"):
        fast.pyais_values(2)
    with pytest.raises(ValueError, match="fill-bit counts"):
        decode_positions([b"x"], [])


def test_a_payload_with_a_newline() -> None:
    """Payloads are joined with newlines to find their lengths; one holding a newline is fine."""
    rng = random.Random(6)
    items = [random_message(rng, t) for t in (1, 18, 27, 3)]
    payloads, fills = [p for p, _ in items], [f for _, f in items]
    payloads[1] = payloads[1][:10] + b"\n" + payloads[1][11:]
    fast = assert_identical(payloads, fills)
    assert fast.decoded.tolist() == [True, False, True, True]
    fast = assert_identical([b"\n", b"", payloads[0], b"\n\n"], [0, 0, 0, 0])
    assert fast.decoded.tolist() == [False, False, True, False]


def test_other_sequence_types() -> None:
    payloads, fills = corpus(500, seed=7, odd_share=0.3, sweeps=False)
    want = decode_positions(payloads, fills)
    for got in (decode_positions(tuple(payloads), np.array(fills)),
                decode_positions(payloads, tuple(fills), block_rows=50)):
        assert (got.decoded == want.decoded).all()
        for name, column in want.columns.items():
            np.testing.assert_array_equal(got.columns[name], column)


def test_a_subset_of_fields() -> None:
    payloads, fills = corpus(2000, seed=4, odd_share=0.2, sweeps=False)
    every = decode_positions(payloads, fills)
    some = decode_positions(payloads, fills, fields=["lat", "turn", "cs"])
    assert sorted(some.columns) == ["cs", "lat", "msg_type", "turn"]
    assert (some.decoded == every.decoded).all()
    for name, column in some.columns.items():
        np.testing.assert_array_equal(column, every.columns[name])
    with pytest.raises(ValueError, match="were not decoded"):
        some.pyais_values(int(np.flatnonzero(some.decoded)[0]))
    with pytest.raises(ValueError, match="unknown fields"):
        decode_positions(payloads, fills, fields=["latitude"])


def test_absent_fields_are_zero_or_nan() -> None:
    payloads = [random_message(random.Random(1), t)[0] for t in (1, 18, 27)]
    fast = decode_positions(payloads, [0, 0, 0])
    assert np.isnan(fast.columns["turn"][1:]).all() and not np.isnan(fast.columns["turn"][0])
    assert (fast.columns["cs"][[0, 2]] == 0).all() and (fast.columns["maneuver"][1:] == 0).all()
    for msg_type, fields in TYPE_FIELDS.items():
        assert [name for name, _, _ in LAYOUTS[msg_type]] == list(fields)


def test_non_ascii_sentence_goes_to_pyais() -> None:
    rng = random.Random(2)
    items = [random_message(rng, 1) for _ in range(5)]
    payloads, fills = [p for p, _ in items], [f for _, f in items]
    sentences = [sentence(p, f) for p, f in items]
    sentences[2] = sentence(payloads[2], 0, channel="é".encode())
    frame = assert_same_batch(payloads, fills, sentences)
    assert frame["decode_error"][2].startswith("pyais: InvalidNMEAMessageException")
    assert frame["decode_error"].null_count() == 4


# ---- hypothesis ------------------------------------------------------------------------------
@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, int]:
    msg_type = draw(st.sampled_from([1, 2, 3, 18, 27]))
    layout = LAYOUTS[msg_type]
    values = [msg_type if name == "msg_type" else draw(st.one_of(
        st.integers(0, (1 << width) - 1),
        st.sampled_from(edge_values(msg_type, name, width, signed))))
        for name, width, signed in layout]
    extra = draw(st.sampled_from([0, 0, 0, 1, 2, 6, 12]))  # non-zero: longer than standard
    return pack(values, [w for _, w, _ in layout], extra)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), max_size=40), st.integers(1, 9))
def test_hypothesis_field_values(items: list[tuple[bytes, int]], block_rows: int) -> None:
    payloads, fills = [p for p, _ in items], [f for _, f in items]
    assert_identical(payloads, fills, block_rows=block_rows)
    assert_same_batch(payloads, fills)


PAYLOAD_BYTES = st.one_of(st.sampled_from(list(ARMOUR)), st.sampled_from(list(b"XYZ[^_xz~ #\n")))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.one_of(
        st.lists(PAYLOAD_BYTES, min_size=27, max_size=29).map(bytes),
        st.lists(PAYLOAD_BYTES, min_size=15, max_size=17).map(bytes),
        st.lists(PAYLOAD_BYTES, max_size=60).map(bytes),
    ).map(lambda p: bytes([ARMOUR[(p[0] % 4) if p and p[0] % 3 else 18 if p and p[0] % 2 else 27]]) + p[1:]
          if p else p),
    st.integers(0, 5)), max_size=30))
def test_hypothesis_any_payload(items: list[tuple[bytes, int]]) -> None:
    payloads, fills = [p for p, _ in items], [f for _, f in items]
    assert_identical(payloads, fills, block_rows=7)
    assert_same_batch(payloads, fills)


def test_reader_on_a_generated_log(tmp_path: Path) -> None:
    """Whole-reader equivalence on a log with every kind of oddity, over several chunks."""
    payloads, fills = corpus(6000, seed=3, odd_share=0.1, sweeps=False)
    path = tmp_path / "gen.nmea"
    path.write_bytes(b"\n".join(_with_checksum(sentence(p, f)) for p, f in zip(payloads, fills, strict=True)))
    config = load_config().with_overrides({"ingest.chunk_rows": 2500})
    ours = RawChunk.combine(NmeaReader().read(path, config, {}))
    theirs = RawChunk.combine(NmeaReader(PyaisPositionDecoder()).read(path, config, {}))
    for table in ("positions", "quarantine"):
        assert_frame_equal(getattr(ours, table), getattr(theirs, table), check_exact=True)
    assert len(ours.positions) > 5000


def _with_checksum(text: bytes) -> bytes:
    body = text[1:text.index(b"*")]
    check = 0
    for byte in body:
        check ^= byte
    return text[:text.index(b"*") + 1] + f"{check:02X}".encode()
