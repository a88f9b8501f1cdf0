"""What the Spark engine runs on its executors: plain functions over Arrow record batches.

Nothing here imports PySpark. Each task receives the record batches of one Spark partition (the
``mapInArrow`` / ``applyInArrow`` contract) and calls the very functions the local engine calls:
:func:`~sanctionwatch.engines.stages.run_segmented_stages` per group of vessels, the encounter
steps of :class:`~sanctionwatch.events.encounters.EncounterDetector` per vessel and per pair of
vessels, and :func:`~sanctionwatch.events.identity.detect_identity_changes`. The driver ships a
:class:`TaskPayload` (settings as plain values, the watched areas); the stage context built from it
(port index included) is cached per Python worker, so it is built once per executor process, not
once per partition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from sanctionwatch.config import Config
from sanctionwatch.engines.stages import StageContext
from sanctionwatch.schema import EVENTS, IDENTITIES, POSITIONS, Field, Table, conform

if TYPE_CHECKING:
    from sanctionwatch.geo import Area

__all__ = [
    "CANDIDATES",
    "STAGED",
    "TaskPayload",
    "candidate_task",
    "expected_task",
    "identity_task",
    "key_chunks",
    "lengths_task",
    "match_task",
    "pair_task",
    "scene_key_task",
    "vessel_task",
]

# Rows of one group of vessels (or pairs) handed to the stage functions at once: the local engine's
# GROUP_TARGET_ROWS, for the same memory bound (~100 B/row through the stages) per Python worker.
DEFAULT_CHUNK_ROWS = 1_000_000

# What the per-vessel task writes: its events (kind 'e') and, for the encounter join, its resampled
# points (kind 'p': mmsi, segment_id, lat_deg, lon_deg reuse the EVENTS columns) with their H3 cell
# and that cell's ring-1 disk. One output per pass, so each vessel is segmented once.
_POINT_FIELDS = (
    Field("t_us", pa.int64(), "Resampled point: grid instant, microseconds since the epoch."),
    Field("src", pa.string(), "Resampled point: source_id of the nearest raw record."),
    Field("rec", pa.int64(), "Resampled point: record_no of the nearest raw record."),
    Field("speed_knots", pa.float64(), "Resampled point: implied speed from the previous grid point."),
    Field("cell", pa.int64(), "Resampled point: H3 cell (as a signed 64-bit integer)."),
    Field("ring", pa.list_(pa.int64()), "Resampled point: the cell's ring-1 disk (neighbour expansion)."),
)
STAGED = Table(
    "spark_staged",
    "Output of the Spark engine's per-vessel pass (internal).",
    (Field("kind", pa.string(), "'e': an EVENTS row; 'p': a resampled point for the encounter join."),
     *(Field(f.name, f.type, f.doc, True, f.unit) for f in EVENTS), *_POINT_FIELDS),
)
_POINT_COLUMNS = ("mmsi", "segment_id", "lat_deg", "lon_deg", "src", "rec", "speed_knots")
# Rows of the encounter join: a point and a neighbour's point (suffix _b) at the same instant.
CANDIDATES = Table(
    "spark_candidates",
    "Encounter candidates after the distance filter (internal).",
    (
        Field("t_us", pa.int64(), "Grid instant."),
        *(Field(c, STAGED[c].type, STAGED[c].doc) for c in _POINT_COLUMNS),
        *(Field(f"{c}_b", STAGED[c].type, STAGED[c].doc) for c in _POINT_COLUMNS),
        Field("distance_m", pa.float64(), "Distance between the two points.", unit="metre"),
    ),
)


def plain_arrow(t: pa.DataType) -> pa.DataType:
    """``t`` with large strings and lists made plain (what Spark's Arrow exchange expects)."""
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(plain_arrow(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, plain_arrow(f.type)) for f in t])
    return t


def _plain_schema(schema: pl.Schema) -> pa.Schema:
    return pa.schema([(f.name, plain_arrow(f.type)) for f in pl.DataFrame(schema=schema).to_arrow().schema])


def expected_schema() -> pa.Schema:
    """:data:`~sanctionwatch.imagery.expected.EXPECTED_SCHEMA` as Arrow (plain types)."""
    from sanctionwatch.imagery.expected import EXPECTED_SCHEMA

    return _plain_schema(EXPECTED_SCHEMA)


LENGTHS_SCHEMA = pa.schema([("mmsi", pa.int32()), ("length_m", pa.float64())])


