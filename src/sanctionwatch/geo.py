"""Small, vectorised geometry helpers: great-circle distance and bearing, a land mask, distance to
the coast, and watched-area files.

Everything is offline (Shapely 2 + NumPy) and reads only data packaged in ``sanctionwatch/data``.
Inputs are WGS84 decimal degrees; scalars and NumPy arrays (broadcast together) are both accepted.

Antimeridian: longitudes are wrapped to [-180, 180) before any lookup, so 180 and -180 (or 190 and
-170) are the same place; distances and bearings use spherical trigonometry, which has no seam; a
track leg from 179.9 E to 179.9 W is the 22 km leg across the date line, not the long way round.
Natural Earth already splits land polygons at ±180, and watched-area polygons must be split there
too (RFC 7946 §3.1.9); :func:`load_areas` rejects a polygon spanning more than 180° of longitude.

Accuracy: spherical distances (mean radius) are within 0.56 % of WGS84 geodesics (worst case:
short north-south legs at the equator, where the meridian is flattest; typically < 0.3 %), and
initial bearings of legs under ~50 km within 0.2° of the geodesic azimuth.
The land mask and coastline are Natural Earth 1:50m, generalised to roughly 1-2 km: a point within
~2 km of the coast, or in a narrow harbour or river, can fall on the wrong side. Use them for
"is this plausibly at sea / on land" checks, not for berth-level work.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "EARTH_RADIUS_M",
    "Area",
    "AreaFileError",
    "LandMask",
    "default_areas",
    "haversine_m",
    "initial_bearing_deg",
    "iter_group",
    "land_mask",
    "load_areas",
    "wrap_lon_deg",
]

# Mean Earth radius R1 = (2a + b) / 3 of GRS80/WGS84 (IUGG; Moritz 1980), the usual sphere for
# haversine distances (also used by the Polars expression in tracks.summary).
EARTH_RADIUS_M = 6_371_008.8

# Default spacing of the great-circle samples tested by LandMask.crosses_land: about the size of the
# 1:50m generalisation, so finer steps would not find much more land.
CROSSES_LAND_STEP_M = 1_000.0
# Samples per chunk in crosses_land (bounds memory to a few hundred MB whatever the input size).
_CHUNK_POINTS = 2_000_000
# Points per stage-2 search in distance_to_coast_m: an open-ocean or polar point can have ~10^4
# candidate segments, so small chunks keep the (point, segment) pair arrays to ~100 MB.
_COAST_CHUNK_POINTS = 2_048

_PACKAGE_DATA = "sanctionwatch.data"
LAND_FILE = "basemap/ne_50m_land.json"
COASTLINE_FILE = "basemap/ne_50m_coastline.json"
AREAS_FILE = "areas/watched_areas.geojson"

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = float | int | npt.ArrayLike


# --------------------------------------------------------------------------------------------------
# Great-circle helpers
# --------------------------------------------------------------------------------------------------


def _as_float(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _scalar_or_array(result: FloatArray | BoolArray, *inputs: ArrayLike) -> Any:
    # Scalars in -> Python scalar out, so haversine_m(1, 2, 3, 4) is a float, not a 0-d array.
    if all(np.ndim(x) == 0 for x in inputs):
        return result.item()
    return result


def wrap_lon_deg(lon: ArrayLike) -> Any:
    """Longitude(s) wrapped to [-180, 180) degrees (180 -> -180, 190 -> -170)."""
    arr = _as_float(lon)
    return _scalar_or_array(np.mod(arr + 180.0, 360.0) - 180.0, lon)


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Any:
    """Great-circle distance in metres between points in degrees (scalars or broadcastable arrays).

    Sphere of radius :data:`EARTH_RADIUS_M`; within 0.56 % of the WGS84 geodesic (see module
    docstring). NaN in, NaN out.
    """
    p1, p2 = np.radians(_as_float(lat1)), np.radians(_as_float(lat2))
    dlat = p2 - p1
    dlon = np.radians(_as_float(lon2) - _as_float(lon1))
    a = np.sin(dlat / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    # Clip: rounding can push a (antipodal points) a hair above 1, and arcsin(>1) is NaN.
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return _scalar_or_array(d, lat1, lon1, lat2, lon2)


def initial_bearing_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Any:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north in [0, 360).

    Identical points give 0. Same conventions as :func:`haversine_m`.
    """
    p1, p2 = np.radians(_as_float(lat1)), np.radians(_as_float(lat2))
    dlon = np.radians(_as_float(lon2) - _as_float(lon1))
    y = np.sin(dlon) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dlon)
    bearing = np.mod(np.degrees(np.arctan2(y, x)), 360.0)
    # mod can return exactly 360.0 for tiny negative angles.
    bearing = np.where(bearing >= 360.0, 0.0, bearing)
    return _scalar_or_array(bearing, lat1, lon1, lat2, lon2)


