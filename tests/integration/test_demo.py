"""`sanctionwatch demo` end to end: the simulated investigation reaches its findings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from sanctionwatch.demo.run import run_demo
from sanctionwatch.screening.screen import screening_results
from sanctionwatch.store import Project


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    run_demo(out, Console(file=buf, width=200))
    return out / "project", buf.getvalue()


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
