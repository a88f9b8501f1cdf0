"""The web app's JSON API on the demo project: every endpoint against the database, filters that really
filter, bad parameters (400/404 with a message, never a 500), path traversal on static files, the
token and Host checks, the OpenAPI spec, and `sanctionwatch serve` refusing unsafe set-ups."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from sanctionwatch.cli import app as cli_app
from sanctionwatch.store import Project
from sanctionwatch.web import models
from sanctionwatch.web.app import COOKIE_NAME, STATIC_DIR, create_app
from sanctionwatch.web.commands import is_loopback
from sanctionwatch.web.queries import simplify_track
from tests.web_server import serving

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; the TestClient works with either
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ANGARA_MMSI, ANGARA_IMO = 273210440, 9179842
TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def project_dir(demo_dir: Path) -> Path:
    return demo_dir / "project"


@pytest.fixture(scope="module")
def web(project_dir: Path) -> Iterator[Any]:
    app = create_app(project_dir)
    yield app
    app.state.web.close()


@pytest.fixture(scope="module")
def client(web: Any) -> TestClient:
    # raise_server_exceptions: an exception in an endpoint fails the test instead of becoming a 500
    return TestClient(web, raise_server_exceptions=True)


@pytest.fixture(scope="module")
def db(project_dir: Path) -> Iterator[Project]:
    with Project.open(project_dir, read_only=True) as p:
        yield p


def ok(client: TestClient, url: str, model: type[BaseModel] | None = None, **kw: Any) -> Any:
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text[:500])
    body = r.json()
    if model is not None:
        model.model_validate(body)  # the OpenAPI schema documents exactly what is sent (extra fields forbidden)
    return body


def ids(rows: list[dict[str, Any]], key: str = "finding_id") -> set[str]:
    return {r[key] for r in rows}


def sql_ids(db: Project, where: str = "", params: list[Any] | None = None) -> set[str]:
    return {r[0] for r in db.con.sql(f"SELECT finding_id FROM findings {where}", params=params or []).fetchall()}


# --- OpenAPI ------------------------------------------------------------------------------------

EXPECTED_ROUTES = {
    ("get", "/api/status"), ("get", "/api/findings"), ("get", "/api/findings/{finding_id}"),
    ("get", "/api/vessels"), ("get", "/api/vessels/{ident}"), ("get", "/api/vessels/{ident}/track"),
    ("get", "/api/areas"), ("get", "/api/areas/{area_id}"), ("get", "/api/basemap"),
}


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    from fastapi.routing import APIRoute

    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):  # an included router (FastAPI >= 0.16x nests them)
            yield from _api_routes(r.original_router.routes)
        elif hasattr(r, "routes"):
            yield from _api_routes(r.routes)


def test_openapi_spec_lists_every_api_route_and_no_docs_page_pulls_a_cdn(web: Any, client: TestClient) -> None:
    spec = ok(client, "/api/openapi.json")
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    every = list(_api_routes(web.routes))
    routes = {(m.lower(), r.path) for r in every if r.include_in_schema for m in r.methods}
    assert routes == documented == EXPECTED_ROUTES
    # every API route is in the spec; the only routes left out are the UI's (index and static files)
    assert {r.path for r in every if not r.include_in_schema} == {"/", "/static/{rel:path}"}
    # parameters are documented with their bounds
    params = {p["name"]: p for p in spec["paths"]["/api/findings"]["get"]["parameters"]}
    assert {"rule", "min_severity", "vessel", "area", "since", "until", "q", "limit", "offset"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 500
    assert "FindingList" in json.dumps(spec["paths"]["/api/findings"]["get"]["responses"]["200"])
    # no Swagger UI / ReDoc (they load from a CDN)
    for page in ("/docs", "/redoc", "/api/docs"):
        assert client.get(page).status_code == 404


# --- status, findings ---------------------------------------------------------------------------

def test_status_counts_are_the_databases(client: TestClient, db: Project) -> None:
    s = ok(client, "/api/status", models.StatusOut)
    n_pos = db.con.sql("SELECT sum(n_rows) FROM manifest WHERE table_name = 'positions'").fetchall()[0][0]
    assert s["counts"]["positions"] == n_pos > 100_000
    for table in ("findings", "events", "matches", "identities", "sources"):
        assert s["counts"][table] == db.con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 0
    assert s["events_by_type"]["port_visit"] == db.con.sql(
        "SELECT count(*) FROM events WHERE event_type = 'port_visit'").fetchall()[0][0]
    assert len(s["sources"]) == s["counts"]["sources"] and s["params_id"] == db.config.params_id
    assert {li["list_name"] for li in s["lists"]} >= {"ofac-sdn"}
    assert s["time_span"]["first_utc"].startswith("2023-08-01")


def test_findings_list_is_every_finding_most_severe_first(client: TestClient, db: Project) -> None:
    body = ok(client, "/api/findings?limit=500", models.FindingList)
    assert body["total"] == len(body["items"]) == len(sql_ids(db)) > 5
    assert ids(body["items"]) == sql_ids(db)
    rank = {"high": 0, "medium": 1, "low": 2, "info": 3}
    sev = [rank[f["severity"]] for f in body["items"]]
    assert sev == sorted(sev)
    assert sum(body["facets"]["rules"].values()) == body["total"]
    angara = next(f for f in body["items"] if ANGARA_MMSI in f["mmsis"])
    assert {"mmsi": ANGARA_MMSI, "label": f"ANGARA (IMO {ANGARA_IMO})"} in angara["vessels"]


def _a_rule(db: Project) -> str:
    return str(db.con.sql("SELECT rule FROM findings GROUP BY 1 ORDER BY count(*), rule LIMIT 1").fetchall()[0][0])


@pytest.mark.parametrize("case", ["rule", "min_severity", "vessel_imo", "vessel_mmsi", "area", "since", "until",
                                  "span", "text", "combined"])
def test_findings_filters_really_filter(client: TestClient, db: Project, case: str) -> None:
    rule = _a_rule(db)
    cases: dict[str, tuple[dict[str, str], str, list[Any]]] = {
        "rule": ({"rule": rule}, "WHERE rule = ?", [rule]),
        "min_severity": ({"min_severity": "high"}, "WHERE severity = 'high'", []),
        "vessel_imo": ({"vessel": str(ANGARA_IMO)}, "WHERE list_contains(mmsis, ?)", [ANGARA_MMSI]),
        "vessel_mmsi": ({"vessel": str(ANGARA_MMSI)}, "WHERE list_contains(mmsis, ?)", [ANGARA_MMSI]),
        "area": ({"area": "rajin-port"}, "WHERE list_contains(area_ids, 'rajin-port')", []),
        "since": ({"since": "2023-12-01"}, "WHERE coalesce(end_utc, start_utc) >= TIMESTAMPTZ '2023-12-01 00:00Z'", []),
        "until": ({"until": "2023-10-01T00:00Z"}, "WHERE start_utc < TIMESTAMPTZ '2023-10-01 00:00Z'", []),
        "span": ({"since": "2023-09-01", "until": "2023-11-01"},
                 "WHERE coalesce(end_utc, start_utc) >= TIMESTAMPTZ '2023-09-01 00:00Z' "
                 "AND start_utc < TIMESTAMPTZ '2023-11-01 00:00Z'", []),
        "text": ({"q": "dark"}, "WHERE statement ILIKE '%dark%' OR title ILIKE '%dark%'", []),
        "combined": ({"vessel": str(ANGARA_IMO), "min_severity": "high", "area": "rajin-port"},
                     "WHERE list_contains(mmsis, ?) AND severity = 'high' AND list_contains(area_ids, 'rajin-port')",
                     [ANGARA_MMSI]),
    }
    params, where, args = cases[case]
    expected = sql_ids(db, where, args)
    body = ok(client, "/api/findings", models.FindingList, params={**params, "limit": "500"})
    assert ids(body["items"]) == expected and body["total"] == len(expected)
    assert 0 < len(expected) < len(sql_ids(db)), f"the demo should make filter {case!r} narrow the list"


def test_findings_paging_walks_the_same_order(client: TestClient) -> None:
    whole = ok(client, "/api/findings?limit=500")["items"]
    pages = [ok(client, f"/api/findings?limit=4&offset={o}")["items"] for o in range(0, len(whole) + 4, 4)]
    assert [f["finding_id"] for p in pages for f in p] == [f["finding_id"] for f in whole]
    beyond = ok(client, "/api/findings?offset=100000")
    assert beyond["items"] == [] and beyond["total"] == len(whole)


def test_one_finding_with_its_events_and_the_raw_lines_behind_it(client: TestClient, db: Project) -> None:
    fid, n_refs = db.con.sql("SELECT finding_id, len(evidence) FROM findings WHERE len(event_ids) > 1 "
                             "ORDER BY len(evidence) DESC LIMIT 1").fetchall()[0]
    body = ok(client, f"/api/findings/{fid}", models.FindingDetail)
    expected_events = db.con.sql("SELECT unnest(event_ids) FROM findings WHERE finding_id = ?",
                                 params=[fid]).fetchall()
    assert ids(body["events"], "event_id") == {e[0] for e in expected_events}
    assert body["evidence_total"] == n_refs and not body["evidence_truncated"]
    assert body["evidence"] and all(e["status"] == "ok" for e in body["evidence"])
    for e in body["evidence"]:  # the quoted text is the file's line, read here independently
        lines = Path(e["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
        assert lines[e["record_no"] - 1] == e["text"]
    few = ok(client, f"/api/findings/{fid}?evidence_limit=1")
    assert len(few["evidence"]) == 1 and few["evidence_truncated"] and few["evidence_total"] == n_refs


# --- vessels ------------------------------------------------------------------------------------

def test_vessels_list_and_search_by_name_imo_mmsi(client: TestClient, db: Project) -> None:
    every = ok(client, "/api/vessels?limit=500", models.VesselList)
    n = db.query("SELECT count(*) FROM (SELECT mmsi FROM {positions} UNION SELECT mmsi FROM identities)").item()
    assert every["total"] == len(every["items"]) == n
    counts = [v["n_positions"] for v in every["items"]]
    assert counts == sorted(counts, reverse=True)
    for q in ("angar", str(ANGARA_IMO), str(ANGARA_MMSI), "UBYT2"):
        found = ok(client, "/api/vessels", models.VesselList, params={"q": q})
        assert ANGARA_MMSI in {v["mmsi"] for v in found["items"]}, q
        assert found["total"] < every["total"]
    assert ok(client, "/api/vessels?q=NO-SUCH-SHIP")["items"] == []
    page = ok(client, "/api/vessels?limit=3&offset=2")
    assert [v["mmsi"] for v in page["items"]] == [v["mmsi"] for v in every["items"][2:5]]


def test_vessel_page_has_identities_matches_events_findings(client: TestClient, db: Project) -> None:
    by_imo = ok(client, f"/api/vessels/{ANGARA_IMO}", models.VesselDetail)
    by_mmsi = ok(client, f"/api/vessels/{ANGARA_MMSI}", models.VesselDetail)
    assert by_imo["mmsis"] == by_mmsi["mmsis"] == [ANGARA_MMSI]
    assert by_imo["label"] == f"ANGARA (IMO {ANGARA_IMO})"
    n_ids = db.con.sql("SELECT count(*) FROM identities WHERE mmsi = ?", params=[ANGARA_MMSI]).fetchall()[0][0]
    assert len(by_imo["identities"]) == n_ids > 0
    assert all(i["path"] and i["source_id"] for i in by_imo["identities"])
    assert [(m["list_name"], m["entry_id"], m["status"]) for m in by_imo["matches"]] == [("ofac-sdn", "37059", "match")]
    n_events = db.con.sql("SELECT count(*) FROM events WHERE mmsi = ? OR other_mmsi = ?",
                          params=[ANGARA_MMSI, ANGARA_MMSI]).fetchall()[0][0]
    assert by_imo["events_total"] == len(by_imo["events"]) == n_events
    starts = [e["start_utc"] for e in by_imo["events"]]
    assert starts == sorted(starts)
    assert ids(by_imo["findings"]) == sql_ids(db, "WHERE list_contains(mmsis, ?)", [ANGARA_MMSI])
    gaps = [e for e in by_imo["events"] if e["event_type"] == "ais_gap"]
    assert gaps and all("off_lat_deg" in g["attrs"] for g in gaps)  # what the map draws the gaps from
    # a time window limits events and findings, not identities or matches
    window = ok(client, f"/api/vessels/{ANGARA_MMSI}?since=2023-10-01&until=2023-11-01")
    n_window = db.con.sql(
        "SELECT count(*) FROM events WHERE (mmsi = ? OR other_mmsi = ?) AND coalesce(end_utc, start_utc) >= "
        "TIMESTAMPTZ '2023-10-01 00:00Z' AND start_utc < TIMESTAMPTZ '2023-11-01 00:00Z'",
        params=[ANGARA_MMSI, ANGARA_MMSI]).fetchall()[0][0]
    assert window["events_total"] == n_window < n_events
    assert len(window["identities"]) == n_ids
    assert ok(client, f"/api/vessels/{ANGARA_MMSI}?events_limit=3")["events"] == by_imo["events"][:3]


def test_track_is_simplified_to_the_budget_with_the_time_of_each_vertex(client: TestClient, db: Project) -> None:
    pos = db.query("SELECT epoch_ms(ts_utc) AS t, lat_deg, lon_deg FROM {positions} WHERE mmsi = ? ORDER BY ts_utc",
                   [ANGARA_MMSI])
    real = {(int(t), round(y, 6)): round(x, 6) for t, y, x in pos.iter_rows()}
    for budget in (2000, 300, 10):
        track = ok(client, f"/api/vessels/{ANGARA_IMO}/track?max_points={budget}", models.TrackOut)
        assert track["type"] == "FeatureCollection" and track["n_positions"] == pos.height
        verts = [(t, c) for f in track["features"] for t, c in zip(
            f["properties"]["times_ms"],
            f["geometry"]["coordinates"] if f["geometry"]["type"] == "LineString" else [f["geometry"]["coordinates"]],
            strict=True)]
        assert len(verts) == track["n_vertices"] <= budget and len(verts) >= min(budget // 2, 10)
        times = [t for t, _ in verts]
        assert times == sorted(times) and times[0] == pos["t"][0] and times[-1] == pos["t"][-1]
        for t, (lon, lat) in verts:  # every vertex is a real position, at its own time
            assert real[(t, round(lat, 6))] == pytest.approx(((lon + 180) % 360) - 180, abs=1e-6)
    # cut at AIS gaps: no line is drawn across a silence of events.gap_min_hours or more
    gap_ms = db.config["events.gap_min_hours"] * 3_600_000
    full = ok(client, f"/api/vessels/{ANGARA_MMSI}/track?max_points=50000")
    assert full["n_vertices"] == pos.height and len(full["features"]) > 1
    for f in full["features"]:
        assert np.all(np.diff(f["properties"]["times_ms"]) < gap_ms)
    window = ok(client, f"/api/vessels/{ANGARA_MMSI}/track?since=2023-10-01&until=2023-10-15T12:00Z")
    inside = pos.filter((pos["t"] >= 1696118400000) & (pos["t"] < 1697371200000)).height
    assert window["n_positions"] == inside > 0
    assert all(1696118400000 <= t < 1697371200000 for f in window["features"] for t in f["properties"]["times_ms"])


def test_simplify_track_keeps_the_shape_and_the_budget() -> None:
    t = np.arange(0, 10_000, dtype=np.int64) * 60_000
    t[5_000:] += 86_400_000  # a one-day silence in the middle
    lon = np.where(np.arange(10_000) < 7_000, np.linspace(130, 131, 10_000), 131.0)
    lat = np.where(np.arange(10_000) < 7_000, 42.0, np.linspace(42, 43, 10_000))
    parts = simplify_track(t, lat, lon, max_points=50, split_gap_ms=6 * 3_600_000)
    assert len(parts) == 2 and sum(p[0].size for p in parts) <= 50
    assert parts[0][0][-1] < parts[1][0][0] - 86_400_000 + 120_000  # cut at the gap
    corner = [(y, x) for p in parts for y, x in zip(p[1], p[2], strict=True)]
    assert (42.0, pytest.approx(lon[6999])) in [(y, pytest.approx(x)) for y, x in corner]  # the bend survives
    # across the antimeridian the longitudes are unwrapped: the line goes the short way round
    wrap = simplify_track(np.arange(4, dtype=np.int64), np.zeros(4), np.array([179.0, 179.9, -179.9, -179.0]),
                          max_points=10, split_gap_ms=10)
    assert np.all(np.abs(np.diff(wrap[0][2])) < 1.0)
    # many short parts: only the longest gaps are cut, the budget still holds
    many = simplify_track(np.arange(0, 200, dtype=np.int64) * 10, np.linspace(0, 1, 200), np.linspace(0, 1, 200),
                          max_points=20, split_gap_ms=5)
    assert sum(p[0].size for p in many) <= 20


# --- areas, basemap -----------------------------------------------------------------------------

def test_areas_list_and_area_pages(client: TestClient, db: Project) -> None:
    from sanctionwatch.areas import project_areas

    body = ok(client, "/api/areas", models.AreaList)
    by_id = {a["area_id"]: a for a in body["items"]}
    assert {a.area_id for a in project_areas(db)} <= set(by_id)
    n_rajin = db.con.sql("SELECT count(*) FROM events WHERE area_id = 'rajin-port' OR area2_id = 'rajin-port'"
                         ).fetchall()[0][0]
    assert by_id["rajin-port"]["n_events"] == n_rajin > 0
    assert by_id["rajin-port"]["n_findings"] == len(sql_ids(db, "WHERE list_contains(area_ids, 'rajin-port')"))
    wpi = [a for a in body["items"] if a["source"] == "wpi"]
    assert wpi and all(a["area_id"].startswith("wpi-") and a["n_events"] > 0 for a in wpi)

    rajin = ok(client, "/api/areas/rajin-port", models.AreaDetail)
    assert rajin["area"]["radius_m"] == 5000 and rajin["area"]["geometry"]["type"] == "Point"
    assert rajin["events_total"] == n_rajin and ids(rajin["events"], "event_id") == {
        r[0] for r in db.con.sql("SELECT event_id FROM events WHERE area_id = 'rajin-port' OR "
                                 "area2_id = 'rajin-port'").fetchall()}
    assert ids(rajin["findings"]) == sql_ids(db, "WHERE list_contains(area_ids, 'rajin-port')")
    rail = ok(client, "/api/areas/tumangang-khasan-rail-crossing", models.AreaDetail)
    assert rail["activity"] is not None
    counts = db.con.sql("SELECT count(*) FROM site_counts WHERE site_id = 'tumangang-khasan-rail-crossing'"
                        ).fetchall()[0][0]
    analyst = [s for s in rail["activity"]["series"] if s["basis"] == "analyst"]
    assert len([s for s in analyst if s["count"] is not None]) == counts
    assert any(a["kind"] == "changepoint" for a in rail["activity"]["anomalies"])
    port = ok(client, f"/api/areas/{wpi[0]['area_id']}", models.AreaDetail)
    assert port["area"]["source"] == "wpi" and port["events_total"] == wpi[0]["n_events"]
    window = ok(client, "/api/areas/rajin-port?until=2023-09-01")
    assert window["events_total"] < n_rajin


def test_basemap_is_the_packaged_natural_earth_with_an_etag(client: TestClient) -> None:
    r = client.get("/api/basemap")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    data = r.json()
    assert data["type"] == "FeatureCollection" and len(data["features"]) > 1000
    again = client.get("/api/basemap", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    coarse = client.get("/api/basemap?detail=110m")
    assert coarse.status_code == 200 and len(coarse.content) < len(r.content) / 5


def test_a_project_with_nothing_yet_answers_empty_not_500(tmp_path: Path) -> None:
    Project.init(tmp_path / "fresh").close()
    app = create_app(tmp_path / "fresh")
    try:
        c = TestClient(app)
        assert ok(c, "/api/findings", models.FindingList)["total"] == 0
        assert ok(c, "/api/vessels", models.VesselList)["total"] == 0
        assert ok(c, "/api/status", models.StatusOut)["counts"]["positions"] == 0
        assert ok(c, "/api/areas/rajin-port", models.AreaDetail)["events_total"] == 0
        assert c.get(f"/api/vessels/{ANGARA_MMSI}/track").status_code == 404
        assert c.get("/").status_code == 200 and app.state.internal_errors == 0
    finally:
        app.state.web.close()


# --- bad parameters -----------------------------------------------------------------------------

BAD = [
    ("/api/findings?limit=0", 400, "limit"), ("/api/findings?limit=501", 400, "limit"),
    ("/api/findings?limit=abc", 400, "limit"), ("/api/findings?limit=99999999999999999999999", 400, "limit"),
    ("/api/findings?offset=-1", 400, "offset"), ("/api/findings?offset=1e3", 400, "offset"),
    ("/api/findings?min_severity=critical", 400, "min_severity"), ("/api/findings?since=2023-13-01", 400, "since"),
    ("/api/findings?since=yesterday", 400, "since"), ("/api/findings?until=2023-02-30", 400, "until"),
    ("/api/findings?since=2024-01-01&until=2023-01-01", 400, "before"), ("/api/findings?since=0001-01-01", 400, "range"),
    ("/api/findings?vessel=123", 400, "vessel"), ("/api/findings?vessel=IMO12345678", 400, "vessel"),
    ("/api/findings?vessel=" + "9" * 100, 400, "vessel"), ("/api/findings?rule=a%0Ab", 400, "rule"),
    ("/api/findings?rule=" + "r" * 129, 400, "rule"), ("/api/findings?area=" + "a" * 129, 400, "area"),
    ("/api/findings?q=" + "x" * 201, 400, "q"), ("/api/findings?q=a%00b", 400, "q"),
    ("/api/findings?since=2023-01-01%00", 400, "since"),
    ("/api/findings/no-such-finding", 404, "no finding"), ("/api/findings/%27%3B%20DROP%20TABLE%20findings", 404, "no finding"),
    ("/api/findings/" + "f" * 129, 400, "finding_id"), ("/api/findings/a%09b", 400, "finding_id"),
    ("/api/findings/x?evidence_limit=0", 400, "evidence_limit"),
    ("/api/vessels?limit=-5", 400, "limit"), ("/api/vessels?q=%1b[31m", 400, "q"),
    ("/api/vessels/12345", 400, "ident"), ("/api/vessels/ANGARA", 400, "ident"),
    ("/api/vessels/123456789", 404, "no vessel"), ("/api/vessels/1234567", 404, "no vessel"),
    ("/api/vessels/9179842?since=soon", 400, "since"), ("/api/vessels/9179842?events_limit=0", 400, "events_limit"),
    ("/api/vessels/123456789/track", 404, "no vessel"), ("/api/vessels/abc/track", 400, "ident"),
    ("/api/vessels/9179842/track?max_points=1", 400, "max_points"),
    ("/api/vessels/9179842/track?max_points=50001", 400, "max_points"),
    ("/api/vessels/9179842/track?until=2023-08-01&since=2023-09-01", 400, "before"),
    ("/api/areas/no-such-area", 404, "no area"), ("/api/areas/wpi-0", 404, "no area"),
    ("/api/areas/bad%20id", 404, "no area"), ("/api/areas/a%0Db", 400, "area_id"), ("/api/areas/rajin-port?since=2023-99-01", 400, "since"),
    ("/api/basemap?detail=10m", 400, "detail"), ("/api/nothing-here", 404, "not found"),
]


@pytest.mark.parametrize(("url", "status", "word"), BAD, ids=[b[0][:60] for b in BAD])
def test_bad_parameters_are_answered_with_a_message_never_a_500(web: Any, client: TestClient, url: str,
                                                               status: int, word: str) -> None:
    before = web.state.internal_errors
    r = client.get(url)
    assert r.status_code == status, (url, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert word.lower() in r.json()["error"].lower()
    assert web.state.internal_errors == before == 0
    assert ok(client, "/api/status")["counts"]["findings"] > 0  # and nothing was harmed


def test_unexpected_errors_become_a_generic_500(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sanctionwatch.web.api as api

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals /etc/shadow")

    monkeypatch.setattr(api, "findings_facets", broken)
    app = create_app(project_dir)
    try:
        r = TestClient(app, raise_server_exceptions=False).get("/api/findings")
    finally:
        app.state.web.close()
    assert r.status_code == 500 and "internal error" in r.json()["error"]
    assert "secret" not in r.text and app.state.internal_errors == 1


def test_the_api_writes_nothing(client: TestClient) -> None:
    for method in ("post", "put", "delete", "patch"):
        r = getattr(client, method)("/api/findings")
        assert r.status_code == 405 and "error" in r.json()


# --- static files -------------------------------------------------------------------------------

def test_ui_is_served_with_a_csp_that_forbids_remote_sources(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "http" not in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/api/status").headers["content-security-policy"] == csp
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert ref.startswith(("/static/", "#")), ref
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    for f in STATIC_DIR.rglob("*"):  # nothing in the UI reaches for the network
        if f.is_file() and f.suffix in (".html", ".js", ".css"):
            text = f.read_text(encoding="utf-8")
            if "vendor" not in f.parts:
                assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, f
            assert "<script>" not in text and "innerHTML" not in text if f.name == "app.js" else True


TRAVERSALS = [
    "/static/../app.py", "/static/../../../../etc/passwd", "/static/%2e%2e/app.py", "/static/%2E%2E/%2E%2E/web/app.py",
    "/static/..%2fapp.py", "/static/%2e%2e%2fapp.py", "/static/.%2e/app.py", "/static/%252e%252e/app.py",
    "/static/vendor/../../app.py", "/static/vendor/leaflet/../../../app.py", "/static//etc/passwd",
    "/static/%2fetc%2fpasswd", "/static/..\\app.py", "/static/..%5capp.py", "/static/%c0%ae%c0%ae/app.py",
    "/static/app.py%00.js", "/static/./app.js/../../app.py", "/static/.hidden", "/static/vendor/VENDOR.json/..",
    "/static/C:/Windows/win.ini", "/static/", "/static/vendor",
]


def _leaks(body: bytes) -> bool:
    return any(m in body for m in (b"def create_app", b"root:x:0:0", b"[fonts]", b"import "))


@pytest.fixture(scope="module")
def live(project_dir: Path) -> Iterator[tuple[str, int]]:
    """The app under a real uvicorn on 127.0.0.1 (a thread), for requests no HTTP client would normalise."""
    import uvicorn

    app = create_app(project_dir, allowed_hosts=["127.0.0.1", "localhost"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield "127.0.0.1", sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    sock.close()
    app.state.web.close()


def _raw_get(addr: tuple[str, int], path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*addr, timeout=10)
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)  # sent exactly as written
    conn.putheader("Host", host)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_on_static_files_gives_404_and_never_the_file(live: tuple[str, int], client: TestClient,
                                                                     path: str) -> None:
    status, body = _raw_get(live, path)
    assert status in (400, 404) and not _leaks(body), (path, status, body[:200])
    assert status == 404 or path.endswith("%00.js")  # a NUL in the path: the HTTP parser may refuse first
    r = client.get(path)  # the same through the test client (which normalises literal dot segments itself)
    assert r.status_code == 404 and not _leaks(r.content)


def test_a_symlink_out_of_the_static_folder_is_not_followed(project_dir: Path, tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static, ignore=shutil.ignore_patterns("vendor"))
    secret = tmp_path / "secret.txt"
    secret.write_text("import secrets; root:x:0:0", encoding="utf-8")
    (static / "link.txt").symlink_to(secret)
    (static / "dir").symlink_to(tmp_path)
    (static / "inside.txt").symlink_to(static / "app.css")  # a link that stays inside is fine
    app = create_app(project_dir, static_dir=static)
    try:
        c = TestClient(app)
        for p in ("/static/link.txt", "/static/dir/secret.txt"):
            r = c.get(p)
            assert r.status_code == 404 and not _leaks(r.content), p
        assert c.get("/static/inside.txt").status_code == 200
    finally:
        app.state.web.close()


def test_host_header_check_stops_dns_rebinding(live: tuple[str, int]) -> None:
    assert _raw_get(live, "/api/status")[0] == 200
    assert _raw_get(live, "/api/status", host=f"localhost:{live[1]}")[0] == 200
    status, body = _raw_get(live, "/api/status", host="attacker.example")
    assert status == 400 and b"Host" in body
    assert _raw_get(live, "/", host="attacker.example:80")[0] == 400


# --- token --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded(project_dir: Path) -> Iterator[Any]:
    app = create_app(project_dir, token=TOKEN)
    yield app
    app.state.web.close()


def test_with_a_token_every_request_needs_it(guarded: Any) -> None:
    c = TestClient(guarded)
    for path in ("/api/status", "/api/findings", "/", "/static/app.js", "/api/openapi.json", "/nothing"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 401, path
        assert "token" in r.json()["error"] and r.headers["www-authenticate"].startswith("Bearer")
        assert "default-src 'self'" in r.headers["content-security-policy"]
    for wrong in ("Bearer nope", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", "Bearer \u00e9\u00e9"):
        assert c.get("/api/status", headers={"Authorization": wrong.encode("latin-1")}).status_code == 401, wrong
    assert c.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/api/status?token=wrong").status_code == 401
    assert c.get("/api/status?token=%C3%A9%00").status_code == 401
    assert guarded.state.internal_errors == 0


def test_token_in_the_url_once_sets_an_httponly_strict_cookie(guarded: Any) -> None:
    c = TestClient(guarded)
    r = c.get(f"/?token={TOKEN}&x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?x=1"  # the token leaves the address bar
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie  # the cookie holds a value derived from the token, not the token
    assert c.get("/").status_code == 200 and c.get("/api/findings").status_code == 200  # the cookie now
    fresh = TestClient(guarded)
    fresh.cookies.set(COOKIE_NAME, "forged")
    assert fresh.get("/api/status").status_code == 401
    api = TestClient(guarded).get(f"/api/status?token={TOKEN}")
    assert api.status_code == 200 and COOKIE_NAME in api.headers["set-cookie"]
    # never an open redirect: '//host' paths come back as a local path
    r = TestClient(guarded).get(f"//attacker.example/x?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/") and not r.headers["location"].startswith("//")


# --- the serve command --------------------------------------------------------------------------

runner = CliRunner()


def test_serve_refuses_a_non_loopback_host_without_a_token(project_dir: Path) -> None:
    env = {"SANCTIONWATCH_TOKEN": ""}
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        result = runner.invoke(cli_app, ["serve", str(project_dir), "--host", host], env=env)
        assert result.exit_code == 2, result.output
        assert "needs a token" in result.output and "SANCTIONWATCH_TOKEN" in result.output
    short = runner.invoke(cli_app, ["serve", str(project_dir), "--host", "0.0.0.0", "--token", "short"], env=env)
    assert short.exit_code == 2 and "at least 16 characters" in short.output
    missing = runner.invoke(cli_app, ["serve", str(project_dir.parent / "nope"), "--port", "0"], env=env)
    assert missing.exit_code == 4 and "not a sanctionwatch project" in missing.output
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.org", "localhost.example.org"))


def test_serve_starts_on_loopback_and_with_a_token_from_the_environment(project_dir: Path) -> None:
    import httpx

    with serving(project_dir) as url:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        assert httpx.get(url + "api/status", timeout=20).json()["counts"]["findings"] > 0
        assert "default-src 'self'" in httpx.get(url, timeout=20).headers["content-security-policy"]
    with serving(project_dir, "--host", "127.0.0.1", env={"SANCTIONWATCH_TOKEN": TOKEN}) as url:
        assert url.endswith(f"/?token={TOKEN}")  # printed at start, to open once
        base = url.split("?")[0]
        assert httpx.get(base + "api/status", timeout=20).status_code == 401
        assert httpx.get(base + "api/status", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=20).status_code == 200