@dataclass(frozen=True)
class TaskPayload:
    """What every task needs from the driver (picklable: plain settings values, shapely areas)."""

    settings: dict[str, Any]
    areas: list[Area] | None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    encounters: bool = True
    token: str = field(default="")  # identifies the run, for the per-worker context cache
    # detection matching: the scenes to look at (scene_times) and the SCENES rows (footprints)
    scene_times: pl.DataFrame | None = None
    scenes: pl.DataFrame | None = None

    @property
    def config(self) -> Config:
        return Config(MappingProxyType(dict(self.settings)))


_CONTEXTS: dict[str, StageContext] = {}


def stage_context(payload: TaskPayload) -> StageContext:
    """The run's StageContext, built once per Python worker process (its port index lazily)."""
    key = payload.token or json.dumps(payload.settings, sort_keys=True, default=str)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        _CONTEXTS.clear()  # one run at a time per worker
        ctx = _CONTEXTS[key] = StageContext(payload.config, areas=payload.areas)
    return ctx


def _frame(data: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    return cast(pl.DataFrame, pl.from_arrow(data))


def key_chunks(batches: Iterable[pa.RecordBatch], keys: Sequence[str], target_rows: int) -> Iterator[pa.Table]:
    """Tables of whole key groups, about ``target_rows`` each, from batches sorted by ``keys``.

    A group is never split between two tables (a vessel's positions, a pair's contacts): a table is
    cut just before the last group seen so far, whose rows wait for the next batch. One group bigger
    than ``target_rows`` makes one bigger table.
    """
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows < target_rows:
            continue
        table = pa.Table.from_batches(pending)
        last = table.slice(table.num_rows - 1)
        other = None
        for k in keys:
            ne = pc.not_equal(table.column(k), last.column(k)[0])
            other = ne if other is None else pc.or_(other, ne)
        assert other is not None
        cut = int(pc.sum(pc.fill_null(other, True)).as_py() or 0)  # sorted: every other group comes first
        if cut == 0:
            continue
        yield table.slice(0, cut)
        rest = table.slice(cut)
        pending, rows = rest.to_batches(), rest.num_rows
    if pending:
        yield pa.Table.from_batches(pending)


def _staged_batch(data: pa.Table) -> pa.RecordBatch:
    """``data`` (some STAGED columns, at least one row) as one record batch with every STAGED column."""
    schema = STAGED.arrow()
    cols = [data.column(f.name).cast(f.type) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema).combine_chunks().to_batches()[0]


def _events_batches(events: pl.DataFrame) -> Iterator[pa.RecordBatch]:
    if events.height:
        yield from conform(events.to_arrow(), EVENTS).to_batches()


def vessel_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Per-vessel pass over a partition sorted by MMSI: segmentation once per group of vessels, every
    per-vessel stage (:func:`run_segmented_stages`), and the resampled points of the encounter join."""
    from sanctionwatch.engines.stages import run_segmented_stages
    from sanctionwatch.events.encounters import EncounterDetector, h3_cells, ring_table
    from sanctionwatch.tracks.segment import segment

    ctx = stage_context(payload)
    config = ctx.config
    detector = EncounterDetector(config)
    for chunk in key_chunks(batches, ["mmsi"], payload.chunk_rows):
        positions = _frame(conform(chunk.select([c for c in POSITIONS.names if c in chunk.column_names]), POSITIONS))
        segmented = segment(positions, config)
        events = run_segmented_stages(segmented, config, ctx)
        if events.height:
            yield _staged_batch(conform(events.to_arrow(), EVENTS).append_column("kind", pa.array(["e"] * events.height)))
        if not payload.encounters:
            continue
        points = detector.points(segmented)
        if points.height == 0:
            continue
        cells = h3_cells(points.get_column("lat_deg").to_numpy(), points.get_column("lon_deg").to_numpy(),
                         detector.h3_resolution)
        ring = ring_table(cells).group_by("cell").agg(pl.col("nb_cell").cast(pl.Int64).alias("ring"))
        out = (
            points.with_columns(pl.Series("cell", cells, dtype=pl.UInt64))
            .join(ring, on="cell", how="left")
            .select("t_us", *_POINT_COLUMNS, pl.col("cell").cast(pl.Int64), "ring", pl.lit("p").alias("kind"))
        )
        for part in out.iter_slices(100_000):
            yield _staged_batch(part.to_arrow())


def candidate_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Row by row over the (time bucket, cell) join: keep the pairs within the contact distance."""
    from sanctionwatch.events.encounters import EncounterDetector, candidate_contacts

    max_dist_m = EncounterDetector(stage_context(payload).config).max_distance_m
    schema = CANDIDATES.arrow()
    for batch in batches:
        if batch.num_rows == 0:
            continue
        kept = candidate_contacts(_frame(batch), max_dist_m)
        if kept.height:
            yield conform(kept.to_arrow(), CANDIDATES).cast(schema).combine_chunks().to_batches()[0]


def pair_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Per pair of vessels (a partition sorted by pair): contacts, runs, thresholds, merge, EVENTS rows."""
    from sanctionwatch.events.encounters import EncounterDetector, contacts_from_candidates

    ctx = stage_context(payload)
    detector = EncounterDetector(ctx.config, ports=ctx.ports)
    for chunk in key_chunks(batches, ["mmsi", "mmsi_b"], payload.chunk_rows):
        yield from _events_batches(detector.from_contacts(contacts_from_candidates(_frame(chunk))))


def identity_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Identity changes over every identity row of the run (one task: the table is small, and changes
    are found per IMO and per MMSI at once, so no single key partitions it)."""
    from sanctionwatch.events.identity import detect_identity_changes

    tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
    if not tables:
        return
    identities = _frame(conform(pa.concat_tables(tables), IDENTITIES))
    yield from _events_batches(detect_identity_changes(identities, stage_context(payload).config))


# --- detection matching ------------------------------------------------------------------------------


def _match_params(payload: TaskPayload) -> Any:
    from sanctionwatch.imagery.match_params import MatchingParams

    return MatchingParams.from_config(stage_context(payload).config)


def expected_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Per vessel (a partition sorted by MMSI, positions near scene times): expected positions at every
    scene of the run (:func:`~sanctionwatch.imagery.expected.expected_positions`)."""
    from sanctionwatch.imagery.expected import expected_positions

    assert payload.scene_times is not None
    params, schema = _match_params(payload), expected_schema()
    for chunk in key_chunks(batches, ["mmsi"], payload.chunk_rows):
        positions = _frame(conform(chunk.select([c for c in POSITIONS.names if c in chunk.column_names]), POSITIONS))
        exp = expected_positions(positions, payload.scene_times, params, config=stage_context(payload).config)
        if exp.height:
            yield from exp.to_arrow().cast(schema).to_batches()


def lengths_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Per vessel (identities sorted by MMSI): its AIS length (:func:`~sanctionwatch.imagery.matching.vessel_lengths`)."""
    from sanctionwatch.imagery.matching import vessel_lengths

    for chunk in key_chunks(batches, ["mmsi"], payload.chunk_rows):
        lengths = vessel_lengths(_frame(conform(chunk, IDENTITIES)))
        if lengths.height:
            yield from lengths.to_arrow().cast(LENGTHS_SCHEMA).to_batches()


def scene_key_task(batches: Iterable[pa.RecordBatch], payload: TaskPayload) -> Iterator[pa.RecordBatch]:
    """Row by row: each detection with the key of its scene (``scene_key``, :func:`scene_key_expr`)."""
    from sanctionwatch.imagery.expected import scene_key_expr

    for batch in batches:
        if batch.num_rows:
            keyed = _frame(batch).with_columns(scene_key_expr().alias("scene_key"))
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, pa.array(keyed.get_column("scene_key").to_list(), pa.string())],
                names=[*batch.schema.names, "scene_key"])


