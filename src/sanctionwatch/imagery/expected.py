"""Where each AIS vessel should be when a satellite took a scene, and how sure we can be.

Step 1 of matching detections to AIS (after GFW / Paolo et al. 2024 and Kroodsma et al. 2022,
domain.md section 3.2): every vessel with an AIS fix within ``max_fix_offset_min`` of the scene
time gets one *expected position* at that time:

* **interpolated** -- the last fix before and the first fix after the scene are in the same segment
  (:func:`sanctionwatch.tracks.segment.segment`) and at most ``max_interp_gap_min`` apart: the
  point at the time fraction of the rhumb line between them (:func:`rhumb_interpolate`; the
  longitude the short way round the antimeridian; exact for a ship holding course and speed);
* **dead_reckoned** -- otherwise, from the nearer fix (within ``max_fix_offset_min``) with its SOG
  and COG along the rhumb line (:func:`rhumb_destination`; backwards in time from a fix after the
  scene);
* **held** -- the nearer fix has no usable COG, or SOG below 0.35 kn, or no SOG: the vessel is
  held at the fix and its radius grows at its full speed (``unknown_speed_knots`` with no SOG).

Uncertainty (a 1-sigma radius in metres, ``dt`` = minutes to the nearer fix used, ``v`` = speed in
m/min: for interpolation the largest of the two reported SOGs and the implied speed between the
fixes; otherwise the reported SOG)::

    r = base_uncertainty_m + dt * max(f * v, uncertainty_floor_m_per_min)

with ``f = interp_speed_fraction`` (interpolated), ``extrap_speed_fraction`` (dead-reckoned) or 1
(held: any direction). Defaults and sources: :class:`~sanctionwatch.imagery.match_params.MatchingParams`.

Joins (so the Spark engine can run the same function): fixes are bucketed by time
(``max_fix_offset_min`` wide) and joined to scenes on the bucket (+-1), giving candidate
(scene, segment) pairs; scenes with a footprint drop segments whose fixes are far outside it; then
``join_asof`` backward and forward *by segment* finds the fixes either side of the scene time, so
interpolation never crosses a segment boundary. When one MMSI has several segments near a scene,
the interpolated ones are kept (two ships sharing an MMSI stay two), else the one with the nearest
fix (a single ship's track broken by a gap is not counted twice).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import shapely

from sanctionwatch.config import Config, defaults
from sanctionwatch.geo import EARTH_RADIUS_M, haversine_m
from sanctionwatch.imagery.match_params import KNOT_M_PER_MIN, MatchingParams
from sanctionwatch.tracks.quality import clean_sog_knots, float_column
from sanctionwatch.tracks.segment import VERY_SLOW_KNOTS, segment

__all__ = [
    "EXPECTED_SCHEMA",
    "METHODS",
    "expected_positions",
    "rhumb_destination",
    "rhumb_interpolate",
    "scene_key_expr",
    "scene_times",
]

FloatArray = npt.NDArray[np.float64]
_UTC = pl.Datetime("us", "UTC")
_US_PER_MIN = 60_000_000
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M
# Rhumb lines are computed below 89.9 deg (Mercator y diverges at the poles; no shipping there).
_MAX_LAT_RAD = math.radians(89.9)
# Speeds above this are taken as this when dead-reckoning, and it bounds the footprint prefilter:
# only fast craft exceed it, and AIS's 102.3 kn means "not available" (cleaned before).
PREFILTER_SPEED_KNOTS = 60.0
# Below this SOG the course over ground is noise and is not used as the AIS heading (design; cf.
# gpsdio-segment's very_slow of 0.35 kn for prediction).
MIN_COURSE_SPEED_KNOTS = 1.0

METHODS = ("interpolated", "dead_reckoned", "held")
EVIDENCE_DTYPE = pl.List(pl.Struct({"source_id": pl.String, "record_no": pl.Int64}))
_EXPECTED_SCHEMA_TYPES: dict[str, Any] = {
    "scene_id": pl.String, "ts_utc": _UTC, "mmsi": pl.Int32, "segment_id": pl.String, "method": pl.String,
    "expected_lat_deg": pl.Float64, "expected_lon_deg": pl.Float64, "uncertainty_m": pl.Float64,
    "fix_offset_min": pl.Float64, "speed_knots": pl.Float64, "heading_deg": pl.Float64,
    "evidence": EVIDENCE_DTYPE,
}
EXPECTED_SCHEMA = pl.Schema(_EXPECTED_SCHEMA_TYPES)


def scene_key_expr() -> pl.Expr:
    """The scene a detection belongs to: its ``scene_id``, or ``@<time>`` when it has none."""
    return pl.coalesce(pl.col("scene_id"), pl.lit("@") + pl.col("ts_utc").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))


def scene_times(detections: pl.DataFrame, scenes: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per scene to look at: scene_id, ts_utc, footprint_wkt (null when unknown).

    Every scene of ``scenes`` (SCENES rows) is kept, with or without detections: an imaged place with
    no detection is evidence too (AIS vessels there were "missed"). Detections whose scene is not in
    ``scenes`` add a scene at their earliest time; detections without a scene_id are grouped by time.
    """
    det = (
        detections.select(scene_key_expr().alias("scene_id"), pl.col("ts_utc").cast(_UTC))
        .group_by("scene_id").agg(pl.col("ts_utc").min())
    )
    if scenes is None or scenes.height == 0:
        out = det.with_columns(pl.lit(None, dtype=pl.String).alias("footprint_wkt"))
    else:
        sc = scenes.select(pl.col("scene_id"), pl.col("ts_utc").cast(_UTC), pl.col("footprint_wkt").cast(pl.String))
        out = pl.concat([sc, det.join(sc, on="scene_id", how="anti").with_columns(
            pl.lit(None, dtype=pl.String).alias("footprint_wkt"))], how="vertical_relaxed")
    return out.unique("scene_id", keep="first").sort("ts_utc", "scene_id")


