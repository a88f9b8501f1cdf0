"""Validation shared by every AIS reader: one vectorised pass, one set of reason codes.

Each rule is a Polars expression that is true for a *bad* row, with a reason code from
:data:`sanctionwatch.ingest.base.REASONS`. A row is quarantined under the first rule it
breaks (rules are ordered from the most basic), so the per-reason counts add up to the
number of quarantined rows.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.identifiers import flag_for_mmsi_expr, imo_valid_expr
from sanctionwatch.ingest.base import QUARANTINE_RAW_SCHEMA

__all__ = ["collapse_identities", "validate_identities", "validate_positions"]

# AIS "not available" position codes (ITU-R M.1371-5, message 1: lon 181, lat 91).
LAT_NOT_AVAILABLE = 91.0
LON_NOT_AVAILABLE = 181.0
# Ship station MMSIs are 9 digits (ITU-R M.585). As integers: 100000000..999999999.
MMSI_MIN = 100_000_000
MMSI_MAX = 999_999_999


def _time_rules(config: Config, now: dt.datetime) -> list[tuple[str, pl.Expr, pl.Expr]]:
    future_limit = now + dt.timedelta(hours=float(config["ingest.future_tolerance_hours"]))
    oldest = config.min_valid_datetime()
    ts = pl.col("ts_utc")
    return [
        ("ts_in_future", ts > pl.lit(future_limit).dt.cast_time_unit("us"),
         pl.format("timestamp {} is after {}", ts, pl.lit(future_limit.isoformat()))),
        ("ts_too_old", ts < pl.lit(oldest).dt.cast_time_unit("us"),
         pl.format("timestamp {} is before {}", ts, pl.lit(oldest.date().isoformat()))),
    ]


def _ts_missing_rules(df: pl.DataFrame) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """Null timestamps: the reader may say why (``ts_error``); otherwise there was none."""
    if "ts_error" in df.columns:
        return [
            ("bad_timestamp", pl.col("ts_utc").is_null() & (pl.col("ts_error") == "bad_timestamp"),
             pl.format("unparseable timestamp {}", pl.col("ts_text").fill_null(""))
             if "ts_text" in df.columns else pl.lit("unparseable timestamp")),
            ("no_timestamp", pl.col("ts_utc").is_null(), pl.lit("no timestamp")),
        ]
    return [("no_timestamp", pl.col("ts_utc").is_null(), pl.lit("no timestamp"))]


def _mmsi_rule(check_mmsi: bool) -> list[tuple[str, pl.Expr, pl.Expr]]:
    m = pl.col("mmsi")
    if check_mmsi:
        bad = m.is_null() | (m < MMSI_MIN) | (m > MMSI_MAX)
    else:  # anonymised datasets (mapping option validate_mmsi: false) still need an id
        bad = m.is_null() | (m < 0) | (m > 2**31 - 1)
    return [("invalid_mmsi", bad, pl.format("mmsi {}", m.cast(pl.String).fill_null("missing")))]


def _apply_rules(
    df: pl.DataFrame, rules: list[tuple[str, pl.Expr, pl.Expr]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``df`` into (good rows, quarantine rows) by the first rule each row breaks."""
    if df.height == 0:
        return df, pl.DataFrame(schema=QUARANTINE_RAW_SCHEMA)
    # The first rule a row breaks names the reason: coalesce takes the first non-null in order.
    reason = pl.coalesce([pl.when(bad.fill_null(False)).then(pl.lit(code)) for code, bad, _ in rules])
    detail = pl.coalesce([pl.when(bad.fill_null(False)).then(why.cast(pl.String)) for _, bad, why in rules])
    tagged = df.with_columns(reason.alias("_reason"), detail.alias("_detail"))
    good = tagged.filter(pl.col("_reason").is_null()).drop("_reason", "_detail")
    bad_rows = tagged.filter(pl.col("_reason").is_not_null())
    raw = pl.col("raw") if "raw" in df.columns else pl.lit(None, dtype=pl.String)
    quarantine = bad_rows.select(
        pl.col("record_no").cast(pl.Int64),
        pl.col("_reason").alias("reason"),
        pl.col("_detail").cast(pl.String).alias("detail"),
        raw.cast(pl.String).alias("raw"),
    )
    return good, quarantine


