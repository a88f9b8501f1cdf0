"""Site activity series: counts in, regular calendar, spikes and changepoints out.

Synthetic series are seeded NumPy draws; the flat-series tests state the false-alarm bound they
check and where it comes from (docs/imagery-activity.md gives the measured rates).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from sanctionwatch.config import Config
from sanctionwatch.geo import Area
from sanctionwatch.imagery.activity import (
    ActivityParams,
    CountsFileError,
    ais_presence_counts,
    changepoints,
    detect_anomalies,
    detection_counts,
    read_counts_csv,
    regularise,
    score_series,
)
from sanctionwatch.schema import EVENTS, SITE_COUNTS
from sanctionwatch.store import Project

T0 = dt.datetime(2023, 1, 2, tzinfo=dt.UTC)  # a Monday: 2023-W01
UTC = pl.Datetime("us", "UTC")


def weekly(values: np.ndarray | list[float], site: str = "site-a", category: str = "rail_cars") -> pl.DataFrame:
    """A regular weekly series from T0; NaN = unobserved week."""
    y = np.asarray(values, dtype=np.float64)
    return pl.DataFrame({
        "site_id": site, "category": category, "basis": "analyst", "period": "week",
        "period_start_utc": [T0 + dt.timedelta(weeks=i) for i in range(y.size)],
        "count": [None if np.isnan(v) else float(v) for v in y],
    }, schema={"site_id": pl.String, "category": pl.String, "basis": pl.String, "period": pl.String,
               "period_start_utc": UTC, "count": pl.Float64})


def many(series: list[np.ndarray]) -> pl.DataFrame:
    return pl.concat([weekly(y, site=f"s{k:03d}") for k, y in enumerate(series)])


def week_label(i: int) -> str:
    iso = (T0 + dt.timedelta(weeks=i)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


# --- injected surges --------------------------------------------------------------------------


def test_injected_spike_is_flagged_as_record_with_figures() -> None:
    rng = np.random.default_rng(20230911)
    y = rng.poisson(12, 60).astype(float)
    y[40] = 48
    found = detect_anomalies(weekly(y, site="tumangang-khasan-rail-crossing"))
    spikes = found.filter(pl.col("kind") == "spike")
    assert spikes.height == 1
    row = spikes.row(0, named=True)
    assert row["period_start_utc"] == T0 + dt.timedelta(weeks=40)
    assert row["z"] >= ActivityParams().z_threshold
    assert row["is_record"] is True
    assert row["count"] <= 48 and row["alarm_level"] <= 48
    s = row["statement"]
    for figure in ("rail_cars at tumangang-khasan-rail-crossing", f"in week {week_label(40)}", ": 48,",
                   "the highest since the series began (2023-01-02)", f"{row['z']:.1f} sigma",
                   f"baseline median of {round(row['baseline'])}", "previous 13 observed weeks",
                   f"{week_label(27)} to {week_label(39)}"):
        assert figure in s, (figure, s)
    # a lone spike is not a new level
    assert found.filter(pl.col("kind") == "changepoint").is_empty()


def test_smaller_later_spike_is_not_a_record_and_says_since_when() -> None:
    rng = np.random.default_rng(7)
    y = rng.poisson(12, 60).astype(float)
    y[20], y[45] = 70, 48
    spikes = detect_anomalies(weekly(y)).filter(pl.col("kind") == "spike")
    assert spikes["period_start_utc"].to_list() == [T0 + dt.timedelta(weeks=20), T0 + dt.timedelta(weeks=45)]
    first, second = spikes.rows(named=True)
    assert first["is_record"] is True
    assert second["is_record"] is False
    assert second["highest_since_utc"] == T0 + dt.timedelta(weeks=20)
    assert f"the highest since {week_label(20)}" in second["statement"]


def test_step_change_is_found_within_one_period() -> None:
    rng = np.random.default_rng(42)
    for _ in range(20):
        y = np.concatenate([rng.poisson(10, 55), rng.poisson(25, 45)]).astype(float)
        cps = changepoints(weekly(y))
        assert cps.height >= 1
        best = cps.with_columns(off=((pl.col("period_start_utc") - T0).dt.total_days() // 7 - 55).abs()).sort("off")
        row = best.row(0, named=True)
        assert row["off"] <= 1
        assert row["mean_before"] == pytest.approx(10, abs=2) and row["mean_after"] == pytest.approx(25, abs=3)
        assert row["kind"] == "changepoint" and "level rose from a mean of" in row["statement"]


# Raw counts only with a moderate step: on the raw scale the noise grows with the level, so one sigma
# for the whole series can split a much higher segment again (why the Anscombe scale is the default).
@pytest.mark.parametrize(("transform", "low", "high"), [("anscombe", 5, 80), ("none", 8, 30)])
def test_spike_before_a_step_gives_one_changepoint_with_true_means(transform: str, low: int, high: int) -> None:
    rng = np.random.default_rng(5)
    y = np.concatenate([rng.poisson(low, 30), rng.poisson(high, 20)]).astype(float)
    y[10] = 60
    cps = changepoints(weekly(y), ActivityParams(transform=transform))
    assert cps.height == 1
    row = cps.row(0, named=True)
    assert row["period_start_utc"] == T0 + dt.timedelta(weeks=30)
    assert row["mean_before"] == pytest.approx(y[:30].mean()) and row["mean_after"] == pytest.approx(y[30:].mean())


def test_changepoint_evidence_walks_back_to_counts() -> None:
    rng = np.random.default_rng(5)
    y = np.concatenate([rng.poisson(8, 30), rng.poisson(30, 20)]).astype(float)
    evidence = pl.Series("evidence", [[{"source_id": "abc", "record_no": i + 2}] for i in range(y.size)],
                         dtype=pl.List(pl.Struct({"source_id": pl.String, "record_no": pl.Int64})))
    s = weekly(y).with_columns(evidence)
    row = changepoints(s).row(0, named=True)
    first = (row["period_start_utc"] - T0).days // 7
    assert row["evidence"][0] == {"source_id": "abc", "record_no": first + 2}
    assert len(row["evidence"]) == 50 - first


# --- flat series: false alarms ----------------------------------------------------------------

# Bound, Poisson: on the Anscombe scale a = 2 sqrt(x + 3/8) counts are ~N(mu, 1) and the scale is
# floored at 1 (the true sd), so z <= (a - median) / 1; the median of n >= 6 values has variance
# ~pi / (2n) <= 0.26, so P(z >= 3.5) <= 1 - Phi(3.5 / sqrt(1.26)) = 9e-4. We allow 2x for the normal
# approximation of the transform at small means: 2e-3. (Measured: ~2e-4.)
POISSON_BOUND = 2 * (1 - norm.cdf(3.5 / np.sqrt(1 + np.pi / 12)))
# Bound, negative binomial with variance = 2 x mean (dispersion D = 2): on the Anscombe scale the
# sd is ~sqrt(D); the floor keeps the scale >= sd / sqrt(D), so at worst
# P <= 1 - Phi(3.5 / (sqrt(D) * sqrt(1.26))) = 0.014. (Measured: ~3e-3.)
NB_BOUND = 1 - norm.cdf(3.5 / (np.sqrt(2) * np.sqrt(1 + np.pi / 12)))


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_flat_series_stay_quiet(family: str) -> None:
    rng = np.random.default_rng(2024 if family == "poisson" else 2025)
    levels = rng.uniform(2, 50, 200)
    if family == "poisson":
        ys = [rng.poisson(lam, 100) for lam in levels]
    else:  # numpy's NB(n, p=0.5) has mean n and variance 2n
        ys = [rng.negative_binomial(lam, 0.5, 100) for lam in levels]
    scored = score_series(many(ys))
    n_scored = int(scored["z"].is_not_null().sum())
    rate = int(scored["spike"].sum()) / n_scored
    assert n_scored == 200 * (100 - 6)  # every week after the first 6 has a baseline
    assert rate <= (POISSON_BOUND if family == "poisson" else NB_BOUND), rate
    # Changepoints: penalty 3 log(n) sigma^2 = 13.8 sigma^2 at n = 100; the best single split of pure
    # noise gains a squared standardised Brownian-bridge maximum, which exceeds 13.8 (3.7^2) in ~1-3 %
    # of series (Siegmund's approximation), so "most series report none": at most 5 % / 10 %.
    with_cp = changepoints(many(ys))["site_id"].n_unique()
    assert with_cp <= (10 if family == "poisson" else 20), with_cp


# --- missing periods --------------------------------------------------------------------------


def test_missing_periods_stay_missing_and_raise_no_alarm() -> None:
    rng = np.random.default_rng(11)
    y = rng.poisson(20, 40).astype(float)
    y[15:24] = np.nan  # nine unobserved weeks (cloud, no analyst): not nine empty weeks
    series = weekly(y)
    scored = score_series(series)
    gap = scored.filter(pl.col("count").is_null())
    assert gap.height == 9 and gap["z"].is_null().all() and not gap["spike"].any()
    after = scored.row(24, named=True)
    assert after["n_baseline"] == 13 and after["baseline_from_utc"] == T0 + dt.timedelta(weeks=2)
    assert detect_anomalies(series).is_empty()
    # the same series with the gap read as zeros would "find" a level change
    assert not changepoints(weekly(np.nan_to_num(y))).is_empty()


def test_regularise_keeps_gaps_as_null_and_averages_instants(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("site,date,count,category\n"
                    "yard,2023-09-04,10,rail_cars\n"
                    "yard,2023-09-06T08:30:00,14,rail_cars\n"
                    "yard,2023-09-25,30,rail_cars\n", encoding="utf-8")
    weeks = regularise(read_counts_csv(path), "week")
    assert weeks["period_start_utc"].to_list() == [dt.datetime(2023, 9, d, tzinfo=dt.UTC) for d in (4, 11, 18, 25)]
    assert weeks["count"].to_list() == [12.0, None, None, 30.0]
    assert weeks["n_obs"].to_list() == [2, 0, 0, 1]
    assert [e["record_no"] for e in weeks["evidence"][0]] == [2, 3]
    days = regularise(read_counts_csv(path), "day")
    assert days.height == 22 and days["count"].null_count() == 19 and (days["count"].drop_nulls() > 0).all()


# --- AIS presence -----------------------------------------------------------------------------


def _visits() -> pl.DataFrame:
    def t(day: int, hour: int = 0) -> dt.datetime:
        return dt.datetime(2023, 9, day, hour, tzinfo=dt.UTC)

    rows = [  # event_id, mmsi, start, end, area
        ("v1", 273000001, t(1, 10), t(3, 2), "nakhodka"),
        ("v2", 273000002, t(2, 20), t(2, 23), "nakhodka"),
        ("v3", 273000003, t(2, 0), t(4, 0), "vostochny"),  # another port
        ("v4", 273000001, t(5, 12), None, "nakhodka"),  # still in port at the end of the data
    ]
    return pl.DataFrame(
        [{"event_id": e, "event_type": "port_visit", "mmsi": m, "start_utc": s, "end_utc": en, "area_id": a,
          "evidence": [{"source_id": "ais1", "record_no": 10 * k}, {"source_id": "ais1", "record_no": 10 * k + 5}]}
         for k, (e, m, s, en, a) in enumerate(rows, start=1)],
        schema={c: EVENTS.polars()[c] for c in ("event_id", "event_type", "mmsi", "start_utc", "end_utc", "area_id",
                                                "evidence")})


def test_ais_presence_daily_counts_from_port_visits() -> None:
    span = (dt.datetime(2023, 9, 1, tzinfo=dt.UTC), dt.datetime(2023, 9, 6, 12, tzinfo=dt.UTC))
    daily = ais_presence_counts(_visits(), "nakhodka", "day", span=span)
    assert daily["period_start_utc"].to_list() == [dt.datetime(2023, 9, d, tzinfo=dt.UTC) for d in range(1, 7)]
    # Sept 1: v1; 2: v1 + v2; 3: v1 (left 02:00); 4: nobody (a real zero: AIS was recorded); 5-6: v4 (open)
    assert daily["count"].to_list() == [1.0, 2.0, 1.0, 0.0, 1.0, 1.0]
    assert set(daily["category"]) == {"ships_in_port"} and set(daily["basis"]) == {"ais"}
    assert daily["event_ids"][1].to_list() == ["v1", "v2"]
    assert {"source_id": "ais1", "record_no": 20} in daily["evidence"][1].to_list()
    assert daily.select(SITE_COUNTS.names).schema == pl.Schema(SITE_COUNTS.polars())


def test_ais_presence_weekly_is_distinct_vessels_of_whole_weeks() -> None:
    span = (dt.datetime(2023, 8, 28, tzinfo=dt.UTC), dt.datetime(2023, 9, 12, tzinfo=dt.UTC))
    weekly_counts = ais_presence_counts(_visits(), "nakhodka", "week", span=span)
    # weeks of Aug 28 (v1, v2 -> 2 vessels) and Sep 4 (v4 open -> 1); Sep 11 is only partly covered
    assert weekly_counts["period_start_utc"].to_list() == [dt.datetime(2023, 8, 28, tzinfo=dt.UTC),
                                                            dt.datetime(2023, 9, 4, tzinfo=dt.UTC)]
    assert weekly_counts["count"].to_list() == [2.0, 1.0]
    assert set(weekly_counts["category"]) == {"distinct_ships_in_port"}


def test_ais_presence_from_a_project(tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj") as project:
        project.con.execute(EVENTS.duckdb_ddl())
        project.con.register("_v", _visits().with_columns(pl.lit(None, dtype=pl.String).alias("attrs_json")))
        cols = ", ".join(_visits().columns)
        project.con.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM _v")
        daily = ais_presence_counts(project, "nakhodka", "day")
    # no positions stored: the coverage is the visits' own span (Sept 1 to Sept 5, open visit included)
    assert daily["count"].to_list() == [1.0, 2.0, 1.0, 0.0, 1.0]


# --- detections -------------------------------------------------------------------------------


def test_detection_counts_per_scene_with_footprints() -> None:
    site = Area("anchorage", "Anchorage", "Point", 42.0, 131.0, radius_m=2_000.0)
    det = pl.DataFrame({
        "detection_id": ["d1", "d2", "d3", "d4"], "scene_id": ["S1", "S1", "S1", "S2"],
        "ts_utc": [dt.datetime(2023, 9, 1, 1, tzinfo=dt.UTC)] * 3 + [dt.datetime(2023, 9, 3, 1, tzinfo=dt.UTC)],
        "lat_deg": [42.0, 42.005, 42.2, 42.2], "lon_deg": [131.0, 131.005, 131.0, 131.0],
        "source_id": "sar", "record_no": [2, 3, 4, 5]})
    scenes = pl.DataFrame({"scene_id": ["S2", "S3"],
                           "ts_utc": [dt.datetime(2023, 9, 3, 1, tzinfo=dt.UTC), dt.datetime(2023, 9, 5, 1, tzinfo=dt.UTC)],
                           "footprint_wkt": ["POLYGON((130 41, 132 41, 132 43, 130 43, 130 41))",
                                             "POLYGON((140 41, 142 41, 142 43, 140 43, 140 41))"]})
    counts = detection_counts(det, site, scenes=scenes)
    # S1: two inside; S2 imaged the site (footprint) and saw none there: 0; S3 did not image it: absent
    assert counts["note"].to_list() == ["scenes: S1", "scenes: S2"]
    assert counts["count"].to_list() == [2.0, 0.0]
    assert [e["record_no"] for e in counts["evidence"][0]] == [2, 3]
    without = detection_counts(det, site)
    assert without["count"].to_list() == [2.0]  # no footprints: no zeros can be known


# --- the counts CSV reader --------------------------------------------------------------------


def test_read_counts_csv_good_file(tmp_path: Path) -> None:
    path = tmp_path / "rail.csv"
    path.write_text("site,date,count,category,period,note\n"
                    "tumangang,2023-08-28,12,rail_cars,week,Planet 2023-08-30\n"
                    "\n"
                    "tumangang,2023-09-12T09:15:00+09:00,48,rail_cars,,\"Maxar, 2023-09-12\"\n", encoding="utf-8")
    df = read_counts_csv(path)
    assert df.schema == pl.Schema(SITE_COUNTS.polars())
    assert df["record_no"].to_list() == [2, 4]
    assert df["period"].to_list() == ["week", "instant"]
    assert df["period_start_utc"][1] == dt.datetime(2023, 9, 12, 0, 15, tzinfo=dt.UTC)
    assert df["note"][1] == "Maxar, 2023-09-12" and set(df["basis"]) == {"analyst"}
    assert df["source_id"].n_unique() == 1 and len(df["source_id"][0]) == 16


@pytest.mark.parametrize(("line", "message"), [
    ("tumangang,2023-13-01,12,rail_cars", "is not an ISO date"),
    ("tumangang,2023-09-01,-3,rail_cars", "must be a finite number >= 0"),
    ("tumangang,2023-09-01,many,rail_cars", "is not a number"),
    (",2023-09-01,3,rail_cars", "missing site"),
    ("tumangang,2023-09-01,3,rail_cars,fortnight", "period must be one of"),
    ("tumangang,2023-09-06,3,rail_cars,week", "use 2023-09-04"),
])
def test_read_counts_csv_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("site,date,count,category,period\ntumangang,2023-09-01,3,rail_cars\n" + line + "\n",
                    encoding="utf-8")
    with pytest.raises(CountsFileError, match=message) as err:
        read_counts_csv(path)
    assert str(err.value).startswith(f"{path}:3: ")
    assert err.value.line == 3


def test_read_counts_csv_rejects_unknown_columns_and_repeats(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("site,date,count,kind\n", encoding="utf-8")
    with pytest.raises(CountsFileError, match=r"cols.csv:1: header"):
        read_counts_csv(path)
    path.write_text("site,date,count,category\na,2023-09-01,3,x\na,2023-09-01,4,x\n", encoding="utf-8")
    with pytest.raises(CountsFileError, match="repeats the count of line 2"):
        read_counts_csv(path)


# --- params -----------------------------------------------------------------------------------


def test_params_from_config_and_validation() -> None:
    values = {f"imagery.activity_{k}": v for k, v in ActivityParams().__dict__.items()}
    values["imagery.activity_z_threshold"] = 4.0
    assert ActivityParams.from_config(Config(MappingProxyType(values))).z_threshold == 4.0
    with pytest.raises(ValueError, match="transform"):
        ActivityParams(transform="log")
    with pytest.raises(ValueError, match="regularise"):
        detect_anomalies(weekly([1.0, 2.0]).with_columns(pl.lit("instant").alias("period")))


def test_raw_scale_and_seasonal_daily_modes_run() -> None:
    rng = np.random.default_rng(3)
    days = 84
    weekday_effect = np.where(np.arange(days) % 7 >= 5, 2, 12)  # quiet weekends
    y = rng.poisson(weekday_effect).astype(float)
    y[80] = 40
    s = weekly(y).with_columns(
        pl.lit("day").alias("period"),
        pl.Series("period_start_utc", [T0 + dt.timedelta(days=i) for i in range(days)], dtype=UTC))
    seasonal = detect_anomalies(s, ActivityParams(seasonal_weekday=True, changepoints=False))
    assert seasonal["period_start_utc"].to_list() == [T0 + dt.timedelta(days=80)]
    assert "previous 11 observed same-weekday days" in seasonal["statement"][0]
    raw = detect_anomalies(s, ActivityParams(transform="none", changepoints=False))
    assert T0 + dt.timedelta(days=80) in raw["period_start_utc"].to_list()
    assert "square-root" not in raw["statement"][0]
