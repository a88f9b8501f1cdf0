"""`sanctionwatch demo` end to end: the simulated investigation reaches its findings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sanctionwatch.screening.screen import screening_results
from sanctionwatch.store import Project


@pytest.fixture(scope="module")
def demo(demo_dir: Path) -> tuple[Path, str]:
    return demo_dir / "project", (demo_dir / "demo-output.txt").read_text(encoding="utf-8")


def test_demo_counts_the_rajin_voyages(demo: tuple[Path, str]) -> None:
    _, text = demo
    assert "ANGARA: 12 voyages between Russian Far East ports and Rajin since 2023-08-01" in text


def test_demo_screening_finds_the_listed_ships_and_only_them(demo: tuple[Path, str]) -> None:
    project_dir, text = demo
    with Project.open(project_dir, read_only=True) as p:
        results = screening_results(p)
    got = {(r["mmsi"], r["list_name"], r["entry_id"], r["status"]) for r in results.iter_rows(named=True)}
    assert got == {
        (273210440, "ofac-sdn", "37059", "match"),       # ANGARA by IMO
        (273354180, "ofac-sdn", "46773", "match"),       # MARIA by IMO
        (273318650, "analyst-watchlist", "row-2", "match"),  # SIM VOLNA, renamed SIM VERA
        (671226100, "analyst-watchlist", "row-3", "match"),  # by MMSI
    }
    volna = results.filter(results["mmsi"] == 273318650).row(0, named=True)
    assert any("SIM VOLNA -> SIM VERA" in r for r in volna["reasons"])
    assert "Screening: AIS vessels matched to list entries" in text
    assert "M LEASING LLC" in text  # ANGARA's owner, from the network


def test_demo_imagery_matches_its_truth(demo: tuple[Path, str]) -> None:
    import json

    project_dir, text = demo
    truth = {t["detect_id"]: t for t in json.loads(
        (project_dir.parent / "inputs" / "imagery" / "truth.json").read_text(encoding="utf-8"))["detections"]}
    with Project.open(project_dir, read_only=True) as p:
        got = {r["detection_id"]: r for r in p.query("SELECT * FROM detection_matches").iter_rows(named=True)}
        seen = p.query("SELECT area_id FROM events WHERE basis = 'sighting' AND mmsi = 273210440 ORDER BY start_utc")
    assert set(got) == set(truth)
    for det_id, t in truth.items():
        if t["mmsi"] is None or t["ais_off"]:  # clutter, or a ship with its transponder off: nothing explains it
            assert got[det_id]["status"] == "dark_candidate", det_id
        else:
            assert (got[det_id]["status"], got[det_id]["mmsi"]) == ("matched", t["mmsi"]), det_id
    assert seen["area_id"].to_list() == ["rajin-port", "zhoushan-xinya-shipyard"]
    assert "Rail traffic: rail_cars at tumangang-khasan-rail-crossing: level rose" in " ".join(text.split())


def test_demo_findings_tell_the_story(demo: tuple[Path, str]) -> None:
    from sanctionwatch.findings.store import findings_frame

    project_dir, text = demo
    with Project.open(project_dir, read_only=True) as p:
        found = findings_frame(p)
    by_rule = {r: found.filter(found["rule"] == r) for r in found["rule"].unique()}
    assert set(by_rule) == {"sanctioned_vessel_at_watched_port", "voyages_between_groups", "ais_gap_near_watched_area",
                            "encounter_with_sanctioned_vessel", "identity_change_of_screened_vessel",
                            "dark_vessel_near_watched_port", "activity_anomaly_at_site"}
    voyages = {r["mmsis"][0]: r for r in by_rule["voyages_between_groups"].iter_rows(named=True)}
    angara = voyages[273210440]
    assert "made at least 12 voyages between" in angara["statement"] and "since 2023-08-01" in angara["statement"]
    assert "11 inferred from AIS gaps" in angara["statement"] and angara["severity"] == "high"
    # the ship seen dark at Rajin and at the Chinese shipyard, from the analyst's sightings
    ports = {a for r in by_rule["sanctioned_vessel_at_watched_port"].iter_rows(named=True) if r["mmsis"] == [273210440]
             for a in r["area_ids"]}
    assert {"rajin-port", "zhoushan-xinya-shipyard"} <= ports
    assert by_rule["dark_vessel_near_watched_port"].height == 3  # the three ship-size dark candidates
    assert any("rail_cars" in s and "level rose" in s for s in by_rule["activity_anomaly_at_site"]["statement"])
    assert "Findings" in text and "made at least 12 voyages" in text


def test_every_demo_finding_walks_back_to_its_input_lines(demo: tuple[Path, str]) -> None:
    """Each finding -> its events -> the raw records behind them: every reference is a real line
    of an input file, and an AIS line is about one of the finding's vessels."""
    import pyais

    from sanctionwatch.findings.evidence import flatten_refs, resolve_evidence
    from sanctionwatch.findings.store import finding_events, findings_frame

    project_dir, _ = demo
    with Project.open(project_dir, read_only=True) as p:
        found = findings_frame(p)
        assert found.height >= 10
        checked_ais = 0
        for f in found.iter_rows(named=True):
            assert f["evidence"], f["statement"]
            events = finding_events(p, f["finding_id"])
            assert sorted(events["event_id"].to_list()) == sorted(f["event_ids"])
            event_refs = flatten_refs(events["evidence"].to_list())
            finding_refs = flatten_refs([f["evidence"]])
            assert set(event_refs.iter_rows()) <= set(finding_refs.iter_rows())
            records = resolve_evidence(p, finding_refs)
            assert records["status"].to_list() == ["ok"] * records.height, records.filter(records["status"] != "ok")
            for r in records.filter(records["kind"] == "ais").iter_rows(named=True):
                line = r["text"]
                if "!AIVDM,1,1," in line:
                    msg = pyais.decode(line[line.index("!AIVDM"):])
                    assert msg.mmsi in f["mmsis"] or not f["mmsis"], (f["statement"], line)
                    checked_ais += 1
                elif r["format"] == "mapped_csv":
                    assert int(line.split(",")[0]) in f["mmsis"] or not f["mmsis"], (f["statement"], line)
                    checked_ais += 1
    assert checked_ais > 20


def test_demo_ends_with_its_report_and_says_how_to_open_and_serve_it(demo: tuple[Path, str]) -> None:
    project_dir, text = demo
    report = project_dir.parent / "report.html"
    html = report.read_text(encoding="utf-8")
    assert "made at least 12 voyages" in html and "SIMULATED" in html
    # self-contained: no tag loads anything remote (Leaflet's own attribution link is a JS string)
    assert not re.search(r"<(script|link|img|iframe|source)\b[^>]*\b(src|href)=[\"']?(https?:)?//", html, re.I)
    assert report.as_uri() in text and f"sanctionwatch serve {project_dir}" in text
