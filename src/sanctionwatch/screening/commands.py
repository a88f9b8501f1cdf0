"""Command-line commands of the screening capability: ``lists``, ``screen`` and ``network``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctionwatch.clikit import Exit, ProjectArg, SetOpt, _fail, _open, _parse_time, console

__all__ = ["lists_app", "network", "screen"]

lists_app = typer.Typer(
    name="lists",
    help="Sanctions lists and watchlists: OFAC SDN (CSV set or XML), EU annexes (FtM CSV), UN consolidated "
    "XML, OpenSanctions FollowTheMoney JSON lines, or your own CSV (name,imo,mmsi,note).",
    epilog="Examples:\n\n`sanctionwatch lists add case/ sdn.csv`  (alt.csv and add.csv beside it are read too)\n\n"
    "`sanctionwatch lists list case/`\n\n`sanctionwatch lists history case/ --name ofac-sdn --delisted`",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@lists_app.command("add", epilog="Examples:\n\n`sanctionwatch lists add case/ ~/lists/sdn.csv`\n\n"
                   "`sanctionwatch lists add case/ 32017R1509.csv --name eu-dprk`\n\n"
                   "`sanctionwatch lists add case/ my-watchlist.csv --as-of 2024-02-01`\n\n"
                   "Loading a newer file under the same --name adds a version: delistings are dated.")
def lists_add(
    project_dir: ProjectArg,
    file: Annotated[Path, typer.Argument(help="List file (format recognised from its content).")],
    name: Annotated[str | None, typer.Option(help="Name of the list in this project; versions of one list "
                                             "share it (default: from the format, e.g. ofac-sdn).")] = None,
    format: Annotated[str | None, typer.Option("--format", help="ofac_csv, ofac_xml, eu_ftm_csv, un_xml, "
                                               "ftm_json or watchlist_csv (default: recognised).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Publication date of this version (default: the date in "
                                              "the file, else the file's modification time).")] = None,
) -> None:
    """Load a list version into the project. Nothing is half-loaded: a file that fails loads nothing."""
    from sanctionwatch.screening.catalog import add_list
    from sanctionwatch.screening.lists.base import ListError

    when = _parse_time(as_of, "--as-of")
    project = _open(project_dir)
    try:
        with console.status(f"loading {file.name}"):
            report = add_list(project, file, name=name, fmt=format, as_of=when)
    except ListError as err:
        raise _fail(str(err), Exit.INPUT) from None
    finally:
        project.close()
    if report.already_loaded:
        console.print(f"{file}: already loaded as list {report.list_name!r} (version {report.list_id}); "
                      "nothing added.", highlight=False)
        return
    console.print(
        f"Loaded {report.list_name!r} ({report.format}) as of {report.as_of.date()} [{report.as_of_basis}]: "
        f"{report.n_entries:,} entries, {report.n_vessels:,} vessels, {report.n_relations:,} relations"
        + (f", {report.rejected:,} entries rejected (see `lists list`)" if report.rejected else "") + ".",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False)


@lists_app.command("list", epilog="Example: `sanctionwatch lists list case/`")
def lists_list(project_dir: ProjectArg) -> None:
    """What is loaded, as of which date: every version of every list, newest first."""
    from sanctionwatch.screening.catalog import lists_summary

    project = _open(project_dir, read_only=True)
    try:
        df = lists_summary(project)
    finally:
        project.close()
    table = Table(title=f"Lists ({df.height} versions)", title_justify="left")
    for c in ("list", "as of", "basis", "format", "entries", "vessels", "relations", "version", "file"):
        table.add_column(c, overflow="fold")
    for r in df.iter_rows(named=True):
        table.add_row(r["list_name"], r["as_of_utc"].date().isoformat(), r["as_of_basis"], r["format"],
                      f"{r['n_entries']:,}", f"{r['n_vessels']:,}", f"{r['n_relations']:,}", r["list_id"],
                      Path(r["path"]).name)
    console.print(table)


@lists_app.command("history", epilog="Examples:\n\n`sanctionwatch lists history case/ --name ofac-sdn`\n\n"
                   "`sanctionwatch lists history case/ --delisted`")
def lists_history(
    project_dir: ProjectArg,
    name: Annotated[str | None, typer.Option(help="Only this list.")] = None,
    delisted: Annotated[bool, typer.Option(help="Only entries no longer listed.")] = False,
    vessels_only: Annotated[bool, typer.Option("--vessels", help="Only vessels.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """When each entry was listed (stated by the list, or the first version that has it) and delisted."""
    from sanctionwatch.screening.catalog import list_history

    project = _open(project_dir, read_only=True)
    try:
        df = list_history(project, name)
    finally:
        project.close()
    if df.height and delisted:
        df = df.filter(df["entry_status"] == "delisted")
    if df.height and vessels_only:
        df = df.filter(df["schema"] == "Vessel")
    table = Table(title=f"List history ({df.height:,} entries)", title_justify="left")
    for c in ("list", "entry", "schema", "name", "listed from", "status", "delisted on"):
        table.add_column(c, overflow="fold")
    for r in df.head(limit).iter_rows(named=True):
        listed = r["listed_from_utc"].date().isoformat() + ("" if r["listed_from_stated"] else " (first seen)")
        table.add_row(r["list_name"], r["entry_id"], r["schema"], r["name"], listed, r["entry_status"],
                      r["delisted_on_utc"].date().isoformat() if r["delisted_on_utc"] else "")
    console.print(table)


def screen(
    project_dir: ProjectArg,
    full: Annotated[bool, typer.Option(help="Screen every vessel again (default: only vessels with new data, "
                                       "unless lists or settings changed).")] = False,
    status: Annotated[str | None, typer.Option(help="Show only 'match' or 'possible'.")] = None,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the results (.csv or .parquet).")]
    = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows.")] = 50,
    settings: SetOpt = None,
) -> None:
    """Screen every vessel seen in AIS against the loaded lists: IMO (check digit), MMSI, call sign, names
    (current, aliases, former; transliterated), with scores and reasons. Incremental and idempotent."""
    from sanctionwatch.screening.screen import screen_project, screening_results

    if status not in (None, "match", "possible"):
        raise _fail("--status must be 'match' or 'possible'", Exit.USAGE)
    project = _open(project_dir, settings=settings)
    try:
        with console.status("screening") as spinner:
            report = screen_project(project, full=full, on_progress=lambda m: spinner.update(m))
        df = screening_results(project, status=status)
    finally:
        project.close()
    console.print(
        f"Screened {report.vessels_screened:,} vessels ({report.subjects:,} identities) against "
        f"{report.entries:,} listed vessels{' (full run)' if report.full else ''} in {report.seconds:.1f} s: "
        f"{report.matches:,} matches, {report.possible:,} possible.", highlight=False)
    table = Table(title=f"Screening results ({df.height:,})", title_justify="left")
    for c in ("vessel", "list", "entry", "score", "status", "reasons", "first seen", "last seen"):
        table.add_column(c, overflow="fold")
    for r in df.head(limit).iter_rows(named=True):
        vessel = f"{r['ais_name'] or '?'} (MMSI {r['mmsi']}" + (f", IMO {r['ais_imo']})" if r["ais_imo"] else ")")
        entry = f"{r['entry_name']} [{r['entry_id']}]" + (" DELISTED" if r["entry_status"] == "delisted" else "")
        table.add_row(vessel, r["list_name"], entry, f"{r['score']:.2f}", r["status"], "; ".join(r["reasons"]),
                      r["first_seen_utc"].date().isoformat() if r["first_seen_utc"] else "",
                      r["last_seen_utc"].date().isoformat() if r["last_seen_utc"] else "")
    console.print(table)
    if out is not None:
        _write_results(df, out)
        console.print(f"Wrote {df.height:,} results to {out}", highlight=False)


def _write_results(df: object, out: Path) -> None:
    import polars as pl

    from sanctionwatch.store import atomic_output

    assert isinstance(df, pl.DataFrame)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise _fail(f"{out}: use a .csv or .parquet file name", Exit.USAGE)
    with atomic_output(out) as tmp:
        if suffix == ".parquet":
            df.write_parquet(tmp)
        else:
            df.with_columns(
                pl.col("reasons").list.join("; "),
                pl.col("evidence").map_elements(
                    lambda ev: "; ".join(f"{e['source_id']}:{e['record_no']}" for e in ev), return_dtype=pl.String),
            ).write_csv(tmp)


def network(
    project_dir: ProjectArg,
    entity: Annotated[str | None, typer.Argument(help="MMSI, IMO (7 digits), name, or node id "
                                                 "(e.g. entry:ofac-sdn:37059).")] = None,
    depth: Annotated[int, typer.Option(help="Relation steps to show around the entity.")] = 2,
    possible: Annotated[bool, typer.Option(help="Also link AIS vessels to 'possible' matches.")] = False,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Write the neighbourhood (or with no ENTITY, "
                                             "the whole network) as .graphml (Gephi) or .json (node-link).")]
    = None,
) -> None:
    """The network around an entity: owners, managers, linked companies, matched AIS vessels, encounters,
    with each node's degrees of separation to the nearest sanctioned entity."""
    from sanctionwatch.screening.network import build_graph, export_graph, find_nodes, neighbourhood

    if entity is None and out is None:
        raise _fail("give an ENTITY to show, or --output to export the whole network", Exit.USAGE)
    project = _open(project_dir, read_only=True)
    try:
        with console.status("building the network"):
            g = build_graph(project, include_possible=possible)
    finally:
        project.close()
    if entity is None:
        assert out is not None
        export_graph(g, out)
        console.print(f"Wrote the network ({g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges) to {out}",
                      highlight=False)
        return
    start = find_nodes(g, entity)
    if not start:
        raise _fail(f"no entity matches {entity!r} (try an MMSI, an IMO number or an exact name)", Exit.USAGE)
    rows = neighbourhood(g, start, depth)
    table = Table(title=f"Network around {entity!r} (depth {depth})", title_justify="left")
    for c in ("hops", "node", "kind", "name", "via", "sanctioned", "separation", "nearest sanctioned"):
        table.add_column(c, overflow="fold")
    for n in rows:
        table.add_row(str(n.hops), n.node, n.kind, n.name, n.via, "yes" if n.sanctioned else "",
                      "" if n.separation is None else str(n.separation), n.nearest_sanctioned or "")
    console.print(table)
    if out is not None:
        export_graph(g.subgraph([n.node for n in rows]).copy(), out)
        console.print(f"Wrote {len(rows):,} nodes to {out}", highlight=False)
