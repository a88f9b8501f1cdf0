"""Streaming delimited-text reading shared by the DMA, NOAA and mapped CSV readers.

The file is read in binary, ``ingest.chunk_rows`` lines at a time, so memory is bounded
whatever its size. Each block of lines becomes a Polars string column and is split into
fields with vectorised string operations; only lines that contain a quote character go through
Python's :mod:`csv` module (quoted fields may contain the delimiter). Line numbers are exact:
``record_no`` is the 1-based line of the row in the file (the header is line ``skip_rows + 1``).

Rows the splitter refuses, before any value is looked at:

* ``invalid_utf8`` -- the line has bytes that are not UTF-8 (decoded with replacement, the raw
  text shows U+FFFD where they were);
* ``missing_field`` -- fewer fields than the header has; ``bad_value`` -- more fields, or an
  unterminated quoted field (a quoted field that spans lines is not supported).

Blank lines are skipped and counted (``blank``).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.ingest.base import InputError, RawChunk
from sanctionwatch.ingest.csv_convert import Conversion, assemble, control_columns, normalise_text

__all__ = ["CsvLayout", "Header", "find_columns", "read_delimited", "read_header", "split_header"]

UTF8_BOM: Final = b"\xef\xbb\xbf"
REPLACEMENT_CHAR: Final = "\ufffd"  # what lossy UTF-8 decoding puts where bytes were invalid
QUOTE: Final = '"'
_SHOWN_COLUMNS: Final = 20  # columns listed in a "missing columns" error


@dataclass(frozen=True)
class Header:
    names: list[str]  # column names as written (BOM and surrounding blanks removed)
    line_no: int  # 1-based line of the header


def split_header(text: str, delimiter: str) -> list[str]:
    """Column names of one header line (quoted names allowed)."""
    row = next(csv.reader([text], delimiter=delimiter), [])
    return [name.strip() for name in row]


def _clean_name(name: str) -> str:
    """Name for matching: lower case, without a leading ``#`` (DMA writes ``# Timestamp``)."""
    return name.lstrip("#").strip().lower()


