"""Column conversion shared by the tabular readers (DMA, NOAA, mapped CSV and Parquet).

A tabular reader produces, per chunk, a *batch*: one column per raw target it has (``mmsi``,
``ts_utc``, ``lat_deg``... as text or already typed), plus ``record_no``, ``raw`` and three
control columns: ``_reason``/``_detail`` (set on rows the reader already refuses: invalid UTF-8,
wrong number of fields) and ``_skip`` (set on rows deliberately not used, e.g. base stations).
:func:`assemble` turns a batch into the raw position / identity / quarantine frames of
:mod:`sanctionwatch.ingest.base`, vectorised with Polars.

What is quarantined here, and nothing else (the validator does the rest):

* ``invalid_mmsi`` -- MMSI text that is not a whole number (an empty MMSI goes on to the
  validator, which reports it as missing);
* ``bad_value`` -- any other number field whose text is not a number (or not a whole number
  where the column is an integer, or outside that integer type); all such fields of the row
  are named in the detail.

An unparseable timestamp does not quarantine the row here: ``ts_utc`` is null, ``ts_error`` is
``"bad_timestamp"`` and ``ts_text`` keeps the text, and the validator quarantines it.

"Not available" codes are turned into nulls (ITU-R M.1371-5, message 1): SOG 102.3 kn, COG
360 deg, heading 511, navigational status 15. Integer columns accept whole numbers written as
floats (``8.0``); IMO accepts an ``IMO`` prefix (``IMO9876543``).

Each used row yields a position and, when it has an identity field other than the transceiver
class (which DMA and NOAA write on every row), an identity observation. A row with no latitude
and no longitude but with identity fields (a static-data record) yields an identity only.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from sanctionwatch.ingest.base import IDENTITY_RAW_SCHEMA, POSITION_RAW_SCHEMA

__all__ = [
    "IDENTITY_COLUMNS",
    "IDENTITY_TARGETS",
    "POSITION_COLUMNS",
    "POSITION_TARGETS",
    "REQUIRED_TARGETS",
    "TARGETS",
    "Conversion",
    "TextTimeParser",
    "TimeParser",
    "UnixTimeParser",
    "assemble",
    "check_timezone",
    "control_columns",
    "default_time_us",
    "iso_parser",
    "normalise_text",
]

UTC: Final = pl.Datetime("us", "UTC")
_EXTRA: Final[dict[str, pl.DataType]] = {
    "raw": pl.String(),
    "ts_error": pl.String(),  # "bad_timestamp" when the timestamp text could not be parsed
    "ts_text": pl.String(),  # that text
}
# Formats that give overall length and beam (NOAA Length/Width, DMA Length/Width) carry them
# here; validate.collapse_identities uses them where the antenna offsets are absent.
_SIZE: Final[dict[str, pl.DataType]] = {"length_m": pl.Float32(), "beam_m": pl.Float32()}
POSITION_COLUMNS: Final[dict[str, pl.DataType]] = {**POSITION_RAW_SCHEMA, **_EXTRA}
IDENTITY_COLUMNS: Final[dict[str, pl.DataType]] = {**IDENTITY_RAW_SCHEMA, **_SIZE, **_EXTRA}

#: raw columns a tabular file can supply, with their output type
TARGETS: Final[dict[str, pl.DataType]] = {
    **{k: v for k, v in POSITION_RAW_SCHEMA.items() if k != "record_no"},
    **{k: v for k, v in IDENTITY_RAW_SCHEMA.items() if k not in ("record_no", "mmsi", "ts_utc")},
    **_SIZE,
}
POSITION_TARGETS: Final = tuple(k for k in POSITION_RAW_SCHEMA if k != "record_no")
IDENTITY_TARGETS: Final = tuple(k for k in TARGETS if k not in POSITION_TARGETS)
REQUIRED_TARGETS: Final = ("mmsi", "ts_utc", "lat_deg", "lon_deg")

_FLOAT_TARGETS: Final = frozenset({"lat_deg", "lon_deg", "sog_knots", "cog_deg", "draught_m",
                                   "length_m", "beam_m"})
_INT_TARGETS: Final = frozenset({"heading_deg", "nav_status", "msg_type", "ship_type", "to_bow_m",
                                 "to_stern_m", "to_port_m", "to_starboard_m", "imo"})

# AIS "not available" codes, ITU-R M.1371-5 message 1 (same constants as nmea_decode).
SOG_NOT_AVAILABLE_KNOTS: Final = 102.3
COG_NOT_AVAILABLE_DEG: Final = 360.0
HEADING_NOT_AVAILABLE_DEG: Final = 511
NAV_STATUS_NOT_DEFINED: Final = 15
_FLOAT_TOLERANCE: Final = 1e-6  # 102.3 read from text is not exactly the float 102.3

_TRUE: Final = frozenset({"1", "true", "t", "yes", "y"})
_FALSE: Final = frozenset({"0", "false", "f", "no", "n"})
_INT_RANGE: Final[dict[type[pl.DataType], tuple[int, int]]] = {
    pl.Int8: (-(2**7), 2**7 - 1),
    pl.Int16: (-(2**15), 2**15 - 1),
    pl.Int32: (-(2**31), 2**31 - 1),
    pl.Int64: (-(2**63), 2**63 - 1),
}
# Whole numbers written as text are parsed through Float64, exact up to 2**53; MMSI (9 digits)
# and IMO (7 digits) are far below. Larger values are rejected rather than silently rounded.
_FLOAT_EXACT_INT: Final = 2**53


# ---- timestamps ------------------------------------------------------------------------------

class TimeParser:
    """Text or typed column -> Datetime(us, UTC); null where unparseable."""

    def __call__(self, s: pl.Series) -> pl.Series:  # pragma: no cover - interface
        raise NotImplementedError


def _localise(s: pl.Series, tz: str) -> pl.Series:
    """Naive local times -> UTC; aware times -> UTC. Ambiguous local times (the repeated hour
    when clocks go back) take the earlier instant; local times that do not exist are null."""
    if s.dtype == pl.Date:
        s = s.cast(pl.Datetime("us"))
    if not isinstance(s.dtype, pl.Datetime):
        raise TypeError(f"not a date-time column: {s.dtype}")
    s = s.dt.cast_time_unit("us")
    if getattr(s.dtype, "time_zone", None) is None:
        s = s.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return s.dt.convert_time_zone("UTC")


def _has_zone(fmt: str) -> bool:
    return any(d in fmt for d in ("%z", "%#z", "%:z"))  # chrono skips %Z names: no offset


@dataclass(frozen=True)
class TextTimeParser(TimeParser):
    """strftime/chrono formats, tried in order; each later one only on the rows still unparsed.

    ``(format, t_sep)``: with ``t_sep`` the first space is replaced by ``T`` before parsing
    (ISO 8601 allows either). Formats with a zone (``%z``) give aware times, converted to UTC;
    the others are local times in ``tz``.
    """

    formats: tuple[tuple[str, bool], ...]
    tz: str = "UTC"

    def __call__(self, s: pl.Series) -> pl.Series:
        if s.dtype != pl.String:
            return _localise(s, self.tz)
        out = pl.repeat(None, len(s), dtype=UTC, eager=True).alias(s.name)
        todo = s.is_not_null()
        for i, (fmt, t_sep) in enumerate(self.formats):
            if i == 0 and not t_sep:
                part = self._parse(s, fmt)
                out = part
                todo = s.is_not_null() & part.is_null()
                continue
            if not todo.any():
                break
            idx = todo.arg_true()
            sub = s.gather(idx)
            if t_sep:
                sub = sub.str.replace(" ", "T", literal=True, n=1)
            part = self._parse(sub, fmt)
            hit = part.is_not_null()
            if hit.any():
                out = out.scatter(idx.filter(hit), part.filter(hit))
                todo = todo.scatter(idx.filter(hit), False)
        return out

    def _parse(self, s: pl.Series, fmt: str) -> pl.Series:
        parsed = s.str.to_datetime(fmt, strict=False, time_unit="us",
                                   time_zone="UTC" if _has_zone(fmt) else None)
        return parsed if _has_zone(fmt) else _localise(parsed, self.tz)


def iso_parser(tz: str = "UTC", first: str | None = None) -> TextTimeParser:
    """ISO 8601 date-times: ``T`` or space, optional seconds and fraction, optional ``Z`` or
    offset. ``first`` is an exact format tried first on all rows (the fast path)."""
    head = ((first, False),) if first else ()
    return TextTimeParser((
        *head,
        ("%Y-%m-%dT%H:%M:%S%.f", False),
        ("%Y-%m-%dT%H:%M:%S%.f", True),
        ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
        ("%Y-%m-%dT%H:%M%#z", True),
        ("%Y-%m-%dT%H:%M", True),
    ), tz)


@dataclass(frozen=True)
class UnixTimeParser(TimeParser):
    """Seconds (``us_per_unit`` 1e6) or milliseconds (1e3) since 1970-01-01 UTC."""

    us_per_unit: int

    def __call__(self, s: pl.Series) -> pl.Series:
        if isinstance(s.dtype, pl.Datetime | pl.Date):
            return _localise(s, "UTC")
        if s.dtype.is_integer():
            us = s.cast(pl.Int64) * self.us_per_unit
        else:
            f = s.cast(pl.Float64, strict=False) * self.us_per_unit
            us = pl.select(pl.when(f.is_finite() & (f.abs() < 2.0**62)).then(f.round(0))
                           .otherwise(None).cast(pl.Int64)).to_series()
        return us.cast(UTC).alias(s.name)


def default_time_us(value: dt.datetime | str | None) -> int | None:
    """``options["default_time"]`` as microseconds since the epoch (None when not given)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError(f"default_time must be timezone-aware, got {value!r}")
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def check_timezone(name: str) -> None:
    """Raise ValueError unless ``name`` is an IANA zone (e.g. ``UTC``, ``Europe/Copenhagen``)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as UTC or "
                         "Europe/Copenhagen)") from err


# ---- conversion ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conversion:
    """How one file's columns become raw columns."""

    time_parser: TimeParser
    #: file column name per target, for quarantine details ("SOG 'abc' is not a number")
    labels: Mapping[str, str] = field(default_factory=dict)
    #: multiply SOG by this to get knots (1 for knots)
    sog_to_knots: float = 1.0
    #: multiply the draught by this to get metres
    draught_to_m: float = 1.0
    default_time_us: int | None = None
    raw_max_chars: int = 4096
    #: identity-only rows (no lat/lon but identity fields) yield no position
    identity_only_rows: bool = True


