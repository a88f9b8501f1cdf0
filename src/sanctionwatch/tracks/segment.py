"""Split each MMSI's positions into physically plausible track segments (after gpsdio-segment v3).

Rules (settings in brackets):

* a position more than ``tracks.segment_max_gap_hours`` (24 h) after the last point of every open
  segment of its MMSI starts a new segment (flag ``gap``);
* a position joins an open segment only if the implied speed from that segment's last point,
  distance / hypot(dt, ``tracks.segment_buffer_hours``), is at most ``tracks.max_implied_speed_knots``;
* several segments can be open at once: a position joins the open segment whose dead-reckoned
  position (last point + reported speed and course) it is closest to, relative to the distance that
  segment could have covered; if none is within reach it opens a new segment (flag ``speed``: an
  impossible jump). Two ships broadcasting one MMSI therefore become two segments, not one zig-zag;
* positions that are unusable (non-finite, out of range, (0, 0)) get no segment (flag ``invalid``);
  a second report of the same instant and place joins its segment (flag ``duplicate``).

Not implemented from gpsdio-segment v3: the ambiguity rule (closing both candidates when the best
two scores are within a factor of 10), the 5-point look-back, Class A/B transponder weighting, and
type-27 message thinning. Segmentation is per batch: it does not yet resume open segments from a
previous batch (pipe-segment joins daily fragments afterwards; see the module ``__doc__`` of
:mod:`sanctionwatch.events.port_visits` for how visit state resumes).

Speed: MMSIs where every consecutive pair is plausible (or separated only by long gaps) -- nearly
all of them -- are segmented with vectorised NumPy; only MMSIs with an impossible step go through
the per-point matcher (a Python loop over that MMSI's arrays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.geo import EARTH_RADIUS_M, haversine_m
from sanctionwatch.tracks.quality import clean_sog_knots, float_column, valid_position_mask

__all__ = [
    "FLAG_DUPLICATE",
    "FLAG_GAP",
    "FLAG_INVALID",
    "FLAG_SPEED",
    "FLAG_START",
    "SegmentParams",
    "segment",
    "sort_columns",
]

METRES_PER_NM = 1852.0

# seg_flag values (null for an ordinary continuation).
FLAG_START = "start"  # first usable position of the MMSI in this batch
FLAG_GAP = "gap"  # new segment: every open segment was older than the max gap
FLAG_SPEED = "speed"  # new segment: no open segment within the implied-speed cap (impossible jump)
FLAG_DUPLICATE = "duplicate"  # same instant and place as the segment's previous point
FLAG_INVALID = "invalid"  # unusable position; segment_id is null

# Dead reckoning counts long intervals for less, because vessels do not travel straight for hours:
# effective hours = h / (1 + (h / PENALTY_HOURS) ** HOURS_EXP) (gpsdio-segment v3.0.0 matcher.py
# penalty_hours = 4, hours_exp = 0.5).
PENALTY_HOURS = 4.0
HOURS_EXP = 0.5
# Below this reported speed a vessel is treated as stationary for prediction (gpsdio-segment v3.0.0
# discrepancy.py very_slow = 0.35 kn); also used when course is unavailable.
VERY_SLOW_KNOTS = 0.35
# Most segments one MMSI may keep open; the stalest is closed beyond it (gpsdio-segment v3.0.0
# segmenter.py max_open_segments = 100).
MAX_OPEN_SEGMENTS = 100

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SegmentParams:
    """Segmenter thresholds, from the settings registry."""

    max_gap_hours: float
    max_speed_knots: float
    buffer_hours: float

    @classmethod
    def from_config(cls, config: Config) -> SegmentParams:
        return cls(
            max_gap_hours=float(config["tracks.segment_max_gap_hours"]),
            max_speed_knots=float(config["tracks.max_implied_speed_knots"]),
            buffer_hours=float(config["tracks.segment_buffer_hours"]),
        )

    def allowed_m(self, dt_hours: FloatArray | float) -> FloatArray | float:
        """Farthest a vessel may move in ``dt_hours`` and stay in one segment."""
        return self.max_speed_knots * METRES_PER_NM * np.hypot(dt_hours, self.buffer_hours)


def sort_columns(df: pl.DataFrame) -> list[str]:
    """Deterministic row order: MMSI, time, then input record (when present)."""
    return ["mmsi", "ts_utc", *[c for c in ("source_id", "record_no") if c in df.columns]]


def segment(positions: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The same rows (any number of vessels, any order) plus ``segment_id`` and ``seg_flag``.

    ``positions`` needs mmsi, ts_utc, lat_deg, lon_deg; sog_knots and cog_deg are used for dead
    reckoning when present. The result is sorted by mmsi, ts_utc, source_id, record_no.
    ``segment_id`` is ``"{mmsi}-{first ts as yyyymmddTHHMMSS}-{n}"``, n counting segments of that
    MMSI that start in the same second (normally 1); it depends only on the segment's own points.
    """
    params = SegmentParams.from_config(config)
    df = positions.sort(sort_columns(positions), maintain_order=True)
    n = df.height
    if n == 0:
        return df.with_columns(
            pl.lit(None, dtype=pl.String).alias("segment_id"), pl.lit(None, dtype=pl.String).alias("seg_flag")
        )
    mmsi = df.get_column("mmsi").cast(pl.Int64).to_numpy()
    t_s = df.get_column("ts_utc").dt.epoch("us").to_numpy().astype(np.float64) / 1e6
    lat, lon = float_column(df, "lat_deg"), float_column(df, "lon_deg")
    valid = valid_position_mask(lat, lon)
    vi = np.flatnonzero(valid)
    seg_ord = np.full(n, -1, dtype=np.int64)
    flags = np.full(n, None, dtype=object)
    flags[~valid] = FLAG_INVALID
    if vi.size:
        ords, vflags = _segment_valid(
            mmsi[vi], t_s[vi], lat[vi], lon[vi],
            clean_sog_knots(float_column(df, "sog_knots")[vi]), float_column(df, "cog_deg")[vi], params,
        )
        seg_ord[vi] = ords
        flags[vi] = vflags
    return df.with_columns(
        _segment_ids(df, seg_ord).alias("segment_id"),
        pl.Series("seg_flag", flags.tolist(), dtype=pl.String),
    )