def find_columns(header: Header, wanted: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """Index of each wanted file column (exact name first, then case-insensitive) and the
    targets whose column is absent."""
    exact: dict[str, int] = {}
    loose: dict[str, int] = {}
    for i, name in enumerate(header.names):
        exact.setdefault(name, i)
        loose.setdefault(_clean_name(name), i)
    found: dict[str, int] = {}
    missing: list[str] = []
    for target, column in wanted.items():
        idx = exact.get(column, loose.get(_clean_name(column)))
        if idx is None:
            missing.append(target)
        else:
            found[target] = idx
    return found, missing


def missing_columns_error(path: Path, header: Header, columns: list[str]) -> InputError:
    shown = ", ".join(header.names[:_SHOWN_COLUMNS])
    more = f" (+{len(header.names) - _SHOWN_COLUMNS} more)" if len(header.names) > _SHOWN_COLUMNS else ""
    return InputError(path, f"missing columns {', '.join(columns)}; found: {shown}{more}; "
                            "use --format or --mapping", line=header.line_no)


def read_header(handle: IO[bytes], path: Path, delimiter: str, skip_rows: int = 0) -> Header:
    """Skip ``skip_rows`` lines, then read the header line."""
    for _ in range(skip_rows):
        if not handle.readline():
            break
    line = handle.readline()
    if not line.strip():
        what = "file is empty" if not line and skip_rows == 0 else "no header line"
        raise InputError(path, what, line=skip_rows + 1)
    if line.startswith(UTF8_BOM):
        line = line[len(UTF8_BOM):]
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    return Header(split_header(text, delimiter), skip_rows + 1)


def _decode_block(lines: list[bytes]) -> tuple[pl.Series, pl.Series | None]:
    """Lines -> string column without line ends, and the invalid-UTF-8 mask (None if none)."""
    data = b"".join(lines)
    if data.isascii() or _is_utf8(data):
        text = pl.Series("line", lines, dtype=pl.Binary).cast(pl.String)
        bad = None
    else:  # rare: decode line by line, replacing what is not UTF-8
        decoded = [line.decode("utf-8", "replace") for line in lines]
        text = pl.Series("line", decoded, dtype=pl.String)
        bad = text.str.contains(REPLACEMENT_CHAR, literal=True)
    return text.str.strip_chars_end("\r\n"), bad


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _split(lines: pl.Series, delimiter: str, n_fields: int,
           wanted: Mapping[str, int]) -> tuple[dict[str, pl.Series], pl.Series, pl.Series]:
    """Fields of each line: (column per wanted name, refusal reason, refusal detail)."""
    parts = lines.str.splitn(delimiter, n_fields + 1)
    cols = {name: parts.struct.field(f"field_{i}").alias(name) for name, i in wanted.items()}
    too_many = parts.struct.field(f"field_{n_fields}").is_not_null()
    too_few = parts.struct.field(f"field_{n_fields - 1}").is_null()
    counts: pl.Series | None = None  # fields per line, worked out only where needed
    unterminated: pl.Series | None = None
    reason = pl.select(pl.when(too_few).then(pl.lit("missing_field"))
                       .when(too_many).then(pl.lit("bad_value"))).to_series().cast(pl.String)
    quoted = lines.str.contains(QUOTE, literal=True)
    if quoted.any():
        # Quoted fields may hold the delimiter: these lines go through the csv module.
        idx = quoted.arg_true()
        q_counts: list[int] = []
        q_values: dict[str, list[str | None]] = {name: [] for name in wanted}
        q_unterminated: list[bool] = []
        for line in lines.gather(idx).to_list():
            try:
                row = next(csv.reader([line], delimiter=delimiter, strict=True), [])
                q_unterminated.append(False)
            except csv.Error:
                row = []
                q_unterminated.append(True)
            q_counts.append(len(row))
            for name, i in wanted.items():
                q_values[name].append(row[i] if i < len(row) else None)
        for name in wanted:
            cols[name] = cols[name].scatter(idx, pl.Series(q_values[name], dtype=pl.String))
        q_count = pl.Series(q_counts, dtype=pl.UInt32)
        counts = (lines.str.count_matches(delimiter, literal=True) + 1).scatter(idx, q_count)
        unterminated = pl.repeat(False, len(lines), eager=True).scatter(idx, pl.Series(q_unterminated))
        q_reason = pl.select(
            pl.when(pl.Series(q_unterminated)).then(pl.lit("bad_value"))
            .when(q_count < n_fields).then(pl.lit("missing_field"))
            .when(q_count > n_fields).then(pl.lit("bad_value"))
        ).to_series().cast(pl.String)
        reason = reason.scatter(idx, q_reason)
    refused = reason.is_not_null()
    if not refused.any():
        return cols, reason, reason
    if counts is None:
        counts = lines.str.count_matches(delimiter, literal=True) + 1
    if unterminated is None:
        unterminated = pl.repeat(False, len(lines), eager=True)
    detail = pl.select(
        pl.when(unterminated).then(pl.lit("unterminated quoted field (quoted line breaks are not supported)"))
        .when(refused)
        .then(pl.format("row has {} fields, the header has {}", counts, pl.lit(n_fields)))
    ).to_series().cast(pl.String)
    return cols, reason, detail


@dataclass(frozen=True)
class CsvLayout:
    """Where a delimited file's columns go and how they are read."""

    columns: Mapping[str, str]  # target (or a name of the prepare hook's choosing) -> file column
    required: tuple[str, ...]  # keys of ``columns`` the header must have
    conversion: Conversion
    delimiter: str = ","
    skip_rows: int = 0
    null_values: frozenset[str] = frozenset()
    #: format-specific step on the text columns before conversion (e.g. DMA text codes); may
    #: set ``_skip`` on rows not to use
    prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None


def read_delimited(path: Path, config: Config, layout: CsvLayout) -> Iterator[RawChunk]:
    """Stream ``path`` as :class:`RawChunk` s of at most ``ingest.chunk_rows`` data lines."""
    chunk_rows = int(config["ingest.chunk_rows"])
    try:
        handle = open(path, "rb")  # closed by the with below, across yields
    except OSError as err:
        raise InputError(path, f"cannot open: {err.strerror or err}") from err
    with handle:
        header = read_header(handle, path, layout.delimiter, layout.skip_rows)
        found, missing = find_columns(header, layout.columns)
        required = set(layout.required)
        absent_required = [c for t, c in layout.columns.items() if t in required and t in missing]
        if absent_required:
            raise missing_columns_error(path, header, absent_required)
        n_fields = len(header.names)
        next_line = header.line_no + 1
        yielded = False
        while True:
            lines = list(itertools.islice(handle, chunk_rows))
            if not lines and yielded:
                break
            chunk = _chunk(lines, next_line, handle.tell(), found, n_fields, layout)
            next_line += len(lines)
            yielded = True
            yield chunk
            if len(lines) < chunk_rows:
                break


def _chunk(raw_lines: list[bytes], first_line: int, bytes_read: int, found: Mapping[str, int],
           n_fields: int, layout: CsvLayout) -> RawChunk:
    n = len(raw_lines)
    lines, bad_utf8 = _decode_block(raw_lines)
    blank = lines.str.strip_chars() == ""
    cols, reason, detail = _split(lines, layout.delimiter, n_fields, found)
    if bad_utf8 is not None and bad_utf8.any():
        reason = pl.select(pl.when(bad_utf8).then(pl.lit("invalid_utf8")).otherwise(reason)).to_series()
        detail = pl.select(pl.when(bad_utf8).then(pl.lit("line contains bytes that are not UTF-8"))
                           .otherwise(detail)).to_series()
    control = control_columns(n)
    batch = pl.DataFrame({
        **cols,
        "record_no": pl.int_range(first_line, first_line + n, dtype=pl.Int64, eager=True),
        "raw": lines,
        "_reason": pl.select(pl.when(blank).then(None).otherwise(reason)).to_series().cast(pl.String),
        "_detail": detail.cast(pl.String),
        "_skip": pl.select(pl.when(blank).then(pl.lit("blank")).otherwise(control["_skip"])).to_series(),
    }, height=n).with_columns(normalise_text(name, layout.null_values) for name in cols)
    if layout.prepare is not None:
        batch = layout.prepare(batch)
    positions, identities, quarantine, skipped = assemble(batch, layout.conversion)
    return RawChunk(
        positions=positions,
        identities=identities,
        quarantine=quarantine,
        records_read=n,
        skipped=sum(skipped.values()),
        skipped_by_kind=skipped,
        bytes_read=bytes_read,
    )
