"""AIS gaps: a transponder silent for hours (EVENTS rows of type ``ais_gap``), after GFW pipe-gaps.

A gap is the time between consecutive positions of one MMSI of at least ``events.gap_min_hours``
(6 h, the GFW product threshold). It is about the transponder, so positions of all segments of the
MMSI count (as GFW groups by ``ssvid``); ``is_multi_segment_gap`` marks gaps whose OFF and ON
positions lie on different segments -- possibly two vessels sharing the MMSI (GFW
``is_multi_vessel_gap``). OFF is the last position before the gap, ON the first after; both are the
evidence. Attributes: duration, great-circle distance and implied speed between OFF and ON, both
positions, their distance from shore (Natural Earth 1:50m coastline), positions in the 12 h before.

``likely_disabling`` follows GFW's published "AIS disabling" subset (tech docs gaps.md):

1. duration >= ``events.gap_disabling_min_hours`` (12 h) -- checked;
2. OFF position >= ``events.gap_disabling_min_distance_from_shore_nm`` (50 nm) from shore and not on
   land -- checked against the 1:50m coastline (about 1-2 km generalised: fine at 50 nm);
3. satellite reception quality > 10 positions/day in the starting area -- NOT checked: we have no
   reception model (GFW's is a monthly 1-degree raster derived from its whole AIS archive);
4. >= 14 satellite positions in the 12 h before -- approximated: we count all positions, since most
   sources do not say which receiver heard a message (beyond 50 nm nearly all are satellite);
   ``events.gap_disabling_min_positions_before`` = 0 drops the check.

So ``likely_disabling`` can be true where poor satellite coverage, not the crew, explains the gap.

Open gaps: with ``until_utc`` (the end of the data window), an MMSI whose last position is at least
the threshold before it gets a gap with a null ``end_utc`` and ``is_closed: false``. Its event id
does not depend on the end, so the closed gap found in a later batch replaces it (GFW keeps
versions of open gaps, pipe-gaps README).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame, with_provenance
from sanctionwatch.geo import LandMask, land_mask
from sanctionwatch.tracks.segment import METRES_PER_NM, sort_columns
from sanctionwatch.tracks.summary import haversine_expr

__all__ = ["EVENT_TYPE", "GapDetector", "detect_gaps"]

EVENT_TYPE = "ais_gap"


@dataclass(frozen=True)
class GapDetector:
    """AIS gap detector (see module docstring). ``detect(segmented)`` returns EVENTS rows."""

    config: Config
    until_utc: dt.datetime | None = None
    land: LandMask | None = None
    event_type: ClassVar[str] = EVENT_TYPE

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        if self.until_utc is not None and self.until_utc.tzinfo is None:
            raise ValueError("until_utc must be timezone-aware (UTC)")
        min_gap_h = float(cfg["events.gap_min_hours"])
        df = segmented
        if "segment_id" in df.columns:  # unusable positions (no segment) say nothing about the transponder
            df = df.filter(pl.col("segment_id").is_not_null())
        df = with_provenance(df).sort(sort_columns(df)).with_row_index("_i")
        if df.height == 0:
            return empty_events()
        gaps = _closed_gaps(df, min_gap_h)
        if self.until_utc is not None:
            gaps = pl.concat([gaps, _open_gaps(df, min_gap_h, self.until_utc)], how="diagonal_relaxed")
        if gaps.height == 0:
            return empty_events()
        return events_frame(self._rows(df, gaps))

    def _rows(self, df: pl.DataFrame, gaps: pl.DataFrame) -> list[dict[str, object]]:
        cfg = self.config
        land = self.land or land_mask()
        off_lat, off_lon = gaps.get_column("lat_deg").to_numpy(), gaps.get_column("lon_deg").to_numpy()
        on_lat = gaps.get_column("on_lat_deg").cast(pl.Float64).fill_null(np.nan).to_numpy()
        on_lon = gaps.get_column("on_lon_deg").cast(pl.Float64).fill_null(np.nan).to_numpy()
        off_shore = np.asarray(land.distance_to_coast_m(off_lat, off_lon), dtype=np.float64)
        on_shore = np.asarray(land.distance_to_coast_m(on_lat, on_lon), dtype=np.float64)
        off_land = np.asarray(land.contains(off_lat, off_lon), dtype=bool)
        on_land = np.asarray(land.contains(on_lat, on_lon), dtype=bool)
        before = _positions_before(df, gaps, float(cfg["events.gap_positions_before_window_hours"]))

        min_h = float(cfg["events.gap_disabling_min_hours"])
        min_shore_m = float(cfg["events.gap_disabling_min_distance_from_shore_nm"]) * METRES_PER_NM
        min_before = int(cfg["events.gap_disabling_min_positions_before"])
        params_id = cfg.params_id
        rows = []
        for k, g in enumerate(gaps.iter_rows(named=True)):
            closed = g["on_ts_utc"] is not None
            duration_h = g["duration_h"]
            criteria = {
                "min_duration": duration_h >= min_h,
                "offshore": bool(off_shore[k] >= min_shore_m and not off_land[k]),
                "positions_before": min_before == 0 or int(before[k]) >= min_before,
                "satellite_reception": None,  # not checked: no reception model (see module docstring)
            }
            distance_m = g["distance_m"]
            attrs = {
                "duration_h": round(duration_h, 4),
                "is_closed": closed,
                "distance_m": None if distance_m is None else round(distance_m, 1),
                "implied_speed_knots": (
                    None if distance_m is None else round(distance_m / METRES_PER_NM / duration_h, 3)
                ),
                "off_lat_deg": g["lat_deg"], "off_lon_deg": g["lon_deg"], "off_utc": g["ts_utc"],
                "on_lat_deg": g["on_lat_deg"], "on_lon_deg": g["on_lon_deg"], "on_utc": g["on_ts_utc"],
                "off_distance_from_shore_m": round(float(off_shore[k]), 1),
                "on_distance_from_shore_m": round(float(on_shore[k]), 1) if closed else None,
                "off_on_land": bool(off_land[k]),
                "on_on_land": bool(on_land[k]) if closed else None,
                "off_segment_id": g["segment_id"],
                "on_segment_id": g["on_segment_id"],
                "is_multi_segment_gap": closed and g["segment_id"] != g["on_segment_id"],
                "positions_before": int(before[k]),
                "disabling_criteria": criteria,
                "likely_disabling": all(v for v in criteria.values() if v is not None),
            }
            evidence = [(g["source_id"], g["record_no"])]
            if closed:
                evidence.append((g["on_source_id"], g["on_record_no"]))
            rows.append({
                "event_id": event_id(EVENT_TYPE, g["mmsi"], g["ts_utc"], None, params_id),
                "event_type": EVENT_TYPE,
                "mmsi": g["mmsi"],
                "segment_id": g["segment_id"],
                "start_utc": g["ts_utc"],
                "end_utc": g["on_ts_utc"],
                "lat_deg": g["lat_deg"],
                "lon_deg": g["lon_deg"],
                "basis": "ais",
                "attrs": attrs,
                "evidence": evidence,
                "params_id": params_id,
            })
        return rows


def detect_gaps(
    segmented: pl.DataFrame, config: Config, *, until_utc: dt.datetime | None = None
) -> pl.DataFrame:
    """AIS gap events (EVENTS schema) from positions of one or many vessels; see module docstring."""
    return GapDetector(config, until_utc=until_utc).detect(segmented)



_CARRY = ("ts_utc", "lat_deg", "lon_deg", "segment_id", "source_id", "record_no")


def _closed_gaps(df: pl.DataFrame, min_gap_h: float) -> pl.DataFrame:
    nxt = [pl.col(c).shift(-1).over("mmsi").alias(f"on_{c}") for c in _CARRY]
    return (
        df.with_columns(nxt)
        .with_columns(((pl.col("on_ts_utc") - pl.col("ts_utc")).dt.total_microseconds() / 3.6e9).alias("duration_h"))
        .filter(pl.col("duration_h") >= min_gap_h)
        .with_columns(
            haversine_expr(pl.col("lat_deg"), pl.col("lon_deg"), pl.col("on_lat_deg"), pl.col("on_lon_deg"))
            .alias("distance_m")
        )
    )


def _open_gaps(df: pl.DataFrame, min_gap_h: float, until_utc: dt.datetime) -> pl.DataFrame:
    until = pl.lit(until_utc).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return (
        df.group_by("mmsi").agg(pl.all().sort_by("ts_utc").last())
        .with_columns(((until - pl.col("ts_utc")).dt.total_microseconds() / 3.6e9).alias("duration_h"))
        .filter(pl.col("duration_h") >= min_gap_h)
    )


def _positions_before(df: pl.DataFrame, gaps: pl.DataFrame, window_h: float) -> np.ndarray:
    """Positions of the MMSI in (OFF - window, OFF], OFF included (reception context before a gap)."""
    t = df.get_column("ts_utc").dt.epoch("us").to_numpy()
    mmsi = df.get_column("mmsi").to_numpy()
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]])
    window_us = round(window_h * 3.6e9)
    out = np.zeros(gaps.height, dtype=np.int64)
    for k, i in enumerate(gaps.get_column("_i").to_numpy()):
        lo = starts[np.searchsorted(starts, i, side="right") - 1]
        first = lo + np.searchsorted(t[lo : i + 1], t[i] - window_us, side="right")
        out[k] = i - first + 1
    return out
