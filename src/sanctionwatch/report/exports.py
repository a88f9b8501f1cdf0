"""Export stored positions for GIS tools (QGIS, kepler.gl, Google Earth): GeoParquet, CSV, GeoJSON.

Exports stream: rows are read from the store in Arrow batches and written as they come, and
the output is written under a temporary name and renamed when complete (atomic).

The GeoParquet pieces (``geo`` metadata, provenance metadata, :func:`write_geoparquet_table`)
and :func:`choose_format` are shared with the findings exports (``report/findings_export.py``).
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

__all__ = ["EXPORT_FORMATS", "PositionFilter", "choose_format", "export_positions", "geoparquet_metadata",
           "provenance_metadata", "write_geoparquet_table"]

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


def choose_format(path: Path, explicit: str | None, formats: tuple[str, ...],
                  by_suffix: dict[str, str], hint: str | None = None) -> str:
    """The export format: ``explicit`` if given (one of ``formats``), else from the file's suffix;
    ValueError with a message for the user otherwise (``hint``: the suffixes, in words)."""
    if explicit:
        if explicit not in formats:
            raise ValueError(f"unknown export format {explicit!r}; choose one of {', '.join(formats)}")
        return explicit
    suffix = path.suffix.lower()
    if suffix not in by_suffix:
        raise ValueError(f"cannot tell the export format from {path.name!r}; pass --format"
                         + (f" or name the file {hint}" if hint else ""))
    return by_suffix[suffix]


_POSITION_SUFFIXES = {".parquet": "geoparquet", ".geoparquet": "geoparquet", ".csv": "csv",
                      ".geojson": "geojson", ".json": "geojson"}


def format_for(path: Path, explicit: str | None) -> str:
    return choose_format(path, explicit, EXPORT_FORMATS, _POSITION_SUFFIXES)


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


def geoparquet_metadata(bbox: list[float], geometry_types: list[str] | None = None) -> bytes:
    """The GeoParquet 1.1 ``geo`` key-value metadata of a file whose WKB column ``geometry`` holds
    WGS84 lon/lat geometries (OGC:CRS84 is the default when crs is omitted) of ``geometry_types``."""
    return json.dumps({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": (
                                     ["Point"] if geometry_types is None else list(geometry_types)),
                                 "bbox": bbox}},
    }).encode()


def _with_geometry(batch: pa.RecordBatch) -> pa.Table:
    lon = batch.column("lon_deg").to_numpy(zero_copy_only=False)
    lat = batch.column("lat_deg").to_numpy(zero_copy_only=False)
    wkb = shapely.to_wkb(shapely.points(lon, lat))
    return pa.Table.from_batches([batch]).append_column("geometry", pa.array(wkb, type=pa.binary()))


def provenance_metadata(project: Project) -> dict[bytes, bytes]:
    """Parquet key-value metadata naming the tool version and the settings (params_id and JSON)."""
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
    with pq.ParquetWriter(out, schema.with_metadata({**(schema.metadata or {}), **provenance_metadata(project)}),
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
        w.add_key_value_metadata({"geo": geoparquet_metadata(bbox if n else [0.0, 0.0, 0.0, 0.0]).decode()})
    return n


def write_geoparquet_table(table: pa.Table, out: Path, project: Project,
                           extra_metadata: dict[bytes, bytes] | None = None) -> int:
    """Write ``table``, whose ``geometry`` column holds WKB (null where unknown) in WGS84 lon/lat, as
    GeoParquet 1.1 with its geometry types, bbox and the provenance metadata; returns the row count.
    ``out`` is written as is: wrap the call in :func:`atomic_output`."""
    wkb = table.column("geometry").to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(wkb)
    present = geoms[~shapely.is_missing(geoms)]
    present = present[~shapely.is_empty(present)]
    bbox = [float(v) for v in shapely.total_bounds(present)] if len(present) else [0.0, 0.0, 0.0, 0.0]
    names = sorted({_GEOMETRY_NAMES.get(int(t), "GeometryCollection")
                    for t in set(shapely.get_type_id(present).tolist())})
    meta = {**(table.schema.metadata or {}), **provenance_metadata(project), **(extra_metadata or {}),
            b"geo": geoparquet_metadata(bbox, names)}
    pq.write_table(table.replace_schema_metadata(meta), out, compression="zstd")
    return table.num_rows


_GEOMETRY_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                   6: "MultiPolygon", 7: "GeometryCollection"}


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
