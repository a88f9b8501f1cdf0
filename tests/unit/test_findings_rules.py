"""Each built-in rule on small hand-made event tables, the engine's ids and evidence, user SQL rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sanctionwatch.config import load_config
from sanctionwatch.events.base import events_frame
from sanctionwatch.findings.engine import evaluate
from sanctionwatch.findings.inputs import FindingInputs
from sanctionwatch.findings.rules import BUILTIN_RULES, basis_reason
from sanctionwatch.findings.user_rules import RuleFileError, load_rules_file
from sanctionwatch.geo import default_areas
from sanctionwatch.schema import DETECTION_MATCHES, DETECTIONS, MATCHES

ANGARA, OTHER, TANKER = 273210440, 273000001, 671226100
RULES = {r.name: r for r in BUILTIN_RULES}
RAJIN = (42.245, 130.29)   # the packaged rajin-port area (5 km radius)
VOSTOCHNY = (42.745, 133.06)


def t(day: int, hour: int = 0, month: int = 9) -> dt.datetime:
    return dt.datetime(2023, month, day, hour, tzinfo=dt.UTC)


def ev(event_type: str, mmsi: int, start: dt.datetime, end: dt.datetime | None = None, *, eid: str,
       area: str | None = None, area2: str | None = None, basis: str = "ais", confidence: float | None = 1.0,
       other: int | None = None, lat: float | None = None, lon: float | None = None,
       attrs: dict[str, Any] | None = None, records: tuple[int, ...] = (1,)) -> dict[str, Any]:
    return {"event_id": eid, "event_type": event_type, "mmsi": mmsi, "other_mmsi": other, "start_utc": start,
            "end_utc": end or start, "area_id": area, "area2_id": area2, "basis": basis, "confidence": confidence,
            "lat_deg": lat, "lon_deg": lon, "attrs": attrs or {}, "params_id": "p",
            "evidence": [(f"src-{eid}", r) for r in records]}


def match(mmsi: int, status: str = "match", entry_status: str = "listed", score: float = 1.0) -> dict[str, Any]:
    return {"match_id": f"m{mmsi}", "mmsi": mmsi, "ais_name": "ANGARA", "ais_imo": 9179842, "list_name": "ofac-sdn",
            "list_id": "L1", "entry_id": "37059", "entry_name": "ANGARA", "entry_schema": "Vessel", "score": score,
            "status": status, "entry_status": entry_status, "reasons": ["IMO 9179842 broadcast is listed"],
            "first_seen_utc": t(1), "last_seen_utc": t(30), "evidence": [{"source_id": "list", "record_no": 7}],
            "params_id": "p"}


def inputs(events: list[dict[str, Any]], matches: list[dict[str, Any]] = (), **overrides: Any) -> FindingInputs:  # type: ignore[assignment]
    config = load_config(None, overrides.pop("settings", {}))
    return FindingInputs(
        config=config, areas=default_areas(), events=events_frame(events),
        matches=pl.DataFrame(list(matches), schema=MATCHES.polars()),  # type: ignore[arg-type]
        labels={ANGARA: "ANGARA (IMO 9179842)", OTHER: "OTHER SHIP", TANKER: "TANKER"}, **overrides)


def run(rule: str, inp: FindingInputs) -> pl.DataFrame:
    return evaluate(inp, [RULES[rule]])


# --- 1 ---------------------------------------------------------------------------------------

def test_sanctioned_vessel_at_watched_port_groups_visits_per_port_and_needs_a_listed_match():
    events = [ev("port_visit", ANGARA, t(1), t(2), eid="v1", area="rajin-port"),
              ev("port_visit", ANGARA, t(9), t(10), eid="v2", area="rajin-port", basis="sighting", confidence=0.9),
              ev("port_visit", ANGARA, t(5), t(6), eid="v3", area="wpi-12345"),       # not a watched area
              ev("port_visit", OTHER, t(3), t(4), eid="v4", area="rajin-port")]        # not sanctioned
    got = run("sanctioned_vessel_at_watched_port", inputs(events, [match(ANGARA)]))
    assert got.height == 1
    f = got.row(0, named=True)
    assert f["mmsis"] == [ANGARA] and f["area_ids"] == ["rajin-port"] and f["severity"] == "high"
    assert sorted(f["event_ids"]) == ["v1", "v2"]
    assert "2 times between 2023-09-01 and 2023-09-10" in f["statement"]
    assert "1 observed in AIS, 1 identified by an analyst on imagery" in f["statement"]
    assert "listed on ofac-sdn as ANGARA [37059]" in f["statement"]
    # a delisted entry, or a 'possible' under the default status, sanctions nobody
    assert run("sanctioned_vessel_at_watched_port", inputs(events, [match(ANGARA, entry_status="delisted")])).height == 0
    assert run("sanctioned_vessel_at_watched_port", inputs(events, [match(ANGARA, status="possible")])).height == 0
    widened = inputs(events, [match(ANGARA, status="possible")], settings={"findings.sanctioned_status": "possible"})
    assert run("sanctioned_vessel_at_watched_port", widened).height == 1


def test_watched_groups_setting_limits_the_ports():
    events = [ev("port_visit", ANGARA, t(1), eid="v1", area="rajin-port"),
              ev("port_visit", ANGARA, t(5), eid="v2", area="vostochny-port")]
    everywhere = run("sanctioned_vessel_at_watched_port", inputs(events, [match(ANGARA)]))
    assert sorted(a for ids in everywhere["area_ids"] for a in ids) == ["rajin-port", "vostochny-port"]
    dprk = run("sanctioned_vessel_at_watched_port",
               inputs(events, [match(ANGARA)], settings={"findings.watched_groups": "dprk_ports"}))
    assert dprk["area_ids"].to_list() == [["rajin-port"]]


# --- 2 ---------------------------------------------------------------------------------------

def _voyages(n_observed: int, n_inferred: int, mmsi: int = ANGARA) -> list[dict[str, Any]]:
    rows = []
    for i in range(n_observed + n_inferred):
        inferred = i >= n_observed
        rows.append(ev("voyage", mmsi, t(1 + 2 * i, month=9 + i // 14), t(2 + 2 * i, month=9 + i // 14),
                       eid=f"y{mmsi}-{i}", area="vostochny-port", area2="rajin-port",
                       basis="inferred_gap" if inferred else "ais", confidence=0.4 if inferred else 1.0))
    return rows


def test_voyages_between_groups_counts_observed_and_inferred_with_a_monthly_series():
    got = run("voyages_between_groups", inputs(_voyages(2, 3), [match(ANGARA)]))
    f = got.row(0, named=True)
    assert "made at least 5 voyages between" in f["statement"]
    assert "2 observed in AIS, 3 inferred from AIS gaps" in f["statement"]
    assert f["severity"] == "high"  # a sanctioned vessel
    assert f["confidence"] == pytest.approx((2 * 1.0 + 3 * 0.4) / 5, abs=1e-3)
    figures = json.loads(f["attrs_json"])["figures"]
    assert sum(m["len"] for m in figures["per_month"]) == 5
    assert {m["kind"] for m in figures["per_month"]} == {"observed", "inferred"}
    settings = json.loads(f["attrs_json"])["rule"]["settings"]
    assert settings["findings.voyage_min_count"] == 3


def test_voyages_below_the_minimum_or_before_since_make_no_finding():
    assert run("voyages_between_groups", inputs(_voyages(1, 1))).height == 0
    late = inputs(_voyages(3, 2), settings={"findings.voyage_since": "2023-09-04"})  # days 5, 7, 9 count
    f = run("voyages_between_groups", late)
    assert f.height == 1 and "at least 3 voyages" in f["statement"][0] and "since 2023-09-04" in f["statement"][0]
    assert f["severity"][0] == "medium"  # not sanctioned


# --- 3 ---------------------------------------------------------------------------------------

def _gap(eid: str, off: tuple[float, float], on: tuple[float, float], hours: float, disabling: bool,
         mmsi: int = ANGARA) -> dict[str, Any]:
    return ev("ais_gap", mmsi, t(3), t(3) + dt.timedelta(hours=hours), eid=eid, confidence=None,
              attrs={"off_lat_deg": off[0], "off_lon_deg": off[1], "on_lat_deg": on[0], "on_lon_deg": on[1],
                     "duration_h": hours, "likely_disabling": disabling})


def test_ais_gap_near_watched_area_uses_either_end_and_the_distance_setting():
    near_on = _gap("g1", VOSTOCHNY, (RAJIN[0] + 0.3, RAJIN[1]), 40.0, True)   # ~33 km from Rajin's centre
    far = _gap("g2", VOSTOCHNY, (40.0, 135.0), 20.0, False)
    f = run("ais_gap_near_watched_area", inputs([near_on, far]))
    assert f.height == 1 and f["event_ids"][0].to_list() == ["g1"]
    assert "went dark once within 50 km of Rajin" in f["statement"][0]
    assert "1 meet the 'likely disabling' criteria" in f["statement"][0]
    assert f["confidence"][0] == pytest.approx(0.9)
    assert run("ais_gap_near_watched_area", inputs([near_on], settings={"findings.gap_near_area_km": 20.0})).height == 0


# --- 4 ---------------------------------------------------------------------------------------

def test_encounter_with_sanctioned_vessel_either_side():
    enc = ev("encounter", OTHER, t(10), t(10, 5), eid="e1", other=TANKER, lat=42.4, lon=132.6, confidence=None,
             attrs={"duration_h": 5.0, "median_distance_m": 40.0, "median_speed_knots": 0.5,
                    "distance_from_port_km": 48.0})
    assert run("encounter_with_sanctioned_vessel", inputs([enc])).height == 0
    f = run("encounter_with_sanctioned_vessel", inputs([enc], [match(TANKER)])).row(0, named=True)
    assert f["mmsis"] == sorted([OTHER, TANKER]) and f["event_ids"] == ["e1"]
    assert "OTHER SHIP and TANKER met at sea on 2023-09-10 for 5.0 h, 40 m apart" in f["statement"]
    assert "TANKER is listed on ofac-sdn" in f["statement"]


# --- 5 ---------------------------------------------------------------------------------------

def test_identity_change_of_screened_vessel_carries_the_match_evidence():
    change = ev("identity_change", ANGARA, t(20), eid="i1", confidence=None,
                attrs={"kind": "name", "before": "SIM VOLNA", "after": "SIM VERA"})
    assert run("identity_change_of_screened_vessel", inputs([change])).height == 0
    f = run("identity_change_of_screened_vessel", inputs([change], [match(ANGARA, status="possible", score=0.6)]))
    row = f.row(0, named=True)
    assert "changed its broadcast name from SIM VOLNA to SIM VERA on 2023-09-20" in row["statement"]
    assert row["confidence"] == pytest.approx(0.6) and row["severity"] == "medium"
    assert {"source_id": "list", "record_no": 7} in row["evidence"]           # the list record
    assert {"source_id": "src-i1", "record_no": 1} in row["evidence"]         # the AIS records


# --- 6 ---------------------------------------------------------------------------------------

def test_dark_vessel_near_watched_port_filters_by_distance_and_length():
    dets = pl.DataFrame([
        {"detection_id": "d1", "scene_id": "S1", "ts_utc": t(11), "lat_deg": RAJIN[0], "lon_deg": RAJIN[1],
         "length_m": 102.0, "confidence": 0.85, "sensor": "sentinel-1", "source_id": "det", "record_no": 2},
        {"detection_id": "d2", "scene_id": "S1", "ts_utc": t(11), "lat_deg": RAJIN[0], "lon_deg": RAJIN[1] + 0.01,
         "length_m": 12.0, "confidence": 0.9, "sensor": "sentinel-1", "source_id": "det", "record_no": 3},
        {"detection_id": "d3", "scene_id": "S1", "ts_utc": t(11), "lat_deg": 41.0, "lon_deg": 131.0,
         "length_m": 150.0, "confidence": 0.9, "sensor": "sentinel-1", "source_id": "det", "record_no": 4},
        {"detection_id": "d4", "scene_id": "S1", "ts_utc": t(11), "lat_deg": RAJIN[0], "lon_deg": RAJIN[1],
         "length_m": 90.0, "confidence": 0.9, "sensor": "sentinel-1", "source_id": "det", "record_no": 5},
    ], schema=DETECTIONS.polars())  # type: ignore[arg-type]
    status = {"d1": "dark_candidate", "d2": "dark_candidate", "d3": "dark_candidate", "d4": "matched"}
    dm = pl.DataFrame([{"detection_id": d, "scene_id": "S1", "ts_utc": t(11), "status": s,
                        "mmsi": ANGARA if s == "matched" else None,
                        "evidence": [{"source_id": "det", "record_no": int(d[1]) + 1}]} for d, s in status.items()],
                      schema=DETECTION_MATCHES.polars())  # type: ignore[arg-type]
    f = run("dark_vessel_near_watched_port", inputs([], detections=dets, detection_matches=dm))
    assert f.height == 1
    row = f.row(0, named=True)
    assert row["area_ids"] == ["rajin-port"] and row["evidence"] == [{"source_id": "det", "record_no": 2}]
    assert row["statement"].startswith("A 102 m vessel was detected in Rajin") and row["confidence"] == pytest.approx(0.85)


# --- 7 ---------------------------------------------------------------------------------------

def test_activity_anomaly_at_site_reports_changepoints_and_one_summary_of_spikes():
    base = {"site_id": "tumangang-khasan-rail-crossing", "category": "rail_cars", "basis": "analyst",
            "period": "week", "event_ids": [], "z": 6.0, "mean_before": None, "mean_after": None}
    anomalies = pl.DataFrame([
        {**base, "kind": "changepoint", "period_start_utc": t(4), "count": 41.0, "mean_before": 12.0,
         "mean_after": 45.0, "statement": "level rose from 12 to 45", "evidence": [{"source_id": "c", "record_no": 5}]},
        {**base, "kind": "spike", "period_start_utc": t(4), "count": 41.0, "statement": "41 in W36",
         "evidence": [{"source_id": "c", "record_no": 5}]},
        {**base, "kind": "spike", "period_start_utc": t(11), "count": 53.0, "statement": "53 in W37",
         "evidence": [{"source_id": "c", "record_no": 6}]},
    ])
    f = run("activity_anomaly_at_site", inputs([], site_anomalies=anomalies))
    assert f.height == 2
    spikes = f.filter(pl.col("title").str.starts_with("Spikes")).row(0, named=True)
    assert "2 weeks of unusual rail_cars counts from 2023-09-04 to 2023-09-11" in spikes["statement"]
    assert spikes["evidence"] == [{"source_id": "c", "record_no": 5}, {"source_id": "c", "record_no": 6}]


# --- the engine --------------------------------------------------------------------------------

def test_ids_are_deterministic_and_evidence_is_the_union_of_the_events():
    events = [ev("port_visit", ANGARA, t(1), eid="v1", area="rajin-port", records=(1, 2)),
              ev("port_visit", ANGARA, t(9), eid="v2", area="rajin-port", records=(3,))]
    a = evaluate(inputs(events, [match(ANGARA)]))
    b = evaluate(inputs(list(reversed(events)), [match(ANGARA)]))
    assert a["finding_id"].to_list() == b["finding_id"].to_list()
    assert a["evidence"][0].to_list() == [{"source_id": "src-v1", "record_no": 1},
                                          {"source_id": "src-v1", "record_no": 2},
                                          {"source_id": "src-v2", "record_no": 3}]
    assert a["params_id"][0] == load_config(None, {}).params_id


def test_basis_reason_orders_observed_before_inferred():
    assert basis_reason(["inferred_gap", "ais", "inferred_gap", None]) == "2 observed in AIS, 2 inferred from AIS gaps"


# --- user rules ----------------------------------------------------------------------------------

USER_RULES = '''
[[rule]]
name = "long_dark_periods"
title = "Dark {hours:.0f} h"
description = "Any vessel dark for more than a day."
severity = "low"
confidence = 0.6
confidence_reason = "the gap is observed"
statement = "{vessel} was dark for {hours:.0f} h from {start_utc:%Y-%m-%d}."
sql = """
SELECT mmsi, start_utc, end_utc, [event_id] AS event_ids,
       CAST(json_extract(attrs_json, '$.duration_h') AS DOUBLE) AS hours
