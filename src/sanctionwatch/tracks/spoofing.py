"""Spoofing indicators found while segmenting (EVENTS rows of type ``spoofing``).

Three kinds (``attrs.kind``), each an indicator for an analyst, not a verdict (confidence is left
null for the findings rules to set):

* ``impossible_jump``: a position no open segment of its MMSI could reach within
  ``tracks.max_implied_speed_knots`` (segment flag ``speed``); evidence = the MMSI's previous
  position and the jumped-to one;
* ``on_land``: a run of consecutive positions of one segment on land (Natural Earth 1:50m), at least
  ``tracks.land_min_inland_distance_m`` from the coast and outside every port's exit radius.
  Canals and rivers are not water at 1:50m (the Suez Canal is "land"), so inland-waterway traffic
  shows up here too: read ``max_inland_distance_m`` and the place before concluding anything;
* ``overlapping_segments``: two segments of one MMSI, each with at least
  ``tracks.spoofing_min_segment_points`` points, that are open at the same time -- two transmitters
  sharing an MMSI (GFW flags an MMSI as spoofed when such overlaps with different identities exceed
  24 h in a year, tech docs vessel-info-tables.md; identities are not checked here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame, with_provenance
from sanctionwatch.events.ports import ZONE_OUT, PortIndex, build_port_index
from sanctionwatch.geo import LandMask, haversine_m, land_mask
from sanctionwatch.tracks.segment import FLAG_SPEED, METRES_PER_NM, sort_columns

__all__ = ["KIND_JUMP", "KIND_ON_LAND", "KIND_OVERLAP", "SpoofingDetector", "spoofing_events"]

EVENT_TYPE = "spoofing"
KIND_JUMP = "impossible_jump"
KIND_ON_LAND = "on_land"
KIND_OVERLAP = "overlapping_segments"


@dataclass(frozen=True)
class SpoofingDetector:
    """Spoofing indicator detector (see module docstring). ``detect(segmented)`` returns EVENTS rows."""

    config: Config
    ports: PortIndex | None = None
    land: LandMask | None = None
    event_type: ClassVar[str] = EVENT_TYPE

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame:
        return spoofing_events(segmented, self.config, self.ports, self.land)


def spoofing_events(
    segmented: pl.DataFrame,
    config: Config,
    ports: PortIndex | None = None,
    land: LandMask | None = None,
) -> pl.DataFrame:
    """Spoofing indicator events (EVENTS schema) from the output of :func:`segment`.

    ``ports`` (default: :func:`build_port_index` with the packaged areas) exempts positions near a
    port from the on-land check; ``land`` defaults to the packaged Natural Earth 1:50m mask.
    """
    df = segmented.filter(pl.col("segment_id").is_not_null()).sort(sort_columns(segmented))
    if df.height == 0:
        return empty_events()
    df = with_provenance(df)
    params_id = config.params_id
    rows = [
        *_jump_rows(df, params_id),
        *_land_rows(df, config, ports, land, params_id),
        *_overlap_rows(df, config, params_id),
    ]
    return events_frame(rows)



def _row(kind: str, mmsi: int, segment_id: str, start: dt.datetime, end: dt.datetime, lat: float, lon: float,
         attrs: dict[str, object], evidence: list[tuple[str, int]], params_id: str,
         discriminator: str) -> dict[str, object]:
    return {
        "event_id": event_id(EVENT_TYPE, mmsi, start, None, params_id, f"{kind}|{discriminator}"),
        "event_type": EVENT_TYPE,
        "mmsi": mmsi,
        "segment_id": segment_id,
        "start_utc": start,
        "end_utc": end,
        "lat_deg": lat,
        "lon_deg": lon,
        "basis": "ais",
        "attrs": {"kind": kind, **attrs},
        "evidence": evidence,
        "params_id": params_id,
    }


def _jump_rows(df: pl.DataFrame, params_id: str) -> list[dict[str, object]]:
    prev = [pl.col(c).shift().over("mmsi").alias(f"prev_{c}")
            for c in ("ts_utc", "lat_deg", "lon_deg", "segment_id", "source_id", "record_no")]
    jumps = df.with_columns(prev).filter(
        (pl.col("seg_flag") == FLAG_SPEED) & pl.col("prev_ts_utc").is_not_null()
    )
    rows = []
    for r in jumps.iter_rows(named=True):
        dist_m = float(haversine_m(r["prev_lat_deg"], r["prev_lon_deg"], r["lat_deg"], r["lon_deg"]))
        dt_s = (r["ts_utc"] - r["prev_ts_utc"]).total_seconds()
        rows.append(_row(
            KIND_JUMP, r["mmsi"], r["segment_id"], r["prev_ts_utc"], r["ts_utc"], r["lat_deg"], r["lon_deg"],
            {
                "distance_m": round(dist_m, 1),
                "dt_s": dt_s,
                "implied_speed_knots": round(dist_m / METRES_PER_NM / (dt_s / 3600.0), 1) if dt_s > 0 else None,
                "from_segment_id": r["prev_segment_id"],
                "from_lat_deg": r["prev_lat_deg"],
                "from_lon_deg": r["prev_lon_deg"],
            },
            [(r["prev_source_id"], r["prev_record_no"]), (r["source_id"], r["record_no"])],
            params_id, f"{r['source_id']}:{r['record_no']}",
        ))
    return rows


def _land_rows(
    df: pl.DataFrame, config: Config, ports: PortIndex | None, land: LandMask | None, params_id: str
) -> list[dict[str, object]]:
    land = land or land_mask()
    lat = df.get_column("lat_deg").to_numpy()
    lon = df.get_column("lon_deg").to_numpy()
    on_land = np.asarray(land.contains(lat, lon), dtype=bool)
    if not on_land.any():
        return []
    idx = np.flatnonzero(on_land)
    ports = ports if ports is not None else build_port_index(config)
    away = ports.classify(lat[idx], lon[idx]).zone == ZONE_OUT
    idx = idx[away]
    min_inland_m = float(config["tracks.land_min_inland_distance_m"])
    # Cheap pass first: with a cap, points nearer the coast than it are found quickly (most on-land
    # fixes are harbour or coast artefacts); only the rest get an exact (slower) distance.
    near = np.asarray(land.distance_to_coast_m(lat[idx], lon[idx], max_distance_m=min_inland_m), dtype=np.float64)
    idx = idx[~(near < min_inland_m)]
    inland = np.asarray(land.distance_to_coast_m(lat[idx], lon[idx]), dtype=np.float64)
    keep = inland >= min_inland_m
    idx, inland = idx[keep], inland[keep]
    if idx.size == 0:
        return []
    flagged = np.zeros(df.height, dtype=bool)
    flagged[idx] = True
    dist = np.full(df.height, np.nan)
    dist[idx] = inland
    # Runs of consecutive flagged positions within one segment (segments of one MMSI interleave in
    # time, so runs are found in segment order).
    runs = (
        df.with_columns(pl.Series("flag", flagged), pl.Series("inland_m", dist))
        .sort("segment_id", "ts_utc", maintain_order=True)
        .with_columns((pl.col("flag") != pl.col("flag").shift().over("segment_id")).fill_null(True)
                      .cum_sum().alias("run"))
        .filter(pl.col("flag"))
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("mmsi").first(), pl.col("segment_id").first(),
            pl.col("ts_utc").first().alias("start"), pl.col("ts_utc").last().alias("end"),
            pl.col("lat_deg").first(), pl.col("lon_deg").first(),
            pl.len().alias("n_points"), pl.col("inland_m").max().alias("max_inland_m"),
            pl.col("source_id").first().alias("src0"), pl.col("record_no").first().alias("rec0"),
            pl.col("source_id").last().alias("src1"), pl.col("record_no").last().alias("rec1"),
        )
    )
    return [
        _row(KIND_ON_LAND, r["mmsi"], r["segment_id"], r["start"], r["end"], r["lat_deg"], r["lon_deg"],
             {"n_points": r["n_points"], "max_inland_distance_m": round(r["max_inland_m"], 1)},
             [(r["src0"], r["rec0"]), (r["src1"], r["rec1"])], params_id, r["segment_id"])
        for r in runs.iter_rows(named=True)
    ]


def _overlap_rows(df: pl.DataFrame, config: Config, params_id: str) -> list[dict[str, object]]:
    min_points = int(config["tracks.spoofing_min_segment_points"])
    spans = (
        df.group_by("mmsi", "segment_id")
        .agg(pl.col("ts_utc").min().alias("t0"), pl.col("ts_utc").max().alias("t1"), pl.len().alias("n"))
        .filter(pl.col("n") >= min_points)
    )
    multi = spans.filter(pl.len().over("mmsi") >= 2)
    if multi.height == 0:
        return []
    pairs = (
        multi.join(multi, on="mmsi", suffix="_b")
        .filter((pl.col("segment_id") < pl.col("segment_id_b"))
                & (pl.col("t0") < pl.col("t1_b")) & (pl.col("t0_b") < pl.col("t1")))
        .with_columns(pl.max_horizontal("t0", "t0_b").alias("start"), pl.min_horizontal("t1", "t1_b").alias("end"))
    )
    if pairs.height == 0:
        return []
    # The first position of each segment inside the overlap: evidence, and how far apart the two are.
    pts = df.select("segment_id", "ts_utc", "lat_deg", "lon_deg", "source_id", "record_no").sort("ts_utc")

    def first_in(seg_col: str, suffix: str) -> pl.DataFrame:
        probe = pairs.select(
            pl.col("segment_id").alias("a"), pl.col("segment_id_b").alias("b"), pl.col(seg_col).alias("seg"), "start"
        ).sort("start")
        joined = probe.join_asof(
            pts.rename({"segment_id": "seg"}), left_on="start", right_on="ts_utc", by="seg", strategy="forward",
            check_sortedness=False,  # both sides are sorted by time, hence within each segment too
        )
        cols = ("ts_utc", "lat_deg", "lon_deg", "source_id", "record_no")
        return joined.select("a", "b", *[pl.col(c).alias(f"{c}{suffix}") for c in cols])

    a_pts = first_in("segment_id", "_a")
    b_pts = first_in("segment_id_b", "_b")
    full = (
        pairs.rename({"segment_id": "a", "segment_id_b": "b"})
        .join(a_pts, on=["a", "b"]).join(b_pts, on=["a", "b"])
    )
    rows = []
    for r in full.iter_rows(named=True):
        sep_m = float(haversine_m(r["lat_deg_a"], r["lon_deg_a"], r["lat_deg_b"], r["lon_deg_b"]))
        rows.append(_row(
            KIND_OVERLAP, r["mmsi"], r["a"], r["start"], r["end"], r["lat_deg_a"], r["lon_deg_a"],
            {
                "other_segment_id": r["b"],
                "overlap_hours": round((r["end"] - r["start"]).total_seconds() / 3600.0, 3),
                "separation_m": round(sep_m, 1),
                "n_points": r["n"],
                "other_n_points": r["n_b"],
            },
            [(r["source_id_a"], r["record_no_a"]), (r["source_id_b"], r["record_no_b"])],
            params_id, r["b"],
        ))
    return rows