def _label(conv: Conversion, target: str) -> str:
    return conv.labels.get(target, target)


# Each parser gives (value expression, bad-row expression or None) for one column whose source
# type is ``src`` (text from CSV; text or typed from Parquet). All columns are then evaluated in
# one ``select``, which Polars runs in parallel.
_Parsed = tuple[pl.Expr, pl.Expr | None]


def _float_expr(col: str, src: pl.DataType) -> _Parsed:
    c = pl.col(col)
    if src == pl.String:
        f = c.cast(pl.Float64, strict=False)
        return f, c.is_not_null() & f.is_null()
    if src.is_numeric() or src == pl.Boolean:
        return c.cast(pl.Float64), None
    raise TypeError(f"column holds {src}, not numbers")


def _int_expr(col: str, src: pl.DataType, dtype: pl.DataType) -> _Parsed:
    """Whole numbers only (``8.0`` is 8), within the type's range; anything else is bad."""
    lo, hi = _INT_RANGE[type(dtype)]
    c = pl.col(col)
    if src.is_integer():
        ok = (c >= lo) & (c <= hi)
        return pl.when(ok).then(c).otherwise(None).cast(dtype), c.is_not_null() & ~ok
    f, bad = _float_expr(col, src)
    whole = (f.is_finite() & (f == f.floor()) & (f >= max(lo, -_FLOAT_EXACT_INT))
             & (f <= min(hi, _FLOAT_EXACT_INT)))
    not_whole = f.is_not_null() & ~whole
    return (pl.when(whole).then(f).otherwise(None).cast(dtype),
            not_whole if bad is None else (bad | not_whole))


