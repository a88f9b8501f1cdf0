"""The project store: idempotent re-ingest, cross-file de-duplication, atomic commits.

Interruption is tested two ways: a fault-injection hook kills the ingest process at each named
point of the commit protocol (deterministic), and a real SIGKILL lands mid-file on a large
input (timing-dependent, so it asserts only the invariant: the store is as before).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sanctionwatch.ingest.base import InputError
from sanctionwatch.ingest.pipeline import ingest_file
from sanctionwatch.store import Project, ProjectError
from tests.builders import NOAA_HEADER, write_noaa


def snapshot(project_dir: Path) -> tuple[dict[str, int], list[str]]:
    with Project.open(project_dir, read_only=True) as p:
        counts = p.table_counts()
        files = sorted(str(f.relative_to(project_dir)) for f in p.files())
    return counts, files


def test_init_twice_and_open_missing(tmp_path):
    Project.init(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already a sanctionwatch project"):
        Project.init(tmp_path / "p")
    with pytest.raises(ProjectError, match="not a sanctionwatch project"):
        Project.open(tmp_path / "nope")


def test_reingest_same_bytes_adds_nothing(tmp_path):
    src = write_noaa(tmp_path / "a.csv", 500)
    with Project.init(tmp_path / "p") as p:
        first = ingest_file(p, src)
        assert (first.status, first.positions_kept, first.duplicates) == ("ingested", 500, 0)
        before = p.table_counts()
        copy = tmp_path / "copy-of-a.csv"
        copy.write_bytes(src.read_bytes())
        for again in (ingest_file(p, src), ingest_file(p, copy)):
            assert again.status == "already_ingested" and again.positions_kept == 0
            assert "already ingested" in again.note
        assert p.table_counts() == before


def test_overlapping_files_store_each_position_once(tmp_path):
    a = write_noaa(tmp_path / "a.csv", 400)
    # b repeats a's last 100 rows (two receivers heard the same reports) and adds 300 new ones.
    lines = a.read_text().splitlines(keepends=True)
    b = tmp_path / "b.csv"
    tail = write_noaa(tmp_path / "tail.csv", 300, start="2023-09-01T00:40:00", mmsi0=273000000)
    b.write_text(NOAA_HEADER + "".join(lines[-100:]) + "".join(tail.read_text().splitlines(keepends=True)[1:]))
    with Project.init(tmp_path / "p") as p:
        ingest_file(p, a)
        rb = ingest_file(p, b)
        assert rb.duplicates == 100 and rb.positions_kept == 300
        total = p.query("SELECT count(*) n, count(DISTINCT (mmsi, ts_utc, lat_deg, lon_deg)) d FROM {positions}")
        assert total.row(0) == (700, 700)
        # Provenance points at the file that first supplied each row.
        src_of_dupes = p.query(
            "SELECT DISTINCT s.path FROM {positions} x JOIN sources s USING (source_id) "
            "WHERE x.ts_utc >= '2023-09-01 00:30:00+00' AND x.ts_utc < '2023-09-01 00:40:00+00'")
        assert [Path(x).name for x in src_of_dupes.get_column("path")] == ["a.csv"]


def test_bad_rows_quarantined_with_reasons_and_raw_line(tmp_path):
    extra = ("12345,2023-09-01T01:00:00,42,131,1,1,1,X,,,,,,,,,A\n"  # MMSI not 9 digits
             "273000001,2023-09-01T01:00:00,91,181,1,1,1,X,,,,,,,,,A\n"  # AIS 'not available'
             "273000001,2099-01-01T00:00:00,42,131,1,1,1,X,,,,,,,,,A\n")  # in the future
    src = write_noaa(tmp_path / "a.csv", 20, extra=extra)
    with Project.init(tmp_path / "p") as p:
        r = ingest_file(p, src)
        assert r.positions_kept == 20 and r.quarantined == 3
        assert r.quarantine_by_reason == {"invalid_mmsi": 1, "position_not_available": 1, "ts_in_future": 1}
        q = p.query("SELECT record_no, reason, raw FROM quarantine ORDER BY record_no")
        assert q.get_column("record_no").to_list() == [22, 23, 24]  # header is line 1
        assert q.get_column("raw")[0].startswith("12345")


def test_unreadable_file_leaves_store_unchanged(tmp_path):
    good = write_noaa(tmp_path / "a.csv", 50)
    bad = tmp_path / "bad.csv"
    bad.write_text("when,where,who\n1,2,3\n")
    with Project.init(tmp_path / "p") as p:
        ingest_file(p, good)
        before = p.table_counts()
        with pytest.raises(InputError, match=r"bad\.csv:1: cannot tell the format"):
            ingest_file(p, bad)
        with pytest.raises(InputError, match="missing columns"):
            ingest_file(p, bad, format="noaa_csv")
        assert p.table_counts() == before
        assert not [d for d in (p.path / ".staging").iterdir() if d.name != "duckdb_tmp"]


def test_second_writer_is_refused(tmp_path):
    with Project.init(tmp_path / "p"):
        code = ("import sys; from sanctionwatch.store import Project, ProjectError\n"
                "try:\n    Project.open(sys.argv[1])\nexcept ProjectError as e:\n    print(e); sys.exit(4)\n")
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p")], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 4 and "in use by another" in out.stdout


def _cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sanctionwatch.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("point", ["during_read", "after_dedupe", "after_rename", "before_commit"])
def test_crash_at_each_commit_stage_leaves_store_unchanged(tmp_path, point):
    first = write_noaa(tmp_path / "first.csv", 300)
    second = write_noaa(tmp_path / "second.csv", 3000, start="2023-09-02T00:00:00")
    with Project.init(tmp_path / "p") as p:
        ingest_file(p, first)
    before = snapshot(tmp_path / "p")
    proc = _cli("ingest", str(tmp_path / "p"), str(second), env={"SANCTIONWATCH_CRASH_AT": point})
    proc.communicate(timeout=120)
    assert proc.returncode == 137, f"the process should have died at {point}"
    assert snapshot(tmp_path / "p") == before
    # The next run cleans up and ingests the file exactly once.
    with Project.open(tmp_path / "p") as p:
        # Opening for writing removed the interrupted run's orphans: only listed files remain.
        assert sorted((p.path / "parquet").rglob("*.parquet")) == p.files() and len(p.files()) == 1
        r = ingest_file(p, second)
        assert (r.status, r.positions_kept, r.duplicates) == ("ingested", 3000, 0)
        assert p.table_counts()["positions"] == 3300 and p.table_counts()["sources"] == 2


@pytest.mark.slow
def test_sigkill_mid_file_leaves_store_unchanged(tmp_path):
    big = write_noaa(tmp_path / "big.csv", 400_000)
    with Project.init(tmp_path / "p"):
        pass
    before = snapshot(tmp_path / "p")
    proc = _cli("ingest", str(tmp_path / "p"), str(big), "--set", "ingest.chunk_rows=20000")
    staging = tmp_path / "p" / ".staging"
    deadline = time.monotonic() + 60
    # Kill once the ingest is visibly under way (its staging folder has data).
    while time.monotonic() < deadline:
        if any(f.stat().st_size > 0 for f in staging.rglob("positions.parquet")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(tmp_path / "p") == before
    with Project.open(tmp_path / "p") as p:
        assert ingest_file(p, big).positions_kept == 400_000
