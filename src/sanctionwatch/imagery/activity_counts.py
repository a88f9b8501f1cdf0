"""Counts at a site, and the regular calendar the anomaly detector works on.

Three sources of :data:`~sanctionwatch.schema.SITE_COUNTS` rows:

* :func:`read_counts_csv` -- an analyst's counts read off imagery (rail cars, containers...);
* :func:`ais_presence_counts` -- vessels in port per day or week, from ``port_visit`` events;
* :func:`detection_counts` -- satellite vessel detections inside the site, per scene or day.

:func:`regularise` puts counts of one site and category on a calendar of UTC days or ISO weeks
(Monday 00:00 UTC), averaging several counts in one period. A period without an observation keeps
a null count: an unobserved week is not an empty week, and inventing zeros there would make the
next ordinary week look like a surge.

Every row keeps its provenance: analyst rows carry the file's ``source_id`` and line; derived rows
(AIS, detections) carry ``source_id`` ``derived:port_visit`` / ``derived:detections`` with
``record_no`` 0 and list the raw records behind them in an ``evidence`` column (and the port-visit
events in ``event_ids``), so a count can be walked back to input lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import shapely

from sanctionwatch.geo import Area
from sanctionwatch.schema import SITE_COUNTS
from sanctionwatch.screening.lists.base import source_id_of

if TYPE_CHECKING:
    from sanctionwatch.store import Project

__all__ = [
    "COUNTS_COLUMNS",
    "EVIDENCE_DTYPE",
    "CountsFileError",
    "ais_presence_counts",
    "detection_counts",
    "period_start",
    "read_counts_csv",
    "regularise",
]

EVIDENCE_DTYPE = pl.List(pl.Struct({"source_id": pl.String, "record_no": pl.Int64}))
COUNTS_COLUMNS = ("site", "date", "count", "category", "period", "note")
_REQUIRED = ("site", "date", "count", "category")
PERIODS = ("instant", "day", "week")
DERIVED_AIS = "derived:port_visit"
DERIVED_DETECTIONS = "derived:detections"
# Category names say what the number is (see ais_presence_counts).
AIS_DAY_CATEGORY = "ships_in_port"
AIS_WEEK_CATEGORY = "distinct_ships_in_port"
DETECTION_CATEGORY = "vessel_detections"
_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)


class CountsFileError(ValueError):
    """An analyst counts file that cannot be used; the message names the file and line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


def _site_counts_frame(rows: Sequence[dict[str, Any]], extra: dict[str, Any] | None = None) -> pl.DataFrame:
    schema: dict[str, Any] = dict(SITE_COUNTS.polars())
    schema.update(extra or {})
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def period_start(ts: dt.datetime, period: str) -> dt.datetime:
    """Start of the UTC day or ISO week (Monday 00:00 UTC) holding ``ts``."""
    ts = ts.astimezone(dt.UTC)
    day = dt.datetime(ts.year, ts.month, ts.day, tzinfo=dt.UTC)
    return day - dt.timedelta(days=day.weekday()) if period == "week" else day


# --- analyst counts CSV ------------------------------------------------------------------------


def _parse_time(text: str) -> dt.datetime:
    # Date-only or naive values are UTC: analysts read dates off image metadata, which is UTC.
    ts = dt.datetime.fromisoformat(text)
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def _parse_row(path: Path, line: int, rec: dict[str, str]) -> tuple[str, dt.datetime, float, str, str, str | None]:
    site = rec["site"].strip()
    if not site:
        raise CountsFileError(path, "missing site", line)
    category = rec["category"].strip()
    if not category:
        raise CountsFileError(path, "missing category", line)
    period = (rec.get("period") or "").strip().lower() or "instant"
    if period not in PERIODS:
        raise CountsFileError(path, f"period must be one of {', '.join(PERIODS)}, got {period!r}", line)
    date_text = rec["date"].strip()
    try:
        ts = _parse_time(date_text)
    except ValueError:
        raise CountsFileError(path, f"date {date_text!r} is not an ISO date or date-time", line) from None
    if period != "instant" and ts != period_start(ts, period):
        raise CountsFileError(
            path, f"a '{period}' count must be dated at the start of its {period} (00:00 UTC"
            f"{', a Monday' if period == 'week' else ''}): use {period_start(ts, period).date()}, "
            f"got {date_text!r}", line)
    count_text = rec["count"].strip()
    try:
        count = float(count_text)
    except ValueError:
        raise CountsFileError(path, f"count {count_text!r} is not a number", line) from None
    if not math.isfinite(count) or count < 0:
        raise CountsFileError(path, f"count must be a finite number >= 0, got {count_text!r}", line)
    note = (rec.get("note") or "").strip() or None
    return site, ts, count, category, period, note


