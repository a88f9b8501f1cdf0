"""NMEA 0183 framing for AIS logs: split a log line into timestamp sources and bare sentences.

A log line is ``[prefix] ([\\tag block\\] sentence [USCG trailer])+``:

* ``prefix``: a receiver timestamp column (``2024-01-05T12:00:00Z !AIVDM...``,
  ``1704456000;!AIVDM...``);
* ``\\tag block\\``: NMEA 0183 v4.00 / IEC 61162-1:2010 ``key:value`` pairs with their own
  checksum; ``c:`` is the receiver's UNIX time. Spire concatenates several tag-blocked
  fragments on one line, so a line can carry more than one sentence;
* ``sentence``: ``!AIVDM,...*hh`` (any talker, VDM or VDO), or another sentence (``$GPRMC``,
  ``$PGHP``...);
* USCG trailer: ``,d-109,S2105,t050056.00,T56.13,r003669946,1325394060`` after the checksum;
  the first bare number is the logger's UNIX time.

Everything here works on ``bytes`` with ``split``/``find`` only; payload decoding is not done
here (see :mod:`sanctionwatch.ingest.nmea_decode`). Times are returned as integer microseconds
since the UNIX epoch, UTC (the unit of the ``ts_utc`` column).
"""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import xor
from typing import Final

__all__ = [
    "TAG_CHECKSUM_PLACEHOLDER",
    "TimeInfo",
    "epoch_text_to_us",
    "gatehouse_time",
    "hex_checksum",
    "iso_text_to_us",
    "nmea_checksum",
    "parse_prefix_time",
    "split_line",
    "tag_block_time",
    "uscg_trailer_time",
]

#: (microseconds since the epoch or None, text of an unusable timestamp or None)
TimeInfo = tuple[int | None, str | None]
NO_TIME: Final[TimeInfo] = (None, None)

US_PER_S: Final = 1_000_000
# A UNIX time in seconds stays below 1e11 until the year 5138, and one in milliseconds is above
# it after 1973-03-03, so the magnitude tells the unit (same rule for ms vs us at 1e14).
EPOCH_MS_FROM: Final = 10**11
EPOCH_US_FROM: Final = 10**14
EPOCH_US_UNTIL: Final = 10**17
_FRACTION_DIGITS: Final = {US_PER_S: 6, 1_000: 3, 1: 0}  # sub-unit digits that still count
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)

# Spire (and some other satellite feeds) write the tag-block checksum as a literal "*00"
# placeholder instead of computing it (see gfw_aistools_spire-test.nmea): accepted as "not given".
TAG_CHECKSUM_PLACEHOLDER: Final = 0

BACKSLASH: Final = 0x5C  # "\" opens and closes an NMEA 4.0 tag block
BANG: Final = 0x21  # "!" starts an encapsulation sentence (VDM/VDO)
DOLLAR: Final = 0x24  # "$" starts a parametric sentence (RMC, GGA, PGHP...)
_PREFIX_SEPARATORS: Final = b" \t;,"

# Two hex digits -> value, upper or lower case; strict (int(x, 16) would accept "+f", " f", "_f").
_HEX_DIGITS = "0123456789abcdefABCDEF"
HEX2: Final[dict[bytes, int]] = {
    (a + b).encode(): int(a + b, 16) for a in _HEX_DIGITS for b in _HEX_DIGITS
}


def nmea_checksum(body: bytes) -> int:
    """XOR of every byte between the start delimiter and ``*`` (NMEA 0183 / IEC 61162-1)."""
    return reduce(xor, body, 0)


def hex_checksum(text: bytes) -> int | None:
    """The value of a two-hex-digit checksum field, or None if it is not exactly that."""
    return HEX2.get(text)


