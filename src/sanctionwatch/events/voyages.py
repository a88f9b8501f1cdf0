"""Voyages between ports: observed (from port visits) and inferred (dark, from AIS gaps).

Observed voyages (``basis = "ais"``) follow GFW's definition (domain.md §1.2, pipe-events
``generate_confidence_voyages.sql.j2``): per vessel, a voyage runs from the end of one port visit to
the start of the next. ``area_id`` is the origin, ``area2_id`` the destination; start = departure,
end = arrival; confidence = the lower of the two visits' confidences (GFW's ``voyages_cN`` tables keep
voyages whose visits both reach level N). Voyages from a port back to the same port are kept, as GFW
does, and marked ``same_port``. Differences from GFW: the first voyage (before the first visit) and
the last one (after a visit still open or the last visit) are not emitted, since they have no port
at one end; visits below ``events.port_visit_min_confidence`` are dropped first.

Inferred ("dark") voyages (``basis = "inferred_gap"``) are a HYPOTHESIS consistent with the data,
not an observation: an AIS gap whose OFF and ON positions both lie within
``events.dark_voyage_max_endpoint_distance_km`` of a port (the vessel went dark near port A and
reappeared near port A or B) is long enough for a round trip OFF -> W -> ON to a target port W
(``events.dark_voyage_target_groups``, e.g. the ``dprk_ports`` group: Rajin) at no more than
``events.dark_voyage_max_speed_knots`` plus ``events.dark_voyage_min_port_hours`` alongside. Distances
are great-circle, a lower bound on the sea route, so the test is permissive (it finds trips that
could have happened; it proves none). Its confidence comes from the slack (gap minus required
time): :data:`INFERRED_CONFIDENCE_MAX` with no slack down to :data:`INFERRED_CONFIDENCE_MIN` when the
slack reaches ``events.dark_voyage_slack_scale_hours`` -- a long gap could hide many other things.
``attrs_json`` carries the reasoning (required, available and slack hours, the speed assumed, the
target ports considered). A gap whose both ends are near W itself is a dark stay at W, not a trip to
it, and gives no voyage; a gap that begins or ends near W (the vessel switched off just off W)
gives a voyage whose ``area_id`` is the port at its other end.

:func:`count_voyages` selects voyages between two sets of ports (areas or groups) and counts a
round trip A -> W -> B observed as two legs as one delivery.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame
from sanctionwatch.geo import Area, default_areas, haversine_m
from sanctionwatch.tracks.segment import METRES_PER_NM

__all__ = [
    "BASIS_INFERRED",
    "BASIS_OBSERVED",
    "EVENT_TYPE",
    "count_voyages",
    "detect_voyages",
    "infer_dark_voyages",
    "resolve_areas",
]

EVENT_TYPE = "voyage"
BASIS_OBSERVED = "ais"
BASIS_INFERRED = "inferred_gap"
PORT_VISIT_TYPE = "port_visit"
GAP_TYPE = "ais_gap"
# Confidence range of inferred voyages (sanctionwatch assumption): never above 0.7, since no
# position shows the port call; never below 0.3 while the trip is feasible at all.
INFERRED_CONFIDENCE_MAX = 0.7
INFERRED_CONFIDENCE_MIN = 0.3
# Kinds of watched area that can be the end of an (inferred) voyage.
ENDPOINT_KINDS = ("port", "shipyard")


def _hours(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def _evidence(row: dict[str, Any]) -> list[tuple[str, int]]:
    return [(e["source_id"], int(e["record_no"])) for e in (row.get("evidence") or [])]


# -- observed voyages ---------------------------------------------------------------------------


def detect_voyages(
    port_visits: pl.DataFrame,
    config: Config,
    gaps: pl.DataFrame | None = None,
    areas: Sequence[Area] | None = None,
) -> pl.DataFrame:
    """Observed voyage events (EVENTS schema) between consecutive port visits of each MMSI.

    ``gaps`` (``ais_gap`` events, optional) adds the longest and total AIS gap inside each voyage;
    ``areas`` (default: the packaged watched areas) only supplies names missing from the visits.
    """
    visits = port_visits.filter(pl.col("event_type") == PORT_VISIT_TYPE)
    min_level = int(config["events.port_visit_min_confidence"])
    visits = visits.filter(pl.col("confidence").is_null() | (pl.col("confidence") * 4 >= min_level - 1e-6))
    if visits.height < 2:
        return empty_events()
    names = {a.area_id: a.name for a in (areas if areas is not None else default_areas())}
    gap_rows = _gaps_by_mmsi(gaps)
    params_id = config.params_id
    rows: list[dict[str, Any]] = []
    for (mmsi,), group in visits.sort("mmsi", "start_utc").group_by("mmsi", maintain_order=True):
        vs = group.to_dicts()
        for a, b in itertools.pairwise(vs):
            depart, arrive = a["end_utc"], b["start_utc"]
            if depart is None or arrive is None or arrive < depart:
                continue  # an open visit has no departure; overlapping visits (shared MMSI) no voyage
            rows.append(_voyage_row(int(mmsi), a, b, depart, arrive, names, gap_rows.get(int(mmsi), []),
                                    params_id))
    return events_frame(rows)


def _gaps_by_mmsi(gaps: pl.DataFrame | None) -> dict[int, list[tuple[dt.datetime, dt.datetime, float]]]:
    out: dict[int, list[tuple[dt.datetime, dt.datetime, float]]] = {}
    if gaps is None or gaps.height == 0:
        return out
    closed = gaps.filter((pl.col("event_type") == GAP_TYPE) & pl.col("end_utc").is_not_null())
    for g in closed.select("mmsi", "start_utc", "end_utc").iter_rows():
        out.setdefault(int(g[0]), []).append((g[1], g[2], _hours(g[1], g[2])))
    return out


def _area_name(row: dict[str, Any], names: dict[str, str]) -> str | None:
    try:
        name = json.loads(row.get("attrs_json") or "{}").get("area_name")
    except json.JSONDecodeError:
        name = None
    return name or names.get(row.get("area_id") or "")


def _voyage_row(
    mmsi: int,
    a: dict[str, Any],
    b: dict[str, Any],
    depart: dt.datetime,
    arrive: dt.datetime,
    names: dict[str, str],
    gaps: list[tuple[dt.datetime, dt.datetime, float]],
    params_id: str,
) -> dict[str, Any]:
    inside = [g for g in gaps if g[0] < arrive and g[1] > depart]  # gaps overlapping the voyage
    distance_m = None
    if None not in (a["lat_deg"], a["lon_deg"], b["lat_deg"], b["lon_deg"]):
        distance_m = float(haversine_m(a["lat_deg"], a["lon_deg"], b["lat_deg"], b["lon_deg"]))
    confs = [c for c in (a["confidence"], b["confidence"]) if c is not None]
    attrs = {
        "duration_h": round(_hours(depart, arrive), 4),
        "distance_m": None if distance_m is None else round(distance_m, 1),
        "origin_name": _area_name(a, names),
        "destination_name": _area_name(b, names),
        "same_port": a["area_id"] == b["area_id"],
        "departure_visit_id": a["event_id"],
        "arrival_visit_id": b["event_id"],
        "n_gaps": len(inside),
        "max_gap_h": round(max((g[2] for g in inside), default=0.0), 4),
        "total_gap_h": round(sum(g[2] for g in inside), 4),
        "gaps_checked": bool(gaps) or None,
    }
    return {
        "event_id": event_id(EVENT_TYPE, mmsi, depart, a["area_id"], params_id, BASIS_OBSERVED),
        "event_type": EVENT_TYPE,
        "mmsi": mmsi,
        "segment_id": a["segment_id"],
        "start_utc": depart,
        "end_utc": arrive,
        "lat_deg": a["lat_deg"],
        "lon_deg": a["lon_deg"],
        "area_id": a["area_id"],
        "area2_id": b["area_id"],
        "confidence": min(confs) if confs else None,
        "basis": BASIS_OBSERVED,
        "attrs": attrs,
        "evidence": _evidence(a) + _evidence(b),
        "params_id": params_id,
    }


# -- inferred (dark) voyages --------------------------------------------------------------------


def resolve_areas(spec: str | Iterable[str], areas: Sequence[Area]) -> set[str]:
    """Area ids named by ``spec``: area ids or group names, comma-separated or as an iterable.

    Raises ``ValueError`` for a name that is neither an area id nor a group.
    """
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    ids: set[str] = set()
    for name in names:
        hit = {a.area_id for a in areas if a.area_id == name or name in a.groups}
        if not hit:
            raise ValueError(f"{name!r} is neither a watched area id nor a group")
        ids |= hit
    return ids


def _nearest(lat: float, lon: float, areas: Sequence[Area], max_m: float) -> tuple[Area | None, float]:
    best, best_m = None, float("inf")
    for a in areas:
        d = float(haversine_m(lat, lon, a.lat_deg, a.lon_deg))
        if d < best_m:
            best, best_m = a, d
    return (best, best_m) if best_m <= max_m else (None, best_m)


def inferred_confidence(slack_h: float, slack_scale_h: float) -> float:
    """INFERRED_CONFIDENCE_MAX at zero slack, falling linearly to INFERRED_CONFIDENCE_MIN at
    ``slack_scale_h`` hours of slack and beyond."""
    frac = min(1.0, max(0.0, slack_h) / slack_scale_h) if slack_scale_h > 0 else 1.0
    return round(INFERRED_CONFIDENCE_MAX - (INFERRED_CONFIDENCE_MAX - INFERRED_CONFIDENCE_MIN) * frac, 4)


def infer_dark_voyages(
    gaps: pl.DataFrame,
    areas: Sequence[Area] | None,
    config: Config,
    targets: str | Iterable[str] | None = None,
) -> pl.DataFrame:
    """Inferred voyage events (EVENTS schema, ``basis = "inferred_gap"``) hidden in AIS gaps.

    ``targets`` (area ids or groups; default ``events.dark_voyage_target_groups``) are the ports
    whose dark calls are looked for; the ends of a gap are matched to the watched areas of kind
    :data:`ENDPOINT_KINDS`. See the module docstring: each row is a hypothesis, not an observation.
    """
    all_areas = list(areas) if areas is not None else default_areas()
    target_ids = resolve_areas(targets if targets is not None else str(config["events.dark_voyage_target_groups"]),
                               all_areas)
    endpoints = [a for a in all_areas if a.kind in ENDPOINT_KINDS or a.area_id in target_ids]
    target_areas = [a for a in all_areas if a.area_id in target_ids]
    if gaps.height == 0 or not target_areas:
        return empty_events()
    max_end_m = float(config["events.dark_voyage_max_endpoint_distance_km"]) * 1000.0
    speed_kn = float(config["events.dark_voyage_max_speed_knots"])
    speed_m_per_h = speed_kn * METRES_PER_NM
    port_h = float(config["events.dark_voyage_min_port_hours"])
    slack_scale_h = float(config["events.dark_voyage_slack_scale_hours"])
    params_id = config.params_id
    closed = gaps.filter((pl.col("event_type") == GAP_TYPE) & pl.col("end_utc").is_not_null())
    rows: list[dict[str, Any]] = []
    for g in closed.iter_rows(named=True):
        attrs = json.loads(g["attrs_json"] or "{}")
        off_lat, off_lon = attrs.get("off_lat_deg", g["lat_deg"]), attrs.get("off_lon_deg", g["lon_deg"])
        on_lat, on_lon = attrs.get("on_lat_deg"), attrs.get("on_lon_deg")
        if None in (off_lat, off_lon, on_lat, on_lon):
            continue
        off_area, off_m = _nearest(off_lat, off_lon, endpoints, max_end_m)
        on_area, on_m = _nearest(on_lat, on_lon, endpoints, max_end_m)
        if off_area is None or on_area is None:
            continue  # went dark or reappeared away from any port: nothing to anchor a trip on
        available_h = _hours(g["start_utc"], g["end_utc"])
        considered = []
        feasible = []
        for w in target_areas:
            out_m = float(haversine_m(off_lat, off_lon, w.lat_deg, w.lon_deg))
            back_m = float(haversine_m(w.lat_deg, w.lon_deg, on_lat, on_lon))
            required_h = (out_m + back_m) / speed_m_per_h + port_h
            fits = available_h >= required_h
            stay = off_area.area_id == w.area_id and on_area.area_id == w.area_id
            considered.append({"area_id": w.area_id, "out_m": round(out_m, 1), "back_m": round(back_m, 1),
                               "required_hours": round(required_h, 3), "feasible": fits and not stay,
                               "dark_stay_at_target": stay})
            if fits and not stay:
                feasible.append((w, out_m, back_m, required_h))
        for w, out_m, back_m, required_h in feasible:
            origin = off_area if off_area.area_id != w.area_id else on_area
            slack_h = available_h - required_h
            reasoning = {
                "hypothesis": "a port call consistent with the gap, not observed",
                "gap_event_id": g["event_id"],
                "required_hours": round(required_h, 3),
                "available_hours": round(available_h, 3),
                "slack_hours": round(slack_h, 3),
                "max_speed_knots": speed_kn,
                "min_port_hours": port_h,
                "distance_out_m": round(out_m, 1),
                "distance_back_m": round(back_m, 1),
                "off_area_id": off_area.area_id,
                "off_distance_m": round(off_m, 1),
                "on_area_id": on_area.area_id,
                "on_distance_m": round(on_m, 1),
                "origin_name": origin.name,
                "destination_name": w.name,
                "candidates": considered,
                "n_feasible_targets": len(feasible),
                "distance_model": "great circle (lower bound on the sea route)",
            }
            rows.append({
                "event_id": event_id(EVENT_TYPE, g["mmsi"], g["start_utc"], origin.area_id, params_id,
                                     f"{BASIS_INFERRED}:{w.area_id}"),
                "event_type": EVENT_TYPE,
                "mmsi": g["mmsi"],
                "segment_id": g["segment_id"],
                "start_utc": g["start_utc"],
                "end_utc": g["end_utc"],
                "lat_deg": w.lat_deg,
                "lon_deg": w.lon_deg,
                "area_id": origin.area_id,
                "area2_id": w.area_id,
                "confidence": inferred_confidence(slack_h, slack_scale_h),
                "basis": BASIS_INFERRED,
                "attrs": reasoning,
                "evidence": _evidence(g),
                "params_id": params_id,
            })
    return events_frame(rows)


# -- counting -----------------------------------------------------------------------------------


def count_voyages(
    voyages: pl.DataFrame,
    from_group_or_area: str | Iterable[str],
    to_group_or_area: str | Iterable[str],
    since: dt.datetime | None = None,
    *,
    until: dt.datetime | None = None,
    areas: Sequence[Area] | None = None,
    mmsi: int | None = None,
) -> pl.DataFrame:
    """The voyages that are deliveries between the ``from`` ports and the ``to`` ports (either
    direction), one row per delivery; ``len()`` of the result is the count.

    A leg A -> W followed by that vessel's next matching leg W -> B (A and B on the same side) is one
    round trip: the outbound row is kept, with the return leg's id in ``return_event_id``. An
    inferred voyage lying within the time of an observed one to or from the same W is dropped
    (the observed one already counts). ``since``/``until`` filter on the departure time.
    """
    all_areas = list(areas) if areas is not None else default_areas()
    src, dst = resolve_areas(from_group_or_area, all_areas), resolve_areas(to_group_or_area, all_areas)
    v = voyages.filter(pl.col("event_type") == EVENT_TYPE)
    if since is not None:
        v = v.filter(pl.col("start_utc") >= since)
    if until is not None:
        v = v.filter(pl.col("start_utc") < until)
    if mmsi is not None:
        v = v.filter(pl.col("mmsi") == mmsi)
    a, b = pl.col("area_id"), pl.col("area2_id")
    v = v.filter((a.is_in(list(src)) & b.is_in(list(dst))) | (a.is_in(list(dst)) & b.is_in(list(src))))
    v = v.sort("mmsi", "start_utc")
    keep: list[dict[str, Any]] = []
    for (_,), group in v.group_by("mmsi", maintain_order=True):
        rows = group.to_dicts()
        observed = [r for r in rows if r["basis"] != BASIS_INFERRED]
        for r in rows:
            r["return_event_id"] = None
            if r["basis"] == BASIS_INFERRED and any(
                o["start_utc"] <= r["start_utc"] and (r["end_utc"] or r["start_utc"]) <= (o["end_utc"] or o["start_utc"])
                and r["area2_id"] in (o["area_id"], o["area2_id"])
                for o in observed
            ):
                continue
            prev = keep[-1] if keep and keep[-1]["mmsi"] == r["mmsi"] else None
            if (
                prev is not None
                and prev["return_event_id"] is None
                and r["area_id"] == prev["area2_id"]  # A -> W then W -> B (A, B on the same side)
                and prev["end_utc"] is not None
                and r["start_utc"] >= prev["end_utc"]
            ):
                prev["return_event_id"] = r["event_id"]
                continue
            keep.append(r)
    schema: dict[str, pl.DataType] = {**dict(voyages.schema), "return_event_id": pl.String()}
    if not keep:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(keep, schema=schema)
