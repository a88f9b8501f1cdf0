"""The ``sanctionwatch`` command line: one program, subcommands, examples in every ``--help``.

Exit codes (named, stable; scripts may rely on them): see :class:`Exit`.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from sanctionwatch import __version__
from sanctionwatch.clikit import (
    Exit,
    ProjectArg,
    SetOpt,
    _fail,
    _open,
    _parse_time,
    console,
    err_console,
)
from sanctionwatch.engines.base import EngineName
from sanctionwatch.findings.commands import evidence as evidence_command
from sanctionwatch.findings.commands import findings as findings_command
from sanctionwatch.findings.commands import rules as rules_command
from sanctionwatch.imagery.commands import activity as activity_command
from sanctionwatch.imagery.commands import counts_app, detections_app, sar_app, scenes_app, sightings_app
from sanctionwatch.imagery.commands import match as match_command
from sanctionwatch.report.commands import dossier as dossier_command
from sanctionwatch.report.commands import report as report_command
from sanctionwatch.report.findings_commands import EPILOG as EXPORT_FINDINGS_EPILOG
from sanctionwatch.report.findings_commands import export_findings_command
from sanctionwatch.screening.commands import lists_app
from sanctionwatch.screening.commands import network as network_command
from sanctionwatch.screening.commands import screen as screen_command
from sanctionwatch.web.commands import serve as serve_command

app = typer.Typer(
    name="sanctionwatch",
    help="Monitor sanctions-evasion shipping from open data (AIS, sanctions lists, imagery).\n\n"
    "Start with `sanctionwatch demo`, or `sanctionwatch init DIR` then `sanctionwatch ingest DIR FILES...`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

# --- init -----------------------------------------------------------------------------------

@app.command(epilog="Example: `sanctionwatch init ~/cases/rajin`")
def init(path: Annotated[Path, typer.Argument(help="Folder for the new project.")]) -> None:
    """Create a project folder: a DuckDB catalog, Parquet tables and a settings file."""
    from sanctionwatch.store import Project, ProjectError

    try:
        project = Project.init(path)
    except ProjectError as err:
        raise _fail(str(err), Exit.PROJECT) from None
    project.close()
    console.print(f"Created project [bold]{project.path}[/]. Next: `sanctionwatch ingest {path} FILES...`")


# --- ingest ---------------------------------------------------------------------------------

def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def run_ingest(project: Any, paths: list[Path], *, fmt: str | None = None, mapping: Path | None = None,
               default_time: dt.datetime | None = None, quiet: bool = False) -> tuple[list[Any], list[str]]:
    """Ingest ``paths`` with progress bars; returns (reports, errors). Used by `ingest` and `demo`."""
    from sanctionwatch.ingest.base import InputError
    from sanctionwatch.ingest.pipeline import expand_paths, ingest_file
    from sanctionwatch.ingest.registry import detect_format

    reports, errors = [], []
    given = {p.resolve() for p in paths if not p.is_dir()}
    files = expand_paths(paths)
    with _progress() as progress:
        for f in files:
            # Files found inside a folder that no reader recognises are skipped, not errors.
            if f.resolve() not in given and fmt is None and mapping is None:
                try:
                    detect_format(f)
                except InputError:
                    if not quiet:
                        console.print(f"[dim]skipped {f} (not an AIS format sanctionwatch recognises)[/]")
                    continue
            task = progress.add_task(f.name, total=f.stat().st_size if f.exists() else None)

            def advance(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            try:
                report = ingest_file(project, f, format=fmt, mapping=mapping, default_time=default_time,
                                     on_progress=advance)
            except InputError as err:
                errors.append(str(err))
                err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
                continue
            finally:
                progress.remove_task(task)
            reports.append(report)
    return reports, errors


def print_ingest_summary(reports: list[Any]) -> None:
    table = Table(title="Ingest", title_justify="left")
    for col, just in [("file", "left"), ("format", "left"), ("records", "right"), ("positions", "right"),
                      ("identities", "right"), ("quarantined", "right"), ("duplicates", "right"),
                      ("skipped", "right"), ("rows/s", "right")]:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    reasons: dict[str, int] = {}
    for r in reports:
        name = Path(r.path).name + (" [dim](already ingested)[/]" if r.status == "already_ingested" else "")
        table.add_row(name, r.format, f"{r.records_read:,}", f"{r.positions_kept:,}", f"{r.identities_kept:,}",
                      f"{r.quarantined:,}", f"{r.duplicates:,}", f"{r.skipped:,}",
                      f"{r.rows_per_second:,.0f}" if r.status == "ingested" else "")
        for k, v in r.quarantine_by_reason.items():
            reasons[k] = reasons.get(k, 0) + v
    console.print(table)
    for r in reports:
        if r.note:
            console.print(f"{Path(r.path).name}: {r.note}", highlight=False)
    if reasons:
        from sanctionwatch.ingest.base import REASONS

        q = Table(title="Quarantined records by reason (see `quarantine` table)", title_justify="left")
        q.add_column("reason")
        q.add_column("count", justify="right")
        q.add_column("meaning")
        for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]):
            q.add_row(k, f"{v:,}", REASONS.get(k, ""))
        console.print(q)


@app.command(
    epilog="Examples:\n\n"
    "`sanctionwatch ingest case/ logs/2023-09-*.nmea`  (format detected)\n\n"
    "`sanctionwatch ingest case/ aisdk-2024-01-05.csv --format dma_csv`\n\n"
    "`sanctionwatch ingest case/ provider.csv --mapping provider.yaml`\n\n"
    "`sanctionwatch ingest case/ old.nm4 --default-time 2021-11-01T00:00Z`  (log without timestamps)",
)
def ingest(
    project_dir: ProjectArg,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    format: Annotated[str | None, typer.Option("--format", "-f",
                      help="Reader: nmea, dma_csv, noaa_csv. Default: detected from the file.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", "-m",
                       help="Column-mapping file (YAML/TOML) for any other CSV or Parquet layout.")] = None,
    default_time: Annotated[str | None, typer.Option(help="UTC time for NMEA sentences that carry none.")] = None,
    settings: SetOpt = None,
) -> None:
    """Ingest AIS files (NMEA, DMA CSV, NOAA MarineCadastre CSV, mapped CSV/Parquet).

    Each file is committed atomically. Re-ingesting the same file adds nothing; positions
    already stored from another file are counted as duplicates. Unusable records go to the
    quarantine table with a reason.
    """
    if format and mapping:
        raise _fail("give --format or --mapping, not both", Exit.USAGE)
    t0 = _parse_time(default_time, "--default-time")
    project = _open(project_dir, settings=settings)
    try:
        reports, errors = run_ingest(project, paths, fmt=format, mapping=mapping, default_time=t0)
    finally:
        project.close()
    print_ingest_summary(reports)
    if errors:
        raise typer.Exit(int(Exit.INPUT if not reports else Exit.FAILED))


# --- status / vessels / vessel ---------------------------------------------------------------

@app.command(epilog="Example: `sanctionwatch status case/`")
def status(project_dir: ProjectArg) -> None:
    """Tables, row counts, time span, vessels and sources of a project."""
    project = _open(project_dir, read_only=True)
    try:
        counts = project.table_counts()
        span = project.query("SELECT min(ts_utc) t0, max(ts_utc) t1, count(DISTINCT mmsi) n FROM {positions}")
        sources = project.query(
            "SELECT path, format, records_read, positions_kept, quarantined, duplicates, ingested_utc "
            "FROM sources ORDER BY ingested_utc"
        )
        from sanctionwatch.screening.catalog import lists_summary
        from sanctionwatch.screening.screen import screening_results

        lists = lists_summary(project)
        matches = screening_results(project)
    finally:
        project.close()
    t0, t1, n = span.row(0)
    console.print(f"Project [bold]{project.path}[/] (sanctionwatch {__version__}, params {project.config.params_id})")
    table = Table(title="Tables", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in ("positions", "identities", "quarantine", "sources"):
        table.add_row(name, f"{counts.get(name, 0):,}")
    console.print(table)
    console.print(f"Vessels (MMSIs with positions): {n:,}")
    console.print(f"Time span: {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M} UTC" if t0 else "Time span: no positions")
    if lists.height:
        latest = lists.unique("list_name", keep="first", maintain_order=True)
        console.print("Lists: " + "; ".join(f"{r['list_name']} as of {r['as_of_utc']:%Y-%m-%d} "
                                            f"({r['n_entries']:,} entries)" for r in latest.iter_rows(named=True)))
        n_match = matches.filter(pl.col("status") == "match").height if matches.height else 0
        console.print(f"Screening: {n_match:,} matches, {matches.height - n_match:,} possible "
                      "(`sanctionwatch screen DIR` to update)")
    if sources.height:
        st = Table(title="Sources", title_justify="left")
        for c in ("file", "format", "records", "positions", "quarantined", "duplicates", "ingested (UTC)"):
            st.add_column(c)
        for r in sources.iter_rows():
            st.add_row(Path(r[0]).name, r[1], f"{r[2]:,}", f"{r[3]:,}", f"{r[4]:,}", f"{r[5]:,}", f"{r[6]:%Y-%m-%d %H:%M}")
        console.print(st)




@app.command(epilog="Examples:\n\n`sanctionwatch vessels case/`\n\n`sanctionwatch vessels case/ --name angara`")
def vessels(
    project_dir: ProjectArg,
    name: Annotated[str | None, typer.Option(help="Only names containing this text (case-insensitive).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """List vessels: MMSI, latest broadcast name/IMO/call sign/flag, positions and time span."""
    project = _open(project_dir, read_only=True)
    try:
        from sanctionwatch.vessels import vessel_list

        df, total = vessel_list(project, name=name, limit=limit)
    finally:
        project.close()
    table = Table(title=f"Vessels ({min(total, limit):,} of {total:,})", title_justify="left")
    for c in ("MMSI", "name", "IMO", "call sign", "flag", "type", "names", "positions", "first (UTC)", "last (UTC)"):
        table.add_column(c)
    for r in df.iter_rows(named=True):
        table.add_row(
            str(r["mmsi"]), r["name"] or "", str(r["imo"] or ""), r["call_sign"] or "", r["flag"] or "",
            str(r["ship_type"] or ""), str(r["n_names"] or 0), f"{r['n_positions']:,}",
            f"{r['first_utc']:%Y-%m-%d %H:%M}" if r["first_utc"] else "",
            f"{r['last_utc']:%Y-%m-%d %H:%M}" if r["last_utc"] else "",
        )
    console.print(table)


@app.command(epilog="Examples:\n\n`sanctionwatch vessel case/ 273210440`  (MMSI)\n\n"
             "`sanctionwatch vessel case/ 9179842`  (IMO)")
def vessel(
    project_dir: ProjectArg,
    ident: Annotated[str, typer.Argument(help="MMSI (9 digits) or IMO number (7 digits, 'IMO' prefix allowed).")],
) -> None:
    """One vessel: identity history (with source file and line) and a track summary per MMSI."""
    from sanctionwatch.identifiers import imo_is_valid
    from sanctionwatch.tracks.summary import track_summary
    from sanctionwatch.vessels import identity_history, resolve_vessel

    key = ident.strip().upper().removeprefix("IMO").strip()
    if not key.isdigit() or len(key) not in (7, 9):
        raise _fail(f"{ident!r} is neither a 9-digit MMSI nor a 7-digit IMO number", Exit.USAGE)
    if len(key) == 7 and not imo_is_valid(key):
        err_console.print(f"[yellow]warning:[/] IMO {key} has an invalid check digit")
    project = _open(project_dir, read_only=True)
    try:
        mmsis = resolve_vessel(project, key)
        history = identity_history(project, mmsis)
        tracks = {m: project.query("SELECT * FROM {positions} WHERE mmsi = ?", [m]) for m in mmsis}
        from sanctionwatch.screening.screen import screening_results

        matches = screening_results(project)
        matches = matches.filter(pl.col("mmsi").is_in(mmsis)) if matches.height else matches
    finally:
        project.close()
    if not mmsis or (history.height == 0 and all(t.height == 0 for t in tracks.values())):
        raise _fail(f"no vessel {ident} in {project_dir}", Exit.FAILED)
    if history.height:
        table = Table(title="Identity history (what the vessel broadcast)", title_justify="left")
        for c in ("MMSI", "name", "IMO", "call sign", "flag", "type", "length m", "destination",
                  "first seen (UTC)", "last seen (UTC)", "reports", "source:line"):
            table.add_column(c, overflow="fold")
        for r in history.iter_rows(named=True):
            imo = "" if r["imo"] is None else f"{r['imo']}{'' if r['imo_valid'] else ' (bad check digit)'}"
            table.add_row(
                str(r["mmsi"]), r["name"] or "", imo, r["call_sign"] or "", r["flag_iso2"] or "",
                str(r["ship_type"] or ""), f"{r['length_m']:.0f}" if r["length_m"] else "", r["destination"] or "",
                f"{r['first_seen_utc']:%Y-%m-%d %H:%M}", f"{r['last_seen_utc']:%Y-%m-%d %H:%M}",
                f"{r['n_reports']:,}", f"{Path(r['path']).name}:{r['record_no']}",
            )
        console.print(table)
    for m, df in tracks.items():
        s = track_summary(df)
        if not s["n_positions"]:
            console.print(f"MMSI {m}: no positions")
            continue
        console.print(
            f"MMSI {m}: {s['n_positions']:,} positions on {s['days_with_data']} days, "
            f"{s['first_utc']:%Y-%m-%d %H:%M} to {s['last_utc']:%Y-%m-%d %H:%M} UTC; "
            f"lat {s['lat_min']:.3f}..{s['lat_max']:.3f}, lon {s['lon_min']:.3f}..{s['lon_max']:.3f}; "
            f"{s['distance_nm']:,.0f} nm between fixes; longest gap {s['max_gap_hours'] or 0:,.1f} h; "
            f"median interval {s['median_interval_min'] or 0:,.1f} min"
        )
    if matches.height:
        mt = Table(title="Screening (sanctionwatch screen)", title_justify="left")
        for c in ("MMSI", "list", "entry", "score", "status", "reasons"):
            mt.add_column(c, overflow="fold")
        for r in matches.iter_rows(named=True):
            mt.add_row(str(r["mmsi"]), r["list_name"], f"{r['entry_name']} [{r['entry_id']}]", f"{r['score']:.2f}",
                       r["status"] + (" (delisted)" if r["entry_status"] == "delisted" else ""),
                       "; ".join(r["reasons"]))
        console.print(mt)


# --- run / events ---------------------------------------------------------------------------

@app.command(epilog="Examples:\n\n`sanctionwatch run case/`  (only vessels with new data)\n\n"
             "`sanctionwatch run case/ --full --set events.gap_min_hours=12`\n\n"
             "`sanctionwatch run case/ --engine spark --master local[4]`\n\n"
             "`sanctionwatch run case/ --engine spark --master yarn --positions s3a://ais/2024/ "
             "--identities s3a://ais/identities/ --events-out s3a://ais/events-2024/`")
def run(
    project_dir: ProjectArg,
    full: Annotated[bool, typer.Option(help="Re-compute every vessel, not only those with new data.")] = False,
    settings: SetOpt = None,
    engine: Annotated[EngineName, typer.Option(
        help="local: in this process, incremental. spark: PySpark (Java 17), recomputes every vessel "
        "when there is new data; see docs/scaling.md.")] = EngineName.local,
    master: Annotated[str | None, typer.Option(
        help="Spark master (--engine spark): local[N], spark://host:7077, yarn, k8s://... [default: local[*]]")] = None,
    positions: Annotated[list[str] | None, typer.Option(
        "--positions", help="Spark: read positions from these Parquet files, folders or URIs (any Hadoop "
        "file system) instead of the project; the project gives settings and areas. Repeatable.")] = None,
    identities: Annotated[str | None, typer.Option(
        help="Spark, with --positions: identities Parquet (IDENTITIES columns) for identity changes.")] = None,
    events_out: Annotated[str | None, typer.Option(
        help="Spark: also write the events as Parquet here (required with --positions, whose events go "
        "only there).")] = None,
    findings_out: Annotated[str | None, typer.Option(
        help="Spark: also evaluate the findings rules on the events and write them as Parquet here "
        "(FINDINGS columns; with --positions, the way to get findings without a local store).")] = None,
) -> None:
    """Compute tracks and events (AIS gaps, port visits, spoofing indicators) incrementally.

    Vessels that appear in newly ingested sources are re-computed and their events replaced;
    re-running with no new data changes nothing. Changed settings re-compute everything.
    """
    from sanctionwatch.areas import AreaConflictError
    from sanctionwatch.engines.base import EngineInputError, EngineUnavailableError, make_engine
    from sanctionwatch.geo import AreaFileError

    try:
        runner = make_engine(engine.value, master=master, positions=tuple(positions or ()),
                             identities=identities, events_out=events_out, findings_out=findings_out)
    except ValueError as err:
        raise _fail(str(err), Exit.USAGE) from None
    project = _open(project_dir, settings=settings)
    try:
        with _progress() as progress:
            task = progress.add_task("vessel groups" if engine is EngineName.local else "spark steps", total=None)
            report = runner.run(project, full=full,
                                on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    except (AreaFileError, AreaConflictError, EngineInputError) as err:
        raise _fail(str(err), Exit.INPUT) from None
    except EngineUnavailableError as err:
        raise _fail(str(err), Exit.FAILED) from None
    except ValueError as err:
        raise _fail(str(err), Exit.USAGE) from None
    finally:
        project.close()
    table = Table(title=f"Events computed ({report.vessels_processed:,} vessels, "
                  f"{report.positions_processed:,} positions, {report.seconds:.1f} s, params {report.params_id})",
                  title_justify="left")
    table.add_column("event type")
    table.add_column("events (re)computed", justify="right")
    for k, v in report.events_by_type.items():
        table.add_row(k, f"{v:,}")
    console.print(table)
    if report.events_uri:
        console.print(f"Events written as Parquet to {report.events_uri}"
                      + ("." if report.loaded_into_project else " (not loaded into the project)."))
    if report.loaded_into_project:
        console.print(f"{report.events_total:,} events in the project."
                      + ("" if report.new_sources or report.full else " No new data since the last run."))


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _write_events_geojson(df: pl.DataFrame, out: Path, params_id: str) -> None:
    """Events as a GeoJSON FeatureCollection (Point at lon/lat, null geometry without one), written
    atomically: attrs parsed from attrs_json, evidence as "source_id:record_no" strings."""
    import json

    features = []
    for row in df.iter_rows(named=True):
        props = {k: _json_value(v) for k, v in row.items() if k not in ("attrs_json", "evidence")}
        props["attrs"] = json.loads(row["attrs_json"]) if row.get("attrs_json") else None
        props["evidence"] = [f"{e['source_id']}:{e['record_no']}" for e in row.get("evidence") or []]
        lat, lon = props.get("lat_deg"), props.get("lon_deg")
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None else None
        features.append({"type": "Feature", "id": row["event_id"], "geometry": geometry, "properties": props})
    doc = {"type": "FeatureCollection", "sanctionwatch": {"version": __version__, "params_id": params_id},
           "features": features}
    from sanctionwatch.store import atomic_output

    with atomic_output(out) as tmp, tmp.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=False)
        fh.write("\n")


@app.command(epilog="Examples:\n\n`sanctionwatch events case/ --type port_visit --vessel 9179842`\n\n"
             "`sanctionwatch events case/ --area rajin-port --since 2023-08-01 -o rajin.csv`\n\n"
             "`sanctionwatch events case/ --type port_visit -o visits.geojson`  (map in QGIS)")
def events(
    project_dir: ProjectArg,
    type: Annotated[list[str] | None, typer.Option("--type", help="Event type(s): ais_gap, port_visit, "
                                                    "spoofing, ... (repeatable).")] = None,
    vessel: Annotated[str | None, typer.Option(help="MMSI (9 digits) or IMO (7 digits).")] = None,
    area: Annotated[str | None, typer.Option(help="Area id (see watched areas), origin or destination.")] = None,
    since: Annotated[str | None, typer.Option(help="Events starting at or after this UTC date/time.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Also write all matching events "
                                             "(.csv, .parquet or .geojson).")] = None,
) -> None:
    """List computed events with filters; optionally export them."""
    clauses, params = [], []  # type: list[str], list[Any]
    if type:
        clauses.append(f"event_type IN ({', '.join('?' * len(type))})")
        params.extend(type)
    if vessel:
        key = vessel.strip().upper().removeprefix("IMO").strip()
        if not key.isdigit() or len(key) not in (7, 9):
            raise _fail(f"--vessel {vessel!r}: expected a 9-digit MMSI or 7-digit IMO", Exit.USAGE)
        if len(key) == 7:
            clauses.append("mmsi IN (SELECT mmsi FROM identities WHERE imo = ?)")
        else:
            clauses.append("mmsi = ?")
        params.append(int(key))
    if area:
        clauses.append("(area_id = ? OR area2_id = ?)")
        params.extend([area, area])
    t0 = _parse_time(since, "--since")
    if t0:
        clauses.append("start_utc >= ?")
        params.append(t0)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    project = _open(project_dir, read_only=True)
    try:
        if not project.has_table("events"):
            raise _fail(f"no events yet: run `sanctionwatch run {project_dir}` first", Exit.FAILED)
        df = project.query(f"SELECT * FROM events{where} ORDER BY start_utc, mmsi", params)
        params_id = project.config.params_id
    finally:
        project.close()
    if out is not None:
        if out.suffix.lower() == ".parquet":
            df.write_parquet(out)
        elif out.suffix.lower() == ".csv":
            df.with_columns(pl.col("evidence").list.eval(
                pl.element().struct.field("source_id") + ":" + pl.element().struct.field("record_no").cast(pl.String)
            ).list.join(" ")).write_csv(out)
        elif out.suffix.lower() == ".geojson":
            _write_events_geojson(df, out, params_id)
        else:
            raise _fail(f"{out.name}: write .csv, .parquet or .geojson", Exit.USAGE)
    table = Table(title=f"Events ({min(df.height, limit):,} of {df.height:,})", title_justify="left")
    for c in ("type", "MMSI", "start (UTC)", "end (UTC)", "area", "to", "conf.", "basis", "evidence"):
        table.add_column(c)
    for r in df.head(limit).iter_rows(named=True):
        table.add_row(r["event_type"], str(r["mmsi"]), f"{r['start_utc']:%Y-%m-%d %H:%M}",
                      f"{r['end_utc']:%Y-%m-%d %H:%M}" if r["end_utc"] else "", r["area_id"] or "",
                      r["area2_id"] or "", f"{r['confidence']:.2f}" if r["confidence"] is not None else "",
                      r["basis"] or "", str(len(r["evidence"] or [])) + " records")
    console.print(table)
    if out is not None:
        console.print(f"Wrote {df.height:,} events to {out}")


@app.command(epilog="Examples:\n\n`sanctionwatch voyages case/ --from russia_far_east_ports --to dprk_ports "
             "--since 2023-08-01`\n\n`sanctionwatch voyages case/ --from vostochny-port --to rajin-port --vessel 9179842`")
def voyages(
    project_dir: ProjectArg,
    from_: Annotated[str, typer.Option("--from", help="Area id(s) or group(s), comma-separated.")],
    to: Annotated[str, typer.Option("--to", help="Area id(s) or group(s), comma-separated.")],
    since: Annotated[str | None, typer.Option(help="Voyages starting at or after this UTC date/time.")] = None,
    until: Annotated[str | None, typer.Option(help="Voyages starting before this UTC date/time.")] = None,
    vessel: Annotated[str | None, typer.Option(help="Only this MMSI (9 digits) or IMO (7 digits).")] = None,
) -> None:
    """Count voyages (deliveries) between two areas or groups, observed and inferred from AIS gaps.

    A round trip A -> B -> A counts once. Inferred voyages are hypotheses consistent with a gap
    (a dark round trip that fits the time at service speed), not observations: their confidence
    and reasoning are kept with them (`sanctionwatch events --type voyage`).
    """
    from sanctionwatch.events.voyages import count_voyages

    project = _open(project_dir, read_only=True)
    try:
        if not project.has_table("events"):
            raise _fail(f"no events yet: run `sanctionwatch run {project_dir}` first", Exit.FAILED)
        events = project.query("SELECT * FROM events WHERE event_type = 'voyage'")
        mmsis: list[int | None] = [None]
        if vessel:
            key = vessel.strip().upper().removeprefix("IMO").strip()
            if not key.isdigit() or len(key) not in (7, 9):
                raise _fail(f"--vessel {vessel!r}: expected a 9-digit MMSI or 7-digit IMO", Exit.USAGE)
            mmsis = ([int(key)] if len(key) == 9 else project.query(
                "SELECT DISTINCT mmsi FROM identities WHERE imo = ?", [int(key)]).get_column("mmsi").to_list())
    finally:
        project.close()
    try:
        found = [count_voyages(events, from_, to, _parse_time(since, "--since"), until=_parse_time(until, "--until"),
                               mmsi=m) for m in mmsis]
    except ValueError as err:
        raise _fail(str(err), Exit.USAGE) from None
    rows = pl.concat([f for f in found if f.height], how="diagonal_relaxed") if any(f.height for f in found) else None
    n = 0 if rows is None else rows.height
    observed = 0 if rows is None else rows.filter(pl.col("basis") == "ais").height
    span = f" since {since}" if since else ""
    console.print(f"[bold]{n} voyages[/] between {from_} and {to}{span}: {observed} observed in AIS, "
                  f"{n - observed} inferred from AIS gaps.", highlight=False)
    if rows is not None:
        table = Table(title_justify="left")
        for c in ("MMSI", "departure (UTC)", "arrival (UTC)", "from", "to", "basis", "confidence"):
            table.add_column(c)
        for r in rows.sort("start_utc").iter_rows(named=True):
            table.add_row(str(r["mmsi"]), f"{r['start_utc']:%Y-%m-%d %H:%M}",
                          f"{r['end_utc']:%Y-%m-%d %H:%M}" if r["end_utc"] else "", r["area_id"] or "",
                          r["area2_id"] or "", r["basis"] or "", f"{r['confidence']:.2f}")
        console.print(table)


# --- areas ----------------------------------------------------------------------------------

areas_app = typer.Typer(
    name="areas",
    help="Watched areas (ports, anchorages, crossings): the packaged defaults plus the project's own "
    "GeoJSON files in `<project>/areas/`.",
    epilog="Examples:\n\n`sanctionwatch areas add case/ nampo.geojson`\n\n`sanctionwatch areas list case/`",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(areas_app)


@areas_app.command("add", epilog="Examples:\n\n`sanctionwatch areas add case/ nampo.geojson`\n\n"
                   "`sanctionwatch areas add case/ export.geojson --name sts-hotspots`\n\n"
                   "Then `sanctionwatch run case/` re-computes events with the new areas.")
def areas_add(
    project_dir: ProjectArg,
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of Points (with radius_m) and "
                                         "Polygons; properties area_id, name, kind, groups.")],
    name: Annotated[str | None, typer.Option(help="File name in the project (default: the file's stem).")] = None,
) -> None:
    """Validate a watched-area GeoJSON file and add it to the project (`<project>/areas/NAME.geojson`).

    Area ids must be unique across the project's files; a project area with the id of a packaged
    default area replaces it. The next `sanctionwatch run DIR` re-computes every vessel with the new areas.
    """
    from sanctionwatch.areas import AreaConflictError, add_area_file
    from sanctionwatch.geo import AreaFileError

    project = _open(project_dir, read_only=True)
    try:
        try:
            target, added = add_area_file(project, file, name)
        except AreaFileError as err:
            raise _fail(str(err), Exit.INPUT) from None
        except AreaConflictError as err:
            raise _fail(str(err), Exit.INPUT) from None
    finally:
        project.close()
    ids = ", ".join(a.area_id for a in added)
    console.print(f"Added {len(added)} area(s) to {target}: {ids}. "
                  f"The next `sanctionwatch run {project_dir}` re-computes events with the new areas.", highlight=False)


@areas_app.command("list", epilog="Example: `sanctionwatch areas list case/`")
def areas_list(project_dir: ProjectArg) -> None:
    """Every watched area in use: packaged defaults and the project's own files."""
    from sanctionwatch.areas import AreaConflictError, sourced_areas
    from sanctionwatch.geo import AreaFileError

    project = _open(project_dir, read_only=True)
    try:
        rows = sourced_areas(project)
    except (AreaFileError, AreaConflictError) as err:
        raise _fail(str(err), Exit.INPUT) from None
    finally:
        project.close()
    table = Table(title=f"Watched areas ({len(rows)})", title_justify="left")
    for c in ("area_id", "name", "kind", "groups", "shape", "source"):
        table.add_column(c, overflow="fold")
    for r in rows:
        a = r.area
        shape = f"point r={a.radius_m:,.0f} m" if a.radius_m is not None else a.geometry_type.lower()
        src = Path(r.source)
        source = str(src.relative_to(project.path)) if src.is_absolute() and src.is_relative_to(
            project.path) else r.source
        table.add_row(a.area_id, a.name, a.kind or "", ", ".join(a.groups), shape, source)
    console.print(table)


