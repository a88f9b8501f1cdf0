"""The Spark engine (``run --engine spark``) gives exactly the local engine's events.

Spark runs in ``local[2]`` mode with one session for the whole test session (tests/spark_fixtures.py).
Each equivalence test computes the events with the local engine, then again with Spark on the same
rows, and compares every column of every event.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sanctionwatch.cli import app
from sanctionwatch.config import load_config
from sanctionwatch.engines.local import run_local
from sanctionwatch.engines.spark import SparkEngine, SparkInputError, read_table
from sanctionwatch.engines.spark_tasks import key_chunks
from sanctionwatch.engines.stages import StageContext, run_vessel_stages
from sanctionwatch.events.encounters import detect_encounters
from sanctionwatch.ingest.pipeline import ingest_file
from sanctionwatch.schema import DETECTION_MATCHES, EVENTS, POSITIONS, conform
from sanctionwatch.store import Project
from sanctionwatch.tracks.segment import segment
from tests.builders import TrackBuilder
from tests.conftest import TEST_DATA, shared_file
from tests.spark_fixtures import PANDAS_WARNING, spark_fixture  # noqa: F401  (the `spark` fixture)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(PANDAS_WARNING)]

MAPPINGS = Path(str(resources.files("sanctionwatch.data").joinpath("mappings")))
CFG = load_config()
VOSTOCHNY = (42.74, 133.06)  # the packaged watched area 'vostochny-port'
MEET = (41.6, 133.9)  # open sea, > 10 km from any port


def canonical(events: pl.DataFrame) -> pl.DataFrame:
    """EVENTS rows with exactly the EVENTS types, in event_id order (for an exact comparison)."""
    return pl.DataFrame(pl.from_arrow(conform(events.to_arrow(), EVENTS))).sort("event_id")


def project_events(project: Project) -> pl.DataFrame:
    return canonical(project.query("SELECT * FROM events"))


def assert_same_events(local: pl.DataFrame, spark_events: pl.DataFrame) -> None:
    a, b = canonical(local), canonical(spark_events)
    only_local = set(a["event_id"]) - set(b["event_id"])
    only_spark = set(b["event_id"]) - set(a["event_id"])
    assert not only_local and not only_spark, (
        f"{len(only_local)} events only from the local engine, {len(only_spark)} only from Spark")
    for col in a.columns:
        assert a[col].equals(b[col]), f"column {col} differs"


def spark_run_equals_local(spark: Any, project_dir: Path, **options: Any) -> dict[str, int]:
    """Run the local engine (if not yet), then Spark on the same project; both leave the same events."""
    with Project.open(project_dir) as p:
        run_local(p)
        local = project_events(p)
        report = SparkEngine(spark=spark, **options).run(p, full=True)
        assert_same_events(local, project_events(p))
        assert report.engine == "spark" and report.events_total == local.height
        # the sources are marked processed: the local engine has nothing left to do
        assert run_local(p).vessels_processed == 0
    return dict(local.group_by("event_type").len().iter_rows())


# --- equivalence on the demo and on real samples ------------------------------------------------------


def findings_of(project: Project) -> pl.DataFrame:
    return project.query("SELECT * FROM findings ORDER BY finding_id")


def test_demo_events_and_findings_identical(spark, demo_dir, tmp_path):
    from sanctionwatch.findings.engine import run_findings

    shutil.copytree(demo_dir / "project", tmp_path / "project")
    with Project.open(tmp_path / "project", read_only=True) as p:
        local_findings = findings_of(p)  # the demo ran the rules on the local engine's events
    counts = spark_run_equals_local(spark, tmp_path / "project", findings_out=str(tmp_path / "findings.parquet"))
    # every per-vessel type and both cross-vessel types are exercised
    assert {"ais_gap", "port_visit", "voyage", "loitering", "encounter", "identity_change"} <= set(counts)
    # findings: the same rules on Spark's events give the same findings, in the store and in Parquet
    with Project.open(tmp_path / "project") as p:
        run_findings(p)
        from_store = findings_of(p)
    from_parquet = pl.read_parquet(tmp_path / "findings.parquet").sort("finding_id")
    assert local_findings.height >= 10
    for name, got in (("store", from_store), ("parquet", from_parquet)):
        assert got["finding_id"].to_list() == local_findings["finding_id"].to_list(), name
        for col in local_findings.columns:
            diff = [(x, y) for x, y in zip(got[col].to_list(), local_findings[col].to_list(), strict=True) if x != y]
            assert not diff, f"{name}: findings column {col} differs: {diff[:1]}"
    # detection matching (the demo's `match` stored its results): the same rows from Spark
    with Project.open(tmp_path / "project", read_only=True) as p:
        local = p.query("SELECT * FROM detection_matches")
        got = SparkEngine(spark=spark).detection_matches(p)
    a = pl.DataFrame(pl.from_arrow(conform(local.to_arrow(), DETECTION_MATCHES))).sort("detection_id")
    b = pl.DataFrame(pl.from_arrow(got)).sort("detection_id")
    assert a.height >= 10 and {"matched", "dark_candidate"} <= set(a["status"])
    assert a.equals(b)


def _ingest_real(project_dir: Path, files: list[tuple[Path, Path | None]]) -> None:
    with Project.init(project_dir) as p:
        for path, mapping in files:
            ingest_file(p, path, mapping=mapping)


def test_real_samples_identical(spark, tmp_path):
    files = [(TEST_DATA / "ais" / "stonesoup_solent_ais_20160112.csv", MAPPINGS / "solent_stonesoup.yaml")]
    files += [(f, None) for f in sorted((TEST_DATA / "nmea").iterdir()) if f.suffix != ".md"]
    _ingest_real(tmp_path / "p", files)
    counts = spark_run_equals_local(spark, tmp_path / "p")
    assert counts  # the Solent day has port visits, gaps and spoofing indicators


@pytest.mark.shared
def test_shared_real_samples_identical(spark, tmp_path):
    files = [
        (shared_file("ais/marinecadastre_AIS_2022_01_03_sample.csv"), None),
        (shared_file("ais/evergiven_boat-positions.csv"), MAPPINGS / "evergiven_movingpandas.yaml"),
        (shared_file("ais/aisdb_test_data_20210701.csv"), MAPPINGS / "aisdb_csv.yaml"),
        (shared_file("nmea/aisdb_test_data_20211101.nm4"), None),
    ]
    _ingest_real(tmp_path / "p", files)
    counts = spark_run_equals_local(spark, tmp_path / "p")
    assert counts.get("port_visit", 0) > 0 and counts.get("ais_gap", 0) > 0


# --- partitioning: one vessel's rows spread over many files and days ---------------------------------


def three_vessels() -> pl.DataFrame:
    """Four days: A leaves Vostochny, meets B at sea across midnight, goes dark 30 h, loiters, returns;
    C jumps (a spoofing indicator)."""
    a = (TrackBuilder(273000001, *VOSTOCHNY, "2024-03-01T00:00:00", source_id="a")
         .stay(hours=12).sail_to(*MEET, knots=11).stay(hours=8, sog=0.3)
         .silent(hours=30).sail_to(41.0, 135.0, knots=12).stay(hours=8, sog=0.5).sail_to(*VOSTOCHNY, knots=12)
         .stay(hours=10))
    b = (TrackBuilder(273000002, 41.2, 134.3, "2024-03-01T08:00:00", source_id="b")
         .sail_to(MEET[0] + 0.002, MEET[1], knots=6).stay(hours=16, sog=0.3).sail_to(40.5, 136.0, knots=10)
         .stay(hours=3))
    c = (TrackBuilder(273000003, 40.0, 131.0, "2024-03-02T00:00:00", source_id="c")
         .sail_to(43.0, 132.0, knots=14).silent(hours=3).sail_to(42.9, 132.5, knots=14))
    return pl.concat([a.frame(), b.frame(), c.frame()])


def write_spread(positions: pl.DataFrame, root: Path, files_per_day: int = 3) -> int:
    """One folder per UTC day, and within a day rows dealt round-robin over ``files_per_day`` files
    (so consecutive fixes of one vessel sit in different files). Returns the number of files."""
    df = positions.with_row_index("i").with_columns(pl.col("ts_utc").dt.date().alias("day"))
    n = 0
    for (day,), part in df.group_by("day", maintain_order=True):
        for k in range(files_per_day):
            rows = part.filter(pl.col("i") % files_per_day == k).select(POSITIONS.names)
            if rows.height:
                folder = root / f"day={day}"
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(conform(rows.to_arrow(), POSITIONS), folder / f"part-{k}.parquet")
                n += 1
    return n


def test_vessels_spread_over_files_and_days(spark, tmp_path):
    positions = three_vessels()
    n_files = write_spread(positions, tmp_path / "positions")
    assert n_files >= 12 and positions["ts_utc"].dt.date().n_unique() >= 4
    # what the local engine computes on these rows: the per-vessel stages, then encounters on all tracks
    ctx = StageContext(CFG)
    expected = pl.concat([run_vessel_stages(positions, CFG, ctx),
                          detect_encounters(segment(positions, CFG), CFG, ctx.ports)])
    assert {"port_visit", "ais_gap", "loitering", "encounter", "spoofing"} <= set(expected["event_type"])
    encounter = expected.filter(pl.col("event_type") == "encounter").row(0, named=True)
    assert encounter["start_utc"].date() != encounter["end_utc"].date()  # across midnight
    with Project.init(tmp_path / "p") as p:
        # small groups and several partitions: vessel groups are cut at many places, never inside a vessel
        for options in ({"chunk_rows": 50, "partitions": 3}, {"per_vessel": "group"}):
            out = tmp_path / f"events-{len(options)}"
            report = SparkEngine(spark=spark, positions=[str(tmp_path / "positions")], events_out=str(out),
                                 **options).run(p)
            assert not report.loaded_into_project and report.vessels_processed == 3
            assert report.positions_processed == positions.height
            assert_same_events(expected, pl.read_parquet(out / "*.parquet"))
        assert not p.has_table("events")  # the project was not touched


def test_key_chunks_never_split_a_key():
    mmsi = pa.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 4], pa.int32())
    batches = pa.table({"mmsi": mmsi, "i": range(10)}).to_batches(max_chunksize=3)
    chunks = list(key_chunks(batches, ["mmsi"], target_rows=4))
    assert [c.column("mmsi").to_pylist() for c in chunks] == [[1, 1, 1, 2, 2], [3, 3, 3, 3], [4]]
    assert sum(c.num_rows for c in chunks) == 10
    pairs = pa.table({"a": [1, 1, 1, 1], "b": [2, 2, 3, 3]}).to_batches(max_chunksize=1)
    assert [c.num_rows for c in key_chunks(pairs, ["a", "b"], target_rows=1)] == [2, 2]


# --- bad input: the error names the file ---------------------------------------------------------------


@pytest.fixture
def good_files(tmp_path) -> Path:
    folder = tmp_path / "positions"
    write_spread(three_vessels(), folder, files_per_day=1)
    return folder


def first_file(folder: Path) -> Path:
    return sorted(folder.rglob("*.parquet"))[0]


def test_corrupt_parquet_is_named(spark, good_files):
    bad = first_file(good_files)
    bad.write_bytes(bad.read_bytes()[:300])  # truncated: no footer
    with pytest.raises(SparkInputError) as err:
        read_table(spark, [str(good_files)], POSITIONS)
    assert f"{bad}: not a readable Parquet file" in str(err.value)
    assert str(err.value).count(".parquet") == 1  # only the bad file is named


def test_corrupt_pages_are_named_when_read(spark, good_files, tmp_path):
    bad = first_file(good_files)
    table = pq.read_table(bad)
    pq.write_table(table, bad, compression="zstd")
    data = bytearray(bad.read_bytes())
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    for i in range(8, footer_start, 5):  # the footer is intact, the pages are not
        data[i] = (data[i] * 31 + 7) % 256
    bad.write_bytes(bytes(data))
    with Project.init(tmp_path / "p") as p, pytest.raises(SparkInputError) as err:
        SparkEngine(spark=spark, positions=[str(good_files)], events_out=str(tmp_path / "out")).run(p)
    assert f"{bad}: cannot be read as Parquet" in str(err.value)


def test_schema_drift_is_named(spark, good_files):
    files = sorted(good_files.rglob("*.parquet"))
    t = pq.read_table(files[1])
    pq.write_table(t.set_column(t.schema.get_field_index("lat_deg"), "lat_deg", t["lat_deg"].cast(pa.float32())),
                   files[1])
    pq.write_table(pq.read_table(files[2]).drop(["record_no"]), files[2])
    with pytest.raises(SparkInputError) as err:
        read_table(spark, [str(good_files)], POSITIONS)
    msg = str(err.value)
    assert f"{files[1]}: does not match the positions table (schema drift): " \
           "column 'lat_deg' is float, expected double" in msg
    assert f"{files[2]}: does not match the positions table (schema drift): lacks column 'record_no'" in msg
    assert str(files[0]) not in msg


def test_cli_spark_run_and_bad_input(spark, good_files, tmp_path):
    runner = CliRunner()
    shutil.copytree(good_files, tmp_path / "bad")
    bad = first_file(tmp_path / "bad")
    bad.write_text("mmsi,ts\n1,2\n")
    with Project.init(tmp_path / "p"):
        pass
    result = runner.invoke(app, ["run", str(tmp_path / "p"), "--engine", "spark", "--master", "local[2]",
                                 "--positions", str(tmp_path / "bad"), "--events-out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "not a readable Parquet file" in result.output
    assert str(bad) in result.output.replace("\n", "")
    result = runner.invoke(app, ["run", str(tmp_path / "p"), "--engine", "spark", "--master", "local[2]",
                                 "--positions", str(good_files), "--events-out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "encounter" in result.output and "(not loaded into the project)" in result.output
    result = runner.invoke(app, ["run", str(tmp_path / "p"), "--positions", str(good_files)])
    assert result.exit_code == 2 and "Spark engine only" in result.output


def test_match_command_on_spark_stores_the_local_matches(spark, demo_dir, tmp_path):
    shutil.copytree(demo_dir / "project", tmp_path / "project")
    with Project.open(tmp_path / "project", read_only=True) as p:
        local = p.query("SELECT * FROM detection_matches ORDER BY detection_id")
        sightings = p.query("SELECT event_id FROM events WHERE basis = 'sighting' ORDER BY 1")
    result = CliRunner().invoke(app, ["match", str(tmp_path / "project"), "--engine", "spark",
                                      "--master", "local[2]"])
    assert result.exit_code == 0, result.output
    assert "missed vessels not counted on Spark" in result.output
    with Project.open(tmp_path / "project", read_only=True) as p:
        got = p.query("SELECT * FROM detection_matches ORDER BY detection_id")
        assert p.query("SELECT event_id FROM events WHERE basis = 'sighting' ORDER BY 1").equals(sightings)
    assert got.height == local.height >= 10 and got.equals(local)
    bad = CliRunner().invoke(app, ["match", str(tmp_path / "project"), "--master", "local[2]"])
    assert bad.exit_code == 2 and "--engine spark only" in bad.output
