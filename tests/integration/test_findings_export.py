"""Findings exports on the demo project: GeoJSON, KML/KMZ, CSV, GeoParquet and the evidence table.

The demo's own findings (from the findings engine, when the demo runs it) plus hand-made ones
that pin the edge cases: a finding with no positioned event and no area (null geometry), one
with only an area (drawn at the area), text that XML and CSV must escape, and findings resting
on voyages and gaps (drawn as lines).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import shape
from typer.testing import CliRunner

from sanctionwatch.cli import Exit, app
from sanctionwatch.findings.store import SEVERITIES, FindingFilter, ensure_findings_table, findings_frame
from sanctionwatch.report import findings_export
from sanctionwatch.report.findings_export import (
    EVIDENCE_COLUMNS,
    FINDING_CSV_COLUMNS,
    KML_NS,
    collect_findings,
    event_geometry,
    export_evidence,
    export_findings,
)
from sanctionwatch.schema import FINDINGS, conform
from sanctionwatch.store import Project

pytestmark = pytest.mark.slow

ANGARA = 273210440
ANGARA_IMO = "9179842"
K = f"{{{KML_NS}}}"
HOSTILE = 'Renamed "SIM VOLNA" -> <SIM VERA> & kept its IMO; it\'s a 1 < 2 test\x07\nsecond line'
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _finding(fid: str, rule: str, severity: str, statement: str, events: pl.DataFrame, *,
             confidence: float, reason: str, mmsis: list[int] | None = None,
             area_ids: list[str] | None = None, title: str | None = None) -> dict:
    refs: list[dict] = []
    for ev in events.get_column("evidence").to_list() if events.height else []:
        refs += [r for r in ev or [] if r not in refs]
    starts = events.get_column("start_utc").to_list() if events.height else []
    ends = [e or s for s, e in events.select("start_utc", "end_utc").iter_rows()] if events.height else []
    if mmsis is None:
        mmsis = sorted({int(m) for m in events.get_column("mmsi").to_list()}
                       | {int(m) for m in events.get_column("other_mmsi").drop_nulls().to_list()})
    if area_ids is None:
        area_ids = sorted({a for c in ("area_id", "area2_id") for a in events.get_column(c).drop_nulls().to_list()})
    return {"finding_id": fid, "rule": rule, "severity": severity, "statement": statement,
            "confidence": confidence, "confidence_reason": reason,
            "start_utc": min(starts) if starts else dt.datetime(2023, 9, 1, tzinfo=dt.UTC),
            "end_utc": max(ends) if ends else dt.datetime(2023, 9, 2, tzinfo=dt.UTC),
            "mmsis": mmsis, "area_ids": area_ids, "event_ids": events.get_column("event_id").to_list(),
            "evidence": refs, "params_id": "test-params", "title": title or statement[:60],
            "attrs_json": json.dumps({"n_events": events.height})}


def add_test_findings(project: Project) -> list[str]:
    """Findings of the shapes the exports must handle, resting on real demo events."""
    ev = lambda sql, params=(): project.query(f"SELECT * FROM events WHERE {sql} ORDER BY start_utc", params)  # noqa: E731
    rows = []
    dark = ev("basis = 'inferred_gap' AND mmsi = ?", [ANGARA]).head(3)
    assert dark.height == 3
    for k, v in enumerate(dark.iter_rows(named=True)):
        gap_id = json.loads(v["attrs_json"])["gap_event_id"]
        both = pl.concat([ev("event_id = ?", [gap_id]), dark.slice(k, 1)])
        rows.append(_finding(f"t-dark-{k}", "t_dark_voyage", "high",
                             f"ANGARA may have called at Rajin while dark ({k + 1})", both,
                             confidence=0.6, reason="inferred from an AIS gap"))
    observed = ev("event_type = 'voyage' AND basis = 'ais' AND area2_id = 'rajin-port'")
    arrival = ev("event_id = ?", [json.loads(observed["attrs_json"][0])["arrival_visit_id"]])
    rows.append(_finding("t-call-0", "t_port_call", "medium", "A call at Rajin observed in AIS",
                         pl.concat([observed.head(1), arrival]), confidence=0.9, reason="observed in AIS"))
    rows.append(_finding("t-sts-0", "t_encounter", "medium", "Two tankers alongside for 5 hours at sea",
                         ev("event_type = 'encounter'"), confidence=0.8, reason="observed in AIS"))
    for k, v in enumerate(ev("event_type = 'loitering'").iter_rows(named=True)):
        rows.append(_finding(f"t-loiter-{k}", "t_loitering", "low", f"Loitering offshore ({k})",
                             ev("event_id = ?", [v["event_id"]]), confidence=0.7, reason="observed in AIS"))
    rows.append(_finding("t-name-0", "t_identity", "low", HOSTILE, ev("event_type = 'identity_change'"),
                         confidence=0.95, reason="observed in AIS", title="Name change <&>"))
    rows.append(_finding("t-area-0", "t_area_note", "info", "Rail traffic at Rajin rose (analyst counts)",
                         ev("false"), confidence=0.5, reason="imagery", mmsis=[], area_ids=["rajin-port"]))
    ensure_findings_table(project)
    tbl = conform(pa.Table.from_pylist(rows), FINDINGS)
    project.con.register("_t_findings", tbl)
    project.con.execute("INSERT INTO findings SELECT * FROM _t_findings")
    project.con.unregister("_t_findings")
    return [r["finding_id"] for r in rows]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("findings-export")
    shutil.copytree(demo_dir / "project", out / "project")  # the session's demo, with test findings added
    with Project.open(out / "project") as project:
        add_test_findings(project)
    return out / "project"


@pytest.fixture(scope="module")
def project(demo):
    with Project.open(demo, read_only=True) as p:
        yield p


@pytest.fixture(scope="module")
def exported(project, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("exports")
    files = {fmt: d / f"findings.{suffix}" for fmt, suffix in
             [("geojson", "geojson"), ("kml", "kml"), ("kmz", "kmz"), ("csv", "csv"), ("geoparquet", "parquet")]}
    bundle = collect_findings(project)
    for path in files.values():
        export_findings(project, path, bundle=bundle)
    files["evidence_csv"] = d / "evidence.csv"
    files["evidence_parquet"] = d / "evidence.parquet"
    export_evidence(project, files["evidence_csv"], bundle=bundle)
    export_evidence(project, files["evidence_parquet"], bundle=bundle)
    return files


def _coords(geom: dict) -> list[list[float]]:
    if geom["type"] == "GeometryCollection":
        return [c for g in geom["geometries"] for c in _coords(g)]
    c = geom["coordinates"]
    if geom["type"] == "Point":
        return [c]
    if geom["type"] in ("LineString", "MultiPoint"):
        return c
    return [p for line in c for p in line]


def _utc(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    t = dt.datetime.fromisoformat(text)
    assert t.utcoffset() == dt.timedelta(0), text
    return t


# --- GeoJSON -----------------------------------------------------------------------------------


def test_geojson_features_geometry_and_properties(project, exported):
    fc = json.loads(exported["geojson"].read_text(encoding="utf-8"))
    stored = findings_frame(project)
    assert fc["type"] == "FeatureCollection"
    assert fc["sanctionwatch"]["version"] and fc["sanctionwatch"]["params_id"] == project.config.params_id
    assert [f["id"] for f in fc["features"]] == stored["finding_id"].to_list()
    by_id = {f["id"]: f for f in fc["features"]}
    events = project.query("SELECT * FROM events")
    ev = {r["event_id"]: r for r in events.iter_rows(named=True)}
    n_drawn = 0
    for row in stored.iter_rows(named=True):
        feat = by_id[row["finding_id"]]
        props = feat["properties"]
        assert props["statement"] == row["statement"] and props["rule"] == row["rule"]
        assert _utc(props["start_utc"]) == row["start_utc"] and _utc(props["end_utc"]) == row["end_utc"]
        assert props["mmsis"] == row["mmsis"] and len(props["vessels"]) == len(row["mmsis"])
        assert props["evidence"] == [f"{e['source_id']}:{e['record_no']}" for e in row["evidence"]]
        assert props["params_id"] == row["params_id"]
        if feat["geometry"] is None:
            # only a finding with no positioned event and no area goes undrawn
            assert not row["area_ids"]
            assert all(ev[e]["lat_deg"] is None for e in row["event_ids"] if e in ev)
            continue
        n_drawn += 1
        g = shape(feat["geometry"])
        assert g.is_valid and not g.is_empty
        for lon, lat in _coords(feat["geometry"]):
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        # every positioned event of the finding is on its geometry (lon/lat order, not lat/lon)
        for e in row["event_ids"]:
            if e in ev and ev[e]["lat_deg"] is not None:
                assert g.distance(shapely.Point(ev[e]["lon_deg"], ev[e]["lat_deg"])) < 1e-5, (row["finding_id"], e)
        # a position the rule states (a satellite detection's) is drawn too
        fig = json.loads(row["attrs_json"] or "{}").get("figures") or {}
        if "lat_deg" in fig and "lon_deg" in fig:
            assert g.distance(shapely.Point(fig["lon_deg"], fig["lat_deg"])) < 1e-5
    assert n_drawn >= 9  # the hand-made findings alone
    # the demo is in the Sea of Japan: longitudes ~130 E, latitudes ~42 N
    drawn = [c for f in fc["features"] if f["geometry"] for c in _coords(f["geometry"])]
    assert all(100 < lon < 150 and 20 < lat < 55 for lon, lat in drawn)


def test_geojson_lines_for_gaps_and_voyages_and_the_edge_cases(project, exported):
    by_id = {f["id"]: f for f in json.loads(exported["geojson"].read_text(encoding="utf-8"))["features"]}
    # a dark voyage: the gap's line (went dark -> reappeared) and the inferred trip through Rajin
    dark = by_id["t-dark-0"]
    gap_id = dark["properties"]["event_ids"][0]
    gap = json.loads(project.query("SELECT attrs_json FROM events WHERE event_id = ?", [gap_id]).item())
    g = shape(dark["geometry"])
    assert g.geom_type == "MultiLineString" and len(g.geoms) == 2
    lines = [list(line.coords) for line in g.geoms]
    off, on = (round(gap["off_lon_deg"], 6), round(gap["off_lat_deg"], 6)), (round(gap["on_lon_deg"], 6),
                                                                              round(gap["on_lat_deg"], 6))
    assert [off, on] in [line for line in lines if len(line) == 2]
    assert any(len(line) == 3 and line[0] == off and line[-1] == on
               and line[1] == pytest.approx((130.3, 42.245), abs=0.05) for line in lines)  # via Rajin
    assert dark["properties"]["event_types"] == ["ais_gap", "voyage"]
    assert dark["properties"]["vessels"] == ["ANGARA (IMO 9179842)"]
    # an observed voyage and its arrival visit: a line and a point
    call = shape(by_id["t-call-0"]["geometry"])
    assert call.geom_type == "GeometryCollection" and {p.geom_type for p in call.geoms} == {"Point", "LineString"}
    # the encounter names both vessels
    assert len(by_id["t-sts-0"]["properties"]["vessels"]) == 2
    # no positioned event, no area: null geometry; only an area: drawn at the area
    assert by_id["t-name-0"]["geometry"] is None and by_id["t-name-0"]["properties"]["statement"] == HOSTILE
    assert by_id["t-area-0"]["geometry"] == {"type": "Point", "coordinates": [130.3, 42.245]}


def test_event_geometry_cuts_lines_at_the_antimeridian_and_drops_bad_positions():
    gap = {"event_type": "ais_gap", "lat_deg": 50.0, "lon_deg": 179.5, "attrs_json": json.dumps(
        {"off_lat_deg": 50.0, "off_lon_deg": 179.5, "on_lat_deg": 52.0, "on_lon_deg": -179.5})}
    g = event_geometry(gap)
    assert g.geom_type == "MultiLineString"
    a, b = (list(x.coords) for x in g.geoms)
    assert a == [(179.5, 50.0), (180.0, 51.0)] and b == [(-180.0, 51.0), (-179.5, 52.0)]
    # an open gap (never reappeared) is its point; a position out of range is not drawn
    assert event_geometry({**gap, "attrs_json": json.dumps({"off_lat_deg": 50.0, "off_lon_deg": 179.5})}
                          ).geom_type == "Point"
    assert event_geometry({"event_type": "port_visit", "lat_deg": 1.0, "lon_deg": 200.0}) is None
    assert event_geometry({"event_type": "identity_change", "lat_deg": None, "lon_deg": None}) is None


# --- KML ---------------------------------------------------------------------------------------


def _kml_checks(root: ET.Element, project: Project) -> None:
    assert root.tag == f"{K}kml"
    doc = root.find(f"{K}Document")
    assert doc is not None
    data = {d.get("name"): d.findtext(f"{K}value") for d in doc.findall(f"{K}ExtendedData/{K}Data")}
    assert data["params_id"] == project.config.params_id and data["sanctionwatch_version"]
    styles = {s.get("id") for s in doc.findall(f"{K}Style")}
    assert {f"severity-{s}" for s in SEVERITIES} <= styles
    placemarks = list(root.iter(f"{K}Placemark"))
    assert placemarks
    for pm in placemarks:
        assert pm.findtext(f"{K}styleUrl", "").lstrip("#") in styles
        span = pm.find(f"{K}TimeSpan")
        if span is not None:
            begin, end = _utc(span.findtext(f"{K}begin")), _utc(span.findtext(f"{K}end"))
            assert begin <= end
        for c in pm.iter(f"{K}coordinates"):
            for tup in c.text.split():
                lon, lat = map(float, tup.split(","))
                assert 100 < lon < 150 and 20 < lat < 55
    stored = findings_frame(project)
    rules = {f.findtext(f"{K}name").rsplit(" (", 1)[0]: f for f in doc.findall(f"{K}Folder")}
    assert set(stored["rule"].unique()) <= set(rules)
    for rule, folder in rules.items():
        if rule in set(stored["rule"]):
            ids = [pm.get("id") for pm in folder.findall(f"{K}Placemark")]
            expected = stored.filter(pl.col("rule") == rule)["finding_id"].to_list()
            assert ids == [f"finding-{i}" for i in expected]
            assert all(pm.find(f"{K}TimeSpan") is not None for pm in folder.findall(f"{K}Placemark"))
    # the evidence events: one placemark per cited event, with its own time
    cited = {e for ids in stored["event_ids"].to_list() for e in ids}
    evidence = rules["Evidence events"]
    event_pms = list(evidence.iter(f"{K}Placemark"))
    assert {pm.get("id") for pm in event_pms} == {f"event-{e}" for e in cited}
    assert all(pm.find(f"{K}TimeSpan") is not None or pm.find(f"{K}TimeStamp/{K}when") is not None
               for pm in event_pms)


def test_kml_parses_with_time_spans_folders_and_styles(project, exported):
    _kml_checks(ET.parse(exported["kml"]).getroot(), project)


def test_kmz_holds_the_same_document(project, exported):
    with zipfile.ZipFile(exported["kmz"]) as zf:
        assert zf.namelist() == ["doc.kml"]
        kml = zf.read("doc.kml")
    assert kml == exported["kml"].read_bytes()
    _kml_checks(ET.fromstring(kml), project)


def test_kml_escapes_text_and_describes_the_finding(exported):
    raw = exported["kml"].read_text(encoding="utf-8")
    assert "\x07" not in raw  # not allowed in XML 1.0: dropped
    root = ET.parse(exported["kml"]).getroot()
    pm = next(p for p in root.iter(f"{K}Placemark") if p.get("id") == "finding-t-name-0")
    assert pm.findtext(f"{K}name") == "Name change <&>"
    desc = pm.findtext(f"{K}description")
    # the description is HTML: the statement is HTML-escaped in it, then XML-escaped in the file
    assert html.escape(HOSTILE.replace("\x07", "")) in desc
    assert "0.95 (observed in AIS)" in desc and "SIM VERA (IMO 1004443)" in desc
    assert pm.find(f"{K}Point") is None  # no position: no geometry
    dark = next(p for p in root.iter(f"{K}Placemark") if p.get("id") == "finding-t-dark-0")
    assert len(dark.findall(f"{K}MultiGeometry/{K}LineString")) == 2
    assert dark.findtext(f"{K}styleUrl") == "#severity-high"


# --- CSV ---------------------------------------------------------------------------------------


def test_findings_csv_round_trips_through_polars(project, exported):
    df = pl.read_csv(exported["csv"], try_parse_dates=True)
    stored = findings_frame(project)
    assert df.columns == list(FINDING_CSV_COLUMNS)
    assert df["finding_id"].to_list() == stored["finding_id"].to_list()
    assert df["statement"].to_list() == stored["statement"].to_list()  # quotes, newlines, '<&>' intact
    assert df["start_utc"].to_list() == stored["start_utc"].to_list()
    assert df["end_utc"].to_list() == stored["end_utc"].to_list()
    assert [json.loads(m) for m in df["mmsis"]] == stored["mmsis"].to_list()
    assert [json.loads(a) for a in df["area_ids"]] == stored["area_ids"].to_list()
    assert df["n_events"].to_list() == stored["event_ids"].list.len().to_list()
    assert df["params_id"].to_list() == stored["params_id"].to_list()
    assert set(df["sanctionwatch_version"]) == {findings_export.__version__}
    drawn = df.filter(pl.col("geometry_wkt").is_not_null())
    for wkt, lon, lat in drawn.select("geometry_wkt", "lon_deg", "lat_deg").iter_rows():
        g = shapely.from_wkt(wkt)
        assert g.is_valid and g.centroid.x == pytest.approx(lon, abs=1e-5) and g.centroid.y == pytest.approx(lat, abs=1e-5)


def test_evidence_csv_quotes_the_real_input_lines(project, exported):
    ev = pl.read_csv(exported["evidence_csv"], infer_schema_length=0)  # all text: compare exactly
    assert ev.columns == list(EVIDENCE_COLUMNS)
    stored = findings_frame(project)
    records = ev.filter(pl.col("item") == "record")
    # every reference of every finding is there, and resolves to its file's line
    for row in stored.iter_rows(named=True):
        mine = records.filter(pl.col("finding_id") == row["finding_id"])
        got = set(zip(mine["source_id"], mine["record_no"].cast(pl.Int64), strict=True))
        assert {(e["source_id"], e["record_no"]) for e in row["evidence"]} <= got
        events = ev.filter((pl.col("finding_id") == row["finding_id"]) & (pl.col("item") == "event"))
        assert set(events["event_id"]) <= set(row["event_ids"])
    assert set(records["status"]) == {"ok"}
    lines: dict[str, list[str]] = {}
    for path, rec, text in records.select("path", "record_no", "line_text").iter_rows():
        if path not in lines:
            lines[path] = Path(path).read_bytes().decode("utf-8").splitlines()
        assert lines[path][int(rec) - 1] == text, (path, rec)
    assert len(lines) >= 2  # records from several input files
    # AIS position reports carry where and when they were reported
    positioned = records.filter(pl.col("lat_deg").is_not_null())
    assert positioned.height > records.height / 2
    assert all(_utc(t) for t in positioned["start_utc"])
    cited = records.filter(pl.col("cited_by") != "[]")
    assert cited.height and all(json.loads(c) for c in cited["cited_by"])


# --- GeoParquet --------------------------------------------------------------------------------


def test_geoparquet_reads_with_geopandas(project, exported):
    gdf = geopandas.read_parquet(exported["geoparquet"])
    stored = findings_frame(project)
    fc = json.loads(exported["geojson"].read_text(encoding="utf-8"))
    assert len(gdf) == stored.height and gdf.crs.to_string() == "OGC:CRS84"
    assert gdf["finding_id"].tolist() == stored["finding_id"].to_list()
    drawn = [f["geometry"] is not None for f in fc["features"]]
    assert gdf.geometry.notna().tolist() == drawn
    for g, f in zip(gdf.geometry, fc["features"], strict=True):
        if g is not None:
            assert g.equals(shape(f["geometry"]))
    meta = pq.read_metadata(exported["geoparquet"]).metadata
    assert meta[b"sanctionwatch.params_id"] == project.config.params_id.encode()
    assert meta[b"sanctionwatch.version"] and meta[b"sanctionwatch.export"] == b"findings"
    geo = json.loads(meta[b"geo"])
    col = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and col["encoding"] == "WKB"
    assert set(col["geometry_types"]) == set(gdf.geometry.dropna().geom_type)
    assert col["bbox"] == pytest.approx(list(gdf.total_bounds))
    table = pq.read_table(exported["geoparquet"])
    assert table.schema.field("mmsis").type == pa.list_(pa.int32())  # typed, not text


def test_evidence_geoparquet(project, exported):
    gdf = geopandas.read_parquet(exported["evidence_parquet"])
    csv = pl.read_csv(exported["evidence_csv"], infer_schema_length=0)
    assert len(gdf) == csv.height and gdf.crs.to_string() == "OGC:CRS84"
    records = gdf[gdf["item"] == "record"]
    with_pos = records[records["lat_deg"].notna()]
    assert len(with_pos) and with_pos.geometry.notna().all()
    assert (with_pos.geometry.x - with_pos["lon_deg"]).abs().max() < 1e-6
    assert records["line_text"].tolist() == csv.filter(pl.col("item") == "record")["line_text"].to_list()
    events = gdf[gdf["item"] == "event"]
    assert set(events.geometry.dropna().geom_type) >= {"LineString", "Point"}  # gaps are lines


# --- filters -------------------------------------------------------------------------------------


def test_filters_reduce_the_set_consistently(project):
    everything = collect_findings(project).findings
    assert everything.height >= 10
    by_rule = [collect_findings(project, FindingFilter(rule=r)).findings for r in everything["rule"].unique()]
    assert sum(f.height for f in by_rule) == everything.height
    assert all(f["rule"].n_unique() == 1 for f in by_rule)
    sizes = [collect_findings(project, FindingFilter(min_severity=s)).findings.height for s in SEVERITIES]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == everything.height
    high = collect_findings(project, FindingFilter(min_severity="high")).findings
    assert set(high["severity"]) == {"high"}
    angara = collect_findings(project, mmsis=[ANGARA]).findings
    assert 0 < angara.height < everything.height and all(ANGARA in m for m in angara["mmsis"])
    t0, t1 = dt.datetime(2023, 9, 1, tzinfo=dt.UTC), dt.datetime(2023, 10, 1, tzinfo=dt.UTC)
    sept = collect_findings(project, FindingFilter(since=t0, until=t1)).findings
    assert 0 < sept.height < everything.height
    assert all(s < t1 and (e or s) >= t0 for s, e in sept.select("start_utc", "end_utc").iter_rows())
    both = collect_findings(project, FindingFilter(since=t0, until=t1), mmsis=[ANGARA]).findings
    assert set(both["finding_id"]) == set(sept["finding_id"]) & set(angara["finding_id"])


def test_cli_export_with_filters_and_evidence(demo, project, tmp_path):
    out, evidence = tmp_path / "angara.geojson", tmp_path / "angara-evidence.csv"
    res = invoke("export-findings", str(demo), "-o", str(out), "--vessel", f"IMO {ANGARA_IMO}",
                 "--min-severity", "medium", "--evidence", str(evidence))
    assert res.exit_code == 0, res.output
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    expected = collect_findings(project, FindingFilter(min_severity="medium"), mmsis=[ANGARA]).findings
    assert [f["id"] for f in feats] == expected["finding_id"].to_list() and feats
    assert f"Wrote {len(feats)} findings" in res.output and "evidence rows" in res.output
    assert set(pl.read_csv(evidence, infer_schema_length=0)["finding_id"]) == {f["id"] for f in feats}
    # an area group selects the findings about any of its areas
    kml = tmp_path / "dprk.kml"
    res = invoke("export-findings", str(demo), "-o", str(kml), "--area", "dprk_ports", "--since", "2023-08-01")
    assert res.exit_code == 0, res.output
    placemarks = [p for p in ET.parse(kml).getroot().iter(f"{K}Placemark") if p.get("id").startswith("finding-")]
    assert placemarks and "finding-t-area-0" in {p.get("id") for p in placemarks}
    assert "finding-t-sts-0" not in {p.get("id") for p in placemarks}  # at sea, no area


def test_an_empty_selection_gives_valid_empty_files(demo, tmp_path):
    out, ev = tmp_path / "none.parquet", tmp_path / "none-evidence.parquet"
    res = invoke("export-findings", str(demo), "-o", str(out), "--rule", "no_such_rule", "--evidence", str(ev))
    assert res.exit_code == 0 and "Wrote 0 findings" in res.output and "no findings of rule" in res.output
    assert len(geopandas.read_parquet(out)) == 0 and len(geopandas.read_parquet(ev)) == 0
    kml = tmp_path / "none.kml"
    assert invoke("export-findings", str(demo), "-o", str(kml), "--rule", "no_such_rule").exit_code == 0
    assert not list(ET.parse(kml).getroot().iter(f"{K}Placemark"))


def test_cli_bad_format_suffix_and_options_exit_2(demo, tmp_path):
    cases = [
        ("-o", str(tmp_path / "f.txt")),
        ("-o", str(tmp_path / "f.geojson"), "--format", "shapefile"),
        ("-o", str(tmp_path / "f.geojson"), "--evidence", str(tmp_path / "e.kml")),
        ("-o", str(tmp_path / "f.geojson"), "--min-severity", "urgent"),
        ("-o", str(tmp_path / "f.geojson"), "--vessel", "12"),
        ("-o", str(tmp_path / "f.geojson"), "--area", "atlantis"),
        ("-o", str(tmp_path / "f.geojson"), "--since", "last tuesday"),
    ]
    for args in cases:
        res = invoke("export-findings", str(demo), *args)
        assert res.exit_code == Exit.USAGE, (args, res.output)
        assert "error:" in res.output and "Traceback" not in res.output
    assert "f.txt" in invoke("export-findings", str(demo), "-o", str(tmp_path / "f.txt")).output
    assert not list(tmp_path.iterdir())  # nothing written
    # --format wins over the suffix
    res = invoke("export-findings", str(demo), "-o", str(tmp_path / "f.txt"), "--format", "kml")
    assert res.exit_code == 0 and ET.parse(tmp_path / "f.txt").getroot().tag == f"{K}kml"


def test_cli_project_without_findings(tmp_path):
    assert invoke("init", str(tmp_path / "empty")).exit_code == 0
    res = invoke("export-findings", str(tmp_path / "empty"), "-o", str(tmp_path / "f.geojson"))
    assert res.exit_code == Exit.FAILED and "no findings yet" in res.output
    assert not (tmp_path / "f.geojson").exists()


# --- atomicity -----------------------------------------------------------------------------------


def test_a_failed_write_leaves_no_partial_file(project, tmp_path, monkeypatch):
    out = tmp_path / "f.geojson"
    out.write_text("previous export\n")

    def broken(bundle, path):
        path.write_text('{"type": "FeatureCollection", "features": [')
        raise OSError("disk full")

    monkeypatch.setattr(findings_export, "_write_geojson", broken)
    with pytest.raises(OSError, match="disk full"):
        export_findings(project, out)
    assert out.read_text() == "previous export\n"  # the old file is kept, whole
    assert [p.name for p in tmp_path.iterdir()] == ["f.geojson"]  # no temporary left
    fresh = tmp_path / "new.csv"
    monkeypatch.setattr(findings_export, "_csv_ready", lambda t: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        export_evidence(project, fresh)
    assert not fresh.exists()


def test_a_killed_export_leaves_no_file(demo, tmp_path):
    out = tmp_path / "f.kml"
    env = {**os.environ, "SANCTIONWATCH_CRASH_AT": "findings_export_before_rename"}
    done = subprocess.run([sys.executable, "-m", "sanctionwatch.cli", "export-findings", str(demo), "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 137, done.stderr
    assert not out.exists()
    partial = list(tmp_path.glob(".f.kml.part-*"))
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # it was killed mid-export
    ok = subprocess.run([sys.executable, "-m", "sanctionwatch.cli", "export-findings", str(demo), "-o", str(out)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ET.parse(out).getroot().tag == f"{K}kml"
    assert re.search(r"Wrote \d+ findings", ok.stdout)


def test_help_has_examples():
    res = invoke("export-findings", "--help")
    assert res.exit_code == 0 and "Example" in res.output and "--evidence" in res.output