def validate_positions(
    df: pl.DataFrame, config: Config, now: dt.datetime, *, check_mmsi: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split raw positions into rows fit for the ``positions`` table and quarantine rows."""
    lat, lon = pl.col("lat_deg"), pl.col("lon_deg")
    rules = [
        *_mmsi_rule(check_mmsi),
        *_ts_missing_rules(df),
        *_time_rules(config, now),
        ("missing_field", lat.is_null() | lon.is_null(), pl.lit("latitude or longitude missing")),
        ("position_not_available", (lat == LAT_NOT_AVAILABLE) | (lon == LON_NOT_AVAILABLE),
         pl.format("lat {} lon {}", lat, lon)),
        ("position_out_of_range", (lat.abs() > 90) | (lon.abs() > 180) | lat.is_nan() | lon.is_nan(),
         pl.format("lat {} lon {}", lat, lon)),
        ("null_island", (lat == 0) & (lon == 0), pl.lit("lat 0 lon 0")),
    ]
    good, quarantine = _apply_rules(df, rules)
    # Speeds/courses outside their physical range are "not available", not bad records.
    good = good.with_columns(
        pl.when((pl.col("sog_knots") < 0) | (pl.col("sog_knots") >= 102.3))
        .then(None).otherwise(pl.col("sog_knots")).cast(pl.Float32).alias("sog_knots"),
        pl.when((pl.col("cog_deg") < 0) | (pl.col("cog_deg") >= 360))
        .then(None).otherwise(pl.col("cog_deg")).cast(pl.Float32).alias("cog_deg"),
        pl.when((pl.col("heading_deg") < 0) | (pl.col("heading_deg") > 359))
        .then(None).otherwise(pl.col("heading_deg")).cast(pl.Int16).alias("heading_deg"),
        pl.when((pl.col("nav_status") < 0) | (pl.col("nav_status") > 14))
        .then(None).otherwise(pl.col("nav_status")).cast(pl.Int8).alias("nav_status"),
    )
    return good, quarantine


def validate_identities(
    df: pl.DataFrame, config: Config, now: dt.datetime, *, check_mmsi: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rules = [*_mmsi_rule(check_mmsi), *_ts_missing_rules(df), *_time_rules(config, now)]
    return _apply_rules(df, rules)


def _clean_text(col: str) -> pl.Expr:
    """AIS 6-bit text: '@' is padding; trailing spaces are padding; empty means absent."""
    c = pl.col(col).cast(pl.String).str.replace_all("@", "").str.strip_chars().str.to_uppercase()
    return pl.when(c == "").then(None).otherwise(c).alias(col)


def _optional(df: pl.DataFrame, col: str) -> pl.Expr:
    if col in df.columns:
        c = pl.col(col).cast(pl.Float32)
        return pl.when(c > 0).then(c).otherwise(None)
    return pl.lit(None, dtype=pl.Float32)


_IDENTITY_KEYS = ["mmsi", "imo", "name", "call_sign", "ship_type", "transceiver_class", "to_bow_m",
                  "to_stern_m", "to_port_m", "to_starboard_m", "length_m", "beam_m", "draught_m",
                  "destination", "eta_text"]


def collapse_identities(df: pl.DataFrame) -> pl.DataFrame:
    """Collapse identity observations of one source into one row per distinct identity.

    Returns columns of the ``identities`` table except ``source_id`` (added by the store).
    """
    if df.height == 0:
        from sanctionwatch.schema import IDENTITIES

        schema = {k: v for k, v in IDENTITIES.polars().items() if k != "source_id"}
        return pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    imo = pl.col("imo")
    cleaned = df.with_columns(
        pl.when((imo <= 0) | (imo > 9_999_999)).then(None).otherwise(imo).cast(pl.Int32).alias("imo"),
        _clean_text("name"),
        _clean_text("call_sign"),
        _clean_text("destination"),
        pl.when(pl.col("eta_text").str.strip_chars() == "").then(None)
        .otherwise(pl.col("eta_text").str.strip_chars()).alias("eta_text"),
        pl.when(pl.col("draught_m") <= 0).then(None).otherwise(pl.col("draught_m"))
        .cast(pl.Float32).alias("draught_m"),
        *[
            pl.when(pl.col(c) <= 0).then(None).otherwise(pl.col(c)).cast(pl.Int16).alias(c)
            for c in ("to_bow_m", "to_stern_m", "to_port_m", "to_starboard_m")
        ],
        pl.when(pl.col("ship_type") <= 0).then(None).otherwise(pl.col("ship_type"))
        .cast(pl.Int16).alias("ship_type"),
    ).with_columns(
        # A stated overall length/beam (NOAA, DMA columns) wins; otherwise they follow from the
        # antenna offsets (AIS types 5, 19, 24B).
        pl.coalesce(
            _optional(df, "length_m"),
            pl.col("to_bow_m").cast(pl.Float32) + pl.col("to_stern_m").cast(pl.Float32),
        ).alias("length_m"),
        pl.coalesce(
            _optional(df, "beam_m"),
            pl.col("to_port_m").cast(pl.Float32) + pl.col("to_starboard_m").cast(pl.Float32),
        ).alias("beam_m"),
    )
    out = (
        cleaned.sort("ts_utc", "record_no")
        .group_by(_IDENTITY_KEYS, maintain_order=True)
        .agg(
            pl.col("ts_utc").min().alias("first_seen_utc"),
            pl.col("ts_utc").max().alias("last_seen_utc"),
            pl.len().cast(pl.Int32).alias("n_reports"),
            pl.col("record_no").first().alias("record_no"),
        )
        .with_columns(
            pl.col("mmsi").cast(pl.Int32),
            imo_valid_expr(pl.col("imo")).alias("imo_valid"),
            flag_for_mmsi_expr(pl.col("mmsi")).alias("flag_iso2"),
        )
    )
    return out


def merge_collapsed_identities(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Merge per-chunk outputs of :func:`collapse_identities` into one row per identity."""
    if not frames:
        return collapse_identities(pl.DataFrame())
    both = pl.concat(frames, how="vertical_relaxed")
    return (
        both.sort("first_seen_utc", "record_no")
        .group_by(_IDENTITY_KEYS, maintain_order=True)
        .agg(
            pl.col("first_seen_utc").min(),
            pl.col("last_seen_utc").max(),
            pl.col("n_reports").sum().cast(pl.Int32),
            pl.col("record_no").first(),
            pl.col("imo_valid").first(),
            pl.col("flag_iso2").first(),
        )
    )
