"""The web app in headless Chromium, served by `sanctionwatch serve` on 127.0.0.1: the map draws the
basemap, areas, the track and events; the findings list filters to what the API says; the vessel
page's time slider limits the track; no console errors (CSP violations included). Screenshots go
to benchmarks/out/screenshots/web_*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import browser, console_errors, screenshot  # noqa: F401  (browser: the session fixture)
from tests.web_server import serving

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token-0123456789"


@pytest.fixture(scope="module")
def server(demo_dir: Path) -> Iterator[str]:
    with serving(demo_dir / "project") as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Any:  # noqa: F811  (the imported fixture)
    console_errors(browser)  # drain what earlier tests left in the log
    yield browser
    errors = console_errors(browser)
    assert errors == [], errors


def api(server: str, path: str, **params: Any) -> Any:
    r = httpx.get(server + path.lstrip("/"), params=params, timeout=30)
    r.raise_for_status()
    return r.json()


def js(driver: Any, script: str) -> Any:
    return driver.execute_script("return " + script)


def wait_ready(driver: Any, extra: str = "true") -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(lambda d: js(
        d, f"document.getElementById('panel').dataset.state === 'ready' && document.body.dataset.basemap === 'ready' "
           f"&& ({extra})"))


def count(driver: Any, selector: str) -> int:
    return int(js(driver, f"document.querySelectorAll({selector!r}).length"))


def test_findings_list_filters_and_the_map_draws_land_and_areas(page: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page.get(server + "#/findings")
    wait_ready(page, "!!document.getElementById('findings-count')")
    every = api(server, "/api/findings", limit=500)
    assert int(page.find_element(By.ID, "findings-count").get_attribute("data-total")) == every["total"] > 0
    assert count(page, "#findings-table tbody tr") == min(every["total"], 50)
    assert count(page, "path.sw-land") > 500  # Natural Earth polygons, drawn as SVG paths by Leaflet
    assert count(page, "path.sw-area") >= 6   # the watched areas
    screenshot(page, "web_findings")

    rule = min(every["facets"]["rules"], key=lambda r: (every["facets"]["rules"][r], r))
    Select(page.find_element(By.ID, "filter-rule")).select_by_value(rule)
    expected = api(server, "/api/findings", rule=rule)["total"]
    assert 0 < expected < every["total"]
    wait_ready(page, f"document.getElementById('findings-count').dataset.total === '{expected}'")
    assert count(page, "#findings-table tbody tr") == expected
    assert f"rule={rule}" in page.current_url

    Select(page.find_element(By.ID, "filter-rule")).select_by_value("")  # back to every finding
    wait_ready(page, f"document.getElementById('findings-count').dataset.total === '{every['total']}'")
    vessel = page.find_element(By.ID, "filter-vessel")
    vessel.send_keys("9179842")
    page.find_element(By.CSS_SELECTOR, "#findings-filters button[type=submit]").click()
    expected = api(server, "/api/findings", vessel="9179842")["total"]
    wait_ready(page, f"document.getElementById('findings-count').dataset.total === '{expected}'")
    assert 0 < expected < every["total"]
    screenshot(page, "web_findings_filtered")


def test_vessel_page_draws_the_track_and_the_slider_limits_it(page: Any, server: str) -> None:
    page.get(server + "#/vessel/9179842")
    wait_ready(page, "!!document.getElementById('vessel-title')")
    detail = api(server, "/api/vessels/9179842")
    assert js(page, "document.getElementById('vessel-title').textContent") == detail["label"]
    assert count(page, "#identities-table tbody tr") == len(detail["identities"])
    assert count(page, "#matches-table tbody tr") == len(detail["matches"]) == 1
    assert count(page, "#events-table tbody tr") == len(detail["events"])
    assert count(page, "path.sw-track") > 0 and count(page, "path.sw-event") > 0
    assert count(page, "path.sw-gap") > 0  # AIS gaps, dashed
    assert js(page, "document.getElementById('slider-box').hidden") is False
    track = api(server, "/api/vessels/9179842/track", max_points=3000)
    full = int(js(page, "document.getElementById('time-slider').dataset.shownVertices"))
    assert full == track["n_vertices"]
    length_full = js(page, "[...document.querySelectorAll('path.sw-track')].map(p => (p.getAttribute('d') || '').length)"
                           ".reduce((a, b) => a + b, 0)")
    screenshot(page, "web_vessel")

    page.execute_script("const s = document.getElementById('time-slider'); s.value = 300; "
                        "s.dispatchEvent(new Event('input'));")
    tmin, tmax = (int(js(page, f"Number(document.getElementById('time-slider').dataset.{k})")) for k in ("tmin", "tmax"))
    cut = tmin + (tmax - tmin) * 0.3
    expected = sum(1 for f in track["features"] for t in f["properties"]["times_ms"] if t <= cut)
    shown = int(js(page, "document.getElementById('time-slider').dataset.shownVertices"))
    assert shown == expected and 0 < shown < full
    length_cut = js(page, "[...document.querySelectorAll('path.sw-track')].map(p => (p.getAttribute('d') || '').length)"
                          ".reduce((a, b) => a + b, 0)")
    assert length_cut < length_full
    label = js(page, "document.getElementById('time-label').value")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\dZ", label)
    screenshot(page, "web_vessel_slider")


def test_area_page_search_and_finding_evidence(page: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    page.get(server + "#/area/tumangang-khasan-rail-crossing")
    wait_ready(page, "!!document.getElementById('area-title')")
    area = api(server, "/api/areas/tumangang-khasan-rail-crossing")
    assert count(page, "#activity-chart polyline") >= 1
    assert count(page, "#activity-chart circle.anomaly") == len(area["activity"]["anomalies"]) > 0
    assert count(page, "path.sw-area") == 1
    screenshot(page, "web_area")

    box = page.find_element(By.ID, "search-q")
    box.clear()
    box.send_keys("angara")
    page.find_element(By.CSS_SELECTOR, "#search button").click()
    found = api(server, "/api/vessels", q="angara")
    wait_ready(page, f"document.getElementById('vessels-count')?.dataset.total === '{found['total']}'")
    assert count(page, "#vessels-table tbody tr") == found["total"] == 1
    page.find_element(By.CSS_SELECTOR, "#vessels-table tbody a").click()
    wait_ready(page, "!!document.getElementById('vessel-title')")
    screenshot(page, "web_search_to_vessel")

    finding = max(api(server, "/api/findings", limit=500)["items"], key=lambda f: len(f["event_ids"]))
    page.get(server + "#/finding/" + finding["finding_id"])
    wait_ready(page, "!!document.getElementById('evidence-table')")
    detail = api(server, "/api/findings/" + finding["finding_id"])
    assert count(page, "#evidence-table tbody tr") == len(detail["evidence"]) > 0
    assert count(page, "#evidence-table .status-ok") == sum(e["status"] == "ok" for e in detail["evidence"])
    assert count(page, "#events-table tbody tr") == len(detail["events"])
    assert count(page, "path.sw-event") + count(page, "path.sw-gap") + count(page, "path.sw-voyage") > 0
    screenshot(page, "web_finding")


def test_token_url_sets_the_cookie_and_the_app_works_with_it(page: Any, demo_dir: Path) -> None:
    with serving(demo_dir / "project", env={"SANCTIONWATCH_TOKEN": TOKEN}) as url:
        base = url.split("?")[0]
        assert httpx.get(base + "api/status", timeout=30).status_code == 401
        page.get(url)  # once with ?token=: redirected to the same page without it, with the cookie
        wait_ready(page, "!!document.getElementById('findings-count')")
        assert "token" not in page.current_url
        cookie = page.get_cookie("sanctionwatch_session")
        assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        assert js(page, "document.cookie") == ""  # HttpOnly: scripts cannot read it
        page.delete_all_cookies()
