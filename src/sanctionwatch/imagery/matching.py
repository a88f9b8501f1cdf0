"""Match satellite detections to AIS vessels; what is left over is a dark-vessel *candidate*, not proof.

After GFW / Paolo et al. 2024 (extrapolate AIS to the image time, score position x length, rank
and assign) and xView3 (one-to-one Hungarian assignment), domain.md sections 3.1-3.2:

1. **Expected positions** (:func:`sanctionwatch.imagery.expected.expected_positions`): each AIS
   vessel at the scene time, with a 1-sigma radius ``r`` that grows with the time to its fix.
2. **Candidates**: a join on (scene, H3 resolution, H3 cell) -- each detection's cell against each
   expected position's ring-1 disk, at the finest resolution whose edge is twice that position's
   search radius ``min(search_sigmas * r, max_search_radius_m)`` (the approach and helpers of
   :mod:`sanctionwatch.events.encounters`) -- keeping pairs within the search radius.
3. **Score**: a likelihood ratio "this vessel" vs "something else" (the clutter-density form of
   track-to-detection association; Bar-Shalom & Fortmann 1988), times two agreement factors::

       LR = N2(d; r) / rho * length * heading        score = LR / (1 + LR)  in [0, 1]
       N2(d; r) = exp(-d^2 / (2 r^2)) / (2 pi r^2)     2-D normal density at the detection (per m^2)
       rho      = max((detections - AIS vessels expected in the footprint) / footprint area,
                     background_density_per_km2)   the density of detections AIS cannot explain
       length   = exp(-(ln(detected / AIS length))^2 / (2 length_log_sigma^2))   (1 if either unknown)
       heading  = exp(heading_kappa * (cos(2 dh) - 1))   dh: heading difference (1 if either unknown)

   The density makes a vague expectation (old fix, unknown speed) weak everywhere, so it never
   outbids a sharp one, yet in an empty scene (low rho) it can still be matched. Other AIS vessels
   are not part of rho: they compete for the detection in the assignment. Headings are
   compared modulo 180 degrees (SAR cannot tell bow from stern); the AIS heading is the true
   heading, else the COG when moving. ``score`` is the posterior probability of "this vessel"
   at even prior odds.
4. **Assignment**, one-to-one per scene (per connected group of candidates):
   ``scipy.optimize.linear_sum_assignment`` maximising ``sum(ln LR - ln LR_min)`` over pairs
   with ``score >= min_score`` (Hungarian on ``-ln LR``,
   where leaving a detection unmatched costs ``-ln LR_min``, ``LR_min = min_score / (1 -
   min_score)``), so no pair below the threshold is ever assigned and no weak pair is forced
   just to match more.
5. **Status** per detection: ``matched``; ``ambiguous`` when unassigned but an AIS vessel could be
   it: a candidate the assignment left free (typically below the threshold), or one won by another
   detection by less than ``ambiguity_factor`` in LR (gpsdio-segment's ambiguity rule); the row
   carries that candidate's figures; ``dark_candidate`` otherwise: no AIS vessel could be there,
   or every one that could is clearly another detection. AIS vessels expected inside a scene
   footprint but not assigned come back in a second frame (MISSED_SCHEMA), ``missed`` ("the
   satellite looked and did not see it") or ``ambiguous`` (an open detection could be it).

Caveats: needs AIS covering the scene time (no AIS at all makes every detection "dark"); the
azimuth shift of moving ships in SAR is not modelled (it is part of the base radius); false
detections (waves, rocks, platforms) also come out as dark candidates.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import polars as pl
import shapely
from pyproj import Geod
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sanctionwatch.events.encounters import h3_cells, h3_resolution_for, ring_table
from sanctionwatch.geo import land_mask
from sanctionwatch.imagery.expected import EVIDENCE_DTYPE, expected_positions, scene_key_expr, scene_times
from sanctionwatch.imagery.match_params import MatchingParams
from sanctionwatch.schema import DETECTION_MATCHES
from sanctionwatch.tracks.summary import haversine_expr

__all__ = [
    "MISSED_SCHEMA",
    "MatchingParams",
    "dark_candidates",
    "expected_positions",
    "match_detections",
    "scene_times",
    "vessel_lengths",
]

_UTC = pl.Datetime("us", "UTC")
MATCHED, AMBIGUOUS, DARK, MISSED = "matched", "ambiguous", "dark_candidate", "missed"
# The gain ln LR - ln LR_min of a pair scoring exactly min_score is 0; this keeps it assignable.
_TIE_EPS = 1e-12

_MISSED_SCHEMA_TYPES: dict[str, Any] = {
    "scene_id": pl.String, "ts_utc": _UTC, "mmsi": pl.Int32, "segment_id": pl.String, "status": pl.String,
    "method": pl.String, "expected_lat_deg": pl.Float64, "expected_lon_deg": pl.Float64, "uncertainty_m": pl.Float64,
    "fix_offset_min": pl.Float64, "ais_length_m": pl.Float64, "best_score": pl.Float64,
    "candidate_detection_id": pl.String,
    "evidence": EVIDENCE_DTYPE, "params_id": pl.String,
}
MISSED_SCHEMA = pl.Schema(_MISSED_SCHEMA_TYPES)


def _matches_schema() -> pl.Schema:
    return pl.Schema(cast("dict[str, Any]", DETECTION_MATCHES.polars()))


def vessel_lengths(identities: pl.DataFrame) -> pl.DataFrame:
    """One AIS length per MMSI (mmsi, length_m): the positive length broadcast in the most reports.

    Why: an MMSI can carry several static reports (typos, a reused MMSI); the most reported value is
    the one the crew set. Ties go to the shorter length (deterministic).
    """
    if identities.height == 0 or "length_m" not in identities.columns:
        return pl.DataFrame(schema={"mmsi": pl.Int32, "length_m": pl.Float64})
    weight = pl.col("n_reports") if "n_reports" in identities.columns else pl.lit(1)
    return (
        identities.filter(pl.col("length_m").is_finite() & (pl.col("length_m") > 0))
        .group_by(pl.col("mmsi").cast(pl.Int32), pl.col("length_m").cast(pl.Float64))
        .agg(weight.sum().alias("_n"))
        .sort("mmsi", pl.col("_n"), "length_m", descending=[False, True, False])
        .unique("mmsi", keep="first", maintain_order=True)
        .select("mmsi", "length_m")
    )


def _with_cells(df: pl.DataFrame, lat: str, lon: str, res: int) -> pl.DataFrame:
    cells = h3_cells(df.get_column(lat).to_numpy(), df.get_column(lon).to_numpy(), res)
    return df.with_columns(pl.Series("cell", cells, dtype=pl.UInt64))


def _search_radius(p: MatchingParams) -> pl.Expr:
    return pl.min_horizontal(p.search_sigmas * pl.col("uncertainty_m"), pl.lit(p.max_search_radius_m))


def _cell_join(det: pl.DataFrame, exp: pl.DataFrame, p: MatchingParams) -> pl.DataFrame:
    """Detection x expected rows of the same scene whose cells meet: each expected position's ring-1 disk at
    the finest H3 resolution covering its own search radius (radius rounded up to 50 m), against the
    detection's cell at that resolution. An equi-join on (scene, resolution, cell), so a busy scene with
    sharp positions does not pair every detection with every vessel within the 10 km maximum."""
    radius = exp.select((_search_radius(p) / 50.0).ceil() * 50.0).to_series().to_numpy()
    uniq, inv = np.unique(radius, return_inverse=True)
    res_of = np.array([h3_resolution_for(float(r)) for r in uniq], dtype=np.int64)[inv]
    parts = []
    for res in np.unique(res_of):
        e = _with_cells(exp.filter(pl.Series(res_of == res)), "expected_lat_deg", "expected_lon_deg", int(res))
        e = e.join(ring_table(e.get_column("cell").to_numpy()), on="cell").drop("cell").rename({"nb_cell": "cell"})
        d = _with_cells(det.join(e.select("scene_id").unique(), on="scene_id", how="semi"), "lat_deg", "lon_deg",
                        int(res))
        parts.append(d.join(e, on=["scene_id", "cell"]).drop("cell"))
    return pl.concat(parts)


def _pairs(det: pl.DataFrame, exp: pl.DataFrame, rho: pl.DataFrame, p: MatchingParams) -> pl.DataFrame:
    """Candidate (detection, expected) pairs of the same scene with their figures, ``ln_lr`` and score."""
    r = pl.col("uncertainty_m")
    dist = haversine_expr(pl.col("lat_deg"), pl.col("lon_deg"), pl.col("expected_lat_deg"), pl.col("expected_lon_deg"))
    ratio = pl.when((pl.col("det_length_m") > 0) & (pl.col("ais_length_m") > 0)).then(
        pl.col("det_length_m") / pl.col("ais_length_m"))
    dh = ((pl.col("det_heading_deg") - pl.col("heading_deg") + 90.0).mod(180.0) - 90.0).abs()
    ln_pos = -0.5 * (pl.col("distance_m") / r) ** 2 - (2.0 * math.pi * r**2).log() - pl.col("rho_per_m2").log()
    ln_len = (-(pl.col("length_ratio").log() ** 2) / (2.0 * p.length_log_sigma**2)).fill_null(0.0)
    ln_hdg = (p.heading_kappa * ((2.0 * pl.col("heading_diff_deg")).radians().cos() - 1.0)).fill_null(0.0)
    return (
        _cell_join(det, exp, p)
        .with_columns(dist.alias("distance_m"), ratio.alias("length_ratio"), dh.alias("heading_diff_deg"))
        .filter(pl.col("distance_m") <= _search_radius(p))
        .join(rho, on="scene_id", how="left")
        .with_columns(pl.col("rho_per_m2").fill_null(p.background_density_per_km2 / 1e6))
        .with_columns((ln_pos + ln_len + ln_hdg).alias("ln_lr"))
        .with_columns((1.0 / (1.0 + (-pl.col("ln_lr")).exp())).alias("score"))
        .drop("rho_per_m2")
    )


def _inside(exp: pl.DataFrame, scenes: pl.DataFrame | None) -> pl.Series:
    """True where the expected position lies inside its scene's footprint (False: outside or unknown)."""
    inside = np.zeros(exp.height, dtype=bool)
    if scenes is None or scenes.height == 0 or exp.height == 0:
        return pl.Series("inside", inside)
    foot = dict(zip(scenes.get_column("scene_id").to_list(), scenes.get_column("footprint_wkt").to_list(), strict=True))
    sid = exp.get_column("scene_id").to_numpy()
    lat, lon = exp.get_column("expected_lat_deg").to_numpy(), exp.get_column("expected_lon_deg").to_numpy()
    for scene_id in np.unique(sid):
        geom = shapely.from_wkt(foot.get(scene_id) or "POLYGON EMPTY", on_invalid="ignore")
        if geom is None or geom.is_empty:
            continue
        k = sid == scene_id
        inside[k] = shapely.contains_xy(geom, lon[k], lat[k])
    return pl.Series("inside", inside)


