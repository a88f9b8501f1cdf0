"""AIS payload decoding and its mapping to the raw position / identity columns.

Two paths, so that the hot one is vectorised without touching the framing or the assembly:

* single-sentence position reports (types 1, 2, 3, 18, 27: the bulk of every feed) are
  queued per chunk and decoded in one call of a :class:`PositionBatchDecoder`; the default,
  :class:`VectorisedPositionDecoder`, decodes the standard-length ones with NumPy
  (:mod:`~sanctionwatch.ingest.ais_fast`) and hands the others to :class:`PyaisPositionDecoder`,
  which loops over pyais; both give the same rows (``docs/decode.md``);
* everything else that is kept (types 5, 19, 24 and the rare multi-sentence position report)
  is decoded one message at a time by :func:`decode_message`.

Field layouts, bit lengths and "not available" codes are from ITU-R M.1371-5, Annex 8.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final, Protocol

import numpy as np
import polars as pl
from pyais import NMEAMessage
from pyais.exceptions import AISBaseException

from sanctionwatch.ingest.ais_fast import BLOCK_ROWS, decode_positions
from sanctionwatch.ingest.base import POSITION_RAW_SCHEMA

__all__ = [
    "BATCH_POSITION_TYPES",
    "DECODED_TYPES",
    "POSITION_BATCH_SCHEMA",
    "POSITION_TYPES",
    "SIXBIT_VALUE",
    "STATIC_TYPES",
    "ClassBIdentities",
    "DecodeError",
    "IdentityFields",
    "PositionBatchDecoder",
    "PositionFields",
    "PyaisPositionDecoder",
    "VectorisedPositionDecoder",
    "decode_message",
    "identity_fields",
    "message_type",
    "payload_problem",
    "position_fields",
]

POSITION_TYPES: Final = frozenset({1, 2, 3, 18, 19, 27})
STATIC_TYPES: Final = frozenset({5, 19, 24})
DECODED_TYPES: Final = POSITION_TYPES | STATIC_TYPES
#: position reports that fit one sentence (168 or 96 bits) and go through the batch decoder
BATCH_POSITION_TYPES: Final = frozenset({1, 2, 3, 18, 27})

# Payload length needed to hold every field read here: the end bit of the last one (ITU-R
# M.1371-5 Annex 8, layouts of messages 1-3, 5, 18, 19, 24, 27). Shorter payloads would decode
# part of a field as a value (pyais reads what is there), so they are decode errors.
MIN_BITS: Final[dict[int, int]] = {
    1: 137, 2: 137, 3: 137,  # ... true heading, bits 128-136
    18: 133,  # ... true heading, bits 124-132
    19: 301,  # ... dimension to starboard, bits 295-300
    27: 94,  # ... course over ground, bits 85-93
    5: 422,  # ... destination, bits 302-421
    24: 40,  # part number, bits 38-39; then per part below
}
TYPE24_PART_MIN_BITS: Final[dict[int, int]] = {0: 160, 1: 162}  # name 40-159; dims 132-161
TYPE24_PART_A: Final = 0
TYPE24_PART_B: Final = 1

# "Not available" codes, ITU-R M.1371-5 Annex 8 (messages 1-3, 18, 19; message 27 separately).
SOG_NOT_AVAILABLE_KNOTS: Final = 102.3  # 1023 x 0.1 kn
COG_NOT_AVAILABLE_DEG: Final = 360.0  # 3600 x 0.1 deg
HEADING_NOT_AVAILABLE_DEG: Final = 511
NAV_STATUS_NOT_DEFINED: Final = 15
LONG_RANGE_SOG_NOT_AVAILABLE_KNOTS: Final = 63.0  # message 27, 6-bit whole knots
LONG_RANGE_COG_NOT_AVAILABLE_DEG: Final = 511.0  # message 27, 9-bit whole degrees
# ETA (message 5): month 0, day 0, hour 24, minute 60 mean "not available".
ETA_MONTHS: Final = range(1, 13)
ETA_DAYS: Final = range(1, 32)
ETA_HOURS: Final = range(24)
ETA_MINUTES: Final = range(60)

TRANSCEIVER_CLASS_A: Final = "A"
TRANSCEIVER_CLASS_B: Final = "B"
# Class-B static data comes in two halves (24A name, 24B call sign/type/size) sent about a
# minute apart, every 6 minutes (ITU-R M.1371-5 reporting intervals); the merge state only
# needs recent vessels, so it is a bounded LRU. 250k vessels are roughly 60 MB.
CLASS_B_STATE_MAX_VESSELS: Final = 250_000

# Six-bit payload armour (IEC 61162-1 VDM/VDO encapsulation): "0".."W" and "`".."w".
VALID_ARMOUR: Final = bytes(range(0x30, 0x58)) + bytes(range(0x60, 0x78))
#: payload character -> six-bit value (-1: not armour); the first one is the message type
SIXBIT_VALUE: Final = tuple((c - 48 - 8 if c - 48 > 40 else c - 48) if c in VALID_ARMOUR else -1
                             for c in range(256))
_BITS_PER_CHAR: Final = 6

#: mmsi, lat, lon, sog, cog, heading, nav_status, msg_type, accuracy
PositionFields = tuple[int, float, float, float | None, float | None, int | None, int | None, int, bool]
#: mmsi, imo, name, call_sign, ship_type, transceiver_class, to_bow, to_stern, to_port,
#: to_starboard, draught_m, destination, eta_text
IdentityFields = tuple[int, int | None, str | None, str | None, int | None, str, int | None,
                       int | None, int | None, int | None, float | None, str | None, str | None]

POSITION_BATCH_SCHEMA: Final[dict[str, pl.DataType]] = {
    **{k: v for k, v in POSITION_RAW_SCHEMA.items() if k not in ("ts_utc", "record_no")},
    "decode_error": pl.String(),  # non-null: the row is quarantined with this detail
}
# pyais raises its own exceptions for bad payloads, plus these from int()/enum conversions
_PYAIS_ERRORS = (AISBaseException, ValueError, IndexError, KeyError)


class DecodeError(Exception):
    """A complete message whose payload cannot be decoded; the text is the quarantine detail."""


def message_type(payload: bytes) -> int:
    """AIS message type from the first payload character (-1 if it is not armour)."""
    return SIXBIT_VALUE[payload[0]] if payload else -1


def payload_problem(msg_type: int, payloads: Sequence[bytes], bits: int) -> str | None:
    """Why a payload cannot be decoded before handing it to pyais (which would not say)."""
    for payload in payloads:
        bad = payload.translate(None, VALID_ARMOUR)
        if bad:
            shown = bad[:8].decode("ascii", "replace")
            return f"payload characters outside the AIS six-bit armour: {shown!r}"
    needed = MIN_BITS.get(msg_type, 0)
    if bits < needed:
        return f"payload of message type {msg_type} has {bits} bits, at least {needed} needed"
    return None


def decode_message(sentences: Sequence[bytes]) -> Any:
    """Decode one complete message (its bare sentences in fragment order) with pyais."""
    try:
        if len(sentences) == 1:
            return NMEAMessage(sentences[0]).decode()
        parts = [NMEAMessage(s) for s in sentences]
        return NMEAMessage.assemble_from_iterable(parts).decode()
    except _PYAIS_ERRORS as err:
        raise DecodeError(f"pyais: {type(err).__name__}: {err}"[:500]) from err


def position_fields(msg: Any) -> PositionFields:
    """Raw position values of a decoded type 1/2/3/18/19/27 message ("not available" -> None)."""
    msg_type = msg.msg_type
    sog = msg.speed
    cog = msg.course
    if msg_type == 27:
        heading = None
        sog = None if sog == LONG_RANGE_SOG_NOT_AVAILABLE_KNOTS else sog
        cog = None if cog == LONG_RANGE_COG_NOT_AVAILABLE_DEG else cog
    else:
        heading = msg.heading
        heading = None if heading == HEADING_NOT_AVAILABLE_DEG else heading
        sog = None if sog == SOG_NOT_AVAILABLE_KNOTS else sog
        cog = None if cog == COG_NOT_AVAILABLE_DEG else cog
    if msg_type in (18, 19):  # class B reports carry no navigational status
        nav_status = None
    else:
        nav_status = int(msg.status)
        nav_status = None if nav_status == NAV_STATUS_NOT_DEFINED else nav_status
    return (msg.mmsi, msg.lat, msg.lon, sog, cog, heading, nav_status, msg_type, bool(msg.accuracy))


def _eta_text(msg: Any) -> str | None:
    month, day, hour, minute = msg.month, msg.day, msg.hour, msg.minute
    if month in ETA_MONTHS and day in ETA_DAYS and hour in ETA_HOURS and minute in ETA_MINUTES:
        return f"{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
    return None


_CLASS_B_FIELDS: Final = ("name", "call_sign", "ship_type", "to_bow_m", "to_stern_m",
                          "to_port_m", "to_starboard_m")


class ClassBIdentities:
    """Per-MMSI merge of class-B static data: 24A (name), 24B (call sign, type, size), 19.

    Each static message updates the fields it carries and yields the merged current state,
    so a 24B observation also carries the name its vessel sent in 24A.
    """

    def __init__(self, max_vessels: int = CLASS_B_STATE_MAX_VESSELS) -> None:
        self.max_vessels = max_vessels
        self._state: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._state)

    def update(self, mmsi: int, **changes: Any) -> IdentityFields:
        state = self._state.get(mmsi)
        if state is None:
            state = self._state[mmsi] = dict.fromkeys(_CLASS_B_FIELDS)
            if len(self._state) > self.max_vessels:
                self._state.popitem(last=False)  # the vessel heard from longest ago
        else:
            self._state.move_to_end(mmsi)
        state.update(changes)
        return (mmsi, None, state["name"], state["call_sign"], state["ship_type"],
                TRANSCEIVER_CLASS_B, state["to_bow_m"], state["to_stern_m"], state["to_port_m"],
                state["to_starboard_m"], None, None, None)


def _dimensions(msg: Any) -> dict[str, Any]:
    return {"to_bow_m": msg.to_bow, "to_stern_m": msg.to_stern, "to_port_m": msg.to_port,
            "to_starboard_m": msg.to_starboard}


def identity_fields(msg: Any, bits: int, class_b: ClassBIdentities) -> IdentityFields:
    """Identity observation of a decoded type 5/19/24 message (24 and 19 merged per MMSI)."""
    msg_type = msg.msg_type
    if msg_type == 5:
        return (msg.mmsi, msg.imo, msg.shipname, msg.callsign, int(msg.ship_type),
                TRANSCEIVER_CLASS_A, msg.to_bow, msg.to_stern, msg.to_port, msg.to_starboard,
                msg.draught, msg.destination, _eta_text(msg))
    if msg_type == 19:
        return class_b.update(msg.mmsi, name=msg.shipname, ship_type=int(msg.ship_type),
                              **_dimensions(msg))
    part = msg.partno
    needed = TYPE24_PART_MIN_BITS[part]
    if bits < needed:
        raise DecodeError(f"payload of message type 24 part {'AB'[part]} has {bits} bits, "
                          f"at least {needed} needed")
    if part == TYPE24_PART_A:
        return class_b.update(msg.mmsi, name=msg.shipname)
    # auxiliary craft (MMSI 98xxxyyyy) send their mother ship's MMSI instead of dimensions
    dimensions = (_dimensions(msg) if hasattr(msg, "to_bow")
                  else dict.fromkeys(("to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m")))
    return class_b.update(msg.mmsi, call_sign=msg.callsign, ship_type=int(msg.ship_type),
                          **dimensions)


class PositionBatchDecoder(Protocol):
    """Decodes a chunk's single-sentence position reports (types 1, 2, 3, 18, 27) at once.

    Returns one row per input in :data:`POSITION_BATCH_SCHEMA`, ``decode_error`` set on the
    rows that could not be decoded. A vectorised decoder implements this protocol.
    """

    def decode(self, payloads: Sequence[bytes], fill_bits: Sequence[int],
               sentences: Sequence[bytes]) -> pl.DataFrame: ...


class PyaisPositionDecoder:
    """:class:`PositionBatchDecoder` that decodes each sentence with pyais."""

    def decode(self, payloads: Sequence[bytes], fill_bits: Sequence[int],
               sentences: Sequence[bytes]) -> pl.DataFrame:
        columns: list[list[Any]] = [[] for _ in POSITION_BATCH_SCHEMA]
        (mmsi, lat, lon, sog, cog, heading, nav_status, msg_type, accuracy,
         error) = (column.append for column in columns)
        min_bits = MIN_BITS
        for payload, fill, sentence in zip(payloads, fill_bits, sentences, strict=True):
            kind = SIXBIT_VALUE[payload[0]]
            # inline test of payload_problem's conditions: this loop runs per position report
            if payload.translate(None, VALID_ARMOUR) \
                    or len(payload) * _BITS_PER_CHAR - fill < min_bits.get(kind, 0):
                problem = payload_problem(kind, (payload,), len(payload) * _BITS_PER_CHAR - fill)
            else:
                try:
                    fields = position_fields(NMEAMessage(sentence).decode())
                except _PYAIS_ERRORS as err:
                    problem = f"pyais: {type(err).__name__}: {err}"[:500]
                else:
                    mmsi(fields[0])
                    lat(fields[1])
                    lon(fields[2])
                    sog(fields[3])
                    cog(fields[4])
                    heading(fields[5])
                    nav_status(fields[6])
                    msg_type(fields[7])
                    accuracy(fields[8])
                    error(None)
                    continue
            for append in (mmsi, lat, lon, sog, cog, heading, nav_status, msg_type, accuracy):
                append(None)
            error(problem)
        return pl.DataFrame(
            {name: pl.Series(name, column, dtype=dtype)
             for (name, dtype), column in zip(POSITION_BATCH_SCHEMA.items(), columns, strict=True)}
        )


# the pyais fields position_fields reads, in its order
_BATCH_FIELDS: Final = ("mmsi", "lat", "lon", "speed", "course", "heading", "status", "msg_type",
                        "accuracy")


class VectorisedPositionDecoder:
    """:class:`PositionBatchDecoder` that decodes standard-length payloads in bulk with NumPy.

    :func:`~sanctionwatch.ingest.ais_fast.decode_positions` takes the 168-bit type 1, 2, 3 and
    18 and the 96-bit type 27 payloads; :class:`PyaisPositionDecoder` the rest (other
    lengths, fill bits, characters outside the armour) and any sentence that is not ASCII
    (pyais refuses those). The frame is the one :class:`PyaisPositionDecoder` would return.
    """

    def __init__(self) -> None:
        self.fallback = PyaisPositionDecoder()

    def decode(self, payloads: Sequence[bytes], fill_bits: Sequence[int],
               sentences: Sequence[bytes]) -> pl.DataFrame:
        fast = decode_positions(payloads, fill_bits, fields=_BATCH_FIELDS)
        decoded = fast.decoded
        step = BLOCK_ROWS
        if not all(b"".join(sentences[i:i + step]).isascii() for i in range(0, len(sentences), step)):
            decoded = decoded & np.fromiter(map(bytes.isascii, sentences), dtype=np.bool_,
                                            count=len(sentences))
        frame = _position_rows(fast.columns, None if decoded.all() else decoded)
        if len(frame) == len(payloads):
            return frame
        rest = np.flatnonzero(~decoded).tolist()
        others = self.fallback.decode([payloads[i] for i in rest], [fill_bits[i] for i in rest],
                                      [sentences[i] for i in rest])
        return pl.concat([
            frame.with_columns(pl.Series("_row", np.flatnonzero(decoded))),
            others.with_columns(pl.Series("_row", rest, dtype=pl.Int64)),
        ]).sort("_row").drop("_row")


def _position_rows(columns: dict[str, Any], keep: Any) -> pl.DataFrame:
    """:func:`position_fields` of every decoded row, vectorised (``keep``: rows to take)."""
    mmsi, lat, lon, sog, cog, heading, status, msg_type, accuracy = (
        columns[name] if keep is None else columns[name][keep] for name in _BATCH_FIELDS)
    long_range = msg_type == 27
    no_sog = np.where(long_range, sog == LONG_RANGE_SOG_NOT_AVAILABLE_KNOTS,
                      sog == SOG_NOT_AVAILABLE_KNOTS)
    no_cog = np.where(long_range, cog == LONG_RANGE_COG_NOT_AVAILABLE_DEG,
                      cog == COG_NOT_AVAILABLE_DEG)
    no_heading = long_range | (heading == HEADING_NOT_AVAILABLE_DEG)
    no_status = (msg_type == 18) | (status == NAV_STATUS_NOT_DEFINED)  # class B: none
    schema = POSITION_BATCH_SCHEMA
    return pl.DataFrame({
        "mmsi": pl.Series(mmsi, dtype=schema["mmsi"]),
        "lat_deg": pl.Series(lat, dtype=schema["lat_deg"]),
        "lon_deg": pl.Series(lon, dtype=schema["lon_deg"]),
        "sog_knots": pl.Series(sog).cast(schema["sog_knots"]).scatter(np.flatnonzero(no_sog), None),
        "cog_deg": pl.Series(cog).cast(schema["cog_deg"]).scatter(np.flatnonzero(no_cog), None),
        "heading_deg": pl.Series(heading).cast(schema["heading_deg"]).scatter(
            np.flatnonzero(no_heading), None),
        "nav_status": pl.Series(status).cast(schema["nav_status"]).scatter(
            np.flatnonzero(no_status), None),
        "msg_type": pl.Series(msg_type).cast(schema["msg_type"]),
        "accuracy": pl.Series(accuracy, dtype=schema["accuracy"]),
        "decode_error": pl.repeat(None, len(mmsi), dtype=schema["decode_error"], eager=True),
    })
