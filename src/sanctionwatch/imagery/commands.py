"""Command-line commands of the imagery capability: ``scenes``, ``detections`` and ``sightings``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from sanctionwatch.clikit import Exit, ProjectArg, SetOpt, _fail, _open, console

__all__ = ["activity", "counts_app", "detections_app", "match", "sar_app", "scenes_app", "sightings_app"]

FilesArg = Annotated[list[Path], typer.Argument(help="Files to add.")]


def _sub(name: str, help_text: str, epilog: str) -> typer.Typer:
    return typer.Typer(name=name, help=help_text, epilog=epilog, no_args_is_help=True, rich_markup_mode="markdown")


scenes_app = _sub("scenes", "Where and when satellites looked: scene footprints (GeoJSON polygons with scene_id and "
                  "time, or STAC Items / ItemCollections).", "Example: `sanctionwatch scenes add case/ s1-footprints.geojson`")
detections_app = _sub("detections", "Vessel detections from SAR/optical pipelines (CSV, GeoJSON points, Parquet): our "
                      "layout, Global Fishing Watch SAR detections, xView3-style outputs, or any with --mapping.",
                      "Examples:\n\n`sanctionwatch detections add case/ sar_detections.csv`\n\n"
                      "`sanctionwatch detections add case/ xview3_out.csv`  (times from `scenes add`)")
sightings_app = _sub("sightings", "Analyst sightings: a vessel identified on an image or in a report "
                     "(time, place, claimed name/IMO/MMSI, image reference, confidence, note).",
                     "Example: `sanctionwatch sightings add case/ sightings.csv`")


def _add(project_dir: Path, files: list[Path], kind: str, *, mapping: Path | None = None,
         timezone: str | None = None) -> None:
    from sanctionwatch.imagery.catalog import add_imagery
    from sanctionwatch.imagery.inputs import ImageryInputError

    project = _open(project_dir)
    reports, errors = [], []
    try:
        for f in files:
            try:
                reports.append(add_imagery(project, f, kind, mapping=mapping, timezone=timezone))
            except ImageryInputError as err:
                errors.append(str(err))
    finally:
        project.close()
    table = Table(title=f"{kind.capitalize()} added", title_justify="left")
    for c in ("file", "layout", "records", "kept", "quarantined", "reasons"):
        table.add_column(c, overflow="fold")
    for r in reports:
        if r.already_added:
            table.add_row(r.path.name, "", "", "", "", "already added: nothing added")
            continue
        table.add_row(r.path.name, r.layout, f"{r.records_read:,}", f"{r.rows_kept:,}", f"{r.quarantined:,}",
                      ", ".join(f"{k} {v:,}" for k, v in sorted(r.reasons.items())))
    if reports:
        console.print(table)
    for e in errors:
        console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(int(Exit.INPUT if not reports else Exit.FAILED))


@scenes_app.command("add", epilog="Example: `sanctionwatch scenes add case/ footprints.geojson`")
def scenes_add(project_dir: ProjectArg, files: FilesArg) -> None:
    """Add scene footprints (add them before the scenes' detections: they date xView3-style detections and
    catch detections outside their scene)."""
    _add(project_dir, files, "scenes")


@detections_app.command("add", epilog="Examples:\n\n`sanctionwatch detections add case/ gfw_sar.csv`\n\n"
                        "`sanctionwatch detections add case/ mine.csv --mapping mine.yaml`")
def detections_add(
    project_dir: ProjectArg, files: FilesArg,
    mapping: Annotated[Path | None, typer.Option(help="YAML: `columns: {ts_utc: ..., lat_deg: ..., lon_deg: ..., "
                                                 "length_m: ...}`, optional `timezone`, `sensor`.")] = None,
) -> None:
    """Add vessel detections; bad records (position, time, outside the scene footprint) are quarantined."""
    if mapping is not None and not mapping.is_file():
        raise _fail(f"{mapping}: no such mapping file", Exit.USAGE)
    _add(project_dir, files, "detections", mapping=mapping)


@sightings_app.command("add", epilog="Example: `sanctionwatch sightings add case/ sightings.csv`")
def sightings_add(
    project_dir: ProjectArg, files: FilesArg,
    timezone: Annotated[str | None, typer.Option(help="Zone of timestamps written without one (default: such "
                                                 "timestamps are an error).")] = None,
) -> None:
    """Add analyst sightings (CSV/GeoJSON: time, lat, lon, name, imo, mmsi, image_ref, confidence, note)."""
    _add(project_dir, files, "sightings", timezone=timezone)


counts_app = _sub("counts", "Counts at a site read off imagery by an analyst (rail cars, containers, ships): "
                  "CSV `site,date,count,category[,period][,note]`.",
                  "Example: `sanctionwatch counts add case/ rail_counts.csv`")


@counts_app.command("add", epilog="Example: `sanctionwatch counts add case/ rail_counts.csv`")
def counts_add(project_dir: ProjectArg, files: FilesArg) -> None:
    """Add an analyst's counts; a bad row fails the file with its line, and nothing of it is added."""
    from sanctionwatch.imagery.activity_counts import CountsFileError
    from sanctionwatch.imagery.site import add_counts

    project = _open(project_dir)
    try:
        for f in files:
            try:
                added, known = add_counts(project, f)
            except CountsFileError as err:
                raise _fail(str(err), Exit.INPUT) from None
            console.print(f"{f.name}: {added:,} counts added" + (f", {known:,} already stored" if known else ""),
                          highlight=False)
    finally:
        project.close()


