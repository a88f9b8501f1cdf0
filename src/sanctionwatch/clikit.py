"""Shared pieces of the command line: consoles, exit codes, opening a project, common options.

Kept apart from ``cli.py`` so each capability's commands (``screening/commands.py``...) can use
them without importing the whole CLI.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["Exit", "ProjectArg", "SetOpt", "_fail", "_open", "_parse_time", "console", "err_console"]

# Pipes and logs get a wide console so tables are not truncated to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class Exit(enum.IntEnum):
    """Process exit codes."""

    OK = 0
    FAILED = 1  # some inputs failed, others were ingested
    USAGE = 2  # bad command line (Typer/Click's own code)
    INPUT = 3  # an input file cannot be read at all
    PROJECT = 4  # not a project, locked by another process, newer format
    CONFIG = 5  # unknown setting or bad value


def _fail(message: str, code: Exit) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(int(code))


def _parse_time(value: str | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"{what}: {value!r} is not an ISO-8601 date/time (e.g. 2023-08-01 or 2023-08-01T12:00Z)",
                    Exit.USAGE) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _open(project_dir: Path, *, read_only: bool = False, settings: list[str] | None = None) -> Any:
    from sanctionwatch.config import ConfigError, parse_assignments
    from sanctionwatch.store import Project, ProjectError

    try:
        return Project.open(project_dir, read_only=read_only, overrides=parse_assignments(settings or []))
    except ProjectError as err:
        raise _fail(str(err), Exit.PROJECT) from None
    except ConfigError as err:
        raise _fail(str(err), Exit.CONFIG) from None


ProjectArg = Annotated[Path, typer.Argument(help="Project folder (created by `sanctionwatch init`).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting for this run: name=value (repeatable). "
                 "See `sanctionwatch settings`."),
]
