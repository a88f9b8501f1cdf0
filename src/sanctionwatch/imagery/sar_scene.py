"""Single-band SAR GeoTIFF scenes for the CFAR detector: validation, intensity, tiles, geolocation, land.

Kept apart from :mod:`sanctionwatch.imagery.cfar` so the detector works on arrays and this module
owns everything that touches the file and the map:

* :func:`open_scene` checks the file once and says plainly what is wrong (:class:`SceneError`
  names the file): no CRS, no geotransform (Sentinel-1 GRD measurement TIFFs carry only GCPs and
  must be warped first), several bands and no choice, an unknown scale;
* :func:`read_intensity` turns one window into float32 linear intensity with NaN for no data, so
  a 10k x 10k scene is never held whole;
* :func:`plan_tiles` cuts the scene into cores plus overlapping halos;
* :class:`SceneLand` rasterises the packaged Natural Earth land onto any window of the scene grid
  and grows it by a buffer in metres (a Euclidean distance transform, exact at any buffer width);
* pixel sizes in metres are geodesic distances at the scene centre, so projected (UTM, Web
  Mercator) and geographic (EPSG:4326) grids are handled the same way.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyproj
import rasterio
import rasterio.features
import shapely
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import Polygon

from sanctionwatch.geo import LandMask

__all__ = ["SarScene", "Scale", "SceneError", "SceneLand", "Tile", "open_scene", "plan_tiles", "read_intensity"]

Scale = Literal["auto", "linear", "db", "dn"]
F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]

_GEOD = pyproj.Geod(ellps="WGS84")
# Points per footprint edge: enough for the curvature of a reprojected 250 km scene edge.
_FOOTPRINT_EDGE_POINTS = 16
# Side of the decimated read used to guess the scale ("auto"): ~260k samples.
_SCALE_SAMPLE_PX = 512


class SceneError(ValueError):
    """A scene that cannot be processed; the message starts with the file path."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class SarScene:
    """A validated scene: grid, georeferencing, the band to read and how to turn values into intensity."""

    path: Path
    band: int
    width: int
    height: int
    crs_wkt: str
    transform: Any  # affine.Affine (rasterio's), pixel corner -> CRS
    nodata: float | None
    scale: Literal["linear", "db", "dn"]
    pixel_dx_m: float  # geodesic size of one column step at the scene centre
    pixel_dy_m: float  # geodesic size of one row step at the scene centre
    _to_wgs84: pyproj.Transformer = field(repr=False, compare=False)
    _from_wgs84: pyproj.Transformer = field(repr=False, compare=False)

    def lonlat(self, rows: npt.ArrayLike, cols: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """WGS84 (lon, lat) of fractional pixel indices (0, 0 = centre of the top-left pixel)."""
        r = np.asarray(rows, dtype=np.float64) + 0.5
        c = np.asarray(cols, dtype=np.float64) + 0.5
        t = self.transform
        x = t.a * c + t.b * r + t.c
        y = t.d * c + t.e * r + t.f
        lon, lat = self._to_wgs84.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def footprint(self) -> Polygon:
        """The scene's outline (all pixels, valid or not) in WGS84 lon/lat, edges densified."""
        k = np.linspace(0.0, 1.0, _FOOTPRINT_EDGE_POINTS, endpoint=False)
        h, w = float(self.height), float(self.width)
        cols = np.concatenate([k * w, np.full_like(k, w), w - k * w, np.zeros_like(k)]) - 0.5
        rows = np.concatenate([np.zeros_like(k), k * h, np.full_like(k, h), h - k * h]) - 0.5
        lon, lat = self.lonlat(rows, cols)
        return Polygon(np.column_stack([lon, lat]))


@dataclass(frozen=True)
class Tile:
    """One unit of work: results are kept for the core, the read window adds a halo around it."""

    index: int
    core_rows: tuple[int, int]  # [start, stop) in scene rows
    core_cols: tuple[int, int]
    read: Window  # core plus halo, clipped to the scene

    @property
    def row_off(self) -> int:
        return int(self.read.row_off)

    @property
    def col_off(self) -> int:
        return int(self.read.col_off)


def _open_quiet(path: Path) -> Any:
    # A GeoTIFF with no georeferencing makes rasterio warn at open; we check and raise a
    # SceneError right after, so the warning would only repeat it (and pytest turns it into an error).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path)


def _pixel_size_m(transform: Any, to_wgs84: pyproj.Transformer, width: int, height: int) -> tuple[float, float]:
    """Geodesic length of one column step and one row step at the scene centre (metres)."""
    cr, cc = height / 2.0, width / 2.0
    pts_c = np.array([cc - 0.5, cc + 0.5, cc, cc])
    pts_r = np.array([cr, cr, cr - 0.5, cr + 0.5])
    x = transform.a * pts_c + transform.b * pts_r + transform.c
    y = transform.d * pts_c + transform.e * pts_r + transform.f
    lon, lat = to_wgs84.transform(x, y)
    _, _, dx = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, dy = _GEOD.inv(lon[2], lat[2], lon[3], lat[3])
    return float(dx), float(dy)


def _guess_scale(ds: Any, band: int, nodata: float | None) -> Literal["linear", "db", "dn"]:
    """'dn' for integer bands (Sentinel-1 GRD amplitude DN); else 'db' when most values are negative."""
    if np.issubdtype(np.dtype(ds.dtypes[band - 1]), np.integer):
        return "dn"
    shape = (min(ds.height, _SCALE_SAMPLE_PX), min(ds.width, _SCALE_SAMPLE_PX))
    sample = ds.read(band, out_shape=shape).astype(np.float64)
    ok = np.isfinite(sample)
    if nodata is not None:
        ok &= sample != nodata
    vals = sample[ok]
    # sigma0 in dB is mostly negative at sea (-35 to -5 dB); linear sigma0 is never negative.
    return "db" if vals.size and np.mean(vals < 0) > 0.5 else "linear"


def open_scene(path: Path | str, band: int | None = None, scale: Scale = "auto") -> SarScene:
    """Validate a SAR GeoTIFF and describe it; raises :class:`SceneError` naming the file.

    ``band`` (1-based) is required when the file has several bands: guessing VV or VH would give
    quietly different detections. ``scale``: ``linear`` (sigma0/beta0 intensity), ``db``
    (10·log10 intensity), ``dn`` (amplitude digital numbers, squared to intensity; CFAR compares
    ratios, so the calibration constant does not matter) or ``auto`` (integers -> dn; mostly
    negative values -> db; else linear).
    """
    p = Path(path)
    if not p.exists():
        raise SceneError(p, "file not found")
    if scale not in ("auto", "linear", "db", "dn"):
        raise SceneError(p, f"unknown scale {scale!r} (use auto, linear, db or dn)")
    try:
        ds = _open_quiet(p)
    except rasterio.errors.RasterioIOError as exc:
        raise SceneError(p, f"not a readable raster ({exc})") from exc
    with ds:
        if ds.count > 1 and band is None:
            raise SceneError(p, f"has {ds.count} bands; choose one with band=1..{ds.count} (e.g. VH or VV)")
        b = 1 if band is None else int(band)
        if not 1 <= b <= ds.count:
            raise SceneError(p, f"band {b} does not exist (the file has {ds.count})")
        gcps, _ = ds.gcps
        if ds.crs is None and not gcps:
            raise SceneError(p, "has no CRS; a detection could not be placed on the map")
        if ds.transform.is_identity:
            hint = " (only GCPs: warp it to a map grid first, e.g. gdalwarp -tps)" if gcps else ""
            raise SceneError(p, f"has no geotransform{hint}")
        if ds.crs is None:
            raise SceneError(p, "has no CRS; a detection could not be placed on the map")
        nodata = None if ds.nodatavals[b - 1] is None else float(ds.nodatavals[b - 1])
        resolved: Literal["linear", "db", "dn"] = _guess_scale(ds, b, nodata) if scale == "auto" else scale
        crs = pyproj.CRS.from_user_input(ds.crs.to_wkt())
        to_wgs84 = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        from_wgs84 = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        dx, dy = _pixel_size_m(ds.transform, to_wgs84, ds.width, ds.height)
        if not (math.isfinite(dx) and math.isfinite(dy) and dx > 0 and dy > 0):
            raise SceneError(p, "the geotransform gives no finite pixel size at the scene centre")
        return SarScene(p, b, ds.width, ds.height, crs.to_wkt(), ds.transform, nodata, resolved, dx, dy,
                        to_wgs84, from_wgs84)


def read_intensity(ds: Any, scene: SarScene, window: Window) -> F32:
    """Linear intensity of one window, float32, NaN where there is no data.

    No data = non-finite, equal to the nodata value, or (linear/DN) not positive: Sentinel-1
    GRD border-noise removal writes zeros, and no real backscatter is exactly zero.
    """
    raw = ds.read(scene.band, window=window, out_dtype=np.float32)
    bad = ~np.isfinite(raw)
    if scene.nodata is not None:
        bad |= raw == np.float32(scene.nodata)
    if scene.scale == "db":
        out = np.exp(raw * np.float32(math.log(10.0) / 10.0), dtype=np.float32)
    else:
        bad |= raw <= 0
        out = np.square(raw) if scene.scale == "dn" else raw
    out[bad] = np.nan
    return out


def plan_tiles(scene: SarScene, tile_px: int, halo_rows: int, halo_cols: int) -> list[Tile]:
    """Row-major tiles of ``tile_px`` square cores, each read with its halo (clipped to the scene)."""
    tiles: list[Tile] = []
    for r0 in range(0, scene.height, tile_px):
        r1 = min(r0 + tile_px, scene.height)
        for c0 in range(0, scene.width, tile_px):
            c1 = min(c0 + tile_px, scene.width)
            rr0, rr1 = max(0, r0 - halo_rows), min(scene.height, r1 + halo_rows)
            cc0, cc1 = max(0, c0 - halo_cols), min(scene.width, c1 + halo_cols)
            tiles.append(Tile(len(tiles), (r0, r1), (c0, c1), Window(cc0, rr0, cc1 - cc0, rr1 - rr0)))
    return tiles


class SceneLand:
    """Land (plus a buffer in metres) rasterised onto windows of one scene's grid.

    The packaged Natural Earth 1:50m land is clipped to the scene (plus the buffer), projected once
    to the scene CRS, then burnt per window with ``rasterio.features.rasterize`` (``all_touched``,
    so a coast crossing a pixel marks it) and grown by ``buffer_m`` with a Euclidean distance
    transform sampled at the pixel size in metres. The window is widened by the buffer before
    rasterising, so land just outside a tile (or outside the scene) still masks its coastal strip
    and every tiling gives the same mask.
    """

    def __init__(self, scene: SarScene, land: LandMask, buffer_m: float) -> None:
        self.scene = scene
        self.buffer_m = float(buffer_m)
        self._pad_rows = math.ceil(self.buffer_m / scene.pixel_dy_m) + 1
        self._pad_cols = math.ceil(self.buffer_m / scene.pixel_dx_m) + 1
        foot = scene.footprint()
        # Pad the lon/lat box by the buffer plus a kilometre (degrees of latitude ~ 111 km).
        pad_lat = (self.buffer_m + 1000.0) / 110_000.0
        lat_mid = (foot.bounds[1] + foot.bounds[3]) / 2.0
        pad_lon = pad_lat / max(math.cos(math.radians(lat_mid)), 0.01)
        x0, y0, x1, y1 = foot.bounds
        # LandMask keeps its prepared union private; the raster needs the polygons themselves.
        clipped = shapely.clip_by_rect(land.polygons, x0 - pad_lon, y0 - pad_lat, x1 + pad_lon, y1 + pad_lat)
        self._geom: Any = None
        if not clipped.is_empty:
            fwd = scene._from_wgs84

            def to_scene(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                x, y = fwd.transform(xy[:, 0], xy[:, 1])
                return np.column_stack([x, y])

            self._geom = shapely.transform(clipped, to_scene)

    def mask(self, window: Window) -> Bool:
        """True where the window's pixel is on land or within ``buffer_m`` of it."""
        h, w = int(window.height), int(window.width)
        if self._geom is None:
            return np.zeros((h, w), dtype=bool)
        pr, pc = self._pad_rows, self._pad_cols
        wide = Window(window.col_off - pc, window.row_off - pr, w + 2 * pc, h + 2 * pr)
        st = self.scene.transform
        # The window's own transform, spelt out: affine >= 3.1 deprecates Affine * (x, y), which
        # rasterio.windows.transform still uses.
        t = Affine(st.a, st.b, st.c + st.a * wide.col_off + st.b * wide.row_off,
                   st.d, st.e, st.f + st.d * wide.col_off + st.e * wide.row_off)
        cols = np.array([0.0, wide.width, 0.0, wide.width])
        rows = np.array([0.0, 0.0, wide.height, wide.height])
        xs, ys = t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f
        part = shapely.clip_by_rect(self._geom, xs.min(), ys.min(), xs.max(), ys.max())
        if part.is_empty:
            return np.zeros((h, w), dtype=bool)
        burnt = rasterio.features.rasterize([(part, 1)], out_shape=(int(wide.height), int(wide.width)),
                                            transform=t, fill=0, all_touched=True, dtype="uint8")
        if self.buffer_m > 0 and burnt.any():
            dist = ndimage.distance_transform_edt(burnt == 0, sampling=(self.scene.pixel_dy_m, self.scene.pixel_dx_m))
            near = np.asarray(dist <= self.buffer_m)
        else:
            near = burnt.astype(bool)
        return np.ascontiguousarray(near[pr : pr + h, pc : pc + w])