def _mercator_y(lat_rad: FloatArray) -> FloatArray:
    lat = np.clip(lat_rad, -_MAX_LAT_RAD, _MAX_LAT_RAD)
    y: FloatArray = np.log(np.tan(np.pi / 4.0 + lat / 2.0))
    return y


def rhumb_interpolate(lat1_deg: FloatArray, lon1_deg: FloatArray, lat2_deg: FloatArray, lon2_deg: FloatArray,
                      frac: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Point at ``frac`` of the distance along the rhumb line (constant course) from 1 to 2.

    Why a rhumb line: between fixes a ship holds a compass course, and at constant course and speed
    the latitude changes linearly with time, so this is exact for such a ship (a great circle
    between fixes 4 h apart at 15 kn would be off by ~170 m at 35 deg N). Longitude the short way.
    """
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dlon = np.mod(lon2_deg - lon1_deg + 180.0, 360.0) - 180.0
    lat = p1 + frac * (p2 - p1)
    y1 = _mercator_y(p1)
    dy = _mercator_y(p2) - y1
    flat = np.abs(dy) < 1e-12  # along a parallel: longitude linear in time
    share = np.where(flat, frac, (_mercator_y(lat) - y1) / np.where(flat, 1.0, dy))
    return np.degrees(lat), np.mod(lon1_deg + share * dlon + 180.0, 360.0) - 180.0


def rhumb_destination(lat_deg: FloatArray, lon_deg: FloatArray, bearing_deg: FloatArray, dist_m: FloatArray
                      ) -> tuple[FloatArray, FloatArray]:
    """Where a ship holding course ``bearing_deg`` is after ``dist_m`` (rhumb line; dead reckoning)."""
    p1, theta, delta = np.radians(lat_deg), np.radians(bearing_deg), dist_m / EARTH_RADIUS_M
    p2 = np.clip(p1 + delta * np.cos(theta), -_MAX_LAT_RAD, _MAX_LAT_RAD)
    dy = _mercator_y(p2) - _mercator_y(p1)
    flat = np.abs(dy) < 1e-12
    q = np.where(flat, np.cos(p1), (p2 - p1) / np.where(flat, 1.0, dy))
    dlon = delta * np.sin(theta) / q
    return np.degrees(p2), np.mod(lon_deg + np.degrees(dlon) + 180.0, 360.0) - 180.0


def _fixes(seg: pl.DataFrame) -> pl.DataFrame:
    """Usable, segmented fixes, one per (segment, instant), sorted by time; SOG/COG/heading cleaned."""
    df = seg.filter(pl.col("segment_id").is_not_null())
    for col, dtype in (("source_id", pl.String), ("record_no", pl.Int64)):
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    sog = clean_sog_knots(float_column(df, "sog_knots"))
    cog = float_column(df, "cog_deg")
    hdg = float_column(df, "heading_deg")
    return (
        df.select(
            pl.col("mmsi").cast(pl.Int32), "segment_id", pl.col("ts_utc").dt.epoch("us").alias("t_us"),
            pl.col("lat_deg").cast(pl.Float64), pl.col("lon_deg").cast(pl.Float64),
            pl.col("source_id").cast(pl.String), pl.col("record_no").cast(pl.Int64),
        )
        .with_columns(
            pl.Series("sog", sog).fill_nan(None),
            pl.Series("cog", np.where((cog >= 0) & (cog < 360), cog, np.nan)).fill_nan(None),
            pl.Series("hdg", np.where((hdg >= 0) & (hdg < 360), hdg, np.nan)).fill_nan(None),
        )
        .sort("segment_id", "t_us", "source_id", "record_no")
        .unique(["segment_id", "t_us"], keep="first", maintain_order=True)
        .sort("t_us")
    )


def _scene_frame(scenes: pl.DataFrame, margin_m: float) -> pl.DataFrame:
    """scene_id, t_s (us), and the footprint's bounding box widened by ``margin_m`` (null: no footprint)."""
    wkt = scenes.get_column("footprint_wkt").to_list() if "footprint_wkt" in scenes.columns else [None] * scenes.height
    geoms = shapely.from_wkt(np.array(wkt, dtype=object), on_invalid="ignore")
    b = shapely.bounds(geoms)  # NaN rows for missing footprints
    m_lat = margin_m / _M_PER_DEG
    max_abs_lat = np.minimum(np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3])) + m_lat, 89.9)
    m_lon = np.minimum(margin_m / (_M_PER_DEG * np.cos(np.radians(max_abs_lat))), 360.0)
    return pl.DataFrame({
        "scene_id": scenes.get_column("scene_id").cast(pl.String),
        "t_s": scenes.get_column("ts_utc").cast(_UTC).dt.epoch("us"),
        "s_lat0": b[:, 1] - m_lat, "s_lat1": b[:, 3] + m_lat, "s_lon0": b[:, 0] - m_lon, "s_lon1": b[:, 2] + m_lon,
    }).with_columns(pl.col("^s_la.*$", "^s_lo.*$").fill_nan(None))


