"""An analyst's own rules, as SQL in a TOML file, run through the same engine as the built-ins.

```toml
[[rule]]
name = "long_dark_periods"
title = "Long AIS gaps"
description = "Any vessel dark for more than two days."
severity = "low"                       # info | low | medium | high
confidence = 0.6
confidence_reason = "the gap is observed; why the transponder was off is not"
statement = "{vessel} was dark for {hours:.0f} h from {start_utc:%Y-%m-%d}."
sql = '''
SELECT mmsi, start_utc, end_utc, [event_id] AS event_ids,
       CAST(json_extract(attrs_json, '$.duration_h') AS DOUBLE) AS hours
FROM events
WHERE event_type = 'ais_gap' AND CAST(json_extract(attrs_json, '$.duration_h') AS DOUBLE) > $min_hours
'''
[rule.params]
min_hours = 48
```

The query sees the tables ``events``, ``matches``, ``sanctioned`` (the matches that make a vessel
sanctioned under ``findings.sanctioned_status``), ``detections``, ``detection_matches``,
``areas`` (area_id, name, kind, groups, lat_deg, lon_deg, radius_m) and ``vessels`` (mmsi,
label). ``$name`` placeholders take the values of ``[rule.params]`` (bound, never pasted into
the SQL). Each result row is one finding; it must have ``start_utc`` and may have ``mmsi`` or
``mmsis``, ``end_utc``, ``event_ids``, ``area_id`` or ``area_ids``, ``confidence`` and
``evidence`` (a list of {source_id, record_no}); the events' own evidence is added by the
engine. ``statement`` and ``title`` are Python format strings over the row's columns plus
``vessel`` (the first vessel's label) and ``area`` (the first area's name).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from sanctionwatch.findings.inputs import FindingInputs
from sanctionwatch.findings.rules import SEVERITIES, Draft, Rule

__all__ = ["RuleFileError", "load_rules_file"]

_REQUIRED = ("name", "title", "description", "severity", "sql", "statement")
_KNOWN = {*_REQUIRED, "confidence", "confidence_reason", "params"}


class RuleFileError(ValueError):
    """A rules file cannot be used; the message names the file and the rule."""


def load_rules_file(path: Path) -> list[Rule]:
    """The rules declared in ``path``; RuleFileError (naming file, line or rule) when it is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:  # its message carries "(at line N, column M)"
        raise RuleFileError(f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RuleFileError(f"{path}: cannot read: {err}") from None
    entries = data.get("rule")
    if not isinstance(entries, list) or not entries:
        raise RuleFileError(f"{path}: no [[rule]] tables")
    rules: list[Rule] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: rule #{i}" + (f" ({entry.get('name')})" if isinstance(entry, dict) and entry.get("name")
                                        else "")
        if not isinstance(entry, dict):
            raise RuleFileError(f"{where}: not a table")
        missing = [k for k in _REQUIRED if not isinstance(entry.get(k), str) or not entry[k].strip()]
        if missing:
            raise RuleFileError(f"{where}: missing or empty {', '.join(missing)}")
        unknown = sorted(set(entry) - _KNOWN)
        if unknown:
            raise RuleFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
        if entry["severity"] not in SEVERITIES:
            raise RuleFileError(f"{where}: severity {entry['severity']!r} is not one of {', '.join(SEVERITIES)}")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise RuleFileError(f"{where}: params must be a table")
        confidence = entry.get("confidence", 0.5)
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise RuleFileError(f"{where}: confidence must be a number in [0, 1]")
        rules.append(Rule(
            name=entry["name"], title=entry["title"], description=entry["description"],
            severity=entry["severity"], settings=(), origin=str(path),
            fn=_sql_rule(where, entry, params, float(confidence)),
        ))
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuleFileError(f"{path}: rule name(s) declared twice: {', '.join(dupes)}")
    return rules


def _tables(inputs: FindingInputs) -> dict[str, pl.DataFrame]:
    areas = pl.DataFrame(
        [{"area_id": a.area_id, "name": a.name, "kind": a.kind, "groups": list(a.groups), "lat_deg": a.lat_deg,
          "lon_deg": a.lon_deg, "radius_m": a.radius_m} for a in inputs.areas],
        schema={"area_id": pl.String, "name": pl.String, "kind": pl.String, "groups": pl.List(pl.String),
                "lat_deg": pl.Float64, "lon_deg": pl.Float64, "radius_m": pl.Float64})
    vessels = pl.DataFrame({"mmsi": list(inputs.labels), "label": list(inputs.labels.values())},
                           schema={"mmsi": pl.Int32, "label": pl.String})
    return {"events": inputs.events, "matches": inputs.matches, "sanctioned": inputs.sanctioned,
            "detections": inputs.detections, "detection_matches": inputs.detection_matches,
            "areas": areas, "vessels": vessels}


def _sql_rule(where: str, entry: dict[str, Any], params: dict[str, Any], confidence: float) -> Any:
    def run(inputs: FindingInputs) -> list[Draft]:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            for name, frame in _tables(inputs).items():
                con.register(name, frame.to_arrow())
            try:
                result = con.sql(entry["sql"], params=params or None).pl()
            except duckdb.Error as err:
                raise RuleFileError(f"{where}: the query failed: {err}") from None
        finally:
            con.close()
        if "start_utc" not in result.columns:
            raise RuleFileError(f"{where}: the query must return a start_utc column (it returned "
                                f"{', '.join(result.columns)})")
        drafts = []
        for row in result.iter_rows(named=True):
            mmsis = [int(m) for m in (row.get("mmsis") or ([row["mmsi"]] if row.get("mmsi") is not None else []))]
            area_ids = [str(a) for a in (row.get("area_ids") or ([row["area_id"]] if row.get("area_id") else []))]
            values = {**row, "vessel": inputs.label(mmsis[0]) if mmsis else "",
                      "area": inputs.area_name(area_ids[0]) if area_ids else ""}
            try:
                statement = entry["statement"].format(**values)
                title = entry["title"].format(**values)
            except (KeyError, ValueError, IndexError, AttributeError) as err:
                raise RuleFileError(f"{where}: statement/title template: {err!r}; columns are "
                                    f"{', '.join(values)}") from None
            conf = row.get("confidence")
            drafts.append(Draft(
                statement=statement, title=title, start_utc=row["start_utc"], end_utc=row.get("end_utc"),
                mmsis=mmsis, area_ids=area_ids, event_ids=[str(e) for e in (row.get("event_ids") or [])],
                confidence=float(conf) if conf is not None else confidence,
                confidence_reason=entry.get("confidence_reason", "set by the rule's author"),
                extra_evidence=list(row.get("evidence") or []),
                figures={k: v for k, v in row.items() if isinstance(v, int | float | str | bool) or v is None},
            ))
        return drafts

    return run
