"""CFAR ship detection on single-band SAR GeoTIFFs, tile by tile, into DETECTIONS rows.

A ship is a cluster of pixels much brighter than the sea around it. Each pixel is compared with
the sea ("clutter") in a square ring around it -- background window minus guard window, as in
SNAP's Adaptive Thresholding and GFW's Earth Engine detector (domain.md §3.2, §3.4). No-data,
land (Natural Earth plus a buffer) and, in a second pass, the first pass's objects are left out
of the ring (masked sums and counts), so coasts and neighbouring ships do not raise the threshold.
The threshold T comes from the probability of false alarm per pixel ``pfa``:

* ``ca``: cell averaging for L-look gamma clutter (exponential at L = 1), T = alpha·mean with the
  exact finite-N multiplier: alpha = N (Pfa^(-1/N) - 1) at L = 1; for any L, X/(X+S) ~
  Beta(L, N L) (test cell X, ring sum S), so alpha = N z/(1 - z), z = betainccinv(L, N L, Pfa).
  Holds Pfa on homogeneous speckle only: sea texture fattens the tail (16x nominal at ν = 1).
* ``k`` (default): K-distributed clutter, gamma texture times speckle, the usual sea-clutter model
  (Crisp 2004, DSTO-RR-0272, via domain.md §3.4). T = mean · t(Pfa, ν, L), t solving
  P(I > t) = Pfa by quadrature over the texture, tabulated once per (Pfa, L); ν per pixel from the
  ring's log-cumulant E[ln I] - ln E[I] (see :func:`k_inverse_shape` for why not E[I²]). ν = ∞
  is the gamma quantile, so it holds Pfa on homogeneous and textured sea alike; ring estimation
  noise is ignored (N ~ 10^4 cells at the defaults).
* ``two_parameter``: T = mean + k·std, k = Φ⁻¹(1 - Pfa), the Gaussian-tail rule of SNAP (GFW
  picks k = 14-17 empirically instead). For comparison only: intensity is not Gaussian, and at
  Pfa = 1e-3 it gives ~17x the nominal false alarms on exponential clutter.

Detected pixels form objects (8-connectivity). Length = sqrt(12 λ₁), λ₁ the major eigenvalue of
the pixel covariance in metres (each pixel a uniform square): the long side of a uniform
rectangle. Heading = bearing of the major axis from true north in [0, 180): a CFAR mask cannot
tell bow from stern, so 10° and 190° are one answer. Confidence from the peak-to-threshold ratio
r: 1 - 2^(-(r - 1)/(h - 1)), h = ``confidence_half_ratio`` (0 at the threshold, 0.5 at r = h).
A ranking heuristic, not a probability: exponential clutter reaches r·T with probability
~Pfa^r, so each step of r makes clutter far less likely.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import rasterio
from scipy import ndimage, special
from shapely.geometry import Polygon

from sanctionwatch.config import Config, params_from_config
from sanctionwatch.geo import LandMask, initial_bearing_deg, land_mask
from sanctionwatch.imagery import sar_scene as ss
from sanctionwatch.imagery.cfar_threshold import (
    ca_alpha,
    k_inverse_shape,
    k_tail_probability,
    k_threshold_factor,
)
from sanctionwatch.imagery.sar_scene import SceneError
from sanctionwatch.schema import DETECTIONS, UTC_TS
from sanctionwatch.screening.lists.base import source_id_of

__all__ = ["CfarParams", "CfarStats", "SceneDetections", "SceneError", "ca_alpha", "detect_vessels",
           "k_inverse_shape", "k_tail_probability", "k_threshold_factor"]

ProgressFn = Callable[[int, int], None]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
METHODS = ("k", "ca", "two_parameter")
SENSOR = "cfar"
_GDAL_CACHE_MB = 64
# Heading is left null for blobs that are nearly round: sqrt(λ₁/λ₂) below this.
_MIN_ELONGATION_FOR_HEADING = 1.2


@dataclass(frozen=True)
class CfarParams:
    """Detector settings; each field ``<name>`` is the setting ``imagery.cfar_<name>``."""

    # Probability of false alarm per sea pixel: 10^-6.5, the default of ESA SNAP's Adaptive
    # Thresholding ship detector (pfa = 6.5, i.e. 10^-6.5; domain.md §3.4). ~0.3 false pixels
    # per km² of 10 m pixels before the min_pixels filter.
    pfa: float = 10**-6.5
    method: str = "k"
    # Equivalent number of looks of the intensity: 1 = single-look (exponential speckle). Sentinel-1
    # IW GRDH has ~4.4; using 1 there is conservative (threshold too high, fewer detections).
    looks: float = 1.0
    # Half-widths of the square guard and background windows: GFW's detector uses square kernels
    # of radius 200 m and 600 m (paper-industrial-activity detector/core/gee.py moving_mean,
    # ee.Kernel.square(radius=...); config.yaml window_inner/window_outer; domain.md §3.2).
    guard_radius_m: float = 200.0
    background_radius_m: float = 600.0
    # A pixel is tested only if its ring keeps this share of its cells after no-data, land and
    # censoring (a quarter = a scene corner); fewer cells give a noisy mean (design).
    min_background_fraction: float = 0.25
    # Second pass with the first pass's objects of >= min_pixels (grown by one pixel) left out of
    # the rings, so a ship does not raise its own or its neighbours' threshold (design).
    censor: bool = True
    # Land is grown by this before masking: GFW masks a 1 km shore buffer (config.yaml
    # shore_buffer: 1), and the 1:50m coastline is itself generalised by 1-2 km (geo.py).
    land_buffer_m: float = 1000.0
    # Smallest object: 2 connected pixels, as GFW's optional sieve (gee.py get_connected_pixels,
    # gte=2); single pixels are mostly speckle.
    min_pixels: int = 2
    min_length_m: float = 0.0
    # Longest object kept: xView3 caps vessel lengths at 500 m (xview3-reference metric.py;
    # domain.md §3.1); longer blobs are coast, ice or azimuth smearing. Also sets the tile halo.
    max_length_m: float = 500.0
    # Largest 1/ν used by the K rule (ν >= 0.1, spikier than any sea clutter we know of).
    max_inverse_shape: float = 10.0
    # Peak/threshold ratio at which confidence = 0.5 (3 dB above the threshold; design).
    confidence_half_ratio: float = 2.0
    # Tile core side; each tile also reads a halo, so ~10 float32 arrays of (2048 + 2·halo)² ~ 0.3 GB.
    tile_px: int = 2048

    def __post_init__(self) -> None:
        if not 0.0 < self.pfa < 0.5:
            raise ValueError(f"pfa must be in (0, 0.5), got {self.pfa}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0 < self.guard_radius_m < self.background_radius_m:
            raise ValueError("need 0 < guard_radius_m < background_radius_m")
        if self.looks <= 0 or self.max_inverse_shape <= 0 or self.confidence_half_ratio <= 1:
            raise ValueError("looks and max_inverse_shape must be > 0, confidence_half_ratio > 1")
        if self.tile_px < 16 or self.min_pixels < 1 or self.land_buffer_m < 0 or self.max_length_m <= 0:
            raise ValueError("tile_px >= 16, min_pixels >= 1, land_buffer_m >= 0, max_length_m > 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: Config) -> CfarParams:
        """The ``imagery.cfar_*`` settings of a frozen config."""
        return params_from_config(cls, config, "imagery.cfar_")


@dataclass(frozen=True)
class CfarStats:
    """What the detector saw; pixel counts are over tile cores, so each pixel counts once."""

    width: int
    height: int
    pixel_dx_m: float
    pixel_dy_m: float
    scale: str
    tiles: int
    pixels_valid: int  # finite, not nodata
    pixels_land: int  # valid and on land or within the buffer
    pixels_tested: int  # valid sea pixels with enough background cells
    pixels_detected: int  # tested pixels above the threshold (second pass)
    background_cells_full: int  # ring cells of an unobstructed window
    background_cells_mean: float  # mean ring cells actually used, over tested pixels
    threshold_factor_mean: float  # mean threshold / ring mean, over tested pixels
    inverse_shape_mean: float  # mean estimated 1/ν (method k; NaN otherwise)
    objects_found: int  # connected objects with their centroid in a core, before the size filters
    objects_reported: int
    seconds: float

    @property
    def land_fraction(self) -> float:
        return self.pixels_land / self.pixels_valid if self.pixels_valid else 0.0


@dataclass(frozen=True)
class SceneDetections:
    """The detections (``DETECTIONS`` schema), the scene outline in WGS84 and the run's figures."""

    detections: pa.Table
    footprint: Polygon
    stats: CfarStats
    params: CfarParams
    scene_id: str
    source_id: str