def epoch_text_to_us(text: bytes) -> int | None:
    """UNIX time in s, ms or us (told apart by magnitude), optionally with a fraction -> us."""
    whole, dot, frac = text.partition(b".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        return None
    value = int(whole)
    if value < EPOCH_MS_FROM:
        scale = US_PER_S
    elif value < EPOCH_US_FROM:
        scale = 1_000
    elif value < EPOCH_US_UNTIL:
        scale = 1
    else:
        return None
    us = value * scale
    digits = _FRACTION_DIGITS[scale]
    if frac and digits:
        us += int(frac[:digits].ljust(digits, b"0"))
    return us


def iso_text_to_us(text: str) -> int | None:
    """ISO 8601 date-time (``Z``, offset or naive = UTC; ``T`` or space) -> us, else None."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // _ONE_US


def parse_prefix_time(prefix: bytes) -> TimeInfo:
    """The timestamp column before the sentence: UNIX time or ISO 8601."""
    text = prefix.strip(_PREFIX_SEPARATORS)
    if not text:  # a lone separator before the sentence
        return NO_TIME
    us = epoch_text_to_us(text)
    if us is None and text:
        us = iso_text_to_us(text.decode("utf-8", "replace"))
    if us is None:
        return None, text.decode("utf-8", "replace")
    return us, None


def tag_block_time(tag: bytes) -> TimeInfo:
    """The ``c:`` time of a tag block (``s:...,c:<unix>*hh``).

    Policy: a tag block whose checksum is given and wrong is corrupt, so its ``c:`` is not
    trusted and is reported as an unusable timestamp; a missing checksum or the ``*00``
    placeholder (Spire) is accepted. A tag block without ``c:`` carries no time.
    """
    body, star, check = tag.rpartition(b"*")
    if not star:
        body = tag
    fields = body.split(b",")
    c_value = None
    for field in fields:
        if field[:2] == b"c:":
            c_value = field[2:]
            break
    if c_value is None:
        return NO_TIME
    text = tag.decode("ascii", "replace")
    if star:
        expected = HEX2.get(check)
        if expected is None:
            return None, f"tag block \\{text}\\ (checksum field not two hex digits)"
        if expected != TAG_CHECKSUM_PLACEHOLDER and expected != nmea_checksum(body):
            return None, f"tag block \\{text}\\ (checksum mismatch)"
    us = epoch_text_to_us(c_value)
    if us is None:
        return None, f"tag block \\{text}\\ (c: is not a UNIX time)"
    return us, None


def uscg_trailer_time(trailer: bytes) -> int | None:
    """Logger time from USCG metadata after the checksum (``,d-109,S2105,...,r003669946,<unix>``).

    Every metadata field starts with a letter code; the time is the first bare number. Some
    logs append a second number (``libais_typeexamples.nmea``): it lags the receiver's
    ``t<hhmmss>`` field by about a minute while the first agrees within seconds, and libais
    (``ais/uscg.py``) also takes the first, so the first is used.
    """
    for field in trailer.split(b","):
        if field[:1].isdigit():
            return epoch_text_to_us(field.strip())
    return None


def gatehouse_time(sentence: bytes) -> TimeInfo:
    """Time of a Gatehouse wrapper ``$PGHP,1,<yyyy>,<m>,<d>,<h>,<min>,<s>,<ms>,...*hh``.

    Returns NO_TIME for other PGHP message types; a corrupt wrapper (bad checksum or fields)
    is reported as an unusable timestamp for the sentence it wraps.
    """
    body, star, check = sentence.rpartition(b"*")
    fields = (body if star else sentence).split(b",")
    if len(fields) < 9 or fields[1] != b"1":
        return NO_TIME
    text = sentence.decode("ascii", "replace")
    if not star or HEX2.get(check[:2]) != nmea_checksum(body[1:]):
        return None, f"{text} (checksum mismatch)"
    try:
        year, month, day, hour, minute, second, millis = (int(f) for f in fields[2:9])
        when = dt.datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=dt.UTC)
    except ValueError:
        return None, text
    return (when - _EPOCH) // _ONE_US, None


def split_line(line: bytes) -> tuple[bytes, list[tuple[bytes | None, bytes]]] | None:
    """Split a stripped, non-empty log line into (prefix, [(tag block or None, sentence)]).

    Returns None when there is no sentence start at all. A sentence keeps any USCG trailer;
    the caller cuts it at the checksum.
    """
    first = line[0]
    if first == BANG or first == DOLLAR:
        return b"", [(None, line)]
    if first == BACKSLASH:
        prefix, rest = b"", line
    else:
        starts = [i for i in (line.find(b"!"), line.find(b"$"), line.find(b"\\")) if i > 0]
        if not starts:
            return None
        start = min(starts)
        prefix, rest = line[:start], line[start:]
        if rest[0] != BACKSLASH:
            return prefix, [(None, rest)]
    # "\tag\sentence\tag\sentence..." -> ["", tag, sentence, tag, sentence, ...]
    parts = rest.split(b"\\")
    if len(parts) % 2 == 0:  # a tag block that is never closed
        return prefix, [(None, rest)]
    return prefix, [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts), 2)]
