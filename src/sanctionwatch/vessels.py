"""Who is in a project: vessel lists, lookups by MMSI / IMO / name, identity histories.

One place for these queries, used by the command line, the report, the dossier and the web app.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from sanctionwatch.store import Project

__all__ = ["VESSELS_SQL", "identity_history", "resolve_vessel", "search_vessels", "vessel_labels",
           "vessel_list"]

# One row per MMSI: the latest broadcast identity and the track's extent.
VESSELS_SQL = """
WITH p AS (SELECT mmsi, count(*) AS n_positions, min(ts_utc) AS first_utc, max(ts_utc) AS last_utc
           FROM {positions} GROUP BY mmsi),
     i AS (SELECT mmsi, arg_max(name, last_seen_utc) AS name, arg_max(imo, last_seen_utc) AS imo,
                  arg_max(call_sign, last_seen_utc) AS call_sign, arg_max(ship_type, last_seen_utc) AS ship_type,
                  any_value(flag_iso2) AS flag, count(DISTINCT name) AS n_names
           FROM identities GROUP BY mmsi)
SELECT coalesce(p.mmsi, i.mmsi) AS mmsi, i.name, i.imo, i.call_sign, i.flag, i.ship_type, i.n_names,
       coalesce(p.n_positions, 0) AS n_positions, p.first_utc, p.last_utc
FROM p FULL OUTER JOIN i ON p.mmsi = i.mmsi
"""


def vessel_list(project: Project, *, name: str | None = None, limit: int | None = None,
                mmsis: list[int] | None = None) -> tuple[pl.DataFrame, int]:
    """(vessels, total): the busiest first; ``name`` filters on any broadcast name (substring)."""
    where: list[str] = []
    params: list[Any] = []
    if name:
        where.append("mmsi IN (SELECT mmsi FROM identities WHERE name ILIKE ?)")
        params.append(f"%{name}%")
    if mmsis is not None:
        where.append(f"mmsi IN ({', '.join(str(int(m)) for m in mmsis) or 'NULL'})")
    sql = "SELECT * FROM (" + VESSELS_SQL + ")" + (" WHERE " + " AND ".join(where) if where else "")
    total = int(project.query("SELECT count(*) FROM (" + sql + ")", params).item())
    sql += " ORDER BY n_positions DESC, mmsi"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return project.query(sql, params), total


def resolve_vessel(project: Project, ident: str) -> list[int]:
    """MMSIs for a 9-digit MMSI or a 7-digit IMO ('IMO' prefix allowed); ValueError otherwise."""
    key = ident.strip().upper().removeprefix("IMO").strip()
    if not key.isdigit() or len(key) not in (7, 9):
        raise ValueError(f"{ident!r} is neither a 9-digit MMSI nor a 7-digit IMO number")
    if len(key) == 9:
        return [int(key)]
    return project.query("SELECT DISTINCT mmsi FROM identities WHERE imo = ? ORDER BY mmsi",
                         [int(key)]).get_column("mmsi").to_list()


def search_vessels(project: Project, text: str, limit: int = 20) -> pl.DataFrame:
    """Vessels whose MMSI, IMO, call sign or any broadcast name contains ``text``."""
    t = text.strip()
    if not t:
        return vessel_list(project, limit=0)[0]
    like = f"%{t}%"
    found = project.query(
        "SELECT DISTINCT mmsi FROM identities WHERE name ILIKE ? OR call_sign ILIKE ? "
        "OR CAST(imo AS VARCHAR) LIKE ? OR CAST(mmsi AS VARCHAR) LIKE ?", [like, like, like, like])
    mmsis = found.get_column("mmsi").to_list()
    if t.isdigit():  # an MMSI with positions but no identity report
        mmsis += project.query("SELECT DISTINCT mmsi FROM {positions} WHERE CAST(mmsi AS VARCHAR) LIKE ?",
                               [like]).get_column("mmsi").to_list()
    return vessel_list(project, mmsis=sorted(set(mmsis)), limit=limit)[0]


def identity_history(project: Project, mmsis: list[int]) -> pl.DataFrame:
    """Every identity the vessels broadcast, oldest first, with the file it came from."""
    placeholders = ", ".join("?" * len(mmsis)) or "NULL"
    return project.query(
        "SELECT i.*, s.path FROM identities i JOIN sources s USING (source_id) "
        f"WHERE i.mmsi IN ({placeholders}) ORDER BY first_seen_utc, mmsi", mmsis)


def vessel_labels(project: Project, mmsis: list[int] | None = None) -> dict[int, str]:
    """'NAME (IMO 1234567)' or 'MMSI 123456789' for each vessel, for statements and tables."""
    df, _ = vessel_list(project, mmsis=mmsis)
    out: dict[int, str] = {}
    for r in df.iter_rows(named=True):
        name, imo = r["name"], r["imo"]
        label = name or f"MMSI {r['mmsi']}"
        if imo:
            label += f" (IMO {imo})"
        out[int(r["mmsi"])] = label
    for m in mmsis or []:
        out.setdefault(int(m), f"MMSI {m}")
    return out
