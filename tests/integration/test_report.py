"""The HTML report and the vessel dossier on the demo project: self-contained, every finding told
with its statement, the quoted evidence lines exactly the resolver's, the embedded data parseable
and within its point budget, written atomically; plus the CLI around them."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import app
from sanctionwatch.findings.evidence import resolve_evidence
from sanctionwatch.findings.store import FindingFilter, findings_frame
from sanctionwatch.report.assets import json_script_text, leaflet_js, report_js
from sanctionwatch.report.context import ReportOptions
from sanctionwatch.report.dossier import build_dossier
from sanctionwatch.report.html import ReportStats, build_report
from sanctionwatch.report.mapdata import decode_coords, encode_coords, simplify_track
from sanctionwatch.store import Project

ANGARA_MMSI, ANGARA_IMO = 273210440, 9179842
BUDGET = 60  # vertices per track: small, so the demo's tracks must really be simplified


class Page(HTMLParser):
    """What the tests look at in a generated page: every tag's attributes, the JSON data blocks,
    the finding sections and the evidence rows (with the finding they belong to)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.sections: list[str] = []
        self.evidence: dict[str, list[dict[str, Any]]] = {}
        self._script: dict[str, str | None] | None = None
        self._buf: list[str] = []
        self._row: dict[str, Any] | None = None
        self._code = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._script, self._buf = a, []
        elif tag == "section" and a.get("data-finding-id"):
            self.sections.append(str(a["data-finding-id"]))
            self.evidence.setdefault(str(a["data-finding-id"]), [])
        elif tag == "tr" and "evidence-row" in (a.get("class") or ""):
            self._row = {"source_id": a["data-source-id"], "record_no": int(a["data-record-no"] or 0), "text": ""}
            self.evidence[self.sections[-1]].append(self._row)
        elif tag == "code" and self._row is not None:
            self._code = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buf)))
            self._script = None
        elif tag == "tr":
            self._row = None
        elif tag == "code":
            self._code = False

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buf.append(data)
        elif self._code and self._row is not None:
            self._row["text"] += data

    def json_blocks(self) -> dict[str, Any]:
        return {str(a.get("id")): json.loads(text) for a, text in self.scripts if a.get("type") == "application/json"}


@pytest.fixture(scope="module")
def built(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, ReportStats]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    with Project.open(demo_dir / "project", read_only=True) as p:
        stats = build_report(p, out, options=ReportOptions(points_per_track=BUDGET))
    return out, out.read_text(encoding="utf-8"), stats


@pytest.fixture(scope="module")
def page(built: tuple[Path, str, ReportStats]) -> Page:
    return Page(built[1])


def _assert_self_contained(text: str, page: Page) -> None:
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), (tag, name, value)
            if tag == "link" and name == "href":
                assert value.startswith("data:"), value  # only the empty data: favicon
        assert not (tag == "script" and attrs.get("src")), "scripts are inlined"
    # stylesheets: only data: URIs (Leaflet's images inlined)
    styles = re.findall(r"<style>(.*?)</style>", text, flags=re.S)
    assert styles and all(u.startswith("data:") for s in styles for u in re.findall(r"url\(([^)]*)\)", s))
    # Leaflet itself is inlined, without its source-map comment; our script fetches nothing
    assert leaflet_js()[:2000] in text and leaflet_js()[-2000:] in text
    assert "sourceMappingURL" not in text
    assert not re.search(r"\bfetch\(|XMLHttpRequest|import\(|new WebSocket", report_js())
    # and the browser is told to refuse anything remote
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp and "http" not in csp


def test_the_report_is_self_contained(built: tuple[Path, str, ReportStats], page: Page) -> None:
    _assert_self_contained(built[1], page)
    scripts = [a for a, _ in page.scripts]
    assert sum(1 for a in scripts if a.get("type") is None) == 2  # Leaflet and the report's own script


