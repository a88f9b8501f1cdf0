"""The HTML report: one self-contained file (works offline, can be e-mailed) telling the findings.

Sections: the summary (findings by severity, each with its statement, confidence and why); per
finding its map (the vessels' tracks over the finding's span, simplified; port visits, AIS gaps
drawn dashed between their OFF and ON positions, sightings and satellite detections, the watched
areas) on an offline Natural Earth basemap, a timeline of what the vessels did, charts where a
picture says it faster (voyages per month, observed and inferred; a site's activity series with
its anomaly), the events and the raw input lines behind it; then the parameters and data sources
used and a methods note.

Leaflet and every datum are inlined (data in ``<script type="application/json">`` blocks); the
file references nothing outside itself. Statements, tables, timelines and charts are plain HTML
and SVG, readable with JavaScript off and in print; only the maps need JavaScript.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sanctionwatch.findings.store import SEVERITIES, FindingFilter, findings_frame
from sanctionwatch.report.charts import ActivityPoint, activity_svg, monthly_bars_svg, timeline_svg
from sanctionwatch.report.context import (
    EventView,
    ProjectData,
    ReportOptions,
    TrackWindow,
    data_sources,
    finding_refs,
    fmt_duration,
    fmt_time,
    parameters,
)
from sanctionwatch.report.mapdata import Bounds, clip_basemap, track_budget
from sanctionwatch.report.render import render_page, write_page
from sanctionwatch.store import Project

__all__ = ["FindingView", "Progress", "ReportStats", "build_report", "finding_span"]

#: progress callback: (step description, done, total)
Progress = Callable[[str, int, int], None]

_MIN_PAD = dt.timedelta(hours=6)
_MAX_PAD = dt.timedelta(days=3)


@dataclass
class ReportStats:
    """What a report holds and what it cost."""

    path: Path
    findings: int = 0
    maps: int = 0
    tracks: int = 0
    points_stored: int = 0   # fixes inside the maps' windows
    points_drawn: int = 0    # vertices kept after simplification
    track_budget: int = 0    # vertices allowed per track
    evidence_shown: int = 0  # raw input lines quoted
    evidence_total: int = 0  # references behind the findings shown
    bytes: int = 0
    seconds: float = 0.0
    by_severity: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.findings:,} findings, {self.maps:,} maps, {self.points_drawn:,} of {self.points_stored:,} "
                f"track points drawn, {self.evidence_shown:,} of {self.evidence_total:,} evidence lines quoted, "
                f"{self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s")


@dataclass
class FindingView:
    """One finding as the templates show it."""

    n: int
    anchor: str
    row: dict[str, Any]
    vessels: list[str]
    areas: list[str]
    span: str
    attrs: dict[str, Any]
    map_id: str | None = None
    map_json: dict[str, Any] | None = None
    timeline: str = ""
    charts: list[str] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    events_total: int = 0
    refs: list[tuple[str, int]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    evidence_total: int = 0


def finding_span(row: dict[str, Any], events: pl.DataFrame) -> tuple[dt.datetime, dt.datetime] | None:
    """The finding's time span; its events' when it states none."""
    start, end = row.get("start_utc"), row.get("end_utc")
    if start is None and events.height:
        start = events.get_column("start_utc").min()
    if end is None and events.height:
        end = events.select(pl.coalesce("end_utc", "start_utc").max()).item()
    if start is None:
        return None
    end = end if end is not None and end >= start else start
    return start, end


def _pad(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    return min(max(_MIN_PAD, (end - start) * 0.1), _MAX_PAD)


def _attrs(text: str | None) -> dict[str, Any]:
    """A finding's ``attrs_json`` for a key/value table: nested objects one level flattened
    (``figures.count``, ``rule.settings``)."""
    try:
        out = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(out, dict):
        return {}
    flat: dict[str, Any] = {}
    for k, v in out.items():
        if isinstance(v, dict):
            flat.update({f"{k}.{k2}": v2 for k2, v2 in v.items()})
        else:
            flat[k] = v
    return flat


def voyages_chart(events: pl.DataFrame, title: str) -> str:
    """Voyages per month of departure, observed in AIS and inferred from gaps stacked; '' if none."""
    v = events.filter(pl.col("event_type") == "voyage")
    if v.height == 0:
        return ""
    per = (v.with_columns(pl.col("start_utc").dt.strftime("%Y-%m").alias("month"),
                          (pl.col("basis") == "inferred_gap").alias("inferred"))
           .group_by("month").agg((~pl.col("inferred")).sum().alias("observed"), pl.col("inferred").sum())
           .sort("month"))
    first, last = per.get_column("month").min(), per.get_column("month").max()
    months: list[str] = []
    y, m = int(str(first)[:4]), int(str(first)[5:])
    while f"{y:04d}-{m:02d}" <= str(last):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    got = {r["month"]: r for r in per.iter_rows(named=True)}
    return monthly_bars_svg(months, [int(got[k]["observed"]) if k in got else 0 for k in months],
                            [int(got[k]["inferred"]) if k in got else 0 for k in months], title=title)


class _SiteCharts:
    """Activity charts per site, computed once per report."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.cache: dict[str, list[str]] = {}
        self.with_counts: set[str] = set()
        if project.has_table("site_counts"):
            self.with_counts = set(project.con.sql("SELECT DISTINCT site_id FROM site_counts").pl()
                                   .get_column("site_id").to_list())

    def wanted(self, rule: str, area_ids: list[str]) -> list[str]:
        if "activity" in rule or "site" in rule:
            return area_ids
        return [a for a in area_ids if a in self.with_counts]

    def charts(self, site_id: str, site_name: str) -> list[str]:
        if site_id not in self.cache:
            from sanctionwatch.imagery.site import site_activity

            act = site_activity(self.project, site_id)
            out = []
            if act.series.height:
                for (cat, basis), g in act.series.sort("period_start_utc").group_by(
                        ["category", "basis"], maintain_order=True):
                    pts = [ActivityPoint(r["period_start_utc"], r["count"]) for r in g.iter_rows(named=True)]
                    an = (act.anomalies.filter((pl.col("category") == cat) & (pl.col("basis") == basis))
                          if act.anomalies.height else act.anomalies)
                    spikes = [(r["period_start_utc"], r["count"], r["statement"])
                              for r in an.iter_rows(named=True) if r["kind"] == "spike" and r["count"] is not None]
                    changes = [(r["period_start_utc"], r["mean_before"], r["mean_after"], r["statement"])
                               for r in an.iter_rows(named=True) if r["kind"] == "changepoint"]
                    period = g.get_column("period")[0]
                    out.append(activity_svg(pts, spikes=spikes, changepoints=changes,
                                            title=f"{site_name}: {cat} per {period} ({basis})"))
            self.cache[site_id] = out
        return self.cache[site_id]


