"""The vessel dossier: one self-contained HTML page about one vessel.

What it broadcast about itself (identity history, from which file), how it screens against the
lists (matches with their reasons), the findings about it (with their evidence lines), its whole
track on a map, a timeline and a table of its events, and its voyages per month. Built from the
same blocks as the report (:mod:`sanctionwatch.report.context`, the same charts and templates).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import polars as pl

from sanctionwatch.findings.store import FindingFilter, findings_frame
from sanctionwatch.report.charts import timeline_svg
from sanctionwatch.report.context import (
    ProjectData,
    ReportOptions,
    TrackWindow,
    data_sources,
    finding_refs,
    fmt_duration,
    fmt_time,
    parameters,
)
from sanctionwatch.report.html import FindingView, Progress, ReportStats, finding_span, voyages_chart
from sanctionwatch.report.mapdata import clip_basemap
from sanctionwatch.report.render import render_page, write_page
from sanctionwatch.store import Project

__all__ = ["DOSSIER_OPTIONS", "VesselNotFound", "build_dossier", "find_vessel"]

#: a dossier draws one vessel in more detail than a report's finding maps
DOSSIER_OPTIONS = ReportOptions(points_per_track=5000, max_points=20_000, max_context_events=2000,
                                max_event_rows=1000, max_evidence_rows=50)


class VesselNotFound(ValueError):
    """The identifier names no vessel of the project, or several (the message lists them)."""


def find_vessel(project: Project, ident: str) -> list[int]:
    """MMSIs for a 9-digit MMSI, a 7-digit IMO (``IMO`` prefix allowed) or a broadcast name."""
    from sanctionwatch.vessels import resolve_vessel, search_vessels

    text = ident.strip()
    if not text:
        raise VesselNotFound("give a vessel: a 9-digit MMSI, a 7-digit IMO number or a name")
    key = text.upper().removeprefix("IMO").strip()
    if key.isdigit():
        try:
            mmsis = resolve_vessel(project, key)
        except ValueError as err:
            raise VesselNotFound(str(err)) from None
        known = project.query("SELECT DISTINCT mmsi FROM {positions} WHERE mmsi IN (SELECT unnest(?))",
                              [mmsis]).get_column("mmsi").to_list() if mmsis else []
        known += project.query("SELECT DISTINCT mmsi FROM identities WHERE mmsi IN (SELECT unnest(?))",
                               [mmsis]).get_column("mmsi").to_list() if mmsis else []
        if not known:
            raise VesselNotFound(f"no vessel with {'IMO' if len(key) == 7 else 'MMSI'} {key} in this project")
        return sorted(set(known))
    found = search_vessels(project, text, limit=50)
    exact = found.filter(pl.col("name").str.to_uppercase() == text.upper()) if found.height else found
    hits = exact if exact.height else found
    if hits.height == 0:
        raise VesselNotFound(f"no vessel named like {text!r}; try `sanctionwatch vessels DIR --name ...`")
    if hits.height > 1:
        listing = ", ".join(f"{r['name']} (MMSI {r['mmsi']})" for r in hits.head(10).iter_rows(named=True))
        raise VesselNotFound(f"{text!r} names {hits.height} vessels: {listing}; give the MMSI or IMO")
    return [int(hits.item(0, "mmsi"))]


def build_dossier(project: Project, vessel_ident: str, out_path: Path | str, *,
                  options: ReportOptions | None = None, progress: Progress | None = None) -> ReportStats:
    """Write the dossier of ``vessel_ident`` (MMSI, IMO or name) to ``out_path`` (atomically)."""
    from sanctionwatch.screening.screen import screening_results
    from sanctionwatch.vessels import identity_history, vessel_list

    t_start = time.perf_counter()
    out_path = Path(out_path)
    opts = options or DOSSIER_OPTIONS
    say = progress or (lambda _s, _d, _t: None)
    stats = ReportStats(path=out_path)
    say("Finding the vessel", 0, 1)
    mmsis = find_vessel(project, vessel_ident)
    data = ProjectData(project, opts)
    labels = data.labels(mmsis)
    summary, _ = vessel_list(project, mmsis=mmsis)
    identities = identity_history(project, mmsis).to_dicts()
    for r in identities:
        r["file"] = Path(r["path"]).name if r.get("path") else ""
    screened = screening_results(project)
    matches = screened.filter(pl.col("mmsi").is_in(mmsis)).to_dicts() if screened.height else []

    say("Reading events", 0, 1)
    data.load_events(mmsis=mmsis)
    events = data.events.filter(pl.col("mmsi").is_in(mmsis) | pl.col("other_mmsi").is_in(mmsis))
    data.labels(events.get_column("other_mmsi").drop_nulls().to_list())
    extent = project.query("SELECT min(ts_utc) AS t0, max(ts_utc) AS t1 FROM {positions} WHERE mmsi IN "
                           "(SELECT unnest(?))", [mmsis]).row(0)
    first_event = events.get_column("start_utc").min() if events.height else None
    last_event = events.select(pl.coalesce("end_utc", "start_utc").max()).item() if events.height else None
    starts = [t for t in (extent[0], first_event) if isinstance(t, dt.datetime)]
    ends = [t for t in (extent[1], last_event) if isinstance(t, dt.datetime)]

    say("Reading findings", 0, 1)
    frames = [findings_frame(project, FindingFilter(mmsi=m)) for m in mmsis]
    findings = pl.concat(frames).unique("finding_id", keep="first", maintain_order=True) if frames else pl.DataFrame()
    rows = findings.to_dicts()
    stats.findings = len(rows)
    data.load_events(event_ids=[e for r in rows for e in (r.get("event_ids") or [])])

    map_id = None
    map_json: dict[str, Any] | None = None
    timeline = ""
    extents = []
    if starts and ends:
        t0, t1 = min(starts), max(ends)
        windows = [TrackWindow(m, t0, t1) for m in mmsis]
        stats.track_budget = max(opts.min_points_per_track, min(opts.points_per_track, opts.max_points // len(windows)))
        say("Reading and simplifying the track", 0, 1)
        data.load_tracks(windows, stats.track_budget)
        highlight = {e for r in rows for e in (r.get("event_ids") or [])}
        ctx = data.context_events(mmsis, t0, t1, highlight)
        dets = data.detections_near(mmsis, t0, t1, set())
        map_json, bounds = data.map_json("m1", mmsis, windows, ctx, highlight, [], dets)
        if not bounds.empty:
            map_id = "m1"
            extents.append(bounds.grown(0.25, 0.6))
            stats.maps = 1
        for w in windows:
            stats.tracks += 1
            stats.points_stored += data.tracks[w].n_stored
            stats.points_drawn += data.tracks[w].n_drawn
        items = data.timeline(mmsis, ctx, highlight, dets)
        if items:
            timeline = timeline_svg(items, t0, t1, title=f"Timeline of {labels[mmsis[0]]}")

    views = []
    for k, r in enumerate(rows):
        say("Findings about the vessel", k, len(rows))
        own = data.events.filter(pl.col("event_id").is_in(r.get("event_ids") or []))
        span = finding_span(r, own)
        refs = finding_refs(r, data.events)
        v = FindingView(n=k + 1, anchor=f"f-{r['finding_id']}", row=r,
                        vessels=[data.label(m) for m in (r.get("mmsis") or [])],
                        areas=[data.area_name(a) for a in (r.get("area_ids") or []) if a],
                        span=f"{fmt_time(span[0])} to {fmt_time(span[1])} UTC ({fmt_duration(*span) or 'instant'})"
                        if span else "", attrs={}, refs=refs[: opts.max_evidence_rows], evidence_total=len(refs))
        v.events = [data.event_view(e, True) for e in own.head(50).iter_rows(named=True)]
        v.events_total = own.height
        views.append(v)
    data.load_evidence(ref for v in views for ref in v.refs)
    for v in views:
        v.evidence = data.evidence_rows(v.refs)
        stats.evidence_shown += len(v.evidence)
        stats.evidence_total += v.evidence_total

    highlight_all = {e for r in rows for e in (r.get("event_ids") or [])}
    table = [data.event_view(e, e["event_id"] in highlight_all)
             for e in events.head(opts.max_event_rows).iter_rows(named=True)]
    say("Writing the dossier", 0, 1)
    title = f"Vessel dossier: {labels[mmsis[0]]}"
    text = render_page(
        "dossier.html.j2", title=title, project=str(project.path), mmsis=mmsis, labels=labels,
        summary=summary.to_dicts(), identities=identities, matches=matches, findings=views,
        map_id=map_id, map_json=map_json, timeline=timeline,
        voyages=voyages_chart(events.filter(pl.col("mmsi").is_in(mmsis)), "Voyages per month of departure"),
        events=table, events_total=events.height, stats=stats, params=parameters(project),
        sources=data_sources(project), basemap=clip_basemap(extents))
    stats.bytes = write_page(out_path, text)
    stats.seconds = time.perf_counter() - t_start
    say("Writing the dossier", 1, 1)
    return stats
