"""Imagery inputs: detections in the layouts pipelines publish, sightings, scene footprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from sanctionwatch.imagery.catalog import add_imagery, table_frame
from sanctionwatch.imagery.inputs import ImageryInputError, read_detections, read_scenes
from sanctionwatch.store import Project

runner = CliRunner()
FOOTPRINT = [[[130.0, 42.0], [130.8, 42.0], [130.8, 42.6], [130.0, 42.6], [130.0, 42.0]]]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def scenes_file(path: Path, stac: bool = False) -> Path:
    item = {"type": "Feature", "id": "S1A_RAJIN", "geometry": {"type": "Polygon", "coordinates": FOOTPRINT},
            "properties": {"datetime": "2023-10-05T21:12:03Z", "platform": "sentinel-1a"}}
    if stac:
        item["stac_version"] = "1.0.0"
        return write(path, json.dumps(item))
    return write(path, json.dumps({"type": "FeatureCollection", "features": [item]}))


GFW = """scene_id,detect_id,detect_lon,detect_lat,detect_timestamp,inferred_length_m,inferred_presence
S1A_RAJIN,S1A_RAJIN;130.31;42.24,130.31,42.24,2023-10-05T21:12:03Z,118,0.93
S1A_RAJIN,S1A_RAJIN;130.35;42.20,130.35,42.20,2023-10-05T21:12:03Z,40,0.71
S1A_RAJIN,bad,abc,42.2,2023-10-05T21:12:03Z,40,0.71
S1A_RAJIN,outside,131.5,42.2,2023-10-05T21:12:03Z,40,0.71
S1A_RAJIN,late,130.4,42.2,not a time,40,0.71
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project.init(tmp_path / "case")


def test_gfw_layout_with_footprints_quarantines_bad_records(project: Project, tmp_path: Path) -> None:
    add_imagery(project, scenes_file(tmp_path / "scenes.geojson"), "scenes")
    r = add_imagery(project, write(tmp_path / "gfw.csv", GFW), "detections")
    assert (r.layout, r.records_read, r.rows_kept) == ("gfw_sar", 5, 2)
    assert r.reasons == {"bad_position": 1, "outside_footprint": 1, "bad_timestamp": 1}
    det = table_frame(project, "detections").sort("record_no")
    assert det["detection_id"].to_list() == ["S1A_RAJIN;130.31;42.24", "S1A_RAJIN;130.35;42.20"]
    first = det.row(0, named=True)
    assert (first["length_m"], first["sensor"], first["record_no"]) == (118.0, "sentinel-1", 2)
    assert first["ts_utc"].isoformat() == "2023-10-05T21:12:03+00:00"
    q = project.query("SELECT record_no, reason FROM quarantine ORDER BY record_no").rows()
    assert q == [(4, "bad_position"), (5, "outside_footprint"), (6, "bad_timestamp")]
    again = add_imagery(project, tmp_path / "gfw.csv", "detections")
    assert again.already_added and table_frame(project, "detections").height == 2


def test_xview3_layout_takes_time_from_scenes(project: Project, tmp_path: Path) -> None:
    xv = write(tmp_path / "xv.csv", "detect_scene_row,detect_scene_column,scene_id,is_vessel,is_fishing,"
               "vessel_length_m,detect_lat,detect_lon\n100,200,S1A_RAJIN,True,False,110,42.25,130.30\n"
               "1,2,S1B_UNKNOWN,True,False,50,42.25,130.30\n")
    with pytest.raises(ImageryInputError, match="add the scenes' footprints first"):
        read_detections(xv)
    add_imagery(project, scenes_file(tmp_path / "item.json", stac=True), "scenes")
    r = add_imagery(project, xv, "detections")
    assert (r.layout, r.rows_kept, r.reasons) == ("xview3", 1, {"unknown_scene": 1})
    row = table_frame(project, "detections").row(0, named=True)
    assert row["ts_utc"].isoformat() == "2023-10-05T21:12:03+00:00" and row["length_m"] == 110.0


def test_geojson_points_mapping_and_sightings(project: Project, tmp_path: Path) -> None:
    pts = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [122.10, 29.98]},
         "properties": {"time": "2024-02-20T02:00:00+08:00", "length": 120}}]}
    r = add_imagery(project, write(tmp_path / "optical.geojson", json.dumps(pts)), "detections")
    row = table_frame(project, "detections").row(0, named=True)
    assert r.layout == "generic" and row["ts_utc"].isoformat() == "2024-02-19T18:00:00+00:00"
    assert (row["lat_deg"], row["lon_deg"], row["record_no"]) == (29.98, 122.10, 1)
    mapping = write(tmp_path / "m.yaml", "columns: {ts_utc: when, lat_deg: y, lon_deg: x, length_m: len}\n"
                    "timezone: Asia/Shanghai\nsensor: planet\n")
    r = add_imagery(project, write(tmp_path / "mine.csv", "when,y,x,len\n2024-02-20 10:00:00,29.9,122.1,95\n"),
                    "detections", mapping=mapping)
    mine = table_frame(project, "detections").filter(table_frame(project, "detections")["sensor"] == "planet")
    assert r.layout == "mapping" and mine["ts_utc"][0].isoformat() == "2024-02-20T02:00:00+00:00"
    s = add_imagery(project, write(tmp_path / "s.csv", "time,lat,lon,name,imo,image_ref,confidence,note\n"
                                   "2024-02-20T02:00:00Z,29.98,122.10,ANGARA,IMO 9179842,planet-0220,0.8,berthed\n"),
                    "sightings")
    sight = table_frame(project, "sightings").row(0, named=True)
    assert s.rows_kept == 1 and (sight["claimed_imo"], sight["claimed_name"]) == (9179842, "ANGARA")


