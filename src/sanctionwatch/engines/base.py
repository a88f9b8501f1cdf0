"""One engine interface: ``sanctionwatch run`` picks an engine, the stages never know which.

An engine computes a project's events from its positions and identities with the stages declared
in :mod:`sanctionwatch.engines.stages` (per vessel) and the cross-vessel detectors (encounters,
identity changes), and leaves the project's ``events`` table as the other engines would.

* ``local`` (:mod:`~sanctionwatch.engines.local`): groups of vessels from the store, incremental.
* ``spark`` (:mod:`~sanctionwatch.engines.spark`): PySpark, local mode or a cluster, positions
  from the store or from Parquet anywhere Hadoop can read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sanctionwatch.store import Project

__all__ = [
    "ENGINES",
    "Engine",
    "EngineInputError",
    "EngineName",
    "EngineUnavailableError",
    "LocalEngine",
    "ProgressFn",
    "RunReport",
    "make_engine",
]

ProgressFn = Callable[[int, int], None]


class EngineName(enum.StrEnum):
    """The engines ``sanctionwatch run --engine`` offers."""

    local = "local"
    spark = "spark"


class EngineInputError(ValueError):
    """An input the engine was given cannot be used (the message names the file)."""


class EngineUnavailableError(RuntimeError):
    """The engine's software is missing (the message says what to install)."""


@dataclass
class RunReport:
    vessels_processed: int = 0
    positions_processed: int = 0
    new_sources: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    events_total: int = 0
    seconds: float = 0.0
    full: bool = False
    params_id: str = ""
    engine: str = "local"
    # Where the engine wrote its events as Parquet besides the project (Spark --events-out), if anywhere.
    events_uri: str = ""
    # False when the events went only to events_uri (positions read from outside the project).
    loaded_into_project: bool = True


class Engine(Protocol):
    """Computes a project's events; the same stages and detectors whichever engine runs them."""

    name: str

    def run(self, project: Project, *, full: bool = False, on_progress: ProgressFn | None = None) -> RunReport: ...


@dataclass
class LocalEngine:
    """The in-process engine (:func:`sanctionwatch.engines.local.run_local`)."""

    name: str = "local"

    def run(self, project: Project, *, full: bool = False, on_progress: ProgressFn | None = None) -> RunReport:
        from sanctionwatch.engines.local import run_local

        return run_local(project, full=full, on_progress=on_progress)


ENGINES = tuple(e.value for e in EngineName)


def make_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name`` (one of :data:`ENGINES`) with its options (Spark: master, inputs...)."""
    if name == "local":
        if any(v not in (None, (), [], False) for v in options.values()):
            given = ", ".join(k for k, v in options.items() if v not in (None, (), [], False))
            raise ValueError(f"option(s) {given} apply to the Spark engine only (--engine spark)")
        return LocalEngine()
    if name == "spark":
        from sanctionwatch.engines.spark import SparkEngine

        return SparkEngine(**{k: v for k, v in options.items() if v is not None})
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
