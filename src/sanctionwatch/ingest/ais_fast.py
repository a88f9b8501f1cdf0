"""Vectorised decoding of AIS position reports (message types 1, 2, 3, 18 and 27) with NumPy.

Position reports are most of any AIS feed and have a fixed length: 168 bits (28 payload
characters, no fill bits) for types 1, 2, 3 and 18, 96 bits (16 characters) for type 27.
:func:`decode_positions` decodes a whole column of such payloads at once, ``block_rows`` at a
time (so that the buffers of a block stay in cache), with no Python loop over messages:

1. the block's payloads are joined into one ``bytes`` (newline-separated, so that one
   vectorised search gives their lengths); lengths, message types (first character) and fill
   bits are checked with NumPy;
2. the payloads are re-armoured onto the base64 alphabet (one ``bytes.translate``) and
   unpacked by :func:`binascii.a2b_base64` in C: 28 characters become 21 bytes, 16 become 12,
   row after row in one buffer. The strict decoder refuses the "!" that any character outside
   the armour was mapped to; only then are the offending rows looked for (and left out);
3. every field is cut out of a big-endian 64-bit window of its row with one shift and one
   mask. The fields of a layout share three windows (two for type 27), each read for all rows
   at once: a strided view of the buffer when every row has the same length, else a gather
   at each row's byte offset. Signed fields are sign-extended, and the conversions are
   pyais's exactly: a table of pyais's formula for the rate of turn, ``v / 10.0`` for speed
   and course, and pyais's integer rounding ``((10 * v + 3) // 6) / 1e6`` for the
   coordinates (``10000 * v`` for type 27).

Everything else is left to pyais: other message types, payloads of any other length or with
fill bits (pyais then reads partial fields its own way), characters outside the armour and
empty payloads. Those rows come back with ``decoded`` False (:attr:`FastPositions.decoded`).

The result is one NumPy column per field of the union of the three layouts, named as pyais
names them; a field that the row's message type does not have holds 0 (NaN for ``turn``).
:meth:`FastPositions.pyais_values` gives one row exactly as pyais would (same field names,
Python types and enums), which is what the equivalence tests compare. ``docs/decode.md`` has
the design, the proof of equivalence and the measured speed.
"""

from __future__ import annotations

import binascii
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from pyais.constants import ManeuverIndicator, NavigationStatus, TurnRate

__all__ = [
    "BLOCK_ROWS",
    "COLUMN_DTYPES",
    "FAST_TYPES",
    "STANDARD_CHARS",
    "TYPE_FIELDS",
    "FastPositions",
    "decode_positions",
]

#: message types decoded here; the payload length (characters, no fill bits) each must have
STANDARD_CHARS: Final[dict[int, int]] = {1: 28, 2: 28, 3: 28, 18: 28, 27: 16}
FAST_TYPES: Final = frozenset(STANDARD_CHARS)
#: rows decoded per pass: the join, the buffers and the columns of one block stay in cache
BLOCK_ROWS: Final = 32_768

# -- six-bit armour ---------------------------------------------------------------------------
# IEC 61162-1 armour: "0".."W" are 0..39, "`".."w" are 40..63. Base64 uses another alphabet
# for the same six-bit values, so a translate() turns an armoured payload into base64.
_ARMOUR: Final = bytes(range(0x30, 0x58)) + bytes(range(0x60, 0x78))
_BASE64: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BASE64: Final = bytes(  # anything else becomes "!", which is not base64
    _BASE64[_ARMOUR.index(c)] if c in _ARMOUR else ord("!") for c in range(256))
_NOT_ARMOUR: Final = 64
_NEWLINE: Final = 0x0A
_SIXBIT: Final = np.full(256, _NOT_ARMOUR, dtype=np.uint8)
_SIXBIT[np.frombuffer(_ARMOUR, dtype=np.uint8)] = np.arange(64, dtype=np.uint8)

# -- layouts ----------------------------------------------------------------------------------
# Field kinds: how the raw bits become pyais's value.
_UINT, _BOOL, _TURN, _TENTH, _LATLON, _LATLON600, _FLOAT, _SPARE = range(8)
_SIGNED: Final = frozenset({_TURN, _LATLON, _LATLON600})