def _segment_valid(
    mmsi: IntArray, t_s: FloatArray, lat: FloatArray, lon: FloatArray, sog: FloatArray, cog: FloatArray,
    params: SegmentParams,
) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """Segment ordinals (unique across MMSIs) and flags for valid, sorted positions."""
    n = mmsi.size
    new_mmsi = np.r_[True, mmsi[1:] != mmsi[:-1]]
    dt_h = np.r_[np.nan, np.diff(t_s)] / 3600.0
    d_m = np.r_[np.nan, np.asarray(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]), dtype=np.float64)]
    gap_break = new_mmsi | (dt_h > params.max_gap_hours)
    speed_fail = ~gap_break & (d_m > params.allowed_m(dt_h))

    # Vectorised common case: with no impossible step, each MMSI has one open segment at a time and
    # a new one starts exactly at the first point and after each long gap.
    seg_ord = np.cumsum(gap_break) - 1
    flags = np.full(n, None, dtype=object)
    flags[gap_break] = FLAG_GAP
    flags[new_mmsi] = FLAG_START
    flags[~gap_break & (dt_h == 0) & (d_m == 0)] = FLAG_DUPLICATE

    if speed_fail.any():
        starts = np.flatnonzero(new_mmsi)
        ends = np.r_[starts[1:], n]
        block = np.searchsorted(starts, np.flatnonzero(speed_fail), side="right") - 1
        next_ord = int(seg_ord[-1]) + 1
        for b in np.unique(block):
            lo, hi = int(starts[b]), int(ends[b])
            local, local_flags = _match_points(t_s[lo:hi], lat[lo:hi], lon[lo:hi], sog[lo:hi], cog[lo:hi], params)
            seg_ord[lo:hi] = local + next_ord
            flags[lo:hi] = local_flags
            next_ord += int(local.max()) + 1
    return seg_ord, flags


