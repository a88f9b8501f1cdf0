"""Any CSV or Parquet AIS file, read through a column-mapping file the user writes (``--mapping``).

A mapping file (YAML, or TOML when its name ends in ``.toml``) says which of the file's columns
holds each raw column, and how to read them::

    format: csv              # csv | parquet (default csv)
    delimiter: ","           # CSV only, one character (default ",")
    skip_rows: 0             # CSV only: lines before the header (default 0)
    columns:                 # raw column -> the file's column; mmsi, ts_utc, lat_deg, lon_deg required
      mmsi: MMSI
      ts_utc: Time
      lat_deg: Latitude_degrees
      lon_deg: Longitude_degrees
      sog_knots: SOG_knots
      name: VesselName       # identity columns too: imo, name, call_sign, ship_type, ...
    timestamp_format: "%Y-%m-%d %H:%M:%S%.f"   # chrono/strftime, or unix_s, unix_ms (default ISO 8601)
    timezone: UTC            # zone of timestamps without an offset (default UTC)
    units: {sog: knots, draught: m}            # sog: knots | m/s | km/h; draught: m | dm
    validate_mmsi: true      # false for anonymised vessel ids (small integers)
    null_values: ["None", "NA"]                # cell texts that mean "empty"
    keep_values: {Message_ID: [1, 2, 3]}       # use only rows whose column has one of these values
    description: free text

Every file column the mapping names must exist (a typo fails at once, naming the column),
matched exactly or else ignoring case. Naive timestamps are local times in ``timezone``: an
ambiguous one (the repeated hour when clocks go back) takes the earlier instant, one that does
not exist (the hour skipped when clocks go forward) is a bad timestamp. A timestamp with an
offset is converted to UTC. Parquet columns may be typed (numbers, timestamps, dictionary
text) or text; Parquet is read in chunks of ``ingest.chunk_rows`` rows whatever its row groups.

``record_no`` is the line number for CSV (header = line ``skip_rows + 1``) and the 1-based row
number for Parquet. Rows dropped by ``keep_values`` are skipped and counted by kind
``<column>=<value>``. Conversion rules are those of :mod:`sanctionwatch.ingest.csv_convert`.

A mapping file that is not valid raises :class:`MappingError` (an :class:`InputError`) naming
the mapping file and the key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sanctionwatch.config import Config
from sanctionwatch.ingest.base import InputError, RawChunk
from sanctionwatch.ingest.csv_convert import (
    REQUIRED_TARGETS,
    TARGETS,
    Conversion,
    TextTimeParser,
    TimeParser,
    UnixTimeParser,
    assemble,
    check_timezone,
    control_columns,
    default_time_us,
    iso_parser,
    normalise_text,
)
from sanctionwatch.ingest.csv_core import CsvLayout, read_delimited

__all__ = ["ColumnMapping", "MappedReader", "MappingError", "load_mapping"]

KEYS: Final = ("format", "delimiter", "skip_rows", "columns", "timestamp_format", "timezone", "units",
               "validate_mmsi", "null_values", "keep_values", "description")
FORMATS: Final = ("csv", "parquet")
# 1 m/s = 3600/1852 kn; 1 km/h = 1000/1852 kn (the international nautical mile is 1852 m).
SOG_UNITS: Final[dict[str, float]] = {"knots": 1.0, "m/s": 3600 / 1852, "km/h": 1000 / 1852}
DRAUGHT_UNITS: Final[dict[str, float]] = {"m": 1.0, "dm": 0.1}  # AIS message 5 sends decimetres
UNIX_FORMATS: Final[dict[str, int]] = {"unix_s": 1_000_000, "unix_ms": 1_000}
_KEEP_PREFIX: Final = "_keep:"  # batch columns read only for keep_values
# The directives of chrono's strftime (docs.rs/chrono, format::strftime), which Polars parses with;
# with the optional padding modifiers -, _ and 0.
_CHRONO_DIRECTIVE: Final = re.compile(
    r"%[-_0]?(?:\.?[369]?f|:{1,3}z|#z|[YCyqmbBhdeaAwuUWGgVjDxFvHkIlPpMSRTXrZzst+n%])")


class MappingError(InputError):
    """The mapping file itself is not valid: names the file and the key."""


@dataclass(frozen=True)
class ColumnMapping:
    """A checked mapping file."""

    path: Path
    columns: Mapping[str, str]
    format: str = "csv"
    delimiter: str = ","
    skip_rows: int = 0
    timestamp_format: str | None = None
    timezone: str = "UTC"
    sog_unit: str = "knots"
    draught_unit: str = "m"
    validate_mmsi: bool = True
    null_values: frozenset[str] = frozenset()
    keep_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    description: str = ""

    def time_parser(self) -> TimeParser:
        fmt = self.timestamp_format
        if fmt is None:
            return iso_parser(self.timezone)
        if fmt in UNIX_FORMATS:
            return UnixTimeParser(UNIX_FORMATS[fmt])
        return TextTimeParser(((fmt, False),), self.timezone)


# ---- loading and checking ----------------------------------------------------------------------

def _fail(path: Path, key: str, message: str) -> MappingError:
    return MappingError(path, f"{key}: {message}" if key else message)


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    prefixed = [c for c in choices if c.startswith(word.lower())]  # "sog" -> "sog_knots"
    close = prefixed or difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError(path, "mapping file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MappingError(path, f"cannot read the mapping file: {err}") from err
    if path.suffix.lower() == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise MappingError(path, f"not valid TOML: {err}") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise MappingError(path, f"not valid YAML: {problem}", line=line) from err


def _string(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, key, f"must be a non-empty text, got {value!r}")
    return value


def _choice(path: Path, key: str, value: Any, choices: Mapping[str, Any] | tuple[str, ...]) -> str:
    options = tuple(choices)
    if value not in options:
        raise _fail(path, key, f"{value!r} is not one of {', '.join(options)}")
    return str(value)


def _columns(path: Path, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise _fail(path, "columns", "must map raw column names to the file's column names")
    out: dict[str, str] = {}
    known = list(TARGETS)
    for target, column in value.items():
        if target not in TARGETS:
            raise _fail(path, f"columns.{target}", "unknown target column" + _suggest(str(target), known)
                        + f"; known: {', '.join(known)}")
        out[target] = _string(path, f"columns.{target}", column)
    missing = [t for t in REQUIRED_TARGETS if t not in out]
    if missing:
        raise _fail(path, "columns", f"required target columns missing: {', '.join(missing)}")
    return out


def _timestamp_format(path: Path, value: Any) -> str:
    fmt = _string(path, "timestamp_format", value)
    if fmt in UNIX_FORMATS:
        return fmt
    if "%" not in fmt:
        raise _fail(path, "timestamp_format", f"{fmt!r} is not a strftime/chrono format (e.g. "
                    "'%Y-%m-%d %H:%M:%S'), 'unix_s' or 'unix_ms'")
    unknown = _CHRONO_DIRECTIVE.sub("", fmt)
    if "%" in unknown:
        bad = unknown[unknown.index("%"):][:2]
        raise _fail(path, "timestamp_format", f"{fmt!r} is not a valid format: unknown directive {bad!r} "
                    "(see the chrono strftime table)")
    return fmt


def _units(path: Path, value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise _fail(path, "units", "must map a quantity (sog, draught) to its unit")
    sog, draught = "knots", "m"
    for key, unit in value.items():
        if key == "sog":
            sog = _choice(path, "units.sog", unit, SOG_UNITS)
        elif key == "draught":
            draught = _choice(path, "units.draught", unit, DRAUGHT_UNITS)
        else:
            raise _fail(path, f"units.{key}", "unknown quantity; known: sog, draught")
    return sog, draught


def _texts(path: Path, key: str, value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not items or any(
            isinstance(v, bool) or not isinstance(v, str | int | float) for v in items):
        raise _fail(path, key, "must be a value or a non-empty list of values")
    return frozenset(_cell_text(v) for v in items)


def _cell_text(value: str | float) -> str:
    """How a YAML/TOML value is written in a CSV cell (1 -> "1", 1.5 -> "1.5")."""
    return str(value).strip()


def _keep_values(path: Path, value: Any) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict) or not value:
        raise _fail(path, "keep_values", "must map a file column to the values of rows to use")
    return {_string(path, "keep_values", col): _texts(path, f"keep_values.{col}", vals)
            for col, vals in value.items()}


def load_mapping(path: Path | str) -> ColumnMapping:
    """Read and check a mapping file; :class:`MappingError` names the file and the key."""
    path = Path(path)
    data = _parse_file(path)
    if not isinstance(data, dict):
        raise MappingError(path, "a mapping file must be a set of 'key: value' entries (see --help)")
    for key in data:
        if key not in KEYS:
            raise _fail(path, str(key), "unknown key" + _suggest(str(key), KEYS) + f"; known keys: {', '.join(KEYS)}")
    fmt = _choice(path, "format", data.get("format", "csv"), FORMATS)
    if fmt == "parquet":
        for key in ("delimiter", "skip_rows"):
            if key in data:
                raise _fail(path, key, "applies to CSV only (format is parquet)")
    delimiter = data.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise _fail(path, "delimiter", f"must be one character (not a quote or line end), got {delimiter!r}")
    skip_rows = data.get("skip_rows", 0)
    if isinstance(skip_rows, bool) or not isinstance(skip_rows, int) or skip_rows < 0:
        raise _fail(path, "skip_rows", f"must be a whole number >= 0, got {skip_rows!r}")
    validate_mmsi = data.get("validate_mmsi", True)
    if not isinstance(validate_mmsi, bool):
        raise _fail(path, "validate_mmsi", f"must be true or false, got {validate_mmsi!r}")
    timezone = _string(path, "timezone", data.get("timezone", "UTC"))
    try:
        check_timezone(timezone)
    except ValueError as err:
        raise _fail(path, "timezone", str(err)) from err
    fmt_ts = _timestamp_format(path, data["timestamp_format"]) if "timestamp_format" in data else None
    sog_unit, draught_unit = _units(path, data["units"]) if "units" in data else ("knots", "m")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(path, "description", "must be text")
    return ColumnMapping(
        path=path,
        columns=_columns(path, data.get("columns")),
        format=fmt,
        delimiter=delimiter,
        skip_rows=skip_rows,
        timestamp_format=fmt_ts,
        timezone=timezone,
        sog_unit=sog_unit,
        draught_unit=draught_unit,
        validate_mmsi=validate_mmsi,
        null_values=_texts(path, "null_values", data["null_values"]) if "null_values" in data else frozenset(),
        keep_values=_keep_values(path, data["keep_values"]) if "keep_values" in data else {},
        description=description,
    )


# ---- the reader ------------------------------------------------------------------------------

def _mark_kept(batch: pl.DataFrame, keep: Mapping[str, frozenset[str]]) -> pl.DataFrame:
    """``_skip`` = "<column>=<value>" on rows whose ``keep_values`` column has another value."""
    skip = pl.col("_skip")
    for column, values in keep.items():
        cell = pl.col(_KEEP_PREFIX + column)
        dropped = ~cell.fill_null("").is_in(list(values))
        kind = pl.format("{}={}", pl.lit(column), cell.fill_null(""))
        skip = pl.when(skip.is_null() & pl.col("_reason").is_null() & dropped).then(kind).otherwise(skip)
    return batch.with_columns(skip.alias("_skip")).drop([_KEEP_PREFIX + c for c in keep])


class MappedReader:
    """CSV or Parquet read through a :class:`ColumnMapping` (``--mapping``); never sniffed."""

    description = "any CSV or Parquet file, through a column-mapping file (--mapping)"

    def __init__(self, mapping: ColumnMapping) -> None:
        self.mapping = mapping
        self.name = f"mapped_{mapping.format}"

    @classmethod
    def from_file(cls, path: Path | str) -> MappedReader:
        return cls(load_mapping(path))

    def sniff(self, path: Path, head: bytes) -> bool:
        return False  # only used when a mapping is given

    def check_mmsi(self, options: dict[str, Any]) -> bool:
        """Whether the validator should require 9-digit MMSIs (mapping ``validate_mmsi``)."""
        return self.mapping.validate_mmsi

    def _conversion(self, path: Path, config: Config, options: dict[str, Any]) -> Conversion:
        try:
            default_us = default_time_us(options.get("default_time"))
        except (TypeError, ValueError) as err:
            raise InputError(path, f"default_time: {err}") from err
        return Conversion(
            time_parser=self.mapping.time_parser(),
            labels=dict(self.mapping.columns),
            sog_to_knots=SOG_UNITS[self.mapping.sog_unit],
            draught_to_m=DRAUGHT_UNITS[self.mapping.draught_unit],
            default_time_us=default_us,
            raw_max_chars=int(config["ingest.quarantine_raw_max_chars"]),
        )

    def read(self, path: Path, config: Config, options: dict[str, Any]) -> Iterator[RawChunk]:
        conversion = self._conversion(path, config, options)
        if self.mapping.format == "parquet":
            return _read_parquet(path, config, self.mapping, conversion)
        m = self.mapping
        keep = {_KEEP_PREFIX + c: c for c in m.keep_values}
        layout = CsvLayout(
            columns={**m.columns, **keep},
            required=(*m.columns, *keep),  # every column the mapping names must be there
            conversion=conversion,
            delimiter=m.delimiter,
            skip_rows=m.skip_rows,
            null_values=m.null_values,
            prepare=(lambda b: _mark_kept(b, m.keep_values)) if m.keep_values else None,
        )
        return read_delimited(path, config, layout)


# ---- Parquet ---------------------------------------------------------------------------------

def _open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise InputError(path, f"not a readable Parquet file ({err})") from err


def _check_parquet_types(path: Path, schema: pa.Schema, mapping: ColumnMapping) -> None:
    """Refuse, before reading, columns whose type cannot hold what the mapping says."""
    for target, column in mapping.columns.items():
        t = schema.field(column).type
        if pa.types.is_dictionary(t):
            t = t.value_type
        text = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
        number = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) \
            or pa.types.is_boolean(t)
        if target == "ts_utc":
            unix = mapping.timestamp_format in UNIX_FORMATS
            ok = text or (number if unix else (pa.types.is_timestamp(t) or pa.types.is_date(t)))
            hint = ("set timestamp_format: unix_s or unix_ms" if number and not unix else
                    "give a date-time, text or (with unix_s/unix_ms) number column")
        elif TARGETS[target] == pl.String():
            ok, hint = text or number, "give a text column"
        else:
            ok, hint = text or number, "give a number or text column"
        if not ok:
            raise InputError(path, f"column {column!r} (for {target}) has type {t}; {hint}")


def _read_parquet(path: Path, config: Config, mapping: ColumnMapping,
                  conversion: Conversion) -> Iterator[RawChunk]:
    chunk_rows = int(config["ingest.chunk_rows"])
    pf = _open_parquet(path)
    schema = pf.schema_arrow
    wanted = {**mapping.columns, **{_KEEP_PREFIX + c: c for c in mapping.keep_values}}
    missing = sorted({c for c in wanted.values() if c not in schema.names})
    if missing:
        found = ", ".join(schema.names[:20]) + (f" (+{len(schema.names) - 20} more)" if len(schema.names) > 20 else "")
        raise InputError(path, f"missing columns {', '.join(missing)}; found: {found}; use --format or --mapping")
    _check_parquet_types(path, schema, mapping)
    total = max(pf.metadata.num_rows, 1)
    size = path.stat().st_size
    done = 0
    for table in _rebatched(path, pf, list(dict.fromkeys(wanted.values())), chunk_rows):
        frame = pl.DataFrame(pl.from_arrow(table))
        yield _parquet_chunk(frame, done, wanted, mapping, conversion,
                             bytes_read=size * (done + table.num_rows) // total)
        done += table.num_rows
    if done == 0:
        yield RawChunk(bytes_read=size)


def _rebatched(path: Path, pf: pq.ParquetFile, columns: list[str], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last one fewer), whatever the row groups are."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    done = 0
    try:
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
            pending.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_rows)
                done += chunk_rows
                rest = table.slice(chunk_rows)
                pending, rows = rest.to_batches(), rest.num_rows
    except pa.ArrowException as err:
        raise InputError(path, f"cannot read Parquet row {done + 1} onwards: {err}") from err
    if rows:
        yield pa.Table.from_batches(pending)


def _parquet_chunk(frame: pl.DataFrame, offset: int, wanted: Mapping[str, str],
                   mapping: ColumnMapping, conversion: Conversion, bytes_read: int) -> RawChunk:
    n = frame.height
    # Categoricals (dictionary columns) are read as their text.
    frame = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    text_cols = [k for k, c in wanted.items() if frame.schema[c] == pl.String]
    source_order = list(dict.fromkeys(wanted.values()))
    raw = frame.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in source_order],
                                     separator=",").alias("raw")).to_series()
    batch = pl.DataFrame({
        **{k: frame.get_column(c).alias(k) for k, c in wanted.items()},
        "record_no": pl.int_range(offset + 1, offset + n + 1, dtype=pl.Int64, eager=True),
        "raw": raw,
        **control_columns(n),
    }, height=n).with_columns(normalise_text(k, mapping.null_values) for k in text_cols)
    if mapping.keep_values:
        batch = batch.with_columns(pl.col(_KEEP_PREFIX + c).cast(pl.String) for c in mapping.keep_values)
        batch = _mark_kept(batch, mapping.keep_values)
    positions, identities, quarantine, skipped = assemble(batch, conversion)
    return RawChunk(positions=positions, identities=identities, quarantine=quarantine, records_read=n,
                    skipped=sum(skipped.values()), skipped_by_kind=skipped, bytes_read=bytes_read)