#: name -> (start bit, width, kind), in pyais's field order (ITU-R M.1371-5 Annex 8)
_LAYOUT_1_2_3: Final[dict[str, tuple[int, int, int]]] = {
    "msg_type": (0, 6, _UINT), "repeat": (6, 2, _UINT), "mmsi": (8, 30, _UINT),
    "status": (38, 4, _UINT), "turn": (42, 8, _TURN), "speed": (50, 10, _TENTH),
    "accuracy": (60, 1, _BOOL), "lon": (61, 28, _LATLON), "lat": (89, 27, _LATLON),
    "course": (116, 12, _TENTH), "heading": (128, 9, _UINT), "second": (137, 6, _UINT),
    "maneuver": (143, 2, _UINT), "spare_1": (145, 3, _SPARE), "raim": (148, 1, _BOOL),
    "radio": (149, 19, _UINT),
}
_LAYOUT_18: Final[dict[str, tuple[int, int, int]]] = {
    "msg_type": (0, 6, _UINT), "repeat": (6, 2, _UINT), "mmsi": (8, 30, _UINT),
    "reserved_1": (38, 8, _UINT), "speed": (46, 10, _TENTH), "accuracy": (56, 1, _BOOL),
    "lon": (57, 28, _LATLON), "lat": (85, 27, _LATLON), "course": (112, 12, _TENTH),
    "heading": (124, 9, _UINT), "second": (133, 6, _UINT), "reserved_2": (139, 2, _UINT),
    "cs": (141, 1, _BOOL), "display": (142, 1, _BOOL), "dsc": (143, 1, _BOOL),
    "band": (144, 1, _BOOL), "msg22": (145, 1, _BOOL), "assigned": (146, 1, _BOOL),
    "raim": (147, 1, _BOOL), "radio": (148, 20, _UINT),
}
_LAYOUT_27: Final[dict[str, tuple[int, int, int]]] = {
    "msg_type": (0, 6, _UINT), "repeat": (6, 2, _UINT), "mmsi": (8, 30, _UINT),
    "accuracy": (38, 1, _BOOL), "raim": (39, 1, _BOOL), "status": (40, 4, _UINT),
    "lon": (44, 18, _LATLON600), "lat": (62, 17, _LATLON600), "speed": (79, 6, _FLOAT),
    "course": (85, 9, _FLOAT), "gnss": (94, 1, _BOOL), "spare_1": (95, 1, _SPARE),
}
#: the fields pyais gives each message type, in its order (spare fields included)
TYPE_FIELDS: Final[dict[int, tuple[str, ...]]] = {
    1: tuple(_LAYOUT_1_2_3), 2: tuple(_LAYOUT_1_2_3), 3: tuple(_LAYOUT_1_2_3),
    18: tuple(_LAYOUT_18), 27: tuple(_LAYOUT_27),
}

#: the output columns (the union of the layouts) and their dtypes
COLUMN_DTYPES: Final[dict[str, type[np.generic]]] = {
    "msg_type": np.uint8, "repeat": np.uint8, "mmsi": np.int64, "status": np.int8,
    "turn": np.float64, "speed": np.float64, "accuracy": np.bool_, "lon": np.float64,
    "lat": np.float64, "course": np.float64, "heading": np.int16, "second": np.int8,
    "maneuver": np.int8, "spare_1": np.uint8, "raim": np.bool_, "radio": np.int32,
    "reserved_1": np.int16, "reserved_2": np.int8, "cs": np.bool_, "display": np.bool_,
    "dsc": np.bool_, "band": np.bool_, "msg22": np.bool_, "assigned": np.bool_,
    "gnss": np.bool_,
}
_ABSENT_NAN: Final = frozenset({"turn"})  # the one float field some types lack


def _pyais_turn(raw: int) -> float:
    """pyais's ``to_turn`` on a raw rate of turn, as a plain float (TurnRate is a float)."""
    if not raw:
        return 0.0
    if abs(raw) in (127, 128):
        return float(raw)  # TurnRate.NO_TI_RIGHT / NO_TI_LEFT / NO_TI_DEFAULT
    return math.copysign(round((raw / 4.733) ** 2), raw)


# pyais's rate of turn for each raw byte (two's complement)
_TURN_LUT: Final = np.array([_pyais_turn((b ^ 0x80) - 0x80) for b in range(256)], dtype=np.float64)
_TURN_RATES: Final = {float(t.value): t for t in TurnRate}


