"""Activity at a site: is this week's count unusual, and did the level change?

Input is a regular series from :func:`~sanctionwatch.imagery.activity_counts.regularise` (counts of
ships in port, detections, rail cars or containers per UTC day or ISO week; null = not observed).

Spikes (robust z-score). For each observed period t, the window is the previous ``baseline_weeks``
(weekly series) or ``baseline_days`` (daily) *observed* values -- or, with ``seasonal_weekday``,
the previous ``baseline_weeks`` observed values on the same weekday. Counts are first put on the
Anscombe square-root scale ``a = 2 * sqrt(count + 3/8)``, on which Poisson counts have standard
deviation 1 at every level (Anscombe 1948), so one threshold fits 2 ships and 200 rail cars::

    baseline = median(a[window])                  (reported back in counts: median of the window)
    scale    = max(b_n * 1.4826 * MAD(a[window]), min_scale)
    z        = (a[t] - baseline) / scale

1.4826 * MAD estimates the standard deviation of normal data and b_n = n / (n - 0.8) corrects its
small-sample bias (Croux & Rousseeuw 1992). The floor ``min_scale`` = 1 is the Poisson standard
deviation on that scale, so a quiet window (MAD 0: eight weeks of exactly 12) does not turn a count
of 14 into a huge z. With ``transform="none"`` the same formula runs on raw counts with the floor
``max(sqrt(median), min_scale)`` (the Poisson sd in counts). A period is a spike when
``z >= z_threshold`` (3.5: the modified z-score cutoff of Iglewicz & Hoaglin 1993, "How to Detect
and Handle Outliers", ASQC Basic References in Quality Control vol. 16) and ``count >= min_count``.
``alarm_level`` is the smallest count that would have been flagged. Missing periods are skipped,
never read as zeros, and the window needs ``min_baseline_observations``.

Records: ``is_record`` when the count is above every earlier observation ("the highest since the
series began"); otherwise ``highest_since_utc`` is the last earlier period with a count at least
as high ("the highest since ...").

Changepoints: PELT (Killick, Fearnhead & Eckley 2012, via ``ruptures``) on the observed values, on
the same scale, with runs shorter than ``changepoint_min_size`` beyond ``z_threshold`` clipped to it
(so a lone spike is not a new level), with an ``l2`` (mean-shift) cost and the BIC-like penalty
``changepoint_penalty_scale * log(n) * sigma^2``; sigma is the noise standard deviation from the MAD
of first differences (robust to the level shift itself), floored like the z-score scale. Each
change is reported with the mean counts before and after.

See docs/imagery-activity.md for the false-alarm rates measured on flat series.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

# ruptures ships no type hints; pyproject's mypy ignore_missing_imports already types it as Any (a
# "type: ignore[import-untyped]" here would be reported unused under warn_unused_ignores).
import ruptures as rpt
from ruptures.base import BaseCost

from sanctionwatch.config import Config, params_from_config
from sanctionwatch.imagery.activity_counts import (
    EVIDENCE_DTYPE,
    CountsFileError,
    ais_presence_counts,
    detection_counts,
    read_counts_csv,
    regularise,
)

__all__ = [
    "ANOMALY_SCHEMA",
    "ActivityParams",
    "CountsFileError",
    "ais_presence_counts",
    "changepoints",
    "detect_anomalies",
    "detection_counts",
    "read_counts_csv",
    "regularise",
    "score_series",
]

# Consistency constant: 1.4826 * MAD estimates the standard deviation of normal data (1 / Phi^-1(3/4)).
MAD_TO_SD = 1.4826
# Anscombe (1948) offset: 2 * sqrt(x + 3/8) has variance ~1 for Poisson counts down to a mean of ~1.
ANSCOMBE_OFFSET = 3.0 / 8.0
FloatArray = npt.NDArray[np.float64]

_UTC = pl.Datetime("us", "UTC")
ANOMALY_SCHEMA: dict[str, Any] = {
    "site_id": pl.String, "category": pl.String, "basis": pl.String, "period": pl.String,
    "period_start_utc": _UTC, "count": pl.Float64, "baseline": pl.Float64, "scale": pl.Float64,
    "z": pl.Float64, "alarm_level": pl.Float64, "n_baseline": pl.Int64, "is_record": pl.Boolean,
    "highest_since_utc": _UTC, "kind": pl.String, "mean_before": pl.Float64, "mean_after": pl.Float64,
    "statement": pl.String, "evidence": EVIDENCE_DTYPE, "event_ids": pl.List(pl.String),
}
_SCORES: dict[str, Any] = {
    "baseline": pl.Float64, "scale": pl.Float64, "z": pl.Float64, "alarm_level": pl.Float64,
    "n_baseline": pl.Int64, "is_record": pl.Boolean, "highest_since_utc": _UTC, "baseline_from_utc": _UTC,
}


@dataclass(frozen=True)
class ActivityParams:
    """Tuning of :func:`detect_anomalies`; each field is the setting ``imagery.activity_<field>``."""

    # Modified z-score cutoff, Iglewicz & Hoaglin (1993).
    z_threshold: float = 3.5
    # "anscombe": z on the square-root scale (Poisson sd 1 at any level); "none": z on raw counts.
    transform: str = "anscombe"
    # Baseline window of a weekly series (and of a seasonal daily one, in same-weekday values): a
    # quarter; long enough that the MAD is not itself noise (8 weeks raised false alarms on
    # overdispersed counts 1.2-1.9x, docs/imagery-activity.md), short enough to follow a changing trade.
    baseline_weeks: int = 13
    # Baseline window of a daily series: four weeks (every weekday four times).
    baseline_days: int = 28
    # Daily series only: compare a day with the same weekday (ports and rail yards keep weekly rhythms).
    seasonal_weekday: bool = False
    # Fewer observed values than this in the window: no z (a MAD of fewer values is mostly noise).
    min_baseline_observations: int = 6
    # A spike needs at least this count (three ships where there are usually none is news; one is not).
    min_count: float = 3.0
    # Scale floor, in z units: 1 = the Poisson sd on the Anscombe scale; 1 count with transform="none".
    min_scale: float = 1.0
    # transform="none" only: floor the scale at sqrt(median), the Poisson sd in counts.
    poisson_floor: bool = True
    # Run the changepoint search.
    changepoints: bool = True
    # "l2" (shift in mean, penalty in sigma^2 units) or ruptures' "rbf" (kernel; penalty scale * log n).
    changepoint_model: str = "l2"
    # Penalty = scale * log(n) * sigma^2. BIC would be 2 for a mean change; 3 keeps flat series quiet.
    changepoint_penalty_scale: float = 3.0
    # Shortest segment, in observed periods (a 1-2 period excursion is a spike, not a new level).
    changepoint_min_size: int = 3
    # No changepoint search on a series with fewer observed periods.
    changepoint_min_observations: int = 12

    def __post_init__(self) -> None:
        if self.z_threshold <= 0 or self.min_scale <= 0 or self.changepoint_penalty_scale <= 0:
            raise ValueError("z_threshold, min_scale and changepoint_penalty_scale must be positive")
        if min(self.min_baseline_observations, self.changepoint_min_size) < 2:
            raise ValueError("min_baseline_observations and changepoint_min_size must be >= 2")
        if self.min_baseline_observations > min(self.baseline_weeks, self.baseline_days):
            raise ValueError("min_baseline_observations cannot exceed the baseline windows")
        if self.transform not in ("anscombe", "none"):
            raise ValueError(f"transform must be 'anscombe' or 'none', got {self.transform!r}")
        if self.changepoint_model not in ("l2", "rbf"):
            raise ValueError(f"changepoint_model must be 'l2' or 'rbf', got {self.changepoint_model!r}")

    @classmethod
    def from_config(cls, config: Config) -> ActivityParams:
        """The params from the ``imagery.activity_<field>`` settings of a frozen config."""
        return params_from_config(cls, config, "imagery.activity_")

    def to_scale(self, counts: FloatArray) -> FloatArray:
        """Counts on the scale z is computed on (always a new array: callers may modify it)."""
        if self.transform == "anscombe":
            return 2.0 * np.sqrt(np.maximum(counts, 0.0) + ANSCOMBE_OFFSET)
        return np.array(counts, dtype=np.float64)

    def to_count(self, value: float) -> float:
        """A value on the z scale back in counts (the inverse of :meth:`to_scale`)."""
        if self.transform == "anscombe":
            return max(0.0, (value / 2.0) ** 2 - ANSCOMBE_OFFSET)
        return value

    def floor(self, median_count: float) -> float:
        """Smallest scale allowed (z units): the Poisson sd, and never below ``min_scale``."""
        if self.transform == "none" and self.poisson_floor:
            return max(math.sqrt(max(median_count, 0.0)), self.min_scale)
        return self.min_scale


# --- formatting --------------------------------------------------------------------------------


def _num(v: float) -> str:
    return str(round(v)) if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _label(ts: dt.datetime, period: str) -> str:
    if period == "week":
        iso = ts.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return ts.date().isoformat()


def _unit(period: str, n: int, seasonal: bool = False) -> str:
    word = "week" if period == "week" else "day"
    return f"{n} observed{' same-weekday' if seasonal else ''} {word}{'' if n == 1 else 's'}"


# --- scoring -----------------------------------------------------------------------------------


def _robust_sd(values: FloatArray, axis: int | None = None) -> Any:
    # b_n = n / (n - 0.8): Croux & Rousseeuw (1992) small-sample factor; within 3 % of simulated
    # unbiasing factors for n >= 5, and the MAD of 6-13 values runs 8-15 % low without it.
    # NaN entries (padding of short windows) are not values.
    n = np.sum(~np.isnan(values), axis=axis)
    center = np.nanmedian(values, axis=axis, keepdims=axis is not None)
    mad = np.nanmedian(np.abs(values - center), axis=axis)
    return n / (n - 0.8) * MAD_TO_SD * mad


def _windows(values: FloatArray, size: int) -> FloatArray:
    """Row k holds the ``size`` values before values[k], NaN-padded at the start of the series."""
    padded = np.concatenate([np.full(size, np.nan), values])
    return np.lib.stride_tricks.sliding_window_view(padded, size)[: values.size]


def _highest_since(y: FloatArray) -> npt.NDArray[np.int64]:
    """For each value, the index of the last earlier value at least as high (-1: none, a record)."""
    out = np.full(y.size, -1, dtype=np.int64)
    stack: list[int] = []  # indices of a non-increasing run of values: the candidates
    for i, v in enumerate(y):
        while stack and y[stack[-1]] < v:
            stack.pop()
        out[i] = stack[-1] if stack else -1
        stack.append(i)
    return out


def _score(ts: list[dt.datetime], y: FloatArray, period: str, p: ActivityParams) -> list[dict[str, Any]]:
    step = dt.timedelta(days=7 if period == "week" else 1)
    seasonal = period == "day" and p.seasonal_weekday
    size = p.baseline_weeks if period == "week" or seasonal else p.baseline_days
    observed = np.flatnonzero(~np.isnan(y))
    out: list[dict[str, Any]] = [dict.fromkeys(_SCORES) for _ in ts]
    yo = y[observed]
    since = _highest_since(yo)
    for k, i in enumerate(observed):
        out[i].update(is_record=bool(k > 0 and since[k] < 0),
                      highest_since_utc=ts[observed[since[k]]] if since[k] >= 0 else None)
    # Windows per class of comparable periods: every period, or (seasonal) each weekday apart.
    cls = np.array([(ts[i] - ts[0]) // step % 7 if seasonal else 0 for i in observed], dtype=np.int64)
    for c in np.unique(cls):
        members = observed[cls == c]
        raw = _windows(y[members], size)
        n = np.sum(~np.isnan(raw), axis=1)
        ok = np.flatnonzero(n >= p.min_baseline_observations)
        for thin in np.flatnonzero(n < p.min_baseline_observations):
            out[members[thin]]["n_baseline"] = int(n[thin])
        if ok.size == 0:
            continue
        raw = raw[ok]
        scaled = p.to_scale(raw)
        med_count = np.nanmedian(raw, axis=1)
        med = np.nanmedian(scaled, axis=1)
        floor = np.array([p.floor(float(m)) for m in med_count])
        scale = np.maximum(_robust_sd(scaled, axis=1), floor)
        z = (p.to_scale(y[members[ok]]) - med) / scale
        for j, w in enumerate(ok):
            first = members[max(0, w - size)]
            out[members[w]].update(
                baseline=float(med_count[j]), scale=float(scale[j]), z=float(z[j]), n_baseline=int(n[w]),
                alarm_level=max(p.to_count(float(med[j] + p.z_threshold * scale[j])), p.min_count),
                baseline_from_utc=ts[first])
    return out


def _groups(series: pl.DataFrame) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    bad = series.filter(~pl.col("period").is_in(["day", "week"]))
    if bad.height:
        raise ValueError("detect_anomalies needs a daily or weekly series: regularise() the counts first")
    keys = [k for k in ("site_id", "category", "basis", "period") if k in series.columns]
    return [(k, g.sort("period_start_utc")) for k, g in series.group_by(keys, maintain_order=True)]


def _counts(frame: pl.DataFrame) -> FloatArray:
    return frame["count"].cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)


def score_series(series: pl.DataFrame, params: ActivityParams | None = None) -> pl.DataFrame:
    """The series with, for every period, baseline (median count of the window), scale and z (on
    the params' scale), alarm_level, n_baseline, is_record, highest_since_utc and
    baseline_from_utc (null where unobserved or the window is too thin), and a ``spike`` flag."""
    p = params or ActivityParams()
    frames = [pl.concat([g, pl.DataFrame(_score(g["period_start_utc"].to_list(), _counts(g), g["period"][0], p),
                                         schema=_SCORES)], how="horizontal")
              for _, g in _groups(series)]
    if not frames:
        return series.clear().with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _SCORES.items()]
                                           + [pl.lit(False).alias("spike")])
    return pl.concat(frames).with_columns(
        ((pl.col("z") >= p.z_threshold) & (pl.col("count") >= p.min_count)).fill_null(False).alias("spike"))


def _spike_statement(r: dict[str, Any], series_start: dt.datetime, p: ActivityParams) -> str:
    period, ts = r["period"], r["period_start_utc"]
    when = f"in week {_label(ts, period)} (from {ts.date()})" if period == "week" else f"on {ts.date()}"
    if r["is_record"]:
        high = f"the highest since the series began ({series_start.date()})"
    else:
        high = f"the highest since {_label(r['highest_since_utc'], period)}"
    last = ts - dt.timedelta(days=7 if period == "week" else 1)
    seasonal = period == "day" and p.seasonal_weekday
    scale = " on the square-root scale" if p.transform == "anscombe" else ""
    return (f"{r['category']} at {r['site_id']} {when}: {_num(r['count'])}, {high}, {r['z']:.1f} sigma{scale} "
            f"above the baseline median of {_num(r['baseline'])} (previous "
            f"{_unit(period, r['n_baseline'], seasonal)}, "
            f"{_label(r['baseline_from_utc'], period)} to {_label(last, period)}; alarm level "
            f"{_num(math.ceil(r['alarm_level'] - 1e-9))})")


# --- changepoints ------------------------------------------------------------------------------


class _CostL2(BaseCost):  # ruptures is untyped: BaseCost is Any to mypy
    """ruptures' l2 cost from cumulative sums: O(1) per segment instead of a NumPy var() call, so
    PELT on a 100-period series takes ~2 ms instead of ~35 ms."""

    model = "l2_cumsum"
    min_size = 2

    def fit(self, signal: FloatArray) -> _CostL2:
        self.signal = np.asarray(signal, dtype=np.float64).reshape(-1, 1)
        x = self.signal[:, 0]
        self._s1 = np.concatenate([[0.0], np.cumsum(x)]).tolist()
        self._s2 = np.concatenate([[0.0], np.cumsum(x * x)]).tolist()
        return self

    def error(self, start: int, end: int) -> float:
        s1 = self._s1[end] - self._s1[start]
        return float(self._s2[end] - self._s2[start] - s1 * s1 / (end - start))


def _noise_sd(a: FloatArray, y: FloatArray, p: ActivityParams) -> float:
    d = np.diff(a)
    sd = MAD_TO_SD * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)  # diff of iid: sd * sqrt 2
    return max(sd, p.floor(float(np.median(y))))


def _clipped(obs: pl.DataFrame, y: FloatArray, sigma: float, p: ActivityParams) -> FloatArray:
    """Observed values on the z scale, with short excursions pulled back to within
    z_threshold * sigma (noise sd) of their own baseline median.

    A run of fewer than ``changepoint_min_size`` consecutive values beyond the threshold on one
    side is a spike, not a level: with l2 cost, one value 10 sigma high at the end of a series buys
    a 3-period "segment" for less than the penalty, but clipped to 3.5 sigma it gains at most
    3.5^2 / 3 = 4.1 sigma^2 < 3 * log(12) sigma^2. Longer runs (a step) are left alone, so the
    step is found where it is, and clipping does not carve a false intermediate level out of it.
    """
    scores = _score(obs["period_start_utc"].to_list(), y, obs["period"][0], p)
    a = p.to_scale(y)
    side = np.array([0 if r["z"] is None or abs(r["z"]) <= p.z_threshold else int(np.sign(r["z"]))
                     for r in scores])
    start = 0
    for i in range(1, side.size + 1):
        if i < side.size and side[i] == side[start]:
            continue
        if side[start] != 0 and i - start < p.changepoint_min_size:
            for k in range(start, i):
                center = a[k] - scores[k]["z"] * scores[k]["scale"]
                a[k] = center + side[k] * p.z_threshold * sigma
        start = i
    return a


def _breaks(obs: pl.DataFrame, y: FloatArray, p: ActivityParams) -> tuple[list[int], float, float]:
    """Indices where a new segment starts, the noise sd (z units) and the penalty used."""
    sigma = _noise_sd(p.to_scale(y), y, p)
    a = _clipped(obs, y, sigma, p)
    var = sigma**2 if p.changepoint_model == "l2" else 1.0
    pen = p.changepoint_penalty_scale * math.log(a.size) * var
    if p.changepoint_model == "l2":
        algo = rpt.Pelt(custom_cost=_CostL2(), min_size=p.changepoint_min_size, jump=1)
    else:
        algo = rpt.Pelt(model=p.changepoint_model, min_size=p.changepoint_min_size, jump=1)
    ends = [int(b) for b in algo.fit(a.reshape(-1, 1)).predict(pen=pen)]
    return [b for b in ends if b < a.size], sigma, pen


def changepoints(series: pl.DataFrame, params: ActivityParams | None = None) -> pl.DataFrame:
    """Level changes found by PELT in each series, one row per change (schema :data:`ANOMALY_SCHEMA`).

    ``period_start_utc`` is the first period of the new level; ``mean_before``/``mean_after`` (and
    ``baseline`` = mean_before) are the mean counts of the observed periods of the segments either
    side; ``z`` is the shift in noise standard deviations (z units); evidence is that of the counts
    of the new segment.
    """
    p = params or ActivityParams()
    rows: list[dict[str, Any]] = []
    for _, g in _groups(series):
        obs = g.filter(pl.col("count").is_not_null())
        if obs.height < max(p.changepoint_min_observations, 2 * p.changepoint_min_size):
            continue
        y = _counts(obs)
        starts, sigma, pen = _breaks(obs, y, p)
        a = p.to_scale(y)
        bounds = [0, *starts, y.size]
        recs = obs.to_dicts()
        period = recs[0]["period"]
        for j, b in enumerate(starts):
            lo, hi = bounds[j], bounds[j + 2]
            mb, ma = float(y[lo:b].mean()), float(y[b:hi].mean())
            shift = float(a[b:hi].mean() - a[lo:b].mean()) / sigma
            statement = (
                f"{recs[b]['category']} at {recs[b]['site_id']}: level {'rose' if ma > mb else 'fell'} from a mean "
                f"of {mb:.1f} ({_unit(period, b - lo)}, {_label(recs[lo]['period_start_utc'], period)} to "
                f"{_label(recs[b - 1]['period_start_utc'], period)}) to {ma:.1f} ({_unit(period, hi - b)}, "
                f"{_label(recs[b]['period_start_utc'], period)} to {_label(recs[hi - 1]['period_start_utc'], period)})"
                f", a shift of {shift:+.1f} noise sd (PELT, {p.changepoint_model} cost, penalty {pen:.1f})")
            rows.append({
                "site_id": recs[b]["site_id"], "category": recs[b]["category"], "basis": recs[b].get("basis"),
                "period": period, "period_start_utc": recs[b]["period_start_utc"], "count": float(y[b]),
                "baseline": mb, "scale": sigma, "z": shift, "alarm_level": None, "n_baseline": b - lo,
                "is_record": bool(y[b] > y[:b].max()), "highest_since_utc": None, "kind": "changepoint",
                "mean_before": mb, "mean_after": ma, "statement": statement,
                "evidence": [e for r in recs[b:hi] for e in (r.get("evidence") or [])],
                "event_ids": [e for r in recs[b:hi] for e in (r.get("event_ids") or [])],
            })
    return pl.DataFrame(rows, schema=ANOMALY_SCHEMA)


def detect_anomalies(series: pl.DataFrame, params: ActivityParams | None = None) -> pl.DataFrame:
    """Spikes and changepoints of a regular series, each with a plain-words statement.

    Columns (:data:`ANOMALY_SCHEMA`): site_id, category, basis, period, period_start_utc, count,
    baseline (median count of the window; for a changepoint the mean before), scale and z (z units,
    see the module doc), alarm_level, n_baseline, is_record, highest_since_utc, kind ('spike' |
    'changepoint'), mean_before/mean_after (changepoints), statement, evidence (the
    {source_id, record_no} of the counts behind it) and event_ids.
    """
    p = params or ActivityParams()
    rows: list[dict[str, Any]] = []
    for _, g in _groups(score_series(series, p)):
        observed = g.filter(pl.col("count").is_not_null())
        if observed.is_empty():
            continue
        start: dt.datetime = observed["period_start_utc"][0]
        for r in g.filter(pl.col("spike")).to_dicts():
            row = {c: r.get(c) for c in ANOMALY_SCHEMA}
            row.update(kind="spike", statement=_spike_statement(r, start, p), evidence=r.get("evidence") or [],
                       event_ids=r.get("event_ids") or [])
            rows.append(row)
    found = [pl.DataFrame(rows, schema=ANOMALY_SCHEMA)]
    if p.changepoints:
        found.append(changepoints(series, p))
    return pl.concat(found).sort("site_id", "category", "period_start_utc", "kind")
