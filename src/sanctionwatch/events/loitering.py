"""Loitering: one vessel moving very slowly for hours far from shore (EVENTS rows of type ``loitering``).

After GFW pipe-loitering (``create_raw_loitering/transforms/calculate_hourly_stats.py``): per
segment, positions fall into UTC hour buckets; a bucket's average implied speed is
sum(metres from the previous position) / sum(hours since the previous position) / 1852. A bucket is
*slow* when that speed is below ``events.loitering_max_speed_knots`` (2 kn). A run of consecutive
slow buckets of one segment is an event when it lasts at least ``events.loitering_min_hours`` (4 h,
the GFW carrier-loitering definition) and its mean position is at least
``events.loitering_min_distance_from_shore_nm`` (20 nm, GFW published filter) from the coast
(Natural Earth 1:50m; 0 disables the filter). The distance from shore is in the attributes.

Timing: each position carries the leg from the previous position of its segment, so a run starts
at the position before its first leg (or at the segment's first position) and ends at its last
position; ``hours`` = end - start = the summed leg hours, ``distance_m`` the summed leg metres.
Runs are of consecutive UTC hours: an hour without positions ends a run, and a leg across a
silence longer than ``MAX_LEG_HOURS`` counts for nothing, so a silent vessel is never "observed"
loitering (a sparse satellite track therefore needs an hourly fix to show loitering). A bucket holding
only the first position of a segment has no leg and is never slow.

Evidence: the first and last raw records of the run. Runs crossing midnight are one event (hours are
not grouped by day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame, segmented_input
from sanctionwatch.geo import LandMask, land_mask
from sanctionwatch.tracks.segment import METRES_PER_NM
from sanctionwatch.tracks.summary import haversine_expr

__all__ = ["EVENT_TYPE", "LoiteringDetector", "circular_mean_lon_expr", "detect_loitering"]

EVENT_TYPE = "loitering"
_US_PER_HOUR = 3.6e9


def circular_mean_lon_expr(lon: pl.Expr) -> pl.Expr:
    """Circular mean of longitudes in degrees (correct across the antimeridian), as an aggregation."""
    rad = lon.radians()
    return pl.arctan2(rad.sin().mean(), rad.cos().mean()).degrees()


@dataclass(frozen=True)
class LoiteringDetector:
    """Loitering detector (see module docstring). ``detect(segmented)`` returns EVENTS rows."""

    config: Config
    land: LandMask | None = None
    event_type: ClassVar[str] = EVENT_TYPE

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        max_speed_knots = float(cfg["events.loitering_max_speed_knots"])
        min_hours = float(cfg["events.loitering_min_hours"])
        min_shore_m = float(cfg["events.loitering_min_distance_from_shore_nm"]) * METRES_PER_NM
        runs = _slow_runs(_prepare(segmented), max_speed_knots, min_hours)
        if runs.height == 0:
            return empty_events()
        land = self.land or land_mask()
        shore_m = np.asarray(
            land.distance_to_coast_m(runs.get_column("lat_deg").to_numpy(), runs.get_column("lon_deg").to_numpy()),
            dtype=np.float64,
        )
        params_id = cfg.params_id
        rows = []
        for k, r in enumerate(runs.iter_rows(named=True)):
            if not shore_m[k] >= min_shore_m:  # NaN (invalid) also fails
                continue
            hours = r["hours"]
            rows.append({
                "event_id": event_id(EVENT_TYPE, r["mmsi"], r["start_utc"], None, params_id),
                "event_type": EVENT_TYPE,
                "mmsi": r["mmsi"],
                "segment_id": r["segment_id"],
                "start_utc": r["start_utc"],
                "end_utc": r["end_utc"],
                "lat_deg": r["lat_deg"],
                "lon_deg": r["lon_deg"],
                "basis": "ais",
                "attrs": {
                    "hours": round(hours, 4),
                    "distance_m": round(r["distance_m"], 1),
                    "avg_speed_knots": round(r["distance_m"] / METRES_PER_NM / hours, 3),
                    "distance_from_shore_nm": round(float(shore_m[k]) / METRES_PER_NM, 2),
                    "positions": r["positions"],
                },
                "evidence": [(r["first_source_id"], r["first_record_no"]), (r["last_source_id"], r["last_record_no"])],
                "params_id": params_id,
            })
        return events_frame(rows) if rows else empty_events()


def detect_loitering(segmented: pl.DataFrame, config: Config, *, land: LandMask | None = None) -> pl.DataFrame:
    """Loitering events (EVENTS schema) from segmented positions of any vessels; see module docstring."""
    return LoiteringDetector(config, land=land).detect(segmented)


def _prepare(segmented: pl.DataFrame) -> pl.DataFrame:
    df = segmented_input(segmented)
    df = df.filter(pl.col("lat_deg").is_finite() & pl.col("lon_deg").is_finite())
    order = ["segment_id", "ts_utc", "source_id", "record_no"]
    return df.select("mmsi", *order, "lat_deg", "lon_deg").sort(order)


# Longest silence between two positions still counted as observed (slow) movement. GFW's hourly
# buckets assume dense tracks; a vessel unheard for longer was not observed loitering (it may be
# an AIS gap instead, which the gap detector reports).
MAX_LEG_HOURS = 1.0


def _slow_runs(df: pl.DataFrame, max_speed_knots: float, min_hours: float) -> pl.DataFrame:
    seg = "segment_id"
    prev = {c: pl.col(c).shift(1).over(seg) for c in ("ts_utc", "lat_deg", "lon_deg", "source_id", "record_no")}
    leg_h = (pl.col("ts_utc") - prev["ts_utc"]).dt.total_microseconds() / _US_PER_HOUR
    # A leg across a silence longer than MAX_LEG_HOURS is not observed movement: it contributes no
    # time or distance, and the position after it starts afresh.
    observed = leg_h <= MAX_LEG_HOURS
    legs = df.with_columns(
        pl.when(observed).then(leg_h).otherwise(0.0).fill_null(0.0).alias("leg_h"),
        pl.when(observed).then(haversine_expr(prev["lat_deg"], prev["lon_deg"], pl.col("lat_deg"), pl.col("lon_deg")))
        .otherwise(0.0).fill_null(0.0).alias("leg_m"),
        pl.when(observed).then(prev["ts_utc"]).alias("prev_ts_utc"),
        pl.when(observed).then(prev["source_id"]).alias("prev_source_id"),
        pl.when(observed).then(prev["record_no"]).alias("prev_record_no"),
        pl.col("ts_utc").dt.truncate("1h").alias("hour_utc"),
    )
    hours = (
        legs.group_by(seg, "hour_utc", maintain_order=True)
        .agg(
            pl.col("mmsi").first(),
            pl.col("leg_h").sum().alias("h"),
            pl.col("leg_m").sum().alias("m"),
            pl.len().alias("n"),
            # run start: the position before the bucket's first leg (or the bucket's first position)
            pl.col("prev_ts_utc").first().fill_null(pl.col("ts_utc").first()).alias("start_utc"),
            pl.col("prev_source_id").first().fill_null(pl.col("source_id").first()).alias("first_source_id"),
            pl.col("prev_record_no").first().fill_null(pl.col("record_no").first()).alias("first_record_no"),
            pl.col("ts_utc").last().alias("end_utc"),
            pl.col("source_id").last().alias("last_source_id"),
            pl.col("record_no").last().alias("last_record_no"),
            pl.col("lat_deg").sum().alias("lat_sum"),
            pl.col("lon_deg").radians().sin().sum().alias("lon_sin_sum"),
            pl.col("lon_deg").radians().cos().sum().alias("lon_cos_sum"),
        )
        .with_columns(
            ((pl.col("h") > 0) & (pl.col("m") / METRES_PER_NM < max_speed_knots * pl.col("h"))).alias("slow")
        )
    )
    # Run number: increments at every change of "slow" within a segment, and after an hour with no
    # positions (GFW counts consecutive slow hours; a silent vessel is not observed loitering).
    hours = hours.with_columns(
        (
            (pl.col("slow") != pl.col("slow").shift(1).over(seg))
            | ((pl.col("hour_utc") - pl.col("hour_utc").shift(1).over(seg)) > dt.timedelta(hours=1))
        ).fill_null(True).cum_sum().over(seg).alias("run")
    ).filter(pl.col("slow"))
    return (
        hours.group_by(seg, "run", maintain_order=True)
        .agg(
            pl.col("mmsi").first(),
            pl.col("start_utc").first(),
            pl.col("first_source_id").first(),
            pl.col("first_record_no").first(),
            pl.col("end_utc").last(),
            pl.col("last_source_id").last(),
            pl.col("last_record_no").last(),
            pl.col("h").sum().alias("hours"),
            pl.col("m").sum().alias("distance_m"),
            pl.col("n").sum().alias("positions"),
            (pl.col("lat_sum").sum() / pl.col("n").sum()).alias("lat_deg"),
            pl.arctan2(pl.col("lon_sin_sum").sum(), pl.col("lon_cos_sum").sum()).degrees().alias("lon_deg"),
        )
        .filter(pl.col("hours") >= min_hours)
        .sort(seg, "start_utc")
    )