@dataclass(frozen=True)
class _Window:
    """A big-endian 64-bit window at ``byte`` of every row, and the fields it holds."""

    byte: int
    fields: tuple[tuple[str, int, int, int], ...]  # name, shift, width, kind


@dataclass(frozen=True)
class _Layout:
    row_bytes: int
    windows: tuple[_Window, ...]


def _plan(layout: dict[str, tuple[int, int, int]], bits: int) -> _Layout:
    """Group consecutive fields into as few 64-bit windows as possible, each window inside
    the row (so that no read runs past the last row of a buffer)."""
    row_bytes = bits // 8
    windows: list[_Window] = []
    byte = -1
    fields: list[tuple[str, int, int, int]] = []
    for name, (start, width, kind) in layout.items():
        if byte < 0 or start + width > 8 * byte + 64:
            if fields:
                windows.append(_Window(byte, tuple(fields)))
            byte, fields = min(start // 8, row_bytes - 8), []
            assert start + width <= 8 * byte + 64, name
        fields.append((name, 8 * byte + 64 - start - width, width, kind))
    windows.append(_Window(byte, tuple(fields)))
    return _Layout(row_bytes, tuple(windows))


_PLANS: Final[dict[int, _Layout]] = {
    1: _plan(_LAYOUT_1_2_3, 168), 18: _plan(_LAYOUT_18, 168), 27: _plan(_LAYOUT_27, 96),
}
# message type -> layout key (0: not decoded here)
_LAYOUT_OF_TYPE: Final = np.zeros(_NOT_ARMOUR + 1, dtype=np.int8)
_LAYOUT_OF_TYPE[[1, 2, 3]] = 1
_LAYOUT_OF_TYPE[18] = 18
_LAYOUT_OF_TYPE[27] = 27
_CHARS_OF_TYPE: Final = np.full(_NOT_ARMOUR + 1, -1, dtype=np.int64)
for _kind, _chars in STANDARD_CHARS.items():
    _CHARS_OF_TYPE[_kind] = _chars


@dataclass(frozen=True)
class FastPositions:
    """Decoded columns, one entry per input payload.

    ``decoded[i]`` is False where payload ``i`` was left to pyais; its columns then hold 0.
    """

    columns: dict[str, NDArray[Any]]
    decoded: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.decoded)

    @property
    def fallback_rows(self) -> NDArray[np.intp]:
        """Row numbers of the payloads left to pyais."""
        return np.flatnonzero(~self.decoded)

    def pyais_values(self, row: int) -> dict[str, Any]:
        """Row ``row`` as pyais decodes it: its fields (spare ones included) in pyais's order,
        with pyais's Python types (``int``, ``float``, ``bool``, ``bytes`` and the enums)."""
        if not self.decoded[row]:
            raise ValueError(f"row {row} was not decoded here (left to pyais)")
        msg_type = int(self.columns["msg_type"][row])
        missing = [name for name in TYPE_FIELDS[msg_type] if name not in self.columns]
        if missing:
            raise ValueError(f"fields {missing} were not decoded (see decode_positions' fields)")
        return {name: _as_pyais(name, self.columns[name][row], msg_type)
                for name in TYPE_FIELDS[msg_type]}


def _as_pyais(name: str, value: Any, msg_type: int) -> Any:
    kind = (_LAYOUT_27 if msg_type == 27 else _LAYOUT_18 if msg_type == 18 else _LAYOUT_1_2_3)[name][2]
    if name == "status":
        return NavigationStatus(int(value))
    if name == "maneuver":
        return ManeuverIndicator(int(value))
    if name == "turn":
        number = float(value)
        return _TURN_RATES.get(number, number)
    if kind == _SPARE:
        return bytes([int(value)])
    if kind == _BOOL:
        return bool(value)
    if kind == _UINT:
        return int(value)
    return float(value)


