"""The command line as a user drives it: every command, its help, its errors and exit codes."""

from __future__ import annotations

import json

import geopandas
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from tests.builders import write_noaa

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "case"
    assert invoke("init", str(d)).exit_code == 0
    src = write_noaa(tmp_path / "noaa.csv", 200, extra="12345,2023-09-01T01:00:00,42,131,1,1,1,X,,,,,,,,,A\n")
    res = invoke("ingest", str(d), str(src))
    assert res.exit_code == 0, res.output
    return d


COMMANDS = ["init", "ingest", "status", "vessels", "vessel", "run", "events", "voyages", "export", "settings",
            "findings", "evidence", "rules", "export-findings", "report", "dossier", "serve",
            "version", "areas",
            "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    res = invoke(command, "--help")
    assert res.exit_code == 0
    assert "Example" in res.output, f"`{command} --help` shows no example"


def test_ingest_summary_and_status(project):
    res = invoke("status", str(project))
    assert res.exit_code == 0
    assert "positions" in res.output and "200" in res.output
    assert "Vessels (MMSIs with positions): 10" in res.output
    assert "2023-09-01 00:00 to 2023-09-01 00:19 UTC" in res.output


def test_ingest_prints_counts_and_reasons(tmp_path):
    d = tmp_path / "p"
    invoke("init", str(d))
    src = write_noaa(tmp_path / "a.csv", 30, extra="273000001,2023-09-01T01:00:00,91,181,1,1,1,X,,,,,,,,,A\n")
    res = invoke("ingest", str(d), str(src))
    assert res.exit_code == 0
    assert "position_not_available" in res.output and "a.csv" in res.output
    again = invoke("ingest", str(d), str(src))
    assert "already ingested" in again.output


def test_vessels_and_vessel_by_mmsi_and_imo(project):
    res = invoke("vessels", str(project), "--name", "ship 3")
    assert res.exit_code == 0 and "273000003" in res.output and "273000004" not in res.output
    one = invoke("vessel", str(project), "273000003")
    assert one.exit_code == 0
    assert "SHIP 3" in one.output and "noaa.csv:" in one.output and "20 positions" in one.output
    by_imo = invoke("vessel", str(project), "IMO 9179842")
    assert by_imo.exit_code == 0 and all(f"27300000{i}" in by_imo.output for i in range(10))
    assert invoke("vessel", str(project), "42").exit_code == Exit.USAGE


def test_export_three_formats(project, tmp_path):
    for name in ("p.parquet", "p.csv", "p.geojson"):
        res = invoke("export", str(project), "-o", str(tmp_path / name), "--mmsi", "273000001",
                     "--since", "2023-09-01T00:05Z")
        assert res.exit_code == 0 and "Wrote 15 positions" in res.output
    gdf = geopandas.read_parquet(tmp_path / "p.parquet")
    assert len(gdf) == 15 and gdf.crs.to_string() == "OGC:CRS84"
    assert gdf.geometry.x.iloc[0] == pytest.approx(gdf["lon_deg"].iloc[0])
    meta = pq.read_metadata(tmp_path / "p.parquet").metadata
    assert b"sanctionwatch.params_id" in meta and b"geo" in meta
    fc = json.loads((tmp_path / "p.geojson").read_text())
    assert len(fc["features"]) == 15 and fc["features"][0]["properties"]["record_no"] >= 2
    assert (tmp_path / "p.csv").read_text().count("\n") == 16
    assert invoke("export", str(project), "-o", str(tmp_path / "x.txt")).exit_code == Exit.USAGE


def test_errors_have_exit_codes_and_one_line_messages(tmp_path, project):
    res = invoke("status", str(tmp_path / "nowhere"))
    assert res.exit_code == Exit.PROJECT and "not a sanctionwatch project" in res.output
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    res = invoke("ingest", str(project), str(bad))
    assert res.exit_code == Exit.INPUT and "notes.txt:1: cannot tell the format" in res.output
    res = invoke("ingest", str(project), str(bad), "--set", "nonsense=1")
    assert res.exit_code == Exit.CONFIG and "unknown setting" in res.output


def test_settings_and_version():
    assert "ingest.chunk_rows" in invoke("settings").output
    assert invoke("settings", "--markdown").output.startswith("# Settings")
    assert "pyais" in invoke("version", "--full").output
