"""The project store: one folder holding a DuckDB catalog and Parquet bulk tables.

Layout of a project folder::

    sanctionwatch.toml        settings overrides for this project (see config.py)
    sanctionwatch.duckdb      catalog: sources, identities, quarantine, manifest, meta
    parquet/positions/*.parquet  one file per ingested source, sorted by (mmsi, ts_utc)
    .staging/                 work in progress of an ingest; ignored and cleaned up

Atomicity. The ``manifest`` table in DuckDB is the single source of truth for which Parquet
files belong to the store. An ingest writes its Parquet file under ``.staging``, renames it
into ``parquet/`` and only then commits one DuckDB transaction that adds the ``sources`` row,
identities, quarantine rows and the manifest entry together. A process killed at any point
before that commit leaves no visible change: files not in the manifest are never read and are
deleted the next time the project is opened for writing. Re-ingesting a file whose SHA-256 is
already in ``sources`` is refused as a duplicate; positions already stored under the same key
(mmsi, ts_utc, lat_deg, lon_deg) from another file are counted as duplicates and not added.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from sanctionwatch import __version__
from sanctionwatch.config import Config, load_config
from sanctionwatch.schema import IDENTITIES, POSITIONS, QUARANTINE, SOURCES, Table, duckdb_type

__all__ = ["CONFIG_NAME", "DB_NAME", "Project", "ProjectError", "StagedSource", "atomic_output"]

DB_NAME = "sanctionwatch.duckdb"
CONFIG_NAME = "sanctionwatch.toml"
STORE_FORMAT_VERSION = 1
CATALOG_TABLES: tuple[Table, ...] = (SOURCES, IDENTITIES, QUARANTINE)

_CONFIG_TEMPLATE = """\
# sanctionwatch project settings. Uncomment and edit to override a packaged default;
# `sanctionwatch settings` lists every setting with its default, unit and source.
[settings]
# "ingest.chunk_rows" = 250000
# "ingest.future_tolerance_hours" = 24.0
"""


class ProjectError(Exception):
    """The folder is not a project, is locked by another process, or is from a newer version."""


def crash_point(name: str) -> None:
    """Fault-injection hook for the atomicity tests: exit abruptly at a named point.

    Set ``SANCTIONWATCH_CRASH_AT=<name>`` to make the process die there as if killed, so tests
    can prove that every interruption point leaves the store unchanged. A no-op otherwise.
    """
    if os.environ.get("SANCTIONWATCH_CRASH_AT") == name:
        os._exit(137)


@dataclass
class StagedSource:
    """Everything one ingest produced, staged and ready to commit."""

    source_row: dict[str, Any]
    staged_positions: Path | None  # Parquet in .staging, not yet de-duplicated
    identities: pa.Table  # collapsed, conforming to IDENTITIES
    staged_quarantine: Path | None  # Parquet in .staging conforming to QUARANTINE


class Project:
    """A sanctionwatch project folder."""

    def __init__(self, path: Path, config: Config, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.config = config
        self.con = con
        self.read_only = read_only

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str) -> Project:
        """Create a project in ``path`` (created if missing; must not already be a project)."""
        path = Path(path).resolve()
        if (path / DB_NAME).exists():
            raise ProjectError(f"{path} is already a sanctionwatch project")
        if path.exists() and not path.is_dir():
            raise ProjectError(f"{path} exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        # Build the database under a temporary name, then rename: a half-created project never
        # looks like a project.
        tmp_db = path / (DB_NAME + ".init")
        tmp_db.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp_db))
        try:
            for table in CATALOG_TABLES:
                con.execute(table.duckdb_ddl())
            con.execute(
                "CREATE TABLE manifest (table_name VARCHAR NOT NULL, file VARCHAR NOT NULL PRIMARY KEY, "
                "source_id VARCHAR, n_rows BIGINT NOT NULL, ts_min_utc TIMESTAMPTZ, ts_max_utc TIMESTAMPTZ, "
                "added_utc TIMESTAMPTZ NOT NULL)"
            )
            con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ["store_format_version", str(STORE_FORMAT_VERSION)],
                    ["created_by", f"sanctionwatch {__version__}"],
                    ["created_utc", dt.datetime.now(dt.UTC).isoformat()],
                ],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if not (path / CONFIG_NAME).exists():
            (path / CONFIG_NAME).write_text(_CONFIG_TEMPLATE, encoding="utf-8")
        (path / "parquet" / "positions").mkdir(parents=True, exist_ok=True)
        os.replace(tmp_db, path / DB_NAME)
        return cls.open(path)

    @classmethod
    def open(
        cls, path: Path | str, *, read_only: bool = False, overrides: dict[str, Any] | None = None
    ) -> Project:
        path = Path(path).resolve()
        db = path / DB_NAME
        if not db.exists():
            raise ProjectError(
                f"{path} is not a sanctionwatch project (no {DB_NAME}); create one with `sanctionwatch init {path}`"
            )
        config = load_config(path / CONFIG_NAME, overrides)
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as err:
            raise ProjectError(f"{path}: the project is in use by another sanctionwatch process ({err})") from err
        con.execute(f"SET memory_limit = '{config['store.duckdb_memory_limit']}'")
        con.execute(f"SET threads = {int(config['store.duckdb_threads'])}")
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            tmp = path / ".staging" / "duckdb_tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = '{tmp.as_posix()}'")
        # fetchall, not fetchone: DuckDB 2 refuses the next query while a result is half-read
        found = con.execute("SELECT value FROM meta WHERE key = 'store_format_version'").fetchall()
        version = found[0] if found else None
        if version is None or int(version[0]) > STORE_FORMAT_VERSION:
            con.close()
            raise ProjectError(f"{path}: store format {version} is newer than this sanctionwatch understands")
        project = cls(path, config, con, read_only)
        if not read_only:
            project._collect_garbage()
        return project

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------

    def files(self, table_name: str = "positions") -> list[Path]:
        rows = self.con.execute(
            "SELECT file FROM manifest WHERE table_name = ? ORDER BY file", [table_name]
        ).fetchall()
        return [self.path / r[0] for r in rows]

    def scan_positions(self) -> pl.LazyFrame:
        """All stored positions as a Polars LazyFrame (empty frame when none)."""
        files = self.files("positions")
        if not files:
            return pl.LazyFrame(schema=POSITIONS.polars())  # type: ignore[arg-type]
        return pl.scan_parquet([str(f) for f in files])

    def positions_sql(self) -> str:
        """A DuckDB table expression over the stored positions (for use inside SQL)."""
        files = self.files("positions")
        if not files:
            cols = ", ".join(
                f'CAST(NULL AS {_ddl_type(POSITIONS, c)}) AS "{c}"' for c in POSITIONS.names
            )
            return f"(SELECT {cols} WHERE false)"
        listing = ", ".join(f"'{f.as_posix()}'" for f in files)
        return f"read_parquet([{listing}])"

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run SQL in which ``{positions}`` stands for the positions table."""
        return self.con.sql(sql.replace("{positions}", self.positions_sql()), params=list(params or [])).pl()

    def has_table(self, name: str) -> bool:
        """Whether the catalog has table ``name`` (event, list and match tables appear on first use)."""
        rows = self.con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            params=[name]).fetchall()
        return bool(rows[0][0])

    def source_by_hash(self, sha256: str) -> dict[str, Any] | None:
        rel = self.con.execute("SELECT * FROM sources WHERE sha256 = ?", [sha256])
        row = rel.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in rel.description], row, strict=True))

    def table_counts(self) -> dict[str, int]:
        # fetchall, never fetchone: DuckDB 2 refuses the next query while a result is half read
        counts = {t.name: int(self.con.execute(f'SELECT count(*) FROM "{t.name}"').fetchall()[0][0])
                  for t in CATALOG_TABLES}
        counts["positions"] = int(
            self.con.execute("SELECT coalesce(sum(n_rows), 0) FROM manifest WHERE table_name='positions'")
            .fetchall()[0][0]
        )
        return counts

    # --- writing ---------------------------------------------------------------------------

    def staging_dir(self, label: str) -> Path:
        d = self.path / ".staging" / f"{label}-{os.getpid()}-{os.urandom(4).hex()}"
        d.mkdir(parents=True, exist_ok=False)
        return d

    def commit_source(self, staged: StagedSource) -> dict[str, Any]:
        """De-duplicate the staged positions against the store and commit everything at once.

        Returns the ``sources`` row as committed (with kept/duplicate counts filled in).
        """
        if self.read_only:
            raise ProjectError("project opened read-only")
        row = dict(staged.source_row)
        source_id = row["source_id"]
        rel_file = f"parquet/positions/src-{source_id}.parquet"
        final = self.path / rel_file
        kept = 0
        ts_min = ts_max = None
        if staged.staged_positions is not None:
            deduped = staged.staged_positions.with_name("positions-dedup.parquet")
            kept, ts_min, ts_max = self._dedupe_positions(staged.staged_positions, deduped)
            crash_point("after_dedupe")
            if kept:
                os.replace(deduped, final)
                crash_point("after_rename")
        staged_total = row.pop("_positions_staged", kept)
        row.update(
            positions_kept=kept,
            duplicates=int(staged_total) - kept,
            ts_min_utc=ts_min,
            ts_max_utc=ts_max,
            identities_kept=staged.identities.num_rows,
            ingested_utc=dt.datetime.now(dt.UTC),
            tool_version=__version__,
        )
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            src_tbl = pa.Table.from_pylist([{k: row.get(k) for k in SOURCES.names}], schema=SOURCES.arrow())
            con.register("_src", src_tbl)
            con.execute("INSERT INTO sources SELECT * FROM _src")
            con.unregister("_src")
            if staged.identities.num_rows:
                con.register("_ids", staged.identities)
                con.execute("INSERT INTO identities SELECT * FROM _ids")
                con.unregister("_ids")
            if staged.staged_quarantine is not None:
                con.execute(
                    "INSERT INTO quarantine SELECT * FROM read_parquet(?)",
                    [staged.staged_quarantine.as_posix()],
                )
            if kept:
                con.execute(
                    "INSERT INTO manifest VALUES ('positions', ?, ?, ?, ?, ?, now())",
                    [rel_file, source_id, kept, ts_min, ts_max],
                )
            crash_point("before_commit")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if kept:
                final.unlink(missing_ok=True)
            raise
        return row

    def _dedupe_positions(self, staged: Path, out: Path) -> tuple[int, Any, Any]:
        """Drop rows whose key repeats within the file or already exists in the store.

        Writes the surviving rows, sorted by (mmsi, ts_utc), to ``out``. Only stored files whose
        time span overlaps the new file's are read for the anti-join.
        """
        key = ", ".join(f'"{k}"' for k in POSITIONS.key)
        span = self.con.execute(
            "SELECT min(ts_utc), max(ts_utc) FROM read_parquet(?)", [staged.as_posix()]
        ).fetchone()
        assert span is not None
        overlapping = self.con.execute(
            "SELECT file FROM manifest WHERE table_name='positions' AND ts_max_utc >= ? AND ts_min_utc <= ?",
            [span[0], span[1]],
        ).fetchall()
        new = (
            f"SELECT * FROM read_parquet('{staged.as_posix()}') "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY record_no) = 1"
        )
        if overlapping:
            listing = ", ".join(f"'{(self.path / f[0]).as_posix()}'" for f in overlapping)
            new = (
                f"SELECT n.* FROM ({new}) n ANTI JOIN "
                f"(SELECT {key} FROM read_parquet([{listing}]) WHERE ts_utc BETWEEN ? AND ?) o "
                f"USING ({key})"
            )
            params: list[Any] = [span[0], span[1]]
        else:
            params = []
        cols = ", ".join(f'"{c}"' for c in POSITIONS.names)
        self.con.execute(
            f"COPY (SELECT {cols} FROM ({new}) ORDER BY mmsi, ts_utc, record_no) "
            f"TO '{out.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
            params,
        )
        stats = self.con.execute(
            "SELECT count(*), min(ts_utc), max(ts_utc) FROM read_parquet(?)", [out.as_posix()]
        ).fetchone()
        assert stats is not None
        if stats[0] == 0:
            out.unlink(missing_ok=True)
        return int(stats[0]), stats[1], stats[2]

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One DuckDB transaction: committed when the block ends, rolled back if it raises."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _collect_garbage(self) -> None:
        """Remove leftovers of interrupted ingests: staging folders and unlisted Parquet files."""
        staging = self.path / ".staging"
        if staging.exists():
            for child in staging.iterdir():
                if child.name == "duckdb_tmp":
                    continue
                pid = _pid_of(child.name)
                if pid is not None and pid != os.getpid() and _alive(pid):
                    continue  # another live process owns it (it cannot hold the DB, but be safe)
                shutil.rmtree(child, ignore_errors=True)
        listed = {p.resolve() for p in self.files("positions")}
        for f in (self.path / "parquet").rglob("*.parquet"):
            if f.resolve() not in listed:
                f.unlink(missing_ok=True)


@contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed onto ``out`` only if the block succeeds,
    so a reader never sees a half-written export and a failed write leaves the old file."""
    tmp = out.with_name(f".{out.name}.part-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _ddl_type(table: Table, column: str) -> str:
    return duckdb_type(table[column].type)


def _pid_of(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) >= 3 and parts[-2].isdigit():
        return int(parts[-2])
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
