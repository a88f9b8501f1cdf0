"""Per-vessel track summary: a pure function over one vessel's positions (any engine can run it)."""

from __future__ import annotations

import polars as pl

from sanctionwatch.geo import EARTH_RADIUS_M

__all__ = ["haversine_expr", "track_summary"]


def haversine_expr(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in metres between two points given as Polars expressions (degrees)."""
    p1, p2 = lat1.radians(), lat2.radians()
    dlat = p2 - p1
    dlon = (lon2 - lon1).radians()
    a = (dlat / 2).sin() ** 2 + p1.cos() * p2.cos() * (dlon / 2).sin() ** 2
    return 2 * EARTH_RADIUS_M * a.sqrt().clip(upper_bound=1.0).arcsin()


def track_summary(positions: pl.DataFrame) -> dict[str, object]:
    """Counts, span, bounding box, distance and gaps of one vessel's positions.

    ``positions`` has at least mmsi, ts_utc, lat_deg, lon_deg, sog_knots; any order.
    Distance is the sum of great-circle legs between consecutive fixes (a lower bound of the
    distance sailed). Longitudes crossing the antimeridian are handled by the haversine.
    """
    if positions.height == 0:
        return {"n_positions": 0}
    df = positions.sort("ts_utc").with_columns(
        haversine_expr(
            pl.col("lat_deg").shift(), pl.col("lon_deg").shift(), pl.col("lat_deg"), pl.col("lon_deg")
        ).alias("leg_m"),
        (pl.col("ts_utc") - pl.col("ts_utc").shift()).dt.total_seconds().alias("dt_s"),
    )
    row = df.select(
        pl.len().alias("n_positions"),
        pl.col("ts_utc").min().alias("first_utc"),
        pl.col("ts_utc").max().alias("last_utc"),
        pl.col("ts_utc").dt.date().n_unique().alias("days_with_data"),
        pl.col("lat_deg").min().alias("lat_min"),
        pl.col("lat_deg").max().alias("lat_max"),
        pl.col("lon_deg").min().alias("lon_min"),
        pl.col("lon_deg").max().alias("lon_max"),
        (pl.col("leg_m").sum() / 1852.0).alias("distance_nm"),
        (pl.col("dt_s").max() / 3600.0).alias("max_gap_hours"),
        (pl.col("dt_s").median() / 60.0).alias("median_interval_min"),
        pl.col("sog_knots").max().alias("max_sog_knots"),
    ).row(0, named=True)
    return row
