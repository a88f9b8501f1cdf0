"""Command-line commands of the imagery capability: ``scenes``, ``detections`` and ``sightings``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctionwatch.clikit import Exit, ProjectArg, _fail, _open, console

__all__ = ["detections_app", "scenes_app", "sightings_app"]

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
