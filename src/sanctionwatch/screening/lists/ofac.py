"""US OFAC SDN list: the legacy CSV set (sdn.csv + alt.csv + add.csv); ``sdn.xml`` is in ``ofac_xml``.

Both formats publish the same records. What screening needs about a vessel is not in columns of
its own: the legacy CSV writes IMO, MMSI and former flags into the free-text Remarks
("Vessel Registration Identification IMO 9179842; MMSI 273...; Linked To: M LEASING LLC."),
and sdn.xml puts them in ``idList`` as (idType, idNumber) pairs whose concatenation is that same
text. So the XML ids are turned into remark items and both formats go through one item parser:
the same list loaded from either file gives the same entries.

An IMO is only taken where the list writes "IMO" before the digits: a bare 7-digit
"Vessel Registration Identification" may be a national register number (Malta, Russia).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
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

__all__ = ["DEFAULT_NAME", "OfacCsvLoader"]

DEFAULT_NAME = "ofac-sdn"
_COMPANIONS = {"alt.csv": 5, "add.csv": 6}  # file name (any case) -> column count
_SDN_COLUMNS = 12
_TYPES = {"vessel": "Vessel", "individual": "Person", "aircraft": "Airplane", "entity": "LegalEntity"}
_NOT_A_COUNTRY = {"none identified"}  # OFAC's way of saying "no flag"; not worth a note

_RE_IMO = re.compile(r"\bIMO\b\s*\d+")
_RE_MMSI = re.compile(r"^(?:alt\. )?MMSI\s+(\d+)$")
_RE_FORMER_FLAG = re.compile(r"^(?:alt\. )?Former Vessel Flag (.+)$")
_RE_ALIAS = re.compile(r"^([afn])\.k\.a\. '(.*)'$")
_RE_LINKED = re.compile(r"^Linked To: (.+)$")
_RE_PROGRAM_SPLIT = re.compile(r"\]\s*\[")


@dataclass
class _Entry:
    """One entry while its files are read; becomes a LIST_ENTRIES row at the end."""

    entry_id: str
    schema: str
    name: str
    record_no: int
    programs: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    past_names: list[str] = field(default_factory=list)
    imo: int | None = None
    imo_raw: str | None = None
    imo_valid: bool | None = None
    mmsis: list[int] = field(default_factory=list)
    call_sign: str | None = None
    flag_iso2: str | None = None
    past_flags_iso2: list[str] = field(default_factory=list)
    vessel_type: str | None = None
    countries: set[str] = field(default_factory=set)
    remarks: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (relation, other party as written)

    def row(self, source_id: str) -> dict[str, Any]:
        """The LIST_ENTRIES row (entries_table takes the columns it knows, absent ones are null)."""
        return {**vars(self), "countries_iso2": sorted(self.countries), "source_id": source_id}


@dataclass
class _Notes:
    """Things worth telling the user that are not errors (counted, reported once per load)."""

    unknown_places: Counter[str] = field(default_factory=Counter)
    bad_mmsis: int = 0
    unknown_types: Counter[str] = field(default_factory=Counter)

    def place(self, name: str | None) -> str | None:
        if not name:
            return None
        code = country_iso2(name)
        if code is None and name.strip().lower() not in _NOT_A_COUNTRY:
            self.unknown_places[name] += 1
        return code

    def lines(self) -> list[str]:
        out = []
        if self.unknown_places:
            names = ", ".join(f"{n} ({c})" for n, c in sorted(self.unknown_places.items()))
            out.append(f"country/flag names not recognised, left empty: {names}")
        if self.bad_mmsis:
            out.append(f"{self.bad_mmsis} MMSI values in remarks/ids are not 9 digits and were not used")
        if self.unknown_types:
            names = ", ".join(f"{n} ({c})" for n, c in sorted(self.unknown_types.items()))
            out.append(f"unknown SDN types read as LegalEntity: {names}")
        return out


def _add(values: list[Any], value: Any) -> None:
    if value and value not in values:
        values.append(value)


def _remark_items(text: str | None, *, xml: bool = False) -> list[str]:
    """'A; B; C.' -> [A, B, C]. sdn.xml wraps its remarks in parentheses: '(Linked To: X)'."""
    body = (text or "").strip()
    if xml and body.startswith("(") and body.endswith(")"):
        body = body[1:-1].strip()
    if body.endswith("."):  # the sentence end, not part of the last item
        body = body[:-1]
    return [item.strip() for item in body.split("; ") if item.strip()]


def _apply_items(e: _Entry, items: list[str], notes: _Notes) -> None:
    """Identifiers, former flags, names and links from remark items (CSV) or ids (XML)."""
    imo_items: list[tuple[bool, str]] = []
    for item in items:
        if m := _RE_LINKED.match(item):
            e.links.append(("linked_to", m.group(1).strip()))
        elif m := _RE_ALIAS.match(item):
            _add(e.past_names if m.group(1) == "f" else e.aliases, m.group(2).strip())
        elif m := _RE_FORMER_FLAG.match(item):
            _add(e.past_flags_iso2, notes.place(m.group(1)))
        elif m := _RE_MMSI.match(item):
            if len(m.group(1)) == 9:
                _add(e.mmsis, int(m.group(1)))
            else:
                notes.bad_mmsis += 1
        elif m := _RE_IMO.search(item):
            imo_items.append((item.startswith("alt."), m.group(0)))
    if imo_items and e.imo_raw is None:
        raw = min(imo_items, key=lambda it: it[0])[1]  # the first main one, else the first "alt."
        e.imo, e.imo_raw, e.imo_valid = parse_imo(raw, vessel=e.schema == "Vessel")


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _relations(entries: dict[str, _Entry], source_id: str) -> list[dict[str, Any]]:
    """Links as relation rows; the other party resolved when exactly one non-vessel has its name.

    A name that ends in a period ('PETROLEOS DE VENEZUELA, S.A.') loses it to the sentence end
    in the remarks; when only the name with the period matches, that spelling is kept.
    """
    index: dict[str, list[str]] = {}
    for e in entries.values():
        if e.schema != "Vessel":
            index.setdefault(_norm(e.name), []).append(e.entry_id)
    rows: list[dict[str, Any]] = []
    for e in entries.values():
        seen: set[tuple[str, str]] = set()
        for relation, other in e.links:
            ids = index.get(_norm(other))
            if ids is None and not other.endswith(".") and len(index.get(_norm(other + "."), [])) == 1:
                other, ids = other + ".", index[_norm(other + ".")]
            if (relation, other) in seen:
                continue
            seen.add((relation, other))
            rows.append({"subject_id": e.entry_id, "relation": relation,
                         "object_id": ids[0] if ids and len(ids) == 1 else None, "object_name": other,
                         "start_utc": None, "source_id": source_id, "record_no": e.record_no})
    return rows


def _result(fmt: str, files: list[Path], entries: dict[str, _Entry], source_id: str,
            as_of: dt.datetime | None, rejected: list[Rejected], notes: list[str]) -> LoadedList:
    return LoadedList(
        format=fmt, default_name=DEFAULT_NAME, files=files,
        entries=entries_table(e.row(source_id) for e in entries.values()),
        relations=relations_table(_relations(entries, source_id)),
        as_of=as_of, rejected=rejected, notes=notes,
    )


# --- legacy CSV -----------------------------------------------------------------------------


def _read_legacy(path: Path, columns: int) -> Iterator[tuple[int, list[str | None]]]:
    """(line, fields) of an OFAC legacy CSV: no header, '-0-' for null, a 0x1A byte at the end."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ListError(path, f"cannot read: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ListError(path, "not UTF-8 text", data.count(b"\n", 0, err.start) + 1) from err
    end = text.rfind("\x1a")
    if end >= 0 and not text[end + 1:].strip():
        text = text[:end]
    if not text.strip():
        raise ListError(path, "empty file: no records", 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        for fields in reader:
            if fields and len(fields) != columns:
                raise ListError(path, f"expected {columns} comma-separated fields, found {len(fields)} "
                                      "(truncated or damaged row?)", line)
            if fields:
                yield line, [None if f.strip() in ("-0-", "") else f.strip() for f in fields]
            line = reader.line_num + 1
    except csv.Error as err:
        raise ListError(path, f"bad CSV: {err}", line) from err


def _companion(folder: Path, name: str) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.lower() == name and p.is_file())
    if len(found) > 1:
        raise ListError(folder, f"both {found[0].name} and {found[1].name} exist; keep only one")
    return found[0] if found else None


