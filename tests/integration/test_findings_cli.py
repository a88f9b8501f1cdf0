"""`sanctionwatch findings / evidence / rules` on the demo project, and their errors."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import app
from sanctionwatch.store import Project

runner = CliRunner()


def _copy(demo_dir: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo_dir / "project", tmp_path / "project")
    return tmp_path / "project"


def test_findings_runs_the_rules_and_a_rerun_adds_nothing(demo_dir: Path, tmp_path: Path):
    project = _copy(demo_dir, tmp_path)
    with Project.open(project, read_only=True) as p:
        before = p.query("SELECT finding_id FROM findings ORDER BY 1")["finding_id"].to_list()
    result = runner.invoke(app, ["findings", str(project), "--min-severity", "high"])
    assert result.exit_code == 0, result.output
    assert f"{len(before)} findings from 7 rules" in result.output
    with Project.open(project, read_only=True) as p:
        after = p.query("SELECT finding_id FROM findings ORDER BY 1")["finding_id"].to_list()
    assert after == before  # deterministic ids: the same findings, not twice


def test_a_project_rules_file_adds_findings_and_a_bad_one_is_a_usage_error(demo_dir: Path, tmp_path: Path):
    project = _copy(demo_dir, tmp_path)
    rules = tmp_path / "mine.toml"
    rules.write_text('''
[[rule]]
name = "long_gaps_of_listed_ships"
title = "Long gap"
description = "A sanctioned vessel dark for more than a day."
severity = "medium"
statement = "{vessel} was dark for {hours:.0f} h from {start_utc:%Y-%m-%d}."
sql = """
SELECT e.mmsi, e.start_utc, e.end_utc, [e.event_id] AS event_ids,
       CAST(json_extract(e.attrs_json, '$.duration_h') AS DOUBLE) AS hours
