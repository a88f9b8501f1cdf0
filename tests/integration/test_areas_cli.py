"""`sanctionwatch areas add/list`, project areas in `run`, and the GeoJSON export of events."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from tests.integration.test_run import VOSTOCHNY, write_track

runner = CliRunner()
MID_ATLANTIC = (10.0, -30.0)  # far from every packaged area and WPI port


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def one_line(output: str) -> str:
    return " ".join(output.split())


def area_file(path: Path, *features: dict) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return path


def point(area_id: str, lat: float, lon: float, radius_m: float = 3000, groups: tuple[str, ...] = ()) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"area_id": area_id, "name": area_id.title(), "kind": "port", "radius_m": radius_m,
                           "groups": list(groups)}}


@pytest.fixture
def project(tmp_path) -> Path:
    d = tmp_path / "case"
    assert invoke("init", str(d)).exit_code == 0
    return d


def test_add_then_list_shows_project_and_default_areas(project, tmp_path):
    f = area_file(tmp_path / "atlantic.geojson", point("test-port", *MID_ATLANTIC, groups=("test_ports", "demo_x")))
    res = invoke("areas", "add", str(project), str(f))
    assert res.exit_code == 0, res.output
    assert (project / "areas" / "atlantic.geojson").is_file()
    out = one_line(invoke("areas", "list", str(project)).output)
    assert "test-port" in out and "test_ports, demo_x" in out and "areas/atlantic.geojson" in out
    assert "rajin-port" in out and "dprk_ports" in out  # packaged defaults still listed


@pytest.mark.parametrize("doc, message", [
    ({"type": "FeatureCollection", "features": []}, "has no features"),
    ({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"area_id": "bad"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}]}, "feature 0"),
])
def test_invalid_file_exits_3_and_writes_nothing(project, tmp_path, doc, message):
    f = tmp_path / "broken.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    res = invoke("areas", "add", str(project), str(f))
    assert res.exit_code == Exit.INPUT
    out = one_line(res.output)
    assert "broken.geojson" in out and message in out
    assert not (project / "areas").exists() or not any((project / "areas").iterdir())


def test_duplicate_area_id_across_files_is_refused(project, tmp_path):
    a = area_file(tmp_path / "a.geojson", point("dup-port", *MID_ATLANTIC))
    b = area_file(tmp_path / "b.geojson", point("other", 11.0, -31.0), point("dup-port", 12.0, -32.0))
    assert invoke("areas", "add", str(project), str(a)).exit_code == 0
    res = invoke("areas", "add", str(project), str(b))
    assert res.exit_code == Exit.INPUT
    assert "area_id 'dup-port' is already defined in" in one_line(res.output)
    assert sorted(p.name for p in (project / "areas").iterdir()) == ["a.geojson"]
    # The same name twice is refused too, rather than silently overwriting.
    res = invoke("areas", "add", str(project), str(area_file(tmp_path / "c.geojson", point("c", 1, 1))),
                 "--name", "a")
    assert res.exit_code == Exit.INPUT and "already exists" in one_line(res.output)


def test_project_area_gives_a_port_visit_and_events_export_geojson(project, tmp_path):
    t0 = dt.datetime(2023, 9, 1)
    stop = write_track(tmp_path / "stop.csv", 273000001, t0, [(*MID_ATLANTIC, 6 * 60), (9.8, -30.2, 120)])
    berth = write_track(tmp_path / "berth.csv", 273000002, t0, [(*VOSTOCHNY, 6 * 60), (42.55, 132.8, 120)])
    d = str(project)
    assert invoke("ingest", d, str(stop), str(berth)).exit_code == 0
    assert invoke("run", d).exit_code == 0
    res = invoke("events", d, "--type", "port_visit", "--vessel", "273000001")
    assert "Events (0 of 0)" in res.output  # the default areas know no port there

    f = area_file(tmp_path / "atlantic.geojson", point("test-port", *MID_ATLANTIC, groups=("test_ports",)))
    assert invoke("areas", "add", d, str(f)).exit_code == 0
    assert invoke("run", d).exit_code == 0  # a new area file alone makes the run re-compute
    res = invoke("events", d, "--type", "port_visit", "--area", "test-port")
    assert res.exit_code == 0 and "Events (1 of 1)" in res.output and "273000001" in res.output

    out = tmp_path / "visits.geojson"
    res = invoke("events", d, "--type", "port_visit", "-o", str(out))
    assert res.exit_code == 0 and "Wrote 2 events" in res.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and set(fc["sanctionwatch"]) == {"version", "params_id"}
    assert len(fc["features"]) == 2
    by_area = {f["properties"]["area_id"]: f for f in fc["features"]}
    assert set(by_area) == {"test-port", "vostochny-port"}
    feat = by_area["test-port"]
    props = feat["properties"]
    assert feat["geometry"]["type"] == "Point"
    assert feat["geometry"]["coordinates"] == [props["lon_deg"], props["lat_deg"]]
    assert feat["geometry"]["coordinates"] == pytest.approx([MID_ATLANTIC[1], MID_ATLANTIC[0]], abs=0.05)
    assert props["mmsi"] == 273000001 and isinstance(props["attrs"], dict) and props["attrs"]
    assert "attrs_json" not in props
    assert props["evidence"] and all(re.fullmatch(r"[0-9a-f]{16}:\d+", e) for e in props["evidence"])
    start = dt.datetime.fromisoformat(props["start_utc"])
    assert start.utcoffset() == dt.timedelta(0) and start.date() == dt.date(2023, 9, 1)
    assert not list(tmp_path.glob(".visits.geojson*"))  # no temp file left behind

    # Events without coordinates get a null geometry; the existing formats still work.
    everything = tmp_path / "all.geojson"
    assert invoke("events", d, "-o", str(everything)).exit_code == 0
    feats = json.loads(everything.read_text(encoding="utf-8"))["features"]
    assert all(f["geometry"] is None for f in feats if f["properties"]["lat_deg"] is None)
    assert invoke("events", d, "-o", str(tmp_path / "all.csv")).exit_code == 0
    assert invoke("events", d, "-o", str(tmp_path / "all.txt")).exit_code == Exit.USAGE
