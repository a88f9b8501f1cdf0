"""Read what imagery gives: vessel detections, analyst sightings and scene footprints.

Detections come from SAR/optical pipelines as CSV, GeoJSON (Point features) or Parquet. The
column layout is recognised from the header among known *layouts* (ours; Global Fishing Watch's
public SAR vessel detections, ``detect_id``/``detect_lat``/``detect_timestamp``...; xView3-style
outputs, ``detect_lat``/``detect_lon``/``vessel_length_m`` with the time taken from the scene) or
given by a YAML mapping (``columns: {lat_deg: Y, ...}``, ``timezone``, ``sensor``).

Scene footprints (GeoJSON polygons with ``scene_id`` and a time, or STAC Items / ItemCollections)
say where a satellite looked, so a place imaged with no detection is known to be empty, and
detections outside their scene's footprint are caught.

Rules, as for AIS: a file that cannot be read at all raises :class:`ImageryInputError` naming the
file (and line); single bad records are quarantined with a reason and counted, never dropped
silently. Timestamps must carry a zone (or the mapping must state one): a satellite time read in
the wrong zone puts every vessel hours away from its AIS track.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import shapely
import yaml

from sanctionwatch.schema import DETECTIONS, SCENES, SIGHTINGS
from sanctionwatch.screening.lists.base import source_id_of

__all__ = [
    "DETECTION_LAYOUTS",
    "SIGHTING_LAYOUT",
    "ImageryInputError",
    "ReadResult",
    "read_detections",
    "read_scenes",
    "read_sightings",
]


class ImageryInputError(Exception):
    """An imagery input that cannot be read at all: names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


@dataclass(frozen=True)
class Layout:
    """Known column names for each target column, first match wins; required targets must exist."""

    name: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    sensor: str | None = None
    time_from_scene: bool = False  # no time column: take the scene's acquisition time


DETECTION_LAYOUTS: tuple[Layout, ...] = (
    Layout("sanctionwatch", {
        "detection_id": ("detection_id",), "scene_id": ("scene_id",), "ts_utc": ("ts_utc",),
        "lat_deg": ("lat_deg",), "lon_deg": ("lon_deg",), "length_m": ("length_m",),
        "heading_deg": ("heading_deg",), "confidence": ("confidence",), "sensor": ("sensor",),
    }, ("ts_utc", "lat_deg", "lon_deg")),
    # GFW SAR vessel detections (GFW_technical_documentation SAR-object-detections.md key fields;
    # the Paolo et al. 2024 public CSVs use timestamp/lat/lon/length_m/presence_score)
    Layout("gfw_sar", {
        "detection_id": ("detect_id",), "scene_id": ("scene_id",),
        "ts_utc": ("detect_timestamp", "timestamp"), "lat_deg": ("detect_lat", "lat"),
        "lon_deg": ("detect_lon", "lon"), "length_m": ("inferred_length_m", "length_m"),
        "confidence": ("inferred_presence", "presence_score", "presence"),
    }, ("scene_id", "ts_utc", "lat_deg", "lon_deg"), sensor="sentinel-1"),
    # xView3-SAR outputs/labels (DIUx-xView/xview3-reference): positions and length per scene,
    # no time column.
    Layout("xview3", {
        "scene_id": ("scene_id",), "lat_deg": ("detect_lat",), "lon_deg": ("detect_lon",),
        "length_m": ("vessel_length_m",), "confidence": ("score", "confidence"),
    }, ("scene_id", "lat_deg", "lon_deg"), sensor="sentinel-1", time_from_scene=True),
    # Generic: time/lat/lon under common names.
    Layout("generic", {
        "detection_id": ("id", "detection_id"), "scene_id": ("scene_id", "scene"),
        "ts_utc": ("time", "timestamp", "datetime", "ts"), "lat_deg": ("lat", "latitude"),
        "lon_deg": ("lon", "lng", "longitude"), "length_m": ("length", "length_m"),
        "heading_deg": ("heading",), "confidence": ("confidence", "score"), "sensor": ("sensor", "platform"),
    }, ("ts_utc", "lat_deg", "lon_deg")),
)

SIGHTING_LAYOUT = Layout("sightings", {
    "sighting_id": ("sighting_id", "id"), "ts_utc": ("ts_utc", "time", "timestamp", "date", "datetime"),
    "lat_deg": ("lat_deg", "lat", "latitude"), "lon_deg": ("lon_deg", "lon", "longitude"),
    "claimed_name": ("claimed_name", "name", "vessel"), "claimed_imo": ("claimed_imo", "imo"),
    "claimed_mmsi": ("claimed_mmsi", "mmsi"), "image_ref": ("image_ref", "image", "source", "reference"),
    "confidence": ("confidence",), "note": ("note", "notes", "comment"),
}, ("ts_utc", "lat_deg", "lon_deg"))