def test_every_finding_appears_with_its_statement(demo_dir: Path, built: tuple[Path, str, ReportStats],
                                                  page: Page) -> None:
    _, text, stats = built
    with Project.open(demo_dir / "project", read_only=True) as p:
        found = findings_frame(p)
    assert found.height >= 10 and stats.findings == found.height
    assert page.sections == found.get_column("finding_id").to_list()  # most severe first, as stored
    plain = unescape(text)
    for r in found.iter_rows(named=True):
        assert r["statement"] in plain, r["finding_id"]
        assert f'id="f-{r["finding_id"]}"' in text
        assert f'href="#f-{r["finding_id"]}"' in text  # listed in the summary
    assert stats.by_severity["high"] == found.filter(found["severity"] == "high").height
    for section in ("summary", "findings", "parameters", "sources", "methods"):
        assert f'<section id="{section}">' in text
    # parameters and data sources: the params id, every AIS file with its hash, the lists with their dates
    with Project.open(demo_dir / "project", read_only=True) as p:
        assert p.config.params_id in text
        for path, sha in p.con.sql("SELECT path, sha256 FROM sources").fetchall():
            assert Path(path).name in text and sha in text
        for name, as_of in p.con.sql("SELECT list_name, as_of_utc FROM lists").fetchall():
            assert name in text and f"{as_of:%Y-%m-%d}" in text


def test_evidence_lines_shown_are_the_resolvers(demo_dir: Path, page: Page) -> None:
    with Project.open(demo_dir / "project", read_only=True) as p:
        found = findings_frame(p)
        shown_any = 0
        for r in found.iter_rows(named=True):
            refs = list(dict.fromkeys((e["source_id"], e["record_no"]) for e in r["evidence"]))
            expected = resolve_evidence(p, refs[:50]).to_dicts()
            shown = page.evidence[r["finding_id"]]
            assert [(e["source_id"], e["record_no"]) for e in shown] == [
                (e["source_id"], e["record_no"]) for e in expected]
            for got, want in zip(shown, expected, strict=True):
                assert want["status"] == "ok" and got["text"] == want["text"]
            shown_any += len(shown)
    assert shown_any > 50


def test_embedded_json_parses_and_tracks_keep_their_budget(demo_dir: Path, built: tuple[Path, str, ReportStats],
                                                           page: Page) -> None:
    _, _, stats = built
    blocks = page.json_blocks()
    basemap = blocks.pop("sw-basemap")
    assert basemap["type"] == "FeatureCollection" and len(basemap["features"]) > 0
    assert all(k.endswith("-data") for k in blocks) and len(blocks) == stats.maps
    assert stats.track_budget == BUDGET
    drawn = stored = 0
    with Project.open(demo_dir / "project", read_only=True) as p:
        gaps = {r["event_id"]: json.loads(r["attrs_json"]) for r in
                p.query("SELECT event_id, attrs_json FROM events WHERE event_type = 'ais_gap'").iter_rows(named=True)}
        for data in blocks.values():
            for t in data["tracks"]:
                pts = np.vstack([decode_coords(part) for part in t["parts"]])
                assert len(pts) == t["drawn"] <= BUDGET
                assert t["drawn"] <= t["stored"]
                drawn, stored = drawn + t["drawn"], stored + t["stored"]
                # every drawn vertex is a reported position of that vessel (to the 1e-4 degree encoding)
                pos = p.query("SELECT lat_deg, lon_deg FROM {positions} WHERE mmsi = ?", [t["mmsi"]]).to_numpy()
                d = np.abs(pos[None, :, :] - pts[:, None, :]).max(axis=2).min(axis=1)
                assert d.max() <= 0.6e-4, t["label"]
    assert stats.points_drawn == drawn and stats.points_stored == stored and drawn < stored / 10
    # gaps are drawn between their OFF and ON positions
    gap_lines = [ln for data in blocks.values() for ln in data["lines"] if ln["k"] == "gap"]
    assert gap_lines
    ends = {(round(a["off_lat_deg"], 5), round(a["off_lon_deg"], 5), round(a["on_lat_deg"], 5),
             round(a["on_lon_deg"], 5)) for a in gaps.values() if a.get("on_lat_deg") is not None}
    for ln in gap_lines:
        (a, b), (c, d) = ln["ll"]
        assert (round(a, 5), round(b, 5), round(c, 5), round(d, 5)) in ends