# --- imagery inputs (imagery/commands.py) ------------------------------------------------------

app.add_typer(scenes_app)
app.add_typer(detections_app)
app.add_typer(sightings_app)
app.add_typer(counts_app)
app.add_typer(sar_app)
app.command("match", epilog="Examples:\n\n`sanctionwatch match case/`\n\n"
            "`sanctionwatch match case/ --set imagery.match_max_fix_offset_min=60`")(match_command)
app.command("activity", epilog="Examples:\n\n`sanctionwatch activity case/ --site tumangang-khasan-rail-crossing`\n\n"
            "`sanctionwatch activity case/ --site rajin-port --period day --series`")(activity_command)

# --- lists, screening, network (screening/commands.py) ----------------------------------------

app.add_typer(lists_app)
app.command("screen", epilog="Examples:\n\n`sanctionwatch screen case/`\n\n"
            "`sanctionwatch screen case/ --status match -o matches.csv`\n\n"
            "`sanctionwatch screen case/ --set screening.match_threshold=0.8 --full`")(screen_command)
app.command("network", epilog="Examples:\n\n`sanctionwatch network case/ 9179842`  (IMO)\n\n"
            "`sanctionwatch network case/ \"M LEASING LLC\" --depth 3`\n\n"
            "`sanctionwatch network case/ -o network.graphml`  (whole network for Gephi)")(network_command)