def activity(
    project_dir: ProjectArg,
    site: Annotated[str, typer.Option(help="Site: a watched area id (see `areas list`) or the site name "
                                      "used in a counts file.")],
    period: Annotated[str, typer.Option(help="'week' (ISO weeks, Monday) or 'day' (UTC).")] = "week",
    show_series: Annotated[bool, typer.Option("--series", help="Also print every period's count.")] = False,
) -> None:
    """Counts at a site (analyst counts, ships in port from AIS, detections) with spikes against a robust
    baseline and level changes (changepoints), each stated in plain words with its figures."""
    from sanctionwatch.imagery.site import site_activity

    if period not in ("week", "day"):
        raise _fail("--period must be 'week' or 'day'", Exit.USAGE)
    project = _open(project_dir, read_only=True)
    try:
        result = site_activity(project, site, period=period)
    finally:
        project.close()
    if result.series.is_empty():
        raise _fail(f"no counts at {site!r}: add an analyst's counts (`counts add`), run `sanctionwatch run` for "
                    "ships in port, or add detections", Exit.FAILED)
    summary = (result.series.filter(result.series["count"].is_not_null())
               .group_by("category", "basis").agg(n=pl.len(), first=pl.col("period_start_utc").min(),
                                                  last=pl.col("period_start_utc").max(), max=pl.col("count").max())
               .sort("category"))
    table = Table(title=f"Series at {site} (per {period})", title_justify="left")
    for c in ("what", "basis", "observed periods", "from", "to", "highest"):
        table.add_column(c)
    for r in summary.iter_rows(named=True):
        table.add_row(r["category"], r["basis"], f"{r['n']:,}", f"{r['first']:%Y-%m-%d}", f"{r['last']:%Y-%m-%d}",
                      f"{r['max']:,.1f}")
    console.print(table)
    if show_series:
        st = Table(title="Counts", title_justify="left")
        for c in ("period", "what", "count"):
            st.add_column(c)
        for r in result.series.sort("category", "period_start_utc").iter_rows(named=True):
            st.add_row(f"{r['period_start_utc']:%Y-%m-%d}", r["category"],
                       "not observed" if r["count"] is None else f"{r['count']:,.1f}")
        console.print(st)
    if result.anomalies.is_empty():
        console.print("No spikes or level changes at the configured thresholds.")
        return
    at = Table(title=f"Anomalies ({result.anomalies.height})", title_justify="left")
    for c in ("period", "kind", "what", "count", "z", "statement"):
        at.add_column(c, overflow="fold")
    for r in result.anomalies.iter_rows(named=True):
        at.add_row(f"{r['period_start_utc']:%Y-%m-%d}", r["kind"], r["category"], f"{r['count']:,.1f}",
                   "" if r["z"] is None else f"{r['z']:.1f}", r["statement"])
    console.print(at)