def test_clear_errors(project: Project, tmp_path: Path) -> None:
    with pytest.raises(ImageryInputError, match=r"naive\.csv: timestamp .* has no time zone"):
        add_imagery(project, write(tmp_path / "naive.csv", "time,lat,lon\n2023-10-05 21:12:03,42.2,130.3\n"),
                    "detections")
    with pytest.raises(ImageryInputError, match=r"cols\.csv:1: unrecognised columns"):
        add_imagery(project, write(tmp_path / "cols.csv", "a,b\n1,2\n"), "detections")
    with pytest.raises(ImageryInputError, match=r"broken\.geojson:3: invalid JSON"):
        read_scenes(write(tmp_path / "broken.geojson", '{"type": "FeatureCollection",\n"features": [\n{,]}'))
    bad_scene = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "S1", "properties": {"datetime": "2023-10-05T21:12:03"},
         "geometry": {"type": "Polygon", "coordinates": FOOTPRINT}}]}
    with pytest.raises(ImageryInputError, match="has no time zone"):
        read_scenes(write(tmp_path / "naive_scene.geojson", json.dumps(bad_scene)))
    assert table_frame(project, "detections").height == 0


def test_crash_before_commit_adds_nothing(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    scenes = scenes_file(tmp_path / "scenes.geojson")
    proc = subprocess.run([sys.executable, "-m", "sanctionwatch.cli", "scenes", "add", str(tmp_path / "p"),
                           str(scenes)], env={**os.environ, "SANCTIONWATCH_CRASH_AT": "imagery_before_commit"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137
    with Project.open(tmp_path / "p") as p:
        assert table_frame(p, "scenes").height == 0
        assert add_imagery(p, scenes, "scenes").rows_kept == 1


def test_cli(project: Project, tmp_path: Path) -> None:
    case = str(project.path)
    project.close()
    r = runner.invoke(app, ["scenes", "add", case, str(scenes_file(tmp_path / "scenes.geojson"))])
    assert r.exit_code == 0 and "geojson" in r.output
    r = runner.invoke(app, ["detections", "add", case, str(write(tmp_path / "gfw.csv", GFW))])
    assert r.exit_code == 0 and "outside_footprint 1" in r.output
    r = runner.invoke(app, ["detections", "add", case, str(write(tmp_path / "n.csv", "time,lat,lon\n2023-10-05 21:00,1,2\n"))])
    assert r.exit_code == Exit.INPUT and "n.csv" in r.output


def test_counts_and_activity_cli(project: Project, tmp_path: Path) -> None:
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(5)
    lines = ["site,date,count,category,period"]
    for week in range(40):
        day = dt.date(2023, 3, 6) + dt.timedelta(weeks=week)
        lines.append(f"tumangang-khasan-rail-crossing,{day},{rng.poisson(12 if week < 26 else 45)},rail_cars,week")
    counts = write(tmp_path / "rail.csv", "\n".join(lines) + "\n")
    case = str(project.path)
    project.close()
    r = runner.invoke(app, ["counts", "add", case, str(counts)])
    assert r.exit_code == 0 and "40 counts added" in r.output
    r = runner.invoke(app, ["counts", "add", case, str(counts)])
    assert "0 counts added, 40 already stored" in r.output
    bad = write(tmp_path / "bad.csv", "site,date,count,category\nx,2023-09-04,12,rail_cars\nx,2023-09-11,-3,rail_cars\n")
    r = runner.invoke(app, ["counts", "add", case, str(bad)])
    assert r.exit_code == Exit.INPUT and "bad.csv:3" in r.output
    r = runner.invoke(app, ["activity", case, "--site", "tumangang-khasan-rail-crossing"])
    assert r.exit_code == 0, r.output
    assert "changepoint" in r.output and "spike" in r.output
    from sanctionwatch.imagery.site import site_activity

    with Project.open(case, read_only=True) as p:
        found = site_activity(p, "tumangang-khasan-rail-crossing").anomalies
    change = found.filter(found["kind"] == "changepoint").row(0, named=True)
    assert change["period_start_utc"].date() == dt.date(2023, 9, 4)  # week 26 of the series
    first_spike = found.filter(found["kind"] == "spike").row(0, named=True)
    assert first_spike["is_record"] and "the highest since the series began (2023-03-06)" in first_spike["statement"]
    r = runner.invoke(app, ["activity", case, "--site", "x"])
    assert r.exit_code == Exit.FAILED and "no counts" in r.output  # the bad file added nothing
