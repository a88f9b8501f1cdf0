"""What every list loader returns, and the protocol a loader implements.

A loader reads one published list (one file, or a file set such as OFAC's sdn/alt/add) into
two Arrow tables conforming to :data:`~sanctionwatch.schema.LIST_ENTRIES` and
:data:`~sanctionwatch.schema.LIST_RELATIONS`. It never writes to a project: the store adds the
``list_id`` and commits everything in one transaction, so a file that fails to parse half-way
loads nothing.

A loader raises :class:`ListError` (file and line) for input it cannot read at all: malformed
XML, a truncated JSON line, a CSV whose header is not the expected one. Single entries that
cannot be used (a vessel without a name) are not silently dropped either: they are counted in
``LoadedList.rejected`` with the reason and record number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from sanctionwatch.identifiers import imo_is_valid
from sanctionwatch.schema import LIST_ENTRIES, LIST_RELATIONS

__all__ = [
    "ENTRY_COLUMNS",
    "RELATION_COLUMNS",
    "ListError",
    "ListLoader",
    "LoadedList",
    "Rejected",
    "entries_table",
    "parse_imo",
    "relations_table",
    "source_id_of",
]

# Columns a loader fills (list_id is added by the store when the version is committed).
ENTRY_COLUMNS = tuple(n for n in LIST_ENTRIES.names if n != "list_id")
RELATION_COLUMNS = tuple(n for n in LIST_RELATIONS.names if n != "list_id")


class ListError(Exception):
    """A list file that cannot be loaded. The message names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


@dataclass(frozen=True)
class Rejected:
    """An entry that was read but could not be used (kept for the load summary, never silent)."""

    source_id: str
    record_no: int
    reason: str
    detail: str


@dataclass
class LoadedList:
    """One list version as read from its files, ready to be committed by the store."""

    format: str
    default_name: str  # list_name used when the user gives none, e.g. "ofac-sdn"
    files: list[Path]  # every file read (main file first)
    entries: pa.Table  # ENTRY_COLUMNS, LIST_ENTRIES types
    relations: pa.Table  # RELATION_COLUMNS, LIST_RELATIONS types
    as_of: dt.datetime | None  # publication time stated in the file (UTC), if any
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "alt.csv: 12 rows for unknown ent_num"


class ListLoader(Protocol):
    """A list format. Built-in formats and plug-ins implement the same two methods."""

    name: str  # format name recorded in lists.format, e.g. "ofac_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the file (its first few kB in ``head``) is in this format."""
        ...

    def load(self, path: Path) -> LoadedList:
        """Read the whole list; raise ListError for unreadable input."""
        ...


def source_id_of(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256: the same id the AIS ingest gives a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def parse_imo(text: str | None, *, vessel: bool = True) -> tuple[int | None, str | None, bool | None]:
    """(imo, imo_raw, imo_valid) from list text such as 'IMO 9179842', '9179842' or 'IMO9179842'.

    ``imo`` is the 7-digit number when the text holds exactly one 7-digit run, else None.
    ``imo_valid`` is the ship check-digit test for vessels (company numbers use another scheme,
    so it stays None for them).
    """
    if text is None:
        return None, None, None
    raw = text.strip()
    if not raw:
        return None, None, None
    digits = "".join(ch if ch.isdigit() else " " for ch in raw).split()
    sevens = [d for d in digits if len(d) == 7]
    if len(sevens) != 1:
        return None, raw, False if vessel else None
    imo = int(sevens[0])
    return imo, raw, (imo_is_valid(imo) if vessel else None)


def _arrow_rows(rows: Iterable[dict[str, Any]], columns: tuple[str, ...], schema: pa.Schema) -> pa.Table:
    fields = [schema.field(c) for c in columns]
    target = pa.schema(fields)
    data = list(rows)
    return pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in data], schema=target)


def entries_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build the entries table from dicts keyed by ENTRY_COLUMNS (missing keys become null)."""
    return _arrow_rows(rows, ENTRY_COLUMNS, LIST_ENTRIES.arrow())


def relations_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build the relations table from dicts keyed by RELATION_COLUMNS."""
    return _arrow_rows(rows, RELATION_COLUMNS, LIST_RELATIONS.arrow())