@dataclass
class ReadResult:
    """Rows that conform to their table, the quarantined records, and what was recognised."""

    table: pa.Table
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    layout: str = ""
    source_id: str = ""
    records_read: int = 0


# --- reading a file into a frame of text columns with record numbers ---------------------------

def _frame(path: Path) -> tuple[pl.DataFrame, str]:
    """The file as a frame plus a ``_record_no`` column, and the format read ('csv', 'geojson', 'parquet')."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pl.read_parquet(path)
            return df.with_row_index("_record_no", offset=1).with_columns(pl.col("_record_no").cast(pl.Int64)), "parquet"
        if suffix in (".geojson", ".json"):
            return _geojson_points(path), "geojson"
        df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except ImageryInputError:
        raise
    except (pl.exceptions.ComputeError, OSError, UnicodeDecodeError, ValueError) as err:
        raise ImageryInputError(path, f"cannot read as {suffix.lstrip('.') or 'csv'}: {str(err).splitlines()[0]}") from None
    # header is line 1; quoted fields spanning lines are not supported (as for AIS CSV)
    return df.with_row_index("_record_no", offset=2).with_columns(pl.col("_record_no").cast(pl.Int64)), "csv"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ImageryInputError(path, f"invalid JSON: {err.msg}", err.lineno) from None
    except UnicodeDecodeError:
        raise ImageryInputError(path, "not UTF-8 text") from None


def _geojson_points(path: Path) -> pl.DataFrame:
    doc = _load_json(path)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise ImageryInputError(path, "expected a GeoJSON FeatureCollection")
    rows = []
    for i, feat in enumerate(features, start=1):
        props = {k: None if v is None else str(v) for k, v in (feat.get("properties") or {}).items()}
        geom = feat.get("geometry") or {}
        if geom.get("type") == "Point" and len(geom.get("coordinates") or []) >= 2:
            props.setdefault("lon", str(geom["coordinates"][0]))
            props.setdefault("lat", str(geom["coordinates"][1]))
        props["_record_no"] = str(i)  # record = feature number in the collection
        rows.append(props)
    df = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame({"_record_no": []})
    return df.with_columns(pl.col("_record_no").cast(pl.Int64))


def _choose_layout(df: pl.DataFrame, layouts: tuple[Layout, ...], path: Path) -> tuple[Layout, dict[str, str]]:
    lower = {c.lower(): c for c in df.columns}
    for layout in layouts:
        found = {}
        for target, names in layout.columns.items():
            hit = next((lower[n.lower()] for n in names if n.lower() in lower), None)
            if hit is not None:
                found[target] = hit
        if all(t in found for t in layout.required):
            return layout, found
    wanted = "; ".join(f"{lay.name}: {', '.join(lay.columns[t][0] for t in lay.required)}" for lay in layouts)
    raise ImageryInputError(path, f"unrecognised columns {df.columns[:12]}; expected one of the layouts ({wanted}) "
                            "or a --mapping file", 1)


def _mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError) as err:
        raise ImageryInputError(path, f"invalid mapping: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("columns", {}), dict):
        raise ImageryInputError(path, "a mapping needs a 'columns:' table (target: file column)")
    return doc


def _parse_times(text: pl.Series, timezone: str | None, path: Path) -> pl.Series:
    """Parse ISO-like timestamps; naive ones need a zone from the mapping (no silent UTC guess)."""
    s = text.str.strip_chars().str.replace(r"Z$", "+00:00").str.replace(" ", "T", literal=True)
    has_zone = s.str.contains(r"([+-]\d{2}:?\d{2})$").fill_null(False)
    # seconds are optional ("2023-10-05T21:12Z" is common in analysts' files)
    aware = pl.select(pl.coalesce(s.str.to_datetime(time_zone="UTC", strict=False, format=f)
                                  for f in ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"))).to_series()
    local = pl.select(pl.coalesce(s.str.to_datetime(strict=False, format=f)
                                  for f in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"))).to_series()
    date_only = s.str.to_date(strict=False, format="%Y-%m-%d").cast(pl.Datetime("us"))
    naive = s.filter(~has_zone & (local.is_not_null() | date_only.is_not_null()))
    if naive.len() and timezone is None:
        raise ImageryInputError(path, f"timestamp {naive[0]!r} has no time zone; satellite times must say "
                                "their zone (e.g. ...Z) or the mapping must give 'timezone: UTC'")
    zone = timezone or "UTC"
    local = local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    date_only = date_only.dt.replace_time_zone(zone).dt.convert_time_zone("UTC")
    out = pl.select(pl.coalesce(aware.dt.cast_time_unit("us"),
                                pl.when(~has_zone).then(local.dt.cast_time_unit("us")),
                                pl.when(~has_zone).then(date_only.dt.cast_time_unit("us"))))
    return out.to_series().alias("ts_utc")


def _quarantine(df: pl.DataFrame, bad: pl.Series, reason: str, detail: str, source_id: str) -> list[dict[str, Any]]:
    rows = df.filter(bad)
    raw_cols = [c for c in df.columns if not c.startswith("_")]
    return [{"source_id": source_id, "record_no": int(r["_record_no"]), "reason": reason, "detail": detail,
             "raw": json.dumps({c: r.get(c) for c in raw_cols}, default=str)[:4096]}
            for r in rows.iter_rows(named=True)]


def _common(df: pl.DataFrame, found: dict[str, str], path: Path, timezone: str | None,
            source_id: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Cast lat/lon/time, quarantine rows where they are missing or out of range."""
    out = pl.DataFrame({"_record_no": df["_record_no"]})
    for target, col in found.items():
        out = out.with_columns(df[col].cast(pl.String).alias(target))
    out = out.with_columns(pl.col("lat_deg").cast(pl.Float64, strict=False), pl.col("lon_deg").cast(pl.Float64, strict=False))
    q: list[dict[str, Any]] = []
    bad_pos = (out["lat_deg"].is_null() | out["lon_deg"].is_null() | (out["lat_deg"].abs() > 90)
               | (out["lon_deg"].abs() > 180)).fill_null(True)
    q += _quarantine(df, bad_pos, "bad_position", "latitude/longitude missing or out of range", source_id)
    keep = ~bad_pos
    if "ts_utc" in out.columns:
        ts = _parse_times(out["ts_utc"], timezone, path)
        bad_ts = ts.is_null() & keep
        q += _quarantine(df, bad_ts, "bad_timestamp", "unparseable timestamp", source_id)
        out = out.with_columns(ts)
        keep = keep & ~bad_ts
    return out.filter(keep), q


