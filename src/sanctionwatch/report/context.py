"""What the report and the dossier show, gathered from a project: the building blocks both use.

:class:`ProjectData` reads what a set of findings or a vessel needs in a few batched queries
(events of the vessels concerned, their positions per time window, imagery, the evidence lines) and
turns it into view pieces: a map's JSON (:meth:`ProjectData.map_json`), a timeline
(:meth:`ProjectData.timeline`), event rows, evidence rows, and the project's parameters and data
sources. Neither the report nor the dossier queries the store on its own, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sanctionwatch.areas import project_areas
from sanctionwatch.config import SETTINGS
from sanctionwatch.findings.evidence import flatten_refs, resolve_evidence
from sanctionwatch.findings.store import span_overlap
from sanctionwatch.geo import Area
from sanctionwatch.report.charts import TimelineItem
from sanctionwatch.report.mapdata import Bounds, SimplifiedTrack, simplify_track
from sanctionwatch.schema import EVENTS
from sanctionwatch.store import Project

__all__ = [
    "EventView",
    "ProjectData",
    "ReportOptions",
    "TrackWindow",
    "data_sources",
    "fmt_duration",
    "fmt_time",
    "parameters",
]

#: colours of the vessels of one map, in order (colour-blind-safe Okabe-Ito, without yellow)
VESSEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
# Event types drawn on maps and timelines (what a vessel did), in timeline lane order.
CONTEXT_TYPES = ("port_visit", "ais_gap", "voyage", "encounter", "loitering", "identity_change", "spoofing")
_MMSI_CHUNK = 64


@dataclass(frozen=True)
class ReportOptions:
    """How much a report or dossier draws; the defaults keep a 1k-finding report usable."""

    points_per_track: int = 1000    # vertices per vessel track on one map at most
    max_points: int = 200_000       # vertices over the whole file; per-track budgets shrink to fit
    min_points_per_track: int = 40  # ... but never below this
    max_evidence_rows: int = 50     # raw input lines shown per finding (the exports have them all)
    max_event_rows: int = 50        # event rows shown per finding
    max_context_events: int = 300   # the vessels' other events drawn on one map / timeline
    max_map_vessels: int = 6        # vessels drawn on one finding map


def fmt_time(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def fmt_duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None or end is None or end <= start:
        return ""
    h = (end - start).total_seconds() / 3600.0
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} d"


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    try:
        out = json.loads(row.get("attrs_json") or "{}")
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}


def _num(v: Any) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


@dataclass(frozen=True)
class TrackWindow:
    mmsi: int
    start: dt.datetime
    end: dt.datetime


@dataclass
class EventView:
    """One event as shown in a table."""

    event_id: str
    event_type: str
    vessel: str
    start: str
    end: str
    duration: str
    place: str
    basis: str
    confidence: str
    details: str
    highlight: bool = False


@dataclass
class ProjectData:
    """Batched reads and view builders over one open project."""

    project: Project
    options: ReportOptions = field(default_factory=ReportOptions)

    def __post_init__(self) -> None:
        self.areas: dict[str, Area] = {a.area_id: a for a in project_areas(self.project)}
        self.split_gap_s = float(self.project.config["events.gap_min_hours"]) * 3600.0
        self.events = pl.DataFrame(schema=EVENTS.polars())  # type: ignore[arg-type]
        self._labels: dict[int, str] = {}
        self._imagery: pl.DataFrame | None = None
        self.tracks: dict[TrackWindow, SimplifiedTrack] = {}
        self.evidence: dict[tuple[str, int], dict[str, Any]] = {}

    # --- loading -------------------------------------------------------------------------------

    def labels(self, mmsis: Iterable[int]) -> dict[int, str]:
        from sanctionwatch.vessels import vessel_labels

        want = sorted({int(m) for m in mmsis} - set(self._labels))
        if want:
            self._labels.update(vessel_labels(self.project, want))
        return self._labels

    def label(self, mmsi: int | None) -> str:
        if mmsi is None:
            return ""
        return self.labels([mmsi]).get(int(mmsi), f"MMSI {mmsi}")

    def load_events(self, *, event_ids: Iterable[str] = (), mmsis: Iterable[int] = (),
                    since: dt.datetime | None = None, until: dt.datetime | None = None) -> None:
        """Add to :attr:`events` the given events and every event of the vessels (as the vessel or
        the other one of an encounter) between ``since`` and ``until``."""
        if not self.project.has_table("events"):
            return
        frames = [self.events]
        ids = sorted(set(event_ids))
        if ids:
            self.project.con.register("_sw_ids", pl.DataFrame({"event_id": ids}, schema={"event_id": pl.String}))
            try:
                frames.append(self.project.con.sql(
                    "SELECT e.* FROM events e JOIN _sw_ids USING (event_id)").pl())
            finally:
                self.project.con.unregister("_sw_ids")
        vessels = sorted({int(m) for m in mmsis})
        for k in range(0, len(vessels), _MMSI_CHUNK):
            chunk = vessels[k:k + _MMSI_CHUNK]
            listing = ", ".join(str(m) for m in chunk)
            window, params = span_overlap(since, until)
            where = [f"(mmsi IN ({listing}) OR other_mmsi IN ({listing}))", *window]
            frames.append(self.project.con.sql("SELECT * FROM events WHERE " + " AND ".join(where),
                                               params=params).pl())
        self.events = pl.concat(frames, how="vertical_relaxed").unique("event_id", keep="first").sort(
            "start_utc", "event_id")

    def imagery(self) -> pl.DataFrame:
        """Detections with their AIS match (status, mmsi, score): empty when the project has none."""
        if self._imagery is None:
            if self.project.has_table("detections"):
                join = ("LEFT JOIN detection_matches m USING (detection_id)"
                        if self.project.has_table("detection_matches") else "")
                cols = ("m.mmsi AS match_mmsi, m.status AS match_status, m.score AS match_score"
                        if join else "NULL::INTEGER AS match_mmsi, NULL::VARCHAR AS match_status, "
                        "NULL::FLOAT AS match_score")
                self._imagery = self.project.con.sql(
                    f"SELECT d.detection_id, d.scene_id, d.ts_utc, d.lat_deg, d.lon_deg, d.length_m, d.sensor, "
                    f"d.source_id, d.record_no, {cols} FROM detections d {join}").pl()
            else:
                self._imagery = pl.DataFrame()
        return self._imagery

    def load_tracks(self, windows: Iterable[TrackWindow], budget: int) -> tuple[int, int]:
        """Simplify each window's track to ``budget`` vertices; returns (fixes stored, vertices drawn)
        over the windows given. Positions are read in chunks of vessels, one query per chunk."""
        todo = sorted({w for w in windows if w not in self.tracks}, key=lambda w: (w.mmsi, w.start))
        by_mmsi: dict[int, list[TrackWindow]] = {}
        for w in todo:
            by_mmsi.setdefault(w.mmsi, []).append(w)
        vessels = sorted(by_mmsi)
        for k in range(0, len(vessels), _MMSI_CHUNK):
            chunk = vessels[k:k + _MMSI_CHUNK]
            t0 = min(w.start for m in chunk for w in by_mmsi[m])
            t1 = max(w.end for m in chunk for w in by_mmsi[m])
            df = self.project.query(
                "SELECT mmsi, epoch_us(ts_utc) AS ts, lat_deg, lon_deg FROM {positions} "
                f"WHERE mmsi IN ({', '.join(str(m) for m in chunk)}) AND ts_utc BETWEEN ? AND ? "
                "ORDER BY mmsi, ts_utc", [t0, t1])
            mm = df.get_column("mmsi").to_numpy()
            ts = df.get_column("ts").to_numpy()
            lat = df.get_column("lat_deg").to_numpy()
            lon = df.get_column("lon_deg").to_numpy()
            for m in chunk:
                lo, hi = np.searchsorted(mm, m, "left"), np.searchsorted(mm, m, "right")
                for w in by_mmsi[m]:
                    a = lo + np.searchsorted(ts[lo:hi], _us(w.start), "left")
                    b = lo + np.searchsorted(ts[lo:hi], _us(w.end), "right")
                    self.tracks[w] = simplify_track(lat[a:b], lon[a:b], ts[a:b], budget, self.split_gap_s)
        stored = sum(self.tracks[w].n_stored for w in set(windows))
        drawn = sum(self.tracks[w].n_drawn for w in set(windows))
        return stored, drawn

    def load_evidence(self, refs: Iterable[tuple[str, int]]) -> None:
        """Resolve references (one pass over each input file) into :attr:`evidence`."""
        want = [r for r in dict.fromkeys(refs) if r not in self.evidence]
        if not want:
            return
        resolved = resolve_evidence(self.project, want)
        for row in resolved.iter_rows(named=True):
            self.evidence[(row["source_id"], int(row["record_no"]))] = row

    # --- views ---------------------------------------------------------------------------------

    def area_name(self, area_id: str | None, row: dict[str, Any] | None = None) -> str:
        if not area_id:
            return ""
        area = self.areas.get(area_id)
        if area is not None:
            return area.name
        name = _attrs(row).get("area_name") if row else None
        return str(name) if name else area_id

    def event_label(self, row: dict[str, Any]) -> str:
        """One line saying what the event is, for map tooltips and timeline titles."""
        a = _attrs(row)
        t = row["event_type"]
        if t == "port_visit":
            where = self.area_name(row.get("area_id"), row)
            if row.get("basis") == "sighting":
                return f"Sighting at {where}" + (f" ({a['image_ref']})" if a.get("image_ref") else "")
            return f"Port visit at {where}, {fmt_duration(row['start_utc'], row['end_utc']) or 'open'}"
        if t == "ais_gap":
            h = _num(a.get("duration_h"))
            km = _num(a.get("distance_m"))
            return ("AIS gap" + (f" of {h:.1f} h" if h is not None else " (open)")
                    + (f", {km / 1000:.0f} km between OFF and ON" if km is not None else "")
                    + (", meets the disabling criteria" if a.get("likely_disabling") else ""))
        if t == "voyage":
            o = a.get("origin_name") or self.area_name(row.get("area_id"), row)
            d = a.get("destination_name") or self.area_name(row.get("area2_id"), row)
            if row.get("basis") == "inferred_gap":
                return f"Voyage {o} - {d} inferred from an AIS gap (slack {a.get('slack_hours', '?')} h)"
            return f"Voyage {o} - {d}"
        if t == "encounter":
            return (f"Encounter of {self.label(row['mmsi'])} and {self.label(row.get('other_mmsi'))}, "
                    f"{fmt_duration(row['start_utc'], row['end_utc'])}"
                    + (f", median {a['median_distance_m']:.0f} m apart" if _num(a.get("median_distance_m")) else ""))
        if t == "loitering":
            h = _num(a.get("hours"))
            return "Loitering" + (f" {h:.1f} h" if h is not None else "") + (
                f", {a['distance_from_shore_nm']} nm offshore" if a.get("distance_from_shore_nm") is not None else "")
        if t == "identity_change":
            return f"Identity change ({a.get('kind', '?')}): {a.get('before', '?')} -> {a.get('after', '?')}"
        if t == "spoofing":
            return f"Spoofing indicator: {a.get('kind', '?')}"
        return t.replace("_", " ")

    def event_details(self, row: dict[str, Any]) -> str:
        a = _attrs(row)
        keys = {
            "port_visit": ("confidence_level", "stopped_hours", "n_positions_in_port", "image_ref"),
            "ais_gap": ("duration_h", "distance_m", "implied_speed_knots", "off_distance_from_shore_m",
                        "likely_disabling"),
            "voyage": ("duration_h", "distance_m", "n_gaps", "max_gap_h", "required_hours", "available_hours",
                       "slack_hours"),
            "encounter": ("duration_h", "median_distance_m", "median_speed_knots", "distance_from_port_km"),
            "loitering": ("hours", "avg_speed_knots", "distance_from_shore_nm"),
            "identity_change": ("kind", "before", "after", "imo"),
            "spoofing": ("kind",),
        }.get(row["event_type"], ())
        return "; ".join(f"{k}={a[k]}" for k in keys if a.get(k) is not None)

    def event_view(self, row: dict[str, Any], highlight: bool = False) -> EventView:
        place = self.area_name(row.get("area_id"), row)
        if row.get("area2_id") and row["event_type"] == "voyage":
            place = f"{place} - {self.area_name(row['area2_id'], row)}"
        if not place and row.get("lat_deg") is not None and row.get("lon_deg") is not None:
            place = f"{row['lat_deg']:.4f}, {row['lon_deg']:.4f}"
        vessel = self.label(row["mmsi"])
        if row.get("other_mmsi") is not None:
            vessel += f" + {self.label(row['other_mmsi'])}"
        conf = row.get("confidence")
        return EventView(
            event_id=row["event_id"], event_type=row["event_type"], vessel=vessel,
            start=fmt_time(row["start_utc"]), end=fmt_time(row.get("end_utc")),
            duration=fmt_duration(row["start_utc"], row.get("end_utc")), place=place,
            basis=row.get("basis") or "", confidence="" if conf is None else f"{conf:.2f}",
            details=self.event_details(row), highlight=highlight)

    def context_events(self, mmsis: Sequence[int], start: dt.datetime, end: dt.datetime,
                       highlight: set[str]) -> pl.DataFrame:
        """The finding's own events plus the vessels' other events overlapping [start, end], capped
        at ``max_context_events`` (own events always kept)."""
        ev = self.events
        if ev.height == 0:
            return ev
        own = ev.filter(pl.col("event_id").is_in(list(highlight)))
        if not mmsis:
            return own
        others = ev.filter(
            (pl.col("mmsi").is_in(list(mmsis)) | pl.col("other_mmsi").is_in(list(mmsis)))
            & pl.col("event_type").is_in(CONTEXT_TYPES)
            & (pl.coalesce("end_utc", "start_utc") >= start) & (pl.col("start_utc") <= end)
            & ~pl.col("event_id").is_in(list(highlight)))
        room = max(self.options.max_context_events - own.height, 0)
        if others.height > room:
            # thin each kind evenly over the span (a long span can hold hundreds of gaps and visits)
            types = others.get_column("event_type").unique(maintain_order=True).to_list()
            per_type = max(room // len(types), 1)
            parts = []
            for t in types:
                g = others.filter(pl.col("event_type") == t)
                if g.height > per_type:
                    g = g[np.unique(np.linspace(0, g.height - 1, per_type).round().astype(np.int64)).tolist()]
                parts.append(g)
            others = pl.concat(parts)
        return pl.concat([own, others], how="vertical_relaxed").sort("start_utc", "event_id")

    def detections_near(self, mmsis: Sequence[int], start: dt.datetime, end: dt.datetime,
                        refs: set[tuple[str, int]]) -> pl.DataFrame:
        """Detections matched to the vessels in [start, end], and those the evidence names."""
        img = self.imagery()
        if img.height == 0:
            return img
        ref_frame = pl.DataFrame([{"source_id": s, "record_no": r} for s, r in refs],
                                 schema={"source_id": pl.String, "record_no": pl.Int64})
        named = img.join(ref_frame, on=["source_id", "record_no"], how="semi")
        matched = img.filter(pl.col("match_mmsi").is_in(list(mmsis)) & pl.col("ts_utc").is_between(start, end))
        return pl.concat([named, matched]).unique("detection_id", keep="first").sort("ts_utc")

    def map_json(self, map_id: str, mmsis: Sequence[int], windows: Sequence[TrackWindow],
                 events: pl.DataFrame, highlight: set[str], area_ids: Iterable[str],
                 detections: pl.DataFrame) -> tuple[dict[str, Any], Bounds]:
        """A map's data: the tracks (simplified), events as marks and lines, detections, areas."""
        bounds = Bounds()
        colour = {m: VESSEL_COLOURS[k % len(VESSEL_COLOURS)] for k, m in enumerate(mmsis)}
        tracks = []
        for w in windows:
            tr = self.tracks.get(w)
            if tr is None or tr.n_stored == 0:
                continue
            for p in tr.parts:
                bounds.add_array(p[:, 0], p[:, 1])
            tracks.append({"mmsi": w.mmsi, "label": self.label(w.mmsi), "colour": colour.get(w.mmsi, "#333"),
                           "parts": tr.encoded(), "stored": tr.n_stored, "drawn": tr.n_drawn})
        marks: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        used_areas = list(dict.fromkeys(a for a in area_ids if a))
        for row in events.iter_rows(named=True):
            hl = row["event_id"] in highlight
            label = f"{self.label(row['mmsi'])}: {self.event_label(row)} ({fmt_time(row['start_utc'])} UTC)"
            a = _attrs(row)
            t = row["event_type"]
            lat, lon = row.get("lat_deg"), row.get("lon_deg")
            if t == "ais_gap":
                off = (_num(a.get("off_lat_deg")), _num(a.get("off_lon_deg")))
                on = (_num(a.get("on_lat_deg")), _num(a.get("on_lon_deg")))
                if off[0] is None or off[1] is None:
                    off = (lat, lon)
                if None not in off and None not in on:
                    lines.append({"k": "gap", "ll": [list(off), list(on)], "tip": label, "hl": hl})
                    bounds.add(*off)
                    bounds.add(*on)
                elif None not in off:
                    marks.append({"k": "gap_open", "ll": list(off), "tip": label, "hl": hl})
                    bounds.add(*off)
                continue
            if t == "voyage":
                if row.get("basis") == "inferred_gap" and lat is not None and lon is not None:
                    origin = self.areas.get(row.get("area_id") or "")
                    pts = ([[origin.lat_deg, origin.lon_deg]] if origin else []) + [[lat, lon]]
                    if len(pts) == 2:
                        lines.append({"k": "inferred", "ll": pts, "tip": label, "hl": hl})
                    marks.append({"k": "inferred_call", "ll": [lat, lon], "tip": label, "hl": hl})
                    for p in pts:
                        bounds.add(*p)
                    if hl:
                        used_areas += [x for x in (row.get("area_id"), row.get("area2_id")) if x]
                elif hl:
                    used_areas += [x for x in (row.get("area_id"), row.get("area2_id")) if x]
                continue
            if lat is None or lon is None:
                continue
            kind = {"port_visit": "sighting" if row.get("basis") in ("sighting", "imagery") else "port",
                    "encounter": "encounter", "loitering": "loitering", "spoofing": "spoofing"}.get(t, "event")
            marks.append({"k": kind, "ll": [lat, lon], "tip": label, "hl": hl})
            bounds.add(lat, lon)
            if hl and row.get("area_id"):
                used_areas.append(row["area_id"])
        for d in detections.iter_rows(named=True):
            status = d.get("match_status") or "unmatched"
            who = f" matched to {self.label(d['match_mmsi'])}" if d.get("match_mmsi") is not None else ""
            length = f", {d['length_m']:.0f} m" if d.get("length_m") is not None else ""
            marks.append({"k": "dark" if status == "dark_candidate" else "detection",
                          "ll": [d["lat_deg"], d["lon_deg"]], "hl": True,
                          "tip": f"Detection {d['scene_id']} ({fmt_time(d['ts_utc'])} UTC{length}): "
                                 f"{status.replace('_', ' ')}{who}"})
            bounds.add(d["lat_deg"], d["lon_deg"])
        areas = []
        for area_id in dict.fromkeys(used_areas):
            area = self.areas.get(area_id)
            if area is None:
                continue
            if area.polygon is not None:
                from shapely.geometry import mapping

                geom = mapping(area.polygon)
                areas.append({"id": area.area_id, "name": area.name, "geojson": geom})
                minx, miny, maxx, maxy = area.polygon.bounds
                bounds.add(miny, minx)
                bounds.add(maxy, maxx)
            else:
                areas.append({"id": area.area_id, "name": area.name, "ll": [area.lat_deg, area.lon_deg],
                              "r": area.radius_m})
                bounds.add(area.lat_deg, area.lon_deg)
        data = {"id": map_id, "bounds": bounds.grown(0.05, 0.05).as_list(), "tracks": tracks, "lines": lines,
                "marks": marks, "areas": areas}
        return data, bounds

    def timeline(self, mmsis: Sequence[int], events: pl.DataFrame, highlight: set[str],
                 detections: pl.DataFrame) -> list[TimelineItem]:
        """Timeline marks: per vessel, lanes of port visits and sightings, gaps, voyages, the rest."""
        many = len(mmsis) > 1
        items: list[TimelineItem] = []
        lane_of = {"port_visit": "port visits, sightings", "ais_gap": "AIS gaps", "voyage": "voyages"}
        for row in events.iter_rows(named=True):
            t = row["event_type"]
            who = [row["mmsi"]] + ([row["other_mmsi"]] if t == "encounter" and row.get("other_mmsi") else [])
            for m in who:
                if mmsis and m not in mmsis:
                    continue
                kind = t
                if t == "port_visit" and row.get("basis") in ("sighting", "imagery"):
                    kind = "sighting"
                elif t == "voyage" and row.get("basis") == "inferred_gap":
                    kind = "voyage_inferred"
                lane = lane_of.get(t, "encounters, other")
                if many:
                    lane = f"{self.label(m)[:18]}: {lane}"
                items.append(TimelineItem(lane, kind, row["start_utc"], row.get("end_utc"),
                                          self.event_label(row), row["event_id"] in highlight))
        for d in detections.iter_rows(named=True):
            m = d.get("match_mmsi")
            lane = "satellite detections" if not many or m is None else f"{self.label(m)[:18]}: imagery"
            items.append(TimelineItem(lane, "detection", d["ts_utc"], None,
                                      f"Detection {d['scene_id']}: {(d.get('match_status') or '').replace('_', ' ')}",
                                      True))
        order = ["port visits, sightings", "AIS gaps", "voyages", "encounters, other", "imagery",
                 "satellite detections"]
        return sorted(items, key=lambda it: (it.lane.split(": ")[0] if many else "",
                                             next((k for k, o in enumerate(order) if it.lane.endswith(o)), 9)))

    def evidence_rows(self, refs: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        rows = []
        for ref in refs:
            r = self.evidence.get(ref) or {"source_id": ref[0], "record_no": ref[1], "path": None,
                                           "format": None, "kind": None, "status": "unresolved", "text": None}
            rows.append({**r, "file": Path(r["path"]).name if r.get("path") else r["source_id"]})
        return rows


def _us(t: dt.datetime) -> int:
    return int((t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1_000_000)


def finding_refs(row: dict[str, Any], events: pl.DataFrame) -> list[tuple[str, int]]:
    """A finding's evidence references; its events' when the finding lists none itself."""
    refs = flatten_refs([row.get("evidence")])
    if refs.height == 0 and events.height:
        refs = flatten_refs(events.filter(pl.col("event_id").is_in(row.get("event_ids") or []))
                            .get_column("evidence").to_list())
    return [(s, int(r)) for s, r in refs.iter_rows()]


def parameters(project: Project, params_ids: Iterable[str | None] = ()) -> dict[str, Any]:
    """The frozen settings in use (grouped by prefix), what was overridden, and the params ids seen."""
    cfg = project.config
    overridden = cfg.overridden()
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, s in SETTINGS.items():
        value = cfg[name]
        groups.setdefault(name.split(".")[0], []).append({
            "name": name, "value": value, "unit": s.unit or "", "help": s.help,
            "overridden": name in overridden, "default": s.default})
    seen = sorted({p for p in params_ids if p})
    return {"params_id": cfg.params_id, "groups": groups, "overridden": overridden,
            "other_params_ids": [p for p in seen if p != cfg.params_id], "config_json": cfg.to_json()}


def data_sources(project: Project) -> dict[str, Any]:
    """Input files (AIS, imagery, lists) with hashes, formats and record counts, and table counts."""
    con = project.con
    out: dict[str, Any] = {"ais": [], "imagery": [], "lists": [], "tables": [], "event_types": []}
    if project.has_table("sources"):
        out["ais"] = con.sql(
            "SELECT path, sha256, format, records_read, positions_kept, identities_kept, quarantined, "
            "duplicates, ts_min_utc, ts_max_utc FROM sources ORDER BY path").pl().to_dicts()
    if project.has_table("imagery_sources"):
        out["imagery"] = con.sql(
            "SELECT path, source_id, kind, layout, records_read, rows_kept, quarantined FROM imagery_sources "
            "ORDER BY kind, path").pl().to_dicts()
    if project.has_table("lists"):
        out["lists"] = con.sql(
            "SELECT list_name, list_id, format, as_of_utc, as_of_basis, n_entries, n_vessels, paths, source_ids, "
            "loaded_utc FROM lists ORDER BY list_name, as_of_utc").pl().to_dicts()
    # (counted here with fetchall: Project.table_counts leaves a half-read result behind)
    counts = {"positions": int(con.sql("SELECT coalesce(sum(n_rows), 0) FROM manifest "
                                       "WHERE table_name = 'positions'").fetchall()[0][0])}
    for name in ("sources", "identities", "quarantine", "events", "findings", "matches", "detections",
                 "sightings", "scenes", "site_counts"):
        if project.has_table(name):
            counts[name] = int(con.sql(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
    if project.has_table("events"):
        out["event_types"] = con.sql("SELECT event_type, basis, count(*) AS n FROM events GROUP BY ALL "
                                     "ORDER BY event_type, basis").pl().to_dicts()
    out["tables"] = sorted(counts.items())
    for r in out["ais"]:
        r["file"] = Path(r["path"]).name
    for r in out["imagery"]:
        r["file"] = Path(r["path"]).name if r.get("path") else ""
    for r in out["lists"]:
        r["files"] = [Path(p).name for p in r["paths"] or []]
    return out