def _scene_density(det: pl.DataFrame, exp: pl.DataFrame, scenes: pl.DataFrame | None, p: MatchingParams
                   ) -> pl.DataFrame:
    """scene_id -> rho_per_m2, the density of detections AIS cannot explain: (detections - AIS vessels
    expected inside the footprint) / footprint area (geodesic, WGS84), floored."""
    floor = p.background_density_per_km2 / 1e6
    counts = det.group_by("scene_id").agg(pl.len().alias("n"))
    if scenes is None or scenes.height == 0:
        return counts.select("scene_id", pl.lit(floor).alias("rho_per_m2"))
    n_in = exp.filter(pl.col("inside")).group_by("scene_id").agg(pl.len().alias("n_in"))
    geod = Geod(ellps="WGS84")
    geoms = shapely.from_wkt(np.array(scenes.get_column("footprint_wkt").to_list(), dtype=object), on_invalid="ignore")
    area = [abs(geod.geometry_area_perimeter(g)[0]) if g is not None and not g.is_empty else np.nan for g in geoms]
    areas = pl.DataFrame({"scene_id": scenes.get_column("scene_id").cast(pl.String), "area_m2": area}).with_columns(
        pl.col("area_m2").fill_nan(None))
    unexplained = (pl.col("n") - pl.col("n_in").fill_null(0)) / pl.col("area_m2")
    return counts.join(n_in, on="scene_id", how="left").join(areas, on="scene_id", how="left").select(
        "scene_id", pl.max_horizontal(unexplained.fill_null(floor), pl.lit(floor)).alias("rho_per_m2"))


