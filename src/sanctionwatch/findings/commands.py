"""Command line for findings: run the rules, list the findings, show one with its evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sanctionwatch.clikit import Exit, ProjectArg, SetOpt, _fail, _open, _parse_time, console

__all__ = ["evidence", "findings", "rules"]


def findings(
    project_dir: ProjectArg,
    rules_file: Annotated[list[Path] | None, typer.Option("--rules", help="A rules file (TOML, SQL rules) to run "
                                                          "as well as the built-ins and DIR/rules/*.toml.")] = None,
    only: Annotated[list[str] | None, typer.Option("--rule", help="Run (and show) only this rule; repeatable.")]
    = None,
    min_severity: Annotated[str | None, typer.Option(help="Show findings of at least this severity "
                                                     "(info, low, medium, high).")] = None,
    vessel: Annotated[str | None, typer.Option(help="Show findings about this vessel (MMSI or IMO).")] = None,
    since: Annotated[str | None, typer.Option(help="Show findings whose span ends on or after this UTC time.")]
    = None,
    show_only: Annotated[bool, typer.Option("--show", help="Show the stored findings without running the rules.")]
    = False,
    limit: Annotated[int, typer.Option(help="Show at most this many findings.")] = 50,
    settings: SetOpt = None,
) -> None:
    """Run the rules (built-in and yours) over events, screening and imagery results, store the
    findings, and list them: statement, confidence with its reason, span, evidence count."""
    from sanctionwatch.findings.engine import RuleFileError, run_findings
    from sanctionwatch.findings.store import SEVERITIES, FindingFilter, findings_frame
    from sanctionwatch.vessels import resolve_vessel

    if min_severity is not None and min_severity not in SEVERITIES:
        raise _fail(f"--min-severity must be one of {', '.join(SEVERITIES)}", Exit.USAGE)
    project = _open(project_dir, read_only=show_only, settings=settings)
    try:
        if not show_only:
            try:
                with console.status("running the rules"):
                    report = run_findings(project, rules_files=rules_file or (), only=only or ())
            except RuleFileError as err:
                raise _fail(str(err), Exit.USAGE) from None
            console.print(f"{report.total:,} findings from {len(report.rules)} rules in {report.seconds:.1f} s: "
                          + (", ".join(f"{n} {r}" for r, n in report.by_rule.items()) or "none"), highlight=False)
        mmsis: list[int] = []
        if vessel:
            try:
                mmsis = resolve_vessel(project, vessel)
            except ValueError as err:
                raise _fail(str(err), Exit.USAGE) from None
        frames = [findings_frame(project, FindingFilter(min_severity=min_severity, mmsi=m,
                                                        since=_parse_time(since, "--since") if since else None))
                  for m in (mmsis or [None])]  # type: ignore[list-item]
    finally:
        project.close()
    import polars as pl

    df = pl.concat(frames).unique("finding_id", maintain_order=True)
    if only:
        df = df.filter(pl.col("rule").is_in(only))
    table = Table(title=f"Findings ({min(df.height, limit):,} of {df.height:,})", title_justify="left")
    for c in ("id", "severity", "statement", "confidence", "span (UTC)", "evidence"):
        table.add_column(c, overflow="fold")
    for r in df.head(limit).iter_rows(named=True):
        span = f"{r['start_utc']:%Y-%m-%d}" if r["start_utc"] else ""
        if r["end_utc"] and r["start_utc"] and r["end_utc"].date() != r["start_utc"].date():
            span += f" to {r['end_utc']:%Y-%m-%d}"
        conf = f"{r['confidence']:.2f}: {r['confidence_reason']}" if r["confidence"] is not None else ""
        table.add_row(r["finding_id"][:10], r["severity"], escape(r["statement"]), escape(conf), span,
                      f"{len(r['event_ids'])} events, {len(r['evidence'])} records")
    console.print(table)
    console.print(f"Evidence of one finding: `sanctionwatch evidence {project_dir} ID`", highlight=False)


def evidence(
    project_dir: ProjectArg,
    finding: Annotated[str, typer.Argument(help="Finding id (or a unique prefix of it).")],
    limit: Annotated[int, typer.Option(help="Show at most this many raw records.")] = 100,
) -> None:
    """One finding with the events behind it and the raw input lines (file and line number) behind those."""
    from sanctionwatch.findings.evidence import flatten_refs, resolve_evidence
    from sanctionwatch.findings.store import finding_events

    project = _open(project_dir, read_only=True)
    try:
        if not project.has_table("findings"):
            raise _fail(f"no findings in {project_dir}: run `sanctionwatch findings {project_dir}` first", Exit.FAILED)
        found = project.con.sql("SELECT * FROM findings WHERE finding_id LIKE ?", params=[finding + "%"]).pl()
        if found.height != 1:
            raise _fail(f"{found.height} findings have an id starting with {finding!r}", Exit.USAGE)
        row = found.row(0, named=True)
        events = finding_events(project, row["finding_id"])
        records = resolve_evidence(project, flatten_refs([row["evidence"]]).head(limit))
    finally:
        project.close()
    console.print(f"[bold]{escape(row['title'] or '')}[/] ({row['severity']}, rule {row['rule']})\n"
                  f"{escape(row['statement'])}\nConfidence {row['confidence']:.2f}: {escape(row['confidence_reason'])}",
                  highlight=False)
    table = Table(title=f"Events ({events.height})", title_justify="left")
    for c in ("event", "type", "basis", "start (UTC)", "end (UTC)", "area"):
        table.add_column(c, overflow="fold")
    for e in events.iter_rows(named=True):
        table.add_row(e["event_id"][:10], e["event_type"], e["basis"] or "", f"{e['start_utc']:%Y-%m-%d %H:%M}",
                      f"{e['end_utc']:%Y-%m-%d %H:%M}" if e["end_utc"] else "", e["area_id"] or "")
    console.print(table)
    table = Table(title=f"Raw records ({records.height} of {len(row['evidence'])})", title_justify="left")
    for c in ("file:line", "status", "text"):
        table.add_column(c, overflow="fold")
    for r in records.iter_rows(named=True):
        table.add_row(f"{Path(r['path'] or r['source_id']).name}:{r['record_no']}", r["status"], escape(r["text"] or ""))
    console.print(table)


def rules(
    project_dir: ProjectArg,
    rules_file: Annotated[list[Path] | None, typer.Option("--rules", help="Also list the rules of this file.")]
    = None,
) -> None:
    """List the rules that `findings` runs: built-in, the project's (DIR/rules/*.toml) and --rules files."""
    from sanctionwatch.findings.engine import RuleFileError, project_rules

    project = _open(project_dir, read_only=True)
    try:
        try:
            found = project_rules(project, rules_file or ())
        except RuleFileError as err:
            raise _fail(str(err), Exit.USAGE) from None
        config = project.config
    finally:
        project.close()
    table = Table(title=f"Rules ({len(found)})", title_justify="left")
    for c in ("rule", "severity", "description", "settings", "from"):
        table.add_column(c, overflow="fold")
    for r in found:
        table.add_row(r.name, r.severity, r.description,
                      "\n".join(f"{s} = {config[s]!r}" for s in r.settings), r.origin)
    console.print(table)
