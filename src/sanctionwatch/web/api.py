"""The JSON API under ``/api``: findings, vessels, tracks, areas, the basemap and the project status.

Every parameter is validated here and a bad one is answered with 400 (404 for an id that does not
exist) and a JSON ``{"error": "..."}`` naming the parameter; nothing a client sends can reach the
generic 500 handler. Endpoints are plain ``def`` functions: FastAPI runs them in its thread pool,
and each request reads through its own DuckDB cursor (:meth:`WebState.session`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from sanctionwatch import __version__
from sanctionwatch.findings.store import SEVERITIES, findings_frame, span_overlap
from sanctionwatch.store import Project
from sanctionwatch.web import models
from sanctionwatch.web.queries import (
    WebFindingFilter,
    area_json,
    count_findings,
    event_rows,
    finding_detail,
    finding_rows,
    findings_facets,
    iso,
    jsonable,
    rows,
    track_geojson,
)

__all__ = ["WebState", "router"]

#: paging bounds of list endpoints
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
#: vertices of a track answer: default and bounds
TRACK_POINTS = 2_000
TRACK_POINTS_MIN, TRACK_POINTS_MAX = 10, 50_000
#: events and findings listed on a vessel or area page (the totals are always given)
PAGE_EVENTS, PAGE_EVENTS_MAX = 2_000, 20_000
PAGE_FINDINGS = 200
EVIDENCE_LINES, EVIDENCE_LINES_MAX = 200, 5_000
MAX_TEXT = 200
SEARCH_LIMIT = 1_000

MAX_ID = 128
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_BASEMAPS = {"50m": "basemap/ne_50m_land.json", "110m": "basemap/ne_110m_land.json"}


class WebState:
    """What the app holds for its lifetime: one read-only connection and small caches.

    The project is opened read-only once; each request gets its own cursor on that connection (a
    DuckDB connection is not thread-safe, its cursors are). A read-only DuckDB database cannot be
    changed by another process while it is open, so what is cached here stays true.
    """

    def __init__(self, project_dir: Path) -> None:
        self.project = Project.open(project_dir, read_only=True)
        self._lock = threading.Lock()
        self._labels: dict[int, str] | None = None
        self._vessels: pl.DataFrame | None = None
        self._basemaps: dict[str, tuple[bytes, str]] = {}

    def close(self) -> None:
        self.project.close()

    @contextmanager
    def session(self) -> Iterator[Project]:
        con = self.project.con.cursor()
        try:
            con.execute("SET TimeZone = 'UTC'").fetchall()
            yield Project(self.project.path, self.project.config, con, read_only=True)
        finally:
            con.close()

    def labels(self, project: Project) -> dict[int, str]:
        """'NAME (IMO n)' of every vessel, computed once."""
        with self._lock:
            if self._labels is None:
                from sanctionwatch.vessels import vessel_labels

                self._labels = vessel_labels(project)
            return self._labels

    def vessels(self, project: Project) -> pl.DataFrame:
        """Every vessel (``vessel_list``: latest identity, positions and time span), busiest first,
        computed once: it aggregates all positions."""
        with self._lock:
            if self._vessels is None:
                from sanctionwatch.vessels import vessel_list

                self._vessels = vessel_list(project)[0]
            return self._vessels

    def basemap(self, detail: str) -> tuple[bytes, str]:
        with self._lock:
            if detail not in self._basemaps:
                data = resources.files("sanctionwatch.data").joinpath(_BASEMAPS[detail]).read_bytes()
                self._basemaps[detail] = (data, hashlib.sha256(data).hexdigest()[:20])
            return self._basemaps[detail]


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _session(request: Request) -> Iterator[Project]:
    with _state(request).session() as project:
        yield project


ProjectDep = Annotated[Project, Depends(_session)]
StateDep = Annotated[WebState, Depends(_state)]


def _json(data: Any, status: int = 200, *, clean: bool = True) -> Response:
    """JSON answer; ``clean=False`` for data already made of plain finite numbers and strings."""
    body = json.dumps(jsonable(data) if clean else data, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


def bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


# --- parameter checks ---------------------------------------------------------------------------

def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if len(value) > 40 or _CONTROL_RE.search(value):
        raise bad(f"{name}: not an ISO-8601 date/time")
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad(f"{name}: {value!r} is not an ISO-8601 date/time (e.g. 2023-08-01 or 2023-08-01T12:00Z)") from None
    if not dt.datetime(1900, 1, 1) <= t.replace(tzinfo=None) <= dt.datetime(2200, 1, 1):
        raise bad(f"{name}: {value!r} is out of range (1900 to 2200)")
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _span(since: str | None, until: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    t0, t1 = _time(since, "since"), _time(until, "until")
    if t0 is not None and t1 is not None and t0 >= t1:
        raise bad(f"since ({iso(t0)}) must be before until ({iso(t1)})")
    return t0, t1


def _text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_TEXT:
        raise bad(f"{name}: at most {MAX_TEXT} characters")
    if _CONTROL_RE.search(value):
        raise bad(f"{name}: control characters are not allowed")
    return value.strip() or None


def _ident(value: str | None, name: str) -> str | None:
    """An id or name (area, rule, finding): any printable text up to MAX_ID characters (they come from
    the project's own files; they are only ever compared, as SQL parameters)."""
    if value is None or value == "":
        return None
    if len(value) > MAX_ID or _CONTROL_RE.search(value):
        raise bad(f"{name}: at most {MAX_ID} printable characters")
    return value


def _vessel_mmsis(project: Project, ident: str, name: str) -> list[int]:
    from sanctionwatch.vessels import resolve_vessel

    if len(ident) > 20 or _CONTROL_RE.search(ident):
        raise bad(f"{name}: expected a 9-digit MMSI or a 7-digit IMO number")
    try:
        return [int(m) for m in resolve_vessel(project, ident)]
    except ValueError as err:
        raise bad(f"{name}: {err}") from None


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1 to {MAX_LIMIT}).")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (paging).")]
Since = Annotated[str | None, Query(description="From this UTC date/time (ISO-8601, e.g. 2023-08-01 or "
                                    "2023-08-01T12:00Z).")]