def _bool_expr(col: str, src: pl.DataType) -> _Parsed:
    c = pl.col(col)
    if src == pl.Boolean:
        return c, None
    if src.is_numeric():
        return c != 0, None
    low = c.cast(pl.String).str.to_lowercase()
    value = pl.when(low.is_in(list(_TRUE))).then(True).when(low.is_in(list(_FALSE))).then(False)
    return value.otherwise(None), low.is_not_null() & ~low.is_in(list(_TRUE | _FALSE))


def _text_expr(col: str, src: pl.DataType) -> pl.Expr:
    c = pl.col(col) if src == pl.String else pl.col(col).cast(pl.String).str.strip_chars()
    c = pl.when(c == "").then(None).otherwise(c)
    if col == "transceiver_class":  # "A", "B", "Class A" -> "A"
        c = c.str.to_uppercase().str.replace(r"^CLASS\s+", "")
    return c


_WHAT: Final = {"float": "is not a number", "bool": "is not a flag (0/1, true/false)"}


def _convert(live: pl.DataFrame, conv: Conversion) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """Typed targets of the live rows, plus (reason, detail) of the rows refused here."""
    schema = live.schema
    values: list[pl.Expr] = []
    checks: dict[str, tuple[pl.Expr, str]] = {}  # target -> (bad rows, what is wrong)
    for target in TARGETS:
        if target not in schema or target == "ts_utc":
            continue
        src = schema[target]
        source = target
        if target == "imo" and src == pl.String:
            # NOAA writes "IMO9876543"; the number is what identifies the hull
            source = "_imo_digits"
            live = live.with_columns(pl.col("imo").str.replace(r"^(?i)imo\s*", "").alias(source))
        if target in _FLOAT_TARGETS:
            value, bad = _float_expr(source, src)
            what = _WHAT["float"]
        elif target in _INT_TARGETS or target == "mmsi":
            value, bad = _int_expr(source, src, TARGETS[target])
            what = "is not a whole number" if target == "mmsi" else \
                f"is not a whole number in {TARGETS[target]} range"
        elif target == "accuracy":
            value, bad = _bool_expr(source, src)
            what = _WHAT["bool"]
        else:
            value, bad = _text_expr(source, src), None
            what = ""
        values.append(value.alias(target))
        if bad is not None:
            checks[target] = (bad.fill_null(False).alias(f"_bad_{target}"), what)
    typed = live.select(*values, *(bad for bad, _ in checks.values()))
    bad_cols = [t for t in checks if typed.get_column(f"_bad_{t}").any()]
    n = live.height
    reason = pl.repeat(None, n, dtype=pl.String, eager=True)
    detail = reason
    if bad_cols:
        mmsi_bad = pl.col("_bad_mmsi") if "mmsi" in bad_cols else pl.lit(False)
        others = [t for t in bad_cols if t != "mmsi"]
        notes = [
            pl.when(pl.col(f"_bad_{t}")).then(pl.format(
                "{} '{}' {}", pl.lit(_label(conv, t)), live.get_column(t).cast(pl.String), pl.lit(checks[t][1])))
            for t in bad_cols
        ]
        marked = typed.select(
            pl.when(mmsi_bad).then(pl.lit("invalid_mmsi"))
            .when(pl.any_horizontal([pl.col(f"_bad_{t}") for t in others]) if others else pl.lit(False))
            .then(pl.lit("bad_value")).otherwise(None).alias("reason"),
            # an invalid MMSI is the reason; other bad fields of that row are not listed
            pl.when(mmsi_bad).then(notes[bad_cols.index("mmsi")] if "mmsi" in bad_cols else None)
            .otherwise(pl.concat_str([notes[bad_cols.index(t)] for t in others], separator="; ",
                                     ignore_nulls=True) if others else None).alias("detail"),
        )
        reason, detail = marked.get_column("reason"), marked.get_column("detail").cast(pl.String)
    typed = typed.drop([f"_bad_{t}" for t in checks])

    # Timestamps: unparseable text is flagged for the validator, not quarantined here.
    if "ts_utc" in schema:
        ts_raw = live.get_column("ts_utc")
        ts = conv.time_parser(ts_raw).alias("ts_utc")
        ts_bad = ts_raw.is_not_null() & ts.is_null()
        if conv.default_time_us is not None:
            ts = pl.select(pl.when(ts_raw.is_null()).then(pl.lit(conv.default_time_us).cast(UTC))
                           .otherwise(ts)).to_series().alias("ts_utc")
        typed = typed.with_columns(
            ts,
            pl.when(ts_bad).then(pl.lit("bad_timestamp")).cast(pl.String).alias("ts_error"),
            pl.when(ts_bad).then(ts_raw.cast(pl.String)).cast(pl.String).alias("ts_text"),
        )
    return typed, reason, detail