def decode_positions(payloads: Sequence[bytes], fill_bits: Sequence[int], *,
                     fields: Collection[str] | None = None,
                     block_rows: int = BLOCK_ROWS) -> FastPositions:
    """Decode the standard-length type 1, 2, 3, 18 and 27 payloads among ``payloads``.

    ``fill_bits[i]`` is the fill-bit count of ``payloads[i]`` (the last field of its sentence).
    ``fields``: the columns wanted (default: all of :data:`COLUMN_DTYPES`); ``msg_type`` is
    always decoded. The work is done ``block_rows`` payloads at a time.
    """
    n = len(payloads)
    if len(fill_bits) != n:
        raise ValueError(f"{n} payloads but {len(fill_bits)} fill-bit counts")
    wanted = COLUMN_DTYPES if fields is None else {"msg_type", *fields}
    unknown = set(wanted) - set(COLUMN_DTYPES)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}; known: {list(COLUMN_DTYPES)}")
    columns: dict[str, NDArray[Any]] = {
        name: (np.full(n, np.nan, dtype=dtype) if name in _ABSENT_NAN else np.zeros(n, dtype=dtype))
        for name, dtype in COLUMN_DTYPES.items() if name in wanted
    }
    decoded = np.zeros(n, dtype=np.bool_)
    for lo in range(0, n, block_rows):
        hi = min(lo + block_rows, n)
        block = payloads[lo:hi]
        _decode_block(block if isinstance(block, list) else list(block), fill_bits[lo:hi], lo,
                      columns, decoded)
    return FastPositions(columns, decoded)


def _decode_block(parts: list[bytes], fills: Sequence[int], lo: int,
                  columns: dict[str, NDArray[Any]], decoded: NDArray[np.bool_]) -> None:
    count = len(parts)
    joined, separator, data, starts, lengths = _join(parts)
    if not (lengths > 0).any():
        return
    first = _SIXBIT[data[np.minimum(starts, len(data) - 1)]]
    first[lengths == 0] = _NOT_ARMOUR
    ok = lengths == _CHARS_OF_TYPE[first]  # a type decoded here, at its standard length
    if _any_fill(fills):
        ok &= np.fromiter(fills, dtype=np.int64, count=count) == 0
    if not ok.any():
        return
    # One base64 text for the block: all payloads when they are whole groups of 4 characters
    # (each then starts on a byte of the output), else the rows decoded here.
    text_rows: NDArray[np.intp] | None = None  # None: text row i is block row i
    if (lengths & 3).any():
        text_rows = np.flatnonzero(ok)
    raw = (_unarmour(joined, separator) if text_rows is None
           else _unarmour(b"".join(compress(parts, ok.tolist()))))
    if raw is None:  # some character is not armour: its rows are left to pyais
        bad = np.concatenate(([0], np.cumsum(_SIXBIT[data] == _NOT_ARMOUR)))
        ok &= bad[starts + lengths] == bad[starts]
        if not ok.any():
            return
        text_rows = np.flatnonzero(ok)
        raw = _unarmour(b"".join(compress(parts, ok.tolist())))
        assert raw is not None
    if text_rows is None:
        text_lengths, text_ok = lengths, ok
    else:
        text_lengths, text_ok = lengths[text_rows], np.ones(len(text_rows), dtype=np.bool_)
    layout = _LAYOUT_OF_TYPE[first if text_rows is None else first[text_rows]]
    # uniform: text row i is at byte i * row_bytes, so a window of every row is a strided view
    uniform = not (text_lengths != text_lengths[0]).any()
    row_bytes = int(text_lengths[0]) * 3 // 4
    if not uniform:  # every 8 bytes of the text as a big-endian word, and where rows start
        byte_start = (np.cumsum(text_lengths) - text_lengths) * 3 // 4
        sliding = np.ndarray((len(raw) - 7,), dtype=">u8", buffer=raw, strides=(1,))
    shared: dict[int, NDArray[np.uint64]] = {}  # strided windows by byte, shared by layouts
    for kind, plan in _PLANS.items():
        mine = (layout == kind) & text_ok
        picked: NDArray[np.intp] | None = None  # None: every text row
        if not mine.all():
            picked = np.flatnonzero(mine)
            if not len(picked):
                continue
        words: list[NDArray[np.uint64] | None] = []
        for window in plan.windows:
            if not any(name in columns for name, _, _, _ in window.fields):
                words.append(None)
            elif uniform:
                word = shared.get(window.byte)
                if word is None:
                    word = shared[window.byte] = np.ndarray(
                        (len(text_lengths),), dtype=">u8", buffer=raw, offset=window.byte,
                        strides=(row_bytes,)).astype(np.uint64)
                words.append(word if picked is None else word[picked])
            else:
                offsets = byte_start if picked is None else byte_start[picked]
                words.append(sliding[offsets + window.byte].astype(np.uint64))
        rows = picked if text_rows is None else (text_rows if picked is None else text_rows[picked])
        target: slice | NDArray[np.intp] = slice(lo, lo + count) if rows is None else rows + lo
        _extract(plan, words, columns, target)
        decoded[target] = True


