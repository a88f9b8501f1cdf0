"""US OFAC SDN list in its XML form (``sdn.xml``), parsed into the same entries as the legacy CSV.

The XML ``idList`` (idType, idNumber) pairs are rewritten as the Remarks items the CSV carries, so
both formats go through the one item parser in :mod:`sanctionwatch.screening.lists.ofac`.
Parsing is streamed with expat (flat memory; line numbers for errors); entity declarations are
refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

from sanctionwatch.screening.lists.base import ListError, LoadedList, Rejected, source_id_of
from sanctionwatch.screening.lists.ofac import (
    _TYPES,
    _add,
    _apply_items,
    _Entry,
    _Notes,
    _remark_items,
    _result,
)

__all__ = ["OfacXmlLoader"]


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
