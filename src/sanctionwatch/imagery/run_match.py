"""``sanctionwatch match``: detections against AIS, and sightings onto vessels' timelines.

Detections: for every scene, each AIS vessel's position at the scene time is estimated from the
fixes around it (:mod:`~sanctionwatch.imagery.expected`) and detections are assigned one-to-one
(:mod:`~sanctionwatch.imagery.matching`); unassigned detections are dark-vessel candidates. Only
positions near scene times are read from the store. Results replace the previous ones (the
computation is cheap next to ingest), so a re-run adds nothing twice.

Sightings: an analyst's sighting names a vessel (MMSI, else IMO, else exact name as broadcast).
Inside a watched area it becomes a ``port_visit`` event with ``basis = 'sighting'`` (an AIS-dark
ship seen at Rajin on a date is a port visit known from imagery), elsewhere a ``sighting`` event;
either way it carries the sighting's record as evidence. These events belong to this stage:
``sanctionwatch run`` does not replace them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sanctionwatch.areas import project_areas
from sanctionwatch.events.base import event_id, events_frame
from sanctionwatch.imagery.catalog import ensure_tables, table_frame
from sanctionwatch.imagery.expected import expected_positions, scene_times
from sanctionwatch.imagery.match_params import MatchingParams
from sanctionwatch.imagery.matching import match_detections, vessel_lengths
from sanctionwatch.schema import DETECTION_MATCHES, EVENTS, conform
from sanctionwatch.screening.names import normalize_name
from sanctionwatch.store import Project

__all__ = ["IMAGERY_BASES", "MatchReport", "match_project"]

# Event bases written by this stage; the local engine leaves events with these bases alone.
IMAGERY_BASES = ("sighting", "imagery")


@dataclass
class MatchReport:
    scenes: int = 0
    detections: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    missed: int = 0
    sightings: int = 0
    sighting_events: int = 0
    unresolved_sightings: int = 0
    seconds: float = 0.0
    missed_rows: pl.DataFrame = field(default_factory=pl.DataFrame)


def _positions_near(project: Project, scenes: pl.DataFrame, margin_min: float) -> pl.DataFrame:
    windows = scenes.select(
        (pl.col("ts_utc") - pl.duration(minutes=margin_min)).alias("t0"),
        (pl.col("ts_utc") + pl.duration(minutes=margin_min)).alias("t1"))
    project.con.register("_windows", windows.to_arrow())
    try:
        return project.query("SELECT p.* FROM {positions} p SEMI JOIN _windows w ON p.ts_utc BETWEEN w.t0 AND w.t1 "
                             "ORDER BY p.mmsi, p.ts_utc")
    finally:
        project.con.unregister("_windows")


def _sighting_events(project: Project, sightings: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    identities = project.con.sql("SELECT mmsi, imo, name, last_seen_utc FROM identities").pl()
    areas = project_areas(project)
    params_id = project.config.params_id
    rows, unresolved = [], 0
    for s in sightings.iter_rows(named=True):
        mmsi = s["claimed_mmsi"]
        if mmsi is None and s["claimed_imo"] is not None:
            hit = identities.filter(pl.col("imo") == s["claimed_imo"]).sort("last_seen_utc")
            mmsi = hit["mmsi"][-1] if hit.height else None
        if mmsi is None and s["claimed_name"]:
            key = normalize_name(s["claimed_name"])
            hit = identities.filter(pl.col("name").map_elements(normalize_name, return_dtype=pl.String) == key)
            mmsi = hit.sort("last_seen_utc")["mmsi"][-1] if hit.height and hit["mmsi"].n_unique() == 1 else None
        if mmsi is None:
            unresolved += 1
            continue
        inside = [a for a in areas if bool(a.contains([s["lat_deg"]], [s["lon_deg"]])[0])]
        area = inside[0].area_id if inside else None
        kind = "port_visit" if area else "sighting"
        rows.append({
            "event_id": event_id(kind, int(mmsi), s["ts_utc"], area, params_id, f"sighting|{s['sighting_id']}"),
            "event_type": kind, "mmsi": int(mmsi), "start_utc": s["ts_utc"], "end_utc": s["ts_utc"],
            "lat_deg": s["lat_deg"], "lon_deg": s["lon_deg"], "area_id": area,
            "confidence": s["confidence"] if s["confidence"] is not None else 0.5, "basis": "sighting",
            "attrs": {"sighting_id": s["sighting_id"], "image_ref": s["image_ref"], "note": s["note"],
                      "claimed_name": s["claimed_name"], "claimed_imo": s["claimed_imo"]},
            "evidence": [(s["source_id"], s["record_no"])], "params_id": params_id,
        })
    return events_frame(rows), unresolved


def match_project(project: Project, *, spark_engine: Any = None) -> MatchReport:
    """Match every scene's detections and place every sighting; store both (see the module doc).

    ``spark_engine``: a :class:`~sanctionwatch.engines.spark.SparkEngine` computes the matches
    instead (the same join and assignment functions, partitioned by scene; ``missed`` is then not
    counted)."""
    started = time.perf_counter()
    ensure_tables(project)
    project.con.execute(DETECTION_MATCHES.duckdb_ddl())
    project.con.execute(EVENTS.duckdb_ddl())
    params = MatchingParams.from_config(project.config)
    detections, scenes = table_frame(project, "detections"), table_frame(project, "scenes")
    report = MatchReport()
    matches = pl.DataFrame(schema=DETECTION_MATCHES.polars())  # type: ignore[arg-type]
    if detections.height and spark_engine is not None:
        matches = pl.DataFrame(spark_engine.detection_matches(project))
        report.scenes, report.detections, report.missed = matches["scene_id"].n_unique(), detections.height, -1
        report.by_status = {k: int(v) for k, v in matches.group_by("status").len().iter_rows()}
    elif detections.height:
        st = scene_times(detections, scenes if scenes.height else None)
        positions = _positions_near(project, st, params.max_fix_offset_min + params.max_interp_gap_min)
        expected = expected_positions(positions, st, params, config=project.config)
        lengths = vessel_lengths(project.con.sql("SELECT * FROM identities").pl())
        matches, missed = match_detections(detections, expected, lengths, params,
                                           scenes=scenes if scenes.height else None,
                                           params_id=project.config.params_id)
        report.scenes, report.detections, report.missed = st.height, detections.height, missed.height
        report.missed_rows = missed
        report.by_status = {k: int(v) for k, v in matches.group_by("status").len().iter_rows()}
    sightings = table_frame(project, "sightings")
    events, report.unresolved_sightings = _sighting_events(project, sightings)
    report.sightings, report.sighting_events = sightings.height, events.height
    bases = ", ".join(f"'{b}'" for b in IMAGERY_BASES)
    with project.transaction() as con:
        con.execute("DELETE FROM detection_matches")
        if matches.height:
            con.register("_m", conform(matches.to_arrow(), DETECTION_MATCHES))
            con.execute("INSERT INTO detection_matches SELECT * FROM _m")
            con.unregister("_m")
        con.execute(f"DELETE FROM events WHERE basis IN ({bases})")
        if events.height:
            con.register("_e", conform(events.to_arrow(), EVENTS))
            con.execute("INSERT INTO events SELECT * FROM _e")
            con.unregister("_e")
    report.seconds = time.perf_counter() - started
    return report