def _predicted(lat: float, lon: float, sog_kn: float, cog_deg: float, dt_h: float) -> tuple[float, float]:
    """Dead-reckoned position after ``dt_h`` hours (locally flat Earth; fine within the speed cap)."""
    if not (sog_kn >= VERY_SLOW_KNOTS) or not math.isfinite(cog_deg):
        return lat, lon
    eff_h = dt_h / (1.0 + (dt_h / PENALTY_HOURS) ** HOURS_EXP)
    dist_rad = sog_kn * METRES_PER_NM * eff_h / EARTH_RADIUS_M
    c = math.radians(cog_deg)
    new_lat = lat + math.degrees(dist_rad * math.cos(c))
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    new_lon = lon + math.degrees(dist_rad * math.sin(c) / coslat)
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


def _hav_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def _match_points(
    t_s: FloatArray, lat: FloatArray, lon: FloatArray, sog: FloatArray, cog: FloatArray, params: SegmentParams
) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """Multi-segment matcher for one MMSI (sorted by time): local segment ordinals and flags."""
    n = t_s.size
    out = np.empty(n, dtype=np.int64)
    flags = np.full(n, None, dtype=object)
    max_gap_s = params.max_gap_hours * 3600.0
    speed_m_per_h = params.max_speed_knots * METRES_PER_NM
    buf_h = params.buffer_hours
    # Open segment: [ordinal, t_s, lat, lon, sog, cog] of its last point.
    open_segs: list[list[float]] = []
    n_segs = 0
    tl, lal, lol, sogl, cogl = t_s.tolist(), lat.tolist(), lon.tolist(), sog.tolist(), cog.tolist()
    for i in range(n):
        t, la, lo = tl[i], lal[i], lol[i]
        best: list[float] | None = None
        best_score = math.inf
        best_d = math.nan
        alive: list[list[float]] = []
        for s in open_segs:
            dt_s = t - s[1]
            if dt_s > max_gap_s:
                continue  # expired: no point can join it any more
            alive.append(s)
            dt_h = dt_s / 3600.0
            d = _hav_m(s[2], s[3], la, lo)
            allowed = speed_m_per_h * math.hypot(dt_h, buf_h)
            if d > allowed:
                continue
            plat, plon = _predicted(s[2], s[3], s[4], s[5], dt_h)
            score = _hav_m(plat, plon, la, lo) / allowed
            # Ties go to the most recently updated segment.
            if score < best_score or (score == best_score and best is not None and s[1] > best[1]):
                best, best_score, best_d = s, score, d
        open_segs = alive
        if best is None:
            flags[i] = FLAG_START if i == 0 else (FLAG_SPEED if open_segs else FLAG_GAP)
            best = [float(n_segs), t, la, lo, sogl[i], cogl[i]]
            n_segs += 1
            open_segs.append(best)
            if len(open_segs) > MAX_OPEN_SEGMENTS:
                open_segs.remove(min(open_segs, key=lambda s: s[1]))
        else:
            if best[1] == t and best_d == 0.0:
                flags[i] = FLAG_DUPLICATE
            best[1:] = [t, la, lo, sogl[i], cogl[i]]
        out[i] = int(best[0])
    return out, flags


def _segment_ids(df: pl.DataFrame, seg_ord: IntArray) -> pl.Series:
    """``{mmsi}-{first ts yyyymmddTHHMMSS}-{n}`` per row (null where seg_ord < 0)."""
    rows = pl.DataFrame(
        {"mmsi": df.get_column("mmsi"), "ts_utc": df.get_column("ts_utc"), "ord": seg_ord}
    ).with_row_index("_row")
    firsts = (
        rows.filter(pl.col("ord") >= 0)
        .group_by("ord")
        .agg(pl.col("mmsi").first(), pl.col("ts_utc").min().alias("first_utc"))
        .with_columns(pl.col("first_utc").dt.strftime("%Y%m%dT%H%M%S").alias("stamp"))
        .with_columns(pl.col("ord").rank("ordinal").over("mmsi", "stamp").alias("n"))
        .select(
            "ord",
            pl.format("{}-{}-{}", pl.col("mmsi"), pl.col("stamp"), pl.col("n")).alias("segment_id"),
        )
    )
    return rows.join(firsts, on="ord", how="left").sort("_row").get_column("segment_id")
