"""Screen every vessel of a project against the loaded lists (``sanctionwatch screen``).

The AIS side of the comparison is one *subject* per distinct identity a ship broadcast
(MMSI, IMO, name, call sign) with its first/last seen and the identity records behind it, plus
one bare subject per MMSI seen only in position reports (screened by MMSI). Pair scores come
from :mod:`sanctionwatch.screening.match`; a ship's result against an entry is its best-scoring
identity, seen from the first to the last report of any identity that scored above the cutoff.

Incremental and idempotent: the run key is the settings' ``params_id`` and the set of list
versions. When it is unchanged, only MMSIs present in sources screened under no key yet are
re-screened (all of their identities, old and new), and their matches replaced; otherwise
everything is. Running twice on the same data changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from sanctionwatch.identifiers import flag_for_mmsi_expr
from sanctionwatch.schema import MATCHES
from sanctionwatch.screening.catalog import _has_tables, current_entries, ensure_tables
from sanctionwatch.screening.match import MatchParams, screen_subjects
from sanctionwatch.store import Project

__all__ = ["ScreenReport", "ais_subjects", "screen_project", "screening_results"]

ProgressFn = Callable[[str], None]


@dataclass
class ScreenReport:
    """What one screening run did."""

    full: bool
    vessels_screened: int
    subjects: int
    entries: int
    matches: int
    possible: int
    seconds: float


def ais_subjects(project: Project, mmsis: list[int] | None = None) -> pl.DataFrame:
    """One row per distinct broadcast identity (plus MMSIs with positions only), for screening."""
    where = ""
    params: list[Any] = []
    if mmsis is not None:
        where = "WHERE mmsi IN (SELECT unnest(?::INTEGER[]))"
        params = [mmsis]
    identities = project.con.sql(
        f"""SELECT mmsi, imo, bool_or(imo_valid) AS imo_valid, name, call_sign,
                   any_value(flag_iso2) AS flag_iso2, min(first_seen_utc) AS first_seen_utc,
                   max(last_seen_utc) AS last_seen_utc, sum(n_reports)::BIGINT AS n_reports,
                   list(DISTINCT {{'source_id': source_id, 'record_no': record_no}}) AS evidence
            FROM identities {where} GROUP BY mmsi, imo, name, call_sign""",
        params=params,
    ).pl()
    pos_where = "WHERE mmsi NOT IN (SELECT DISTINCT mmsi FROM identities)"
    if mmsis is not None:
        pos_where += " AND mmsi IN (SELECT unnest(?::INTEGER[]))"
    bare = project.query(
        f"""SELECT mmsi, min(ts_utc) AS first_seen_utc, max(ts_utc) AS last_seen_utc,
                   count(*)::BIGINT AS n_reports,
                   [{{'source_id': arg_min(source_id, ts_utc), 'record_no': arg_min(record_no, ts_utc)}}] AS evidence
            FROM {{positions}} {pos_where} GROUP BY mmsi""",
        params,
    )
    bare = bare.with_columns(
        pl.lit(None, pl.Int32).alias("imo"), pl.lit(None, pl.Boolean).alias("imo_valid"),
        pl.lit(None, pl.String).alias("name"), pl.lit(None, pl.String).alias("call_sign"),
        flag_for_mmsi_expr(pl.col("mmsi")).alias("flag_iso2"),
    ).select(identities.columns)
    subjects = pl.concat([identities, bare.cast(identities.schema)]).sort("mmsi", "first_seen_utc")
    return subjects.with_row_index("subject_idx").with_columns(pl.col("subject_idx").cast(pl.Int64))


def _run_key(project: Project, list_ids: list[str]) -> str:
    return hashlib.sha256(json.dumps([project.config.params_id, sorted(list_ids)]).encode()).hexdigest()[:16]


def _mmsis_of_sources(project: Project, source_ids: list[str]) -> list[int]:
    if not source_ids:
        return []
    ids = project.con.sql("SELECT DISTINCT mmsi FROM identities WHERE source_id IN (SELECT unnest(?::VARCHAR[]))",
                          params=[source_ids]).pl()
    pos = project.query("SELECT DISTINCT mmsi FROM {positions} WHERE source_id IN (SELECT unnest(?::VARCHAR[]))",
                        [source_ids])
    return sorted(set(ids.get_column("mmsi").to_list()) | set(pos.get_column("mmsi").to_list()))


def _identity_events(project: Project, mmsis: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Identity-change events (from ``sanctionwatch run``) of the matched vessels, when present."""
    exists = project.has_table("events")
    if not mmsis or not exists:
        return {}
    df = project.con.sql(
        "SELECT mmsi, event_id, start_utc, attrs_json, evidence FROM events "
        "WHERE event_type = 'identity_change' AND mmsi IN (SELECT unnest(?::INTEGER[])) ORDER BY start_utc",
        params=[mmsis],
    ).pl()
    out: dict[int, list[dict[str, Any]]] = {}
    for row in df.iter_rows(named=True):
        out.setdefault(row["mmsi"], []).append(row)
    return out


def _describe_identity_event(ev: dict[str, Any]) -> str:
    attrs = json.loads(ev["attrs_json"] or "{}")
    kind = attrs.get("kind", "identity")
    when = ev["start_utc"].date().isoformat()
    if "before" in attrs:
        return f"identity change {when}: {kind} {attrs['before']} -> {attrs['after']} (event {ev['event_id']})"
    return f"identity event {when}: {kind} (event {ev['event_id']})"


