"""`sanctionwatch demo`: the bundled investigation, end to end, through the users' own code path.

The scenario files are written first (deterministic), then ingested exactly as
`sanctionwatch ingest` would (same reader registry, same pipeline, same store). Running the
demo again in the same folder re-creates identical files, so the ingest reports them as already
ingested and the project is unchanged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from sanctionwatch.store import DB_NAME, Project

__all__ = ["run_demo"]

# The vessel the demo story follows (facts.md: ANGARA, IMO 9179842).
STORY_MMSI = 273210440
STORY_IMO = 9179842


def run_demo(directory: Path, console: Console) -> None:
    from sanctionwatch.cli import print_ingest_summary, run_ingest
    from sanctionwatch.demo.scenario import build_scenario

    directory = directory.resolve()
    inputs, project_dir = directory / "inputs", directory / "project"
    console.print(Panel.fit(
        "SIMULATED scenario built on public reporting: a US-sanctioned Russian cargo ship shuttling\n"
        "between Rajin (DPRK) and Russian Far East ports from August 2023, AIS off on most crossings.\n"
        "Real places, names, IMO numbers and dates; every track and timestamp is generated.",
        title="sanctionwatch demo", border_style="yellow"))
    with console.status("Writing the scenario's AIS files (NMEA receiver logs, satellite CSV)..."):
        manifest = build_scenario(inputs)
    console.print(f"Wrote {len(manifest.files)} input files to {inputs} (see SCENARIO.md there).")

    if not (project_dir / DB_NAME).exists():
        Project.init(project_dir).close()
        # The case's own focus, as an analyst would set it: deliveries counted from August 2023
        # (the reporting's start), and calls at DPRK ports and Chinese shipyards as findings.
        with (project_dir / "sanctionwatch.toml").open("a", encoding="utf-8") as fh:
            fh.write('"findings.voyage_since" = "2023-08-01"\n'
                     '"findings.watched_groups" = "dprk_ports,china_shipyards"\n')
    project = Project.open(project_dir)
    try:
        nmea = [inputs / f.name for f in manifest.files if f.kind == "nmea"]
        csvs = [inputs / f.name for f in manifest.files if f.kind == "csv"]
        mappings = {f.name: inputs / f.name for f in manifest.files if f.kind == "mapping"}
        reports, errors = run_ingest(project, nmea, quiet=True)
        for csv in csvs:
            mapping = mappings.get(csv.stem + ".mapping.yaml") or next(iter(mappings.values()), None)
            more, errs = run_ingest(project, [csv], mapping=mapping, quiet=True)
            reports += more
            errors += errs
        from sanctionwatch.engines.local import run_local

        with console.status("Computing tracks and events (gaps, port visits, spoofing indicators)..."):
            events = run_local(project)
        event_counts = project.query(
            "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 1").iter_rows()
        story_visits = project.query(
            "SELECT area_id, count(*) AS n FROM events WHERE event_type = 'port_visit' AND mmsi = ? "
            "GROUP BY 1 ORDER BY 2 DESC", [STORY_MMSI]).iter_rows()
        from sanctionwatch.events.voyages import count_voyages

        deliveries = count_voyages(project.query("SELECT * FROM events WHERE event_type = 'voyage'"),
                                   "russia_far_east_ports", "dprk_ports", dt.datetime(2023, 8, 1, tzinfo=dt.UTC),
                                   mmsi=STORY_MMSI)
        with console.status("Loading sanctions lists and screening every vessel..."):
            screened = _screen(project, inputs)
        with console.status("Adding imagery: scenes, detections, sightings, rail counts; matching to AIS..."):
            imagery = _imagery(project, inputs)
        with console.status("Running the findings rules over events, screening and imagery..."):
            from sanctionwatch.findings.engine import run_findings
            from sanctionwatch.findings.store import findings_frame

            findings_report = run_findings(project)
            top = findings_frame(project, limit=8)
        with console.status("Writing the HTML report (maps, timelines, evidence)..."):
            from sanctionwatch.report.html import build_report

            report_path = directory / "report.html"
            report_stats = build_report(project, report_path,
                                        title="SIMULATED case: ANGARA and the Rajin shuttle (sanctionwatch demo)")
        counts = project.table_counts()
        story = project.query(
            "SELECT count(*) n, min(ts_utc) t0, max(ts_utc) t1 FROM {positions} WHERE mmsi = ?", [STORY_MMSI]
        ).row(0)
    finally:
        project.close()
    print_ingest_summary(reports)
    if errors:
        console.print(f"[red]{len(errors)} input file(s) failed:[/] " + "; ".join(errors))
    n, t0, t1 = story
    console.print(
        f"\nProject: [bold]{project_dir}[/]\n"
        f"  {counts['positions']:,} positions, {counts['identities']:,} identities, "
        f"{counts['quarantine']:,} quarantined records, {counts['sources']:,} sources.\n"
        f"  ANGARA (MMSI {STORY_MMSI}, IMO {STORY_IMO}): {n:,} AIS positions"
        + (f" from {t0:%Y-%m-%d} to {t1:%Y-%m-%d}" if n else "")
        + " - the gaps between them are the dark crossings the next stages reconstruct.\n"
    )
    console.print(
        f"Events ({events.seconds:.1f} s): " + ", ".join(f"{n:,} {t}" for t, n in event_counts)
        + ".\n  ANGARA's AIS-observed port visits: " + ", ".join(f"{n} at {a}" for a, n in story_visits)
        + ". Its Rajin trips are mostly dark: they show as long AIS gaps at the Russian end.\n"
    )
    observed = deliveries.filter(deliveries["basis"] == "ais").height
    console.print(
        f"[bold]ANGARA: {deliveries.height} voyages between Russian Far East ports and Rajin since "
        f"2023-08-01[/] ({observed} observed in AIS, {deliveries.height - observed} inferred from AIS gaps "
        "that fit a round trip at 15 kn). Public reporting: at least 11 deliveries (RUSI).\n"
    )
    _print_screening(console, *screened)
    _print_imagery(console, *imagery)
    _print_findings(console, findings_report, top)
    console.print(
        f"\n[bold]Report[/]: {report_path} ({report_stats.bytes / 1e6:.1f} MB, {report_stats.findings} findings, "
        f"one self-contained file: works offline, can be e-mailed).\n"
        f"  Open it:    {report_path.as_uri()}\n"
        f"  Or browse the case in the local web app (this machine only):\n"
        f"              sanctionwatch serve {project_dir}   then open http://127.0.0.1:8765/\n", highlight=False)
    console.print(
        "Next:\n"
        f"  sanctionwatch findings {project_dir} --min-severity high\n"
        f"  sanctionwatch evidence {project_dir} ID          (an id from `findings`: events and input lines)\n"
        f"  sanctionwatch dossier {project_dir} {STORY_IMO} -o angara.html\n"
        f"  sanctionwatch export-findings {project_dir} -o findings.kml   (Google Earth; also .geojson .csv .parquet)\n"
        f"  sanctionwatch vessel {project_dir} {STORY_IMO}\n"
        f"  sanctionwatch voyages {project_dir} --from russia_far_east_ports --to dprk_ports --since 2023-08-01\n"
        f"  sanctionwatch screen {project_dir} --status match\n"
        f"  sanctionwatch network {project_dir} {STORY_IMO} --depth 2\n"
        f"  sanctionwatch activity {project_dir} --site tumangang-khasan-rail-crossing"
    )


def _print_findings(console: Console, report: Any, top: Any) -> None:
    from rich.markup import escape

    console.print(f"\n[bold]Findings[/]: {report.total} from {len(report.rules)} rules ("
                  + ", ".join(f"{n} {r}" for r, n in report.by_rule.items()) + "). The most severe:")
    for r in top.iter_rows(named=True):
        console.print(f"  \\[{r['severity']}] {escape(r['statement'])} (confidence {r['confidence']:.2f}; "
                      f"{len(r['evidence'])} input records)", highlight=False)


def _screen(project: Project, inputs: Path) -> tuple[list[Any], Any, list[Any]]:
    """Load the demo's lists (real OFAC rows, a simulated analyst watchlist) and screen the fleet."""
    from sanctionwatch.demo.lists import WATCHLIST_NAME
    from sanctionwatch.screening.catalog import add_list
    from sanctionwatch.screening.network import build_graph, neighbourhood
    from sanctionwatch.screening.screen import screen_project, screening_results

    # The legacy OFAC CSV states no date; the excerpt's sdn.csv is the list of 2024-05-03 (SOURCES).
    loaded = [add_list(project, inputs / "lists" / "ofac" / "sdn.csv", as_of=dt.datetime(2024, 5, 3, tzinfo=dt.UTC)),
              add_list(project, inputs / "lists" / WATCHLIST_NAME, name="analyst-watchlist",
                       as_of=dt.datetime(2023, 12, 1, tzinfo=dt.UTC))]
    screen_project(project)
    results = screening_results(project)
    graph = build_graph(project)
    around = neighbourhood(graph, [f"mmsi:{STORY_MMSI}"], 3) if f"mmsi:{STORY_MMSI}" in graph else []
    return loaded, results, around


