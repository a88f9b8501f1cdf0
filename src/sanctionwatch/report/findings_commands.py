"""`sanctionwatch export-findings`: findings and their evidence to GeoJSON, KML/KMZ, CSV, GeoParquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sanctionwatch.clikit import Exit, ProjectArg, SetOpt, _fail, _open, _parse_time, console, err_console

__all__ = ["export_findings_command"]

EPILOG = (
    "Examples:\n\n"
    "`sanctionwatch export-findings case/ -o findings.kml`  (Google Earth, with time spans)\n\n"
    "`sanctionwatch export-findings case/ -o findings.geojson --min-severity medium`  (QGIS, kepler.gl)\n\n"
    "`sanctionwatch export-findings case/ -o angara.csv --vessel 9179842 --evidence angara-evidence.csv`\n\n"
    "`sanctionwatch export-findings case/ -o dprk.parquet --area dprk_ports --since 2023-08-01`  (GeoParquet)"
)


def export_findings_command(
    project_dir: ProjectArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file: .geojson, .kml, .kmz, .csv or "
                                      ".parquet (GeoParquet).")],
    format: Annotated[str | None, typer.Option("--format", help="geojson, kml, kmz, csv or geoparquet "
                                               "(default: from the file suffix).")] = None,
    evidence: Annotated[Path | None, typer.Option("--evidence", help="Also write the evidence table: one row "
                                                  "per (finding, event) and per (finding, raw record) with the "
                                                  "source file, line number and line text (.csv or .parquet).")
                        ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's findings.")] = None,
    min_severity: Annotated[str | None, typer.Option(help="Only findings at least this severe: info, low, "
                                                     "medium, high.")] = None,
    vessel: Annotated[str | None, typer.Option(help="Only findings about this MMSI (9 digits) or IMO "
                                               "(7 digits).")] = None,
    area: Annotated[str | None, typer.Option(help="Only findings about this watched area or area group "
                                             "(e.g. rajin-port, dprk_ports).")] = None,
    since: Annotated[str | None, typer.Option(help="Only findings whose span ends at or after this UTC "
                                              "date/time.")] = None,
    until: Annotated[str | None, typer.Option(help="Only findings whose span starts before this UTC "
                                              "date/time.")] = None,
    settings: SetOpt = None,
) -> None:
    """Export findings with their geometry, time span, confidence and evidence for GIS tools.

    Each finding becomes one feature (GeoJSON, GeoParquet, CSV row) or placemark (KML, in a folder
    per rule, with the evidence events in a folder of their own), drawn from its events: positions,
    AIS gaps and voyages as lines. `--evidence` writes the raw input lines behind each finding.
    Files are written atomically; every output records the tool version and the params_id.
    """
    from sanctionwatch.findings.store import SEVERITIES, FindingFilter
    from sanctionwatch.report.findings_export import (
        collect_findings,
        evidence_format_for,
        export_evidence,
        export_findings,
        findings_format_for,
    )

    try:
        findings_format_for(out, format)
        if evidence is not None:
            evidence_format_for(evidence)
    except ValueError as err:
        raise _fail(str(err), Exit.USAGE) from None
    if min_severity is not None and min_severity not in SEVERITIES:
        raise _fail(f"--min-severity {min_severity!r}: choose one of {', '.join(SEVERITIES)}", Exit.USAGE)
    key = None
    if vessel is not None:
        key = vessel.strip().upper().removeprefix("IMO").strip()
        if not key.isdigit() or len(key) not in (7, 9):
            raise _fail(f"--vessel {vessel!r}: expected a 9-digit MMSI or a 7-digit IMO number", Exit.USAGE)
    t0, t1 = _parse_time(since, "--since"), _parse_time(until, "--until")
    project = _open(project_dir, read_only=True, settings=settings)
    try:
        if not project.has_table("findings"):
            raise _fail(f"no findings yet in {project_dir}: run `sanctionwatch findings {project_dir}` first",
                        Exit.FAILED)
        mmsis: list[int] = []
        if key is not None:
            from sanctionwatch.vessels import resolve_vessel

            mmsis = resolve_vessel(project, key)
            if not mmsis:
                err_console.print(f"[yellow]warning:[/] no vessel with IMO {key} in {project_dir}")
                mmsis = [-1]  # matches nothing
        area_id, area_ids = None, ()  # type: str | None, tuple[str, ...]
        if area is not None:
            from sanctionwatch.areas import AreaConflictError, project_areas
            from sanctionwatch.events.voyages import resolve_areas
            from sanctionwatch.geo import AreaFileError

            try:
                ids = resolve_areas(area, project_areas(project))
            except (ValueError, AreaFileError, AreaConflictError) as err:
                raise _fail(f"--area: {err}", Exit.USAGE) from None
            if ids == {area}:
                area_id = area
            else:
                area_ids = tuple(sorted(ids))
        flt = FindingFilter(rule=rule, min_severity=min_severity, area_id=area_id, since=t0, until=t1)
        bundle = collect_findings(project, flt, mmsis=mmsis, area_ids=area_ids)
        export_findings(project, out, fmt=format, bundle=bundle)
        table = export_evidence(project, evidence, bundle=bundle) if evidence is not None else None
    finally:
        project.close()
    n = bundle.findings.height
    drawn = sum(g is not None for g in bundle.geometries)
    console.print(f"Wrote {n:,} findings ({drawn:,} with a geometry, {bundle.events.height:,} events) to {out}",
                  highlight=False)
    if table is not None:
        records = table.filter(table["item"] == "record")
        unresolved = records.filter(records["status"] != "ok").height
        console.print(f"Wrote {table.height:,} evidence rows ({records.height:,} raw records"
                      + (f", {unresolved:,} not readable from their file" if unresolved else "")
                      + f") to {evidence}", highlight=False)
    if rule is not None and n == 0:
        err_console.print(f"[yellow]note:[/] no findings of rule {rule!r} match")
