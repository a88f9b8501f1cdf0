"""Ship-to-ship encounters: two vessels close together, slow, for hours, away from port (type ``encounter``).

After GFW pipe-encounters / pipe-events (domain.md section 1.3), as joins (no all-pairs loop):

1. **Resample**: each segment is interpolated linearly (longitude the short way round the
   antimeridian) onto a grid of ``events.encounter_resample_minutes`` (10 min) aligned to midnight
   UTC, never between two positions ``events.encounter_max_interpolation_gap_hours`` (1 h) or more
   apart. Each resampled point carries the raw record nearest in time (for evidence) and its
   implied speed from the previous resampled point of its segment.
2. **Neighbours**: each point gets an H3 cell at the finest resolution whose average edge is at
   least ``_H3_SAFETY`` x the contact distance (resolution 7, ~1.4 km, for 500 m); the other
   side of the join is each point under its cell's ring-1 disk (``h3.grid_disk(cell, 1)``), so
   every pair within one edge length meets in exactly one (time bucket, cell) group. Self-join on
   (bucket, cell) with ``mmsi < other_mmsi``; keep pairs within ``events.encounter_max_distance_m``.
3. **Runs**: consecutive buckets of one pair form a run; a run is kept when it lasts at least
   ``events.encounter_min_hours`` (last bucket - first bucket), its median speed (the mean of the two
   vessels' implied speeds per bucket; GFW uses vessel 1's) is below
   ``events.encounter_max_median_speed_knots`` and its mean position is at least
   ``events.encounter_min_distance_from_port_km`` from every port of the port index (watched
   areas and WPI points, :func:`sanctionwatch.events.ports.build_port_index`).
4. **Merge**: kept runs of the same pair starting less than ``events.encounter_merge_gap_hours``
   after the previous one ended become one event (statistics over all their buckets).

Output: **one row per pair**: ``mmsi`` is the smaller MMSI, ``other_mmsi`` the larger;
``segment_id`` is the smaller MMSI's segment at the start (the other's is in the attributes).
Evidence: for each vessel, the raw record nearest in time to the start and to the end.
Times are not grouped by UTC day, so encounters across midnight are found (GFW's known issue of
short encounters at the day boundary does not arise). Two segments of one MMSI overlapping in
time count once per bucket (the closer point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import h3
import numpy as np
import numpy.typing as npt
import polars as pl
import shapely

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame, segmented_input
from sanctionwatch.events.loitering import circular_mean_lon_expr
from sanctionwatch.events.ports import PortIndex, build_port_index
from sanctionwatch.geo import EARTH_RADIUS_M, haversine_m
from sanctionwatch.tracks.segment import METRES_PER_NM
from sanctionwatch.tracks.summary import haversine_expr

__all__ = [
    "EVENT_TYPE",
    "POINT_COLUMNS",
    "EncounterDetector",
    "candidate_contacts",
    "contacts_from_candidates",
    "detect_encounters",
    "h3_cells",
    "h3_resolution_for",
    "resample",
    "ring_table",
]

EVENT_TYPE = "encounter"
_US_PER_MIN = 60_000_000
_US_PER_HOUR = 3_600_000_000
# H3 cells vary in size over the globe (edges within roughly +-30 % of the average, pentagons smaller);
# asking for twice the contact distance keeps the ring-1 disk a sure superset of the contact circle.
_H3_SAFETY = 2.0
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]


def h3_resolution_for(max_distance_m: float) -> int:
    """Finest H3 resolution whose average hexagon edge is >= ``_H3_SAFETY`` x ``max_distance_m``."""
    best = 0
    for res in range(16):
        if h3.average_hexagon_edge_length(res, unit="m") >= _H3_SAFETY * max_distance_m:
            best = res
    return best


@dataclass(frozen=True)
class EncounterDetector:
    """Encounter detector (see module docstring). ``detect(segmented)`` returns EVENTS rows."""

    config: Config
    ports: PortIndex | None = None
    event_type: ClassVar[str] = EVENT_TYPE

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame:
        return self.from_points(self.points(segmented))

    def from_points(self, points: pl.DataFrame) -> pl.DataFrame:
        """Steps 2-4 on the resampled points of any set of vessels (all of them, for the local
        engine, which makes the points group by group so only they, not the tracks, are held)."""
        if points.height == 0:
            return empty_events()
        return self.from_contacts(_contacts(points, self.max_distance_m))

    # The steps below are what an engine that partitions the work calls (engines/spark.py): points
    # per vessel, the (time bucket, H3 cell) join across vessels, then from_contacts per pair of vessels.

    @property
    def max_distance_m(self) -> float:
        return float(self.config["events.encounter_max_distance_m"])

    @property
    def h3_resolution(self) -> int:
        """H3 resolution of the neighbour join (see :func:`h3_resolution_for`)."""
        return h3_resolution_for(self.max_distance_m)

    def points(self, segmented: pl.DataFrame) -> pl.DataFrame:
        """Step 1, per segment: the resampled points (:func:`resample` with this config's grid)."""
        cfg = self.config
        step_us = round(float(cfg["events.encounter_resample_minutes"]) * _US_PER_MIN)
        max_gap_us = round(float(cfg["events.encounter_max_interpolation_gap_hours"]) * _US_PER_HOUR)
        return resample(segmented, step_us, max_gap_us)

    def from_contacts(self, contacts: pl.DataFrame) -> pl.DataFrame:
        """Steps 3-4, per pair of vessels: runs, thresholds, merge and EVENTS rows from
        :func:`contacts_from_candidates` rows (all contacts of each pair present)."""
        cfg = self.config
        step_us = round(float(cfg["events.encounter_resample_minutes"]) * _US_PER_MIN)
        min_us = round(float(cfg["events.encounter_min_hours"]) * _US_PER_HOUR)
        max_speed_knots = float(cfg["events.encounter_max_median_speed_knots"])
        min_port_m = float(cfg["events.encounter_min_distance_from_port_km"]) * 1000.0
        merge_us = round(float(cfg["events.encounter_merge_gap_hours"]) * _US_PER_HOUR)

        runs = _runs(contacts, step_us)
        runs = runs.filter((pl.col("end_us") - pl.col("start_us") >= min_us) & (pl.col("median_speed_knots") < max_speed_knots))
        if runs.height == 0:
            return empty_events()
        ports = (self.ports if self.ports is not None else build_port_index(cfg)) if min_port_m > 0 else None
        if ports is not None:
            port_m = distance_to_ports_m(ports, runs.get_column("lat_deg").to_numpy(), runs.get_column("lon_deg").to_numpy())
            runs = runs.filter(pl.Series(~(port_m < min_port_m)))  # NaN (no ports) passes
            if runs.height == 0:
                return empty_events()
        events = _merge(contacts, runs, merge_us)
        return self._rows(events, ports)

    def _rows(self, events: pl.DataFrame, ports: PortIndex | None) -> pl.DataFrame:
        cfg = self.config
        params_id = cfg.params_id
        port_m = (
            distance_to_ports_m(ports, events.get_column("lat_deg").to_numpy(), events.get_column("lon_deg").to_numpy())
            if ports is not None else np.full(events.height, np.nan)
        )
        rows = []
        for k, e in enumerate(events.iter_rows(named=True)):
            start = e["start_utc"]
            attrs = {
                "duration_h": round((e["end_us"] - e["start_us"]) / _US_PER_HOUR, 4),
                "contact_h": round(e["contact_us"] / _US_PER_HOUR, 4),
                "runs": e["runs"],
                "buckets": e["buckets"],
                "median_distance_m": round(e["median_distance_m"], 1),
                "median_speed_knots": round(e["median_speed_knots"], 3),
                "other_segment_id": e["segment_id_b"],
                "distance_from_port_km": None if math.isnan(port_m[k]) else round(float(port_m[k]) / 1000.0, 2),
            }
            rows.append({
                "event_id": event_id(EVENT_TYPE, e["mmsi"], start, None, params_id, str(e["mmsi_b"])),
                "event_type": EVENT_TYPE,
                "mmsi": e["mmsi"],
                "other_mmsi": e["mmsi_b"],
                "segment_id": e["segment_id"],
                "start_utc": start,
                "end_utc": e["end_utc"],
                "lat_deg": e["lat_deg"],
                "lon_deg": e["lon_deg"],
                "basis": "ais",
                "attrs": attrs,
                "evidence": [
                    (e["start_src_a"], e["start_rec_a"]), (e["start_src_b"], e["start_rec_b"]),
                    (e["end_src_a"], e["end_rec_a"]), (e["end_src_b"], e["end_rec_b"]),
                ],
                "params_id": params_id,
            })
        return events_frame(rows)


def detect_encounters(segmented: pl.DataFrame, config: Config, ports: PortIndex | None = None) -> pl.DataFrame:
    """Encounter events (EVENTS schema, one row per pair) from segmented positions; see module docstring."""
    return EncounterDetector(config, ports=ports).detect(segmented)


def resample(segmented: pl.DataFrame, step_us: int, max_gap_us: int) -> pl.DataFrame:
    """Segments interpolated onto a midnight-aligned grid: mmsi, segment_id, t_us, lat/lon, speed, nearest record.

    No point is made between two positions ``max_gap_us`` or more apart, unless it falls exactly on
    a position. ``speed_knots`` is the implied speed from the previous grid point of the segment
    (null at a segment's first point or after a hole).
    """
    df = segmented_input(segmented)
    raw = (
        df.filter(pl.col("lat_deg").is_finite() & pl.col("lon_deg").is_finite())
        .select(
            "mmsi", "segment_id", pl.col("ts_utc").dt.epoch("us").alias("t_us"),
            pl.col("lat_deg").cast(pl.Float64), pl.col("lon_deg").cast(pl.Float64), "source_id", "record_no",
        )
        .sort("segment_id", "t_us", "source_id", "record_no")
        .unique(["segment_id", "t_us"], keep="first", maintain_order=True)
        .sort("t_us")
    )
    if raw.height == 0:
        return raw
    grid = (
        raw.group_by("segment_id")
        .agg(pl.col("mmsi").first(), pl.col("t_us").min().alias("t0"), pl.col("t_us").max().alias("t1"))
        .with_columns((-((-pl.col("t0")) // step_us) * step_us).alias("g0"))  # ceil to the grid
        .filter(pl.col("g0") <= pl.col("t1"))
        .select("mmsi", "segment_id", pl.int_ranges("g0", pl.col("t1") + 1, step_us).alias("t_us"))
        .explode("t_us")
        .sort("t_us")
    )
    side = raw.select("segment_id", "t_us", "lat_deg", "lon_deg", "source_id", "record_no")
    prev = side.rename({c: f"{c}_p" for c in side.columns if c != "segment_id"}).with_columns(pl.col("t_us_p").alias("t_us"))
    nxt = side.rename({c: f"{c}_n" for c in side.columns if c != "segment_id"}).with_columns(pl.col("t_us_n").alias("t_us"))
    j = (
        grid.join_asof(prev, on="t_us", by="segment_id", strategy="backward", check_sortedness=False)
        .join_asof(nxt, on="t_us", by="segment_id", strategy="forward", check_sortedness=False)
    )
    span = pl.col("t_us_n") - pl.col("t_us_p")
    exact = pl.col("t_us_p") == pl.col("t_us")
    frac = pl.when(span > 0).then((pl.col("t_us") - pl.col("t_us_p")) / span).otherwise(0.0)
    dlon = (pl.col("lon_deg_n") - pl.col("lon_deg_p") + 180.0).mod(360.0) - 180.0
    use_prev = (pl.col("t_us") - pl.col("t_us_p")) <= (pl.col("t_us_n") - pl.col("t_us"))
    pts = (
        j.filter(exact | (span < max_gap_us))
        .select(
            "mmsi", "segment_id", "t_us",
            (pl.col("lat_deg_p") + frac * (pl.col("lat_deg_n") - pl.col("lat_deg_p"))).alias("lat_deg"),
            ((pl.col("lon_deg_p") + frac * dlon + 180.0).mod(360.0) - 180.0).alias("lon_deg"),
            pl.when(use_prev).then(pl.col("source_id_p")).otherwise(pl.col("source_id_n")).alias("src"),
            pl.when(use_prev).then(pl.col("record_no_p")).otherwise(pl.col("record_no_n")).alias("rec"),
        )
        .sort("segment_id", "t_us")
    )
    seg = "segment_id"
    consecutive = (pl.col("t_us") - pl.col("t_us").shift(1).over(seg)) == step_us
    leg_m = haversine_expr(pl.col("lat_deg").shift(1).over(seg), pl.col("lon_deg").shift(1).over(seg),
                           pl.col("lat_deg"), pl.col("lon_deg"))
    speed = leg_m / METRES_PER_NM / (step_us / _US_PER_HOUR)
    return pts.with_columns(pl.when(consecutive).then(speed).otherwise(None).alias("speed_knots"))


def h3_cells(lat: FloatArray, lon: FloatArray, res: int) -> npt.NDArray[np.uint64]:
    """H3 cell (int) of each point at resolution ``res``."""
    to_cell = h3.api.basic_int.latlng_to_cell
    return np.fromiter((to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)),
                       dtype=np.uint64, count=lat.size)


def ring_table(cells: npt.NDArray[np.uint64]) -> pl.DataFrame:
    """cell -> every cell of its ring-1 disk: the other side of a neighbour join on H3 cells."""
    uniq = np.unique(cells)
    disk = h3.api.basic_int.grid_disk
    nb = [disk(int(c), 1) for c in uniq]
    return pl.DataFrame({
        "cell": np.repeat(uniq, [len(x) for x in nb]),
        "nb_cell": np.fromiter((c for x in nb for c in x), dtype=np.uint64),
    }, schema={"cell": pl.UInt64, "nb_cell": pl.UInt64})


#: columns of a resampled point carried through the neighbour join (the right side gets the suffix ``_b``)
POINT_COLUMNS = ("mmsi", "segment_id", "lat_deg", "lon_deg", "src", "rec", "speed_knots")


def _contacts(points: pl.DataFrame, max_dist_m: float) -> pl.DataFrame:
    """Pairs (mmsi < mmsi_b) within ``max_dist_m`` at the same grid instant: one row per pair and bucket."""
    res = h3_resolution_for(max_dist_m)
    cells = h3_cells(points.get_column("lat_deg").to_numpy(), points.get_column("lon_deg").to_numpy(), res)
    pts = points.with_columns(pl.Series("cell", cells, dtype=pl.UInt64))
    ring = ring_table(cells)
    right = (
        pts.join(ring, on="cell")
        .drop("cell")
        .rename({"nb_cell": "cell"})
    )
    pairs = (
        pts.join(right.select("t_us", "cell", *POINT_COLUMNS), on=["t_us", "cell"], suffix="_b")
        .filter(pl.col("mmsi") < pl.col("mmsi_b"))
    )
    return contacts_from_candidates(candidate_contacts(pairs, max_dist_m))


def candidate_contacts(pairs: pl.DataFrame, max_dist_m: float) -> pl.DataFrame:
    """Rows of the (time bucket, cell) join kept when the two points are within ``max_dist_m``, with
    ``distance_m``. Row by row: an engine may run it on any slice of the join."""
    return (
        pairs.with_columns(
            haversine_expr(pl.col("lat_deg"), pl.col("lon_deg"), pl.col("lat_deg_b"), pl.col("lon_deg_b")).alias("distance_m")
        )
        .filter(pl.col("distance_m") <= max_dist_m)
    )


def contacts_from_candidates(candidates: pl.DataFrame) -> pl.DataFrame:
    """One contact per pair and bucket (the closest, when segments overlap), with the pair's mean speed
    and midpoint. Needs every candidate of a pair together (an engine partitions by pair)."""
    return (
        candidates.sort("mmsi", "mmsi_b", "t_us", "distance_m", "segment_id", "segment_id_b")
        .unique(["mmsi", "mmsi_b", "t_us"], keep="first", maintain_order=True)
        .with_columns(
            pl.mean_horizontal("speed_knots", "speed_knots_b").alias("pair_speed_knots"),
            # midpoint of the pair (longitude the short way round)
            ((pl.col("lat_deg") + pl.col("lat_deg_b")) / 2).alias("mid_lat_deg"),
            ((pl.col("lon_deg") + ((pl.col("lon_deg_b") - pl.col("lon_deg") + 180.0).mod(360.0) - 180.0) / 2 + 180.0)
             .mod(360.0) - 180.0).alias("mid_lon_deg"),
        )
        .select("mmsi", "mmsi_b", "t_us", "segment_id", "segment_id_b", "src", "rec", "src_b", "rec_b",
                "distance_m", "pair_speed_knots", "mid_lat_deg", "mid_lon_deg")
    )


_PAIR = ["mmsi", "mmsi_b"]


def _runs(contacts: pl.DataFrame, step_us: int) -> pl.DataFrame:
    """Runs of consecutive buckets per pair, with a ``run`` number; one row per run."""
    gap = pl.col("t_us") - pl.col("t_us").shift(1).over(_PAIR)
    with_run = contacts.with_columns((gap != step_us).fill_null(True).cum_sum().over(_PAIR).alias("run"))
    return (
        with_run.group_by(*_PAIR, "run", maintain_order=True)
        .agg(
            pl.col("t_us").min().alias("start_us"),
            pl.col("t_us").max().alias("end_us"),
            pl.col("pair_speed_knots").median().fill_null(0.0).alias("median_speed_knots"),
            pl.col("mid_lat_deg").mean().alias("lat_deg"),
            circular_mean_lon_expr(pl.col("mid_lon_deg")).alias("lon_deg"),
        )
    )


def _merge(contacts: pl.DataFrame, runs: pl.DataFrame, merge_us: int) -> pl.DataFrame:
    """Merge kept runs of a pair less than ``merge_us`` apart; statistics over the merged buckets."""
    runs = runs.sort(*_PAIR, "start_us").with_columns(
        ((pl.col("start_us") - pl.col("end_us").shift(1).over(_PAIR)) >= merge_us)
        .fill_null(True).cum_sum().over(_PAIR).alias("event"),
        (pl.col("end_us") - pl.col("start_us")).alias("run_us"),
    )
    bounds = runs.group_by(*_PAIR, "event").agg(
        pl.col("start_us").min(), pl.col("end_us").max(), pl.col("run_us").sum().alias("contact_us"),
        pl.len().alias("runs"),
    )
    buckets = (
        contacts.join(runs.select(*_PAIR, "event", "start_us", "end_us"), on=_PAIR)
        .filter(pl.col("t_us").is_between(pl.col("start_us"), pl.col("end_us")))
        .drop("start_us", "end_us")
        .sort(*_PAIR, "event", "t_us")
    )
    stats = buckets.group_by(*_PAIR, "event").agg(
        pl.len().alias("buckets"),
        pl.col("distance_m").median().alias("median_distance_m"),
        pl.col("pair_speed_knots").median().fill_null(0.0).alias("median_speed_knots"),
        pl.col("mid_lat_deg").mean().alias("lat_deg"),
        circular_mean_lon_expr(pl.col("mid_lon_deg")).alias("lon_deg"),
        pl.col("segment_id").first(), pl.col("segment_id_b").first(),
        pl.col("src").first().alias("start_src_a"), pl.col("rec").first().alias("start_rec_a"),
        pl.col("src_b").first().alias("start_src_b"), pl.col("rec_b").first().alias("start_rec_b"),
        pl.col("src").last().alias("end_src_a"), pl.col("rec").last().alias("end_rec_a"),
        pl.col("src_b").last().alias("end_src_b"), pl.col("rec_b").last().alias("end_rec_b"),
    )
    return (
        bounds.join(stats, on=[*_PAIR, "event"])
        .with_columns(
            pl.from_epoch("start_us", time_unit="us").dt.replace_time_zone("UTC").alias("start_utc"),
            pl.from_epoch("end_us", time_unit="us").dt.replace_time_zone("UTC").alias("end_utc"),
        )
        .sort(*_PAIR, "start_us")
    )


def distance_to_ports_m(ports: PortIndex, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Distance in metres from each position to the nearest port of ``ports`` (NaN with no ports).

    Point ports: great-circle distance to the point. Polygon areas: 0 inside, else the distance to
    the edge in a local equirectangular plane centred on the area (fine within hundreds of km;
    farther away some per cent off, which does not matter against a 10 km threshold).
    """
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    best = np.full(lat.size, np.nan)
    if len(ports) == 0 or lat.size == 0:
        return best
    best[:] = np.inf
    is_point = np.array([p is None for p in ports.polygons], dtype=bool)
    plat, plon = ports.lat_deg[is_point], ports.lon_deg[is_point]
    chunk = max(1, 2_000_000 // max(1, plat.size))
    for s in range(0, lat.size, chunk):
        d = haversine_m(lat[s:s + chunk, None], lon[s:s + chunk, None], plat[None, :], plon[None, :])
        if plat.size:
            best[s:s + chunk] = np.asarray(d, dtype=np.float64).min(axis=1)
    for k in np.flatnonzero(~is_point):
        geoms = ports.polygons[k]
        assert geoms is not None
        best = np.minimum(best, _polygon_distance_m(geoms[0], lat, lon))
    return best


def _polygon_distance_m(poly: shapely.Geometry, lat: FloatArray, lon: FloatArray) -> FloatArray:
    c = poly.centroid
    k = math.cos(math.radians(c.y))

    def to_local(xy: FloatArray) -> FloatArray:
        out: FloatArray = np.column_stack([((xy[:, 0] - c.x + 180.0) % 360.0 - 180.0) * k, xy[:, 1] - c.y])
        return out

    local = shapely.transform(poly, to_local)
    x = ((lon - c.x + 180.0) % 360.0 - 180.0) * k
    y = lat - c.y
    d: FloatArray = np.asarray(shapely.distance(local, shapely.points(x, y)), dtype=np.float64) * _M_PER_DEG
    return d
