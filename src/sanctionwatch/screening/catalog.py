"""Lists in a project: load a list version, keep every version, date designations and delistings.

Each ``lists add`` commits one list *version* (its files' hashes make its ``list_id``) with its
entries and relations in one DuckDB transaction, so a failed load adds nothing and loading the
same files again adds nothing twice. Versions of one list share a ``list_name``; the latest (by
``as_of_utc``) is what a vessel is screened against, and entries present in an earlier version
but missing from the latest are kept as *delisted*, with the date of the first version that no
longer has them. An entry is followed across versions by its IMO number where it has a valid
one (list ids are not always stable across publishers' exports) and by its entry id otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from sanctionwatch import __version__
from sanctionwatch.schema import LIST_ENTRIES, LIST_RELATIONS, LISTS, MATCHES
from sanctionwatch.screening.lists.base import ListError, LoadedList, source_id_of
from sanctionwatch.screening.lists.registry import choose_loader
from sanctionwatch.store import Project, crash_point

__all__ = ["ListLoadReport", "add_list", "current_entries", "ensure_tables", "list_history", "lists_summary"]


def ensure_tables(project: Project) -> None:
    """Create the list and screening tables in an older project (they are created on demand)."""
    if project.read_only:
        return
    for table in (LISTS, LIST_ENTRIES, LIST_RELATIONS, MATCHES):
        project.con.execute(table.duckdb_ddl())
    project.con.execute("CREATE TABLE IF NOT EXISTS screen_sources (source_id VARCHAR PRIMARY KEY, run_key VARCHAR)")


def _has_tables(project: Project) -> bool:
    return project.has_table("lists")


@dataclass
class ListLoadReport:
    """What one ``lists add`` did."""

    path: Path
    list_id: str
    list_name: str
    format: str
    as_of: dt.datetime
    as_of_basis: str
    n_entries: int
    n_vessels: int
    n_relations: int
    rejected: int
    notes: list[str]
    already_loaded: bool = False


def _as_of(loaded: LoadedList, path: Path, option: dt.datetime | None) -> tuple[dt.datetime, str]:
    if option is not None:
        return option.astimezone(dt.UTC) if option.tzinfo else option.replace(tzinfo=dt.UTC), "option"
    if loaded.as_of is not None:
        return loaded.as_of, "file"
    return dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC).replace(microsecond=0), "mtime"


def add_list(project: Project, path: Path | str, *, name: str | None = None, fmt: str | None = None,
             as_of: dt.datetime | None = None) -> ListLoadReport:
    """Load one list file (with its companion files) as a new version of list ``name``."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ListError(path, "no such file")
    loader = choose_loader(path, fmt)
    loaded = loader.load(path)
    ids = sorted(source_id_of(f) for f in loaded.files)
    list_id = hashlib.sha256(("|".join(ids) + f"|{loader.name}").encode()).hexdigest()[:16]
    list_name = name or loaded.default_name
    when, basis = _as_of(loaded, path, as_of)
    n_vessels = int(pa.compute.sum(pa.compute.equal(loaded.entries["schema"], "Vessel")).as_py() or 0)
    report = ListLoadReport(path, list_id, list_name, loader.name, when, basis, loaded.entries.num_rows,
                            n_vessels, loaded.relations.num_rows, len(loaded.rejected), list(loaded.notes))
    ensure_tables(project)
    found = project.con.sql("SELECT list_name FROM lists WHERE list_id = ?", params=[list_id]).fetchall()
    existing = found[0] if found else None
    if existing is not None:
        report.already_loaded = True
        report.list_name = existing[0]
        return report
    row = {
        "list_id": list_id, "list_name": list_name, "format": loader.name, "as_of_utc": when,
        "as_of_basis": basis, "paths": [str(f.resolve()) for f in loaded.files],
        "source_ids": [source_id_of(f) for f in loaded.files], "loaded_utc": dt.datetime.now(dt.UTC),
        "n_entries": report.n_entries, "n_vessels": n_vessels, "n_relations": report.n_relations,
        "params_json": json.dumps({"format": loader.name, "rejected": [r.__dict__ for r in loaded.rejected][:1000],
                                   "notes": loaded.notes}, default=str),
        "tool_version": __version__,
    }
    entries = loaded.entries.add_column(0, "list_id", pa.array([list_id] * loaded.entries.num_rows, pa.string()))
    relations = loaded.relations.add_column(0, "list_id", pa.array([list_id] * loaded.relations.num_rows, pa.string()))
    with project.transaction() as con:
        con.register("_list", pa.Table.from_pylist([row], schema=LISTS.arrow()))
        con.execute("INSERT INTO lists SELECT * FROM _list")
        con.unregister("_list")
        con.register("_entries", entries.select(LIST_ENTRIES.names))
        con.execute("INSERT INTO list_entries SELECT * FROM _entries")
        con.unregister("_entries")
        con.register("_rel", relations.select(LIST_RELATIONS.names))
        con.execute("INSERT INTO list_relations SELECT * FROM _rel")
        con.unregister("_rel")
        crash_point("list_before_commit")
    return report