def _not_available(typed: pl.DataFrame, conv: Conversion) -> pl.DataFrame:
    """AIS "not available" codes -> null; units -> knots and metres."""
    exprs = []
    cols = set(typed.columns)
    if "sog_knots" in cols:
        sog = pl.col("sog_knots")
        if conv.sog_to_knots == 1.0:  # the 102.3 code only exists in knots
            sog = pl.when((sog - SOG_NOT_AVAILABLE_KNOTS).abs() < _FLOAT_TOLERANCE).then(None).otherwise(sog)
        exprs.append((sog * conv.sog_to_knots).alias("sog_knots"))
    if "cog_deg" in cols:
        exprs.append(pl.when(pl.col("cog_deg") == COG_NOT_AVAILABLE_DEG).then(None)
                     .otherwise(pl.col("cog_deg")).alias("cog_deg"))
    if "heading_deg" in cols:
        exprs.append(pl.when(pl.col("heading_deg") == HEADING_NOT_AVAILABLE_DEG).then(None)
                     .otherwise(pl.col("heading_deg")).alias("heading_deg"))
    if "nav_status" in cols:
        exprs.append(pl.when(pl.col("nav_status") == NAV_STATUS_NOT_DEFINED).then(None)
                     .otherwise(pl.col("nav_status")).alias("nav_status"))
    if "draught_m" in cols and conv.draught_to_m != 1.0:
        exprs.append(pl.col("draught_m") * conv.draught_to_m)
    return typed.with_columns(exprs) if exprs else typed


