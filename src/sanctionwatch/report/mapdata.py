"""Map data for the HTML report and the dossier: simplified tracks, the clipped basemap, compact JSON.

Tracks. A vessel's fixes over a finding's span are split where two consecutive fixes are more than
``events.gap_min_hours`` apart (the gap is drawn on its own, dashed, between its OFF and ON
positions), then each part is simplified with Douglas-Peucker (Shapely ``simplify``, on longitudes
scaled by cos(latitude) so a tolerance is the same distance east-west and north-south). The
tolerance starts at 1/20000 of the track's extent and doubles until the track fits its point budget;
if it still does not (thousands of tiny parts), parts are thinned evenly, longest parts first. DP
keeps original fixes, so every drawn vertex is a real reported position; what is lost is detail
between them, never a place the ship was not.

Coordinates travel as delta-encoded integers of 1e-4 degree (about 11 m), latitude first:
``[lat0, lon0, dlat1, dlon1, ...]``, which is about half the size of plain decimal pairs.
Longitudes of one track are unwrapped (a track crossing the antimeridian goes on to 181 degrees
rather than jumping back to -179), and the basemap is repeated east of 180 when a map reaches there.

Basemap. Natural Earth 1:50m land (packaged, public domain), clipped to the union of the report's
map extents (each grown by a margin) and simplified, so a report about the Sea of Japan carries the
Sea of Japan's coasts and not the world's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely import affinity
from shapely.geometry import box, mapping

__all__ = [
    "COORD_SCALE",
    "Bounds",
    "SimplifiedTrack",
    "clip_basemap",
    "decode_coords",
    "encode_coords",
    "simplify_track",
    "track_budget",
]

#: coordinates are stored as integers of 1 / COORD_SCALE degree
COORD_SCALE = 10_000
# Douglas-Peucker: first tolerance as a fraction of the track's extent, and how many doublings to try.
_FIRST_TOLERANCE = 1.0 / 20000.0
_MAX_DOUBLINGS = 16

FloatArray = npt.NDArray[np.float64]


@dataclass
class Bounds:
    """A lat/lon box that grows as features are added (longitudes may exceed 180 after unwrapping)."""

    south: float = math.inf
    west: float = math.inf
    north: float = -math.inf
    east: float = -math.inf

    def add(self, lat: float | None, lon: float | None) -> None:
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            return
        self.south, self.north = min(self.south, lat), max(self.north, lat)
        self.west, self.east = min(self.west, lon), max(self.east, lon)

    def add_array(self, lat: FloatArray, lon: FloatArray) -> None:
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            self.add(float(lat[ok].min()), float(lon[ok].min()))
            self.add(float(lat[ok].max()), float(lon[ok].max()))

    @property
    def empty(self) -> bool:
        return not math.isfinite(self.south)

    def grown(self, fraction: float = 0.15, minimum_deg: float = 0.3) -> Bounds:
        """The box grown by ``fraction`` of its size on each side, and to at least ``minimum_deg``."""
        if self.empty:
            return Bounds()
        dlat = max((self.north - self.south) * fraction, (minimum_deg - (self.north - self.south)) / 2, 0.0)
        dlon = max((self.east - self.west) * fraction, (minimum_deg - (self.east - self.west)) / 2, 0.0)
        return Bounds(max(self.south - dlat, -85.0), self.west - dlon, min(self.north + dlat, 85.0),
                      self.east + dlon)

    def as_list(self) -> list[list[float]] | None:
        if self.empty:
            return None
        return [[round(self.south, 4), round(self.west, 4)], [round(self.north, 4), round(self.east, 4)]]


@dataclass
class SimplifiedTrack:
    """One vessel's track over a window: the parts drawn and how many fixes they stand for."""

    parts: list[FloatArray]  # each (n, 2): lat, lon (lon unwrapped)
    n_stored: int  # fixes in the window
    n_drawn: int  # vertices kept
    tolerance_m: float  # the Douglas-Peucker tolerance that met the budget (0: nothing removed)

    def encoded(self) -> list[list[int]]:
        return [encode_coords(p) for p in self.parts]