# --- findings (findings/commands.py) ------------------------------------------------------------
app.command("findings", epilog="Examples:\n\n`sanctionwatch findings case/`\n\n"
            "`sanctionwatch findings case/ --rules my_rules.toml --min-severity medium`\n\n"
            "`sanctionwatch findings case/ --set findings.voyage_since=2023-08-01 --vessel 9179842`")(findings_command)
app.command("evidence", epilog="Example: `sanctionwatch evidence case/ 3f2a`  (an id prefix from `findings`)")(
    evidence_command)
app.command("rules", epilog="Example: `sanctionwatch rules case/ --rules my_rules.toml`")(rules_command)


# --- export ---------------------------------------------------------------------------------

@app.command(epilog="Examples:\n\n`sanctionwatch export case/ -o positions.parquet`  (GeoParquet for QGIS)\n\n"
             "`sanctionwatch export case/ -o angara.geojson --mmsi 273210440 --since 2023-08-01`")
def export(
    project_dir: ProjectArg,
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file (.parquet, .csv, .geojson).")],
    format: Annotated[str | None, typer.Option("--format", help="geoparquet, csv or geojson "
                                               "(default: from the file suffix).")] = None,
    mmsi: Annotated[list[int] | None, typer.Option(help="Only these MMSIs (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="From this UTC date/time (inclusive).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this UTC date/time (exclusive).")] = None,
    bbox: Annotated[str | None, typer.Option(help="lon_min,lat_min,lon_max,lat_max")] = None,
) -> None:
    """Export positions to GeoParquet, CSV or GeoJSON (with provenance columns) for GIS tools."""
    from sanctionwatch.report.exports import PositionFilter, export_positions, format_for

    try:
        format_for(out, format)
    except ValueError as err:
        raise _fail(str(err), Exit.USAGE) from None
    box = None
    if bbox:
        try:
            parts = tuple(float(x) for x in bbox.split(","))
            if len(parts) != 4:
                raise ValueError
            box = parts
        except ValueError:
            raise _fail(f"--bbox {bbox!r}: expected lon_min,lat_min,lon_max,lat_max", Exit.USAGE) from None
    flt = PositionFilter(mmsis=tuple(mmsi or ()), since=_parse_time(since, "--since"),
                         until=_parse_time(until, "--until"), bbox=box)
    project = _open(project_dir, read_only=True)
    try:
        n = export_positions(project, out, fmt=format, flt=flt)
    finally:
        project.close()
    console.print(f"Wrote {n:,} positions to {out}")


# findings and evidence (report/findings_commands.py)
app.command("export-findings", epilog=EXPORT_FINDINGS_EPILOG)(export_findings_command)


# --- HTML report and vessel dossier (report/commands.py) ------------------------------------------
app.command("report", epilog="Examples:\n\n`sanctionwatch report case/ -o report.html`\n\n"
            "`sanctionwatch report case/ -o high.html --min-severity high`\n\n"
            "`sanctionwatch report case/ -o angara.html --vessel 9179842 --rule voyages_between_groups`")(report_command)
app.command("dossier", epilog="Examples:\n\n`sanctionwatch dossier case/ 9179842 -o angara.html`  (IMO)\n\n"
            "`sanctionwatch dossier case/ 273210440 -o angara.html`  (MMSI)")(dossier_command)


# --- local web app (web/commands.py) ------------------------------------------------------------
app.command("serve", epilog="Examples:\n\n`sanctionwatch serve case/`  (http://127.0.0.1:8765/, this machine only)\n\n"
            "`SANCTIONWATCH_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))') "
            "sanctionwatch serve case/ --host 0.0.0.0`  (remote use: token required)")(serve_command)


# --- settings / version ---------------------------------------------------------------------

@app.command(epilog="Examples:\n\n`sanctionwatch settings`\n\n`sanctionwatch settings --markdown > docs/settings.md`")
def settings(markdown: Annotated[bool, typer.Option(help="Print the Markdown reference.")] = False) -> None:
    """Every setting with its default, unit, meaning and the source of the default."""
    from sanctionwatch.config import SETTINGS, settings_markdown

    if markdown:
        sys.stdout.write(settings_markdown())
        return
    table = Table(title="Settings (override with --set name=value or in sanctionwatch.toml)", title_justify="left")
    for c in ("setting", "default", "unit", "what it does"):
        table.add_column(c)
    for s in SETTINGS.values():
        table.add_row(s.name, str(s.default), s.unit or "", s.help)
    console.print(table)


@app.command(epilog="Example: `sanctionwatch version --full` (paste into bug reports)")
def version(full: Annotated[bool, typer.Option(help="Also the versions of the libraries.")] = False) -> None:
    """Print the version."""
    from sanctionwatch import show_versions

    console.print(show_versions() if full else f"sanctionwatch {__version__}", highlight=False)


# --- demo -----------------------------------------------------------------------------------

@app.command(epilog="Example: `sanctionwatch demo` (writes ./sanctionwatch-demo)")
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the demo inputs and project.")] = Path(
        "sanctionwatch-demo"),
) -> None:
    """Run the bundled investigation end to end on a SIMULATED scenario built on public reporting.

    Writes simulated AIS (NMEA receiver logs and a satellite-provider CSV) for a US-sanctioned
    Russian cargo ship shuttling between Rajin (DPRK) and Russian Far East ports, then ingests
    them through the same path as `sanctionwatch ingest`.
    """
    from sanctionwatch.demo.run import run_demo

    run_demo(directory, console)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