# Entry key followed across versions: the IMO for vessels with a valid one, else the entry id.
_ENTRY_KEY = (
    "CASE WHEN e.schema = 'Vessel' AND e.imo_valid THEN 'imo:' || e.imo::VARCHAR ELSE 'id:' || e.entry_id END"
)

_HISTORY_SQL = f"""
WITH versions AS (
    SELECT list_id, list_name, as_of_utc,
           row_number() OVER (PARTITION BY list_name ORDER BY as_of_utc, loaded_utc) AS version_no,
           count(*) OVER (PARTITION BY list_name) AS n_versions
    FROM lists
), keyed AS (
    SELECT v.list_name, v.version_no, v.n_versions, v.as_of_utc, e.*, {_ENTRY_KEY} AS entry_key
    FROM list_entries e JOIN versions v USING (list_id)
), spans AS (
    SELECT list_name, entry_key, min(version_no) AS first_version, max(version_no) AS last_version,
           any_value(n_versions) AS n_versions, min(as_of_utc) AS first_seen_as_of,
           min(listed_on_utc) AS listed_on_utc
    FROM keyed GROUP BY ALL
)
SELECT s.list_name, s.entry_key, k.list_id, k.entry_id, k.schema, k.name,
       least(coalesce(s.listed_on_utc, s.first_seen_as_of), s.first_seen_as_of) AS listed_from_utc,
       s.listed_on_utc IS NOT NULL AS listed_from_stated,
       CASE WHEN s.last_version = s.n_versions THEN 'listed' ELSE 'delisted' END AS entry_status,
       nxt.as_of_utc AS delisted_on_utc
FROM spans s
JOIN keyed k ON k.list_name = s.list_name AND k.entry_key = s.entry_key AND k.version_no = s.last_version
LEFT JOIN versions nxt ON nxt.list_name = s.list_name AND nxt.version_no = s.last_version + 1
"""


def list_history(project: Project, list_name: str | None = None) -> pl.DataFrame:
    """One row per entry ever listed: when listed (stated or first seen), whether delisted and when."""
    if not _has_tables(project):
        return pl.DataFrame()
    sql = f"SELECT * FROM ({_HISTORY_SQL}) h"
    params: list[Any] = []
    if list_name is not None:
        sql += " WHERE list_name = ?"
        params.append(list_name)
    # one row per key even when a version lists the same IMO twice (e.g. a vessel and its alias row)
    sql += " QUALIFY row_number() OVER (PARTITION BY list_name, entry_key ORDER BY entry_id) = 1"
    return project.con.sql(sql + " ORDER BY list_name, name", params=params).pl()


def current_entries(project: Project) -> pl.DataFrame:
    """The entries to screen against: each list's latest version, plus delisted entries (their
    last version's row) marked ``entry_status = 'delisted'``. Adds list_name and delisted_on_utc."""
    if not _has_tables(project):
        return pl.DataFrame(schema={**LIST_ENTRIES.polars(), "list_name": pl.String,  # type: ignore[dict-item]
                                    "entry_status": pl.String, "delisted_on_utc": pl.Datetime("us", "UTC")})
    sql = f"""
        SELECT e.*, h.list_name, h.entry_status, h.delisted_on_utc
        FROM ({_HISTORY_SQL}) h JOIN list_entries e ON e.list_id = h.list_id AND e.entry_id = h.entry_id
        QUALIFY row_number() OVER (PARTITION BY e.list_id, e.entry_id ORDER BY h.entry_key) = 1
        ORDER BY h.list_name, e.entry_id
    """
    return project.con.sql(sql).pl()


def lists_summary(project: Project) -> pl.DataFrame:
    """Every loaded version, newest first per list."""
    if not _has_tables(project):
        return pl.DataFrame()
    return project.con.sql(
        "SELECT list_name, list_id, format, as_of_utc, as_of_basis, n_entries, n_vessels, n_relations, "
        "loaded_utc, paths[1] AS path FROM lists ORDER BY list_name, as_of_utc DESC"
    ).pl()
