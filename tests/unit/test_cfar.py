"""CFAR ship detector on generated SAR GeoTIFFs: detection, false alarms, tiling, land, bad input.

Clutter is K-distributed intensity, the standard sea-clutter model (domain.md §3.4): a gamma
texture of shape ν (mean 1) times exponential single-look speckle, drawn i.i.d. per pixel from a
seeded Generator. i.i.d. texture is the hard case for a cell-averaging detector: the ring mean
cannot follow the texture, so only a threshold that knows the tail shape holds the false-alarm
rate. Ships are modelled as bright rectangles of known size and heading: a constant
signal-to-clutter ratio (a few stable dominant scatterers) added to the sea beneath.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyproj
import pytest
import rasterio
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning
from scipy import special

from sanctionwatch.geo import land_mask
from sanctionwatch.imagery.cfar import (
    CfarParams,
    SceneError,
    ca_alpha,
    detect_vessels,
    k_tail_probability,
    k_threshold_factor,
)
from sanctionwatch.schema import DETECTIONS

UTC = dt.UTC
T0 = dt.datetime(2023, 10, 12, 21, 40, 5, tzinfo=UTC)
GEOD = pyproj.Geod(ellps="WGS84")
UTM52 = "EPSG:32652"  # central meridian 129°E: grid north is within ~1.3° of true north at 131°E, 41.5°N
N = 600  # scene side in pixels: big enough for 1.2 km rings, small enough for ~0.1 s per run


def clutter(rng: np.random.Generator, shape: tuple[int, int], nu: float | None, mean: float = 0.01) -> np.ndarray:
    """K intensity (gamma(ν) texture x exponential speckle); ν None = pure speckle (exponential)."""
    texture = rng.gamma(nu, 1.0 / nu, shape) if nu else 1.0
    return (mean * texture * rng.exponential(1.0, shape)).astype(np.float32)


def add_ship(img: np.ndarray, row: float, col: float, length_m: float, width_m: float, heading_deg: float,
             dx_m: float, dy_m: float, scr: float, mean: float = 0.01) -> int:
    """Add a rectangle (centre at fractional pixel row/col, north-up grid); returns its pixel count."""
    rr, cc = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    east, north = (cc - col) * dx_m, -(rr - row) * dy_m
    h = math.radians(heading_deg)
    along = east * math.sin(h) + north * math.cos(h)
    across = east * math.cos(h) - north * math.sin(h)
    inside = (np.abs(along) <= length_m / 2) & (np.abs(across) <= width_m / 2)
    img[inside] += np.float32(scr * mean)
    return int(inside.sum())


def write_tif(path: Path, arr: np.ndarray, crs: str | None = UTM52, transform: object = None, nodata: float | None = None,
              ) -> Path:
    bands = arr if arr.ndim == 3 else arr[None]
    kw = {"crs": crs} if crs else {}
    if transform is not None:
        kw["transform"] = transform
    with warnings.catch_warnings():
        # Deliberately ungeoreferenced files (bad-input tests) make rasterio warn on write.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", height=bands.shape[1], width=bands.shape[2],
                           count=bands.shape[0], dtype=bands.dtype, nodata=nodata, **kw) as ds:
            ds.write(bands)
    return path


def from_origin(west: float, north: float, dx: float, dy: float) -> Affine:
    # rasterio.transform.from_origin multiplies Affines with *, deprecated in affine >= 3.1.
    return Affine(dx, 0.0, west, 0.0, -dy, north)


def utm_transform(lat: float, lon: float, pixel_m: float, n: int = N) -> Affine:
    """North-up UTM 52N grid of n x n pixels centred on (lat, lon)."""
    x, y = pyproj.Transformer.from_crs("EPSG:4326", UTM52, always_xy=True).transform(lon, lat)
    return from_origin(x - n / 2 * pixel_m, y + n / 2 * pixel_m, pixel_m, pixel_m)


def px_of(path: Path, lat: float, lon: float) -> tuple[float, float]:
    """Fractional pixel index (row, col; 0 = centre of the first pixel) of a WGS84 point."""
    with rasterio.open(path) as ds:
        x, y = pyproj.Transformer.from_crs("EPSG:4326", ds.crs.to_wkt(), always_xy=True).transform(lon, lat)
        t = ds.transform
        col, row = (x - t.c) / t.a, (y - t.f) / t.e
    return row - 0.5, col - 0.5


def nearest(table: pa.Table, lat: float, lon: float) -> tuple[float, int]:
    """Distance (m) to and row index of the detection nearest (lat, lon)."""
    if table.num_rows == 0:
        return math.inf, -1
    lats, lons = table["lat_deg"].to_numpy(), table["lon_deg"].to_numpy()
    _, _, d = GEOD.inv(np.full(lats.size, lon), np.full(lats.size, lat), lons, lats)
    i = int(np.argmin(d))
    return float(d[i]), i


def angle_diff_180(a: float, b: float) -> float:
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


# -- threshold formulas ------------------------------------------------------------------------


def test_threshold_formulas_match_closed_forms() -> None:
    n = np.array([1, 8, 100, 13_000])
    assert np.allclose(ca_alpha(1e-3, n), n * (1e-3 ** (-1 / n) - 1), rtol=1e-9)  # N (Pfa^(-1/N) - 1)
    # many cells: alpha -> the exponential quantile -ln(Pfa)
    assert ca_alpha(1e-6, [10**7])[0] == pytest.approx(-math.log(1e-6), rel=1e-5)
    for nu in (0.5, 1.0, 3.0):  # L = 1: closed form 2/Γ(ν) (νt)^(ν/2) K_ν(2√(νt))
        t = np.array([3.0, 20.0, 80.0])
        closed = 2 / special.gamma(nu) * (nu * t) ** (nu / 2) * special.kv(nu, 2 * np.sqrt(nu * t))
        assert np.allclose(k_tail_probability(t, 1 / nu), closed, rtol=1e-8)
    pfa = 10**-6.5
    f = k_threshold_factor(pfa, [0.0, 0.5, 1.0])
    assert f[0] == pytest.approx(-math.log(pfa), rel=1e-6)  # ν = ∞: exponential
    assert np.allclose(k_tail_probability(f, [0.0, 0.5, 1.0]), pfa, rtol=1e-3)
    assert f[0] < f[1] < f[2]  # spikier clutter, higher threshold


# -- detection -----------------------------------------------------------------------------------

SHIPS = [  # (length_m, width_m, heading_deg)
    (60, 15, 0), (100, 20, 30), (150, 25, 45), (200, 30, 60), (250, 40, 90), (300, 45, 120),
    (120, 20, 135), (180, 30, 160), (80, 20, 10), (220, 35, 75), (90, 15, 100), (280, 40, 170),
    (140, 20, 20), (160, 25, 150), (70, 15, 110), (240, 35, 50),
]


def ship_scene(tmp_path: Path, rng: np.random.Generator, nu: float | None, scr: float, name: str = "s1-utm",
               ) -> tuple[Path, list[tuple[float, float, float, float, float]]]:
    """UTM scene (10 m pixels) with the 16 SHIPS on a 4 x 4 grid, 1.4 km apart (outside each other's rings)."""
    img = clutter(rng, (N, N), nu)
    truth = []
    for k, (length, width, heading) in enumerate(SHIPS):
        row, col = 90 + 140 * (k // 4) + 0.3, 90 + 140 * (k % 4) - 0.2
        add_ship(img, row, col, length, width, heading, 10.0, 10.0, scr)
        truth.append((row, col, length, width, heading))
    path = write_tif(tmp_path / f"{name}.tif", img, transform=utm_transform(41.5, 130.9, 10.0))
    return path, truth


def test_detects_ships_in_k_clutter_with_length_and_heading(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    # ν = 2: moderately spiky sea; the K threshold at Pfa 10^-6.5 is ~45x the mean (16.6 dB), so
    # ships 20 dB above the mean clutter are well clear of it.
    path, truth = ship_scene(tmp_path, rng, nu=2.0, scr=100.0)
    result = detect_vessels(path, T0, land=False)
    det = result.detections
    assert det.schema.equals(DETECTIONS.arrow(), check_metadata=True)
    lons, lats = (np.array(v) for v in zip(*[_lonlat(path, r, c) for r, c, *_ in truth], strict=True))
    found = 0
    for (_, _, length, _, heading), lat, lon in zip(truth, lats, lons, strict=True):
        d, i = nearest(det, lat, lon)
        if d > 30.0:  # a few metres of centroid error; 30 m = 3 pixels
            continue
        found += 1
        est_len = det["length_m"][i].as_py()
        # second-moment length of a digitised rectangle: within 10 % (+ one 10 m pixel)
        assert abs(est_len - length) <= 0.10 * length + 10.0, (length, heading, est_len)
        est_head = det["heading_deg"][i].as_py()
        assert est_head is not None and 0.0 <= est_head < 180.0
        assert angle_diff_180(est_head, heading) <= 5.0, (length, heading, est_head)
    pd_ = found / len(truth)
    assert pd_ >= 0.95
    # nothing else: at Pfa 10^-6.5 and >= 2 pixels, ~0 clutter objects are expected in 36 km²
    assert det.num_rows <= len(truth) + 1
    assert det["sensor"].unique().to_pylist() == ["cfar"]
    assert det["scene_id"].unique().to_pylist() == ["s1-utm"]
    assert det["record_no"].to_pylist() == list(range(1, det.num_rows + 1))
    assert det["detection_id"][0].as_py() == "s1-utm-1"
    assert det["source_id"][0].as_py() == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert set(det["ts_utc"].to_pylist()) == {T0}
    conf = det["confidence"].to_numpy()
    assert ((conf > 0.5) & (conf <= 1.0)).all()  # 20 dB ships sit far above the threshold
    # footprint: the scene outline in WGS84, ~6 km across, containing every detection
    fp = result.footprint
    assert fp.is_valid and 30e6 < abs(GEOD.geometry_area_perimeter(fp)[0]) < 42e6
    assert result.stats.pixels_valid == N * N and result.stats.land_fraction == 0.0


def _lonlat(path: Path, row: float, col: float) -> tuple[float, float]:
    with rasterio.open(path) as ds:
        t = ds.transform
        x, y = t.c + t.a * (col + 0.5), t.f + t.e * (row + 0.5)
        lon, lat = pyproj.Transformer.from_crs(ds.crs.to_wkt(), "EPSG:4326", always_xy=True).transform(x, y)
    return lon, lat


def test_weak_ships_are_missed_rather_than_threshold_lowered(tmp_path: Path) -> None:
    # 12 dB below the K threshold (SCR 10 dB vs ~16.6 dB): the detector must not find them, which
    # shows Pd above comes from the targets' strength, not from a loose threshold.
    path, _ = ship_scene(tmp_path, np.random.default_rng(8), nu=2.0, scr=10.0, name="weak")
    assert detect_vessels(path, T0, land=False).detections.num_rows <= 2


def test_geographic_scene(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    lat0, lon0, step = 41.5, 132.5, 1e-4  # EPSG:4326 grid: 8.3 m east x 11.1 m north per pixel
    dx = GEOD.inv(lon0, lat0, lon0 + step, lat0)[2]
    dy = GEOD.inv(lon0, lat0, lon0, lat0 + step)[2]
    img = clutter(rng, (N, N), 3.0)
    ships = [(150, 200, 120, 25, 30), (300, 300, 200, 30, 90), (450, 420, 90, 20, 145), (150, 450, 250, 40, 0)]
    for r, c, length, width, heading in ships:
        add_ship(img, r, c, length, width, heading, dx, dy, 100.0)
    transform = from_origin(lon0 - N / 2 * step, lat0 + N / 2 * step, step, step)
    path = write_tif(tmp_path / "geo.tif", img, crs="EPSG:4326", transform=transform)
    result = detect_vessels(path, T0, scene_id="GEO-1", land=False)
    assert result.stats.pixel_dx_m == pytest.approx(dx, rel=0.01)
    assert result.stats.pixel_dy_m == pytest.approx(dy, rel=0.01)
    det = result.detections
    assert det.num_rows == len(ships)
    for r, c, length, _, heading in ships:
        lon, lat = _lonlat(path, r, c)
        d, i = nearest(det, lat, lon)
        assert d < 30.0
        assert abs(det["length_m"][i].as_py() - length) <= 0.10 * length + 11.0
        assert angle_diff_180(det["heading_deg"][i].as_py(), heading) <= 5.0
    assert det["detection_id"].to_pylist() == [f"GEO-1-{k}" for k in range(1, len(ships) + 1)]


# -- false alarms -------------------------------------------------------------------------------
# Measured on target-free scenes at Pfa = 1e-3, where a 600 x 600 scene gives ~360 false pixels:
# Poisson sd ~5 %, and neighbouring pixels share ring estimates, so rates are asserted within a
# factor 1.3 of nominal (0.77-1.3x). Operational Pfa (~1e-7) cannot be measured on small scenes.

PFA = 1e-3


def fa_rate(tmp_path: Path, nu: float | None, method: str, seed: int) -> float:
    img = clutter(np.random.default_rng(seed), (N, N), nu)
    path = write_tif(tmp_path / f"fa-{nu}-{method}.tif", img, transform=utm_transform(41.5, 130.9, 10.0))
    s = detect_vessels(path, T0, land=False, params=CfarParams(pfa=PFA, method=method)).stats
    assert s.pixels_tested >= 0.999 * N * N  # quarter-ring corners keep >= 25 % of the cells
    return s.pixels_detected / s.pixels_tested


def test_false_alarm_rate_exponential_clutter(tmp_path: Path) -> None:
    # Homogeneous speckle: the exact CA multiplier and the K rule (ν̂ -> ∞) both hold Pfa ...
    assert 0.77 * PFA <= fa_rate(tmp_path, None, "ca", 1) <= 1.3 * PFA
    assert 0.77 * PFA <= fa_rate(tmp_path, None, "k", 1) <= 1.3 * PFA
    # ... the Gaussian two-parameter rule does not: k = Φ⁻¹(1 - 1e-3) = 3.09 std above the mean is
    # 4.09x the mean for exponential clutter, exceeded with probability e^-4.09 = 1.7e-2 (17x).
    assert fa_rate(tmp_path, None, "two_parameter", 1) > 8 * PFA


def test_false_alarm_rate_k_clutter(tmp_path: Path) -> None:
    # Spiky K clutter (ν = 1): the exponential CA threshold (6.9x the mean) is exceeded with
    # probability 2√6.9 K₁(2√6.9) = 1.6e-2, 16x nominal ...
    assert fa_rate(tmp_path, 1.0, "ca", 2) > 8 * PFA
    # ... the K rule estimates ν from the ring and holds it.
    assert 0.77 * PFA <= fa_rate(tmp_path, 1.0, "k", 2) <= 1.3 * PFA


def test_false_alarms_per_km2_at_default_pfa(tmp_path: Path) -> None:
    # 36 km² of 10 m pixels at Pfa 10^-6.5: 0.11 false pixels expected, and objects need 2 pixels.
    img = clutter(np.random.default_rng(3), (N, N), 1.0)
    path = write_tif(tmp_path / "quiet.tif", img, transform=utm_transform(41.5, 130.9, 10.0))
    s = detect_vessels(path, T0, land=False).stats
    area_km2 = s.pixels_tested * s.pixel_dx_m * s.pixel_dy_m / 1e6
    assert area_km2 == pytest.approx(36.0, rel=0.01)
    assert s.objects_reported / area_km2 <= 1 / 36  # at most one in the scene
    assert s.pixels_detected <= 2


# -- tiling --------------------------------------------------------------------------------------


def test_tiling_gives_the_same_detections(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    img = clutter(rng, (N, N), 2.0)
    # centroids exactly on core boundaries (row 199.5, col 399.5: the tie-break case), across a
    # corner, and well inside a tile
    for r, c, length, heading in [(199.5, 300, 100, 0), (450, 399.5, 150, 90), (199.5, 199.5, 120, 45),
                                  (80, 520, 200, 135)]:
        add_ship(img, r, c, length, 20, heading, 10.0, 10.0, 100.0)
    path = write_tif(tmp_path / "tiles.tif", img, transform=utm_transform(41.5, 130.9, 10.0))
    calls: list[tuple[int, int]] = []
    tiled = detect_vessels(path, T0, land=False, params=CfarParams(tile_px=200),
                           on_progress=lambda d, t: calls.append((d, t)))
    whole = detect_vessels(path, T0, land=False, params=CfarParams(tile_px=4096))
    assert calls == [(k, 9) for k in range(1, 10)] and tiled.stats.tiles == 9 and whole.stats.tiles == 1
    a, b = tiled.detections, whole.detections
    assert a.num_rows == b.num_rows == 4  # the boundary ships are reported once
    for col in ("lat_deg", "lon_deg", "length_m", "heading_deg", "confidence"):
        assert np.allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-5, atol=1e-6), col
    assert a["detection_id"].to_pylist() == b["detection_id"].to_pylist()
    for f in ("pixels_valid", "pixels_tested", "pixels_detected", "objects_reported"):
        assert getattr(tiled.stats, f) == getattr(whole.stats, f), f


# -- land ----------------------------------------------------------------------------------------


def test_land_is_masked_near_rajin(tmp_path: Path) -> None:
    lm = land_mask()
    land_pt, sea_pt = (42.280, 130.260), (42.190, 130.380)  # inland Rajin-Sonbong / offshore, 12 km box
    assert lm.contains(*land_pt) and not lm.contains(*sea_pt)
    assert lm.distance_to_coast_m(*land_pt) > 2500 and lm.distance_to_coast_m(*sea_pt) > 2500
    img = clutter(np.random.default_rng(9), (N, N), 2.0)
    path = write_tif(tmp_path / "rajin.tif", img, transform=utm_transform(42.235, 130.320, 20.0))
    for lat, lon in (land_pt, sea_pt):
        r, c = px_of(path, lat, lon)
        add_ship(img, r, c, 200, 40, 60, 20.0, 20.0, 100.0)
    write_tif(path, img, transform=utm_transform(42.235, 130.320, 20.0))
    masked = detect_vessels(path, T0)
    assert 0.2 < masked.stats.land_fraction < 0.8
    assert nearest(masked.detections, *sea_pt)[0] < 40.0
    assert nearest(masked.detections, *land_pt)[0] > 2000.0
    assert masked.detections.num_rows == 1
    unmasked = detect_vessels(path, T0, land=False)  # the mask, not the clutter, removed it
    assert nearest(unmasked.detections, *land_pt)[0] < 40.0
    assert unmasked.stats.land_fraction == 0.0


# -- input scales -------------------------------------------------------------------------------


def test_db_and_dn_inputs_give_the_same_detections(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    img = clutter(rng, (N, N), 2.0)
    add_ship(img, 300, 300, 180, 30, 40, 10.0, 10.0, 100.0)
    t = utm_transform(41.5, 130.9, 10.0)
    lin = detect_vessels(write_tif(tmp_path / "lin.tif", img, transform=t), T0, land=False)
    db_img = (10 * np.log10(img)).astype(np.float32)
    db_img[:5, :] = -9999.0  # nodata strip
    db = detect_vessels(write_tif(tmp_path / "db.tif", db_img, transform=t, nodata=-9999.0), T0, land=False)
    # Sentinel-1 GRD style: uint16 amplitude DN, 0 = no data; squared to intensity (scale-free)
    dn_img = np.round(np.sqrt(img) * 2000).clip(1, 65535).astype(np.uint16)
    dn_img[:, :3] = 0
    dn = detect_vessels(write_tif(tmp_path / "dn.tif", dn_img, transform=t, nodata=0), T0, land=False)
    assert db.stats.scale == "db" and lin.stats.scale == "linear" and dn.stats.scale == "dn"
    assert db.stats.pixels_valid == N * N - 5 * N and dn.stats.pixels_valid == N * N - 3 * N
    assert db.detections.num_rows == lin.detections.num_rows == dn.detections.num_rows == 1
    length = lin.detections["length_m"][0].as_py()
    assert db.detections["length_m"][0].as_py() == pytest.approx(length, rel=1e-3)
    assert dn.detections["length_m"][0].as_py() == pytest.approx(length, rel=0.05)


# -- bad input -----------------------------------------------------------------------------------


def test_bad_inputs_raise_scene_errors_naming_the_file(tmp_path: Path) -> None:
    img = clutter(np.random.default_rng(0), (64, 64), None)
    t = utm_transform(41.5, 130.9, 10.0, n=64)
    no_crs = write_tif(tmp_path / "no_crs.tif", img, crs=None, transform=t)
    with pytest.raises(SceneError, match=r"no_crs\.tif: has no CRS"):
        detect_vessels(no_crs, T0, land=False)
    no_gt = write_tif(tmp_path / "no_gt.tif", img, crs=UTM52, transform=None)
    with pytest.raises(SceneError, match=r"no_gt\.tif: has no geotransform"):
        detect_vessels(no_gt, T0, land=False)
    # Sentinel-1 GRD measurement TIFFs are georeferenced by GCPs only: say so, and how to fix it
    gcps = [GroundControlPoint(r, c, 130.0 + c / 640, 42.0 - r / 640) for r in (0, 63) for c in (0, 63)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "grd.tif", "w", driver="GTiff", height=64, width=64, count=1, dtype="uint16",
                           gcps=gcps, crs="EPSG:4326") as ds:
            ds.write(np.ones((1, 64, 64), dtype=np.uint16))
    with pytest.raises(SceneError, match=r"grd\.tif: has no geotransform \(only GCPs: warp it"):
        detect_vessels(tmp_path / "grd.tif", T0, land=False)
    nan = write_tif(tmp_path / "all_nan.tif", np.full((64, 64), np.nan, dtype=np.float32), transform=t)
    with pytest.raises(SceneError, match=r"all_nan\.tif: no valid pixels"):
        detect_vessels(nan, T0, land=False)
    ok = write_tif(tmp_path / "ok.tif", img, transform=t)
    with pytest.raises(SceneError, match=r"ok\.tif: ts_utc .* has no timezone"):
        detect_vessels(ok, dt.datetime(2023, 10, 12, 21, 40), land=False)
    two = write_tif(tmp_path / "vv_vh.tif", np.stack([img, img]), transform=t)
    with pytest.raises(SceneError, match=r"vv_vh\.tif: has 2 bands; choose one"):
        detect_vessels(two, T0, land=False)
    assert detect_vessels(two, T0, band=2, land=False).stats.pixels_valid == 64 * 64
    with pytest.raises(SceneError, match=r"missing\.tif: file not found"):
        detect_vessels(tmp_path / "missing.tif", T0)
    with pytest.raises(ValueError, match="pfa"):
        CfarParams(pfa=0.0)