def track_budget(n_tracks: int, per_track: int, total: int, floor: int = 40) -> int:
    """Points allowed per track: ``per_track``, lowered so ``n_tracks`` fit in ``total``, never under ``floor``."""
    if n_tracks <= 0:
        return per_track
    return max(floor, min(per_track, total // n_tracks))


def _unwrap_lon(lon: FloatArray) -> FloatArray:
    if lon.size < 2:
        return lon
    return np.asarray(np.unwrap(lon, period=360.0), dtype=np.float64)


def simplify_track(lat: Sequence[float] | FloatArray, lon: Sequence[float] | FloatArray,
                   ts_us: Sequence[int] | npt.NDArray[np.int64], budget: int,
                   split_gap_s: float) -> SimplifiedTrack:
    """Split at time gaps longer than ``split_gap_s``, then Douglas-Peucker down to ``budget`` vertices.

    Inputs must be one vessel's fixes in time order. Single-fix parts are kept as they are (drawn
    as a dot); every returned vertex is one of the input fixes.
    """
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a = _unwrap_lon(np.asarray(lon, dtype=np.float64))
    ts = np.asarray(ts_us, dtype=np.int64)
    n = lat_a.size
    if n == 0:
        return SimplifiedTrack([], 0, 0, 0.0)
    budget = max(2, int(budget))
    cuts = np.flatnonzero(np.diff(ts) > split_gap_s * 1e6) + 1
    bounds = np.concatenate([[0], cuts, [n]])
    pieces = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
    if n <= budget:
        return SimplifiedTrack([np.column_stack([lat_a[a:b], lon_a[a:b]]) for a, b in pieces], n, n, 0.0)
    k = math.cos(math.radians(float(np.clip(np.nanmean(lat_a), -80, 80))))
    x, y = lon_a * k, lat_a
    extent = math.hypot(float(x.max() - x.min()), float(y.max() - y.min())) or 1e-6
    multi = [(a, b) for a, b in pieces if b - a >= 2]
    singles = [(a, b) for a, b in pieces if b - a < 2]
    lines: npt.NDArray[np.object_] = np.array([], dtype=object)
    if multi:
        sel = np.concatenate([np.arange(a, b) for a, b in multi])
        lines = shapely.linestrings(np.column_stack([x[sel], y[sel]]),
                                    indices=np.repeat(np.arange(len(multi)), [b - a for a, b in multi]))
    tol = extent * _FIRST_TOLERANCE
    simplified = lines
    for _ in range(_MAX_DOUBLINGS):
        simplified = shapely.simplify(lines, tol, preserve_topology=False)
        if int(shapely.get_num_coordinates(simplified).sum()) + len(singles) <= budget:
            break
        tol *= 2.0
    parts: list[FloatArray] = []
    for geom in simplified:
        xy = shapely.get_coordinates(geom)
        # DP keeps input vertices: the scaled x maps back to the original longitude
        parts.append(np.column_stack([xy[:, 1], xy[:, 0] / k]))
    parts += [np.column_stack([lat_a[a:b], lon_a[a:b]]) for a, b in singles]
    total = sum(len(p) for p in parts)
    if total > budget:
        parts = _thin(parts, budget)
    drawn = sum(len(p) for p in parts)
    return SimplifiedTrack(parts, n, drawn, round(tol * 111_195.0, 1))


def _thin(parts: list[FloatArray], budget: int) -> list[FloatArray]:
    """Keep the longest parts that fit at 2+ vertices each and thin each evenly to its share."""
    order = sorted(range(len(parts)), key=lambda i: -len(parts[i]))
    keep = order[: max(1, budget // 2)]
    total = sum(len(parts[i]) for i in keep)
    out: list[FloatArray] = []
    for i in sorted(keep):
        p = parts[i]
        share = max(min(len(p), 2), int(budget * len(p) / max(total, 1)))
        if len(p) > share:
            idx = np.unique(np.linspace(0, len(p) - 1, share).round().astype(np.int64))
            p = p[idx]
        out.append(p)
    while sum(len(p) for p in out) > budget and len(out) > 1:
        out.pop(int(np.argmin([len(p) for p in out])))
    return out


def encode_coords(latlon: FloatArray | Sequence[Sequence[float]]) -> list[int]:
    """``[[lat, lon], ...]`` -> ``[lat0, lon0, dlat1, dlon1, ...]`` in integers of 1/COORD_SCALE degree."""
    arr = np.asarray(latlon, dtype=np.float64).reshape(-1, 2)
    if arr.size == 0:
        return []
    q = np.round(arr * COORD_SCALE).astype(np.int64)
    d = np.vstack([q[:1], np.diff(q, axis=0)])
    return [int(v) for v in d.ravel()]


def decode_coords(flat: Sequence[int]) -> FloatArray:
    """Inverse of :func:`encode_coords`: an (n, 2) array of lat, lon in degrees."""
    arr = np.asarray(flat, dtype=np.int64).reshape(-1, 2)
    return np.cumsum(arr, axis=0) / COORD_SCALE


def _round_geojson(geom: dict[str, object], digits: int) -> dict[str, object]:
    def rnd(c: object) -> object:
        if isinstance(c, (list, tuple)):
            if c and isinstance(c[0], (int, float)):
                return [round(float(v), digits) for v in c]
            return [rnd(v) for v in c]
        return c

    return {"type": geom["type"], "coordinates": rnd(geom["coordinates"])}


def clip_basemap(extents: Iterable[Bounds], *, tolerance_deg: float | None = None,
                 digits: int = 3) -> dict[str, object]:
    """Natural Earth land clipped to the union of ``extents`` (each already grown), as a GeoJSON
    FeatureCollection with coordinates rounded to ``digits`` decimals.

    The simplification tolerance defaults to the median map diagonal / 1500, within 0.003-0.05
    degree (0.3-5 km): close to the 1:50m data's own detail for port-scale maps, coarser for
    ocean-scale ones. Extents reaching past 180 degrees (unwrapped tracks) get the land shifted by
    360 degrees there.
    """
    from sanctionwatch.geo import land_mask

    boxes = []
    diagonals = []
    for b in extents:
        if b.empty:
            continue
        boxes.append(box(max(b.west, -540.0), b.south, min(b.east, 540.0), b.north))
        diagonals.append(math.hypot(b.north - b.south, b.east - b.west))
    features: list[dict[str, object]] = []
    if not boxes:
        return {"type": "FeatureCollection", "features": features}
    if tolerance_deg is None:
        tolerance_deg = float(np.clip(np.median(diagonals) / 1500.0, 0.003, 0.05))
    area = shapely.union_all(boxes)
    land = land_mask().polygons
    for shift in (-360.0, 0.0, 360.0):
        window = shapely.intersection(area, box(-180.0 + shift, -90.0, 180.0 + shift, 90.0))
        if window.is_empty:
            continue
        window = affinity.translate(window, xoff=-shift) if shift else window
        clipped = shapely.intersection(land, window)
        if clipped.is_empty:
            continue
        clipped = shapely.simplify(clipped, tolerance_deg, preserve_topology=True)
        if shift:
            clipped = affinity.translate(clipped, xoff=shift)
        for part in shapely.get_parts(clipped):
            if part.is_empty or part.geom_type not in ("Polygon", "MultiPolygon") or part.area < tolerance_deg ** 2:
                continue
            features.append({"type": "Feature", "properties": {},
                             "geometry": _round_geojson(dict(mapping(part)), digits)})
    return {"type": "FeatureCollection", "features": features}
