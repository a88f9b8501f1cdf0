"""What every event detector shares: the detector protocol, deterministic event ids and EVENTS rows.

A detector is a small strategy with one verb, ``detect(segmented) -> EVENTS rows``. Its input is a
table of positions of any number of vessels (the output of :func:`sanctionwatch.tracks.segment.segment`);
it must see all positions of a vessel (MMSI), so an engine that partitions the work (Spark
``groupBy("mmsi").applyInArrow``) partitions by MMSI. Outputs conform to :data:`schema.EVENTS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import polars as pl

from sanctionwatch.schema import EVENTS

__all__ = [
    "EVENT_ID_HEX_CHARS",
    "Detector",
    "Evidence",
    "attrs_json",
    "empty_events",
    "event_id",
    "events_frame",
    "from_epoch_us",
    "iso_utc",
]

# 24 hex digits = 96 bits: collisions are negligible (birthday bound ~2^48 events) and ids stay short.
EVENT_ID_HEX_CHARS = 24

Evidence = tuple[str, int]  # (source_id, record_no): one raw input record


class Detector(Protocol):
    """One event detector: positions of one or many vessels in, EVENTS rows out."""

    event_type: ClassVar[str]

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame: ...


def iso_utc(ts: dt.datetime) -> str:
    """``2024-01-02T03:04:05.000006Z`` (microseconds always shown, so ids do not depend on them)."""
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_epoch_us(us: int) -> dt.datetime:
    """A UTC datetime from microseconds since the epoch (exact; no float rounding)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))


def event_id(
    event_type: str,
    mmsi: int,
    start_utc: dt.datetime,
    area_id: str | None,
    params_id: str,
    discriminator: str = "",
) -> str:
    """Deterministic id: truncated SHA-256 of type, MMSI, start, area and params_id.

    ``discriminator`` separates events of one type that can share MMSI, start and area (two
    spoofing indicators at one instant); it is empty for the other types. The same inputs and
    parameters always give the same id, so re-running a batch replaces rows instead of adding them,
    and an open event (a gap or visit still in progress) keeps its id when a later batch closes it.
    """
    key = "|".join([event_type, str(int(mmsi)), iso_utc(start_utc), area_id or "", params_id, discriminator])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:EVENT_ID_HEX_CHARS]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):  # NumPy scalar
        return _json_safe(value.item())
    return value


def attrs_json(attrs: Mapping[str, Any]) -> str:
    """Type-specific attributes as compact, key-sorted JSON (NaN/inf become null)."""
    return json.dumps(_json_safe(attrs), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _evidence_list(evidence: Iterable[Evidence | None]) -> list[dict[str, Any]]:
    seen: set[Evidence] = set()
    out: list[dict[str, Any]] = []
    for ref in evidence:
        if ref is None or ref in seen:
            continue
        seen.add(ref)
        out.append({"source_id": ref[0], "record_no": int(ref[1])})
    return out


def events_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """EVENTS rows (dicts) as a DataFrame with exactly the EVENTS schema, sorted by event_id.

    ``evidence`` may be given as an iterable of (source_id, record_no) tuples (None entries and
    repeats are dropped); ``attrs`` (a mapping) is serialised into ``attrs_json``.
    """
    schema = EVENTS.polars()
    prepared = []
    for row in rows:
        r = {k: v for k, v in row.items() if k not in ("attrs", "evidence")}
        if "attrs" in row:
            r["attrs_json"] = attrs_json(row["attrs"])
        r["evidence"] = _evidence_list(row.get("evidence") or ())
        prepared.append(r)
    if not prepared:
        return empty_events()
    return pl.DataFrame(prepared, schema=schema).sort("event_id")  # type: ignore[arg-type]


def empty_events() -> pl.DataFrame:
    """A zero-row frame with the EVENTS schema."""
    return pl.DataFrame(schema=EVENTS.polars())  # type: ignore[arg-type]


def segmented_input(segmented: pl.DataFrame, *, require_segments: bool = False) -> pl.DataFrame:
    """The rows a detector works on: positions that belong to a segment, with provenance columns.

    Without a ``segment_id`` column (plain positions) each MMSI is one segment, unless
    ``require_segments``. Missing ``source_id``/``record_no`` (hand-built inputs) get placeholders
    so evidence lists keep their shape.
    """
    if "segment_id" in segmented.columns or require_segments:
        df = segmented.filter(pl.col("segment_id").is_not_null())
    else:
        df = segmented.with_columns(pl.col("mmsi").cast(pl.String).alias("segment_id"))
    return with_provenance(df)


def with_provenance(df: pl.DataFrame) -> pl.DataFrame:
    """Add placeholder ``source_id``/``record_no`` to hand-built inputs so evidence keeps its shape."""
    add = []
    if "source_id" not in df.columns:
        add.append(pl.lit("unknown").alias("source_id"))
    if "record_no" not in df.columns:
        add.append(pl.lit(0, dtype=pl.Int64).alias("record_no"))
    return df.with_columns(add) if add else df
