"""EU regulation annexes as OpenSanctions transcribes them, in FollowTheMoney columns.

OpenSanctions' ``datasets/eu/journal_sanctions/data/consolidated/<celex>.csv`` holds one row per
annex listing of the consolidated EU Official Journal acts (Russia 833/2014 with the Annex XLII
port-ban vessels, DPRK 2017/1509 with its vessel annexes). The columns are FtM property names, so
rows go through the same :class:`~sanctionwatch.screening.lists.ftm.FtmMapper` as FtM JSON.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sanctionwatch.screening.lists.base import (
    ListError,
    LoadedList,
    Rejected,
    entries_table,
    relations_table,
    source_id_of,
)
from sanctionwatch.screening.lists.ftm import THING_SCHEMAS, FtmMapper, _unique

__all__ = ["EuFtmCsvLoader"]

_EU_REQUIRED = ("celex", "recordId", "programKey", "annex", "measure", "startDate", "schema", "name")
# Cells holding several values separate them with '; ' (checked on 32014R0833 and 32017R1509).
_EU_MULTI = ("name", "alias", "weakAlias", "previousName", "country", "nationality", "jurisdiction", "mmsi",
             "flag")
_EU_SINGLE = ("imoNumber", "notes")
_MONTHS = {m: i for i, m in enumerate("january february march april may june july august september october "
                                      "november december".split(), 1)}
_PARENS = re.compile(r"\(([^()]+)\)")
_EU_DATE = re.compile(r"(\d{1,2})(?:\.(\d{1,2})\.| ([A-Za-z]+) )(\d{4})")


def _eu_date(text: str) -> dt.datetime | None:
    """startDate as written: '25.6.2024' (nearly all rows) or '25 February 2025' (a few)."""
    m = _EU_DATE.fullmatch(text)
    if m is None:
        return None
    month = int(m[2]) if m[2] else _MONTHS.get(m[3].lower(), 0)
    try:
        return dt.datetime(int(m[4]), month, int(m[1]), tzinfo=dt.UTC)
    except ValueError:
        return None


class EuFtmCsvLoader:
    """OpenSanctions' transcription of one EU regulation's annexes (CSV with FtM property columns).

    ``recordId`` numbers rows within an annex, so it repeats across annexes and is empty in some
    annexes: the entry id is ``<annex>/<recordId>`` (e.g. ``XLII/1``), or ``<annex>/<name>`` when the
    row has no recordId. A vessel listed in two annexes (different measures) is two entries, as
    the regulation lists it twice. Rows sharing an entry id would be merged (names, countries and
    programmes united, first row's other values kept, a note added); the 2026 files have none.
    Annex XIII.B of 32017R1509 writes other vessel names in parentheses ('Chong Bong (Greenlight)
    (Blue Nouvelle)'): for vessels the name is the text before the parentheses and the
    parenthesised names become past names.
    """

    name = "eu_ftm_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace")
        return {"celex", "schema", "imoNumber"} <= {c.strip().strip('"') for c in first.split(",")}

    def load(self, path: Path) -> LoadedList:
        mapper = FtmMapper(source_id_of(path))
        entries: dict[str, dict[str, Any]] = {}
        rejected: list[Rejected] = []
        celex: str | None = None
        bad_dates: Counter[str] = Counter()
        merged = 0
        for line, cell in _eu_rows(path):
            celex = celex or cell["celex"] or None
            entry = _eu_entry(cell, line, mapper)
            if isinstance(entry, Rejected):
                rejected.append(entry)
                continue
            if cell["startDate"] and entry["listed_on_utc"] is None:
                bad_dates[cell["startDate"]] += 1
            if entry["entry_id"] in entries:
                merged += 1
                _merge_into(entries[entry["entry_id"]], entry)
            else:
                entries[entry["entry_id"]] = entry
        notes = mapper.notes()
        latest = max((e["listed_on_utc"] for e in entries.values() if e["listed_on_utc"]), default=None)
        if latest is not None:
            notes.append(f"latest startDate in the file: {latest.date().isoformat()} "
                         "(the file states no publication date)")
        if bad_dates:
            notes.append(f"{sum(bad_dates.values())} startDate values not understood: "
                         + ", ".join(list(bad_dates)[:5]))
        if merged:
            notes.append(f"{merged} rows repeated an earlier annex/recordId and were merged into it")
        return LoadedList(self.name, f"eu-{celex}" if celex else path.stem, [path],
                          entries_table(entries.values()), relations_table([]), None, rejected, notes)


def _eu_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(first physical line, cells by column) for each non-blank row; quoted cells may span lines."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, [])
            missing = [c for c in _EU_REQUIRED if c not in header]
            if missing:
                raise ListError(path, f"not an EU FtM annex CSV: header lacks {', '.join(missing)}", 1)
            prev = reader.line_num
            for row in reader:
                line, prev = prev + 1, reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise ListError(path, f"row has {len(row)} fields, the header {len(header)}", line)
                yield line, {c: v.strip() for c, v in zip(header, row, strict=True)}
        except csv.Error as exc:
            raise ListError(path, f"unreadable CSV: {exc}", reader.line_num) from None


def _eu_entry(cell: Mapping[str, str], line: int, mapper: FtmMapper) -> dict[str, Any] | Rejected:
    schema = cell["schema"]
    props = {c: cell.get(c, "").split(";") for c in _EU_MULTI} | {c: [cell.get(c, "")] for c in _EU_SINGLE}
    names = _unique(props["name"])
    if schema == "Vessel" and names and _PARENS.search(names[0]):
        props["previousName"] += _PARENS.findall(names[0])
        names[0] = names[0][: names[0].index("(")].strip()
        props["name"] = names
    entry_id = f"{cell['annex']}/{cell['recordId'] or (names[0] if names else line)}"
    if schema not in THING_SCHEMAS:
        return Rejected(mapper.source_id, line, "bad_schema", f"{entry_id}: {schema!r}")
    entry = mapper.entry(entry_id, schema, props, line)
    if entry["name"] is None:
        return Rejected(mapper.source_id, line, "empty_name", entry_id)
    annex = f"{cell['celex']} Annex {cell['annex']}"
    entry["programs"] = _unique([cell["programKey"], annex, cell["measure"]])
    entry["listed_on_utc"] = _eu_date(cell["startDate"])
    entry["remarks"] = "\n".join(_unique([cell.get("reason", ""), cell.get("notes", "")])) or None
    return entry


def _merge_into(first: dict[str, Any], other: dict[str, Any]) -> None:
    for key in ("aliases", "past_names", "mmsis", "countries_iso2", "programs"):
        first[key] = first[key] + [v for v in other[key] if v not in first[key]]
    for key, value in other.items():
        if first.get(key) is None:
            first[key] = value