def read_detections(path: Path, *, mapping: Path | None = None,
                    scenes: pl.DataFrame | None = None) -> ReadResult:
    """Detections from a CSV/GeoJSON/Parquet file, as DETECTIONS rows plus quarantined records.

    ``scenes`` (SCENES rows already known) gives times to layouts without a time column and the
    footprints detections must lie in: a detection outside its scene's footprint is quarantined.
    """
    path = Path(path)
    df, _fmt = _frame(path)
    source_id = source_id_of(path)
    spec = _mapping(mapping)
    if spec.get("columns"):
        missing = [c for c in spec["columns"].values() if c not in df.columns]
        if missing:
            raise ImageryInputError(path, f"mapping {mapping} names columns not in the file: {missing}", 1)
        layout = Layout("mapping", {t: (c,) for t, c in spec["columns"].items()}, ("lat_deg", "lon_deg"),
                        sensor=spec.get("sensor"), time_from_scene="ts_utc" not in spec["columns"])
        found = dict(spec["columns"])
    else:
        layout, found = _choose_layout(df, DETECTION_LAYOUTS, path)
    out, q = _common(df, found, path, spec.get("timezone"), source_id)
    scene_info = scenes if scenes is not None else pl.DataFrame(schema={"scene_id": pl.String})
    if layout.time_from_scene:
        times = scene_info.select("scene_id", pl.col("ts_utc")) if scene_info.height else None
        if times is None:
            raise ImageryInputError(path, f"layout {layout.name!r} has no time column: add the scenes' "
                                    "footprints first (`sanctionwatch scenes add`), which give their times")
        out = out.join(times, on="scene_id", how="left")
        no_time = out["ts_utc"].is_null()
        q += _quarantine(df.join(out.select("_record_no"), on="_record_no", how="semi").filter(no_time),
                         pl.Series([True] * int(no_time.sum())), "unknown_scene", "scene has no known time", source_id)
        out = out.filter(~no_time)
    if scene_info.height and "scene_id" in out.columns:
        out, more = _outside_footprint(df, out, scene_info, source_id)
        q += more
    if "detection_id" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.String).alias("detection_id"))
    out = out.with_columns(
        pl.coalesce(pl.col("detection_id"), pl.lit(source_id) + pl.lit(":") + pl.col("_record_no").cast(pl.String))
        .alias("detection_id"),
        pl.lit(source_id).alias("source_id"), pl.col("_record_no").alias("record_no"),
    )
    if "sensor" not in out.columns:
        out = out.with_columns(pl.lit(layout.sensor or spec.get("sensor")).cast(pl.String).alias("sensor"))
    table = _conform(out, DETECTIONS.arrow())
    return ReadResult(table, q, layout.name, source_id, df.height)


