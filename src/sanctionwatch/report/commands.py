"""Command-line commands of the report capability: ``report`` and ``dossier``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from sanctionwatch.clikit import Exit, ProjectArg, _fail, _open, console, err_console

__all__ = ["dossier", "report"]

OutOpt = Annotated[Path, typer.Option("--output", "-o", help="HTML file to write (replaced atomically).")]


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("Starting", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield update


def _check_output(out: Path) -> Path:
    out = out.expanduser()
    if out.is_dir():
        raise _fail(f"--output {out} is a folder; give a file name such as {out / 'report.html'}", Exit.USAGE)
    if not out.resolve().parent.is_dir():
        raise _fail(f"--output {out}: the folder {out.resolve().parent} does not exist", Exit.USAGE)
    return out


def _done(out: Path, what: str, summary: str) -> None:
    size = out.stat().st_size
    console.print(f"Wrote {what} [bold]{out}[/] ({size / 1e6:.1f} MB): {summary}.", highlight=False)
    console.print(f"Open it in a browser: [bold]{out.resolve().as_uri()}[/] (self-contained: works offline, "
                  "can be e-mailed; maps need JavaScript).", highlight=False)


def report(
    project_dir: ProjectArg,
    out: OutOpt = Path("report.html"),
    rule: Annotated[str | None, typer.Option(help="Only findings of this rule.")] = None,
    min_severity: Annotated[str | None, typer.Option(
        "--min-severity", help="Only findings at least this severe: info, low, medium, high.")] = None,
    vessel: Annotated[str | None, typer.Option(
        help="Only findings about this vessel (MMSI, IMO or name).")] = None,
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
) -> None:
    """Write the HTML report: findings with maps, timelines, charts and evidence, in one offline file."""
    from sanctionwatch.findings.store import SEVERITIES, FindingFilter, findings_frame
    from sanctionwatch.report.dossier import VesselNotFound, find_vessel
    from sanctionwatch.report.html import build_report

    if min_severity is not None and min_severity not in SEVERITIES:
        raise _fail(f"--min-severity {min_severity!r}: choose one of {', '.join(SEVERITIES)}", Exit.USAGE)
    out = _check_output(out)
    project = _open(project_dir, read_only=True)
    try:
        flt = FindingFilter(rule=rule, min_severity=min_severity)
        if vessel is not None:
            try:
                mmsis = find_vessel(project, vessel)
            except VesselNotFound as err:
                raise _fail(f"--vessel: {err}", Exit.USAGE) from None
            if len(mmsis) == 1:
                flt = FindingFilter(rule=rule, min_severity=min_severity, mmsi=mmsis[0])
            else:
                ids = {fid for m in mmsis for fid in findings_frame(project, FindingFilter(
                    rule=rule, min_severity=min_severity, mmsi=m)).get_column("finding_id").to_list()}
                # an empty id list would mean "no filter": name an id no finding has instead
                flt = FindingFilter(finding_ids=tuple(sorted(ids)) or ("",))
        if not project.has_table("findings") or findings_frame(project, limit=1).height == 0:
            err_console.print(f"[yellow]warning:[/] {project_dir} has no findings yet: run "
                              f"`sanctionwatch findings {project_dir}` first (the report will list none)",
                              highlight=False)
        elif rule is not None and findings_frame(project, FindingFilter(rule=rule), limit=1).height == 0:
            known = findings_frame(project).get_column("rule").unique().sort().to_list()
            err_console.print(f"[yellow]warning:[/] no finding of rule {rule!r}"
                              + (f" (rules in this project: {', '.join(known)})" if known else
                                 " (the project has no findings yet: run `sanctionwatch findings DIR`)"),
                              highlight=False)
        try:
            with _progress() as update:
                stats = build_report(project, out, flt=flt, title=title, progress=update)
        except OSError as err:
            raise _fail(f"cannot write {out}: {err.strerror or err}", Exit.FAILED) from None
    finally:
        project.close()
    _done(out, "the report", stats.summary())


def dossier(
    project_dir: ProjectArg,
    vessel: Annotated[str, typer.Argument(help="The vessel: 9-digit MMSI, 7-digit IMO (IMO prefix allowed) "
                                          "or a broadcast name.")],
    out: OutOpt = Path("vessel.html"),
) -> None:
    """Write one vessel's dossier: identities, screening matches, findings, track map, timeline, events."""
    from sanctionwatch.report.dossier import VesselNotFound, build_dossier

    out = _check_output(out)
    project = _open(project_dir, read_only=True)
    try:
        try:
            with _progress() as update:
                stats = build_dossier(project, vessel, out, progress=update)
        except VesselNotFound as err:
            raise _fail(str(err), Exit.USAGE) from None
        except OSError as err:
            raise _fail(f"cannot write {out}: {err.strerror or err}", Exit.FAILED) from None
    finally:
        project.close()
    _done(out, "the dossier", stats.summary())
