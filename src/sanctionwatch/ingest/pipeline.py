"""Ingest one file into a project: read -> validate -> stage -> de-duplicate -> commit.

Library code: no printing. Callers (the CLI, the demo) pass ``on_progress`` to draw progress
bars and render the returned :class:`IngestReport`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from sanctionwatch.ingest.base import InputError, Reader
from sanctionwatch.ingest.registry import choose_reader
from sanctionwatch.ingest.validate import (
    collapse_identities,
    merge_collapsed_identities,
    validate_identities,
    validate_positions,
)
from sanctionwatch.schema import IDENTITIES, POSITIONS, QUARANTINE, conform
from sanctionwatch.store import Project, StagedSource, crash_point

__all__ = ["IngestReport", "ingest_file", "sha256_file"]

ProgressFn = Callable[[int, int], None]
_HASH_BLOCK_BYTES = 1 << 20
_MERGE_IDENTITIES_EVERY = 8  # chunks


@dataclass
class IngestReport:
    path: str
    source_id: str
    format: str
    status: str  # "ingested" | "already_ingested"
    records_read: int = 0
    positions_kept: int = 0
    identities_kept: int = 0
    quarantined: int = 0
    duplicates: int = 0
    skipped: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_kind: dict[str, int] = field(default_factory=dict)
    ts_min_utc: dt.datetime | None = None
    ts_max_utc: dt.datetime | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0


def sha256_file(path: Path, on_progress: ProgressFn | None = None) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(_HASH_BLOCK_BYTES):
            h.update(block)
            done += len(block)
            if on_progress:
                on_progress(done, size)
    return h.hexdigest()


def ingest_file(
    project: Project,
    path: Path | str,
    *,
    format: str | None = None,
    mapping: Path | str | None = None,
    default_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    """Ingest ``path`` into ``project`` atomically; re-ingesting the same bytes adds nothing.

    Raises :class:`InputError` (naming the file, and the line where known) when the file cannot
    be read at all; the store is then unchanged.
    """
    started = time.perf_counter()
    path = Path(path).resolve()
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a regular file")
    if default_time is not None and default_time.tzinfo is None:
        raise InputError(path, "--default-time must include a zone, e.g. 2024-01-05T00:00:00Z")
    now = now or dt.datetime.now(dt.UTC)
    sha = sha256_file(path)
    source_id = sha[:16]
    reader, options = choose_reader(path, format=format, mapping=mapping)
    if default_time is not None:
        options["default_time"] = default_time.astimezone(dt.UTC)

    previous = project.source_by_hash(sha)
    if previous is not None:
        return IngestReport(
            path=str(path), source_id=source_id, format=previous["format"], status="already_ingested",
            duplicates=int(previous["positions_kept"]), seconds=time.perf_counter() - started,
            note=f"same content already ingested from {previous['path']} on {previous['ingested_utc']:%Y-%m-%d}",
        )

    staging = project.staging_dir(source_id)
    try:
        report = _read_and_stage(project, path, reader, options, source_id, sha, staging, now, on_progress)
        report.seconds = time.perf_counter() - started
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_and_stage(
    project: Project,
    path: Path,
    reader: Reader,
    options: dict[str, Any],
    source_id: str,
    sha: str,
    staging: Path,
    now: dt.datetime,
    on_progress: ProgressFn | None,
) -> IngestReport:
    cfg = project.config
    check_mmsi: bool = getattr(reader, "check_mmsi", lambda _o: True)(options)
    raw_max = int(cfg["ingest.quarantine_raw_max_chars"])
    size = path.stat().st_size
    pos_path, q_path = staging / "positions.parquet", staging / "quarantine.parquet"
    pos_writer = pq.ParquetWriter(pos_path, POSITIONS.arrow(), compression="zstd")
    q_writer = pq.ParquetWriter(q_path, QUARANTINE.arrow(), compression="zstd")
    reasons: Counter[str] = Counter()
    skipped_by_kind: Counter[str] = Counter()
    collapsed: list[pl.DataFrame] = []
    records = skipped = staged_positions = 0
    try:
        for chunk in reader.read(path, cfg, options):
            records += chunk.records_read
            skipped += chunk.skipped
            skipped_by_kind.update(chunk.skipped_by_kind)
            good_pos, q_pos = validate_positions(chunk.positions, cfg, now, check_mmsi=check_mmsi)
            good_ids, q_ids = validate_identities(chunk.identities, cfg, now, check_mmsi=check_mmsi)
            # One record can fail as a position and as an identity (a CSV row is both): count it once.
            quarantine = (
                pl.concat([chunk.quarantine.select(q_pos.columns), q_pos, q_ids], how="vertical_relaxed")
                .unique(subset=["record_no", "reason"], keep="first", maintain_order=True)
                .with_columns(
                    pl.lit(source_id).alias("source_id"),
                    pl.col("raw").str.slice(0, raw_max),
                )
            )
            if quarantine.height:
                reasons.update(quarantine.get_column("reason").to_list())
                q_writer.write_table(conform(quarantine.to_arrow(), QUARANTINE))
            if good_pos.height:
                tbl = conform(good_pos.with_columns(pl.lit(source_id).alias("source_id")).to_arrow(), POSITIONS)
                pos_writer.write_table(tbl)
                staged_positions += tbl.num_rows
            if good_ids.height:
                collapsed.append(collapse_identities(good_ids))
                if len(collapsed) >= _MERGE_IDENTITIES_EVERY:
                    # Fold the per-chunk results as we go: memory then follows the number of
                    # distinct identities, not the number of chunks.
                    collapsed = [merge_collapsed_identities(collapsed)]
            if on_progress:
                on_progress(min(chunk.bytes_read, size), size)
            crash_point("during_read")
    finally:
        pos_writer.close()
        q_writer.close()

    identities = merge_collapsed_identities(collapsed).with_columns(pl.lit(source_id).alias("source_id"))
    ids_arrow = conform(identities.to_arrow(), IDENTITIES) if identities.height else IDENTITIES.arrow().empty_table()
    n_quarantined = sum(reasons.values())
    params = {
        "reader": reader.name,
        "options": {k: (v.isoformat() if isinstance(v, dt.datetime) else str(v)) for k, v in options.items()},
        "settings": json.loads(cfg.to_json()),
        "params_id": cfg.params_id,
    }
    source_row: dict[str, Any] = {
        "source_id": source_id,
        "sha256": sha,
        "path": str(path),
        "size_bytes": size,
        "format": reader.name,
        "records_read": records,
        "quarantined": n_quarantined,
        "skipped": skipped,
        "params_json": json.dumps(params, sort_keys=True),
        "_positions_staged": staged_positions,
    }
    staged = StagedSource(
        source_row=source_row,
        staged_positions=pos_path if staged_positions else None,
        identities=ids_arrow,
        staged_quarantine=q_path if n_quarantined else None,
    )
    row = project.commit_source(staged)
    return IngestReport(
        path=str(path), source_id=source_id, format=reader.name, status="ingested",
        records_read=records, positions_kept=row["positions_kept"], identities_kept=row["identities_kept"],
        quarantined=n_quarantined, duplicates=row["duplicates"], skipped=skipped,
        quarantine_by_reason=dict(reasons.most_common()), skipped_by_kind=dict(skipped_by_kind.most_common()),
        ts_min_utc=row["ts_min_utc"], ts_max_utc=row["ts_max_utc"],
    )


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files given directly, plus the files inside given folders (recursively, sorted).

    Hidden files inside folders are not treated as inputs.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append(p)
    return out

