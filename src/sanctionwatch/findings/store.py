"""Reading findings back from a project: filters, the events behind one, the vessels concerned.

Used by the command line, the HTML report, the exports and the web app, so they all agree on
what a finding is and what stands behind it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from sanctionwatch.schema import EVENTS, FINDINGS
from sanctionwatch.store import Project

__all__ = ["SEVERITIES", "FindingFilter", "ensure_findings_table", "finding_events", "findings_frame",
           "span_overlap"]

#: severities, lowest first (filters use "at least")
SEVERITIES = ("info", "low", "medium", "high")


def span_overlap(since: dt.datetime | None, until: dt.datetime | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for rows (events, findings) whose span
    [start_utc, end_utc or start_utc] overlaps the window [since, until)."""
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("coalesce(end_utc, start_utc) >= ?")
        params.append(since)
    if until is not None:
        clauses.append("start_utc < ?")
        params.append(until)
    return clauses, params


def ensure_findings_table(project: Project) -> None:
    project.con.execute(FINDINGS.duckdb_ddl())


@dataclass(frozen=True)
class FindingFilter:
    """Which findings to return; every field is optional and they combine with AND."""

    rule: str | None = None
    min_severity: str | None = None
    mmsi: int | None = None
    area_id: str | None = None
    since: dt.datetime | None = None     # the finding's span ends at or after this
    until: dt.datetime | None = None     # ... and starts before this
    text: str | None = None              # substring of the statement or title (case-insensitive)
    finding_ids: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.rule:
            clauses.append("rule = ?")
            params.append(self.rule)
        if self.min_severity:
            if self.min_severity not in SEVERITIES:
                raise ValueError(f"unknown severity {self.min_severity!r}; one of {', '.join(SEVERITIES)}")
            allowed = SEVERITIES[SEVERITIES.index(self.min_severity):]
            clauses.append(f"severity IN ({', '.join('?' * len(allowed))})")
            params.extend(allowed)
        if self.mmsi is not None:
            clauses.append("list_contains(mmsis, ?)")
            params.append(int(self.mmsi))
        if self.area_id:
            clauses.append("list_contains(area_ids, ?)")
            params.append(self.area_id)
        window, window_params = span_overlap(self.since, self.until)
        clauses += window
        params += window_params
        if self.text:
            clauses.append("(statement ILIKE ? OR title ILIKE ?)")
            params.extend([f"%{self.text}%"] * 2)
        if self.finding_ids:
            clauses.append(f"finding_id IN ({', '.join('?' * len(self.finding_ids))})")
            params.extend(self.finding_ids)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# Most severe first; within a severity, patterns (more events) before single events, then confidence.
_ORDER = ("ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, "
          "len(event_ids) DESC, confidence DESC NULLS LAST, start_utc, finding_id")


def findings_frame(project: Project, flt: FindingFilter | None = None, *, limit: int | None = None,
                   offset: int = 0) -> pl.DataFrame:
    """Stored findings (FINDINGS columns), most severe and most confident first."""
    if not project.has_table("findings"):
        return pl.DataFrame(schema=FINDINGS.polars())  # type: ignore[arg-type]
    where, params = (flt or FindingFilter()).where()
    sql = f"SELECT * FROM findings{where} {_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return project.con.sql(sql, params=params).pl()


def finding_events(project: Project, finding_id: str) -> pl.DataFrame:
    """The events a finding rests on (EVENTS columns), in time order."""
    if not project.has_table("findings"):
        return pl.DataFrame(schema=EVENTS.polars())  # type: ignore[arg-type]
    return project.con.sql(
        "SELECT e.* FROM events e JOIN (SELECT unnest(event_ids) AS event_id FROM findings "
        "WHERE finding_id = ?) f USING (event_id) ORDER BY e.start_utc, e.event_id",
        params=[finding_id]).pl()