def match_task(expected: pa.Table, detections: pa.Table, payload: TaskPayload) -> pa.Table:
    """One scene: its detections against the vessels expected there
    (:func:`~sanctionwatch.imagery.matching.match_detections`); DETECTION_MATCHES rows."""
    from sanctionwatch.imagery.matching import match_detections
    from sanctionwatch.schema import DETECTION_MATCHES, DETECTIONS

    out = DETECTION_MATCHES.arrow()
    if detections.num_rows == 0:
        return out.empty_table()
    det = _frame(conform(detections, DETECTIONS)).sort("detection_id")
    exp = _frame(expected) if expected.num_rows else _frame(expected_schema().empty_table().append_column(
        "length_m", pa.array([], pa.float64())))
    exp = exp.sort("mmsi", "segment_id")
    lengths = exp.select("mmsi", "length_m").filter(pl.col("length_m").is_not_null()).unique("mmsi")
    scenes = payload.scenes
    if scenes is not None:  # this scene's footprint (a scene's density and "inside" need only its own)
        ids = det.get_column("scene_id").drop_nulls().unique()
        scenes = scenes.filter(pl.col("scene_id").is_in(ids.implode()))
    config = stage_context(payload).config
    matches, _missed = match_detections(det, exp.drop("length_m"), lengths, _match_params(payload),
                                        scenes=scenes if scenes is not None and scenes.height else None,
                                        params_id=config.params_id)
    return conform(matches.to_arrow(), DETECTION_MATCHES).cast(out)
