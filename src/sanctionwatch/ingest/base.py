"""The contract between AIS readers and the ingest pipeline.

A reader turns one input file into a stream of :class:`RawChunk` s. It only *parses*: it
yields position and identity observations in the "raw" column layout below (units already
normalised, AIS "not available" codes for speed/course/heading already turned into nulls),
plus the records it could not parse at all. Validation that is the same for every format
(MMSI, timestamps, coordinates) happens once, in :mod:`sanctionwatch.ingest.validate`, and
storage happens once, in :mod:`sanctionwatch.store`.

Raw position columns (Polars dtypes; extra columns are ignored)::

    mmsi Int64, ts_utc Datetime(us, UTC), lat_deg Float64, lon_deg Float64,
    sog_knots Float32, cog_deg Float32, heading_deg Int16, nav_status Int8,
    msg_type Int8, accuracy Boolean, record_no Int64, raw String (optional)

``mmsi``/``ts_utc`` may be null (the validator quarantines such rows with a reason); a reader
that could not parse a timestamp sets ``ts_utc`` null, ``ts_error`` (String) to the
reason code and ``ts_text`` (String) to the text it could not parse. Raw identity columns::

    mmsi Int64, ts_utc Datetime(us, UTC), imo Int64, name String, call_sign String,
    ship_type Int16, transceiver_class String, to_bow_m Int16, to_stern_m Int16,
    to_port_m Int16, to_starboard_m Int16, draught_m Float32, destination String,
    eta_text String, record_no Int64, raw String (optional),
    length_m Float32, beam_m Float32 (optional: formats that state overall length and beam)

Optional on both frames: ``raw`` (the input line, kept for quarantine), ``ts_error`` and
``ts_text`` (see above).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from sanctionwatch.config import Config

__all__ = [
    "IDENTITY_RAW_SCHEMA",
    "POSITION_RAW_SCHEMA",
    "QUARANTINE_RAW_SCHEMA",
    "REASONS",
    "InputError",
    "RawChunk",
    "Reader",
    "empty_identities",
    "empty_positions",
    "empty_quarantine",
]

UTC = pl.Datetime("us", "UTC")

POSITION_RAW_SCHEMA: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts_utc": UTC,
    "lat_deg": pl.Float64(),
    "lon_deg": pl.Float64(),
    "sog_knots": pl.Float32(),
    "cog_deg": pl.Float32(),
    "heading_deg": pl.Int16(),
    "nav_status": pl.Int8(),
    "msg_type": pl.Int8(),
    "accuracy": pl.Boolean(),
    "record_no": pl.Int64(),
}

IDENTITY_RAW_SCHEMA: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts_utc": UTC,
    "imo": pl.Int64(),
    "name": pl.String(),
    "call_sign": pl.String(),
    "ship_type": pl.Int16(),
    "transceiver_class": pl.String(),
    "to_bow_m": pl.Int16(),
    "to_stern_m": pl.Int16(),
    "to_port_m": pl.Int16(),
    "to_starboard_m": pl.Int16(),
    "draught_m": pl.Float32(),
    "destination": pl.String(),
    "eta_text": pl.String(),
    "record_no": pl.Int64(),
}

QUARANTINE_RAW_SCHEMA: dict[str, pl.DataType] = {
    "record_no": pl.Int64(),
    "reason": pl.String(),
    "detail": pl.String(),
    "raw": pl.String(),
}

# Every reason a record can be quarantined for. Readers and the validator use only these codes;
# the ingest summary prints counts per code with this text.
REASONS: dict[str, str] = {
    "bad_checksum": "NMEA checksum does not match the sentence",
    "malformed_sentence": "line is not a parseable NMEA sentence (fields missing or not numbers)",
    "orphan_fragment": "fragment of a multi-sentence message whose other parts never arrived",
    "decode_error": "AIS payload could not be decoded (wrong length or invalid characters)",
    "no_timestamp": "no timestamp in the record (no tag block, prefix or column); see --default-time",
    "bad_timestamp": "timestamp present but not parseable",
    "ts_in_future": "timestamp later than ingest time plus ingest.future_tolerance_hours",
    "ts_too_old": "timestamp before ingest.min_valid_date",
    "position_not_available": "AIS 'not available' position (lat 91 or lon 181)",
    "position_out_of_range": "latitude outside [-90, 90] or longitude outside [-180, 180]",
    "null_island": "position exactly (0, 0), a common default of broken GNSS units",
    "invalid_mmsi": "MMSI missing, not numeric or not 9 digits",
    "invalid_utf8": "line contains bytes that are not UTF-8",
    "bad_value": "a field could not be read as a number",
    "missing_field": "a required field is empty",
}


class InputError(Exception):
    """A file that cannot be read at all. The message names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def empty_positions() -> pl.DataFrame:
    return pl.DataFrame(schema=POSITION_RAW_SCHEMA)


def empty_identities() -> pl.DataFrame:
    return pl.DataFrame(schema=IDENTITY_RAW_SCHEMA)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_RAW_SCHEMA)


@dataclass
class RawChunk:
    """What a reader yields for one chunk of an input file."""

    positions: pl.DataFrame = field(default_factory=empty_positions)
    identities: pl.DataFrame = field(default_factory=empty_identities)
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    records_read: int = 0  # lines (NMEA) or data rows (CSV) consumed by this chunk
    skipped: int = 0  # records deliberately not used (comments, blank lines, other sentences...)
    skipped_by_kind: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0  # for progress bars: bytes of the file consumed so far (cumulative)

    @classmethod
    def combine(cls, chunks: Iterable[RawChunk]) -> RawChunk:
        """One chunk holding all of ``chunks`` (for tests and small files; not for streaming)."""
        parts = list(chunks)
        kinds: Counter[str] = Counter()
        for c in parts:
            kinds.update(c.skipped_by_kind)
        if not parts:
            return cls()
        return cls(
            positions=pl.concat([c.positions for c in parts], how="diagonal_relaxed"),
            identities=pl.concat([c.identities for c in parts], how="diagonal_relaxed"),
            quarantine=pl.concat([c.quarantine for c in parts], how="diagonal_relaxed"),
            records_read=sum(c.records_read for c in parts),
            skipped=sum(c.skipped for c in parts),
            skipped_by_kind=dict(kinds),
            bytes_read=parts[-1].bytes_read,
        )


class Reader(Protocol):
    """An AIS input format. Built-ins and plugins implement the same protocol."""

    #: short name used by ``--format`` and recorded in ``sources.format``
    name: str
    #: one-line description for ``--help`` and error messages
    description: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if ``head`` (the first 64 kB of ``path``) looks like this format."""
        ...

    def read(self, path: Path, config: Config, options: dict[str, Any]) -> Iterator[RawChunk]:
        """Yield chunks of at most ``config['ingest.chunk_rows']`` records each.

        Raises :class:`InputError` (naming the file and line) when the file cannot be read at all,
        e.g. a CSV whose header lacks required columns. ``options`` carries reader-specific
        options (``default_time``, ``mapping``...).
        """
        ...
