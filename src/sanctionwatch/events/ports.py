"""The ports a vessel can visit, and a fast "which port is this position in" lookup.

Ports come from two places:

* the watched areas (:func:`geo.default_areas` or :func:`geo.load_areas`): a Point area is entered
  within its own ``radius_m`` and left at ``radius_m x exit/entry`` (4/3 with the GFW defaults); a
  Polygon area is entered at its edge and left ``exit - entry`` (1 km) outside it;
* optionally the packaged NGA World Port Index points (``data/ports/wpi_ports.csv``, 3,803 ports),
  entered at ``events.port_entry_distance_km`` and left at ``events.port_exit_distance_km``.

GFW measures the distance to AIS-derived anchorage points (pipe-anchorages); we have no anchorage
layer yet, so WPI points stand in for them. A WPI point is the port's nominal position (often the
town), so anchorages several km off (Suez Bay, Port Said roads) are only covered by a watched area.

Lookup (:meth:`PortIndex.classify`) is vectorised: ports are registered in every cell of a
0.1-degree lat/lon grid that their exit circle (or buffered polygon) touches; positions are joined
to the ports of their own cell and only those pairs are measured. A million positions against
~3,800 ports take well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

import numpy as np
import numpy.typing as npt
import polars as pl
import shapely
from shapely.geometry.base import BaseGeometry

from sanctionwatch.config import Config
from sanctionwatch.geo import EARTH_RADIUS_M, Area, default_areas, haversine_m

__all__ = [
    "ZONE_BAND",
    "ZONE_IN",
    "ZONE_OUT",
    "PortHits",
    "PortIndex",
    "build_port_index",
    "wpi_ports",
]

# Zones of a position relative to its best port (GFW pipe-anchorages _is_in_port): inside the entry
# distance, in the hysteresis band between entry and exit, or at/after the exit distance.
ZONE_IN = 0
ZONE_BAND = 1
ZONE_OUT = 2

# Grid cell of the spatial prefilter. 0.1 degree (~11 km north-south) is larger than any exit
# radius we expect, so most ports touch 1-4 cells and a cell holds few ports.
GRID_CELL_DEG = 0.1
_N_LAT_CELLS = round(180 / GRID_CELL_DEG)
_N_LON_CELLS = round(360 / GRID_CELL_DEG)
# Ranking priority when two ports are equally "in": a watched area beats a gazetteer point, so a
# visit to Rajin is reported against the watched area, not the WPI entry 1.3 km away.
PRIORITY_AREA = 0
PRIORITY_WPI = 1

WPI_FILE = "ports/wpi_ports.csv"
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PortHits:
    """Per position: zone (ZONE_IN/BAND/OUT), index of the best port (-1 if none) and its distance."""

    zone: npt.NDArray[np.int8]
    port: npt.NDArray[np.int32]
    distance_m: FloatArray  # to the port point; 0 inside a polygon; NaN for polygon bands/none


@dataclass(frozen=True)
class PortIndex:
    """Ports with entry/exit distances and a grid index. Build with :func:`build_port_index`."""

    port_id: tuple[str, ...]
    name: tuple[str, ...]
    source: tuple[str, ...]  # "area" or "wpi"
    lat_deg: FloatArray
    lon_deg: FloatArray
    entry_m: FloatArray  # NaN for polygons
    exit_m: FloatArray
    priority: npt.NDArray[np.int8]
    polygons: tuple[tuple[BaseGeometry, BaseGeometry] | None, ...]  # (area, exit area) per port
    _cells: pl.DataFrame = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.port_id)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {pid: i for i, pid in reversed(list(enumerate(self.port_id)))}

    def index_of(self, port_id: str) -> int:
        """Row of ``port_id`` (the first, if an id occurs twice). Raises KeyError if unknown."""
        return self._positions[port_id]

    def classify(self, lat_deg: FloatArray, lon_deg: FloatArray) -> PortHits:
        """Zone and best port of each position (vectorised).

        The best port is the one with the lowest zone, then the watched area before the gazetteer,
        then the smallest distance relative to its entry radius (a polygon counts as distance 0
        inside). Invalid positions (NaN) are ZONE_OUT.
        """
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        n = lat.size
        zone = np.full(n, ZONE_OUT, dtype=np.int8)
        port = np.full(n, -1, dtype=np.int32)
        dist = np.full(n, np.nan)
        ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0))
        if ok.size == 0 or len(self) == 0:
            return PortHits(zone, port, dist)
        pts = pl.DataFrame({"i": ok, "cell": _cell_keys(lat[ok], lon[ok])})
        pairs = pts.join(self._cells, on="cell", how="inner")
        if pairs.height == 0:
            return PortHits(zone, port, dist)
        pi = pairs.get_column("i").to_numpy()
        pp = pairs.get_column("port").to_numpy()
        pz, norm, pd = self._measure(lat[pi], lon[pi], pp)
        # Best pair per position: sort by (position, zone, priority, relative distance), keep the first.
        order = np.lexsort((norm, self.priority[pp], pz, pi))
        pi, pp, pz, pd = pi[order], pp[order], pz[order], pd[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        zone[pi[first]] = pz[first]
        hit = first & (pz < ZONE_OUT)
        port[pi[hit]] = pp[hit]
        dist[pi[hit]] = pd[hit]
        return PortHits(zone, port, dist)

    def _measure(
        self, lat: FloatArray, lon: FloatArray, port: IntArray
    ) -> tuple[npt.NDArray[np.int8], FloatArray, FloatArray]:
        d = np.asarray(haversine_m(lat, lon, self.lat_deg[port], self.lon_deg[port]), dtype=np.float64)
        entry, exit_ = self.entry_m[port], self.exit_m[port]
        zone = np.where(d <= entry, ZONE_IN, np.where(d < exit_, ZONE_BAND, ZONE_OUT)).astype(np.int8)
        norm = d / entry
        is_poly = np.isnan(entry)
        if is_poly.any():
            d[is_poly] = np.nan
            for k in np.unique(port[is_poly]):
                geoms = self.polygons[k]
                assert geoms is not None
                sel = np.flatnonzero(port == k)
                x = np.mod(lon[sel] + 180.0, 360.0) - 180.0
                inside = shapely.intersects_xy(geoms[0], x, lat[sel])
                band = ~inside & shapely.intersects_xy(geoms[1], x, lat[sel])
                zone[sel] = np.where(inside, ZONE_IN, np.where(band, ZONE_BAND, ZONE_OUT))
                norm[sel] = np.where(inside, 0.0, np.where(band, 1.0, np.inf))
                d[sel[inside]] = 0.0
        return zone, norm, d


def _cell_keys(lat: FloatArray, lon: FloatArray) -> IntArray:
    ilat = np.clip(np.floor((lat + 90.0) / GRID_CELL_DEG), 0, _N_LAT_CELLS - 1).astype(np.int64)
    ilon = np.mod(np.floor((lon + 180.0) / GRID_CELL_DEG), _N_LON_CELLS).astype(np.int64)
    result: IntArray = ilat * _N_LON_CELLS + ilon
    return result


def _box_cells(lat_min: float, lat_max: float, lon_min: float, lon_max: float) -> IntArray:
    """Keys of every grid cell touching a lat/lon box (longitudes may run past ±180: they wrap)."""
    i0 = max(0, math.floor((lat_min + 90.0) / GRID_CELL_DEG))
    i1 = min(_N_LAT_CELLS - 1, math.floor((lat_max + 90.0) / GRID_CELL_DEG))
    if lon_max - lon_min >= 360.0:
        js = np.arange(_N_LON_CELLS)
    else:
        j0 = math.floor((lon_min + 180.0) / GRID_CELL_DEG)
        j1 = math.floor((lon_max + 180.0) / GRID_CELL_DEG)
        js = np.unique(np.mod(np.arange(j0, j1 + 1), _N_LON_CELLS))
    ii = np.arange(i0, i1 + 1)
    keys: IntArray = (ii[:, None] * _N_LON_CELLS + js[None, :]).ravel().astype(np.int64)
    return keys


def _circle_cells(lat: float, lon: float, radius_m: float) -> IntArray:
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    far_lat = min(89.999, abs(lat) + dlat)
    dlon = min(360.0, dlat / math.cos(math.radians(far_lat)))
    return _box_cells(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def _buffer_m(poly: BaseGeometry, margin_m: float) -> BaseGeometry:
    """``poly`` grown by ``margin_m`` metres, in a local equirectangular plane (fine at port scale)."""
    c = poly.centroid
    k = math.cos(math.radians(c.y))

    def to_local(xy: FloatArray) -> FloatArray:
        out: FloatArray = np.column_stack([(xy[:, 0] - c.x) * k, xy[:, 1] - c.y])
        return out

    def to_lonlat(xy: FloatArray) -> FloatArray:
        out: FloatArray = np.column_stack([xy[:, 0] / k + c.x, xy[:, 1] + c.y])
        return out

    local = shapely.transform(poly, to_local)
    grown = shapely.transform(local.buffer(margin_m / _M_PER_DEG), to_lonlat)
    shapely.prepare(grown)
    return grown


@cache
def wpi_ports() -> pl.DataFrame:
    """The packaged World Port Index gazetteer (port_id, name, lat_deg, lon_deg, ...)."""
    ref = resources.files("sanctionwatch.data").joinpath(WPI_FILE)
    with ref.open("rb") as fh:
        return pl.read_csv(fh.read())


def build_port_index(
    config: Config,
    areas: Sequence[Area] | None = None,
    *,
    include_wpi: bool | None = None,
) -> PortIndex:
    """Ports from watched ``areas`` (default: the packaged ones) plus, if ``include_wpi`` (default:
    setting ``events.port_use_wpi``), the WPI gazetteer.

    Raises ``ValueError`` when the exit distance is below the entry distance.
    """
    entry_m = float(config["events.port_entry_distance_km"]) * 1000.0
    exit_m = float(config["events.port_exit_distance_km"]) * 1000.0
    if exit_m < entry_m:
        raise ValueError(
            f"events.port_exit_distance_km ({exit_m / 1000}) must be >= "
            f"events.port_entry_distance_km ({entry_m / 1000}) (hysteresis)"
        )
    ratio = exit_m / entry_m
    if areas is None:
        areas = default_areas()
    if include_wpi is None:
        include_wpi = bool(config["events.port_use_wpi"])

    ids: list[str] = []
    names: list[str] = []
    sources: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    entries: list[float] = []
    exits: list[float] = []
    prios: list[int] = []
    polys: list[tuple[BaseGeometry, BaseGeometry] | None] = []
    cell_parts: list[IntArray] = []
    owner_parts: list[IntArray] = []

    def add(pid: str, name: str, source: str, lat: float, lon: float, entry: float, exit_: float,
            prio: int, poly: tuple[BaseGeometry, BaseGeometry] | None, cells: IntArray) -> None:
        cell_parts.append(cells)
        owner_parts.append(np.full(cells.size, len(ids), dtype=np.int64))
        ids.append(pid)
        names.append(name)
        sources.append(source)
        lats.append(lat)
        lons.append(lon)
        entries.append(entry)
        exits.append(exit_)
        prios.append(prio)
        polys.append(poly)

    for a in areas:
        if a.polygon is not None:
            grown = _buffer_m(a.polygon, exit_m - entry_m)
            minx, miny, maxx, maxy = grown.bounds
            add(a.area_id, a.name, "area", a.lat_deg, a.lon_deg, math.nan, math.nan, PRIORITY_AREA,
                (a.polygon, grown), _box_cells(miny, maxy, minx, maxx))
        else:
            r_entry = float(a.radius_m or entry_m)
            add(a.area_id, a.name, "area", a.lat_deg, a.lon_deg, r_entry, r_entry * ratio, PRIORITY_AREA,
                None, _circle_cells(a.lat_deg, a.lon_deg, r_entry * ratio))
    if include_wpi:
        for pid, name, lat, lon in wpi_ports().select("port_id", "name", "lat_deg", "lon_deg").iter_rows():
            add(pid, name, "wpi", lat, lon, entry_m, exit_m, PRIORITY_WPI, None,
                _circle_cells(lat, lon, exit_m))

    cells = pl.DataFrame(
        {
            "cell": np.concatenate(cell_parts) if cell_parts else np.zeros(0, np.int64),
            "port": np.concatenate(owner_parts) if owner_parts else np.zeros(0, np.int64),
        }
    )
    return PortIndex(
        port_id=tuple(ids),
        name=tuple(names),
        source=tuple(sources),
        lat_deg=np.array(lats, dtype=np.float64),
        lon_deg=np.array(lons, dtype=np.float64),
        entry_m=np.array(entries, dtype=np.float64),
        exit_m=np.array(exits, dtype=np.float64),
        priority=np.array(prios, dtype=np.int8),
        polygons=tuple(polys),
        _cells=cells,
    )
