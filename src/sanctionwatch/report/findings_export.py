"""Export findings and their evidence: GeoJSON, KML/KMZ (Google Earth), CSV and GeoParquet.

A finding's geometry is drawn from the events it rests on: the position of each event, and a
line where an event has a start and an end position (an AIS gap from where the vessel went
dark to where it reappeared; an observed voyage from the departure port visit to the arrival;
a voyage inferred from a gap from the dark point through the port it may have called at and
back to where it reappeared), plus a position the rule states in its figures (``lat_deg`` and
``lon_deg`` in ``attrs_json``, e.g. a satellite detection's). A finding with none of these falls
back to the points of its areas, and has no geometry without areas (GeoJSON ``null``).

Evidence: one row per (finding, event) and one per (finding, raw record), the records being
those of the finding and of its events, resolved to the input file, line and the line's text
(:func:`sanctionwatch.findings.evidence.resolve_evidence`) and, for AIS position reports, the
reported position.

Every output names the tool version and the params_id (GeoJSON: a ``sanctionwatch`` member
of the FeatureCollection; KML: the Document's ExtendedData; Parquet: key-value metadata; CSV:
``params_id`` and ``sanctionwatch_version`` columns) and is written atomically.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import itertools
import json
import math
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiLineString, MultiPoint, Point, mapping
from shapely.geometry.base import BaseGeometry

from sanctionwatch import __version__
from sanctionwatch.findings.evidence import resolve_evidence
from sanctionwatch.findings.store import SEVERITIES, FindingFilter, findings_frame
from sanctionwatch.report.exports import choose_format, write_geoparquet_table
from sanctionwatch.schema import EVENTS, FINDINGS
from sanctionwatch.store import Project, atomic_output, crash_point

__all__ = [
    "EVIDENCE_COLUMNS",
    "EVIDENCE_FORMATS",
    "FINDINGS_FORMATS",
    "FINDING_CSV_COLUMNS",
    "KML_NS",
    "FindingsBundle",
    "collect_findings",
    "event_geometry",
    "evidence_format_for",
    "evidence_table",
    "export_evidence",
    "export_findings",
    "findings_format_for",
    "select_findings",
]

FINDINGS_FORMATS = ("geojson", "kml", "kmz", "csv", "geoparquet")
EVIDENCE_FORMATS = ("csv", "geoparquet")
_FINDINGS_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".kmz": "kmz", ".csv": "csv",
                      ".parquet": "geoparquet", ".geoparquet": "geoparquet"}
_EVIDENCE_SUFFIXES = {".csv": "csv", ".parquet": "geoparquet", ".geoparquet": "geoparquet"}
KML_NS = "http://www.opengis.net/kml/2.2"
_DIGITS = 6  # coordinate decimals (about 0.1 m)

#: columns of the findings CSV, in order
FINDING_CSV_COLUMNS = (
    "finding_id", "rule", "severity", "title", "statement", "confidence", "confidence_reason", "start_utc",
    "end_utc", "mmsis", "vessels", "area_ids", "event_ids", "event_types", "evidence", "n_events",
    "n_records", "lon_deg", "lat_deg", "geometry_wkt", "attrs_json", "params_id", "sanctionwatch_version",
)

#: columns of the evidence table (CSV and GeoParquet; the GeoParquet adds ``geometry``)
EVIDENCE_COLUMNS: dict[str, pa.DataType] = {
    "finding_id": pa.string(), "rule": pa.string(), "severity": pa.string(),
    "item": pa.string(),  # 'event' or 'record'
    "event_id": pa.string(), "event_type": pa.string(), "basis": pa.string(), "mmsi": pa.int32(),
    "other_mmsi": pa.int32(), "vessel": pa.string(), "start_utc": pa.timestamp("us", tz="UTC"),
    "end_utc": pa.timestamp("us", tz="UTC"), "lat_deg": pa.float64(), "lon_deg": pa.float64(),
    "area_id": pa.string(), "area2_id": pa.string(), "confidence": pa.float32(),
    "cited_by": pa.list_(pa.string()),  # records: the finding's events that cite the record
    "source_id": pa.string(), "record_no": pa.int64(), "path": pa.string(), "format": pa.string(),
    "source_kind": pa.string(), "status": pa.string(), "line_text": pa.string(),
    "params_id": pa.string(), "sanctionwatch_version": pa.string(),
}

# KML colours are aabbggrr
_SEVERITY_COLOURS = {"high": "ff1c1ce3", "medium": "ff0080ff", "low": "ff00d7ff", "info": "ffed9564"}
_BASIS_COLOURS = {"ais": "ffb4b4b4", "inferred_gap": "ffd355ba", "imagery": "ff50b000", "sighting": "ff50b000"}


def findings_format_for(path: Path, explicit: str | None = None) -> str:
    """The findings export format, from ``explicit`` or the suffix; ValueError otherwise."""
    return choose_format(path, explicit, FINDINGS_FORMATS, _FINDINGS_SUFFIXES,
                         ".geojson, .kml, .kmz, .csv or .parquet")


def evidence_format_for(path: Path, explicit: str | None = None) -> str:
    """The evidence export format (csv or geoparquet), from ``explicit`` or the suffix."""
    return choose_format(path, explicit, EVIDENCE_FORMATS, _EVIDENCE_SUFFIXES, ".csv or .parquet")


# --- gathering -------------------------------------------------------------------------------------


@dataclass
class FindingsBundle:
    """The selected findings with everything the writers need, gathered once."""

    findings: pl.DataFrame                      # FINDINGS columns, most severe first
    events: pl.DataFrame                        # EVENTS columns: every event the findings cite
    labels: dict[int, str]                      # 'NAME (IMO n)' per MMSI
    geometries: list[BaseGeometry | None]       # one per finding, aligned with ``findings``
    event_geometries: dict[str, BaseGeometry | None]
    params_id: str                              # the project's settings when exported
    selection: dict[str, Any] = field(default_factory=dict)  # the filter, for the metadata

    @cached_property
    def events_by_id(self) -> dict[str, dict[str, Any]]:
        return {r["event_id"]: r for r in self.events.iter_rows(named=True)}

    @cached_property
    def event_type_of(self) -> dict[str, str]:
        return dict(self.events.select("event_id", "event_type").iter_rows())

    def provenance(self) -> dict[str, Any]:
        return {"version": __version__, "params_id": self.params_id, "selection": self.selection}


def _selection(flt: FindingFilter, mmsis: Sequence[int], area_ids: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in vars(flt).items():
        if v is None or v == ():
            continue
        out[k] = _iso(v) if isinstance(v, dt.datetime) else (list(v) if isinstance(v, tuple) else v)
    if mmsis:
        out["mmsis"] = [int(m) for m in mmsis]
    if area_ids:
        out["area_ids"] = sorted(area_ids)
    return out


def select_findings(project: Project, flt: FindingFilter | None = None, *, mmsis: Sequence[int] = (),
                    area_ids: Sequence[str] = ()) -> pl.DataFrame:
    """:func:`findings_frame` with two more filters: any of ``mmsis`` (a vessel's MMSIs, from an IMO)
    and any of ``area_ids`` (an area group's members) among the finding's vessels / areas."""
    df = findings_frame(project, flt)
    if mmsis:
        df = df.filter(pl.col("mmsis").list.eval(pl.element().is_in([int(m) for m in mmsis])).list.any())
    if area_ids:
        df = df.filter(pl.col("area_ids").list.eval(pl.element().is_in(list(area_ids))).list.any())
    return df


def _events_by_ids(project: Project, ids: Iterable[str]) -> pl.DataFrame:
    wanted = sorted({i for i in ids if i})
    if not wanted or not project.has_table("events"):
        return pl.DataFrame(schema=EVENTS.polars())  # type: ignore[arg-type]
    name = f"_want_{uuid.uuid4().hex}"
    project.con.register(name, pa.table({"event_id": pa.array(wanted, pa.string())}))
    try:
        return project.con.sql(
            f"SELECT e.* FROM events e SEMI JOIN {name} w USING (event_id) ORDER BY e.start_utc, e.event_id").pl()
    finally:
        project.con.unregister(name)


def _attrs(row: dict[str, Any] | None) -> dict[str, Any]:
    if not row or not row.get("attrs_json"):
        return {}
    try:
        value = json.loads(row["attrs_json"])
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _lonlat(lon: Any, lat: Any) -> tuple[float, float] | None:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
        return None
    return round(x, _DIGITS), round(y, _DIGITS)


def _line_parts(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A polyline cut where it crosses the antimeridian (RFC 7946 section 3.1.9)."""
    parts = [[points[0]]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if abs(x1 - x0) > 180.0:
            x1u = x1 + 360.0 if x1 < x0 else x1 - 360.0
            edge = 180.0 if x1u > x0 else -180.0
            y = round(y0 + (edge - x0) / (x1u - x0) * (y1 - y0), _DIGITS)
            parts[-1].append((edge, y))
            parts.append([(-edge, y)])
        parts[-1].append((x1, y1))
    return [p for p in parts if len(set(p)) >= 2]


def _geometry_of(points: list[tuple[float, float] | None]) -> BaseGeometry | None:
    pts: list[tuple[float, float]] = []
    for p in points:
        if p is not None and (not pts or pts[-1] != p):
            pts.append(p)
    if not pts:
        return None
    if len(set(pts)) == 1:
        return Point(pts[0])
    lines = _line_parts(pts)
    if not lines:
        return Point(pts[0])
    return LineString(lines[0]) if len(lines) == 1 else MultiLineString(lines)


def event_geometry(row: dict[str, Any], related: dict[str, dict[str, Any]] | None = None) -> BaseGeometry | None:
    """An event's geometry in lon/lat: a line for an AIS gap (dark -> reappeared), an observed voyage
    (departure visit -> arrival visit) or an inferred voyage (dark -> port -> reappeared); a point
    otherwise; None without a position. ``related``: events by id (voyages' visits and gaps)."""
    related = related or {}
    attrs = _attrs(row)
    here = _lonlat(row.get("lon_deg"), row.get("lat_deg"))
    kind = row.get("event_type")
    if kind == "ais_gap":
        off = _lonlat(attrs.get("off_lon_deg"), attrs.get("off_lat_deg")) or here
        return _geometry_of([off, _lonlat(attrs.get("on_lon_deg"), attrs.get("on_lat_deg"))])
    if kind == "voyage" and row.get("basis") == "inferred_gap":
        gap = _attrs(related.get(str(attrs.get("gap_event_id"))))
        return _geometry_of([_lonlat(gap.get("off_lon_deg"), gap.get("off_lat_deg")), here,
                             _lonlat(gap.get("on_lon_deg"), gap.get("on_lat_deg"))])
    if kind == "voyage":
        arrival = related.get(str(attrs.get("arrival_visit_id")))
        there = _lonlat(arrival.get("lon_deg"), arrival.get("lat_deg")) if arrival else None
        return _geometry_of([here, there])
    return _geometry_of([here])


def _parts(g: BaseGeometry | None) -> Iterable[BaseGeometry]:
    if g is None or g.is_empty:
        return
    if isinstance(g, MultiPoint | MultiLineString | GeometryCollection):
        for sub in g.geoms:
            yield from _parts(sub)
    else:
        yield g


def _combine(geoms: Iterable[BaseGeometry | None]) -> BaseGeometry | None:
    """Points as a (Multi)Point, lines as a (Multi)LineString; both: a GeometryCollection of the two."""
    points: list[Point] = []
    lines: list[LineString] = []
    seen: set[tuple[float, float]] = set()
    for part in (p for g in geoms for p in _parts(g)):
        if isinstance(part, Point):
            if (part.x, part.y) not in seen:
                seen.add((part.x, part.y))
                points.append(part)
        elif isinstance(part, LineString):
            lines.append(part)
    pt = None if not points else points[0] if len(points) == 1 else MultiPoint(points)
    ln = None if not lines else lines[0] if len(lines) == 1 else MultiLineString(lines)
    if pt is not None and ln is not None:
        return GeometryCollection([pt, ln])
    return pt if pt is not None else ln


def _stated_point(attrs_json: str | None) -> BaseGeometry | None:
    """The position a rule states in its figures (a satellite detection's), if any."""
    attrs = _attrs({"attrs_json": attrs_json})
    for d in (attrs.get("figures"), attrs):
        if isinstance(d, dict) and "lat_deg" in d and "lon_deg" in d:
            return _geometry_of([_lonlat(d["lon_deg"], d["lat_deg"])])
    return None


def _area_points(project: Project) -> dict[str, tuple[float, float] | None]:
    from sanctionwatch.areas import AreaConflictError, project_areas
    from sanctionwatch.geo import AreaFileError

    try:
        areas = project_areas(project)
    except (AreaFileError, AreaConflictError):
        return {}
    return {a.area_id: _lonlat(a.lon_deg, a.lat_deg) for a in areas}


def collect_findings(project: Project, flt: FindingFilter | None = None, *, mmsis: Sequence[int] = (),
                     area_ids: Sequence[str] = ()) -> FindingsBundle:
    """The findings matching the filters, their events, vessel labels and geometries."""
    from sanctionwatch.vessels import vessel_labels

    flt = flt or FindingFilter()
    findings = select_findings(project, flt, mmsis=mmsis, area_ids=area_ids)
    cited = [e for ids in findings.get_column("event_ids").to_list() for e in (ids or [])]
    events = _events_by_ids(project, cited)
    # the events that voyages refer to: their arrival visits and the gaps behind inferred ones
    related_ids: set[str] = set()
    for row in events.iter_rows(named=True):
        attrs = _attrs(row)
        related_ids.update(str(attrs[k]) for k in ("arrival_visit_id", "gap_event_id") if attrs.get(k))
    by_id = {r["event_id"]: r for r in events.iter_rows(named=True)}
    missing = related_ids - set(by_id)
    if missing:
        by_id.update({r["event_id"]: r for r in _events_by_ids(project, missing).iter_rows(named=True)})
    event_geoms = {r["event_id"]: event_geometry(r, by_id) for r in events.iter_rows(named=True)}
    area_pts: dict[str, tuple[float, float] | None] | None = None
    geometries: list[BaseGeometry | None] = []
    for ids, areas, attrs_json in findings.select("event_ids", "area_ids", "attrs_json").iter_rows():
        g = _combine([*(event_geoms.get(e) for e in ids or []), _stated_point(attrs_json)])
        if g is None and areas:
            area_pts = _area_points(project) if area_pts is None else area_pts
            g = _combine(_geometry_of([area_pts.get(a)]) for a in areas)
        geometries.append(g)
    mmsi_all = sorted({int(m) for ms in findings.get_column("mmsis").to_list() for m in (ms or [])}
                      | {int(m) for m in events.get_column("mmsi").drop_nulls().to_list()}
                      | {int(m) for m in events.get_column("other_mmsi").drop_nulls().to_list()})
    labels = vessel_labels(project, mmsi_all) if mmsi_all else {}
    return FindingsBundle(findings=findings, events=events, labels=labels, geometries=geometries,
                          event_geometries=event_geoms, params_id=project.config.params_id,
                          selection=_selection(flt, mmsis, area_ids))


# --- writing ---------------------------------------------------------------------------------------


def export_findings(project: Project, out: Path, *, fmt: str | None = None, flt: FindingFilter | None = None,
                    mmsis: Sequence[int] = (), area_ids: Sequence[str] = (),
                    bundle: FindingsBundle | None = None) -> FindingsBundle:
    """Write the findings matching the filters to ``out`` (format from ``fmt`` or the suffix);
    returns what was written (``bundle`` to reuse one already collected)."""
    fmt = findings_format_for(out, fmt)
    bundle = bundle or collect_findings(project, flt, mmsis=mmsis, area_ids=area_ids)
    with atomic_output(out) as tmp:
        if fmt == "geojson":
            _write_geojson(bundle, tmp)
        elif fmt in ("kml", "kmz"):
            _write_kml(bundle, tmp, zipped=fmt == "kmz")
        elif fmt == "csv":
            _findings_csv_frame(bundle).write_csv(tmp)
        else:
            write_geoparquet_table(_findings_arrow(bundle), tmp, project, _parquet_meta(bundle, "findings"))
        crash_point("findings_export_before_rename")
    return bundle


def export_evidence(project: Project, out: Path, *, fmt: str | None = None, flt: FindingFilter | None = None,
                    mmsis: Sequence[int] = (), area_ids: Sequence[str] = (),
                    bundle: FindingsBundle | None = None) -> pl.DataFrame:
    """Write the evidence table of the findings matching the filters (CSV or GeoParquet) to ``out``;
    returns the table (without geometry)."""
    fmt = evidence_format_for(out, fmt)
    bundle = bundle or collect_findings(project, flt, mmsis=mmsis, area_ids=area_ids)
    table, geoms = _evidence_rows(project, bundle)
    with atomic_output(out) as tmp:
        if fmt == "csv":
            _csv_ready(table).write_csv(tmp)
        else:
            arrow = table.to_arrow().cast(pa.schema(list(EVIDENCE_COLUMNS.items())))
            arrow = arrow.append_column("geometry", pa.array(_wkb(geoms), pa.binary()))
            write_geoparquet_table(arrow, tmp, project, _parquet_meta(bundle, "evidence"))
    return table


def evidence_table(project: Project, bundle: FindingsBundle) -> pl.DataFrame:
    """One row per (finding, event) and per (finding, raw record): see :data:`EVIDENCE_COLUMNS`."""
    return _evidence_rows(project, bundle)[0]


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _conf(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


def _ref(e: dict[str, Any]) -> str:
    return f"{e['source_id']}:{e['record_no']}"


def _event_types(bundle: FindingsBundle, ids: Sequence[str] | None) -> list[str]:
    types = bundle.event_type_of
    return sorted({types[e] for e in ids or [] if e in types})


def _wkb(geoms: Sequence[BaseGeometry | None]) -> list[bytes | None]:
    return [None if g is None else shapely.to_wkb(g) for g in geoms]


def _parquet_meta(bundle: FindingsBundle, kind: str) -> dict[bytes, bytes]:
    return {b"sanctionwatch.export": kind.encode(),
            b"sanctionwatch.selection": json.dumps(bundle.selection, sort_keys=True).encode()}


# GeoJSON


def _finding_properties(bundle: FindingsBundle, row: dict[str, Any]) -> dict[str, Any]:
    mmsis = [int(m) for m in row["mmsis"] or []]
    return {
        "finding_id": row["finding_id"], "rule": row["rule"], "severity": row["severity"],
        "title": row["title"], "statement": row["statement"], "confidence": _conf(row["confidence"]),
        "confidence_reason": row["confidence_reason"], "start_utc": _iso(row["start_utc"]),
        "end_utc": _iso(row["end_utc"]), "mmsis": mmsis, "vessels": [bundle.labels.get(m, f"MMSI {m}") for m in mmsis],
        "area_ids": list(row["area_ids"] or []), "event_ids": list(row["event_ids"] or []),
        "event_types": _event_types(bundle, row["event_ids"]),
        "evidence": [_ref(e) for e in row["evidence"] or []],
        "params_id": row["params_id"], "attrs": _attrs(row) or None,
    }


def _write_geojson(bundle: FindingsBundle, out: Path) -> None:
    with out.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "sanctionwatch": ')
        fh.write(json.dumps({**bundle.provenance(), "kind": "findings"}, allow_nan=False))
        fh.write(', "features": [\n')
        for k, (row, geom) in enumerate(zip(bundle.findings.iter_rows(named=True), bundle.geometries, strict=True)):
            feature = {"type": "Feature", "id": row["finding_id"],
                       "geometry": None if geom is None else mapping(geom),
                       "properties": _finding_properties(bundle, row)}
            fh.write(("," if k else "") + json.dumps(feature, allow_nan=False, ensure_ascii=False) + "\n")
        fh.write("]}\n")


# CSV


def _findings_csv_frame(bundle: FindingsBundle) -> pl.DataFrame:
    rows = []
    for row, geom in zip(bundle.findings.iter_rows(named=True), bundle.geometries, strict=True):
        p = _finding_properties(bundle, row)
        centre = None if geom is None else geom.centroid
        rows.append({
            **{k: p[k] for k in ("finding_id", "rule", "severity", "title", "statement", "confidence",
                                 "confidence_reason", "start_utc", "end_utc")},
            **{k: json.dumps(p[k], ensure_ascii=False) for k in ("mmsis", "vessels", "area_ids", "event_ids",
                                                                  "event_types", "evidence")},
            "n_events": len(p["event_ids"]), "n_records": len(p["evidence"]),
            "lon_deg": None if centre is None else round(centre.x, _DIGITS),
            "lat_deg": None if centre is None else round(centre.y, _DIGITS),
            "geometry_wkt": None if geom is None else shapely.to_wkt(geom, rounding_precision=_DIGITS),
            "attrs_json": row["attrs_json"], "params_id": row["params_id"], "sanctionwatch_version": __version__,
        })
    numeric: dict[str, Any] = {"confidence": pl.Float64, "n_events": pl.Int64, "n_records": pl.Int64,
                               "lon_deg": pl.Float64, "lat_deg": pl.Float64}
    schema = {c: numeric.get(c, pl.String) for c in FINDING_CSV_COLUMNS}
    return pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def _csv_ready(table: pl.DataFrame) -> pl.DataFrame:
    """Times as ISO 8601 UTC ('Z'), lists as JSON arrays."""
    fmt = "%Y-%m-%dT%H:%M:%S%.fZ"
    return table.with_columns(
        *(pl.col(c).dt.convert_time_zone("UTC").dt.strftime(fmt) for c in ("start_utc", "end_utc")),
        pl.col("cited_by").map_elements(lambda v: json.dumps(list(v)), return_dtype=pl.String),
    )


# GeoParquet


def _findings_arrow(bundle: FindingsBundle) -> pa.Table:
    base = bundle.findings.to_arrow()
    if base.num_rows == 0:
        base = FINDINGS.arrow().empty_table()
    else:
        base = base.select(FINDINGS.names).cast(FINDINGS.arrow())
    vessels = [[bundle.labels.get(int(m), f"MMSI {m}") for m in ms or []]
               for ms in bundle.findings.get_column("mmsis").to_list()]
    types = [_event_types(bundle, ids) for ids in bundle.findings.get_column("event_ids").to_list()]
    return (base.append_column("vessels", pa.array(vessels, pa.list_(pa.string())))
            .append_column("event_types", pa.array(types, pa.list_(pa.string())))
            .append_column("geometry", pa.array(_wkb(bundle.geometries), pa.binary())))


# evidence table


def _positions_of(project: Project, refs: pl.DataFrame) -> dict[tuple[str, int], tuple[Any, ...]]:
    """(mmsi, ts_utc, lat, lon) of the references that are stored AIS position reports."""
    if refs.height == 0:
        return {}
    name = f"_refs_{uuid.uuid4().hex}"
    project.con.register(name, refs.to_arrow())
    try:
        rows = project.con.sql(
            f"SELECT p.source_id, p.record_no, any_value(p.mmsi), min(p.ts_utc), any_value(p.lat_deg), "
            f"any_value(p.lon_deg) FROM {project.positions_sql()} p SEMI JOIN {name} r "
            f"ON p.source_id = r.source_id AND p.record_no = r.record_no GROUP BY 1, 2").fetchall()
    finally:
        project.con.unregister(name)
    return {(str(r[0]), int(r[1])): r[2:] for r in rows}


def _evidence_rows(project: Project, bundle: FindingsBundle) -> tuple[pl.DataFrame, list[BaseGeometry | None]]:
    events = bundle.events_by_id
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry | None] = []
    all_refs: dict[tuple[str, int], None] = {}
    pending: list[tuple[dict[str, Any], tuple[str, int], list[str]]] = []
    for f in bundle.findings.iter_rows(named=True):
        head = {"finding_id": f["finding_id"], "rule": f["rule"], "severity": f["severity"],
                "params_id": f["params_id"], "sanctionwatch_version": __version__}
        cited_by: dict[tuple[str, int], list[str]] = {}
        fevents = sorted((events[e] for e in f["event_ids"] or [] if e in events),
                         key=lambda r: (r["start_utc"], r["event_id"]))
        for ev in fevents:
            m, other = ev["mmsi"], ev["other_mmsi"]
            vessel = bundle.labels.get(int(m), f"MMSI {m}") if m is not None else None
            if other is not None:
                vessel = f"{vessel} / {bundle.labels.get(int(other), f'MMSI {other}')}"
            rows.append({**head, "item": "event", "event_id": ev["event_id"], "event_type": ev["event_type"],
                         "basis": ev["basis"], "mmsi": m, "other_mmsi": other, "vessel": vessel,
                         "start_utc": ev["start_utc"], "end_utc": ev["end_utc"], "lat_deg": ev["lat_deg"],
                         "lon_deg": ev["lon_deg"], "area_id": ev["area_id"], "area2_id": ev["area2_id"],
                         "confidence": ev["confidence"], "cited_by": []})
            geoms.append(bundle.event_geometries.get(ev["event_id"]))
            for e in ev["evidence"] or []:
                cited_by.setdefault((str(e["source_id"]), int(e["record_no"])), []).append(ev["event_id"])
        for e in f["evidence"] or []:
            cited_by.setdefault((str(e["source_id"]), int(e["record_no"])), [])
        for ref, by in cited_by.items():
            all_refs[ref] = None
            pending.append((head, ref, by))
    refs = pl.DataFrame(list(all_refs), schema={"source_id": pl.String, "record_no": pl.Int64}, orient="row")
    resolved = {(r["source_id"], r["record_no"]): r for r in resolve_evidence(project, refs).iter_rows(named=True)}
    positions = _positions_of(project, refs)
    for head, ref, by in pending:
        res = resolved.get(ref, {})
        pos = positions.get(ref)
        m = pos[0] if pos else None
        lonlat = _lonlat(pos[3], pos[2]) if pos else None
        rows.append({**head, "item": "record", "mmsi": m,
                     "vessel": bundle.labels.get(int(m), f"MMSI {m}") if m is not None else None,
                     "start_utc": pos[1] if pos else None, "end_utc": pos[1] if pos else None,
                     "lat_deg": pos[2] if pos else None, "lon_deg": pos[3] if pos else None, "cited_by": by,
                     "source_id": ref[0], "record_no": ref[1], "path": res.get("path"),
                     "format": res.get("format"), "source_kind": res.get("kind"),
                     "status": res.get("status", "unknown_source"), "line_text": res.get("text")})
        geoms.append(None if lonlat is None else Point(lonlat))
    schema = pl.from_arrow(pa.schema(list(EVIDENCE_COLUMNS.items())).empty_table()).schema  # type: ignore[union-attr]
    frame = pl.from_dicts([{c: r.get(c) for c in EVIDENCE_COLUMNS} for r in rows], schema=schema) \
        if rows else pl.DataFrame(schema=schema)
    return frame, geoms


# KML

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(v: Any) -> str:
    """A value as text that XML 1.0 can carry (control characters removed; ElementTree escapes the rest)."""
    return _XML_ILLEGAL.sub("", "" if v is None else str(v))


def _xml_id(prefix: str, value: Any) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_.-]", "_", str(value))


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = _text(text)
    return el


def _kml_coords(coords: Iterable[tuple[float, ...]]) -> str:
    return " ".join(f"{c[0]:.{_DIGITS}f},{c[1]:.{_DIGITS}f}" for c in coords)


def _kml_geometry(parent: ET.Element, geom: BaseGeometry | None) -> None:
    parts = list(_parts(geom))
    if not parts:
        return
    holder = parent if len(parts) == 1 else _sub(parent, "MultiGeometry")
    for part in parts:
        if isinstance(part, Point):
            _sub(_sub(holder, "Point"), "coordinates", _kml_coords(part.coords))
        elif isinstance(part, LineString):
            line = _sub(holder, "LineString")
            _sub(line, "tessellate", "1")
            _sub(line, "coordinates", _kml_coords(part.coords))


def _kml_time(parent: ET.Element, start: dt.datetime | None, end: dt.datetime | None, *,
              span: bool) -> None:
    if start is None:
        return
    end = start if end is None or end < start else end
    if not span and end == start:
        _sub(_sub(parent, "TimeStamp"), "when", _iso(start))
        return
    ts = _sub(parent, "TimeSpan")
    _sub(ts, "begin", _iso(start))
    _sub(ts, "end", _iso(end))


def _extended(parent: ET.Element, values: dict[str, Any]) -> None:
    ext = _sub(parent, "ExtendedData")
    for k, v in values.items():
        if v is None:
            continue
        text = json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
        _sub(_sub(ext, "Data", name=k), "value", text)


def _html_table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th align=\"left\">{html.escape(k)}</th><td>{html.escape(_text(v))}</td></tr>"
                    for k, v in rows if v not in (None, "", []))
    return f"<table>{cells}</table>"


def _when(start: dt.datetime | None, end: dt.datetime | None) -> str | None:
    if start is None:
        return None
    text = f"{start:%Y-%m-%d %H:%M}"
    if end is not None and end != start:
        text += f" to {end:%Y-%m-%d %H:%M}"
    return text + " UTC"


def _finding_description(bundle: FindingsBundle, row: dict[str, Any]) -> str:
    p = _finding_properties(bundle, row)
    conf = p["confidence"]
    confidence = None if conf is None else f"{conf:.2f}" + (f" ({p['confidence_reason']})"
                                                            if p["confidence_reason"] else "")
    vessels = "; ".join(f"{lab} [MMSI {m}]" for m, lab in zip(p["mmsis"], p["vessels"], strict=True))
    table = _html_table([
        ("Severity", p["severity"]), ("Confidence", confidence), ("When", _when(row["start_utc"], row["end_utc"])),
        ("Vessels", vessels), ("Areas", ", ".join(p["area_ids"])),
        ("Events", f"{len(p['event_ids'])} ({', '.join(p['event_types'])})" if p["event_ids"] else None),
        ("Raw records", len(p["evidence"]) or None), ("Rule", p["rule"]), ("Finding", p["finding_id"]),
        ("Parameters", p["params_id"]),
    ])
    return f"<p><b>{html.escape(_text(p['statement']))}</b></p>{table}"


def _event_name(bundle: FindingsBundle, ev: dict[str, Any]) -> str:
    what = str(ev["event_type"]).replace("_", " ")
    where = " -> ".join(a for a in (ev["area_id"], ev["area2_id"]) if a)
    who = bundle.labels.get(int(ev["mmsi"]), f"MMSI {ev['mmsi']}")
    return f"{what}{' ' + where if where else ''}: {who}"


def _write_kml(bundle: FindingsBundle, out: Path, *, zipped: bool) -> None:
    root = ET.Element("kml", xmlns=KML_NS)
    doc = _sub(root, "Document")
    _sub(doc, "name", f"sanctionwatch findings ({bundle.findings.height})")
    _sub(doc, "open", "1")
    _sub(doc, "description", f"Exported by sanctionwatch {__version__} (settings {bundle.params_id}). "
         "Each folder holds one rule's findings; 'Evidence events' holds the events they rest on.")
    for sev in SEVERITIES:
        style = _sub(doc, "Style", id=f"severity-{sev}")
        icon = _sub(style, "IconStyle")
        _sub(icon, "color", _SEVERITY_COLOURS[sev])
        _sub(icon, "scale", {"high": "1.3", "medium": "1.1", "low": "1.0", "info": "0.9"}[sev])
        line = _sub(style, "LineStyle")
        _sub(line, "color", _SEVERITY_COLOURS[sev])
        _sub(line, "width", {"high": "4", "medium": "3", "low": "2", "info": "2"}[sev])
    for basis, colour in _BASIS_COLOURS.items():
        style = _sub(doc, "Style", id=f"event-{basis}")
        icon = _sub(style, "IconStyle")
        _sub(icon, "color", colour)
        _sub(icon, "scale", "0.7")
        line = _sub(style, "LineStyle")
        _sub(line, "color", colour)
        _sub(line, "width", "2")
    _extended(doc, {"sanctionwatch_version": __version__, "params_id": bundle.params_id,
                    "selection": bundle.selection or None})
    folders: dict[str, ET.Element] = {}
    counts = bundle.findings.group_by("rule").len().rows_by_key("rule", unique=True) if bundle.findings.height else {}
    cited_by: dict[str, list[str]] = {}
    for row, geom in zip(bundle.findings.iter_rows(named=True), bundle.geometries, strict=True):
        rule = row["rule"]
        if rule not in folders:
            folders[rule] = _sub(doc, "Folder")
            _sub(folders[rule], "name", f"{rule} ({counts[rule][0]})")
        pm = _sub(folders[rule], "Placemark", id=_xml_id("finding-", row["finding_id"]))
        _sub(pm, "name", row["title"] or row["statement"])
        _sub(pm, "description", _finding_description(bundle, row))
        _kml_time(pm, row["start_utc"], row["end_utc"], span=True)
        _sub(pm, "styleUrl", f"#severity-{row['severity'] if row['severity'] in SEVERITIES else 'info'}")
        p = _finding_properties(bundle, row)
        _extended(pm, {k: p[k] for k in ("finding_id", "rule", "severity", "confidence", "confidence_reason",
                                         "start_utc", "end_utc", "mmsis", "vessels", "area_ids", "event_ids",
                                         "params_id")})
        _kml_geometry(pm, geom)
        for e in row["event_ids"] or []:
            cited_by.setdefault(e, []).append(row["finding_id"])
    if bundle.events.height:
        evidence = _sub(doc, "Folder")
        _sub(evidence, "name", f"Evidence events ({bundle.events.height})")
        by_type: dict[str, ET.Element] = {}
        for ev in bundle.events.iter_rows(named=True):
            kind = str(ev["event_type"])
            if kind not in by_type:
                by_type[kind] = _sub(evidence, "Folder")
                n = bundle.events.filter(pl.col("event_type") == kind).height
                _sub(by_type[kind], "name", f"{kind} ({n})")
            pm = _sub(by_type[kind], "Placemark", id=_xml_id("event-", ev["event_id"]))
            _sub(pm, "name", _event_name(bundle, ev))
            conf = _conf(ev["confidence"])
            _sub(pm, "description", _html_table([
                ("Event", kind), ("When", _when(ev["start_utc"], ev["end_utc"])), ("Basis", ev["basis"]),
                ("Confidence", None if conf is None else f"{conf:.2f}"),
                ("Vessel", _event_name(bundle, ev).split(": ", 1)[1]),
                ("Other vessel", None if ev["other_mmsi"] is None else bundle.labels.get(
                    int(ev["other_mmsi"]), f"MMSI {ev['other_mmsi']}")),
                ("Raw records", len(ev["evidence"] or []) or None), ("Findings", ", ".join(cited_by.get(
                    ev["event_id"], []))), ("Event id", ev["event_id"]),
            ]))
            _kml_time(pm, ev["start_utc"], ev["end_utc"], span=False)
            basis = ev["basis"] if ev["basis"] in _BASIS_COLOURS else "ais"
            _sub(pm, "styleUrl", f"#event-{basis}")
            _extended(pm, {"event_id": ev["event_id"], "event_type": kind, "basis": ev["basis"],
                           "mmsi": ev["mmsi"], "other_mmsi": ev["other_mmsi"], "confidence": conf,
                           "evidence": [_ref(e) for e in ev["evidence"] or []],
                           "finding_ids": cited_by.get(ev["event_id"], [])})
            _kml_geometry(pm, bundle.event_geometries.get(ev["event_id"]))
    ET.indent(root, space=" ")
    buf = io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="UTF-8", xml_declaration=True)
    if zipped:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", buf.getvalue())
    else:
        out.write_bytes(buf.getvalue())