# -- one tile -----------------------------------------------------------------------------------


class _Window(NamedTuple):
    ry_g: int
    rx_g: int
    ry_o: int
    rx_o: int

    @property
    def ring_cells(self) -> int:
        return (2 * self.ry_o + 1) * (2 * self.rx_o + 1) - (2 * self.ry_g + 1) * (2 * self.rx_g + 1)


class _Thresholds(NamedTuple):
    threshold: F32  # NaN where the pixel is not tested
    cells: npt.NDArray[np.int32]
    factor: F32  # threshold / ring mean
    inverse_shape: F32 | None


def _ring_sum(a: F32, w: _Window) -> F32:
    def box(ry: int, rx: int) -> F32:
        size = (2 * ry + 1, 2 * rx + 1)
        out: F32 = ndimage.uniform_filter(a, size=size, mode="constant", cval=0.0)
        out *= np.float32(size[0] * size[1])
        return out

    s = box(w.ry_o, w.rx_o)
    s -= box(w.ry_g, w.rx_g)
    return s


def _thresholds(intensity: F32, background: npt.NDArray[np.bool_], w: _Window, p: CfarParams,
                alpha: F64) -> _Thresholds:
    x = np.where(background, intensity, np.float32(0.0))
    cells = np.rint(_ring_sum(background.astype(np.float32), w)).astype(np.int32)
    n = np.maximum(cells, 1).astype(np.float32)
    mean = _ring_sum(x, w)
    mean /= n
    u: F32 | None = None
    if p.method == "ca":
        factor = alpha[np.clip(cells, 0, alpha.size - 1)].astype(np.float32)
    elif p.method == "k":
        np.log(x, out=x, where=background)  # x = ln I on the background, 0 elsewhere
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = _ring_sum(x, w) / n - np.log(mean)
        u = k_inverse_shape(kappa, p.looks, p.max_inverse_shape).astype(np.float32)
        factor = k_threshold_factor(p.pfa, u, p.looks, p.max_inverse_shape).astype(np.float32)
    else:
        np.square(x, out=x)
        k = np.float32(-special.ndtri(p.pfa))
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.sqrt(np.maximum(_ring_sum(x, w) / n - np.square(mean), 0.0))
            factor = np.float32(1.0) + k * std / mean
    del x
    threshold = factor * mean
    threshold[(cells < p.min_background_fraction * w.ring_cells) | ~(mean > 0)] = np.nan
    return _Thresholds(threshold, cells, factor, u)