def _to_unit_vectors(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _great_circle_points(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray, frac: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points at fraction ``frac`` of the great-circle arc from 1 to 2 (slerp; no seam issues)."""
    v1, v2 = _to_unit_vectors(lat1, lon1), _to_unit_vectors(lat2, lon2)
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", v1, v2), -1.0, 1.0))
    sin_omega = np.sin(omega)
    tiny = sin_omega < 1e-12  # identical (or antipodal) endpoints: fall back to linear blend
    safe = np.where(tiny, 1.0, sin_omega)
    w1 = np.where(tiny, 1.0 - frac, np.sin((1.0 - frac) * omega) / safe)
    w2 = np.where(tiny, frac, np.sin(frac * omega) / safe)
    v = w1[:, None] * v1 + w2[:, None] * v2
    lat = np.degrees(np.arctan2(v[:, 2], np.hypot(v[:, 0], v[:, 1])))
    lon = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    return lat, lon


# --------------------------------------------------------------------------------------------------
# Land mask and distance to coast
# --------------------------------------------------------------------------------------------------


def _read_package_geojson(relative: str) -> dict[str, Any]:
    ref = resources.files(_PACKAGE_DATA).joinpath(relative)
    with ref.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _feature_geometries(data: Mapping[str, Any]) -> npt.NDArray[np.object_]:
    return np.array([shape(f["geometry"]) for f in data["features"] if f.get("geometry")], dtype=object)


class LandMask:
    """Point-in-land tests, land crossings and distance to the coast (Natural Earth 1:50m).

    Build once and reuse (:func:`land_mask` caches the packaged one); loading takes ~0.1 s.
    ``contains`` tests all points against one prepared MultiPolygon (Shapely ``intersects_xy``):
    about 0.5 s per million points.
    """

    def __init__(
        self, land: npt.NDArray[np.object_], coastline: npt.NDArray[np.object_] | None = None
    ) -> None:
        # One MultiPolygon of all parts (Natural Earth land polygons do not overlap, so no union is
        # needed), prepared: GEOS then indexes its edges once and answers point queries in ~0.5 us.
        self._land_union = shapely.multipolygons(shapely.get_parts(land))
        shapely.prepare(self._land_union)
        self._coastline = coastline
        self._coast_index: tuple[shapely.STRtree, FloatArray] | None = None

    @property
    def polygons(self) -> Any:
        """All land as one prepared shapely MultiPolygon (for clipping and rasterising)."""
        return self._land_union

    @classmethod
    def from_package(cls) -> LandMask:
        """The packaged Natural Earth 1:50m land polygons and coastline."""
        land = _feature_geometries(_read_package_geojson(LAND_FILE))
        coast = _feature_geometries(_read_package_geojson(COASTLINE_FILE))
        return cls(land, coast)

    def _contains_flat(self, lat: FloatArray, lon: FloatArray) -> BoolArray:
        out = np.zeros(lat.shape, dtype=bool)
        valid = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
        if valid.any():
            idx = np.flatnonzero(valid)
            # intersects (not contains): a point exactly on a polygon edge -- e.g. on the ±180
            # meridian where Natural Earth splits Chukotka -- counts as land on both sides.
            out[idx] = shapely.intersects_xy(
                self._land_union, np.mod(lon[idx] + 180.0, 360.0) - 180.0, lat[idx]
            )
        return out

    # -- public API ------------------------------------------------------------------------------

    def contains(self, lats: ArrayLike, lons: ArrayLike) -> Any:
        """True where the point (degrees) is on land. Vectorised; broadcasts ``lats`` with ``lons``.

        Points that are not positions (NaN, |lat| > 90) are not land (False). Longitudes are
        wrapped, so -180/180 and 190/-170 give the same answer. Returns a bool for scalar input.
        """
        lat, lon = np.broadcast_arrays(_as_float(lats), _as_float(lons))
        flat = self._contains_flat(lat.ravel(), lon.ravel()).reshape(lat.shape)
        return _scalar_or_array(flat, lats, lons)

    def crosses_land(
        self,
        lat1: ArrayLike,
        lon1: ArrayLike,
        lat2: ArrayLike,
        lon2: ArrayLike,
        step_m: float = CROSSES_LAND_STEP_M,
        endpoint_buffer_m: float = 0.0,
    ) -> Any:
        """True where the great-circle leg from point 1 to point 2 passes over land.

        The leg is sampled every ``step_m`` (at least one interior sample, the midpoint); the end
        points themselves are not tested (use :meth:`contains` for them), nor are samples within
        ``endpoint_buffer_m`` of either end -- set it to ~2000 m for legs that start or end in port,
        where the 1:50m coastline often puts the berth "on land". Land narrower than ``step_m``
        can be stepped over. Legs with a NaN end give False. Cost grows with total leg length /
        ``step_m``: a million 10 km legs (10 samples each) take about 6 s.
        """
        if step_m <= 0:
            raise ValueError(f"step_m must be positive, got {step_m}")
        arrays = np.broadcast_arrays(_as_float(lat1), _as_float(lon1), _as_float(lat2), _as_float(lon2))
        shape_ = arrays[0].shape
        a_lat, a_lon, b_lat, b_lon = (a.ravel() for a in arrays)
        dist = np.asarray(haversine_m(a_lat, a_lon, b_lat, b_lon), dtype=np.float64).reshape(-1)
        ok = np.isfinite(dist)
        n_seg = np.ones(dist.shape, dtype=np.int64)
        n_seg[ok] = np.maximum(2, np.ceil(dist[ok] / step_m)).astype(np.int64)
        n_interior = np.where(ok, n_seg - 1, 0)
        out = np.zeros(dist.shape, dtype=bool)
        leg = 0
        while leg < dist.size:
            # Chunk whole legs so the sample arrays stay bounded.
            cum = np.cumsum(n_interior[leg:])
            stop = leg + max(1, int(np.searchsorted(cum, _CHUNK_POINTS, side="right")))
            legs = np.arange(leg, stop)
            counts = n_interior[legs]
            if counts.sum():
                owner = np.repeat(legs, counts)
                k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1
                frac = k / n_seg[owner]
                lat, lon = _great_circle_points(a_lat[owner], a_lon[owner], b_lat[owner], b_lon[owner], frac)
                hit = self._contains_flat(lat, lon)
                if endpoint_buffer_m > 0:
                    along_m = frac * dist[owner]
                    hit &= (along_m > endpoint_buffer_m) & (dist[owner] - along_m > endpoint_buffer_m)
                out[np.unique(owner[hit])] = True
            leg = stop
        return _scalar_or_array(out.reshape(shape_), lat1, lon1, lat2, lon2)

    def _coast_segments(self) -> tuple[shapely.STRtree, FloatArray]:
        if self._coast_index is None:
            if self._coastline is None:
                raise ValueError("this LandMask was built without a coastline")
            segs = []
            for line in shapely.get_parts(self._coastline):
                xy = shapely.get_coordinates(line)
                segs.append(np.concatenate([xy[:-1], xy[1:]], axis=1))
            seg = np.concatenate(segs)  # (n, 4): lon1, lat1, lon2, lat2
            # Copies shifted by ±360° so searches that run over the antimeridian find the other side.
            shift = np.array([360.0, 0.0, 360.0, 0.0])
            seg = np.concatenate([seg, seg + shift, seg - shift])
            lines = shapely.linestrings(seg.reshape(-1, 2, 2))
            self._coast_index = (shapely.STRtree(lines), seg)
        return self._coast_index

    def distance_to_coast_m(
        self, lats: ArrayLike, lons: ArrayLike, max_distance_m: float | None = None
    ) -> Any:
        """Approximate distance in metres from each point to the nearest coastline (land or sea side).

        Method: nearest coastline segment (Natural Earth 1:50m, segments ~8 km median) measured in a
        local equirectangular plane centred on the point. Against a densified great-circle
        reference: within ~250 m up to 100 km from the coast, 1-3 % beyond (growing with distance
        and latitude; crude within a few hundred km of the poles). On top of that the coastline
        itself is generalised by ~1-2 km. Points on land get their distance to the
        coast too (combine with :meth:`contains` for a signed distance). Invalid points give NaN.
        With ``max_distance_m``, points farther than that from any coast get ``inf`` (much faster
        for open-ocean points). A million points within ~100 km of a coast take about 6 s.
        """
        tree, seg = self._coast_segments()
        lat, lon = np.broadcast_arrays(_as_float(lats), _as_float(lons))
        shape_ = lat.shape
        la = lat.ravel()
        lo = np.mod(lon.ravel() + 180.0, 360.0) - 180.0
        out = np.full(la.shape, np.nan)
        valid = np.flatnonzero(np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90.0))
        for start in range(0, valid.size, _COAST_CHUNK_POINTS):
            idx = valid[start : start + _COAST_CHUNK_POINTS]
            out[idx] = self._distance_chunk(tree, seg, la[idx], lo[idx], max_distance_m)
        return _scalar_or_array(out.reshape(shape_), lats, lons)

    @staticmethod
    def _local_distance_m(seg: FloatArray, lat: FloatArray, lon: FloatArray) -> FloatArray:
        # Point-to-segment distance with the point at the origin of a local plane (metres).
        k = math.pi / 180.0 * EARTH_RADIUS_M
        coslat = np.cos(np.radians(lat))
        # Wrap the first end only and keep the segment's own extent, so a segment lying 180° of
        # longitude away is not split into two ends on opposite sides of the point.
        lon1 = np.mod(seg[:, 0] - lon + 180.0, 360.0) - 180.0
        x1 = lon1 * coslat * k
        x2 = (lon1 + seg[:, 2] - seg[:, 0]) * coslat * k
        y1 = (seg[:, 1] - lat) * k
        y2 = (seg[:, 3] - lat) * k
        dx, dy = x2 - x1, y2 - y1
        len2 = dx * dx + dy * dy
        t = np.where(len2 > 0, np.clip(-(x1 * dx + y1 * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0), 0.0)
        result: FloatArray = np.hypot(x1 + t * dx, y1 + t * dy)
        return result

    def _distance_chunk(
        self,
        tree: shapely.STRtree,
        seg: FloatArray,
        lat: FloatArray,
        lon: FloatArray,
        max_distance_m: float | None,
    ) -> FloatArray:
        if max_distance_m is None:
            # Stage 1: nearest segment in degree space -- not necessarily the nearest in metres, but
            # its true distance bounds the search radius of stage 2.
            q, t = tree.query_nearest(shapely.points(lon, lat), all_matches=False)
            upper = np.full(lat.shape, np.inf)
            upper[q] = self._local_distance_m(seg[t], lat[q], lon[q])
        else:
            upper = np.full(lat.shape, float(max_distance_m))
        found = np.isfinite(upper)
        # Stage 2: every segment that could be nearer lies in a box of that radius around the point.
        dlat = np.degrees(upper / EARTH_RADIUS_M)
        dlon = np.minimum(dlat / np.maximum(np.cos(np.radians(lat)), 1e-9), 360.0)
        best = np.full(lat.shape, np.inf)
        todo = np.flatnonzero(found)
        boxes = shapely.box(
            lon[todo] - dlon[todo], lat[todo] - dlat[todo], lon[todo] + dlon[todo], lat[todo] + dlat[todo]
        )
        qi, si = tree.query(boxes)
        pq = todo[qi]
        np.minimum.at(best, pq, self._local_distance_m(seg[si], lat[pq], lon[pq]))
        if max_distance_m is not None:
            best[best > max_distance_m] = np.inf
        return best


@cache
def land_mask() -> LandMask:
    """The packaged :class:`LandMask` (built on first use, then cached for the process)."""
    return LandMask.from_package()


# --------------------------------------------------------------------------------------------------
# Watched areas (GeoJSON)
# --------------------------------------------------------------------------------------------------


class AreaFileError(ValueError):
    """A watched-area GeoJSON file is unreadable or invalid; the message names the file and feature."""


@dataclass(frozen=True)
class Area:
    """One watched place: a point with a radius, or a polygon (degrees; radius in metres)."""

    area_id: str
    name: str
    geometry_type: str  # "Point" or "Polygon" (Polygon covers MultiPolygon too)
    lat_deg: float  # the point, or a point inside the polygon
    lon_deg: float
    radius_m: float | None = None
    polygon: BaseGeometry | None = field(default=None, compare=False, repr=False)
    kind: str | None = None
    country_iso2: str | None = None
    groups: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def contains(self, lats: ArrayLike, lons: ArrayLike) -> Any:
        """True where the point(s) are inside the area (within ``radius_m`` of a point area;
        inside or on the edge of a polygon). Vectorised like :meth:`LandMask.contains`."""
        lat, lon = np.broadcast_arrays(_as_float(lats), _as_float(lons))
        if self.polygon is None:
            inside = np.asarray(haversine_m(self.lat_deg, self.lon_deg, lat, lon)) <= (self.radius_m or 0.0)
        else:
            inside = shapely.intersects_xy(self.polygon, np.mod(lon + 180.0, 360.0) - 180.0, lat)
        return _scalar_or_array(np.asarray(inside, dtype=bool), lats, lons)


def _area_error(path: str, message: str, index: int | None = None) -> AreaFileError:
    where = f"{path}" if index is None else f"{path}, feature {index}"
    return AreaFileError(f"{where}: {message}")


def _check_lon_lat(path: str, index: int, geom: BaseGeometry) -> None:
    xy = shapely.get_coordinates(geom)
    if xy.size == 0 or not np.isfinite(xy).all():
        raise _area_error(path, "geometry has no (finite) coordinates", index)
    if (np.abs(xy[:, 1]) > 90).any() or (np.abs(xy[:, 0]) > 180).any():
        raise _area_error(
            path, "coordinates must be [longitude, latitude] in degrees (|lon| <= 180, |lat| <= 90)", index
        )


def _parse_area(path: str, index: int, feature: Any, seen: set[str]) -> Area:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise _area_error(path, "not a GeoJSON Feature", index)
    props = feature.get("properties") or {}
    if not isinstance(props, Mapping):
        raise _area_error(path, "properties must be an object", index)
    raw_geom = feature.get("geometry")
    if not raw_geom:
        raise _area_error(path, "feature has no geometry", index)
    try:
        geom = shape(raw_geom)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise _area_error(path, f"invalid geometry: {exc}", index) from exc
    if geom.is_empty:
        raise _area_error(path, "geometry is empty", index)
    _check_lon_lat(path, index, geom)

    area_id = str(props.get("area_id") or feature.get("id") or f"area-{index}")
    if area_id in seen:
        raise _area_error(path, f"duplicate area_id {area_id!r}", index)
    seen.add(area_id)
    groups = props.get("groups") or ()
    if isinstance(groups, str):
        groups = (groups,)
    common: dict[str, Any] = {
        "area_id": area_id,
        "name": str(props.get("name") or area_id),
        "kind": props.get("kind"),
        "country_iso2": props.get("country_iso2"),
        "groups": tuple(str(g) for g in groups),
        "properties": dict(props),
    }

    if geom.geom_type == "Point":
        radius = props.get("radius_m")
        if (
            isinstance(radius, bool)
            or not isinstance(radius, (int, float))
            or not math.isfinite(radius)
            or radius <= 0
        ):
            raise _area_error(
                path, f"a Point area needs a positive numeric radius_m property, got {radius!r}", index
            )
        return Area(geometry_type="Point", lat_deg=geom.y, lon_deg=geom.x, radius_m=float(radius), **common)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise _area_error(
                path, f"invalid polygon ({reason}); self-intersecting rings must be fixed", index
            )
        minx, _, maxx, _ = geom.bounds
        if maxx - minx > 180.0:
            raise _area_error(
                path,
                "polygon spans more than 180° of longitude; split it at the antimeridian (RFC 7946 §3.1.9)",
                index,
            )
        inner = geom.representative_point()
        shapely.prepare(geom)
        return Area(geometry_type="Polygon", lat_deg=inner.y, lon_deg=inner.x, polygon=geom, **common)
    raise _area_error(
        path, f"unsupported geometry type {geom.geom_type} (use Point with radius_m, or Polygon)", index
    )


def load_areas(path: str | Path) -> list[Area]:
    """Watched areas from a GeoJSON FeatureCollection of Points (with ``radius_m``) and Polygons.

    Each feature's ``area_id`` (else the feature ``id``, else ``area-<index>``) must be unique.
    Raises :class:`AreaFileError` naming the file (and the feature index) for unreadable JSON,
    a document that is not a non-empty FeatureCollection, a Point without a positive
    ``radius_m``, coordinates out of range, an invalid (e.g. self-intersecting) polygon, or a
    polygon that crosses the antimeridian unsplit.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _area_error(name, f"cannot read file ({exc.strerror or exc})") from exc
    return _areas_from_text(name, text)


def _areas_from_text(name: str, text: str) -> list[Area]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _area_error(
            name, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise _area_error(name, "expected a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise _area_error(name, "the FeatureCollection has no features")
    seen: set[str] = set()
    return [_parse_area(name, i, f, seen) for i, f in enumerate(features)]


def default_areas() -> list[Area]:
    """The packaged demo watched areas (``sanctionwatch/data/areas/watched_areas.geojson``)."""
    ref = resources.files(_PACKAGE_DATA).joinpath(AREAS_FILE)
    return _areas_from_text(f"sanctionwatch/data/{AREAS_FILE}", ref.read_text(encoding="utf-8"))


def iter_group(areas: list[Area], group: str) -> Iterator[Area]:
    """The areas that belong to ``group`` (e.g. ``"dprk_ports"``)."""
    return (a for a in areas if group in a.groups)