def build_report(project: Project, out_path: Path | str, *, flt: FindingFilter | None = None,
                 title: str | None = None, options: ReportOptions | None = None,
                 progress: Progress | None = None) -> ReportStats:
    """Write the report of the findings matching ``flt`` to ``out_path`` (atomically)."""
    t_start = time.perf_counter()
    out_path = Path(out_path)
    opts = options or ReportOptions()
    say = progress or (lambda _s, _d, _t: None)
    stats = ReportStats(path=out_path)
    say("Reading findings", 0, 1)
    findings = findings_frame(project, flt)
    rows = findings.to_dicts()
    stats.findings = len(rows)
    stats.by_severity = {s: sum(r["severity"] == s for r in rows) for s in reversed(SEVERITIES)}
    data = ProjectData(project, opts)

    # 1. events behind the findings, then the vessels' other events over the findings' spans
    data.load_events(event_ids=[e for r in rows for e in (r.get("event_ids") or [])])
    plans: list[tuple[dict[str, Any], list[int], tuple[dt.datetime, dt.datetime] | None, pl.DataFrame]] = []
    for r in rows:
        own = data.events.filter(pl.col("event_id").is_in(r.get("event_ids") or []))
        mmsis = [int(m) for m in (r.get("mmsis") or [])]
        if not mmsis and own.height:
            mmsis = sorted({int(m) for m in own.get_column("mmsi").to_list()})
        plans.append((r, mmsis[: opts.max_map_vessels], finding_span(r, own), own))
    vessels = {m for _, ms, _, _ in plans for m in ms}
    spans = [s for _, _, s, _ in plans if s is not None]
    if vessels and spans:
        data.load_events(mmsis=vessels, since=min(s[0] for s in spans) - _MAX_PAD,
                         until=max(s[1] for s in spans) + _MAX_PAD)
    data.labels(vessels | {int(m) for m in data.events.get_column("other_mmsi").drop_nulls().to_list()})

    # 2. tracks: every (vessel, padded span) window, simplified to a shared budget
    windows: dict[str, list[TrackWindow]] = {}
    for r, mmsis, span, _ in plans:
        if span is None:
            continue
        pad = _pad(*span)
        windows[r["finding_id"]] = [TrackWindow(m, span[0] - pad, span[1] + pad) for m in mmsis]
    all_windows = [w for ws in windows.values() for w in ws]
    stats.track_budget = track_budget(len(set(all_windows)), opts.points_per_track, opts.max_points,
                                      opts.min_points_per_track)
    say("Reading and simplifying tracks", 0, 1)
    data.load_tracks(all_windows, stats.track_budget)

    # 3. per finding: map, timeline, charts, tables
    sites = _SiteCharts(project)
    views: list[FindingView] = []
    extents: list[Bounds] = []
    counted: set[TrackWindow] = set()
    for k, (r, mmsis, span, own) in enumerate(plans):
        say("Building finding sections", k, len(plans))
        fid = r["finding_id"]
        highlight = set(r.get("event_ids") or [])
        area_ids = [a for a in (r.get("area_ids") or []) if a]
        refs = finding_refs(r, data.events)
        view = FindingView(
            n=k + 1, anchor=f"f-{fid}", row=r, vessels=[data.label(m) for m in (r.get("mmsis") or mmsis)],
            areas=[data.area_name(a) for a in area_ids],
            span=(f"{fmt_time(span[0])} to {fmt_time(span[1])} UTC ({fmt_duration(*span) or 'instant'})"
                  if span else ""),
            attrs=_attrs(r.get("attrs_json")), refs=refs[: opts.max_evidence_rows], evidence_total=len(refs))
        if span is not None:
            pad = _pad(*span)
            ctx = data.context_events(mmsis, span[0] - pad, span[1] + pad, highlight)
            dets = data.detections_near(mmsis, span[0] - pad, span[1] + pad, set(refs))
            ws = windows.get(fid, [])
            map_json, bounds = data.map_json(f"m{k + 1}", mmsis, ws, ctx, highlight, area_ids, dets)
            if not bounds.empty:
                view.map_id, view.map_json = f"m{k + 1}", map_json
                extents.append(bounds.grown(0.25, 0.6))
                stats.maps += 1
                for w in ws:
                    if w not in counted and w in data.tracks:
                        counted.add(w)
                        stats.tracks += 1
                        stats.points_stored += data.tracks[w].n_stored
                        stats.points_drawn += data.tracks[w].n_drawn
            items = data.timeline(mmsis, ctx, highlight, dets)
            if items:
                view.timeline = timeline_svg(items, span[0] - pad, span[1] + pad,
                                             title=f"Timeline of finding {k + 1}")
        chart = voyages_chart(own, "Voyages behind this finding, per month of departure")
        if chart:
            view.charts.append(chart)
        for site in sites.wanted(r["rule"], area_ids):
            view.charts += sites.charts(site, data.area_name(site))
        view.events = [data.event_view(e, True) for e in own.head(opts.max_event_rows).iter_rows(named=True)]
        view.events_total = own.height
        views.append(view)
    say("Building finding sections", len(plans), len(plans))

    # 4. evidence: every quoted line resolved in one pass per input file
    say("Reading the evidence lines from the input files", 0, 1)
    data.load_evidence(ref for v in views for ref in v.refs)
    for v in views:
        v.evidence = data.evidence_rows(v.refs)
        stats.evidence_shown += len(v.evidence)
        stats.evidence_total += v.evidence_total

    say("Writing the report", 0, 1)
    basemap = clip_basemap(extents)
    params = parameters(project, [r.get("params_id") for r in rows])
    text = render_page(
        "report.html.j2", title=title or f"sanctionwatch report: {project.path.name}", project=str(project.path),
        findings=views, stats=stats, severities=list(reversed(SEVERITIES)), filters=_describe(flt),
        rules=sorted({(r["rule"]) for r in rows}), by_rule=_count_by(rows, "rule"), params=params,
        sources=data_sources(project), basemap=basemap)
    stats.bytes = write_page(out_path, text)
    stats.seconds = time.perf_counter() - t_start
    say("Writing the report", 1, 1)
    return stats


def _count_by(rows: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def _describe(flt: FindingFilter | None) -> list[str]:
    if flt is None:
        return []
    out = []
    for name in ("rule", "min_severity", "mmsi", "area_id", "since", "until", "text"):
        value = getattr(flt, name)
        if value is not None and value != "":
            out.append(f"{name.replace('_', ' ')}: {value}")
    if flt.finding_ids:
        out.append(f"{len(flt.finding_ids)} selected findings")
    return out
