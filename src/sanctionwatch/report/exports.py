"""Export stored positions for GIS tools (QGIS, kepler.gl, Google Earth): GeoParquet, CSV, GeoJSON.

Exports stream: rows are read from the store in Arrow batches and written as they come, and
the output is written under a temporary name and renamed when complete (atomic).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from sanctionwatch import __version__
from sanctionwatch.schema import POSITIONS
from sanctionwatch.store import Project, atomic_output

__all__ = ["EXPORT_FORMATS", "PositionFilter", "export_positions"]

EXPORT_FORMATS = ("geoparquet", "csv", "geojson")
_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class PositionFilter:
    mmsis: tuple[int, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # lon_min, lat_min, lon_max, lat_max

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.mmsis:
            clauses.append(f"mmsi IN ({', '.join('?' * len(self.mmsis))})")
            params.extend(self.mmsis)
        if self.since:
            clauses.append("ts_utc >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("ts_utc < ?")
            params.append(self.until)
        if self.bbox:
            clauses.append("lon_deg BETWEEN ? AND ? AND lat_deg BETWEEN ? AND ?")
            params.extend([self.bbox[0], self.bbox[2], self.bbox[1], self.bbox[3]])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def format_for(path: Path, explicit: str | None) -> str:
    if explicit:
        if explicit not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {explicit!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        return explicit
    suffix = path.suffix.lower()
    by_suffix = {".parquet": "geoparquet", ".geoparquet": "geoparquet", ".csv": "csv",
                 ".geojson": "geojson", ".json": "geojson"}
    if suffix not in by_suffix:
        raise ValueError(f"cannot tell the export format from {path.name!r}; pass --format")
    return by_suffix[suffix]


def _batches(project: Project, flt: PositionFilter) -> Iterator[pa.RecordBatch]:
    where, params = flt.where()
    cols = ", ".join(f'"{c}"' for c in POSITIONS.names)
    sql = f"SELECT {cols} FROM {project.positions_sql()}{where} ORDER BY mmsi, ts_utc"
    yield from project.con.sql(sql, params=params).to_arrow_reader(_BATCH_ROWS)


def export_positions(project: Project, out: Path, *, fmt: str | None = None,
                     flt: PositionFilter | None = None) -> int:
    """Write the positions matching ``flt`` to ``out``; returns the number of rows written."""
    flt = flt or PositionFilter()
    fmt = format_for(out, fmt)
    writer = {"geoparquet": _write_geoparquet, "csv": _write_csv, "geojson": _write_geojson}[fmt]
    with atomic_output(out) as tmp:
        return writer(_batches(project, flt), tmp, project)


def _geo_metadata(bbox: list[float]) -> bytes:
    # GeoParquet 1.1: WKB points in WGS84 lon/lat (OGC:CRS84 is the default when crs is omitted).
    return json.dumps({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"], "bbox": bbox}},
    }).encode()


def _with_geometry(batch: pa.RecordBatch) -> pa.Table:
    lon = batch.column("lon_deg").to_numpy(zero_copy_only=False)
    lat = batch.column("lat_deg").to_numpy(zero_copy_only=False)
    wkb = shapely.to_wkb(shapely.points(lon, lat))
    return pa.Table.from_batches([batch]).append_column("geometry", pa.array(wkb, type=pa.binary()))


def _provenance_meta(project: Project) -> dict[bytes, bytes]:
    return {
        b"sanctionwatch.version": __version__.encode(),
        b"sanctionwatch.params_id": project.config.params_id.encode(),
        b"sanctionwatch.params": project.config.to_json().encode(),
    }


def _write_geoparquet(batches: Iterator[pa.RecordBatch], out: Path, project: Project) -> int:
    schema = POSITIONS.arrow().append(pa.field("geometry", pa.binary()))
    bbox = [180.0, 90.0, -180.0, -90.0]
    n = 0
    # The bbox is only known at the end, so write the data first and the metadata in the footer.
    with pq.ParquetWriter(out, schema.with_metadata({**(schema.metadata or {}), **_provenance_meta(project)}),
                          compression="zstd") as w:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            tbl = _with_geometry(batch)
            lon = batch.column("lon_deg")
            lat = batch.column("lat_deg")
            bbox = [min(bbox[0], pc.min(lon).as_py()), min(bbox[1], pc.min(lat).as_py()),
                    max(bbox[2], pc.max(lon).as_py()), max(bbox[3], pc.max(lat).as_py())]
            w.write_table(tbl.cast(schema))
            n += tbl.num_rows
        w.add_key_value_metadata({"geo": _geo_metadata(bbox if n else [0.0, 0.0, 0.0, 0.0]).decode()})
    return n


def _write_csv(batches: Iterator[pa.RecordBatch], out: Path, project: Project) -> int:
    import pyarrow.csv as pcsv

    n = 0
    with pcsv.CSVWriter(out, POSITIONS.arrow()) as w:
        for batch in batches:
            w.write_batch(batch)
            n += batch.num_rows
    return n


def _write_geojson(batches: Iterator[pa.RecordBatch], out: Path, project: Project) -> int:
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "sanctionwatch": ')
        fh.write(json.dumps({"version": __version__, "params_id": project.config.params_id}))
        fh.write(', "features": [\n')
        for batch in batches:
            for row in batch.to_pylist():
                props = {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                         for k, v in row.items() if k not in ("lat_deg", "lon_deg")}
                feature = {"type": "Feature",
                           "geometry": {"type": "Point", "coordinates": [row["lon_deg"], row["lat_deg"]]},
                           "properties": props}
                fh.write(("," if n else "") + json.dumps(feature) + "\n")
                n += 1
        fh.write("]}\n")
    return n