def _any_fill(fills: Sequence[int]) -> bool:
    """Whether some count is not 0 (``list.count`` is several times faster than ``any``)."""
    if isinstance(fills, list | tuple):
        return fills.count(0) != len(fills)
    return bool(np.any(np.asarray(fills) != 0))


def _join(parts: list[bytes]) -> tuple[bytes, bytes, NDArray[np.uint8], NDArray[np.int64],
                                       NDArray[np.int64]]:
    """``parts`` joined, the separator put between them, the joined bytes as an array, and each
    part's start and length in it.

    The separator is a newline, so that the lengths come from one vectorised search instead of
    a ``len()`` per part; if a part holds a newline itself, there is none (b"")."""
    joined = b"\n".join(parts)
    data = np.frombuffer(joined, dtype=np.uint8)
    breaks = np.flatnonzero(data == _NEWLINE)
    if len(breaks) == len(parts) - 1:
        starts = np.zeros(len(parts), dtype=np.int64)
        starts[1:] = breaks + 1
        ends = np.full(len(parts), len(data), dtype=np.int64)
        ends[:-1] = breaks
        return joined, b"\n", data, starts, ends - starts
    joined = b"".join(parts)
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    return joined, b"", np.frombuffer(joined, dtype=np.uint8), np.cumsum(lengths) - lengths, lengths


def _unarmour(text: bytes, separator: bytes = b"") -> NDArray[np.uint8] | None:
    """The bits of armoured ``text`` (a multiple of 4 characters once ``separator`` is deleted);
    None if a character is not armour (it became "!", which the strict base64 decoder
    refuses)."""
    try:
        raw = binascii.a2b_base64(text.translate(_TO_BASE64, separator), strict_mode=True)
    except binascii.Error:
        return None
    return np.frombuffer(raw, dtype=np.uint8)


def _extract(plan: _Layout, words: list[NDArray[np.uint64] | None],
             columns: dict[str, NDArray[Any]], target: slice | NDArray[np.intp]) -> None:
    """Cut the wanted fields of ``plan`` out of its windows (``words``) into ``columns[target]``."""
    direct = isinstance(target, slice)  # a run of rows: write straight into the columns
    for window, word in zip(plan.windows, words, strict=True):
        if word is None:  # no field wanted from this window
            continue
        bits = np.empty_like(word)
        for name, shift, width, kind in window.fields:
            column = columns.get(name)
            if column is None:
                continue
            value = np.right_shift(word, np.uint64(shift), out=bits) if shift else word
            mask = np.uint64((1 << width) - 1)
            if kind == _UINT or kind == _BOOL:
                if direct:
                    np.bitwise_and(value, mask, out=column[target], casting="unsafe")
                else:
                    column[target] = np.bitwise_and(value, mask, out=bits)
                continue
            value = np.bitwise_and(value, mask, out=bits)
            if kind == _TENTH:  # v / 10.0, as pyais (an IEEE division either way)
                if direct:
                    np.divide(value, 10.0, out=column[target])
                else:
                    column[target] = value / 10.0
            elif kind == _TURN:
                column[target] = np.take(_TURN_LUT, value.view(np.int64))
            elif kind == _FLOAT:  # float(v)
                column[target] = value
            elif kind == _SPARE:  # pyais gives the bits left-aligned in one byte
                column[target] = value << np.uint64(8 - width)
            else:  # coordinates: signed 1/10000 minutes (1/10 minutes for type 27)
                sign = np.int64(1 << (width - 1))
                signed = (value.view(np.int64) ^ sign) - sign
                signed *= 10 if kind == _LATLON else 10_000
                signed += 3
                signed //= 6  # pyais: round(v / 600000, 6) == ((10 * v + 3) // 6) / 1e6
                column[target] = signed / 1e6
