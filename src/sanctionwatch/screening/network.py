"""The network behind the lists: owners, managers, operators, flags, matched AIS vessels, encounters.

Nodes
    ``entry:<list>:<id>`` a list entry (vessel, company, person); ``party:<NAME>`` a party a list
    names without an entry of its own (e.g. an OFAC ``Vess_owner``); ``mmsi:<n>`` a vessel seen in
    AIS; ``flag:<ISO2>`` a flag state.
Edges (attribute ``relation``)
    the list's own relations (owner, operator, manager, director, linked_to, associate);
    ``same_as`` between entries that are the same thing in two lists (same valid IMO for vessels,
    same normalised name for organisations) and between a party and an entry of that name;
    ``screened_as`` from an AIS vessel to the entries it matched (``sanctionwatch screen``);
    ``encounter`` between AIS vessels that met at sea (``sanctionwatch run``); ``flag``.

Degrees of separation count relation edges from a node to the nearest *sanctioned* node (an entry
listed in the latest version of a published sanctions list; analysts' own watchlists and delisted
entries are not sanctioned). ``same_as`` edges cost nothing, and flag nodes are not paths: sharing
a flag does not connect two owners.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from sanctionwatch.screening.catalog import _has_tables, current_entries
from sanctionwatch.screening.names import normalize_name
from sanctionwatch.store import Project, atomic_output

__all__ = ["Neighbour", "build_graph", "export_graph", "find_nodes", "neighbourhood", "separation"]

NOT_SANCTIONED_FORMATS = frozenset({"watchlist_csv"})
ORG_SCHEMAS = frozenset({"Company", "Organization", "LegalEntity", "PublicBody"})


def _entry_node(list_name: str, entry_id: str) -> str:
    return f"entry:{list_name}:{entry_id}"


def build_graph(project: Project, *, include_possible: bool = False) -> nx.MultiGraph:
    """The whole network of the project as an undirected multigraph with typed nodes and edges."""
    g: nx.MultiGraph = nx.MultiGraph()
    if not _has_tables(project):
        return g
    entries = current_entries(project)
    formats = dict(project.con.execute("SELECT list_id, format FROM lists").fetchall())
    by_name: dict[str, list[str]] = {}
    by_imo: dict[int, list[str]] = {}
    entry_of: dict[tuple[str, str], str] = {}
    for e in entries.iter_rows(named=True):
        node = _entry_node(e["list_name"], e["entry_id"])
        entry_of[(e["list_id"], e["entry_id"])] = node
        sanctioned = e["entry_status"] == "listed" and formats.get(e["list_id"]) not in NOT_SANCTIONED_FORMATS
        g.add_node(node, kind="entry", schema=e["schema"], name=e["name"], list_name=e["list_name"],
                   entry_id=e["entry_id"], status=e["entry_status"], sanctioned=sanctioned,
                   imo=e["imo"] if e["imo"] is not None else "")
        if e["schema"] == "Vessel" and e["imo_valid"]:
            by_imo.setdefault(e["imo"], []).append(node)
        if e["schema"] in ORG_SCHEMAS:
            by_name.setdefault(normalize_name(e["name"]), []).append(node)
        if e["schema"] == "Vessel" and e["flag_iso2"]:
            g.add_node(f"flag:{e['flag_iso2']}", kind="flag", name=e["flag_iso2"], sanctioned=False)
            g.add_edge(node, f"flag:{e['flag_iso2']}", relation="flag")
    for group in (*by_imo.values(), *by_name.values()):
        for a, b in itertools.pairwise(group):
            g.add_edge(a, b, relation="same_as")
    rels = project.con.sql("SELECT * FROM list_relations").pl()
    for r in rels.iter_rows(named=True):
        subject = entry_of.get((r["list_id"], r["subject_id"]))
        if subject is None:
            continue
        target = entry_of.get((r["list_id"], r["object_id"])) if r["object_id"] else None
        if target is None:
            key = normalize_name(r["object_name"])
            target = f"party:{key}"
            if target not in g:
                g.add_node(target, kind="party", name=r["object_name"], sanctioned=False)
                for same in by_name.get(key, []):
                    g.add_edge(target, same, relation="same_as")
        g.add_edge(subject, target, relation=r["relation"])
    _add_ais(project, g, entry_of, include_possible)
    return g


def _add_ais(project: Project, g: nx.MultiGraph, entry_of: dict[tuple[str, str], str], include_possible: bool) -> None:
    names = dict(project.con.execute(
        "SELECT mmsi, arg_max(name, last_seen_utc) FROM identities WHERE name IS NOT NULL GROUP BY mmsi").fetchall())

    def ais_node(mmsi: int) -> str:
        node = f"mmsi:{mmsi}"
        if node not in g:
            g.add_node(node, kind="ais_vessel", name=names.get(mmsi) or str(mmsi), mmsi=mmsi, sanctioned=False)
        return node

    matches = project.con.sql("SELECT mmsi, list_id, entry_id, score, status FROM matches").pl()
    for m in matches.iter_rows(named=True):
        target = entry_of.get((m["list_id"], m["entry_id"]))
        if target is not None and (m["status"] == "match" or include_possible):
            g.add_edge(ais_node(m["mmsi"]), target, relation="screened_as", score=round(m["score"], 3),
                       status=m["status"])
    has_events = project.has_table("events")
    if has_events:
        enc = project.con.sql("SELECT mmsi, other_mmsi, start_utc, event_id FROM events "
                              "WHERE event_type = 'encounter' AND other_mmsi IS NOT NULL").pl()
        for e in enc.iter_rows(named=True):
            g.add_edge(ais_node(e["mmsi"]), ais_node(e["other_mmsi"]), relation="encounter",
                       start_utc=e["start_utc"].isoformat(), event_id=e["event_id"])


def _path_graph(g: nx.MultiGraph) -> nx.Graph:
    """Simple weighted graph for distances: flags removed, same_as costs 0, other relations 1."""
    h = nx.Graph()
    h.add_nodes_from(n for n, d in g.nodes(data=True) if d.get("kind") != "flag")
    for a, b, d in g.edges(data=True):
        if a in h and b in h:
            w = 0 if d.get("relation") == "same_as" else 1
            if not h.has_edge(a, b) or h[a][b]["weight"] > w:
                h.add_edge(a, b, weight=w)
    return h


def separation(g: nx.MultiGraph) -> dict[str, tuple[int, str]]:
    """Degrees of separation of every node to its nearest sanctioned node, and that node."""
    h = _path_graph(g)
    sources = [n for n, d in g.nodes(data=True) if d.get("sanctioned")]
    if not sources:
        return {}
    dist, paths = nx.multi_source_dijkstra(h, sources, weight="weight")
    return {n: (int(d), paths[n][0]) for n, d in dist.items()}


def find_nodes(g: nx.MultiGraph, query: str) -> list[str]:
    """Nodes for an MMSI (9 digits), an IMO (7 digits), a node id, or a name (normalised, exact)."""
    q = query.strip()
    if q in g:
        return [q]
    if q.isdigit() and len(q) == 9 and f"mmsi:{q}" in g:
        return [f"mmsi:{q}"]
    if q.upper().removeprefix("IMO").strip().isdigit() and len(q.upper().removeprefix("IMO").strip()) == 7:
        imo = int(q.upper().removeprefix("IMO").strip())
        return sorted(n for n, d in g.nodes(data=True) if d.get("imo") == imo)
    key = normalize_name(q)
    return sorted(n for n, d in g.nodes(data=True) if d.get("kind") != "flag" and normalize_name(d.get("name")) == key)


@dataclass(frozen=True)
class Neighbour:
    node: str
    kind: str
    name: str
    hops: int  # relation edges from the queried entity (same_as free)
    via: str  # relation of the last edge on the shortest path
    separation: int | None  # degrees to the nearest sanctioned node
    nearest_sanctioned: str | None
    sanctioned: bool


def neighbourhood(g: nx.MultiGraph, start: list[str], depth: int) -> list[Neighbour]:
    """Everything within ``depth`` relation edges of the start nodes, nearest first."""
    h = _path_graph(g)
    dist, paths = nx.multi_source_dijkstra(h, [s for s in start if s in h], cutoff=depth, weight="weight")
    sep = separation(g)
    out = []
    for node, d in sorted(dist.items(), key=lambda kv: (kv[1], kv[0])):
        path = paths[node]
        via = ""
        if len(path) > 1:
            rels = {e.get("relation", "") for e in g.get_edge_data(path[-2], path[-1]).values()}
            via = ",".join(sorted(rels))
        data = g.nodes[node]
        s = sep.get(node)
        out.append(Neighbour(node, data.get("kind", ""), str(data.get("name", "")), int(d), via,
                             s[0] if s else None, g.nodes[s[1]].get("name") if s else None,
                             bool(data.get("sanctioned"))))
    return out


def export_graph(g: nx.MultiGraph, out: Path) -> None:
    """GraphML (Gephi, yEd) or JSON node-link (browser graph views), by the file's suffix."""
    out = Path(out)
    sep = separation(g)
    g = g.copy()
    for n, attrs in g.nodes(data=True):
        s = sep.get(n)
        attrs["separation"] = s[0] if s else -1
        for k, v in list(attrs.items()):
            if v is None:
                attrs[k] = ""
    suffix = out.suffix.lower()
    if suffix not in (".graphml", ".json"):
        raise ValueError(f"{out}: unknown graph format {out.suffix!r}; use .graphml or .json")
    with atomic_output(out) as tmp:
        if suffix == ".graphml":
            nx.write_graphml(g, tmp)
        else:
            data: dict[str, Any] = nx.node_link_data(g, edges="edges")
            tmp.write_text(json.dumps(data, default=str, indent=1), encoding="utf-8")
