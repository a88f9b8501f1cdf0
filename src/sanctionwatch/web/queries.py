"""What the web API reads from a project, shaped as JSON-ready dicts.

The endpoints in :mod:`sanctionwatch.web.api` validate their parameters and call these functions;
the functions reuse the library's own queries (findings, vessels, evidence, screening, site
activity) so the web app agrees with the command line and the report.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import shapely

from sanctionwatch.findings.evidence import flatten_refs, resolve_evidence
from sanctionwatch.findings.store import SEVERITIES, FindingFilter, finding_events, findings_frame
from sanctionwatch.geo import Area
from sanctionwatch.store import Project

__all__ = [
    "WebFindingFilter", "area_json", "count_findings", "event_rows", "finding_detail", "finding_rows",
    "findings_facets", "iso", "jsonable", "rows", "simplify_track", "track_geojson",
]

def iso(t: dt.datetime | None) -> str | None:
    """ISO-8601 UTC with a 'Z' (None stays None)."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Datetimes to ISO strings, non-finite floats to None, recursively (JSON has no NaN)."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def rows(df: pl.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as JSON-ready dicts (only ``columns`` when given)."""
    if columns is not None:
        df = df.select([c for c in columns if c in df.columns])
    return [jsonable(r) for r in df.iter_rows(named=True)]


def _attrs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"_unparsed": text}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


# --- findings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebFindingFilter(FindingFilter):
    """:class:`FindingFilter` plus "any of these MMSIs" (an IMO number can stand for several)."""

    mmsis: tuple[int, ...] | None = None

    def where(self) -> tuple[str, list[Any]]:
        where, params = super().where()
        if self.mmsis is None:
            return where, params
        clause = f"list_has_any(mmsis, [{', '.join('?' * len(self.mmsis))}]::INTEGER[])" if self.mmsis else "false"
        return (where + " AND " if where else " WHERE ") + clause, [*params, *self.mmsis]


def count_findings(project: Project, flt: FindingFilter) -> int:
    if not project.has_table("findings"):
        return 0
    where, params = flt.where()
    return int(project.con.sql(f"SELECT count(*) FROM findings{where}", params=params).fetchall()[0][0])


def findings_facets(project: Project) -> dict[str, dict[str, int]]:
    if not project.has_table("findings"):
        return {"rules": {}, "severities": {}}
    by_rule = project.con.sql("SELECT rule, count(*) FROM findings GROUP BY 1 ORDER BY 1").fetchall()
    by_sev = dict(project.con.sql("SELECT severity, count(*) FROM findings GROUP BY 1").fetchall())
    return {"rules": {str(r): int(n) for r, n in by_rule},
            "severities": {s: int(by_sev.get(s, 0)) for s in SEVERITIES}}


def finding_rows(df: pl.DataFrame, labels: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for r in df.iter_rows(named=True):
        mmsis = [int(m) for m in r["mmsis"] or []]
        out.append({
            "finding_id": r["finding_id"], "rule": r["rule"], "severity": r["severity"], "title": r["title"],
            "statement": r["statement"], "confidence": _round(r["confidence"]),
            "confidence_reason": r["confidence_reason"], "start_utc": iso(r["start_utc"]),
            "end_utc": iso(r["end_utc"]), "mmsis": mmsis,
            "vessels": [{"mmsi": m, "label": labels.get(m, f"MMSI {m}")} for m in mmsis],
            "area_ids": list(r["area_ids"] or []), "event_ids": list(r["event_ids"] or []),
            "n_evidence": len(r["evidence"] or []), "params_id": r["params_id"],
            "attrs": jsonable(_attrs(r["attrs_json"])),
        })
    return out


def event_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in df.iter_rows(named=True):
        out.append({
            "event_id": r["event_id"], "event_type": r["event_type"], "mmsi": int(r["mmsi"]),
            "other_mmsi": None if r["other_mmsi"] is None else int(r["other_mmsi"]),
            "segment_id": r["segment_id"], "start_utc": iso(r["start_utc"]), "end_utc": iso(r["end_utc"]),
            "lat_deg": _round(r["lat_deg"], 6), "lon_deg": _round(r["lon_deg"], 6), "area_id": r["area_id"],
            "area2_id": r["area2_id"], "confidence": _round(r["confidence"]), "basis": r["basis"],
            "attrs": jsonable(_attrs(r["attrs_json"])), "n_evidence": len(r["evidence"] or []),
            "params_id": r["params_id"],
        })
    return out


def finding_detail(project: Project, finding_id: str, labels: dict[int, str],
                   evidence_limit: int) -> dict[str, Any] | None:
    """The finding, its events and its evidence resolved to the raw input lines (None: no such id)."""
    df = findings_frame(project, FindingFilter(finding_ids=(finding_id,)))
    if df.height == 0:
        return None
    events = finding_events(project, finding_id)
    refs = flatten_refs(df.get_column("evidence").to_list())
    if refs.height == 0:  # a finding without its own references rests on its events' records
        refs = flatten_refs(events.get_column("evidence").to_list())
    total = refs.height
    resolved = resolve_evidence(project, refs.head(evidence_limit)) if total else None
    return {
        "finding": finding_rows(df, labels)[0],
        "events": event_rows(events),
        "evidence": rows(resolved) if resolved is not None else [],
        "evidence_total": total,
        "evidence_truncated": total > evidence_limit,
    }


# --- areas ------------------------------------------------------------------------------------

def area_json(area: Area | None = None, *, wpi: dict[str, Any] | None = None, n_events: int = 0,
              n_findings: int = 0) -> dict[str, Any]:
    """One watched area (or a World Port Index port) as the API shows it."""
    if area is not None:
        geom = (shapely.geometry.mapping(area.polygon) if area.polygon is not None
                else {"type": "Point", "coordinates": [area.lon_deg, area.lat_deg]})
        return {"area_id": area.area_id, "name": area.name, "kind": area.kind, "groups": list(area.groups),
                "country_iso2": area.country_iso2, "source": "watched", "geometry": jsonable(geom),
                "radius_m": area.radius_m, "lat_deg": area.lat_deg, "lon_deg": area.lon_deg,
                "n_events": n_events, "n_findings": n_findings}
    assert wpi is not None
    return {"area_id": wpi["port_id"], "name": wpi["name"], "kind": "port", "groups": [],
            "country_iso2": wpi.get("country_iso2"), "source": "wpi",
            "geometry": {"type": "Point", "coordinates": [wpi["lon_deg"], wpi["lat_deg"]]},
            "radius_m": None, "lat_deg": wpi["lat_deg"], "lon_deg": wpi["lon_deg"],
            "n_events": n_events, "n_findings": n_findings}


# --- tracks -----------------------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _parts(ts_ms: IntArray, max_points: int, split_gap_ms: int) -> list[tuple[int, int]]:
    """[start, end) index ranges: the track cut where positions are ``split_gap_ms`` or more apart.

    When there are so many cuts that two vertices per part would not fit the budget, only the
    longest gaps are cut (the others are drawn straight across)."""
    n = ts_ms.size
    if n == 0:
        return []
    gaps = np.diff(ts_ms)
    cuts = np.flatnonzero(gaps >= split_gap_ms) + 1
    max_parts = max(1, max_points // 2)
    if cuts.size + 1 > max_parts:
        longest = np.argsort(gaps[cuts - 1], kind="stable")[::-1][: max_parts - 1]
        cuts = np.sort(cuts[longest])
    bounds = [0, *cuts.tolist(), n]
    return list(itertools.pairwise(bounds))


def _dp_keep(lon: FloatArray, lat: FloatArray, tolerance: float) -> IntArray:
    """Indices of the vertices a Douglas-Peucker simplification keeps (endpoints always)."""
    n = lon.size
    if n <= 2 or tolerance <= 0:
        return np.arange(n, dtype=np.int64)
    line = shapely.LineString(np.column_stack([lon, lat]))
    kept = shapely.get_coordinates(shapely.simplify(line, tolerance, preserve_topology=False))
    # Douglas-Peucker keeps original vertices in order: walk both sequences to recover indices.
    idx = np.empty(len(kept), dtype=np.int64)
    j = 0
    for k, (x, y) in enumerate(kept):
        while j < n - 1 and not (lon[j] == x and lat[j] == y):
            j += 1
        idx[k] = j
        j = min(j + 1, n - 1)
    idx[-1] = n - 1
    return np.unique(idx)


def simplify_track(ts_ms: IntArray, lat: FloatArray, lon: FloatArray, *, max_points: int,
                   split_gap_ms: int) -> list[tuple[IntArray, FloatArray, FloatArray]]:
    """Cut the track at gaps and simplify each part (Douglas-Peucker, one tolerance for the whole
    track, found by bisection) so that at most ``max_points`` vertices remain.

    Returns (times, lat, lon) per part. Longitudes are unwrapped across the antimeridian within a
    part so a map draws the short way round."""
    parts = _parts(ts_ms, max_points, split_gap_ms)
    pieces = []
    for a, b in parts:
        x = np.rad2deg(np.unwrap(np.deg2rad(lon[a:b])))
        pieces.append((ts_ms[a:b], lat[a:b], x))
    total = sum(p[0].size for p in pieces)
    if total <= max_points:
        return pieces
    # Very long parts are thinned evenly first, so the bisection stays fast on millions of points.
    cap = max(max_points * 8, 10_000)
    thinned = []
    for t, y, x in pieces:
        if t.size > cap:
            sel = np.unique(np.linspace(0, t.size - 1, cap).round().astype(np.int64))
            t, y, x = t[sel], y[sel], x[sel]
        thinned.append((t, y, x))
    pieces = thinned
    lines = np.array([shapely.LineString(np.column_stack([x, y])) if t.size > 1 else None
                      for t, y, x in pieces], dtype=object)
    singles = sum(1 for t, _, _ in pieces if t.size == 1)
    multi = lines[np.array([ln is not None for ln in lines])]

    def count(tol: float) -> int:  # vertices kept at this tolerance (one vectorised shapely call)
        simplified = shapely.simplify(multi, tol, preserve_topology=False)
        return int(shapely.get_num_coordinates(simplified).sum()) + singles

    lo, hi = 0.0, 1.0
    while count(hi) > max_points and hi < 360.0:
        hi *= 4.0
    for _ in range(40):
        mid = (lo + hi) / 2.0
        n_mid = count(mid)
        if n_mid <= max_points:
            hi = mid
            if n_mid >= 0.97 * max_points:
                break
        else:
            lo = mid
    return [(t[k], y[k], x[k]) for t, y, x in pieces for k in [_dp_keep(x, y, hi)]]


def track_geojson(project: Project, mmsis: Iterable[int], *, since: dt.datetime | None,
                  until: dt.datetime | None, max_points: int) -> dict[str, Any]:
    """The vessels' tracks as a GeoJSON FeatureCollection simplified to ``max_points`` vertices in all,
    with each vertex's time (``properties.times_ms``) for the time slider."""
    mmsis = [int(m) for m in mmsis]
    where = [f"mmsi IN ({', '.join('?' * len(mmsis))})"]
    params: list[Any] = list(mmsis)
    if since is not None:
        where.append("ts_utc >= ?")
        params.append(since)
    if until is not None:
        where.append("ts_utc < ?")
        params.append(until)
    df = project.query(
        "SELECT mmsi, epoch_ms(ts_utc) AS t, lat_deg, lon_deg FROM {positions} WHERE "
        + " AND ".join(where) + " ORDER BY mmsi, ts_utc", params)
    split_gap_ms = int(float(project.config["events.gap_min_hours"]) * 3_600_000)
    features: list[dict[str, Any]] = []
    n_positions = df.height
    budget_left = max_points
    by_vessel = [(m, df.filter(pl.col("mmsi") == m)) for m in mmsis]
    by_vessel = [(m, d) for m, d in by_vessel if d.height]
    for i, (m, d) in enumerate(by_vessel):
        # share the budget by number of positions (at least two vertices each)
        share = budget_left if i == len(by_vessel) - 1 else max(
            2, int(max_points * d.height / max(1, n_positions)))
        share = min(share, budget_left)
        if share < 1:
            break
        parts = simplify_track(d["t"].to_numpy().astype(np.int64), d["lat_deg"].to_numpy(),
                               d["lon_deg"].to_numpy(), max_points=max(share, 1),
                               split_gap_ms=split_gap_ms)
        for k, (t, y, x) in enumerate(parts):
            coords = [[round(float(a), 6), round(float(b), 6)] for a, b in zip(x, y, strict=True)]
            geom = ({"type": "Point", "coordinates": coords[0]} if len(coords) == 1
                    else {"type": "LineString", "coordinates": coords})
            features.append({"type": "Feature", "geometry": geom,
                             "properties": {"mmsi": m, "part": k, "times_ms": [int(v) for v in t]}})
            budget_left -= len(coords)
    n_vertices = sum(len(f["properties"]["times_ms"]) for f in features)
    return {"type": "FeatureCollection", "features": features, "mmsis": mmsis, "n_positions": n_positions,
            "n_vertices": n_vertices, "max_points": max_points, "since": iso(since), "until": iso(until)}