Until = Annotated[str | None, Query(description="Before this UTC date/time (ISO-8601).")]

router = APIRouter(prefix="/api", responses={400: {"model": models.ErrorOut, "description": "Bad parameter"}})


# --- status -------------------------------------------------------------------------------------

@router.get("/status", response_model=models.StatusOut, summary="Project status: sources, counts, parameters")
def status(project: ProjectDep) -> Response:
    from sanctionwatch.screening.catalog import lists_summary

    # (not Project.table_counts: its fetchone leaves a result open on the cursor, which DuckDB 2 refuses)
    counts = {"positions": int(project.con.sql("SELECT coalesce(sum(n_rows), 0) FROM manifest "
                                               "WHERE table_name = 'positions'").fetchall()[0][0])}
    for table in ("sources", "identities", "quarantine", "events", "findings", "matches", "detections",
                  "sightings", "scenes", "site_counts", "list_entries", "detection_matches"):
        if project.has_table(table):
            counts[table] = int(project.con.sql(f'SELECT count(*) FROM "{table}"').fetchall()[0][0])
    by_type: dict[str, int] = {}
    if project.has_table("events"):
        by_type = {str(t): int(n) for t, n in project.con.sql(
            "SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall()}
    span = project.con.sql("SELECT min(ts_min_utc), max(ts_max_utc) FROM manifest "
                           "WHERE table_name = 'positions'").fetchall()[0]
    sources = project.con.sql(
        "SELECT source_id, path, format, records_read, positions_kept, identities_kept, quarantined, duplicates, "
        "ts_min_utc, ts_max_utc, ingested_utc FROM sources ORDER BY ingested_utc").pl()
    lists = lists_summary(project)
    imagery = (project.con.sql("SELECT source_id, kind, path, layout FROM imagery_sources ORDER BY path").pl()
               if project.has_table("imagery_sources") else pl.DataFrame())
    return _json({
        "project": str(project.path), "version": __version__, "params_id": project.config.params_id,
        "settings_overridden": project.config.overridden(), "counts": counts, "events_by_type": by_type,
        "time_span": {"first_utc": iso(span[0]), "last_utc": iso(span[1])},
        "sources": rows(sources), "lists": rows(lists), "imagery_sources": rows(imagery),
        "findings_engine": project.has_table("findings"),
    })


# --- findings -----------------------------------------------------------------------------------

@router.get("/findings", response_model=models.FindingList, summary="Findings, filtered and paged")
def list_findings(
    project: ProjectDep, state: StateDep,
    rule: Annotated[str | None, Query(description="Only this rule.")] = None,
    min_severity: Annotated[str | None, Query(description="At least this severity: " + ", ".join(SEVERITIES))] = None,
    vessel: Annotated[str | None, Query(description="Only findings about this vessel: 9-digit MMSI or 7-digit "
                                        "IMO (all the MMSIs it used).")] = None,
    area: Annotated[str | None, Query(description="Only findings in this area (area_id).")] = None,
    since: Since = None, until: Until = None,
    q: Annotated[str | None, Query(description="Words in the statement or title (case-insensitive).")] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> Response:
    """Most severe and most confident first. A finding is in the time window when its span overlaps it."""
    t0, t1 = _span(since, until)
    if min_severity not in (None, "") and min_severity not in SEVERITIES:
        raise bad(f"min_severity: {min_severity[:40]!r} is not one of {', '.join(SEVERITIES)}")
    flt = WebFindingFilter(rule=_ident(rule, "rule"), min_severity=min_severity or None,
                           area_id=_ident(area, "area"), since=t0, until=t1, text=_text(q, "q"),
                           mmsis=tuple(_vessel_mmsis(project, vessel, "vessel")) if vessel else None)
    df = findings_frame(project, flt, limit=limit, offset=offset)
    return _json({"total": count_findings(project, flt), "limit": limit, "offset": offset,
                  "items": finding_rows(df, state.labels(project)), "facets": findings_facets(project)})


@router.get("/findings/{finding_id}", response_model=models.FindingDetail,
            responses={404: {"model": models.ErrorOut}}, summary="One finding, its events and evidence lines")
def get_finding(
    project: ProjectDep, state: StateDep,
    finding_id: Annotated[str, PathParam(description="The finding's id.")],
    evidence_limit: Annotated[int, Query(ge=1, le=EVIDENCE_LINES_MAX, description="Evidence lines to resolve "
                                         "(the total is always given).")] = EVIDENCE_LINES,
) -> Response:
    """The evidence is resolved to the raw input lines (file, line number, text); a file that moved or
    changed since it was ingested is reported with its status instead of quoted."""
    fid = _ident(finding_id, "finding_id")
    detail = finding_detail(project, fid or "", state.labels(project), evidence_limit) if fid else None
    if detail is None:
        raise not_found(f"no finding {finding_id[:80]!r} in this project")
    return _json(detail)


# --- vessels ------------------------------------------------------------------------------------

def _vessel_rows(df: pl.DataFrame, labels: dict[int, str]) -> list[dict[str, Any]]:
    cols = ("mmsi", "name", "imo", "call_sign", "flag", "ship_type", "n_names", "n_positions", "first_utc",
            "last_utc")
    out = []
    for r in rows(df, cols):
        r["label"] = labels.get(int(r["mmsi"]), f"MMSI {r['mmsi']}")
        out.append(r)
    return out


@router.get("/vessels", response_model=models.VesselList, summary="Vessels, or a search by name, IMO or MMSI")
def list_vessels(
    project: ProjectDep, state: StateDep,
    q: Annotated[str | None, Query(description="Part of a broadcast name, call sign, IMO or MMSI.")] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> Response:
    """Without ``q``: every vessel, the busiest first. With ``q``: vessels whose MMSI, IMO, call sign or any
    name they broadcast contains it (at most 1000)."""
    from sanctionwatch.vessels import search_vessels

    text = _text(q, "q")
    found = search_vessels(project, text, limit=SEARCH_LIMIT) if text else state.vessels(project)
    total, page = found.height, found.slice(offset, limit)
    return _json({"total": total, "limit": limit, "offset": offset, "q": text,
                  "items": _vessel_rows(page, state.labels(project))})


_IDENTITY_COLS = ("mmsi", "imo", "imo_valid", "name", "call_sign", "ship_type", "flag_iso2", "transceiver_class",
                  "length_m", "beam_m", "draught_m", "destination", "first_seen_utc", "last_seen_utc", "n_reports",
                  "source_id", "record_no", "path")
_MATCH_COLS = ("match_id", "mmsi", "ais_name", "ais_imo", "list_name", "list_id", "entry_id", "entry_name",
               "entry_schema", "score", "status", "entry_status", "reasons", "first_seen_utc", "last_seen_utc")


def _events_where(column_sql: str, params: list[Any], t0: dt.datetime | None,
                  t1: dt.datetime | None) -> tuple[str, list[Any]]:
    window, window_params = span_overlap(t0, t1)
    return " WHERE " + " AND ".join([column_sql, *window]), [*params, *window_params]


def _events(project: Project, where: str, params: list[Any], limit: int) -> tuple[list[dict[str, Any]], int]:
    if not project.has_table("events"):
        return [], 0
    total = int(project.con.sql(f"SELECT count(*) FROM events{where}", params=params).fetchall()[0][0])
    df = project.con.sql(f"SELECT * FROM events{where} ORDER BY start_utc, event_id LIMIT {int(limit)}",
                         params=params).pl()
    return event_rows(df), total


@router.get("/vessels/{ident}", response_model=models.VesselDetail, responses={404: {"model": models.ErrorOut}},
            summary="One vessel: identities, screening matches, events, findings")
def get_vessel(
    project: ProjectDep, state: StateDep,
    ident: Annotated[str, PathParam(description="9-digit MMSI or 7-digit IMO (every MMSI that broadcast it).")],
    since: Since = None, until: Until = None,
    events_limit: Annotated[int, Query(ge=1, le=PAGE_EVENTS_MAX, description="Events listed (the total is "
                                       "always given).")] = PAGE_EVENTS,
) -> Response:
    """``since``/``until`` limit the events and findings (their spans overlap the window); the identity
    history and screening matches are always complete."""
    from sanctionwatch.screening.screen import screening_results
    from sanctionwatch.vessels import identity_history

    t0, t1 = _span(since, until)
    mmsis = _vessel_mmsis(project, ident, "ident")
    every = state.vessels(project)
    found = every.filter(pl.col("mmsi").is_in(mmsis))
    if found.height == 0:
        raise not_found(f"no vessel {ident!r} in this project")
    mmsis = [int(m) for m in found.get_column("mmsi").to_list()]
    labels = state.labels(project)
    matches = screening_results(project)
    matches = matches.filter(pl.col("mmsi").is_in(mmsis))
    match_rows = rows(matches, _MATCH_COLS)
    for r, ev in zip(match_rows, matches.get_column("evidence").to_list(), strict=True):
        r["score"] = round(float(r["score"]), 4)
        r["n_evidence"] = len(ev or [])
    marks = ", ".join("?" * len(mmsis))
    where, params = _events_where(f"(mmsi IN ({marks}) OR other_mmsi IN ({marks}))", [*mmsis, *mmsis], t0, t1)
    events, events_total = _events(project, where, params, events_limit)
    flt = WebFindingFilter(mmsis=tuple(mmsis), since=t0, until=t1)
    return _json({
        "ident": ident, "mmsis": mmsis, "label": labels.get(mmsis[0], f"MMSI {mmsis[0]}"),
        "vessels": _vessel_rows(found, labels),
        "identities": rows(identity_history(project, mmsis), _IDENTITY_COLS),
        "matches": match_rows, "events": events, "events_total": events_total,
        "findings": finding_rows(findings_frame(project, flt, limit=PAGE_FINDINGS), labels),
        "findings_total": count_findings(project, flt), "since": iso(t0), "until": iso(t1),
    })


@router.get("/vessels/{ident}/track", response_model=models.TrackOut, responses={404: {"model": models.ErrorOut}},
            summary="A vessel's track as GeoJSON, simplified, with each vertex's time")
def get_track(
    project: ProjectDep, state: StateDep,
    ident: Annotated[str, PathParam(description="9-digit MMSI or 7-digit IMO.")],
    since: Since = None, until: Until = None,
    max_points: Annotated[int, Query(ge=TRACK_POINTS_MIN, le=TRACK_POINTS_MAX,
                                     description="Vertex budget of the whole answer.")] = TRACK_POINTS,
) -> Response:
    """The track is cut where the vessel was silent for ``events.gap_min_hours`` or more (AIS gaps are not
    drawn as if sailed) and simplified with Douglas-Peucker to at most ``max_points`` vertices; each
    part keeps the time of each vertex (``properties.times_ms``) for the time slider."""
    t0, t1 = _span(since, until)
    mmsis = _vessel_mmsis(project, ident, "ident")
    if not state.vessels(project).filter(pl.col("mmsi").is_in(mmsis)).height:
        raise not_found(f"no vessel {ident!r} in this project")
    return _json(track_geojson(project, mmsis, since=t0, until=t1, max_points=max_points), clean=False)


# --- areas --------------------------------------------------------------------------------------

def _watched(project: Project) -> dict[str, Any]:
    from sanctionwatch.areas import AreaConflictError, project_areas
    from sanctionwatch.geo import AreaFileError

    try:
        return {a.area_id: a for a in project_areas(project)}
    except (AreaFileError, AreaConflictError) as err:
        raise HTTPException(status_code=500, detail=f"the project's area files are invalid: {err}") from None


def _area_counts(project: Project) -> tuple[dict[str, int], dict[str, int]]:
    events: dict[str, int] = {}
    if project.has_table("events"):
        events = {str(a): int(n) for a, n in project.con.sql(
            "SELECT a, count(*) FROM (SELECT area_id AS a FROM events UNION ALL SELECT area2_id FROM events "
            "WHERE area2_id IS DISTINCT FROM area_id) WHERE a IS NOT NULL GROUP BY 1").fetchall()}
    findings: dict[str, int] = {}
    if project.has_table("findings"):
        findings = {str(a): int(n) for a, n in project.con.sql(
            "SELECT a, count(*) FROM (SELECT unnest(area_ids) AS a FROM findings) GROUP BY 1").fetchall()}
    return events, findings


def _wpi(area_id: str) -> dict[str, Any] | None:
    if not area_id.startswith("wpi-"):
        return None
    from sanctionwatch.events.ports import wpi_ports

    hit = wpi_ports().filter(pl.col("port_id") == area_id)
    return hit.row(0, named=True) if hit.height else None


@router.get("/areas", response_model=models.AreaList, summary="Watched areas, and the WPI ports events refer to")
def list_areas(project: ProjectDep) -> Response:
    """The project's watched areas (packaged defaults and its own area files), then the World Port
    Index ports that its events refer to, with the number of events and findings in each."""
    watched = _watched(project)
    n_events, n_findings = _area_counts(project)
    items = [area_json(a, n_events=n_events.get(i, 0), n_findings=n_findings.get(i, 0))
             for i, a in watched.items()]
    for area_id in sorted(set(n_events) | set(n_findings)):
        if area_id not in watched:
            port = _wpi(area_id)
            if port is not None:
                items.append(area_json(wpi=port, n_events=n_events.get(area_id, 0),
                                       n_findings=n_findings.get(area_id, 0)))
    return _json({"total": len(items), "items": items})


@router.get("/areas/{area_id}", response_model=models.AreaDetail, responses={404: {"model": models.ErrorOut}},
            summary="One area: geometry, events and findings in it, site activity")
def get_area(
    project: ProjectDep, state: StateDep,
    area_id: Annotated[str, PathParam(description="A watched area's id, or a WPI port id (wpi-NNNN).")],
    since: Since = None, until: Until = None,
    events_limit: Annotated[int, Query(ge=1, le=PAGE_EVENTS_MAX, description="Events listed (the total is "
                                       "always given).")] = PAGE_EVENTS,
) -> Response:
    """Events whose area (or voyage destination) is this one, findings that name it and, when counts
    exist for the site (analyst counts, ships in port from AIS, detections), the weekly activity series
    with their spikes and changepoints."""
    t0, t1 = _span(since, until)
    aid = _ident(area_id, "area_id")
    watched = _watched(project)
    area = watched.get(aid or "")
    port = None if area is not None or aid is None else _wpi(aid)
    if area is None and port is None:
        raise not_found(f"no area {area_id[:80]!r} in this project")
    n_events, n_findings = _area_counts(project)
    info = area_json(area, wpi=port, n_events=n_events.get(aid or "", 0), n_findings=n_findings.get(aid or "", 0))
    where, params = _events_where("(area_id = ? OR area2_id = ?)", [aid, aid], t0, t1)
    events, events_total = _events(project, where, params, events_limit)
    flt = WebFindingFilter(area_id=aid, since=t0, until=t1)
    activity = None
    from sanctionwatch.imagery.site import site_activity

    act = site_activity(project, aid or "")
    if act.series.height:
        drop = ("evidence", "event_ids")
        activity = {"series": rows(act.series.drop([c for c in drop if c in act.series.columns])),
                    "anomalies": rows(act.anomalies.drop([c for c in drop if c in act.anomalies.columns]))}
    labels = state.labels(project)
    return _json({
        "area": info, "events": events, "events_total": events_total,
        "findings": finding_rows(findings_frame(project, flt, limit=PAGE_FINDINGS), labels),
        "findings_total": count_findings(project, flt), "activity": activity, "since": iso(t0), "until": iso(t1),
    })


# --- basemap ------------------------------------------------------------------------------------

@router.get("/basemap", summary="The packaged Natural Earth land polygons (GeoJSON)",
            responses={200: {"content": {"application/geo+json": {}},
                             "description": "GeoJSON FeatureCollection of land polygons."}})
def basemap(
    request: Request, state: StateDep,
    detail: Annotated[str, Query(description="'50m' (default) or '110m' (coarser, smaller).")] = "50m",
) -> Response:
    """Natural Earth (public domain) land at 1:50m or 1:110m, packaged with sanctionwatch: the map needs
    no tile server and no network."""
    if detail not in _BASEMAPS:
        raise bad(f"detail: {detail[:20]!r} is not one of {', '.join(_BASEMAPS)}")
    data, etag = state.basemap(detail)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/geo+json", headers=headers)
