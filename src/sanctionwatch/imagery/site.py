"""Activity at one site of a project: the counts behind it, stored or derived, and their anomalies.

Three series can exist for a site: an analyst's counts added with ``sanctionwatch counts add``
(rail cars, containers, ships read off images), ships in port from AIS port visits (``run``), and
vessel detections inside the site (``detections add``). Each is put on a regular calendar and
scored on its own (:mod:`sanctionwatch.imagery.activity`); they are never summed, because they
count different things with different blind spots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sanctionwatch import __version__
from sanctionwatch.areas import project_areas
from sanctionwatch.imagery.activity import ActivityParams, detect_anomalies
from sanctionwatch.imagery.activity_counts import (
    ais_presence_counts,
    detection_counts,
    read_counts_csv,
    regularise,
)
from sanctionwatch.imagery.catalog import ensure_tables, table_frame
from sanctionwatch.schema import SITE_COUNTS, conform
from sanctionwatch.screening.lists.base import source_id_of
from sanctionwatch.store import Project, crash_point

__all__ = ["SiteActivity", "add_counts", "site_activity"]


def add_counts(project: Project, path: Path | str) -> tuple[int, int]:
    """Store an analyst's counts file; returns (rows added, rows already stored). One transaction."""
    rows = read_counts_csv(Path(path))
    project.con.execute(SITE_COUNTS.duckdb_ddl())
    ensure_tables(project)
    key = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM r."{k}"' for k in SITE_COUNTS.key)
    with project.transaction() as con:
        con.register("_counts", conform(rows.to_arrow(), SITE_COUNTS))
        before = con.execute("SELECT count(*) FROM site_counts").fetchall()[0][0]
        con.execute(f"INSERT INTO site_counts SELECT r.* FROM _counts r WHERE NOT EXISTS "
                    f"(SELECT 1 FROM site_counts c WHERE {key})")
        after = con.execute("SELECT count(*) FROM site_counts").fetchall()[0][0]
        con.unregister("_counts")
        # registered like every other input, so a finding's evidence resolves to this file's lines
        sid = source_id_of(Path(path))
        con.execute("INSERT INTO imagery_sources VALUES (?, 'counts', ?, 'counts_csv', ?, ?, 0, ?, '{}', ?) "
                    "ON CONFLICT DO NOTHING", [sid, str(Path(path).resolve()), rows.height, int(after - before),
                                                dt.datetime.now(dt.UTC), __version__])
        crash_point("counts_before_commit")
    return int(after - before), rows.height - int(after - before)


@dataclass
class SiteActivity:
    site_id: str
    series: pl.DataFrame  # regularise() output, all series of the site
    anomalies: pl.DataFrame  # detect_anomalies() output


def site_activity(project: Project, site_id: str, *, period: str = "week",
                  params: ActivityParams | None = None) -> SiteActivity:
    """Every series at ``site_id`` on a ``period`` calendar, with spikes and changepoints."""
    params = params or ActivityParams.from_config(project.config)
    parts: list[pl.DataFrame] = []
    if project.has_table("site_counts"):
        stored = project.con.sql("SELECT * FROM site_counts WHERE site_id = ?", params=[site_id]).pl()
        if stored.height:
            parts.append(regularise(stored, period))
    area = next((a for a in project_areas(project) if a.area_id == site_id), None)
    if area is not None and project.has_table("events"):
        presence = ais_presence_counts(project, site_id, "day")
        if presence.height and presence["count"].sum() > 0:
            parts.append(regularise(presence, period))
    detections = table_frame(project, "detections")
    if area is not None and detections.height:
        counted = detection_counts(detections, area, "day", scenes=table_frame(project, "scenes"))
        if counted.height and counted["count"].sum() > 0:
            parts.append(regularise(counted, period))
    if not parts:
        return SiteActivity(site_id, pl.DataFrame(), pl.DataFrame())
    series = pl.concat(parts, how="diagonal_relaxed")
    return SiteActivity(site_id, series, detect_anomalies(series, params))