def _assign(pairs: pl.DataFrame, min_score: float) -> pl.DataFrame:
    """(det_idx, exp_idx) of the one-to-one assignment (Hungarian, pairs with score >= min_score).

    Solved per connected component of the candidate graph (pairs only link items of one scene, so
    this is finer than per scene and gives the same optimum): most components are one detection and
    one vessel, assigned directly; the rest go to ``linear_sum_assignment``, so a busy scene never
    builds one dense n x m matrix.
    """
    ln_lr_min = math.log(min_score / (1.0 - min_score))
    ok = pairs.filter(pl.col("score") >= min_score)
    empty = pl.DataFrame(schema={"det_idx": pl.UInt32, "exp_idx": pl.UInt32})
    if ok.height == 0:
        return empty
    d_all = ok.get_column("det_idx").to_numpy()
    e_all = ok.get_column("exp_idx").to_numpy()
    gain_all = ok.get_column("ln_lr").to_numpy() - ln_lr_min + _TIE_EPS
    du, dn = np.unique(d_all, return_inverse=True)
    eu, en = np.unique(e_all, return_inverse=True)
    n_nodes = du.size + eu.size
    graph = coo_matrix((np.ones(dn.size), (dn, en + du.size)), shape=(n_nodes, n_nodes))
    _, label = connected_components(graph, directed=False)
    comp = label[dn]
    size = np.bincount(comp)  # pairs per component
    single = size[comp] == 1
    out_d, out_e = [d_all[single]], [e_all[single]]
    multi = np.flatnonzero(~single)
    order = multi[np.argsort(comp[multi], kind="stable")]
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    for idx in np.split(order, bounds) if order.size else []:
        di, dinv = np.unique(dn[idx], return_inverse=True)
        ei, einv = np.unique(en[idx], return_inverse=True)
        gain = np.zeros((di.size, ei.size))
        gain[dinv, einv] = gain_all[idx]
        rows, cols = linear_sum_assignment(gain, maximize=True)
        sel = gain[rows, cols] > 0
        out_d.append(du[di[rows[sel]]])
        out_e.append(eu[ei[cols[sel]]])
    return pl.DataFrame({"det_idx": np.concatenate(out_d), "exp_idx": np.concatenate(out_e)}).cast(empty.schema)


