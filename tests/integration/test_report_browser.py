"""The report and the dossier in headless Chromium, opened from file:// like a reader would: every
finding map draws what its data holds (tracks, dashed AIS gaps, marks, areas) on the offline
basemap, timelines and charts are there, nothing is fetched and the console stays clean."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.report.dossier import build_dossier
from sanctionwatch.report.html import build_report
from sanctionwatch.store import Project
from tests.browser import browser, console_errors, screenshot  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report-browser")
    with Project.open(demo_dir / "project", read_only=True) as p:
        build_report(p, out / "report.html")
        build_dossier(p, "9179842", out / "angara.html")
    return out / "report.html", out / "angara.html"


def _wait(driver: Any, script: str, *args: Any, timeout: float = 15.0) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value or time.monotonic() > end:
            return value
        time.sleep(0.1)


_COUNT = """
const el = arguments[0];
const n = (sel) => el.querySelectorAll(sel).length;
return {rendered: el.getAttribute('data-rendered') === '1', land: n('path.sw-land'), track: n('path.sw-track'),
        gap: n('path.sw-gap'), inferred: n('path.sw-inferred'), mark: n('path.sw-mark'), icon: n('.sw-icon'),
        area: n('path.sw-area'), dashed: Array.from(el.querySelectorAll('path.sw-gap'))
          .filter(p => (p.getAttribute('stroke-dasharray') || '').trim() !== '').length};
"""


def _expected(data: dict[str, Any]) -> dict[str, int]:
    return {
        "track": sum(1 for t in data["tracks"] if any(len(p) >= 4 for p in t["parts"])),
        "gap": sum(1 for ln in data["lines"] if ln["k"] == "gap"),
        "inferred": sum(1 for ln in data["lines"] if ln["k"] == "inferred"),
        "icon": sum(1 for m in data["marks"] if m["k"] in ("sighting", "detection", "dark")),
        "mark": sum(1 for m in data["marks"] if m["k"] not in ("sighting", "detection", "dark")),
        "area": len(data["areas"]),
    }


def _check_maps(driver: Any, shots: str) -> list[dict[str, int]]:
    maps = driver.find_elements("css selector", "div.map[data-map]")
    assert maps
    seen = []
    best_gap = (-1, None)
    for k, el in enumerate(maps):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        assert _wait(driver, "return arguments[0].getAttribute('data-rendered') === '1'", el), f"map {k} not drawn"
        data = json.loads(driver.execute_script(
            "return document.getElementById(arguments[0].getAttribute('data-map')).textContent", el))
        want = _expected(data)
        got = _wait(driver, _COUNT + "", el)
        assert got["land"] > 0, f"map {k}: no basemap"
        for key, n in want.items():
            if key == "area":
                assert got[key] >= n, (k, key, got, want)  # a multipolygon area draws one path per part
            else:
                assert got[key] == n, (k, key, got, want)
        assert got["dashed"] == got["gap"]  # every AIS gap line is dashed
        assert sum(want.values()) > 0, f"map {k} draws nothing"
        if got["gap"] > best_gap[0]:
            best_gap = (got["gap"], k)
        if k == 0:
            screenshot(driver, f"{shots}-first-map")
        seen.append(got)
    assert best_gap[0] > 0, "no map draws an AIS gap"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", maps[best_gap[1]])
    time.sleep(0.3)
    screenshot(driver, f"{shots}-gaps")
    return seen


def test_report_renders_its_maps_timelines_and_charts(browser: Any, pages: tuple[Path, Path]) -> None:  # noqa: F811
    report, _ = pages
    browser.get(report.as_uri())
    screenshot(browser, "report-summary")
    sections = browser.find_elements("css selector", "section.finding")
    seen = _check_maps(browser, "report")
    assert len(seen) == len(sections)  # every demo finding has a map
    assert sum(s["track"] for s in seen) >= 5 and sum(s["icon"] for s in seen) >= 3
    timelines = browser.find_elements("css selector", "svg.sw-timeline")
    assert len(timelines) >= 8 and all(t.size["height"] > 40 for t in timelines)
    bars = browser.find_elements("css selector", "svg.sw-bars rect.bar-inferred")
    activity = browser.find_elements("css selector", "svg.sw-activity")
    assert bars and activity
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", activity[0])
    time.sleep(0.2)
    screenshot(browser, "report-activity-chart")
    assert browser.find_elements("css selector", "svg.sw-activity circle.act-spike")
    assert browser.find_elements("css selector", "svg.sw-activity line.act-change")
    # offline: nothing but the page itself (and data: URIs) was loaded, and no error was logged
    remote = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'))")
    assert remote == []
    assert browser.execute_script("return document.querySelectorAll('a[href^=\"http\"], [src^=\"http\"]').length") == 0
    assert console_errors(browser) == []


def test_dossier_renders_the_track(browser: Any, pages: tuple[Path, Path]) -> None:  # noqa: F811
    _, dossier = pages
    browser.get(dossier.as_uri())
    seen = _check_maps(browser, "dossier")
    assert len(seen) == 1 and seen[0]["track"] == 1 and seen[0]["gap"] > 10
    assert browser.find_elements("css selector", "svg.sw-timeline")
    assert console_errors(browser) == []