def _candidates(fixes: pl.DataFrame, scenes: pl.DataFrame, p: MatchingParams) -> pl.DataFrame:
    """(scene, segment) pairs with a fix within ``max_fix_offset_min``, near the footprint: an equi-join
    on a time bucket as wide as the window (+-1 bucket), then filters."""
    w = round(p.max_fix_offset_min * _US_PER_MIN)
    buckets = (
        fixes.with_columns((pl.col("t_us") // w).alias("bucket"))
        .group_by("segment_id", "bucket")
        .agg(pl.col("mmsi").first(), pl.col("t_us").min().alias("t0"), pl.col("t_us").max().alias("t1"),
             pl.col("lat_deg").min().alias("lat0"), pl.col("lat_deg").max().alias("lat1"),
             pl.col("lon_deg").min().alias("lon0"), pl.col("lon_deg").max().alias("lon1"))
    )
    sc = scenes.with_columns(
        pl.concat_list(pl.col("t_s") // w - 1, pl.col("t_s") // w, pl.col("t_s") // w + 1).alias("bucket")
    ).explode("bucket")
    lat_ok = (pl.col("lat1") >= pl.col("s_lat0")) & (pl.col("lat0") <= pl.col("s_lat1"))
    lon_ok = pl.any_horizontal(*[
        (pl.col("lon1") + shift >= pl.col("s_lon0")) & (pl.col("lon0") + shift <= pl.col("s_lon1"))
        for shift in (-360.0, 0.0, 360.0)
    ])
    return (
        buckets.join(sc, on="bucket")
        .filter((pl.col("t1") >= pl.col("t_s") - w) & (pl.col("t0") <= pl.col("t_s") + w))
        .filter((lat_ok & lon_ok).fill_null(True))
        .select("scene_id", "t_s", "segment_id", "mmsi")
        .unique(["scene_id", "segment_id"])
        .sort("t_s", "scene_id", "segment_id")
    )


def _either_side(cand: pl.DataFrame, fixes: pl.DataFrame) -> pl.DataFrame:
    """Each candidate with the segment's last fix at or before (``_p``) and first at or after (``_n``)."""
    cols = ["t_us", "lat_deg", "lon_deg", "sog", "cog", "hdg", "source_id", "record_no"]
    side = fixes.select("segment_id", *cols)
    prev = side.rename({c: f"{c}_p" for c in cols}).with_columns(pl.col("t_us_p").alias("t_s"))
    nxt = side.rename({c: f"{c}_n" for c in cols}).with_columns(pl.col("t_us_n").alias("t_s"))
    return (
        cand.join_asof(prev, on="t_s", by="segment_id", strategy="backward", check_sortedness=False)
        .join_asof(nxt, on="t_s", by="segment_id", strategy="forward", check_sortedness=False)
    )


def expected_positions(
    positions: pl.DataFrame, scene_times: pl.DataFrame, params: MatchingParams | None = None, *,
    config: Config | None = None,
) -> pl.DataFrame:
    """Expected position of every AIS vessel near each scene at the scene time (EXPECTED_SCHEMA rows).

    ``positions``: POSITIONS rows of any vessels, segmented or not (without ``segment_id`` they are
    segmented here with ``config``, default settings if None). ``scene_times``: scene_id, ts_utc and
    optionally footprint_wkt (:func:`scene_times`). ``fix_offset_min`` is signed: time of the
    nearer fix used minus the scene time (negative: the fix is before the scene).
    """
    p = params or MatchingParams()
    if positions.height == 0 or scene_times.height == 0:
        return pl.DataFrame(schema=EXPECTED_SCHEMA)
    seg = positions if "segment_id" in positions.columns else segment(positions, config or defaults())
    fixes = _fixes(seg)
    margin_m = p.max_search_radius_m + PREFILTER_SPEED_KNOTS * KNOT_M_PER_MIN * p.max_fix_offset_min
    cand = _candidates(fixes, _scene_frame(scene_times, margin_m), p)
    if cand.height == 0:
        return pl.DataFrame(schema=EXPECTED_SCHEMA)
    j = _either_side(cand, fixes)
    geo = _geometry(j, p)
    keep = pl.Series(geo.pop("keep"))
    near_p = pl.col("use_prev")
    ev_p = pl.struct(pl.col("source_id_p").alias("source_id"), pl.col("record_no_p").alias("record_no"))
    ev_n = pl.struct(pl.col("source_id_n").alias("source_id"), pl.col("record_no_n").alias("record_no"))
    ev_near = pl.when(near_p).then(ev_p).otherwise(ev_n)
    interp = pl.col("method") == "interpolated"
    out = (
        j.with_columns(*[v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in geo.items()])
        .filter(keep)
        .with_columns(
            pl.when(interp & (pl.col("t_us_p") != pl.col("t_us_n"))).then(pl.concat_list(ev_p, ev_n))
            .otherwise(pl.concat_list(ev_near)).alias("evidence"),
            pl.from_epoch("t_s", time_unit="us").dt.replace_time_zone("UTC").alias("ts_utc"),
        )
    )
    # One MMSI, several segments near a scene: interpolated ones if any (simultaneous ships), else the
    # nearest fix (one ship's track broken by a gap).
    any_interp = interp.any().over("scene_id", "mmsi")
    out = (
        out.filter(interp | ~any_interp)
        .sort("scene_id", "mmsi", pl.col("fix_offset_min").abs(), "segment_id")
        .filter(interp | (pl.int_range(pl.len()).over("scene_id", "mmsi") == 0))
    )
    return out.select(list(EXPECTED_SCHEMA)).cast(EXPECTED_SCHEMA).sort("scene_id", "mmsi", "segment_id")


def _geometry(j: pl.DataFrame, p: MatchingParams) -> dict[str, Any]:
    """Method, position, radius, offset, speed and heading for each candidate row (NumPy, vectorised)."""
    t_s = j.get_column("t_s").to_numpy().astype(np.float64)
    t_p, t_n = float_column(j, "t_us_p"), float_column(j, "t_us_n")
    dtp, dtn = (t_s - t_p) / _US_PER_MIN, (t_n - t_s) / _US_PER_MIN  # NaN where that side is missing
    has_p, has_n = np.isfinite(dtp), np.isfinite(dtn)
    use_p = has_p & (~has_n | (dtp <= dtn))
    near_dt = np.where(use_p, dtp, dtn)
    gap = dtp + dtn
    interp = has_p & has_n & (gap <= p.max_interp_gap_min) & (near_dt <= p.max_fix_offset_min)
    extrap = ~interp & (near_dt <= p.max_fix_offset_min)

    def near(col: str) -> FloatArray:
        return np.where(use_p, float_column(j, f"{col}_p"), float_column(j, f"{col}_n"))

    lat_p, lon_p, lat_n, lon_n = (float_column(j, c) for c in ("lat_deg_p", "lon_deg_p", "lat_deg_n", "lon_deg_n"))
    n = j.height
    lat, lon = np.full(n, np.nan), np.full(n, np.nan)
    radius, speed = np.full(n, np.nan), np.full(n, np.nan)
    method = np.full(n, None, dtype=object)
    floor = p.uncertainty_floor_m_per_min

    # Interpolation between the fixes either side (great circle, time fraction).
    ii = np.flatnonzero(interp)
    if ii.size:
        frac = np.where(gap[ii] > 0, dtp[ii] / np.where(gap[ii] > 0, gap[ii], 1.0), 0.0)
        lat[ii], lon[ii] = rhumb_interpolate(lat_p[ii], lon_p[ii], lat_n[ii], lon_n[ii], frac)
        implied = np.where(gap[ii] > 0, np.asarray(haversine_m(lat_p[ii], lon_p[ii], lat_n[ii], lon_n[ii]))
                           / np.where(gap[ii] > 0, gap[ii], 1.0) / KNOT_M_PER_MIN, 0.0)
        sogs = np.column_stack([float_column(j, "sog_p")[ii], float_column(j, "sog_n")[ii], implied])
        v_kn = np.nanmax(sogs, axis=1)
        speed[ii] = v_kn
        radius[ii] = p.base_uncertainty_m + near_dt[ii] * np.maximum(
            p.interp_speed_fraction * v_kn * KNOT_M_PER_MIN, floor)
        method[ii] = "interpolated"

    # Extrapolation from the nearer fix.
    ei = np.flatnonzero(extrap)
    if ei.size:
        sog, cog = near("sog")[ei], near("cog")[ei]
        dt = near_dt[ei]
        lat0, lon0 = np.where(use_p, lat_p, lat_n)[ei], np.where(use_p, lon_p, lon_n)[ei]
        dr = np.isfinite(sog) & (sog >= VERY_SLOW_KNOTS) & np.isfinite(cog)
        v_kn = np.where(np.isfinite(sog), np.minimum(sog, PREFILTER_SPEED_KNOTS), p.unknown_speed_knots)
        bearing = np.where(use_p[ei], cog, cog + 180.0)  # backwards in time from a fix after the scene
        dlat, dlon = rhumb_destination(lat0, lon0, np.nan_to_num(bearing), np.where(dr, v_kn * KNOT_M_PER_MIN * dt, 0.0))
        lat[ei], lon[ei] = dlat, dlon
        frac_v = np.where(dr, p.extrap_speed_fraction, 1.0)
        radius[ei] = p.base_uncertainty_m + dt * np.maximum(frac_v * v_kn * KNOT_M_PER_MIN, floor)
        speed[ei] = np.where(np.isfinite(sog), v_kn, np.nan)
        method[ei] = np.where(dr, "dead_reckoned", "held")

    hdg, cog_near, sog_near = near("hdg"), near("cog"), near("sog")
    heading = np.where(np.isfinite(hdg), hdg, np.where(sog_near >= MIN_COURSE_SPEED_KNOTS, cog_near, np.nan))
    return {
        "keep": interp | extrap,
        "use_prev": use_p,
        "method": pl.Series("method", method.tolist(), dtype=pl.String),
        "expected_lat_deg": lat, "expected_lon_deg": lon, "uncertainty_m": radius,
        "fix_offset_min": np.where(use_p, -dtp, dtn),
        "speed_knots": pl.Series("speed_knots", speed).fill_nan(None),
        "heading_deg": pl.Series("heading_deg", heading).fill_nan(None),
    }
