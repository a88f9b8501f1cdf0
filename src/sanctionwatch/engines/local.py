"""The local engine: runs the stages on groups of vessels read from the project store.

Incremental and idempotent. The store remembers which sources each run has processed
(``run_sources``) and with which parameters. A run re-computes the vessels that appear in new
sources (all of their positions, so state machines see whole tracks), replaces those vessels'
events in one transaction per group, and then records the sources as processed. Re-running with
no new data changes nothing; an interrupted run is completed by the next one; changed
parameters re-compute everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter

import polars as pl

from sanctionwatch.areas import project_areas
from sanctionwatch.engines.base import ProgressFn, RunReport
from sanctionwatch.engines.stages import PER_VESSEL_EVENT_TYPES, StageContext, run_segmented_stages
from sanctionwatch.events.encounters import EncounterDetector
from sanctionwatch.schema import EVENTS, conform
from sanctionwatch.store import Project
from sanctionwatch.tracks.segment import segment

__all__ = ["RunReport", "run_local"]

# Positions per group of vessels: bounds memory (~100 B/row through the stages) while keeping
# per-call overheads small.
GROUP_TARGET_ROWS = 1_000_000

def _ensure_tables(project: Project) -> None:
    con = project.con
    con.execute(EVENTS.duckdb_ddl())
    con.execute("CREATE TABLE IF NOT EXISTS run_sources (source_id VARCHAR PRIMARY KEY, params_id VARCHAR, "
                "processed_utc TIMESTAMPTZ)")


def run_key(project: Project) -> str:
    """What the events depend on besides the data: the settings and the project's area files.

    A run whose key differs from the one that processed the sources re-computes everything.
    """
    h = hashlib.sha256(project.config.params_id.encode())
    for f in sorted((project.path / "areas").glob("*.geojson")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _vessels_to_process(project: Project, full: bool, key: str) -> tuple[pl.DataFrame, list[str]]:
    """(mmsi, n) of the vessels to (re)compute, and the sources that makes processed."""
    params_id = key
    sources = project.query(
        "SELECT s.source_id FROM sources s LEFT JOIN run_sources r USING (source_id) "
        "WHERE s.positions_kept > 0 AND (? OR r.source_id IS NULL OR r.params_id <> ?)",
        [full, params_id],
    ).get_column("source_id").to_list()
    if not sources:
        return pl.DataFrame(schema={"mmsi": pl.Int32, "n": pl.Int64}), []
    placeholders = ", ".join("?" * len(sources))
    vessels = project.query(
        "SELECT mmsi, count(*) AS n FROM {positions} WHERE mmsi IN "
        f"(SELECT DISTINCT mmsi FROM {{positions}} WHERE source_id IN ({placeholders})) "
        "GROUP BY mmsi ORDER BY mmsi",
        sources,
    )
    return vessels, sources


def _groups(vessels: pl.DataFrame) -> list[list[int]]:
    groups: list[list[int]] = [[]]
    rows = 0
    for mmsi, n in vessels.iter_rows():
        if groups[-1] and rows + n > GROUP_TARGET_ROWS:
            groups.append([])
            rows = 0
        groups[-1].append(mmsi)
        rows += n
    return [g for g in groups if g]


def _replace_events(project: Project, event_type: str, events: pl.DataFrame) -> None:
    with project.transaction() as con:
        con.execute("DELETE FROM events WHERE event_type = ?", [event_type])
        if events.height:
            con.register("_new_events", conform(events.to_arrow(), EVENTS))
            con.execute("INSERT INTO events SELECT * FROM _new_events")
            con.unregister("_new_events")


def _encounters(project: Project, detector: EncounterDetector, points: list[pl.DataFrame],
                done: set[int]) -> list[str]:
    """Encounters are a cross-vessel join (H3 cell x time bucket) over every vessel's track.

    Re-computed over the whole store when there is new data. Memory stays bounded by the
    resampled points, not the tracks: each group of vessels is reduced to its points on the
    encounter grid as it is segmented (step 1, per vessel), and only the points of all vessels meet
    in the join (steps 2-4), as the Spark engine does it. ``points`` holds those of the vessels in
    ``done``, made by the per-vessel loop from the segments it already had; the other vessels are
    read and segmented here.
    """
    vessels = project.query("SELECT mmsi, count(*) AS n FROM {positions} GROUP BY mmsi ORDER BY mmsi")
    rest = vessels.filter(~pl.col("mmsi").is_in(list(done)))
    parts = list(points)
    for group in _groups(rest):
        mmsis = ", ".join(str(int(m)) for m in group)
        positions = project.query(f"SELECT * FROM {{positions}} WHERE mmsi IN ({mmsis})")
        parts.append(detector.points(segment(positions, project.config)))
    parts = [p for p in parts if p.height]
    events = detector.from_points(pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame())
    _replace_events(project, "encounter", events)
    return events.get_column("event_type").to_list()


def _identity_changes(project: Project) -> list[str]:
    """Identity changes are per IMO and per MMSI across all identities: re-computed as a whole."""
    from sanctionwatch.events.identity import detect_identity_changes

    events = detect_identity_changes(project.query("SELECT * FROM identities"), project.config)
    _replace_events(project, "identity_change", events)
    return events.get_column("event_type").to_list()


def run_local(project: Project, *, full: bool = False, on_progress: ProgressFn | None = None) -> RunReport:
    """Compute events for the vessels with new data (or all, with ``full``)."""
    started = time.perf_counter()
    _ensure_tables(project)
    config = project.config
    previous = project.query("SELECT DISTINCT params_id FROM run_sources").get_column("params_id").to_list()
    key = run_key(project)
    # Settings or areas changed since the last run: every vessel is re-computed.
    full = full or any(p != key for p in previous)
    vessels, sources = _vessels_to_process(project, full, key)
    ctx = StageContext(config, areas=project_areas(project))
    report = RunReport(full=full, params_id=config.params_id, new_sources=len(sources))
    type_list = ", ".join(f"'{t}'" for t in PER_VESSEL_EVENT_TYPES)
    counts: Counter[str] = Counter()
    detector = EncounterDetector(config, ports=ctx.ports)
    points: list[pl.DataFrame] = []  # encounter grid points of the vessels done here (segmented once)
    groups = _groups(vessels)
    for i, group in enumerate(groups):
        mmsis = ", ".join(str(int(m)) for m in group)
        positions = project.query(f"SELECT * FROM {{positions}} WHERE mmsi IN ({mmsis})")
        segmented = segment(positions, config) if positions.height else positions
        events = run_segmented_stages(segmented, config, ctx)
        if segmented.height:
            points.append(detector.points(segmented))
        arrow = conform(events.to_arrow(), EVENTS)
        with project.transaction() as con:
            # events known from imagery (basis 'sighting'/'imagery') belong to `sanctionwatch match`
            con.execute(f"DELETE FROM events WHERE mmsi IN ({mmsis}) AND event_type IN ({type_list}) "
                        "AND coalesce(basis, '') NOT IN ('sighting', 'imagery')")
            con.register("_new_events", arrow)
            con.execute("INSERT INTO events SELECT * FROM _new_events")
            con.unregister("_new_events")
        counts.update(events.get_column("event_type").to_list())
        report.vessels_processed += len(group)
        report.positions_processed += positions.height
        if on_progress:
            on_progress(i + 1, len(groups))
    if sources:
        counts.update(_identity_changes(project))
        counts.update(_encounters(project, detector, points, {int(m) for g in groups for m in g}))
    now = dt.datetime.now(dt.UTC)
    if sources:
        with project.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO run_sources VALUES (?, ?, ?)",
                            [[s, key, now] for s in sources])
    report.events_by_type = dict(sorted(counts.items()))
    report.events_total = int(project.query("SELECT count(*) FROM events").item())
    report.seconds = time.perf_counter() - started
    return report