def read_counts_csv(path: Path | str) -> pl.DataFrame:
    """An analyst's counts file as SITE_COUNTS rows (basis ``analyst``), sorted by site, category, time.

    Header ``site,date,count,category[,period][,note]`` (any order; a row may leave off trailing
    optional fields). ``date`` is ISO 8601; a date or
    a date-time without a zone is UTC. ``period`` is ``instant`` (default: one image), ``day`` or
    ``week`` (then dated at 00:00 UTC of the day / the Monday). ``source_id`` is the file's id
    (first 16 hex of its SHA-256) and ``record_no`` the line of the row.

    A bad row is an error, not a quarantine: counts files are short and hand-typed, so the analyst
    fixes the line and nothing is silently left out of a time series. Raises
    :class:`CountsFileError` (``file:line: ...``) for a missing site or category, an unparseable
    date, a non-numeric or negative count, an unknown period, a row repeated for the same site,
    time, period and category, and an unknown or missing column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CountsFileError(path, f"cannot read the file ({err})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if not header:
        raise CountsFileError(path, "empty file; expected the header site,date,count,category[,period][,note]", 1)
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h not in COUNTS_COLUMNS]
    missing = [h for h in _REQUIRED if h not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise CountsFileError(path, f"header must be site,date,count,category[,period][,note] (any order); "
                                    f"unknown {unknown}, missing {missing}", 1)
    source_id = source_id_of(path)
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, dt.datetime, str, str], int] = {}
    line = reader.line_num
    for values in reader:
        first_line, line = line + 1, reader.line_num
        if not values or all(not v.strip() for v in values):
            continue  # blank line: not a record
        if len(values) > len(names) or any(n in _REQUIRED for n in names[len(values):]):
            raise CountsFileError(path, f"{len(values)} fields, the header has {len(names)}", first_line)
        values += [""] * (len(names) - len(values))  # trailing optional fields (period, note) left off
        site, ts, count, category, period, note = _parse_row(path, first_line, dict(zip(names, values, strict=True)))
        key = (site, ts, period, category)
        if key in seen:
            raise CountsFileError(path, f"repeats the count of line {seen[key]} (same site, date, period and "
                                        "category); keep one", first_line)
        seen[key] = first_line
        rows.append({"site_id": site, "period_start_utc": ts, "period": period, "category": category,
                     "count": count, "basis": "analyst", "note": note, "source_id": source_id,
                     "record_no": first_line})
    return _site_counts_frame(rows).sort("site_id", "category", "period_start_utc", "record_no")


# --- AIS presence from port visits -------------------------------------------------------------


def _visits(source: Project | pl.DataFrame) -> tuple[pl.DataFrame, tuple[Any, Any] | None]:
    if isinstance(source, pl.DataFrame):
        return source, None
    if not source.has_table("events"):
        events = pl.DataFrame(schema={"mmsi": pl.Int32, "start_utc": pl.Datetime("us", "UTC"),
                                      "end_utc": pl.Datetime("us", "UTC"), "area_id": pl.String})
    else:
        events = source.query("SELECT event_id, event_type, mmsi, start_utc, end_utc, area_id, evidence "
                              "FROM events WHERE event_type = 'port_visit'")
    span = source.query("SELECT min(ts_utc) AS lo, max(ts_utc) AS hi FROM {positions}").row(0)
    return events, (None if span[0] is None else span)


def ais_presence_counts(source: Project | pl.DataFrame, site_id: str, period: str = "day", *,
                        span: tuple[dt.datetime, dt.datetime] | None = None) -> pl.DataFrame:
    """Vessels in port at ``site_id`` per UTC day or ISO week, from ``port_visit`` events.

    ``source`` is a project (its ``events`` table) or an EVENTS-like frame (``mmsi``, ``start_utc``,
    ``end_utc``, ``area_id``; ``event_type``, ``event_id`` and ``evidence`` used when present).

    A vessel counts for a period if one of its visits overlaps it (``start < period end`` and
    ``end >= period start``; an open visit, end null, runs to the end of the coverage).

    * ``day``: category ``ships_in_port`` = distinct vessels in port at some time that day;
    * ``week``: category ``distinct_ships_in_port`` = distinct vessels in port at some time that
      week -- traffic, not occupancy. For mean daily occupancy, :func:`regularise` the daily counts
      to weeks instead.

    Zeros are real only where AIS was recorded, so counts are given for the periods inside the
    coverage ``span``: given, else the project's first to last position, else (frame) the first
    visit start to the last visit end over all areas of the frame; every day it touches, and only
    the ISO weeks it covers from their Monday to their Sunday (a partial week would read as a drop).
    """
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', got {period!r}")
    events, project_span = _visits(source)
    if "event_type" in events.columns:
        events = events.filter(pl.col("event_type") == "port_visit")
    if span is None:
        span = project_span
    if span is None:
        if events.is_empty():
            return _site_counts_frame([], {"evidence": EVIDENCE_DTYPE, "event_ids": pl.List(pl.String)})
        span_lo: dt.datetime = events["start_utc"].min()  # type: ignore[assignment]
        span = (span_lo, events.select(pl.coalesce("end_utc", "start_utc").max()).item())
    lo, hi = _as_utc(span[0]), _as_utc(span[1])
    step = _WEEK if period == "week" else _DAY
    first = period_start(lo, period)
    stop = period_start(hi, period) + step  # end of the last period touched
    if period == "week":  # whole weeks only: coverage from some time on the Monday to the Sunday
        first += _WEEK if lo >= first + _DAY else dt.timedelta(0)
        stop -= _WEEK if hi < stop - _DAY else dt.timedelta(0)
    if "event_id" not in events.columns:
        events = events.with_row_index("event_id").with_columns(pl.col("event_id").cast(pl.String))
    if "evidence" not in events.columns:
        events = events.with_columns(pl.lit([], dtype=EVIDENCE_DTYPE).alias("evidence"))
    visits = (
        events.filter((pl.col("area_id") == site_id) & (pl.col("start_utc") < stop)
                      & (pl.coalesce("end_utc", pl.lit(stop)) >= first))
        .select("event_id", "mmsi", "start_utc", pl.coalesce("end_utc", pl.lit(stop - dt.timedelta(microseconds=1))
                                                              ).alias("end_utc"),
                # entry and exit records of each visit: enough to walk back, bounded in size
                pl.concat_list(pl.col("evidence").list.head(1), pl.col("evidence").list.tail(1)
                               ).list.unique(maintain_order=True).alias("evidence"))
    )
    calendar = [first + i * step for i in range(max(0, (stop - first) // step))]
    per: dict[dt.datetime, tuple[set[int], list[str], list[dict[str, Any]]]] = {p: (set(), [], []) for p in calendar}
    for ev_id, mmsi, s, e, evidence in visits.iter_rows():
        evidence = evidence or []
        p = max(period_start(s, period), first)
        while p <= e and p < stop:
            vessels, ids, refs = per[p]
            vessels.add(mmsi)
            ids.append(ev_id)
            refs.extend(r for r in evidence if r not in refs)
            p += step
    category = AIS_WEEK_CATEGORY if period == "week" else AIS_DAY_CATEGORY
    rows = [{"site_id": site_id, "period_start_utc": p, "period": period, "category": category,
             "count": float(len(v)), "basis": "ais", "note": None, "source_id": DERIVED_AIS, "record_no": 0,
             "evidence": refs, "event_ids": ids} for p, (v, ids, refs) in per.items()]
    return _site_counts_frame(rows, {"evidence": EVIDENCE_DTYPE, "event_ids": pl.List(pl.String)})


def _as_utc(ts: dt.datetime) -> dt.datetime:
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


# --- satellite detections ----------------------------------------------------------------------


def detection_counts(detections: pl.DataFrame, area: Area, period: str = "instant", *,
                     scenes: pl.DataFrame | None = None) -> pl.DataFrame:
    """Vessel detections inside ``area`` per scene (``instant``) or per UTC day (mean over the scenes).

    Inside means within ``radius_m`` of a point area or inside its polygon. With ``scenes``
    (SCENES rows with ``footprint_wkt``), every scene whose footprint holds the site's point is an
    observation, so a scene with no detection there counts 0. Without footprints the site is known
    to be imaged only by the scenes with a detection inside it, so zeros cannot be told from
    "not imaged" and none are produced (the series is then biased high: say so when quoting it).
    Detections without a ``scene_id`` are grouped by acquisition time.
    """
    if period not in ("instant", "day"):
        raise ValueError(f"period must be 'instant' or 'day', got {period!r}")
    det = detections
    if "scene_id" not in det.columns:
        det = det.with_columns(pl.lit(None, dtype=pl.String).alias("scene_id"))
    det = det.with_columns(pl.coalesce("scene_id", pl.col("ts_utc").cast(pl.String)).alias("_scene"))
    inside = np.asarray(area.contains(det["lat_deg"].to_numpy(), det["lon_deg"].to_numpy()), dtype=bool)
    det = det.filter(pl.Series(inside))
    per: dict[str, tuple[dt.datetime, list[dict[str, Any]]]] = {}
    for scene, ts, sid, rec in det.select("_scene", "ts_utc", "source_id", "record_no").iter_rows():
        t, refs = per.setdefault(scene, (ts, []))
        per[scene] = (min(t, ts), refs)
        refs.append({"source_id": sid, "record_no": rec})
    if scenes is not None and not scenes.is_empty():
        geoms = shapely.from_wkt(scenes["footprint_wkt"].to_numpy())
        covers = shapely.intersects_xy(geoms, area.lon_deg, area.lat_deg)
        for scene, ts in scenes.filter(pl.Series(covers)).select("scene_id", "ts_utc").iter_rows():
            per.setdefault(scene, (ts, []))
    rows = [{"scene": s, "ts": t, "count": float(len(refs)), "evidence": refs} for s, (t, refs) in per.items()]
    frame = pl.DataFrame(rows, schema={"scene": pl.String, "ts": pl.Datetime("us", "UTC"), "count": pl.Float64,
                                       "evidence": EVIDENCE_DTYPE})
    if period == "day":
        frame = (frame.with_columns(pl.col("ts").dt.truncate("1d"))
                 .group_by("ts").agg(pl.col("count").mean(), pl.col("evidence").list.explode(keep_nulls=False, empty_as_null=False),
                                     pl.col("scene").sort().str.join(" ").alias("scene")))
    out = frame.sort("ts").select(
        pl.lit(area.area_id).alias("site_id"), pl.col("ts").alias("period_start_utc"), pl.lit(period).alias("period"),
        pl.lit(DETECTION_CATEGORY).alias("category"), "count", pl.lit("detections").alias("basis"),
        ("scenes: " + pl.col("scene")).alias("note"), pl.lit(DERIVED_DETECTIONS).alias("source_id"),
        pl.lit(0, dtype=pl.Int64).alias("record_no"), "evidence",
        pl.lit([], dtype=pl.List(pl.String)).alias("event_ids"))
    return out


# --- regular calendar --------------------------------------------------------------------------


def _evidence_expr(columns: Sequence[str]) -> pl.Expr:
    """A derived count's evidence list, or else the row's own line (an analyst's count)."""
    own = pl.concat_list(pl.struct(pl.col("source_id"), pl.col("record_no").cast(pl.Int64)))
    if "evidence" in columns:
        return pl.coalesce(pl.col("evidence"), own)
    return own


def regularise(counts: pl.DataFrame, period: str, *, start: dt.datetime | None = None,
               end: dt.datetime | None = None) -> pl.DataFrame:
    """Counts on a regular calendar of UTC days or ISO weeks, one series per (site, category, basis).

    Several counts in one period are averaged (the mean of instants; for weeks from daily counts,
    the mean daily count over the days observed). A period with no count gets a null ``count``
    and ``n_obs`` 0 -- never a zero: not looking is not seeing nothing. The calendar runs from each
    series' first to last observed period, or from ``start`` to ``end`` when given.

    Columns: site_id, category, basis, period, period_start_utc, count (Float64, null when
    unobserved), n_obs, evidence (list of {source_id, record_no}), event_ids (list).
    Weekly counts cannot be spread over days: asking for ``day`` with ``week`` rows raises ValueError.
    """
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', got {period!r}")
    if period == "day" and counts.filter(pl.col("period") == "week").height:
        raise ValueError("weekly counts cannot be put on a daily calendar; regularise to 'week'")
    every = "1w" if period == "week" else "1d"
    ids = pl.col("event_ids") if "event_ids" in counts.columns else pl.lit([], dtype=pl.List(pl.String))
    per = (
        counts.select("site_id", "category", "basis", pl.col("period_start_utc").dt.truncate(every).alias("p"),
                      pl.col("count").cast(pl.Float64), _evidence_expr(counts.columns).alias("evidence"),
                      ids.alias("event_ids"))
        .group_by("site_id", "category", "basis", "p")
        .agg(pl.col("count").mean(), pl.len().alias("n_obs"),
             pl.col("evidence").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True),
             pl.col("event_ids").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True))
    )
    step = _WEEK if period == "week" else _DAY
    frames = []
    for (site, category, basis), g in per.group_by("site_id", "category", "basis", maintain_order=True):
        lo: dt.datetime = period_start(_as_utc(start), period) if start is not None else g["p"].min()  # type: ignore[assignment]
        hi: dt.datetime = period_start(_as_utc(end), period) if end is not None else g["p"].max()  # type: ignore[assignment]
        cal = pl.DataFrame({"p": [lo + i * step for i in range(max(0, (hi - lo) // step + 1))]},
                           schema={"p": pl.Datetime("us", "UTC")})
        frames.append(cal.join(g.drop("site_id", "category", "basis"), on="p", how="left").with_columns(
            pl.lit(site).alias("site_id"), pl.lit(category).alias("category"), pl.lit(basis).alias("basis")))
    schema: dict[str, Any] = {"site_id": pl.String, "category": pl.String, "basis": pl.String, "period": pl.String,
              "period_start_utc": pl.Datetime("us", "UTC"), "count": pl.Float64, "n_obs": pl.Int64,
              "evidence": EVIDENCE_DTYPE, "event_ids": pl.List(pl.String)}
    if not frames:
        return pl.DataFrame(schema=schema)
    return (pl.concat(frames).select(
        "site_id", "category", "basis", pl.lit(period).alias("period"), pl.col("p").alias("period_start_utc"),
        "count", pl.col("n_obs").fill_null(0).cast(pl.Int64),
        pl.col("evidence").fill_null(pl.lit([], dtype=EVIDENCE_DTYPE)),
        pl.col("event_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .cast(schema)  # type: ignore[arg-type]
        .sort("site_id", "category", "basis", "period_start_utc"))