def match(
    project_dir: ProjectArg,
    limit: Annotated[int, typer.Option(help="Show at most this many dark candidates.")] = 30,
    engine: Annotated[str, typer.Option(help="local, or spark: the same matching as a Spark join partitioned "
                                        "by scene (Java 17; see docs/scaling.md).")] = "local",
    master: Annotated[str | None, typer.Option(help="Spark master with --engine spark [default: local[*]].")]
    = None,
    settings: SetOpt = None,
) -> None:
    """Match every scene's detections to the AIS vessels expected there (one-to-one per scene); unmatched
    detections are dark-vessel candidates. Sightings become port visits (or sightings) on vessels' timelines."""
    from sanctionwatch.engines.base import EngineUnavailableError, make_engine
    from sanctionwatch.imagery.run_match import match_project

    if engine not in ("local", "spark"):
        raise _fail(f"--engine must be 'local' or 'spark', not {engine!r}", Exit.USAGE)
    if master is not None and engine != "spark":
        raise _fail("--master applies to --engine spark only", Exit.USAGE)
    spark_engine = make_engine("spark", master=master) if engine == "spark" else None
    project = _open(project_dir, settings=settings)
    try:
        with console.status("matching detections to AIS"):
            try:
                report = match_project(project, spark_engine=spark_engine)
            except EngineUnavailableError as err:
                raise _fail(str(err), Exit.FAILED) from None
        dark = project.con.sql(
            "SELECT m.scene_id, m.ts_utc, d.lat_deg, d.lon_deg, d.length_m, d.confidence, m.detection_id, "
            "d.source_id, d.record_no FROM detection_matches m JOIN detections d USING (detection_id) "
            "WHERE m.status = 'dark_candidate' ORDER BY m.ts_utc, m.detection_id").pl()
        matched = project.con.sql(
            "SELECT m.scene_id, m.mmsi, m.score, m.distance_m, m.fix_offset_min FROM detection_matches m "
            "WHERE m.status = 'matched' ORDER BY m.ts_utc, m.mmsi").pl()
    finally:
        project.close()
    statuses = ", ".join(f"{n:,} {k}" for k, n in sorted(report.by_status.items())) or "no detections"
    missed = (f"{report.missed:,} AIS vessels expected in a footprint but not detected"
              if report.missed >= 0 else "missed vessels not counted on Spark")
    console.print(f"{report.detections:,} detections in {report.scenes:,} scenes: {statuses}; {missed}. "
                  f"{report.sighting_events:,} of "
                  f"{report.sightings:,} sightings placed on a vessel's timeline"
                  + (f" ({report.unresolved_sightings:,} name no vessel in the data)" if report.unresolved_sightings
                     else "") + f" ({report.seconds:.1f} s).", highlight=False)
    if matched.height:
        mt = Table(title="Matched detections", title_justify="left")
        for c in ("scene", "MMSI", "score", "distance m", "fix offset min"):
            mt.add_column(c)
        for r in matched.head(limit).iter_rows(named=True):
            mt.add_row(r["scene_id"] or "", str(r["mmsi"]), f"{r['score']:.2f}", f"{r['distance_m']:,.0f}",
                       f"{r['fix_offset_min']:+.0f}")
        console.print(mt)
    table = Table(title=f"Dark-vessel candidates ({dark.height:,}): detections no AIS vessel can explain",
                  title_justify="left")
    for c in ("scene", "time (UTC)", "lat", "lon", "length m", "confidence", "source:line"):
        table.add_column(c)
    for r in dark.head(limit).iter_rows(named=True):
        table.add_row(r["scene_id"] or "", f"{r['ts_utc']:%Y-%m-%d %H:%M}", f"{r['lat_deg']:.4f}", f"{r['lon_deg']:.4f}",
                      "" if r["length_m"] is None else f"{r['length_m']:.0f}",
                      "" if r["confidence"] is None else f"{r['confidence']:.2f}", f"{r['source_id']}:{r['record_no']}")
    console.print(table)


sar_app = _sub("sar", "Ship detection on SAR GeoTIFFs (Sentinel-1 GRD-like; sigma0 linear or dB, or DN) with an "
               "adaptive CFAR detector, land masked with the packaged coastline.",
               "Example: `sanctionwatch sar detect S1A_rajin.tif --time 2023-10-11T02:20:38Z --project case/`")


@sar_app.command("detect", epilog="Examples:\n\n`sanctionwatch sar detect scene.tif --time 2023-10-11T02:20Z "
                 "--project case/`\n\n`sanctionwatch sar detect scene.tif --time 2023-10-11T02:20Z -o ships.geojson`\n\n"
                 "`sanctionwatch sar detect scene.tif --time ... --project case/ --set imagery.cfar_pfa=1e-8`")
