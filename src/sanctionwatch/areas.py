"""Watched areas of a project: the packaged defaults plus the project's own GeoJSON files.

A project keeps its own area files in ``<project>/areas/*.geojson`` (added with
``sanctionwatch areas add``). :func:`project_areas` returns the packaged default areas followed by
the areas of those files (sorted by file name); a project area with the same ``area_id`` as a
default area replaces it. Two project files must not define the same ``area_id``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctionwatch.geo import AREAS_FILE, Area, default_areas, load_areas

__all__ = [
    "AREAS_DIR",
    "DEFAULT_SOURCE",
    "AreaConflictError",
    "SourcedArea",
    "add_area_file",
    "area_dir",
    "project_areas",
    "sourced_areas",
]

AREAS_DIR = "areas"
DEFAULT_SOURCE = f"(packaged) {AREAS_FILE}"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class AreaConflictError(ValueError):
    """An area file cannot be added: its name or one of its area_ids is already used."""


@dataclass(frozen=True)
class SourcedArea:
    """An area and the file it comes from (a project file path, or :data:`DEFAULT_SOURCE`)."""

    area: Area
    source: str


def _project_path(project: Any) -> Path:
    return Path(getattr(project, "path", project))


def area_dir(project: Any) -> Path:
    """``<project>/areas``: where the project's area files live (``project``: a Project or a path)."""
    return _project_path(project) / AREAS_DIR


def _project_files(project: Any) -> list[Path]:
    d = area_dir(project)
    return sorted(d.glob("*.geojson")) if d.is_dir() else []


def _check_no_duplicates(loaded: list[tuple[Path, list[Area]]]) -> None:
    owner: dict[str, Path] = {}
    for path, areas in loaded:
        for a in areas:
            if a.area_id in owner:
                raise AreaConflictError(
                    f"{path}: area_id {a.area_id!r} is already defined in {owner[a.area_id]}; "
                    "area ids must be unique across the project's area files"
                )
            owner[a.area_id] = path


def sourced_areas(project: Any) -> list[SourcedArea]:
    """Every area in use with its source file: defaults (unless replaced) then project files.

    Raises :class:`~sanctionwatch.geo.AreaFileError` for an invalid project file and
    :class:`AreaConflictError` when two project files share an ``area_id``.
    """
    loaded = [(p, load_areas(p)) for p in _project_files(project)]
    _check_no_duplicates(loaded)
    own = [SourcedArea(a, str(p)) for p, areas in loaded for a in areas]
    replaced = {s.area.area_id for s in own}
    defaults = [SourcedArea(a, DEFAULT_SOURCE) for a in default_areas() if a.area_id not in replaced]
    return defaults + own


def project_areas(project: Any) -> list[Area]:
    """The areas a project's analysis uses: packaged defaults + ``<project>/areas/*.geojson``
    (project areas win on equal ``area_id``). ``project``: a :class:`~sanctionwatch.store.Project`
    or its folder."""
    return [s.area for s in sourced_areas(project)]


def add_area_file(project: Any, source: str | Path, name: str | None = None) -> tuple[Path, list[Area]]:
    """Validate ``source`` and copy it to ``<project>/areas/<name>.geojson`` atomically.

    Returns the new path and its areas. Raises :class:`~sanctionwatch.geo.AreaFileError` for an
    invalid file (nothing is written) and :class:`AreaConflictError` for a name that is taken or an
    ``area_id`` already defined by another project file (a default area may be replaced).
    """
    source = Path(source)
    areas = load_areas(source)
    stem = name if name is not None else source.stem
    stem = stem.removesuffix(".geojson")
    if not _NAME_RE.fullmatch(stem):
        raise AreaConflictError(
            f"{stem!r} is not a usable area file name (letters, digits, '.', '_', '-'; give --name)"
        )
    d = area_dir(project)
    target = d / f"{stem}.geojson"
    if target.exists():
        raise AreaConflictError(f"{target} already exists; choose another --name")
    existing = [(p, load_areas(p)) for p in _project_files(project)]
    _check_no_duplicates([*existing, (source, areas)])
    data = source.read_bytes()
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{stem}.geojson.{os.getpid()}.tmp"
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target, areas
