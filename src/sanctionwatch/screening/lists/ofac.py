"""US OFAC SDN list: the legacy CSV set (sdn.csv + alt.csv + add.csv) and ``sdn.xml``.

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
from collections.abc import Callable, Iterator
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

__all__ = ["DEFAULT_NAME", "OfacCsvLoader", "OfacXmlLoader"]

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


# --- sdn.xml --------------------------------------------------------------------------------


class _Node:
    """A parsed element: local name, start line, text and children (enough for sdnEntry)."""

    __slots__ = ("children", "line", "parts", "tag")

    def __init__(self, tag: str, line: int) -> None:
        self.tag, self.line = tag, line
        self.parts: list[str] = []
        self.children: list[_Node] = []

    def all(self, *path: str) -> list[_Node]:
        nodes = [self]
        for tag in path:
            nodes = [c for n in nodes for c in n.children if c.tag == tag]
        return nodes

    def value(self, *path: str) -> str | None:
        nodes = self.all(*path)
        text = "".join(nodes[0].parts).strip() if nodes else ""
        return text or None


def _parse_xml(path: Path, on_entry: Callable[[_Node], None]) -> _Node:
    """Stream the file: each sdnEntry goes to ``on_entry`` when it ends; returns the root (the
    header only). Expat gives the start line of every element."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        node = _Node(name.rsplit(" ", 1)[-1], parser.CurrentLineNumber)
        if not stack:
            if node.tag != "sdnList":
                raise ListError(path, f"not an OFAC sdn.xml: root element <{node.tag}>, expected <sdnList>",
                                node.line)
            roots.append(node)
        elif len(stack) > 1 or node.tag != "sdnEntry":  # entries are not kept under the root
            stack[-1].children.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        node = stack.pop()
        if len(stack) == 1 and node.tag == "sdnEntry":
            on_entry(node)

    def text(data: str) -> None:
        if len(stack) > 1:
            stack[-1].parts.append(data)

    def no_entities(*_args: object) -> None:
        raise ListError(path, "XML entity declarations are not accepted in a list file", parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.EntityDeclHandler = no_entities
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as err:
        raise ListError(path, f"malformed XML: {expat.ErrorString(err.code)}", err.lineno) from err
    except OSError as err:
        raise ListError(path, f"cannot read: {err.strerror or err}") from err
    return roots[0]


def _publish_date(root: _Node, notes: list[str]) -> dt.datetime | None:
    text = root.value("publshInformation", "Publish_Date")  # sic: OFAC's spelling
    if text is None:
        return None
    try:
        return dt.datetime.strptime(text, "%m/%d/%Y").replace(tzinfo=dt.UTC)
    except ValueError:
        notes.append(f"Publish_Date {text!r} is not MM/DD/YYYY; the list date is left empty")
        return None


def _joined(node: _Node) -> str | None:
    """'LAST, First' as the legacy CSV writes a person (entities have a lastName only)."""
    last, first = node.value("lastName"), node.value("firstName")
    return f"{last}, {first}" if last and first else last or first


def _id_item(node: _Node) -> str:
    """'idType idNumber (idCountry)': how the legacy CSV writes the same id into its Remarks."""
    text = " ".join(v for v in (node.value("idType"), node.value("idNumber")) if v)
    country = node.value("idCountry")
    return f"{text} ({country})" if text and country else text


class OfacXmlLoader:
    """OFAC ``sdn.xml`` (root ``sdnList``; any namespace, old tempuri.org or the newer one)."""

    name = "ofac_xml"

    def sniff(self, path: Path, head: bytes) -> bool:
        return re.search(rb"<(?:[\w.-]+:)?sdnList[\s>]", head) is not None

    def load(self, path: Path) -> LoadedList:
        path = Path(path)
        source_id = source_id_of(path)
        notes = _Notes()
        entries: dict[str, _Entry] = {}
        rejected: list[Rejected] = []

        def on_entry(n: _Node) -> None:
            uid, name = n.value("uid"), _joined(n)
            if uid is None or uid in entries or name is None:
                reason = "no_id" if uid is None else "duplicate_id" if uid in entries else "no_name"
                rejected.append(Rejected(source_id, n.line, reason, f"uid {uid}"))
            else:
                entries[uid] = _xml_entry(n, uid, name, notes)

        root = _parse_xml(path, on_entry)
        messages: list[str] = []
        as_of = _publish_date(root, messages)
        stated, found = root.value("publshInformation", "Record_Count"), len(entries) + len(rejected)
        if stated is not None and stated.isdigit() and int(stated) != found:
            messages.append(f"Record_Count says {stated} entries, the file has {found}")
        return _result(self.name, [path], entries, source_id, as_of, rejected, messages + notes.lines())


def _xml_entry(n: _Node, uid: str, name: str, notes: _Notes) -> _Entry:
    """One sdnEntry; its ids become the remark items the legacy CSV would have written."""
    sdn_type = (n.value("sdnType") or "entity").lower()
    if sdn_type not in _TYPES:
        notes.unknown_types[sdn_type] += 1
    e = _Entry(uid, _TYPES.get(sdn_type, "LegalEntity"), name, n.line,
               call_sign=n.value("vesselInfo", "callSign"), vessel_type=n.value("vesselInfo", "vesselType"),
               flag_iso2=notes.place(n.value("vesselInfo", "vesselFlag")))
    for p in n.all("programList", "program"):
        _add(e.programs, "".join(p.parts).strip())
    for aka in n.all("akaList", "aka"):
        kind = (aka.value("type") or "").lower()
        _add(e.past_names if kind.startswith("f.k.a") else e.aliases, _joined(aka))
    for country in n.all("addressList", "address", "country"):
        code = notes.place("".join(country.parts).strip())
        if code:
            e.countries.add(code)
    owner = n.value("vesselInfo", "vesselOwner")
    if owner:
        e.links.append(("owner", owner))
    items = [item for i in n.all("idList", "id") if (item := _id_item(i))]
    remarks = n.value("remarks")
    e.remarks = "; ".join([*items, remarks] if remarks else items) or None
    _apply_items(e, items + _remark_items(remarks, xml=True), notes)
    return e
