"""The findings engine: evaluate rules over the inputs, give each finding its id, evidence and
parameters, and store them.

Pure where it matters: :func:`evaluate` maps :class:`FindingInputs` to FINDINGS rows and knows
nothing of where the tables came from, so either engine (local store, Spark output) can call
it. :func:`run_findings` is the local wrapper: read a project, evaluate, replace the project's
findings in one transaction. Finding ids are hashes of rule, subject and span, so a re-run with
the same inputs writes the same rows (nothing twice) and a changed input changes only what it
touches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sanctionwatch import __version__
from sanctionwatch.findings.inputs import FindingInputs, inputs_from_project
from sanctionwatch.findings.rules import BUILTIN_RULES, Draft, Rule
from sanctionwatch.findings.store import ensure_findings_table
from sanctionwatch.findings.user_rules import RuleFileError, load_rules_file
from sanctionwatch.schema import FINDINGS, conform
from sanctionwatch.store import Project

__all__ = ["PLUGIN_GROUP", "FindingsReport", "RuleFileError", "evaluate", "plugin_rules", "project_rules",
           "run_findings"]

RULES_DIR = "rules"  # a project's own rules files: DIR/rules/*.toml


@dataclass
class FindingsReport:
    by_rule: dict[str, int] = field(default_factory=dict)
    total: int = 0
    rules: list[str] = field(default_factory=list)
    seconds: float = 0.0


PLUGIN_GROUP = "sanctionwatch.rules"  # entry points of installed packages that add rules


def plugin_rules() -> list[Rule]:
    """Rules from installed packages: each entry point of group ``sanctionwatch.rules`` names a
    :class:`Rule` or an iterable of them (the built-ins are declared the same way)."""
    from dataclasses import replace
    from importlib.metadata import entry_points

    rules: list[Rule] = []
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = ep.load()
        except Exception as err:  # a broken plugin names itself, it does not stop with a traceback
            raise RuleFileError(f"rules plugin {ep.name} ({ep.value}) cannot be loaded: {err}") from None
        found = [loaded] if isinstance(loaded, Rule) else list(loaded)
        if not all(isinstance(r, Rule) for r in found):
            raise RuleFileError(f"rules plugin {ep.name} ({ep.value}) gives something that is not a Rule")
        rules.extend(replace(r, origin=f"plugin {ep.name}") for r in found)
    return rules


def project_rules(project: Project, extra_files: Sequence[Path] = ()) -> list[Rule]:
    """The built-in rules, installed plugins' rules, the project's rules files (DIR/rules/*.toml),
    then ``extra_files``."""
    rules = list(BUILTIN_RULES) + plugin_rules()
    files = sorted((project.path / RULES_DIR).glob("*.toml")) + [Path(p) for p in extra_files]
    for f in files:
        rules.extend(load_rules_file(f))
    names = [r.name for r in rules]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise RuleFileError(f"rule name(s) used twice across the built-ins and rules files: {', '.join(clash)}")
    return rules


def _ref_key(ref: dict[str, Any]) -> tuple[str, int]:
    return str(ref["source_id"]), int(ref["record_no"])


def _evidence(draft: Draft, by_event: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, int]] = set()
    out: list[dict[str, Any]] = []
    for ref in [r for e in draft.event_ids for r in by_event.get(e, [])] + list(draft.extra_evidence):
        key = _ref_key(ref)
        if key not in seen:
            seen.add(key)
            out.append({"source_id": key[0], "record_no": key[1]})
    return out


def _finding_id(rule: str, draft: Draft) -> str:
    subject = draft.key or f"{sorted(draft.mmsis)}|{sorted(draft.area_ids)}"
    start = draft.start_utc.isoformat() if draft.start_utc else ""
    return hashlib.sha256(f"{rule}|{subject}|{start}".encode()).hexdigest()[:24]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def evaluate(inputs: FindingInputs, rules: Iterable[Rule] = BUILTIN_RULES) -> pl.DataFrame:
    """Every finding of ``rules`` over ``inputs``, as FINDINGS rows (most severe first)."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    if inputs.events.height:
        for eid, refs in inputs.events.select("event_id", "evidence").iter_rows():
            by_event[eid] = list(refs or [])
    known_events = set(by_event)
    rows: list[dict[str, Any]] = []
    for rule in rules:
        settings = {name: inputs.config[name] for name in rule.settings}
        for draft in rule.fn(inputs):
            missing = [e for e in draft.event_ids if e not in known_events]
            if missing:
                raise ValueError(f"rule {rule.name} cites unknown event(s) {', '.join(missing[:3])}")
            rows.append({
                "finding_id": _finding_id(rule.name, draft), "rule": rule.name,
                "severity": draft.severity or rule.severity, "statement": draft.statement,
                "confidence": draft.confidence, "confidence_reason": draft.confidence_reason,
                "start_utc": draft.start_utc, "end_utc": draft.end_utc,
                "mmsis": sorted(set(draft.mmsis)), "area_ids": sorted(set(draft.area_ids)),
                "event_ids": list(dict.fromkeys(draft.event_ids)), "evidence": _evidence(draft, by_event),
                "params_id": inputs.config.params_id, "title": draft.title,
                "attrs_json": json.dumps({"rule": {"name": rule.name, "title": rule.title, "origin": rule.origin,
                                                   "description": rule.description, "settings": settings},
                                          "figures": draft.figures, "tool_version": __version__},
                                         sort_keys=True, default=_json_default),
            })
    schema: Any = FINDINGS.polars()
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    dupes = frame.filter(pl.col("finding_id").is_duplicated())
    if dupes.height:  # two drafts of one rule with the same subject and start: a rule bug
        raise ValueError(f"rule {dupes['rule'][0]} made two findings with the same subject and start")
    return frame


def run_findings(project: Project, *, rules_files: Sequence[Path] = (), only: Sequence[str] = ()) -> FindingsReport:
    """Evaluate the rules on the project and replace its stored findings (one transaction)."""
    started = time.perf_counter()
    rules = project_rules(project, rules_files)
    if only:
        unknown = sorted(set(only) - {r.name for r in rules})
        if unknown:
            raise RuleFileError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(r.name for r in rules)}")
        rules = [r for r in rules if r.name in only]
    found = evaluate(inputs_from_project(project), rules)
    arrow = conform(found.to_arrow(), FINDINGS)
    with project.transaction() as con:
        ensure_findings_table(project)
        if only:
            con.execute(f"DELETE FROM findings WHERE rule IN ({', '.join('?' * len(only))})", list(only))
        else:
            con.execute("DELETE FROM findings")
        con.register("_new_findings", arrow)
        con.execute("INSERT INTO findings SELECT * FROM _new_findings")
        con.unregister("_new_findings")
    counts = found.group_by("rule").len().sort("rule")
    return FindingsReport(by_rule=dict(counts.iter_rows()), total=found.height, rules=[r.name for r in rules],
                          seconds=time.perf_counter() - started)