def sar_detect(
    scene: Annotated[Path, typer.Argument(help="Single-band (or --band) SAR GeoTIFF with a CRS and geotransform.")],
    time_utc: Annotated[str, typer.Option("--time", help="Acquisition time with its zone (e.g. 2023-10-11T02:20:38Z).")],
    project_dir: Annotated[Path | None, typer.Option("--project", help="Store the detections and the scene "
                                                     "footprint in this project (then `sanctionwatch match`).")] = None,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the detections (.csv or .geojson).")]
    = None,
    scene_id: Annotated[str | None, typer.Option(help="Scene id (default: the file name).")] = None,
    band: Annotated[int | None, typer.Option(help="Band to use in a multi-band file (1-based).")] = None,
    scale: Annotated[str, typer.Option(help="auto, linear, db or dn.")] = "auto",
    settings: SetOpt = None,
) -> None:
    """Detect vessels in a SAR scene (CFAR; settings `imagery.cfar_*`) and report them as detections."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sanctionwatch.config import ConfigError, load_config, parse_assignments
    from sanctionwatch.imagery.catalog import add_sar_scene
    from sanctionwatch.imagery.cfar import CfarParams, SceneError, detect_vessels

    try:
        when = dt.datetime.fromisoformat(time_utc.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"--time {time_utc!r} is not an ISO-8601 time", Exit.USAGE) from None
    if when.tzinfo is None:  # a satellite time in the wrong zone misplaces every ship against AIS
        raise _fail(f"--time {time_utc!r} has no time zone; write e.g. {time_utc}Z", Exit.USAGE)
    if scale not in ("auto", "linear", "db", "dn"):
        raise _fail("--scale must be auto, linear, db or dn", Exit.USAGE)
    project = _open(project_dir, settings=settings) if project_dir is not None else None
    try:
        config = project.config if project is not None else load_config(None, parse_assignments(settings or []))
    except ConfigError as err:
        raise _fail(str(err), Exit.CONFIG) from None
    try:
        with Progress(TextColumn("CFAR {task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(scene.name, total=None)
            result = detect_vessels(scene, when, scene_id=scene_id, band=band, scale=scale,  # type: ignore[arg-type]
                                    params=CfarParams.from_config(config),
                                    on_progress=lambda done, total: bar.update(task, completed=done, total=total))
        stored = add_sar_scene(project, scene, result) if project is not None else None
    except SceneError as err:
        raise _fail(str(err), Exit.INPUT) from None
    finally:
        if project is not None:
            project.close()
    st = result.stats
    console.print(f"{scene.name}: {st.width:,} x {st.height:,} px ({st.pixel_dx_m:.0f} x {st.pixel_dy_m:.0f} m, "
                  f"{st.scale}), {st.tiles} tiles, {st.land_fraction:.0%} land; {st.objects_reported:,} objects "
                  f"reported ({st.objects_found:,} found) in {st.seconds:.1f} s; method {result.params.method}, "
                  f"Pfa {result.params.pfa:.1e}.", highlight=False)
    det = pl.DataFrame(pl.from_arrow(result.detections))
    table = Table(title=f"Detections ({det.height:,})", title_justify="left")
    for c in ("id", "lat", "lon", "length m", "heading", "confidence"):
        table.add_column(c)
    for r in det.head(30).iter_rows(named=True):
        table.add_row(r["detection_id"], f"{r['lat_deg']:.5f}", f"{r['lon_deg']:.5f}",
                      "" if r["length_m"] is None else f"{r['length_m']:.0f}",
                      "" if r["heading_deg"] is None else f"{r['heading_deg']:.0f}",
                      "" if r["confidence"] is None else f"{r['confidence']:.2f}")
    console.print(table)
    if stored is not None:
        console.print(("Already stored (same GeoTIFF bytes): nothing added." if stored.already_added else
                       f"Stored {stored.rows_kept:,} detections and the scene footprint in {project_dir}; "
                       f"next: `sanctionwatch match {project_dir}`."), highlight=False)
    if out is not None:
        _write_detections(det, out)
        console.print(f"Wrote {det.height:,} detections to {out}", highlight=False)


def _write_detections(det: pl.DataFrame, out: Path) -> None:
    import json

    from sanctionwatch.store import atomic_output

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".geojson"):
        raise _fail(f"{out}: use a .csv or .geojson file name", Exit.USAGE)
    with atomic_output(out) as tmp:
        if suffix == ".csv":
            det.write_csv(tmp)
        else:
            feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon_deg"], r["lat_deg"]]},
                      "properties": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}}
                     for r in det.iter_rows(named=True)]
            tmp.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