def _print_screening(console: Console, loaded: list[Any], results: Any, around: list[Any]) -> None:
    from rich.table import Table

    console.print("Lists: " + "; ".join(f"{r.list_name} ({r.n_entries} entries, {r.n_vessels} vessels)"
                                        for r in loaded))
    table = Table(title="Screening: AIS vessels matched to list entries", title_justify="left")
    for c in ("vessel (AIS)", "list entry", "score", "status", "why"):
        table.add_column(c, overflow="fold")
    for r in results.iter_rows(named=True):
        table.add_row(f"{r['ais_name'] or '?'} MMSI {r['mmsi']}", f"{r['list_name']}: {r['entry_name']} "
                      f"[{r['entry_id']}]", f"{r['score']:.2f}", r["status"], "; ".join(r["reasons"]))
    console.print(table)
    linked = [n for n in around if n.kind in ("entry", "party") and n.name != "ANGARA"]
    if linked:
        console.print("ANGARA's network (steps from the AIS vessel): "
                      + ", ".join(f"{n.name} ({n.hops})" for n in linked[:8])
                      + f". Explore it with `sanctionwatch network DIR {STORY_IMO}`.\n")


def _imagery(project: Project, inputs: Path) -> tuple[Any, Any, Any, Any]:
    """Add the demo's simulated imagery and match it: dark ships at Rajin and Zhoushan, the rail surge."""
    from sanctionwatch.imagery.catalog import add_imagery
    from sanctionwatch.imagery.run_match import match_project
    from sanctionwatch.imagery.site import add_counts, site_activity

    folder = inputs / "imagery"
    add_imagery(project, folder / "scenes.geojson", "scenes")
    add_imagery(project, folder / "sar_detections.csv", "detections")
    add_imagery(project, folder / "sightings.csv", "sightings")
    add_counts(project, folder / "rail_counts.csv")
    report = match_project(project)
    dark = project.con.sql(
        "SELECT m.scene_id, m.ts_utc, d.length_m FROM detection_matches m JOIN detections d USING (detection_id) "
        "WHERE m.status = 'dark_candidate' AND d.length_m >= 50 ORDER BY m.ts_utc").pl()
    seen = project.query("SELECT area_id, start_utc FROM events WHERE basis = 'sighting' AND mmsi = ? "
                         "ORDER BY start_utc", [STORY_MMSI])
    rail = site_activity(project, "tumangang-khasan-rail-crossing")
    return report, dark, seen, rail