class OfacCsvLoader:
    """``sdn.csv`` with its companion ``alt.csv`` (names) and ``add.csv`` (addresses)."""

    name = "ofac_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A first line of 12 fields starting with an integer; alt/add too, so load can redirect."""
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff")
        fields = next(csv.reader([first]), [])
        if not fields or not fields[0].strip().isdigit():
            return False
        return len(fields) == _SDN_COLUMNS or _COMPANIONS.get(Path(path).name.lower()) == len(fields)

    def load(self, path: Path) -> LoadedList:
        path = Path(path)
        if path.name.lower() in _COMPANIONS:
            raise ListError(path, f"{path.name} is a companion of the OFAC SDN list: load sdn.csv from the "
                                  "same folder instead (its alt.csv and add.csv are read with it)")
        notes = _Notes()
        entries: dict[str, _Entry] = {}
        rejected: list[Rejected] = []
        source_id = source_id_of(path)
        for line, f in _read_legacy(path, _SDN_COLUMNS):
            ent_num, name, sdn_type = f[0], f[1], (f[2] or "entity").lower()
            if ent_num is None or not (ent_num.isascii() and ent_num.isdigit()):
                raise ListError(path, f"ent_num {ent_num!r} is not an integer", line)
            if ent_num in entries or not name:
                reason = "duplicate_id" if ent_num in entries else "no_name"
                rejected.append(Rejected(source_id, line, reason, f"ent_num {ent_num}"))
                continue
            if sdn_type not in _TYPES:
                notes.unknown_types[sdn_type] += 1
            e = _Entry(ent_num, _TYPES.get(sdn_type, "LegalEntity"), name, line, remarks=f[11],
                       call_sign=f[5], vessel_type=f[6], flag_iso2=notes.place(f[9]))
            for program in _RE_PROGRAM_SPLIT.split(f[3] or ""):
                _add(e.programs, program.strip(" []"))
            if f[10]:
                e.links.append(("owner", f[10]))
            _apply_items(e, _remark_items(f[11]), notes)
            entries[ent_num] = e
        files = [path]
        messages: list[str] = []
        for kind in _COMPANIONS:
            other = _companion(path.parent, kind)
            if other is not None:
                files.append(other)
                messages += self._read_companion(other, kind, entries, notes)
        return _result(self.name, files, entries, source_id, None, rejected, messages + notes.lines())

    @staticmethod
    def _read_companion(path: Path, kind: str, entries: dict[str, _Entry], notes: _Notes) -> list[str]:
        """Add alt names or address countries; rows for ent_nums not in sdn.csv are counted only."""
        orphans: Counter[str] = Counter()
        odd_types: Counter[str] = Counter()
        for line, f in _read_legacy(path, _COMPANIONS[kind]):
            ent_num = f[0]
            if ent_num is None or not ent_num.isdigit():
                raise ListError(path, f"ent_num {ent_num!r} is not an integer", line)
            e = entries.get(ent_num)
            if e is None:
                orphans[ent_num] += 1
            elif kind == "alt.csv":
                alt_type = (f[2] or "").lower()
                if alt_type not in ("aka", "fka", "nka"):
                    odd_types[alt_type or "(none)"] += 1
                _add(e.past_names if alt_type == "fka" else e.aliases, f[3])
            else:
                code = notes.place(f[4])
                if code:
                    e.countries.add(code)
        out = []
        if orphans:
            out.append(f"{path.name}: {sum(orphans.values())} rows for {len(orphans)} ent_num not in the "
                       "main file (the files are from different dates?); ignored")
        if odd_types:
            out.append(f"{path.name}: unknown alt_type read as a.k.a.: {dict(sorted(odd_types.items()))}")
        return out
