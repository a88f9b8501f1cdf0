"""Imagery inputs in a project: scenes, detections and sightings, committed atomically.

Each file is one transaction (its rows, its quarantined records and its ``imagery_sources`` row),
so an interrupted add leaves nothing behind, and adding the same bytes again adds nothing
(refused as already added). Imagery tables are small next to AIS (thousands of detections a
scene), so they live in the DuckDB catalog rather than in Parquet files.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from sanctionwatch import __version__
from sanctionwatch.imagery.cfar import SceneDetections
from sanctionwatch.imagery.inputs import ReadResult, read_detections, read_scenes, read_sightings
from sanctionwatch.schema import DETECTIONS, QUARANTINE, SCENES, SIGHTINGS
from sanctionwatch.screening.lists.base import source_id_of
from sanctionwatch.store import Project, crash_point

__all__ = ["KINDS", "ImageryAddReport", "add_imagery", "add_sar_scene", "ensure_tables", "table_frame"]

KINDS = {"scenes": SCENES, "detections": DETECTIONS, "sightings": SIGHTINGS}


def ensure_tables(project: Project) -> None:
    if project.read_only:
        return
    for table in KINDS.values():
        project.con.execute(table.duckdb_ddl())
    project.con.execute(
        "CREATE TABLE IF NOT EXISTS imagery_sources (source_id VARCHAR, kind VARCHAR, path VARCHAR, "
        "layout VARCHAR, records_read BIGINT, rows_kept BIGINT, quarantined BIGINT, ingested_utc TIMESTAMPTZ, "
        "params_json VARCHAR, tool_version VARCHAR, PRIMARY KEY (source_id, kind))")


def table_frame(project: Project, kind: str) -> pl.DataFrame:
    """All rows of one imagery table (empty frame with the right columns when none)."""
    table = KINDS[kind]
    if not project.has_table(table.name):
        return pl.DataFrame(schema=table.polars())  # type: ignore[arg-type]
    return project.con.sql(f'SELECT * FROM "{table.name}"').pl()


@dataclass
class ImageryAddReport:
    path: Path
    kind: str
    layout: str
    records_read: int
    rows_kept: int
    quarantined: int
    reasons: dict[str, int]
    already_added: bool = False


def add_imagery(project: Project, path: Path | str, kind: str, *, mapping: Path | None = None,
                timezone: str | None = None) -> ImageryAddReport:
    """Read one scenes/detections/sightings file and commit it (see the module doc)."""
    path = Path(path).resolve()
    ensure_tables(project)
    sid = source_id_of(path)
    found = project.con.sql("SELECT count(*) FROM imagery_sources WHERE source_id = ? AND kind = ?",
                            params=[sid, kind]).fetchall()
    if found[0][0]:
        return ImageryAddReport(path, kind, "", 0, 0, 0, {}, already_added=True)
    result: ReadResult
    if kind == "scenes":
        result = read_scenes(path)
    elif kind == "detections":
        result = read_detections(path, mapping=mapping, scenes=table_frame(project, "scenes"))
    elif kind == "sightings":
        result = read_sightings(path, timezone=timezone)
    else:
        raise ValueError(f"unknown imagery kind {kind!r}")
    reasons: dict[str, int] = {}
    for q in result.quarantine:
        reasons[q["reason"]] = reasons.get(q["reason"], 0) + 1
    table = KINDS[kind]
    with project.transaction() as con:
        if result.table.num_rows:
            con.register("_rows", result.table)
            # An id already stored (the same pipeline detection in another file) is kept once.
            key = table.key[0]
            con.execute(f'INSERT INTO "{table.name}" SELECT * FROM _rows r WHERE r."{key}" NOT IN '
                        f'(SELECT "{key}" FROM "{table.name}") QUALIFY row_number() OVER (PARTITION BY r."{key}" '
                        "ORDER BY r.record_no) = 1")
            con.unregister("_rows")
        if result.quarantine:
            con.register("_q", pa.Table.from_pylist(result.quarantine, schema=QUARANTINE.arrow()))
            con.execute("INSERT INTO quarantine SELECT * FROM _q")
            con.unregister("_q")
        con.execute("INSERT INTO imagery_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            sid, kind, str(path), result.layout, result.records_read, result.table.num_rows,
            len(result.quarantine), dt.datetime.now(dt.UTC),
            json.dumps({"mapping": str(mapping) if mapping else None, "timezone": timezone}), __version__])
        crash_point("imagery_before_commit")
    return ImageryAddReport(path, kind, result.layout, result.records_read, result.table.num_rows,
                            len(result.quarantine), reasons)


def add_sar_scene(project: Project, path: Path | str, scene: SceneDetections) -> ImageryAddReport:
    """Store what the CFAR detector found in one GeoTIFF: its footprint as a scene and its detections.

    One transaction; the GeoTIFF's bytes identify it, so detecting the same file again adds nothing
    (to re-detect with other settings, use a new project or export with ``-o`` instead).
    """
    path = Path(path).resolve()
    ensure_tables(project)
    found = project.con.sql("SELECT count(*) FROM imagery_sources WHERE source_id = ? AND kind = 'sar_scene'",
                            params=[scene.source_id]).fetchall()
    if found[0][0]:
        return ImageryAddReport(path, "sar_scene", "cfar", 0, 0, 0, {}, already_added=True)
    ts = scene.detections.column("ts_utc")[0].as_py() if scene.detections.num_rows else None
    scene_row = pa.Table.from_pylist([{
        "scene_id": scene.scene_id, "sensor": "sar", "ts_utc": ts, "footprint_wkt": scene.footprint.wkt,
        "source_id": scene.source_id, "record_no": 1}], schema=SCENES.arrow()) if ts is not None else None
    with project.transaction() as con:
        if scene_row is not None:
            con.register("_scene", scene_row)
            con.execute("INSERT INTO scenes SELECT * FROM _scene WHERE scene_id NOT IN (SELECT scene_id FROM scenes)")
            con.unregister("_scene")
        if scene.detections.num_rows:
            con.register("_det", scene.detections)
            con.execute("INSERT INTO detections SELECT * FROM _det WHERE detection_id NOT IN "
                        "(SELECT detection_id FROM detections)")
            con.unregister("_det")
        con.execute("INSERT INTO imagery_sources VALUES (?, 'sar_scene', ?, 'cfar', ?, ?, 0, ?, ?, ?)", [
            scene.source_id, str(path), scene.stats.objects_found, scene.detections.num_rows, dt.datetime.now(dt.UTC), json.dumps(scene.params.to_dict()), __version__])
    return ImageryAddReport(path, "sar_scene", "cfar", scene.detections.num_rows, scene.detections.num_rows, 0, {})