def _cfar_tile(intensity: F32, land: npt.NDArray[np.bool_], w: _Window, p: CfarParams,
               alpha: F64) -> tuple[npt.NDArray[np.bool_], _Thresholds]:
    valid = np.isfinite(intensity) & ~land
    th = _thresholds(intensity, valid, w, p, alpha)
    exceed = intensity > th.threshold  # NaN (untested) compares False
    if p.censor and exceed.any():
        # Censor objects of at least min_pixels only: removing every exceedance cuts the top of
        # the clutter tail out of the rings and biases the K shape (1.1-1.3x the nominal false
        # alarms at Pfa = 1e-3, measured); single-pixel spikes belong to the clutter statistics.
        labels, _ = ndimage.label(exceed, structure=np.ones((3, 3), dtype=bool))
        big = (np.bincount(labels.ravel()) >= p.min_pixels)[labels] & exceed
        del labels
        if big.any():
            keep = valid & ~ndimage.binary_dilation(big, structure=np.ones((3, 3), dtype=bool))
            del th, big, exceed  # the second pass replaces them; do not hold both in memory
            th = _thresholds(intensity, keep, w, p, alpha)
            exceed = intensity > th.threshold
    return exceed & valid, th


def _objects(exceed: npt.NDArray[np.bool_], intensity: F32, threshold: F32, tile: ss.Tile,
             scene: ss.SarScene) -> dict[str, Any]:
    """Per object (centroid in this tile's core): pixel count, centroid, moments (metres), peak ratio."""
    labels, n = ndimage.label(exceed, structure=np.ones((3, 3), dtype=bool))
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc] - 1
    count = np.bincount(lab, minlength=n)
    gr, gc = rr.astype(np.int64) + tile.row_off, cc.astype(np.int64) + tile.col_off
    sum_r = np.bincount(lab, weights=gr, minlength=n).astype(np.int64)  # exact: integer sums < 2^53
    sum_c = np.bincount(lab, weights=gc, minlength=n).astype(np.int64)
    # Centroid in the core, decided in integers so two tiles never both (or neither) keep an
    # object: r0 - 0.5 <= sum/count < r1 - 0.5.
    (r0, r1), (c0, c1) = tile.core_rows, tile.core_cols
    keep = ((2 * sum_r >= (2 * r0 - 1) * count) & (2 * sum_r < (2 * r1 - 1) * count)
            & (2 * sum_c >= (2 * c0 - 1) * count) & (2 * sum_c < (2 * c1 - 1) * count))
    # Objects cut by the read window's inner edge are longer than the halo allows (> max_length_m).
    h, w = exceed.shape
    edge = ((rr == 0) & (tile.row_off > 0)) | ((rr == h - 1) & (tile.row_off + h < scene.height))
    edge |= ((cc == 0) & (tile.col_off > 0)) | ((cc == w - 1) & (tile.col_off + w < scene.width))
    keep &= np.bincount(lab, weights=edge, minlength=n) == 0
    mr, mc = sum_r / np.maximum(count, 1), sum_c / np.maximum(count, 1)
    dy, dx = (gr - mr[lab]) * scene.pixel_dy_m, (gc - mc[lab]) * scene.pixel_dx_m
    cnt = np.maximum(count, 1)
    # Each pixel is a uniform square: add its own variance (d²/12) to the point moments.
    cyy = np.bincount(lab, weights=dy * dy, minlength=n) / cnt + scene.pixel_dy_m**2 / 12.0
    cxx = np.bincount(lab, weights=dx * dx, minlength=n) / cnt + scene.pixel_dx_m**2 / 12.0
    cxy = np.bincount(lab, weights=dx * dy, minlength=n) / cnt
    peak = np.zeros(n)
    np.maximum.at(peak, lab, intensity[rr, cc].astype(np.float64) / threshold[rr, cc])
    idx = np.flatnonzero(keep)
    return {"count": count[idx], "row": mr[idx], "col": mc[idx], "cxx": cxx[idx], "cyy": cyy[idx],
            "cxy": cxy[idx], "peak": peak[idx]}


