"""What rules read: the tables a finding can rest on, gathered once per evaluation.

Rules are pure functions of :class:`FindingInputs`, so they run the same whether the tables come
from a local project store (:func:`inputs_from_project`), from Parquet written by the Spark
engine, or from a test's hand-made frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.geo import Area
from sanctionwatch.schema import DETECTION_MATCHES, DETECTIONS, EVENTS, MATCHES
from sanctionwatch.store import Project

__all__ = ["FindingInputs", "inputs_from_project"]


def _empty(table: object) -> pl.DataFrame:
    return pl.DataFrame(schema=table.polars())  # type: ignore[attr-defined]


@dataclass
class FindingInputs:
    """Everything the built-in rules look at. Any table may be empty."""

    config: Config
    areas: list[Area]
    events: pl.DataFrame = field(default_factory=lambda: _empty(EVENTS))
    matches: pl.DataFrame = field(default_factory=lambda: _empty(MATCHES))
    detections: pl.DataFrame = field(default_factory=lambda: _empty(DETECTIONS))
    detection_matches: pl.DataFrame = field(default_factory=lambda: _empty(DETECTION_MATCHES))
    # imagery.activity.detect_anomalies() rows for every site with a series
    site_anomalies: pl.DataFrame = field(default_factory=pl.DataFrame)
    # 'NAME (IMO n)' per MMSI, for statements
    labels: Mapping[int, str] = field(default_factory=dict)

    def label(self, mmsi: int | None) -> str:
        if mmsi is None:
            return "an unidentified vessel"
        return self.labels.get(int(mmsi), f"MMSI {mmsi}")

    @cached_property
    def areas_by_id(self) -> dict[str, Area]:
        return {a.area_id: a for a in self.areas}

    def area_name(self, area_id: str | None) -> str:
        if area_id is None:
            return "an unknown place"
        area = self.areas_by_id.get(area_id)
        return area.name if area else area_id

    @cached_property
    def sanctioned(self) -> pl.DataFrame:
        """Screening matches that make a vessel 'sanctioned' (findings.sanctioned_status), best first."""
        statuses = ["match"] if self.config["findings.sanctioned_status"] == "match" else ["match", "possible"]
        return (self.matches.filter(pl.col("status").is_in(statuses) & (pl.col("entry_status") == "listed"))
                .sort(["mmsi", "score", "list_name"], descending=[False, True, False]))

    def listing(self, mmsi: int) -> dict[str, object] | None:
        """The best sanctioning match of a vessel (None when it has none)."""
        rows = self.sanctioned.filter(pl.col("mmsi") == mmsi)
        return rows.row(0, named=True) if rows.height else None


def inputs_from_project(project: Project) -> FindingInputs:
    """Read the tables from a project store (events, screening, imagery, site activity)."""
    from sanctionwatch.areas import project_areas
    from sanctionwatch.vessels import vessel_labels

    def table(name: str, decl: object) -> pl.DataFrame:
        if not project.has_table(name):
            return _empty(decl)
        return project.con.sql(f'SELECT * FROM "{name}"').pl()

    areas = project_areas(project)
    inputs = FindingInputs(
        config=project.config, areas=areas,
        events=table("events", EVENTS), matches=table("matches", MATCHES),
        detections=table("detections", DETECTIONS), detection_matches=table("detection_matches", DETECTION_MATCHES),
        labels=vessel_labels(project),
    )
    inputs.site_anomalies = _site_anomalies(project, areas)
    return inputs


def _site_anomalies(project: Project, areas: list[Area]) -> pl.DataFrame:
    """Anomalies of every site with counts (an analyst's, or stored), and of every watched area of
    ``findings.watched_groups`` (ships in port from AIS port visits, detections in scenes)."""
    from sanctionwatch.events.voyages import resolve_areas
    from sanctionwatch.imagery.site import site_activity

    sites: set[str] = set()
    if project.has_table("site_counts"):
        sites |= set(project.con.sql("SELECT DISTINCT site_id FROM site_counts").pl().get_column("site_id"))
    spec = project.config["findings.watched_groups"]
    sites |= {a.area_id for a in areas} if not spec.strip() else resolve_areas(spec, areas)
    frames = []
    for site in sorted(sites):
        found = site_activity(project, site).anomalies
        if found.height:
            frames.append(found)
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
