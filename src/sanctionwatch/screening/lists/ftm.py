"""FollowTheMoney (FtM) lists: OpenSanctions JSON lines and the EU annex CSVs written in FtM columns.

Both publish entities in FtM terms (schema names such as ``Vessel``; properties such as
``imoNumber``, ``previousName``, ``flag``), so one property mapping (:class:`FtmMapper`) turns
either into list entries, and the two loaders only differ in how they read their file.

* :class:`~sanctionwatch.screening.lists.eu.EuFtmCsvLoader` (module ``eu``) reads OpenSanctions'
  transcriptions of EU Official Journal annexes: one row per annex listing.
* :class:`FtmJsonLoader` reads OpenSanctions' ``entities.ftm.json`` (one flat entity per line,
  links such as ``Ownership`` and ``Sanction`` are entities of their own) and the
  ``targets.nested.json`` form (one target per line, adjacent entities nested as objects inside
  ``properties``; see https://www.opensanctions.org/docs/bulk/json).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
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

__all__ = ["LINK_SCHEMAS", "THING_SCHEMAS", "FtmJsonLoader", "FtmMapper", "utc_date"]

# Schemas that become list entries (the things screening can match).
THING_SCHEMAS = frozenset(
    {"Vessel", "Company", "Organization", "LegalEntity", "Person", "Airplane", "Asset", "PublicBody"}
)
# Interval schemas linking two things -> (subject role, object role, relation). The subject is the
# side screening starts from (the asset, the organisation), the object the party named in the relation.
LINK_SCHEMAS: dict[str, tuple[str, str, str]] = {
    "Ownership": ("asset", "owner", "owner"),
    "Directorship": ("organization", "director", "director"),
    "UnknownLink": ("subject", "object", "linked_to"),
    "Representation": ("client", "agent", "representative"),
    "Family": ("person", "relative", "associate"),
    "Associate": ("person", "associate", "associate"),
}
# Entity-valued properties of each link schema (a nested link lacking one of them points at its parent).
_ROLES: dict[str, tuple[str, ...]] = {"Sanction": ("entity",)}
_ROLES |= {schema: (subject, obj) for schema, (subject, obj, _) in LINK_SCHEMAS.items()}
# Entity references on the thing itself (Vehicle.owner is deprecated in favour of Ownership, but
# older exports still carry it; LegalEntity.parent likewise) -> relation.
_REF_PROPS = {"owner": "owner", "operator": "operator", "parent": "owner"}
_COUNTRY_PROPS = ("country", "nationality", "citizenship", "jurisdiction", "mainCountry")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _values(props: Mapping[str, Sequence[str]], prop: str) -> list[str]:
    return _unique(props.get(prop, ()))


def _unique(values: Sequence[str]) -> list[str]:
    """Stripped, non-empty, first occurrence kept: list text repeats names across properties."""
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and v not in out:
            out.append(v)
    return out


def utc_date(text: str | None) -> dt.datetime | None:
    """Midnight UTC of a full ISO date ('2024-06-25', or the date part of a timestamp).

    FtM dates may be partial ('2024', '2024-06'); those give None rather than an invented day.
    """
    m = _DATE.match(text.strip()) if text else None
    if m is None:
        return None
    try:
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass
class FtmMapper:
    """FtM properties -> list entry columns; counts what it could not map, for the load notes."""

    source_id: str
    unknown_countries: Counter[str] = field(default_factory=Counter)
    bad_mmsis: Counter[str] = field(default_factory=Counter)
    extra_imos: int = 0

    def countries(self, values: Sequence[str]) -> list[str]:
        out: list[str] = []
        for value in _unique(values):
            code = country_iso2(value)
            if code is None:
                self.unknown_countries[value] += 1
            elif code not in out:
                out.append(code)
        return out

    def mmsis(self, values: Sequence[str]) -> list[int]:
        out: list[int] = []
        for value in _unique(values):
            digits = re.sub(r"\D", "", value)
            if len(digits) == 9 and int(digits) not in out:
                out.append(int(digits))
            elif len(digits) != 9:
                self.bad_mmsis[value] += 1
        return out

    def entry(self, entry_id: str, schema: str, props: Mapping[str, Sequence[str]],
              record_no: int) -> dict[str, Any]:
        """One entry row; ``name`` is None when the entity has none (the caller rejects it)."""
        names = _values(props, "name")
        imo: int | None = None
        imo_raw: str | None = None
        imo_valid: bool | None = None
        for raw in _values(props, "imoNumber"):  # OpenSanctions may give 'IMO9179842' and '9179842'
            parsed = parse_imo(raw, vessel=schema == "Vessel")
            if imo_raw is None or (imo is None and parsed[0] is not None):
                imo, imo_raw, imo_valid = parsed
            elif parsed[0] not in (None, imo):
                self.extra_imos += 1
        countries: list[str] = []
        for prop in _COUNTRY_PROPS:
            countries += [c for c in self.countries(props.get(prop, ())) if c not in countries]
        flags = self.countries(props.get("flag", ()))
        call_signs = _values(props, "callSign")
        types = _values(props, "type")
        remarks = _values(props, "notes") + _values(props, "summary")
        return {
            "entry_id": entry_id,
            "schema": schema,
            "name": names[0] if names else None,
            "aliases": [a for a in _unique(names[1:] + _values(props, "alias") + _values(props, "weakAlias"))
                        if not names or a != names[0]],
            "past_names": _values(props, "previousName"),
            "imo": imo,
            "imo_raw": imo_raw,
            "imo_valid": imo_valid,
            "mmsis": self.mmsis(props.get("mmsi", ())),
            "call_sign": call_signs[0] if call_signs else None,
            "flag_iso2": flags[0] if flags else None,
            "past_flags_iso2": self.countries(props.get("pastFlags", ())),
            "vessel_type": types[0] if types else None,
            "countries_iso2": countries,
            "programs": _unique(_values(props, "programId") + _values(props, "program")),
            "listed_on_utc": None,
            "remarks": "\n".join(remarks) or None,
            "source_id": self.source_id,
            "record_no": record_no,
        }

    def notes(self) -> list[str]:
        out = []
        if self.unknown_countries:
            top = ", ".join(f"{k!r} x{n}" for k, n in self.unknown_countries.most_common(5))
            n = sum(self.unknown_countries.values())
            out.append(f"{n} country values not recognised (kept out): {top}")
        if self.bad_mmsis:
            out.append(f"{sum(self.bad_mmsis.values())} MMSI values are not 9 digits (kept out): "
                       + ", ".join(repr(k) for k in list(self.bad_mmsis)[:5]))
        if self.extra_imos:
            out.append(f"{self.extra_imos} entities list more than one IMO number; the first is used")
        return out


# --- OpenSanctions FtM JSON lines ----------------------------------------------------------------


@dataclass
class _Entity:
    id: str
    schema: str
    props: dict[str, list[str]]
    line: int  # line of its own top-level record, else of the first record it is nested in
    target: bool | None
    top_level: bool


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


class FtmJsonLoader:
    """OpenSanctions FtM JSON lines: ``entities.ftm.json`` (flat) or ``targets.nested.json``.

    Nested entities are flattened by id; a nested link or Sanction that omits the property
    pointing back at its parent (the exporter drops references already on the path) gets the
    parent filled in. Things become entries (entities with ``target: false`` too: they are the
    owners and operators the links name; a note counts them). Links become relations and
    Sanctions are folded into the sanctioned entry's programmes, listing date and remarks.
    Other schemas (Address, Passport, ...) are counted in a note.
    """

    name = "ftm_json"

    def sniff(self, path: Path, head: bytes) -> bool:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return start.startswith(b"{") and b'"schema"' in start and b'"properties"' in start

    def load(self, path: Path) -> LoadedList:
        source_id = source_id_of(path)
        found: dict[str, _Entity] = {}
        stamps: list[dt.datetime] = []
        with open(path, encoding="utf-8-sig") as fh:
            for line_no, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ListError(path, f"invalid JSON ({exc.msg}, column {exc.colno}); truncated file?",
                                    line_no) from None
                self._collect(obj, line_no, None, found, stamps, path)
        as_of = max(stamps, default=None)
        return _assemble(self.name, path, source_id, found, as_of)

    def _collect(self, obj: Any, line: int, parent: str | None, found: dict[str, _Entity],
                 stamps: list[dt.datetime], path: Path) -> str:
        if not (isinstance(obj, dict) and all(isinstance(obj.get(k), str) for k in ("id", "schema"))):
            raise ListError(path, "not a FollowTheMoney entity (needs string 'id' and 'schema')", line)
        raw = obj.get("properties") or {}
        if not isinstance(raw, dict):
            raise ListError(path, f"entity {obj['id']}: 'properties' is not an object", line)
        props: dict[str, list[str]] = {}
        for prop, values in raw.items():
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, dict):
                    value = self._collect(value, line, obj["id"], found, stamps, path)
                if value is not None:
                    props.setdefault(prop, []).append(str(value))
        missing = [r for r in _ROLES.get(obj["schema"], ()) if not props.get(r)]
        if parent is not None and len(missing) == 1:
            props[missing[0]] = [parent]
        stamps += [t for t in (_timestamp(obj.get("last_change")), _timestamp(obj.get("last_seen"))) if t]
        target = obj.get("target") if isinstance(obj.get("target"), bool) else None
        known = found.get(obj["id"])
        if known is None:
            found[obj["id"]] = _Entity(obj["id"], obj["schema"], props, line, target, parent is None)
        else:  # the same entity nested under several targets, or repeated: unite its values
            for prop, values in props.items():
                known.props[prop] = _unique(known.props.get(prop, []) + values)
            known.target = known.target or target
            if parent is None and not known.top_level:
                known.line, known.top_level = line, True
        return str(obj["id"])


def _assemble(fmt: str, path: Path, source_id: str, found: dict[str, _Entity],
              as_of: dt.datetime | None) -> LoadedList:
    """Entries, relations and folded sanctions from the flattened entities."""
    mapper = FtmMapper(source_id)
    entries: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    other: Counter[str] = Counter()
    non_targets = 0
    ordered = sorted(found.values(), key=lambda e: e.line)
    for ent in ordered:
        if ent.schema not in THING_SCHEMAS:
            if ent.schema not in LINK_SCHEMAS and ent.schema != "Sanction":
                other[ent.schema] += 1
            continue
        row = mapper.entry(ent.id, ent.schema, ent.props, ent.line)
        if row["name"] is None:
            rejected.append(Rejected(source_id, ent.line, "empty_name", f"{ent.schema} {ent.id}"))
            continue
        non_targets += ent.target is False
        entries[ent.id] = row

    def caption(entity_id: str) -> str:
        ent = found.get(entity_id)
        names = _values(ent.props, "name") if ent else []
        return names[0] if names else entity_id

    relations: dict[tuple[str, str, str], dict[str, Any]] = {}
    dropped = Counter[str]()

    def relate(subject: str, relation: str, obj: str, start: str | None, line: int) -> None:
        if subject not in entries:
            dropped["subject not an entry"] += 1
            return
        key = (subject, relation, caption(obj))
        if key in relations:
            dropped["repeated"] += 1
            return
        relations[key] = {"subject_id": subject, "relation": relation,
                          "object_id": obj if obj in entries else None, "object_name": key[2],
                          "start_utc": utc_date(start), "source_id": source_id, "record_no": line}

    ref_time = as_of or dt.datetime.now(dt.UTC)
    orphan_sanctions = 0
    for ent in ordered:
        starts = _values(ent.props, "startDate")
        start = starts[0] if starts else None
        if ent.schema in LINK_SCHEMAS:
            subj_role, obj_role, relation = LINK_SCHEMAS[ent.schema]
            for subject in _values(ent.props, subj_role):
                for obj in _values(ent.props, obj_role):
                    relate(subject, relation, obj, start, ent.line)
        elif ent.schema in THING_SCHEMAS:
            for prop, relation in _REF_PROPS.items():
                for obj in _values(ent.props, prop):
                    relate(ent.id, relation, obj, None, ent.line)
        elif ent.schema == "Sanction":
            for target in _values(ent.props, "entity"):
                if target not in entries:
                    orphan_sanctions += 1
                    continue
                _fold_sanction(entries[target], ent.props, ref_time)
    notes = mapper.notes()
    if non_targets:
        notes.append(f"{non_targets} entries are not sanctions targets themselves "
                     "(target=false: linked parties)")
    if other:
        notes.append("schemas not loaded: " + ", ".join(f"{s} x{n}" for s, n in sorted(other.items())))
    if orphan_sanctions:
        notes.append(f"{orphan_sanctions} Sanction entities name an entity that is not an entry in the file")
    for reason, n in sorted(dropped.items()):
        notes.append(f"{n} link(s) not kept as relations: {reason}")
    name = path.name
    for suffix in (".json", ".jsonl", ".ndjson", ".ftm", ".nested"):
        name = name.removesuffix(suffix)
    return LoadedList(fmt, name or path.stem, [path], entries_table(entries.values()),
                      relations_table(relations.values()), as_of, rejected, notes)


def _fold_sanction(entry: dict[str, Any], props: Mapping[str, Sequence[str]], ref_time: dt.datetime) -> None:
    """A Sanction adds its programme, authority and dates to the entry it names."""
    programs = _unique([v for prop in ("programId", "program", "authority") for v in props.get(prop, ())])
    entry["programs"] = entry["programs"] + [p for p in programs if p not in entry["programs"]]
    listed = utc_date((_values(props, "listingDate") + _values(props, "startDate") + [""])[0])
    if listed is not None and (entry["listed_on_utc"] is None or listed < entry["listed_on_utc"]):
        entry["listed_on_utc"] = listed
    remarks = [entry["remarks"]] if entry["remarks"] else []
    ended = utc_date(([*_values(props, "endDate"), ""])[0])
    if ended is not None and ended < ref_time:
        label = "; ".join(programs) or "sanction"
        remarks.append(f"Sanction ended {ended.date().isoformat()}: {label}")
    remarks += [r for r in _values(props, "reason") if r not in remarks]
    entry["remarks"] = "\n".join(remarks) or None