def match_detections(
    detections: pl.DataFrame,
    expected: pl.DataFrame,
    lengths: pl.DataFrame | None = None,
    params: MatchingParams | None = None,
    *,
    scenes: pl.DataFrame | None = None,
    params_id: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(DETECTION_MATCHES rows, one per detection; MISSED_SCHEMA rows) -- see the module docstring.

    ``detections``: DETECTIONS rows. ``expected``: :func:`expected_positions` for the scenes of
    :func:`scene_times` (detections are keyed to scenes the same way). ``lengths``: mmsi, length_m
    (:func:`vessel_lengths`), optional. ``scenes``: SCENES rows (footprint_wkt); without them no
    vessel is reported missed. ``params_id`` defaults to the params' own hash (pass
    ``config.params_id`` in a project run).
    """
    p = params or MatchingParams()
    pid = params_id or p.params_id
    det = (
        detections.with_row_index("det_idx")
        .select(
            "det_idx", pl.col("detection_id").cast(pl.String), scene_key_expr().alias("scene_id"),
            pl.col("ts_utc").cast(_UTC).alias("det_ts_utc"), pl.col("lat_deg").cast(pl.Float64),
            pl.col("lon_deg").cast(pl.Float64),
            _opt(detections, "length_m").cast(pl.Float64).alias("det_length_m"),
            _opt(detections, "heading_deg").cast(pl.Float64).alias("det_heading_deg"),
            pl.struct(_opt(detections, "source_id").cast(pl.String).alias("source_id"),
                      _opt(detections, "record_no").cast(pl.Int64).alias("record_no")).alias("det_ref"),
        )
    )
    lens = lengths if lengths is not None else pl.DataFrame(schema={"mmsi": pl.Int32, "length_m": pl.Float64})
    exp = (
        expected.with_row_index("exp_idx")
        .join(lens.select(pl.col("mmsi").cast(pl.Int32), pl.col("length_m").cast(pl.Float64).alias("ais_length_m")),
              on="mmsi", how="left")
    )
    usable = det.filter(pl.col("lat_deg").is_finite() & pl.col("lon_deg").is_finite()
                        & (pl.col("lat_deg").abs() <= 90.0))
    exp = exp.with_columns(_inside(exp, scenes))
    rho = _scene_density(det, exp, scenes, p)
    pairs = _pairs(usable, exp, rho, p) if usable.height and exp.height else None
    if pairs is None or pairs.height == 0:
        assigned, best, open_exp = pl.DataFrame(schema={"det_idx": pl.UInt32, "exp_idx": pl.UInt32}), None, None
    else:
        assigned = pairs.join(_assign(pairs, p.min_score), on=["det_idx", "exp_idx"], how="semi")
        open_det = _open_candidates(pairs, assigned, "det_idx", "exp_idx", p.ambiguity_factor)
        open_exp = _open_candidates(pairs, assigned, "exp_idx", "det_idx", p.ambiguity_factor)
        best = pl.concat([assigned.with_columns(pl.lit(MATCHED).alias("status")),
                          open_det.with_columns(pl.lit(AMBIGUOUS).alias("status"))], how="diagonal_relaxed")
    matches = _match_rows(det, best, pid)
    missed = _missed(exp, assigned, pairs, open_exp, det, pid)
    return matches, missed


def _open_candidates(pairs: pl.DataFrame, assigned: pl.DataFrame, side: str, other: str, factor: float
                     ) -> pl.DataFrame:
    """For each unassigned ``side`` item, its best candidate that keeps it open: one the assignment left
    free, or one won by another item by less than ``factor`` in likelihood ratio (gpsdio-segment's
    ambiguity rule). Items with candidates but none open are settled: dark, or missed."""
    won = assigned.select(other, pl.col("ln_lr").alias("win_ln_lr"))
    return (
        pairs.join(assigned.select(side), on=side, how="anti")
        .join(won, on=other, how="left")
        .filter(pl.col("win_ln_lr").is_null() | (pl.col("ln_lr") + math.log(factor) >= pl.col("win_ln_lr")))
        .sort(side, "score", other, descending=[False, True, False])
        .unique(side, keep="first", maintain_order=True)
        .drop("win_ln_lr")
    )


def _opt(df: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None)


def _match_rows(det: pl.DataFrame, best: pl.DataFrame | None, pid: str) -> pl.DataFrame:
    """One DETECTION_MATCHES row per detection: the assigned pair, the open candidate, or dark."""
    cols = ["mmsi", "status", "score", "distance_m", "expected_lat_deg", "expected_lon_deg", "uncertainty_m",
            "fix_offset_min", "length_ratio", "heading_diff_deg", "evidence"]
    schema = _matches_schema()
    if best is None or best.height == 0:
        best = pl.DataFrame(schema={"det_idx": pl.UInt32, **{c: schema[c] for c in cols}})
    joined = det.join(best.select("det_idx", *cols), on="det_idx", how="left")
    out = joined.with_columns(
        pl.col("status").fill_null(DARK),
        pl.when(pl.col("evidence").is_null()).then(pl.concat_list(pl.col("det_ref")))
        .otherwise(pl.concat_list(pl.col("det_ref"), pl.col("evidence"))).alias("evidence"),
        pl.col("det_ts_utc").alias("ts_utc"),
        pl.lit(pid).alias("params_id"),
        pl.when(pl.col("scene_id").str.starts_with("@")).then(None).otherwise(pl.col("scene_id")).alias("scene_id"),
    )
    return out.select(list(schema)).cast(schema).sort("detection_id")


def _missed(exp: pl.DataFrame, assigned: pl.DataFrame, pairs: pl.DataFrame | None, open_exp: pl.DataFrame | None,
            det: pl.DataFrame, pid: str) -> pl.DataFrame:
    """Expected positions inside their scene's footprint that no detection was assigned to: 'missed', or
    'ambiguous' when an open candidate detection could be it (named in candidate_detection_id)."""
    free = exp.filter(pl.col("inside")).join(assigned, on="exp_idx", how="anti")
    if pairs is not None and pairs.height:
        top = pairs.group_by("exp_idx").agg(pl.col("score").max().cast(pl.Float64).alias("best_score"))
        free = free.join(top, on="exp_idx", how="left")
    else:
        free = free.with_columns(pl.lit(None, dtype=pl.Float64).alias("best_score"))
    if open_exp is not None and open_exp.height:
        cand = open_exp.join(det.select("det_idx", "detection_id"), on="det_idx").select(
            "exp_idx", pl.col("detection_id").alias("candidate_detection_id"))
        free = free.join(cand, on="exp_idx", how="left")
    else:
        free = free.with_columns(pl.lit(None, dtype=pl.String).alias("candidate_detection_id"))
    return (
        free.with_columns(
            pl.when(pl.col("candidate_detection_id").is_null()).then(pl.lit(MISSED)).otherwise(pl.lit(AMBIGUOUS))
            .alias("status"),
            pl.lit(pid).alias("params_id"),
        )
        .select(list(MISSED_SCHEMA)).cast(MISSED_SCHEMA)
        .sort("scene_id", "mmsi", "segment_id")
    )


def dark_candidates(
    matches: pl.DataFrame, detections: pl.DataFrame, min_distance_from_shore_m: float | None = None
) -> pl.DataFrame:
    """The ``dark_candidate`` rows with the detection's place, length, confidence and sensor.

    With ``min_distance_from_shore_m``, detections on land or nearer the coast than that are dropped
    (rocks, piers, harbour clutter; the coastline is Natural Earth 1:50m, ~1-2 km generalised);
    ``distance_from_shore_m`` is then added (``inf`` = farther than the threshold).
    """
    cols = [c for c in ("lat_deg", "lon_deg", "length_m", "confidence", "sensor") if c in detections.columns]
    out = matches.filter(pl.col("status") == DARK).join(
        detections.select(pl.col("detection_id").cast(pl.String), *cols).rename(
            {"length_m": "det_length_m"} if "length_m" in cols else {}),
        on="detection_id", how="left")
    if min_distance_from_shore_m is None or out.height == 0:
        return out
    mask = land_mask()
    lat, lon = out.get_column("lat_deg").to_numpy(), out.get_column("lon_deg").to_numpy()
    dist = np.asarray(mask.distance_to_coast_m(lat, lon, max_distance_m=min_distance_from_shore_m), dtype=np.float64)
    on_land = np.asarray(mask.contains(lat, lon), dtype=bool)
    return out.with_columns(pl.Series("distance_from_shore_m", dist)).filter(
        pl.Series(~on_land & (dist >= min_distance_from_shore_m)))
