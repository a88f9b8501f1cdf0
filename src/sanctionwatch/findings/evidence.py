"""Evidence: from a finding's (source_id, record_no) references back to the raw input lines.

Every row in the store carries the file it came from (``source_id``: the first 16 hex digits of
the file's SHA-256) and its 1-based line in that file (``record_no``). This module turns such
references into what a reader can check: the file's path, its format, and the exact text of
the line, read from the file itself. A file that has moved or changed since it was ingested
is reported as such (its hash no longer matches), never silently quoted.

Sources are registered in three catalogs: AIS files (``sources``), imagery files
(``imagery_sources``) and sanctions list files (``lists``); all three are searched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from sanctionwatch.store import Project

__all__ = ["EVIDENCE_COLUMNS", "evidence_sources", "flatten_refs", "resolve_evidence"]

#: columns of :func:`resolve_evidence`'s result
EVIDENCE_COLUMNS = {
    "source_id": pl.String, "record_no": pl.Int64, "path": pl.String, "format": pl.String,
    "kind": pl.String, "status": pl.String, "text": pl.String,
}
# A line longer than this is cut (a CSV row of a provider with hundreds of columns, an XML file
# on one line): the reference still names the line, the quote is for reading.
_MAX_TEXT = 2000


def evidence_sources(project: Project) -> pl.DataFrame:
    """Every registered input file: source_id, path, format, kind ('ais', 'imagery', 'list'), sha256."""
    parts = []
    if project.has_table("sources"):
        parts.append(project.con.sql(
            "SELECT source_id, path, format, 'ais' AS kind, sha256 FROM sources").pl())
    if project.has_table("imagery_sources"):
        parts.append(project.con.sql(
            "SELECT DISTINCT source_id, path, layout AS format, 'imagery:' || kind AS kind, "
            "NULL::VARCHAR AS sha256 FROM imagery_sources").pl())
    if project.has_table("lists"):
        parts.append(project.con.sql(
            "SELECT unnest(source_ids) AS source_id, unnest(paths) AS path, format, 'list' AS kind, "
            "NULL::VARCHAR AS sha256 FROM lists").pl())
    schema = {"source_id": pl.String, "path": pl.String, "format": pl.String, "kind": pl.String,
              "sha256": pl.String}
    parts = [p.cast(schema) for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).unique("source_id", keep="first", maintain_order=True)


def flatten_refs(evidence: Iterable[Iterable[dict[str, object]] | None]) -> pl.DataFrame:
    """Distinct (source_id, record_no) pairs of a column of evidence lists."""
    rows = [(str(r["source_id"]), int(r["record_no"]))  # type: ignore[call-overload]
            for refs in evidence if refs for r in refs]
    return pl.DataFrame(rows, schema={"source_id": pl.String, "record_no": pl.Int64}, orient="row").unique(
        maintain_order=True)


def _file_status(path: Path, source_id: str, sha256: str | None) -> str:
    if not path.is_file():
        return "file_missing"
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if (sha256 and digest != sha256) or not digest.startswith(source_id):
        return "file_changed"
    return "ok"


def _read_lines(path: Path, wanted: set[int]) -> dict[int, str]:
    """The wanted 1-based lines of a text file, read in one streaming pass."""
    out: dict[int, str] = {}
    last = max(wanted)
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n in wanted:
                text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                out[n] = text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + " [...]"
            if n >= last:
                break
    return out


def resolve_evidence(project: Project, refs: pl.DataFrame | Iterable[tuple[str, int]],
                     *, with_text: bool = True) -> pl.DataFrame:
    """Resolve references to files and lines.

    Returns one row per distinct reference (in input order) with the file's ``path``, ``format``
    and ``kind``, a ``status`` ('ok'; 'file_missing' or 'file_changed' when the file is no longer
    what was ingested; 'unknown_source' when no catalog knows the source id; 'no_line' for a
    binary input such as Parquet or GeoTIFF, where record_no is a row number) and the line's
    ``text`` when the status is 'ok'.
    """
    if not isinstance(refs, pl.DataFrame):
        refs = pl.DataFrame(list(refs), schema={"source_id": pl.String, "record_no": pl.Int64}, orient="row")
    refs = refs.select("source_id", "record_no").unique(maintain_order=True)
    joined = refs.join(evidence_sources(project), on="source_id", how="left", maintain_order="left")
    statuses: list[str] = []
    texts: list[str | None] = []
    by_file: dict[str, tuple[str, set[int]]] = {}
    file_status: dict[str, str] = {}
    for sid, path, sha in joined.select("source_id", "path", "sha256").unique(
            "source_id").iter_rows():
        if path is None:
            file_status[sid] = "unknown_source"
        elif str(path).lower().endswith((".parquet", ".tif", ".tiff", ".geotiff")):
            file_status[sid] = "no_line"
        else:
            file_status[sid] = _file_status(Path(path), sid, sha) if with_text else "ok"
    if with_text:
        for sid, rec, path in joined.select("source_id", "record_no", "path").iter_rows():
            if file_status[sid] == "ok":
                by_file.setdefault(sid, (path, set()))[1].add(int(rec))
        lines = {sid: _read_lines(Path(path), wanted) for sid, (path, wanted) in by_file.items()}
    for sid, rec in joined.select("source_id", "record_no").iter_rows():
        status = file_status[sid]
        text = lines.get(sid, {}).get(int(rec)) if with_text and status == "ok" else None
        if with_text and status == "ok" and text is None:
            status = "line_missing"  # the file is shorter than the reference: should never happen
        statuses.append(status)
        texts.append(text)
    return joined.select("source_id", "record_no", "path", "format", "kind").with_columns(
        pl.Series("status", statuses, dtype=pl.String), pl.Series("text", texts, dtype=pl.String))
