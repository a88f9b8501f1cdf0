"""Screening end to end: lists in a project (versions, history), screening runs, the network, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from sanctionwatch.ingest.pipeline import ingest_file
from sanctionwatch.screening.catalog import add_list, current_entries, list_history, lists_summary
from sanctionwatch.screening.lists.base import ListError
from sanctionwatch.screening.network import build_graph, find_nodes, neighbourhood, separation
from sanctionwatch.screening.screen import screen_project, screening_results
from sanctionwatch.store import Project
from tests.builders import NOAA_HEADER
from tests.conftest import TEST_DATA, shared_file

OFAC = TEST_DATA / "sanctions" / "ofac" / "sdn.csv"
runner = CliRunner()


def write_ais(path: Path, vessels: list[tuple[int, str, str, str]], day: str = "2024-03-01") -> Path:
    """A MarineCadastre CSV: per vessel (mmsi, name, 'IMO#######' or '', call sign), 30 fixes a minute apart."""
    t0 = dt.datetime.fromisoformat(day + "T00:00:00")
    with path.open("w", encoding="utf-8") as fh:
        fh.write(NOAA_HEADER)
        for k, (mmsi, name, imo, cs) in enumerate(vessels):
            for i in range(30):
                t = (t0 + dt.timedelta(minutes=i)).isoformat()
                fh.write(f"{mmsi},{t},{42.0 + k * 0.1 + i * 1e-4:.5f},{132.0 + i * 1e-4:.5f},10.0,90.0,90,"
                         f"{name},{imo},{cs},70,0,120,20,6.0,,A\n")
    return path


VESSELS = [
    (273210440, "ANGARA", "IMO9179842", "UBYT2"),     # the sanctioned ship, by IMO
    (613000001, "ANGARA", "IMO9179842", ""),          # the same IMO under a new (Cameroon) MMSI
    (273999999, "MARIA", "IMO9074729", ""),           # same name as a sanctioned ship, another valid IMO
    (273888888, "NEPTUN", "", ""),                    # MAIA-1's former name (OFAC alt.csv fka)
    (273777777, "LADY R", "IMO9161004", ""),          # wrong check digit: flagged, caught by name + flag
    (538000001, "OCEAN STAR", "IMO9074729", ""),      # nothing to do with any list
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.init(tmp_path / "case")
    ingest_file(p, write_ais(tmp_path / "ais.csv", VESSELS))
    return p


def _by_mmsi(df: pl.DataFrame) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for r in df.iter_rows(named=True):
        out.setdefault(r["mmsi"], []).append(r)
    return out


def test_screen_against_real_ofac_list(project: Project) -> None:
    report = add_list(project, OFAC)
    assert (report.list_name, report.format, report.n_entries, report.n_vessels) == ("ofac-sdn", "ofac_csv", 14965, 851)
    assert report.as_of_basis == "mtime"  # the legacy CSV states no date
    again = add_list(project, OFAC)
    assert again.already_loaded and again.list_id == report.list_id
    assert current_entries(project).height == 14965

    run = screen_project(project)
    assert run.full and run.vessels_screened == len(VESSELS)
    results = _by_mmsi(screening_results(project))
    angara = results[273210440][0]
    assert (angara["entry_id"], angara["status"]) == ("37059", "match")
    assert angara["score"] == pytest.approx(1.0)
    assert "IMO 9179842" in angara["reasons"][0]
    assert {"source_id", "record_no"} <= set(angara["evidence"][0])
    new_mmsi = results[613000001][0]
    assert new_mmsi["entry_id"] == "37059" and new_mmsi["status"] == "match"
    assert 273999999 not in results or all(r["entry_id"] != "46773" for r in results[273999999])
    neptun = [r for r in results[273888888] if r["entry_id"] == "37098"]
    assert neptun and neptun[0]["status"] == "match"
    assert any("former name 'NEPTUN'" in x for x in neptun[0]["reasons"])
    lady_r = next(r for r in results[273777777] if r["entry_id"] == "37095")
    assert any("fails the check digit" in x for x in lady_r["reasons"])
    assert 538000001 not in results

    # Idempotent: a second run with nothing new changes nothing; new data re-screens only new vessels.
    before = screening_results(project)
    again_run = screen_project(project)
    assert not again_run.full and again_run.vessels_screened == 0
    assert screening_results(project).equals(before)


def test_incremental_screen_only_touches_new_vessels(project: Project, tmp_path: Path) -> None:
    add_list(project, OFAC)
    screen_project(project)
    ingest_file(project, write_ais(tmp_path / "more.csv", [(273555555, "MARIA", "IMO8517839", "UBRH7")],
                                   day="2024-03-05"))
    run = screen_project(project)
    assert not run.full and run.vessels_screened == 1
    results = _by_mmsi(screening_results(project))
    assert results[273555555][0]["entry_id"] == "46773"
    assert results[273210440][0]["entry_id"] == "37059"  # earlier results kept
    full = screen_project(project, full=True)
    assert full.full and screening_results(project).height == sum(len(v) for v in results.values())


def test_list_versions_date_delistings(project: Project, tmp_path: Path) -> None:
    v1 = tmp_path / "v1.csv"
    v1.write_text("name,imo,mmsi,note\nNEPTUN,,,watch\nOCEAN STAR,9074729,,cleared later\n", encoding="utf-8")
    v2 = tmp_path / "v2.csv"
    v2.write_text("name,imo,mmsi,note\nNEPTUN,,,watch\n", encoding="utf-8")
    add_list(project, v1, name="desk", as_of=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    add_list(project, v2, name="desk", as_of=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    hist = {r["name"]: r for r in list_history(project, "desk").iter_rows(named=True)}
    assert hist["NEPTUN"]["entry_status"] == "listed"
    assert hist["OCEAN STAR"]["entry_status"] == "delisted"
    assert hist["OCEAN STAR"]["delisted_on_utc"] == dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    assert hist["OCEAN STAR"]["listed_from_utc"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    screen_project(project)
    star = _by_mmsi(screening_results(project))[538000001][0]
    assert star["entry_status"] == "delisted" and any("delisted" in r for r in star["reasons"])


def test_bad_list_loads_nothing(project: Project, tmp_path: Path) -> None:
    bad = tmp_path / "sdn.csv"
    lines = OFAC.read_bytes().split(b"\r\n")
    bad.write_bytes(b"\r\n".join([*lines[:500], b'99999,"BROKEN ROW","vessel"', *lines[500:600]]))
    with pytest.raises(ListError, match=r"sdn\.csv:501"):
        add_list(project, bad)
    assert current_entries(project).height == 0
    assert lists_summary(project).height == 0


def test_crash_before_commit_leaves_no_list(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    proc = subprocess.run([sys.executable, "-m", "sanctionwatch.cli", "lists", "add", str(tmp_path / "p"), str(OFAC)],
                          env={**os.environ, "SANCTIONWATCH_CRASH_AT": "list_before_commit"}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 137
    with Project.open(tmp_path / "p") as p:
        assert current_entries(p).height == 0
        assert add_list(p, OFAC).n_entries == 14965


def test_network_links_vessel_owner_and_ais(project: Project) -> None:
    add_list(project, OFAC)
    screen_project(project)
    g = build_graph(project)
    angara = find_nodes(g, "9179842")
    assert angara == ["entry:ofac-sdn:37059"]
    near = {n.node: n for n in neighbourhood(g, angara, 2)}
    assert near["entry:ofac-sdn:37065"].name == "M LEASING LLC" and near["entry:ofac-sdn:37065"].hops == 1
    assert "entry:ofac-sdn:37057" in near  # ADLER, another M LEASING ship, two steps away
    assert near["mmsi:273210440"].via == "screened_as"
    sep = separation(g)
    assert sep["entry:ofac-sdn:37059"][0] == 0
    assert sep["mmsi:273210440"][0] == 1
    assert "mmsi:538000001" not in g  # unmatched AIS vessels are not in the network


def test_cli_lists_screen_network(project: Project, tmp_path: Path) -> None:
    case = str(project.path)
    project.close()
    r = runner.invoke(app, ["lists", "add", case, str(OFAC)])
    assert r.exit_code == 0, r.output
    assert "14,965 entries, 851 vessels" in r.output
    r = runner.invoke(app, ["lists", "list", case])
    assert r.exit_code == 0 and "ofac-sdn" in r.output
    r = runner.invoke(app, ["lists", "history", case, "--vessels", "--limit", "5"])
    assert r.exit_code == 0 and "Vessel" in r.output
    out = tmp_path / "matches.csv"
    r = runner.invoke(app, ["screen", case, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "ANGARA" in r.output and "IMO 9179842" in r.output
    csv = pl.read_csv(out)
    assert {"mmsi", "entry_id", "score", "reasons", "evidence"} <= set(csv.columns)
    assert csv.filter(pl.col("mmsi") == 273210440)["entry_id"].cast(pl.String).to_list()[0] == "37059"
    r = runner.invoke(app, ["network", case, "M LEASING LLC", "--depth", "1"])
    assert r.exit_code == 0 and "ANGARA" in r.output and "ADLER" in r.output
    graphml = tmp_path / "net.graphml"
    r = runner.invoke(app, ["network", case, "-o", str(graphml)])
    assert r.exit_code == 0, r.output
    g = nx.read_graphml(graphml)
    assert g.nodes["entry:ofac-sdn:37059"]["name"] == "ANGARA"
    js = tmp_path / "net.json"
    assert runner.invoke(app, ["network", case, "9179842", "-o", str(js)]).exit_code == 0
    assert any(n["id"] == "entry:ofac-sdn:37065" for n in json.loads(js.read_text())["nodes"])
    bad = tmp_path / "nonsense.txt"
    bad.write_text("hello\nworld\n", encoding="utf-8")
    r = runner.invoke(app, ["lists", "add", case, str(bad)])
    assert r.exit_code == Exit.INPUT and "nonsense.txt" in r.output


@pytest.mark.shared
def test_ofac_and_eu_lists_agree_on_the_scenario_ships(project: Project) -> None:
    """The EU Annex XLII (CC-BY-NC, read from ../shared) lists the same ships by IMO: both lists match,
    and the network joins the two entries of one ship (same valid IMO) at no cost."""
    eu = shared_file("sanctions/eu/32014R0833.csv")
    add_list(project, OFAC)
    loaded = add_list(project, eu)
    assert loaded.list_name == "eu-32014R0833" and loaded.n_vessels == 633
    screen_project(project)
    results = _by_mmsi(screening_results(project, status="match"))
    assert {r["list_name"] for r in results[273210440]} == {"ofac-sdn", "eu-32014R0833"}
    eu_angara = next(r for r in results[273210440] if r["list_name"] == "eu-32014R0833")
    assert eu_angara["entry_name"].upper() == "ANGARA" and eu_angara["score"] == pytest.approx(1.0)
    g = build_graph(project)
    nodes = find_nodes(g, "IMO 9179842")
    assert len(nodes) == 2 and {g.nodes[n]["list_name"] for n in nodes} == {"ofac-sdn", "eu-32014R0833"}
    assert any(d["relation"] == "same_as" for d in g.get_edge_data(*nodes).values())
    # the EU entry is one step from M LEASING LLC through the OFAC entry it is the same ship as
    near = {n.node: n for n in neighbourhood(g, [n for n in nodes if "eu-" in n], 1)}
    assert near["entry:ofac-sdn:37065"].hops == 1
