"""`sanctionwatch sar detect` end to end: a generated SAR scene into a project, then `match`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from sanctionwatch.imagery.catalog import table_frame
from sanctionwatch.store import Project
from tests.unit.test_cfar import ship_scene

runner = CliRunner()


def test_sar_detect_into_project_and_file(tmp_path: Path) -> None:
    scene, truth = ship_scene(tmp_path, np.random.default_rng(11), nu=2.0, scr=100.0)
    Project.init(tmp_path / "case").close()
    case = str(tmp_path / "case")
    out = tmp_path / "ships.geojson"
    r = runner.invoke(app, ["sar", "detect", str(scene), "--time", "2023-10-12T21:40:05Z", "--project", case,
                            "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Stored 16 detections" in r.output
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(feats) == len(truth) == 16
    with Project.open(case, read_only=True) as p:
        det, scenes = table_frame(p, "detections"), table_frame(p, "scenes")
    assert det.height == 16 and set(det["sensor"]) == {"cfar"} and scenes.height == 1
    assert det["ts_utc"][0].isoformat() == "2023-10-12T21:40:05+00:00"
    # the same GeoTIFF again adds nothing; with no AIS at all every detection is a dark candidate
    r = runner.invoke(app, ["sar", "detect", str(scene), "--time", "2023-10-12T21:40:05Z", "--project", case])
    assert "nothing added" in r.output
    r = runner.invoke(app, ["match", case])
    assert r.exit_code == 0 and "16 dark_candidate" in r.output


def test_sar_detect_clear_errors(tmp_path: Path) -> None:
    scene, _ = ship_scene(tmp_path, np.random.default_rng(1), nu=2.0, scr=100.0)
    r = runner.invoke(app, ["sar", "detect", str(scene), "--time", "2023-10-12T21:40:05"])
    assert r.exit_code == Exit.USAGE and "no time zone" in r.output
    r = runner.invoke(app, ["sar", "detect", str(tmp_path / "missing.tif"), "--time", "2023-10-12T21:40:05Z"])
    assert r.exit_code == Exit.INPUT and "missing.tif" in r.output