def _shape(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Every column of ``schema`` in order and type; absent ones are null."""
    return frame.select([
        (pl.col(k) if k in frame.columns else pl.lit(None)).cast(t).alias(k) for k, t in schema.items()
    ])


def assemble(batch: pl.DataFrame, conv: Conversion) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """A batch -> (raw positions, raw identities, quarantine, skipped count per kind)."""
    pre = batch.get_column("_reason").is_not_null()
    skip = batch.get_column("_skip").is_not_null() & ~pre
    skipped = (
        dict(batch.filter(skip).get_column("_skip").value_counts().iter_rows()) if skip.any() else {}
    )
    live_mask = ~pre & ~skip
    live = batch.filter(live_mask)
    typed, reason, detail = _convert(live, conv)
    typed = typed.with_columns(live.get_column("record_no"), live.get_column("raw"))
    refused = reason.is_not_null()

    quarantine = pl.concat([
        batch.filter(pre).select("record_no", pl.col("_reason").alias("reason"),
                                 pl.col("_detail").alias("detail"), "raw"),
        typed.filter(refused).select("record_no", "raw").with_columns(
            reason.filter(refused).alias("reason"), detail.filter(refused).alias("detail")),
    ], how="diagonal_relaxed").select(
        pl.col("record_no").cast(pl.Int64), pl.col("reason").cast(pl.String),
        pl.col("detail").cast(pl.String), pl.col("raw").cast(pl.String).str.slice(0, conv.raw_max_chars),
    ).sort("record_no")

    good = _not_available(typed.filter(~refused), conv)
    # The transceiver class alone (on every DMA and NOAA row) does not make an identity report.
    id_cols = [c for c in IDENTITY_TARGETS if c in good.columns and c != "transceiver_class"]
    has_identity = pl.any_horizontal([pl.col(c).is_not_null() for c in id_cols]) if id_cols else pl.lit(False)
    no_position = (
        (pl.col("lat_deg").is_null() if "lat_deg" in good.columns else pl.lit(True))
        & (pl.col("lon_deg").is_null() if "lon_deg" in good.columns else pl.lit(True))
    )
    good = good.with_columns(has_identity.alias("_has_id"), no_position.alias("_no_pos"))
    pos_filter = ~(pl.col("_has_id") & pl.col("_no_pos")) if conv.identity_only_rows else pl.lit(True)
    positions = _shape(good.filter(pos_filter), POSITION_COLUMNS)
    identities = _shape(good.filter(pl.col("_has_id")), IDENTITY_COLUMNS)
    return positions, identities, quarantine, skipped


def control_columns(height: int) -> dict[str, pl.Series]:
    """Empty control columns for a batch with no rows refused or skipped yet."""
    none = pl.repeat(None, height, dtype=pl.String, eager=True)
    return {"_reason": none.alias("_reason"), "_detail": none.alias("_detail"), "_skip": none.alias("_skip")}


def normalise_text(col: str, null_values: frozenset[str] = frozenset()) -> pl.Expr:
    """Text cells: surrounding blanks removed; empty and ``null_values`` cells become null."""
    s = pl.col(col).str.strip_chars()
    empty = s == ""
    if null_values:
        empty = empty | s.is_in(list(null_values))
    return pl.when(empty).then(None).otherwise(s).alias(col)
