"""The analysis stages, declared once for every engine.

A per-vessel stage is a pure function ``(segmented positions of a group of vessels, config,
context) -> EVENTS rows``. The local engine calls it on groups of vessels read from the store;
the Spark engine will call the very same function inside ``groupBy(...).applyInArrow``. A
stage never knows which engine runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from sanctionwatch.config import Config

if TYPE_CHECKING:
    from sanctionwatch.geo import Area

__all__ = [
    "PER_VESSEL_EVENT_TYPES",
    "PER_VESSEL_STAGES",
    "STAGE_POSITION_COLUMNS",
    "StageContext",
    "VesselStage",
    "run_segmented_stages",
    "run_vessel_stages",
]


@dataclass
class StageContext:
    """Shared, read-only inputs a stage may need (built lazily, once per run)."""

    config: Config
    extras: dict[str, Any] = field(default_factory=dict)
    # Watched areas (e.g. areas.project_areas(project)); None: the packaged defaults.
    areas: list[Area] | None = None

    @cached_property
    def ports(self) -> Any:
        from sanctionwatch.events.ports import build_port_index

        return build_port_index(self.config, areas=self.areas)


StageFn = Callable[[pl.DataFrame, Config, StageContext], pl.DataFrame]


@dataclass(frozen=True)
class VesselStage:
    name: str
    event_types: tuple[str, ...]
    fn: StageFn
    doc: str


def _gaps(seg: pl.DataFrame, cfg: Config, ctx: StageContext) -> pl.DataFrame:
    from sanctionwatch.events.gaps import detect_gaps

    return detect_gaps(seg, cfg)


def _port_visits(seg: pl.DataFrame, cfg: Config, ctx: StageContext) -> pl.DataFrame:
    from sanctionwatch.events.port_visits import detect_port_visits

    return detect_port_visits(seg, cfg, ctx.ports)


def _spoofing(seg: pl.DataFrame, cfg: Config, ctx: StageContext) -> pl.DataFrame:
    from sanctionwatch.tracks.spoofing import spoofing_events

    return spoofing_events(seg, cfg, ctx.ports)


def _loitering(seg: pl.DataFrame, cfg: Config, ctx: StageContext) -> pl.DataFrame:
    from sanctionwatch.events.loitering import detect_loitering

    return detect_loitering(seg, cfg)


PER_VESSEL_STAGES: tuple[VesselStage, ...] = (
    VesselStage("gaps", ("ais_gap",), _gaps, "AIS gaps (going dark), GFW definitions"),
    VesselStage("port_visits", ("port_visit",), _port_visits, "port visits with entry/exit hysteresis"),
    VesselStage("spoofing", ("spoofing",), _spoofing, "impossible jumps, positions on land, shared MMSIs"),
    VesselStage("loitering", ("loitering",), _loitering, "slow for hours away from shore (GFW)"),
)


def run_vessel_stages(
    positions: pl.DataFrame, config: Config, ctx: StageContext,
    stages: tuple[VesselStage, ...] = PER_VESSEL_STAGES,
) -> pl.DataFrame:
    """Segment the positions of a group of vessels and run every per-vessel stage on them."""
    from sanctionwatch.events.base import empty_events
    from sanctionwatch.tracks.segment import segment

    if positions.height == 0:
        return empty_events()
    return run_segmented_stages(segment(positions, config), config, ctx, stages)


def run_segmented_stages(
    segmented: pl.DataFrame, config: Config, ctx: StageContext,
    stages: tuple[VesselStage, ...] = PER_VESSEL_STAGES,
) -> pl.DataFrame:
    """Every per-vessel stage on already segmented positions (an engine that also needs the
    segments for another step segments once and calls this)."""
    from sanctionwatch.events.base import empty_events

    if segmented.height == 0:
        return empty_events()
    frames = [stage.fn(segmented, config, ctx) for stage in stages]
    frames.append(_voyages(frames, config, ctx))
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else empty_events()


def _voyages(frames: list[pl.DataFrame], config: Config, ctx: StageContext) -> pl.DataFrame:
    """Voyages derive from a vessel's own port visits and gaps: observed between consecutive
    visits, and inferred (dark) where a gap allows a round trip to a watched port."""
    from sanctionwatch.events.base import empty_events
    from sanctionwatch.events.voyages import detect_voyages, infer_dark_voyages
    from sanctionwatch.geo import default_areas

    events = pl.concat([f for f in frames if f.height], how="vertical_relaxed") if any(
        f.height for f in frames) else empty_events()
    visits = events.filter(pl.col("event_type") == "port_visit")
    gaps = events.filter(pl.col("event_type") == "ais_gap")
    areas = ctx.areas if ctx.areas is not None else default_areas()
    parts = [detect_voyages(visits, config, gaps=gaps, areas=areas), infer_dark_voyages(gaps, areas, config)]
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="vertical_relaxed") if parts else empty_events()


#: the POSITIONS columns the per-vessel stages and the encounter search read (the others may be
#: null); an engine that ships positions to workers ships these. The engines' equivalence tests
#: (tests/integration/test_spark_engine.py) fail if a stage starts reading another one.
STAGE_POSITION_COLUMNS: tuple[str, ...] = (
    "mmsi", "ts_utc", "lat_deg", "lon_deg", "sog_knots", "cog_deg", "source_id", "record_no")

#: event types the per-vessel step writes (and so replaces when a vessel is re-computed)
PER_VESSEL_EVENT_TYPES: tuple[str, ...] = (*sorted({t for s in PER_VESSEL_STAGES for t in s.event_types}), "voyage")
