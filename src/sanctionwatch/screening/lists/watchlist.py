"""An analyst's own watchlist: a CSV with a header row, one vessel (or party) per row.

The documented core is ``name,imo,mmsi,note``, so a list typed in a spreadsheet in five minutes
loads. Optional columns: ``id``, ``call_sign``, ``flag``, ``aliases`` and ``former_names``
(``;``-separated), ``schema`` (default ``Vessel``), ``owner`` and ``listed_on`` (ISO date).
Column names are matched case-insensitively, surrounding spaces ignored; unknown columns are
reported in the notes, not refused, so a sheet with extra working columns still loads.

Rows are never dropped silently: a row that cannot be used (no name, IMO or MMSI; an MMSI that
is not 9 digits) is a :class:`Rejected` with its line. An IMO with a wrong check digit is kept
and flagged ``imo_valid = False``: the analyst may know better than the checksum, and a typo in
the list is worth seeing next to the match rather than losing the row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

from sanctionwatch.screening.countries import country_iso2
from sanctionwatch.screening.lists.base import (
    ListError,
    LoadedList,
    Rejected,
    entries_table,
    parse_imo,
    relations_table,
    source_id_of,
)

__all__ = ["KNOWN_COLUMNS", "WatchlistCsvLoader"]

KNOWN_COLUMNS = ("id", "name", "imo", "mmsi", "note", "call_sign", "flag", "aliases", "former_names",
                 "schema", "owner", "listed_on")
_KEYS = ("name", "imo", "mmsi")  # a row needs one of these; the header at least one of them
_SCHEMAS = {s.lower(): s for s in ("Vessel", "Company", "Organization", "LegalEntity", "Person", "Asset",
                                   "Airplane")}


class _RowError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _header(fields: list[str]) -> list[str]:
    return [f.strip().lower() for f in fields]


def _split(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(";"):
        if part.strip() and part.strip() not in out:
            out.append(part.strip())
    return out


def _mmsis(text: str) -> list[int]:
    out: list[int] = []
    for part in _split(text):
        if len(part) != 9 or not part.isdigit():
            raise _RowError("bad_mmsi", f"MMSI {part!r} is not 9 digits")
        if int(part) not in out:
            out.append(int(part))
    return out


def _listed_on(text: str, line: int, notes: list[str]) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        notes.append(f"line {line}: listed_on {text!r} is not an ISO date (YYYY-MM-DD); left empty")
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _entry(row: dict[str, str], line: int, source_id: str, notes: list[str]) -> dict[str, Any]:
    """One LIST_ENTRIES row from a CSV row (values already stripped); raises _RowError.

    A flag or date that cannot be read is left empty with a note: the row still screens on its
    name and identifiers, which matter more than either.
    """
    name, imo_text, mmsi_text = row.get("name", ""), row.get("imo", ""), row.get("mmsi", "")
    if not (name or imo_text or mmsi_text):
        raise _RowError("empty_row", "no name, imo or mmsi")
    schema_text = row.get("schema", "") or "Vessel"
    schema = _SCHEMAS.get(schema_text.lower())
    if schema is None:
        raise _RowError("bad_schema", f"schema {schema_text!r} is not one of {', '.join(_SCHEMAS.values())}")
    mmsis = _mmsis(mmsi_text)
    imo, imo_raw, imo_valid = parse_imo(imo_text, vessel=schema == "Vessel")
    if not name:
        name = f"IMO {imo if imo is not None else imo_raw}" if imo_raw else f"MMSI {mmsis[0]}"
    flag = row.get("flag", "")
    flag_iso2 = country_iso2(flag)
    if flag and flag_iso2 is None:
        notes.append(f"line {line}: flag {flag!r} is not a country name or ISO code; left empty")
    return {
        "entry_id": row.get("id") or f"row-{line}", "schema": schema, "name": name,
        "aliases": _split(row.get("aliases", "")), "past_names": _split(row.get("former_names", "")),
        "imo": imo, "imo_raw": imo_raw, "imo_valid": imo_valid, "mmsis": mmsis,
        "call_sign": row.get("call_sign", "").upper() or None, "flag_iso2": flag_iso2,
        "past_flags_iso2": [], "vessel_type": None, "countries_iso2": [], "programs": [],
        "listed_on_utc": _listed_on(row.get("listed_on", ""), line, notes), "remarks": row.get("note") or None,
        "source_id": source_id, "record_no": line,
    }


class WatchlistCsvLoader:
    """A plain CSV watchlist (see the module docstring for the columns)."""

    name = "watchlist_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A header that names ``name`` and ``imo`` or ``mmsi``."""
        first = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:1]
        columns = set(_header(next(csv.reader(first), [])))
        return "name" in columns and bool(columns & {"imo", "mmsi"})

    def load(self, path: Path) -> LoadedList:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ListError(path, f"cannot read: {err.strerror or err}") from err
        try:
            text = data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
        except UnicodeDecodeError as err:
            raise ListError(path, "not UTF-8 text (save the sheet as 'CSV UTF-8')",
                            data.count(b"\n", 0, err.start) + 1) from err
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            columns = _header(next(reader, []))
        except csv.Error as err:
            raise ListError(path, f"bad CSV header: {err}", 1) from err
        if not set(columns) & set(_KEYS):
            raise ListError(path, "the header needs a 'name', 'imo' or 'mmsi' column "
                                  f"(found: {', '.join(c for c in columns if c) or 'nothing'})", 1)
        dupes = sorted({c for c in columns if c and columns.count(c) > 1})
        if dupes:
            raise ListError(path, f"column(s) named twice in the header: {', '.join(dupes)}", 1)
        notes: list[str] = []
        unknown = [c for c in columns if c not in KNOWN_COLUMNS]
        if unknown:
            notes.append(f"columns not used: {', '.join(c or '(blank)' for c in unknown)}")
        source_id = source_id_of(path)
        entries: list[dict[str, Any]] = []
        relations: list[dict[str, Any]] = []
        rejected: list[Rejected] = []
        seen: set[str] = set()
        blank = 0
        line = reader.line_num + 1
        try:
            for fields in reader:
                if not any(f.strip() for f in fields):
                    blank += 1
                elif len(fields) > len(columns):
                    rejected.append(Rejected(source_id, line, "bad_column_count", f"{len(fields)} fields for "
                                             f"{len(columns)} columns (a comma in a name needs quotes)"))
                else:
                    row = {c: f.strip() for c, f in zip(columns, fields, strict=False)}
                    try:
                        entry = _entry(row, line, source_id, notes)
                        if entry["entry_id"] in seen:
                            raise _RowError("duplicate_id", f"id {entry['entry_id']!r} is used by an earlier row")
                    except _RowError as err:
                        rejected.append(Rejected(source_id, line, err.reason, err.detail))
                    else:
                        seen.add(entry["entry_id"])
                        entries.append(entry)
                        if row.get("owner"):
                            relations.append({"subject_id": entry["entry_id"], "relation": "owner",
                                              "object_name": row["owner"], "source_id": source_id,
                                              "record_no": line})
                line = reader.line_num + 1
        except csv.Error as err:
            raise ListError(path, f"bad CSV: {err}", line) from err
        if blank:
            notes.append(f"{blank} blank line(s) skipped")
        _resolve(entries, relations)
        return LoadedList(format=self.name, default_name=path.stem, files=[path],
                          entries=entries_table(entries), relations=relations_table(relations),
                          as_of=None, rejected=rejected, notes=notes)


def _resolve(entries: list[dict[str, Any]], relations: list[dict[str, Any]]) -> None:
    """An owner that is itself a (non-vessel) row of the watchlist, by exactly one name match."""
    index: dict[str, list[str]] = {}
    for e in entries:
        if e["schema"] != "Vessel":
            index.setdefault(" ".join(e["name"].split()).casefold(), []).append(e["entry_id"])
    for r in relations:
        ids = index.get(" ".join(r["object_name"].split()).casefold(), [])
        r["object_id"] = ids[0] if len(ids) == 1 else None