def _aggregate(subjects: pl.DataFrame, entries: pl.DataFrame, scored: pl.DataFrame, params: MatchParams,
               params_id: str, id_events: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    involved = subjects.join(scored.select("subject_idx").unique(), on="subject_idx", how="semi")
    subj = {r["subject_idx"]: r for r in involved.iter_rows(named=True)}
    ent = {r["entry_idx"]: r for r in entries.iter_rows(named=True)}
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in scored.iter_rows(named=True):
        groups.setdefault((subj[row["subject_idx"]]["mmsi"], row["entry_idx"]), []).append(row)
    out = []
    for (mmsi, e_idx), rows in groups.items():
        best = max(rows, key=lambda r: (r["score"], -r["subject_idx"]))
        s_best, entry = subj[best["subject_idx"]], ent[e_idx]
        members = [subj[r["subject_idx"]] for r in rows]
        evidence = {(e["source_id"], e["record_no"]) for m in members for e in (m["evidence"] or [])}
        evidence.add((entry["source_id"], entry["record_no"]))
        reasons = list(best["reasons"])
        if entry["entry_status"] == "delisted" and entry.get("delisted_on_utc") is not None:
            reasons.append(f"entry delisted: absent from the list version of {entry['delisted_on_utc'].date()}")
        for ev in id_events.get(mmsi, []):
            reasons.append(_describe_identity_event(ev))
            evidence.update((e["source_id"], e["record_no"]) for e in (ev["evidence"] or []))
        score = float(best["score"])
        match_id = hashlib.sha256(f"{mmsi}|{entry['list_id']}|{entry['entry_id']}|{params_id}".encode()).hexdigest()[:16]
        out.append({
            "match_id": match_id, "mmsi": mmsi, "ais_name": s_best["name"], "ais_imo": s_best["imo"],
            "list_name": entry["list_name"], "list_id": entry["list_id"], "entry_id": entry["entry_id"],
            "entry_name": entry["name"], "entry_schema": entry["schema"], "score": score,
            "status": "match" if score >= params.match_threshold else "possible",
            "entry_status": entry["entry_status"], "reasons": reasons,
            "first_seen_utc": min(m["first_seen_utc"] for m in members),
            "last_seen_utc": max(m["last_seen_utc"] for m in members),
            "evidence": [{"source_id": s, "record_no": r} for s, r in sorted(evidence)],
            "params_id": params_id,
        })
    return out


def screen_project(project: Project, *, full: bool = False, on_progress: ProgressFn | None = None) -> ScreenReport:
    """Screen the project's vessels against its lists and store the results in ``matches``."""
    started = time.perf_counter()
    say = on_progress or (lambda _msg: None)
    ensure_tables(project)
    params = MatchParams.from_config(project.config)
    entries = current_entries(project)
    list_ids = sorted(set(entries.get_column("list_id").to_list()))
    key = _run_key(project, list_ids)
    screened = project.con.sql("SELECT source_id, run_key FROM screen_sources").pl()
    all_sources = [r[0] for r in project.con.execute("SELECT source_id FROM sources").fetchall()]
    same_key = screened.height > 0 and set(screened.get_column("run_key").to_list()) == {key}
    mmsis: list[int] | None
    if full or not same_key:
        full, mmsis = True, None
    else:
        done = set(screened.get_column("source_id").to_list())
        mmsis = _mmsis_of_sources(project, [s for s in all_sources if s not in done])
    vessels = entries.filter(pl.col("schema") == "Vessel").with_row_index("entry_idx").with_columns(
        pl.col("entry_idx").cast(pl.Int64))
    rows: list[dict[str, Any]] = []
    n_subjects = n_vessels = 0
    if mmsis is None or mmsis:
        say(f"screening against {vessels.height:,} listed vessels")
        subjects = ais_subjects(project, mmsis)
        n_subjects, n_vessels = subjects.height, subjects.get_column("mmsi").n_unique()
        scored = screen_subjects(subjects, vessels, params)
        matched = sorted({int(m) for m in subjects.join(scored.select("subject_idx"), on="subject_idx")
                          .get_column("mmsi").to_list()})
        rows = _aggregate(subjects, vessels, scored, params, project.config.params_id,
                          _identity_events(project, matched))
    table = pa.Table.from_pylist(rows, schema=MATCHES.arrow())
    with project.transaction() as con:
        if mmsis is None:
            con.execute("DELETE FROM matches")
        elif mmsis:
            con.execute("DELETE FROM matches WHERE mmsi IN (SELECT unnest(?::INTEGER[]))", [mmsis])
        if table.num_rows:
            con.register("_m", table)
            con.execute("INSERT INTO matches SELECT * FROM _m")
            con.unregister("_m")
        con.execute("DELETE FROM screen_sources")
        if all_sources:
            con.executemany("INSERT INTO screen_sources VALUES (?, ?)", [[s, key] for s in all_sources])
    n_match = sum(1 for r in rows if r["status"] == "match")
    return ScreenReport(full, n_vessels, n_subjects, vessels.height, n_match, len(rows) - n_match,
                        time.perf_counter() - started)


def screening_results(project: Project, *, status: str | None = None) -> pl.DataFrame:
    """Stored matches, best first."""
    if not _has_tables(project):
        return pl.DataFrame(schema=MATCHES.polars())  # type: ignore[arg-type]
    sql = "SELECT * FROM matches"
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    return project.con.sql(sql + " ORDER BY score DESC, mmsi, list_name, entry_id", params=params).pl()