def _describe(obj: dict[str, Any], scene: ss.SarScene, p: CfarParams) -> dict[str, Any]:
    """Length, heading, position and confidence of objects, and the size filters."""
    cxx, cyy, cxy = obj["cxx"], obj["cyy"], obj["cxy"]
    half_sum, root = (cxx + cyy) / 2.0, np.hypot((cxx - cyy) / 2.0, cxy)
    lam1, lam2 = half_sum + root, np.maximum(half_sum - root, 1e-12)
    length = np.sqrt(12.0 * lam1)
    theta = 0.5 * np.arctan2(2.0 * cxy, cxx - cyy)  # major axis, from +column towards +row (metres)
    step = np.maximum(length / 2.0, max(scene.pixel_dx_m, scene.pixel_dy_m))
    r2 = obj["row"] + np.sin(theta) * step / scene.pixel_dy_m
    c2 = obj["col"] + np.cos(theta) * step / scene.pixel_dx_m
    lon, lat = scene.lonlat(obj["row"], obj["col"])
    lon2, lat2 = scene.lonlat(r2, c2)
    heading = np.mod(np.asarray(initial_bearing_deg(lat, lon, lat2, lon2), dtype=np.float64), 180.0)
    heading[np.sqrt(lam1 / lam2) < _MIN_ELONGATION_FOR_HEADING] = np.nan
    h = p.confidence_half_ratio
    confidence = 1.0 - np.exp2(-(np.maximum(obj["peak"], 1.0) - 1.0) / (h - 1.0))
    ok = (obj["count"] >= p.min_pixels) & (length >= p.min_length_m) & (length <= p.max_length_m)
    return {"row": obj["row"][ok], "col": obj["col"][ok], "lat": lat[ok], "lon": np.mod(lon[ok] + 180.0, 360.0) - 180.0,
            "length": length[ok], "heading": heading[ok], "confidence": confidence[ok]}