FROM events WHERE event_type = 'ais_gap'
  AND CAST(json_extract(attrs_json, '$.duration_h') AS DOUBLE) > $min_hours
"""
[rule.params]
min_hours = 24
'''


def test_a_user_sql_rule_runs_through_the_engine(tmp_path: Path):
    path = tmp_path / "rules.toml"
    path.write_text(USER_RULES, encoding="utf-8")
    rules = load_rules_file(path)
    events = [_gap("g1", VOSTOCHNY, VOSTOCHNY, 40.0, False), _gap("g2", VOSTOCHNY, VOSTOCHNY, 10.0, False)]
    f = evaluate(inputs(events), rules)
    assert f.height == 1
    row = f.row(0, named=True)
    assert row["statement"] == "ANGARA (IMO 9179842) was dark for 40 h from 2023-09-03."
    assert row["title"] == "Dark 40 h" and row["severity"] == "low" and row["event_ids"] == ["g1"]
    assert row["evidence"] == [{"source_id": "src-g1", "record_no": 1}]
    assert json.loads(row["attrs_json"])["rule"]["origin"] == str(path)


@pytest.mark.parametrize(("text", "message"), [
    ("[[rule]]\nname = 'x'\n", "missing or empty title, description, severity, sql, statement"),
    ("[[rule]\n", "not valid TOML"),
    (USER_RULES.replace('severity = "low"', 'severity = "urgent"'), "severity 'urgent'"),
    (USER_RULES.replace("[rule.params]", "colour = 1\n[rule.params]"), "unknown key(s) colour"),
    (USER_RULES + USER_RULES.replace("[[rule]]", "[[rule]]", 1), "declared twice"),
])
def test_bad_rules_files_name_the_file_and_the_rule(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError, match=r".*") as err:
        load_rules_file(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_failing_query_names_the_rule(tmp_path: Path):
    path = tmp_path / "rules.toml"
    path.write_text(USER_RULES.replace("FROM events", "FROM no_such_table"), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"rule #1 \(long_dark_periods\): the query failed"):
        evaluate(inputs([]), load_rules_file(path))