def _outside_footprint(df: pl.DataFrame, out: pl.DataFrame, scenes: pl.DataFrame,
                       source_id: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    polys = {r["scene_id"]: shapely.from_wkt(r["footprint_wkt"]) for r in scenes.iter_rows(named=True)}
    inside = []
    for sid, lat, lon in zip(out["scene_id"].to_list(), out["lat_deg"].to_list(), out["lon_deg"].to_list(),
                             strict=True):
        poly = polys.get(sid)
        inside.append(poly is None or bool(poly.covers(shapely.Point(lon, lat))))
    mask = pl.Series(inside, dtype=pl.Boolean)
    bad_records = out.filter(~mask).select("_record_no")
    q = _quarantine(df.join(bad_records, on="_record_no", how="semi"),
                    pl.Series([True] * bad_records.height, dtype=pl.Boolean),
                    "outside_footprint", "detection lies outside its scene's footprint", source_id)
    return out.filter(mask), q


def _conform(df: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in df.columns:
            cols.append(df[f.name].to_arrow().cast(f.type, safe=False) if f.type != pa.string()
                        else df[f.name].cast(pl.String).to_arrow().cast(pa.string()))
        else:
            cols.append(pa.nulls(df.height, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def read_sightings(path: Path, *, timezone: str | None = None) -> ReadResult:
    """Analyst sightings (time, place, claimed identity, image reference, confidence, note)."""
    path = Path(path)
    df, _fmt = _frame(path)
    source_id = source_id_of(path)
    _layout, found = _choose_layout(df, (SIGHTING_LAYOUT,), path)
    out, q = _common(df, found, path, timezone, source_id)
    for col, dtype in (("claimed_imo", pl.Int32), ("claimed_mmsi", pl.Int32), ("confidence", pl.Float32)):
        if col in out.columns:
            out = out.with_columns(pl.col(col).str.strip_chars().str.replace(r"^IMO\s*", "").cast(dtype, strict=False))
    if "sighting_id" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.String).alias("sighting_id"))
    out = out.with_columns(
        pl.coalesce(pl.col("sighting_id"), pl.lit(source_id) + pl.lit(":") + pl.col("_record_no").cast(pl.String))
        .alias("sighting_id"),
        pl.lit(source_id).alias("source_id"), pl.col("_record_no").alias("record_no"))
    return ReadResult(_conform(out, SIGHTINGS.arrow()), q, "sightings", source_id, df.height)


def read_scenes(path: Path) -> ReadResult:
    """Scene footprints from a GeoJSON FeatureCollection of polygons or STAC Item(s)."""
    path = Path(path)
    doc = _load_json(path)
    source_id = source_id_of(path)
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]  # a single STAC Item
    elif isinstance(doc, dict) and isinstance(doc.get("features"), list):
        features = doc["features"]  # FeatureCollection or STAC ItemCollection
    else:
        raise ImageryInputError(path, "expected a GeoJSON FeatureCollection of footprints or a STAC Item")
    rows, q = [], []
    for i, feat in enumerate(features, start=1):
        props = feat.get("properties") or {}
        scene_id = props.get("scene_id") or feat.get("id")
        when = props.get("ts_utc") or props.get("datetime") or props.get("start_datetime")
        try:
            geom = shapely.geometry.shape(feat["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError):
            geom = None
        problem = None
        if not scene_id:
            problem = ("missing_id", "no scene_id property or STAC id")
        elif geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
            problem = ("bad_footprint", "geometry is not a valid Polygon/MultiPolygon")
        elif not when:
            problem = ("bad_timestamp", "no ts_utc/datetime property")
        if problem is None:
            ts = _parse_times(pl.Series([str(when)]), None, path)[0]
            if ts is None:
                problem = ("bad_timestamp", f"unparseable time {when!r}")
        if problem is not None:
            q.append({"source_id": source_id, "record_no": i, "reason": problem[0], "detail": problem[1],
                      "raw": json.dumps(feat, default=str)[:4096]})
            continue
        rows.append({"scene_id": str(scene_id), "sensor": props.get("sensor") or props.get("platform")
                     or props.get("constellation"), "ts_utc": ts, "footprint_wkt": geom.wkt,
                     "source_id": source_id, "record_no": i})
    table = pa.Table.from_pylist(rows, schema=SCENES.arrow())
    return ReadResult(table, q, "stac" if any("stac_version" in f for f in features) else "geojson", source_id,
                      len(features))