def _print_imagery(console: Console, report: Any, dark: Any, seen: Any, rail: Any) -> None:
    console.print(
        f"Imagery: {report.detections} detections in {report.scenes} scenes, "
        + ", ".join(f"{n} {k}" for k, n in sorted(report.by_status.items()))
        + ". Dark-vessel candidates of ship size (no AIS vessel can explain them): "
        + "; ".join(f"{r['scene_id']} {r['ts_utc']:%Y-%m-%d} ({r['length_m']:.0f} m)" for r in dark.iter_rows(named=True))
        + ".")
    if seen.height:
        console.print("ANGARA seen by an analyst while AIS-dark, now port visits on its timeline: "
                      + ", ".join(f"{r['area_id']} {r['start_utc']:%Y-%m-%d}" for r in seen.iter_rows(named=True))
                      + ".")
    changes = rail.anomalies.filter(rail.anomalies["kind"] == "changepoint") if rail.anomalies.height else rail.anomalies
    spikes = rail.anomalies.filter(rail.anomalies["kind"] == "spike") if rail.anomalies.height else rail.anomalies
    if changes.height:
        console.print(f"[bold]Rail traffic:[/] {changes.row(0, named=True)['statement']}")
    if spikes.height:
        console.print(f"  First spike: {spikes.row(0, named=True)['statement']}\n")