def test_charts_and_timelines_are_drawn(page: Page, built: tuple[Path, str, ReportStats]) -> None:
    _, text, _ = built
    assert text.count('class="sw-chart sw-timeline"') >= 8
    assert 'class="sw-chart sw-bars"' in text and 'class="bar-inferred"' in text  # the voyage findings
    assert 'class="sw-chart sw-activity"' in text and 'class="act-spike"' in text and 'class="act-change"' in text


def test_filters_select_the_findings(demo_dir: Path, tmp_path: Path) -> None:
    with Project.open(demo_dir / "project", read_only=True) as p:
        flt = FindingFilter(min_severity="high", mmsi=ANGARA_MMSI)
        want = findings_frame(p, flt).get_column("finding_id").to_list()
        stats = build_report(p, tmp_path / "r.html", flt=flt, title="ANGARA <high>")
    page = Page((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert want and page.sections == want and stats.findings == len(want)
    assert "<title>ANGARA &lt;high&gt;</title>" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_the_write_is_atomic(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.html"
    out.write_text("the previous report", encoding="utf-8")
    real = Path.write_bytes

    def half_then_fail(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with Project.open(demo_dir / "project", read_only=True) as p, pytest.raises(OSError):
        build_report(p, out)
    assert out.read_text(encoding="utf-8") == "the previous report"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["report.html"]  # no partial file left


def test_json_blocks_cannot_close_their_script() -> None:
    nasty = {"s": "</script><script>alert(1)</script> <!-- & \u2028", "n": [1, 2.5, None]}
    text = json_script_text(nasty)
    assert "</" not in text and "<!--" not in text and json.loads(text) == nasty


def test_simplify_keeps_the_budget_and_real_fixes() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    ts = np.arange(n, dtype=np.int64) * 60_000_000
    ts[10_000:] += 12 * 3600 * 1_000_000  # a 12 h hole: the track splits there
    lat = 42 + np.cumsum(rng.normal(0, 1e-3, n))
    lon = 179.0 + np.cumsum(rng.normal(0, 1e-3, n)) + np.linspace(0, 2, n)  # crosses the antimeridian
    lon = np.mod(lon + 180, 360) - 180
    tr = simplify_track(lat, lon, ts, 300, split_gap_s=6 * 3600)
    assert tr.n_stored == n and tr.n_drawn == sum(len(p) for p in tr.parts) <= 300
    assert len(tr.parts) == 2 and tr.n_drawn > 100
    pts = np.vstack(tr.parts)
    assert pts[:, 1].max() > 180  # unwrapped: no jump back across the map
    fixes = {(round(a, 9), round(np.mod(b + 180, 360) - 180, 9)) for a, b in zip(lat, lon, strict=True)}
    assert all((round(a, 9), round(np.mod(b + 180, 360) - 180, 9)) in fixes for a, b in pts)
    assert np.abs(decode_coords(encode_coords(pts)) - pts).max() <= 0.5e-4 + 1e-12
    few = simplify_track(lat[:10], lon[:10], ts[:10], 300, 6 * 3600)
    assert few.n_drawn == 10 and few.tolerance_m == 0.0


def test_dossier_for_angara(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "angara.html"
    with Project.open(demo_dir / "project", read_only=True) as p:
        stats = build_dossier(p, str(ANGARA_IMO), out)
        mine = findings_frame(p, FindingFilter(mmsi=ANGARA_MMSI))
        n_events = p.query("SELECT count(*) FROM events WHERE mmsi = ? OR other_mmsi = ?",
                           [ANGARA_MMSI, ANGARA_MMSI]).item()
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    _assert_self_contained(text, page)
    plain = unescape(text)
    assert "Vessel dossier: ANGARA (IMO 9179842)" in plain
    assert "ofac-sdn" in text and "IMO 9179842 broadcast is listed" in plain  # the screening match and why
    assert re.search(r"<table class=\"identities\">.*ANGARA.*9179842", text, flags=re.S)
    assert mine.height >= 3 and page.sections == mine.get_column("finding_id").to_list()
    for s in mine.get_column("statement"):
        assert s in plain
    blocks = page.json_blocks()
    track = blocks["m1-data"]["tracks"]
    assert [t["mmsi"] for t in track] == [ANGARA_MMSI] and track[0]["stored"] > 10_000
    assert stats.maps == 1 and stats.points_stored == track[0]["stored"]
    events = text[text.index('<section id="events">'):]
    events = events[: events.index("</section>")]
    assert f"Events of the vessel: {n_events:,}" in events
    assert events.count('class="ev ev-') == n_events  # all of them (fewer than the dossier's row cap)
    assert 'class="sw-chart sw-timeline"' in text and 'class="sw-chart sw-bars"' in text


def test_cli_report_and_dossier(demo_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    project = str(demo_dir / "project")
    out = tmp_path / "high.html"
    res = runner.invoke(app, ["report", project, "-o", str(out), "--min-severity", "high", "--vessel", "ANGARA"])
    assert res.exit_code == 0, res.output
    assert "Open it in a browser" in res.output and out.as_uri() in res.output.replace("\n", "")
    with Project.open(demo_dir / "project", read_only=True) as p:
        want = findings_frame(p, FindingFilter(min_severity="high", mmsi=ANGARA_MMSI)).get_column("finding_id")
    assert Page(out.read_text(encoding="utf-8")).sections == want.to_list()

    res = runner.invoke(app, ["dossier", project, "273210440", "-o", str(tmp_path / "v.html")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "v.html").stat().st_size > 100_000

    bad = [
        (["report", project, "-o", str(tmp_path / "x.html"), "--min-severity", "urgent"], "--min-severity"),
        (["report", project, "-o", str(tmp_path / "missing" / "x.html")], "does not exist"),
        (["report", project, "-o", str(tmp_path / "x.html"), "--vessel", "123456789"], "no vessel with MMSI"),
        (["dossier", project, "NO SUCH SHIP", "-o", str(tmp_path / "x.html")], "no vessel named like"),
        (["dossier", project, "SIM", "-o", str(tmp_path / "x.html")], "give the MMSI or IMO"),
        (["dossier", str(tmp_path), "9179842", "-o", str(tmp_path / "x.html")], "not a sanctionwatch project"),
    ]
    for args, message in bad:
        res = runner.invoke(app, args)
        assert res.exit_code in (2, 4), (args, res.output)
        assert message in " ".join(res.output.split()), (args, res.output)
        assert "Traceback" not in res.output
    assert not (tmp_path / "x.html").exists()


def test_a_project_without_findings_still_gets_its_report(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    res = CliRunner().invoke(app, ["report", str(tmp_path / "p"), "-o", str(tmp_path / "r.html"), "--rule", "x"])
    assert res.exit_code == 0, res.output
    assert "has no findings yet: run `sanctionwatch findings" in res.output and "0 findings" in res.output
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    page = Page(text)
    _assert_self_contained(text, page)
    assert page.sections == [] and "No findings match the filters" in text
    assert '<section id="parameters">' in text and "No AIS file ingested" in text


def test_a_rule_without_findings_is_warned_about_with_the_rules_there_are(demo_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(demo_dir / "project"), "-o", str(tmp_path / "r.html"),
                                   "--rule", "no_such_rule"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "no finding of rule 'no_such_rule'" in res.output and "voyages_between_groups" in res.output
