"""UN Security Council Consolidated List (``CONSOLIDATED_LIST`` XML, sc-sanctions.xsd).

Parsed with the standard library's expat so every entry keeps the line of its ``<INDIVIDUAL>``
or ``<ENTITY>`` start tag (the evidence record number) and malformed XML is reported with its
line. The consolidated list holds people and organisations only: the 1718 Committee's designated
vessels are a separate publication. IMO numbers appear solely as company numbers in
``COMMENTS1`` ('IMO number: 5571322', 'Company Number IMO 5434358'); they are kept as the
entry's ``imo`` with ``imo_valid`` null, since company numbers have no ship check digit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

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

__all__ = ["UnXmlLoader"]

_ROOT = "CONSOLIDATED_LIST"
_KINDS = {"INDIVIDUAL": "Person", "ENTITY": "Organization"}
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
# Company IMO numbers as COMMENTS1 writes them: 'IMO number: 5571322', '(IMO) Number: 1790183',
# 'Company Number IMO 5434358'.
_COMPANY_IMO = re.compile(
    r"(?:International Maritime Organization \(IMO\)|(?:Company Number )?IMO)(?:\s+number)?\s*:?\s*\d{7}\b",
    re.IGNORECASE,
)


@dataclass
class _Record:
    kind: str
    line: int
    # (element path below the record, text, index of the record's child element it is in)
    fields: list[tuple[tuple[str, ...], str, int]] = field(default_factory=list)

    def all(self, *path: str) -> list[str]:
        out: list[str] = []
        for p, text, _ in self.fields:
            if p == path and text not in out:
                out.append(text)
        return out

    def groups(self, tag: str) -> list[dict[str, str]]:
        """The leaf texts of each child element ``tag`` (e.g. one dict per INDIVIDUAL_ALIAS)."""
        by_child: dict[int, dict[str, str]] = {}
        for p, text, child in self.fields:
            if len(p) == 2 and p[0] == tag:
                by_child.setdefault(child, {})[p[1]] = text
        return list(by_child.values())

    def first(self, *path: str) -> str | None:
        values = self.all(*path)
        return values[0] if values else None


class _Reader:
    """expat callbacks: collects each INDIVIDUAL/ENTITY as (element path, text) pairs."""

    def __init__(self, path: Path, parser: Any) -> None:
        self.path = path
        self.parser = parser
        self.stack: list[str] = []
        self.text: list[str] = []
        self.record: _Record | None = None
        self.depth = 0
        self.child = 0
        self.records: list[_Record] = []
        self.date_generated: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.stack:
            if name != _ROOT:
                line = self.parser.CurrentLineNumber
                raise ListError(self.path, f"root element is <{name}>, not <{_ROOT}>", line)
            self.date_generated = attrs.get("dateGenerated")
        self.stack.append(name)
        self.text = []
        if self.record is not None and len(self.stack) == self.depth + 1:
            self.child += 1
        if name in _KINDS and self.record is None and len(self.stack) == 3:
            self.record = _Record(name, self.parser.CurrentLineNumber)
            self.depth = len(self.stack)

    def chars(self, data: str) -> None:
        self.text.append(data)

    def end(self, name: str) -> None:
        if self.record is not None:
            if len(self.stack) > self.depth:
                text = "".join(self.text).strip()
                if text:
                    self.record.fields.append((tuple(self.stack[self.depth:]), text, self.child))
            elif len(self.stack) == self.depth:
                self.records.append(self.record)
                self.record = None
        self.text = []
        self.stack.pop()


def _utc(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        ts = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


class UnXmlLoader:
    """The UN consolidated list: individuals as Person, entities as Organization entries.

    entry_id is the permanent reference number (``KPe.020``; DATAID when absent). Programmes are
    the UN_LIST_TYPE ('DPRK') and the regime code of the reference ('KP'). Aliases of every
    quality (a.k.a., good, low) and the original-script name are aliases, except 'f.k.a.' ones,
    which are former names; nationality and address countries are the entry's countries.
    """

    name = "un_xml"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b"<" + _ROOT.encode() in head

    def load(self, path: Path) -> LoadedList:
        source_id = source_id_of(path)
        parser = expat.ParserCreate()
        parser.buffer_text = True
        reader = _Reader(path, parser)
        parser.StartElementHandler = reader.start
        parser.EndElementHandler = reader.end
        parser.CharacterDataHandler = reader.chars
        try:
            with open(path, "rb") as fh:
                parser.ParseFile(fh)
        except expat.ExpatError as exc:
            raise ListError(path, f"malformed XML: {expat.ErrorString(exc.code)} (column {exc.offset})",
                            exc.lineno) from None
        unknown: Counter[str] = Counter()
        entries: list[dict[str, Any]] = []
        rejected: list[Rejected] = []
        seen: set[str] = set()
        for rec in reader.records:
            entry = _entry(rec, source_id, unknown)
            if not entry["name"]:
                rejected.append(Rejected(source_id, rec.line, "empty_name", entry["entry_id"]))
            elif entry["entry_id"] in seen:
                rejected.append(Rejected(source_id, rec.line, "duplicate_id", entry["entry_id"]))
            else:
                seen.add(entry["entry_id"])
                entries.append(entry)
        notes = []
        if unknown:
            notes.append(f"{sum(unknown.values())} country values not recognised (kept out): "
                         + ", ".join(f"{k!r} x{n}" for k, n in unknown.most_common(5)))
        with_imo = sum(e["imo"] is not None for e in entries)
        if with_imo:
            notes.append(f"{with_imo} entities carry an IMO company number in COMMENTS1 (not ship numbers)")
        as_of = _utc(reader.date_generated)
        if as_of is None:
            notes.append("dateGenerated missing or not understood; no publication time recorded")
        return LoadedList(self.name, "un-consolidated", [path], entries_table(entries), relations_table([]),
                          as_of, rejected, notes)


def _entry(rec: _Record, source_id: str, unknown: Counter[str]) -> dict[str, Any]:
    ref = rec.first("REFERENCE_NUMBER") or rec.first("DATAID") or f"line-{rec.line}"
    name = " ".join(p for p in (rec.first(part) for part in _NAME_PARTS) if p)
    aliases: list[str] = []
    past_names: list[str] = []
    for alias in rec.groups(f"{rec.kind}_ALIAS"):
        text = alias.get("ALIAS_NAME")
        into = past_names if alias.get("QUALITY", "").lower() == "f.k.a." else aliases
        if text and text != name and text not in into:
            into.append(text)
    aliases += [a for a in rec.all("NAME_ORIGINAL_SCRIPT") if a not in aliases]
    countries: list[str] = []
    for value in rec.all("NATIONALITY", "VALUE") + rec.all(f"{rec.kind}_ADDRESS", "COUNTRY"):
        code = country_iso2(value)
        if code is None:
            unknown[value] += 1
        elif code not in countries:
            countries.append(code)
    programs = rec.all("UN_LIST_TYPE")
    regime = re.match(r"([A-Z]{2})[ie]\.", ref)
    if regime and regime[1] not in programs:
        programs.append(regime[1])
    comments = rec.first("COMMENTS1")
    found = _COMPANY_IMO.search(comments) if comments else None
    imo, imo_raw, _ = parse_imo(found[0] if found else None, vessel=False)
    listed = _utc(rec.first("LISTED_ON"))
    return {
        "entry_id": ref,
        "schema": _KINDS[rec.kind],
        "name": name,
        "aliases": aliases,
        "past_names": past_names,
        "imo": imo,
        "imo_raw": imo_raw,
        "imo_valid": None,
        "mmsis": [],
        "past_flags_iso2": [],
        "countries_iso2": countries,
        "programs": programs,
        "listed_on_utc": listed.replace(hour=0, minute=0, second=0, microsecond=0) if listed else None,
        "remarks": comments,
        "source_id": source_id,
        "record_no": rec.line,
    }