FROM events e JOIN sanctioned s USING (mmsi)
WHERE e.event_type = 'ais_gap' AND CAST(json_extract(e.attrs_json, '$.duration_h') AS DOUBLE) > $hours
"""
[rule.params]
hours = 24
''', encoding="utf-8")
    result = runner.invoke(app, ["findings", str(project), "--rules", str(rules), "--rule", "long_gaps_of_listed_ships"])
    assert result.exit_code == 0, result.output
    with Project.open(project, read_only=True) as p:
        mine = p.query("SELECT statement, evidence FROM findings WHERE rule = 'long_gaps_of_listed_ships'")
        others = p.query("SELECT count(*) FROM findings WHERE rule <> 'long_gaps_of_listed_ships'").item()
    assert mine.height > 0 and all("was dark for" in s for s in mine["statement"])
    assert all(len(e) > 0 for e in mine["evidence"])
    assert others > 0  # --rule replaced only that rule's findings
    rules.write_text("[[rule]]\nname = 'x'\nseverity = 'nope'\n", encoding="utf-8")
    bad = runner.invoke(app, ["findings", str(project), "--rules", str(rules)])
    assert bad.exit_code == 2 and "mine.toml" in bad.output and "missing or empty" in bad.output


def test_evidence_shows_the_raw_lines_and_rules_lists_the_settings(demo_dir: Path):
    project = demo_dir / "project"
    with Project.open(project, read_only=True) as p:
        fid = p.query("SELECT finding_id FROM findings WHERE rule = 'voyages_between_groups' "
                      "AND list_contains(mmsis, 273210440)").item()
    result = runner.invoke(app, ["evidence", str(project), fid[:8]], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "made at least 12 voyages" in result.output and "!AIVDM" in result.output
    assert ".nmea:" in result.output  # file:line of each raw record
    missing = runner.invoke(app, ["evidence", str(project), "zzzz"])
    assert missing.exit_code == 2 and "0 findings have an id starting with 'zzzz'" in missing.output
    listed = runner.invoke(app, ["rules", str(project)], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and "findings.voyage_since = '2023-08-01'" in listed.output


def test_installed_plugins_add_rules_through_an_entry_point(demo_dir: Path, tmp_path: Path, monkeypatch):
    """A package declaring `[project.entry-points."sanctionwatch.rules"]` adds rules like the built-ins."""
    import importlib.metadata as md

    from sanctionwatch.findings.engine import PLUGIN_GROUP, RuleFileError, project_rules, run_findings
    from sanctionwatch.findings.rules import Draft, Rule

    def loitering_of_anyone(inputs):  # a third party's rule: every loitering event is a finding
        rows = inputs.events.filter(inputs.events["event_type"] == "loitering")
        return [Draft(statement=f"{inputs.label(r['mmsi'])} loitered", title="Loitering", start_utc=r["start_utc"],
                      end_utc=r["end_utc"], mmsis=[r["mmsi"]], area_ids=[], event_ids=[r["event_id"]],
                      confidence=0.5, confidence_reason="observed in AIS", key=r["event_id"])
                for r in rows.iter_rows(named=True)]

    rule = Rule("loitering_of_anyone", "Loitering", "Every loitering event.", "info", (), loitering_of_anyone)
    module = type(sys)("sw_plugin_example")
    module.RULES = [rule]
    monkeypatch.setitem(sys.modules, "sw_plugin_example", module)
    good = md.EntryPoint("example", "sw_plugin_example:RULES", PLUGIN_GROUP)
    monkeypatch.setattr(md, "entry_points", lambda group=None: [good] if group == PLUGIN_GROUP else [])
    project = _copy(demo_dir, tmp_path)
    with Project.open(project) as p:
        assert [r.origin for r in project_rules(p) if r.name == "loitering_of_anyone"] == ["plugin example"]
        run_findings(p)
        found = p.query("SELECT statement, evidence FROM findings WHERE rule = 'loitering_of_anyone'")
        n_loitering = p.query("SELECT count(*) FROM events WHERE event_type = 'loitering'").item()
    assert found.height == n_loitering > 0 and all(len(e) > 0 for e in found["evidence"])
    broken = md.EntryPoint("broken", "no_such_module_xyz:RULES", PLUGIN_GROUP)
    monkeypatch.setattr(md, "entry_points", lambda group=None: [broken] if group == PLUGIN_GROUP else [])
    with Project.open(project, read_only=True) as p, pytest.raises(RuleFileError, match="rules plugin broken"):
        project_rules(p)


def test_activity_at_every_watched_area_when_the_setting_is_empty(demo_dir: Path, tmp_path: Path):
    """With findings.watched_groups empty, every watched area's AIS presence is scanned too: ANGARA and
    MARIA stop calling at the Dunai naval pier in late October (the scenario), a level change."""
    project = _copy(demo_dir, tmp_path)
    result = runner.invoke(app, ["findings", str(project), "--rule", "activity_anomaly_at_site",
                                 "--set", "findings.watched_groups="])
    assert result.exit_code == 0, result.output
    with Project.open(project, read_only=True) as p:
        found = p.query("SELECT * FROM findings WHERE rule = 'activity_anomaly_at_site' ORDER BY start_utc")
    dunai = found.filter(found["area_ids"].list.contains("dunai-naval-pier"))
    assert dunai.height == 1
    row = dunai.row(0, named=True)
    assert "ships_in_port" in row["statement"] and "level fell" in row["statement"]
    assert "AIS off" in row["confidence_reason"] and row["event_ids"] and row["evidence"]
    # the demo's own setting (DPRK ports and Chinese shipyards) keeps to the rail crossing's counts
    with Project.open(demo_dir / "project", read_only=True) as p:
        sites = p.query("SELECT DISTINCT unnest(area_ids) AS a FROM findings WHERE rule = 'activity_anomaly_at_site'")
    assert sites["a"].to_list() == ["tumangang-khasan-rail-crossing"]