# -- a scene ------------------------------------------------------------------------------------


def _table(parts: list[dict[str, Any]], scene_id: str, ts: dt.datetime, source_id: str) -> pa.Table:
    cols = {k: np.concatenate([q[k] for q in parts]) if parts else np.zeros(0) for k in
            ("row", "col", "lat", "lon", "length", "heading", "confidence")}
    order = np.lexsort((cols["col"], cols["row"]))  # numbering independent of the tiling
    n = order.size
    rec = np.arange(1, n + 1, dtype=np.int64)
    heading = cols["heading"][order].astype(np.float32)
    arrays = [
        pa.array([f"{scene_id}-{i}" for i in rec], pa.string()),
        pa.array([scene_id] * n, pa.string()),
        pa.array([ts] * n, UTC_TS),
        pa.array(cols["lat"][order], pa.float64()),
        pa.array(cols["lon"][order], pa.float64()),
        pa.array(cols["length"][order].astype(np.float32), pa.float32()),
        pa.array(heading, pa.float32(), mask=np.isnan(heading)),
        pa.array(cols["confidence"][order].astype(np.float32), pa.float32()),
        pa.array([SENSOR] * n, pa.string()),
        pa.array([source_id] * n, pa.string()),
        pa.array(rec, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=DETECTIONS.arrow())


def detect_vessels(
    path: Path | str,
    ts_utc: dt.datetime,
    *,
    scene_id: str | None = None,
    band: int | None = None,
    scale: ss.Scale = "auto",
    params: CfarParams | None = None,
    land: LandMask | bool = True,
    on_progress: ProgressFn | None = None,
) -> SceneDetections:
    """Detect bright objects (vessels) in a SAR GeoTIFF with CFAR; see the module docstring.

    ``ts_utc`` is the acquisition time and must be timezone-aware (a naive time is refused: read
    in the wrong zone it moves every ship hours along its AIS track). ``land``: True = the
    packaged Natural Earth land, False = no land mask, or a :class:`LandMask` of your own.
    ``on_progress(done, total)`` is called after each tile. Raises :class:`SceneError` (naming the
    file) for a naive time, unusable georeferencing, an ambiguous band or a scene with no valid
    pixel.
    """
    t_start = time.perf_counter()
    p = params or CfarParams()
    if not isinstance(ts_utc, dt.datetime) or ts_utc.utcoffset() is None:
        raise SceneError(path, f"ts_utc {ts_utc!r} has no timezone; pass an aware datetime (e.g. tzinfo=UTC)")
    scene = ss.open_scene(path, band=band, scale=scale)
    sid = scene_id or scene.path.stem
    dy, dx = scene.pixel_dy_m, scene.pixel_dx_m
    w = _Window(max(1, round(p.guard_radius_m / dy)), max(1, round(p.guard_radius_m / dx)),
                max(2, round(p.background_radius_m / dy)), max(2, round(p.background_radius_m / dx)))
    w = w._replace(ry_o=max(w.ry_o, w.ry_g + 1), rx_o=max(w.rx_o, w.rx_g + 1))
    alpha = ca_alpha(p.pfa, np.arange(w.ring_cells + 1), p.looks) if p.method == "ca" else np.zeros(1)
    # Halo: an object up to max_length_m around a core pixel, plus two ring radii (its pixels'
    # rings, and the first-pass detections censored from those rings), plus the censoring pixel.
    halo_r = math.ceil(p.max_length_m / dy) + 2 * w.ry_o + 2
    halo_c = math.ceil(p.max_length_m / dx) + 2 * w.rx_o + 2
    tiles = ss.plan_tiles(scene, p.tile_px, halo_r, halo_c)
    lm = (land_mask() if land is True else land) if land is not False else None
    scene_land = ss.SceneLand(scene, lm, p.land_buffer_m) if isinstance(lm, LandMask) else None
    n_valid = n_land = n_tested = n_detected = n_found = 0
    sum_cells = sum_factor = sum_u = 0.0
    parts: list[dict[str, Any]] = []
    # Each block is read about once (twice in halos): GDAL's default block cache (5 % of RAM) would
    # only hold memory, ~0.4 GB on a 10k x 10k scene.
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_MB), rasterio.open(scene.path) as ds:
        for done, tile in enumerate(tiles, start=1):
            inten = ss.read_intensity(ds, scene, tile.read)
            if not np.isfinite(inten).any():  # a no-data tile (scene border, swath gap): nothing to test
                if on_progress:
                    on_progress(done, len(tiles))
                continue
            on_land = scene_land.mask(tile.read) if scene_land else np.zeros(inten.shape, dtype=bool)
            exceed, th = _cfar_tile(inten, on_land, w, p, alpha)
            core = (slice(tile.core_rows[0] - tile.row_off, tile.core_rows[1] - tile.row_off),
                    slice(tile.core_cols[0] - tile.col_off, tile.core_cols[1] - tile.col_off))
            valid = np.isfinite(inten[core])
            tested = valid & ~on_land[core] & np.isfinite(th.threshold[core])
            n_valid += int(valid.sum())
            n_land += int((valid & on_land[core]).sum())
            n_tested += int(tested.sum())
            n_detected += int(exceed[core].sum())
            sum_cells += float(th.cells[core][tested].sum(dtype=np.float64))
            sum_factor += float(th.factor[core][tested].sum(dtype=np.float64))
            if th.inverse_shape is not None:
                sum_u += float(th.inverse_shape[core][tested].sum(dtype=np.float64))
            if exceed.any():
                obj = _objects(exceed, inten, th.threshold, tile, scene)
                n_found += int(obj["count"].size)
                parts.append(_describe(obj, scene, p))
            if on_progress:
                on_progress(done, len(tiles))
    if n_valid == 0:
        raise SceneError(scene.path, "no valid pixels: every value is NaN, nodata or (linear/DN) not positive")
    source_id = source_id_of(scene.path)
    table = _table(parts, sid, ts_utc.astimezone(dt.UTC), source_id)

    def mean(total: float) -> float:
        return total / n_tested if n_tested else math.nan

    stats = CfarStats(scene.width, scene.height, dx, dy, scene.scale, len(tiles), n_valid, n_land, n_tested,
                      n_detected, w.ring_cells, mean(sum_cells), mean(sum_factor),
                      mean(sum_u) if p.method == "k" else math.nan, n_found, table.num_rows,
                      time.perf_counter() - t_start)
    return SceneDetections(table, scene.footprint(), stats, p, sid, source_id)
