"""The Spark engine: the same stages as the local engine, distributed with PySpark (Java 17).

Inputs are Parquet, from the project store or from any Hadoop-compatible URI (``file:``,
``hdfs:``, ``s3a:``, ``abfss:``, ``gs:``, with the connector on the classpath). Every input file's
footer is checked against the declared table first (:mod:`sanctionwatch.schema`), so a corrupt
file or a file whose columns drifted stops the run with an error naming it, before any work.

The plan (docs/scaling.md explains the choices and the measured costs):

1. **Per vessel**: positions are hash-partitioned by MMSI and sorted by it within partitions; a
   ``mapInArrow`` task cuts each partition into groups of whole vessels (about ``chunk_rows``
   positions, :func:`~sanctionwatch.engines.spark_tasks.key_chunks`) and calls
   :func:`~sanctionwatch.engines.stages.run_segmented_stages`, the function the local engine calls
   (segmentation, port visits, voyages, gaps, loitering, spoofing). The same task resamples each
   vessel's segments for the encounter search and gives every point its H3 cell and ring-1 disk.
   ``per_vessel="group"`` uses ``groupBy("mmsi").applyInArrow`` instead: one call per vessel.
2. **Encounters**, across vessels, as Spark joins: points are joined with their neighbours' points
   on (time bucket, H3 cell), the right side exploded over its ring-1 disk (the neighbour
   expansion of :func:`~sanctionwatch.events.encounters.ring_table`); the distance filter runs row
   by row on the join's output, then the rows are partitioned by pair of vessels and
   :meth:`~sanctionwatch.events.encounters.EncounterDetector.from_contacts` finds runs, applies the
   thresholds and merges them, as in the local engine.
3. **Identity changes** over the identities table, in one task (the table is small, and changes are
   found per IMO and per MMSI at once).

Events are written as Parquet with the EVENTS columns; :func:`load_events` puts them in a project
store (``sanctionwatch run --engine spark`` does it for the project's own positions).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sanctionwatch.engines.base import EngineInputError, EngineUnavailableError, ProgressFn, RunReport
from sanctionwatch.engines.spark_tasks import (
    CANDIDATES,
    DEFAULT_CHUNK_ROWS,
    LENGTHS_SCHEMA,
    STAGED,
    TaskPayload,
    candidate_task,
    expected_schema,
    expected_task,
    identity_task,
    lengths_task,
    match_task,
    pair_task,
    scene_key_task,
    vessel_task,
)
from sanctionwatch.engines.stages import PER_VESSEL_EVENT_TYPES, STAGE_POSITION_COLUMNS
from sanctionwatch.schema import DETECTION_MATCHES, EVENTS, IDENTITIES, POSITIONS, Table, spark_ddl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sanctionwatch.config import Config
    from sanctionwatch.geo import Area
    from sanctionwatch.store import Project

__all__ = [
    "SparkEngine",
    "SparkInputError",
    "SparkUnavailableError",
    "check_input_files",
    "input_files",
    "load_events",
    "read_table",
    "spark_detection_matches",
    "spark_events",
    "spark_session",
    "write_events",
]

_POINT_COLUMNS = ("mmsi", "segment_id", "lat_deg", "lon_deg", "src", "rec", "speed_knots")
# Event types the Spark engine computes (and so replaces in a project), besides imagery's.
SPARK_EVENT_TYPES = (*PER_VESSEL_EVENT_TYPES, "encounter", "identity_change")


class SparkUnavailableError(EngineUnavailableError):
    """PySpark or Java is missing."""


class SparkInputError(EngineInputError):
    """An input file cannot be used: not Parquet, corrupt, or its columns differ from the table's."""


# --- session -------------------------------------------------------------------------------------

# Settings every run needs whatever the master: UTC everywhere (timestamps cross the JVM/Python
# boundary as Arrow with the session time zone) and Parquet timestamps as INT64 microseconds.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    # Spark runs one task per core; a Polars thread pool per Python worker as wide as the machine
    # would oversubscribe it, so each worker computes on one thread.
    "spark.executorEnv.POLARS_MAX_THREADS": "1",
}
# local[N] on one machine: nothing listens beyond loopback, no web UI, few shuffle partitions.
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
}


def spark_session(master: str = "local[*]", *, conf: Mapping[str, str] | None = None,
                  app_name: str = "sanctionwatch") -> SparkSession:
    """A SparkSession for ``master`` (``local[N]``, ``spark://...``, ``yarn``, ``k8s://...``).

    Raises :class:`SparkUnavailableError` with what to install when PySpark or Java is missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise SparkUnavailableError(
            "the Spark engine needs PySpark: pip install 'sanctionwatch[spark]' (and Java 17)") from err
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkUnavailableError("the Spark engine needs Java 17 (set JAVA_HOME or put `java` on the PATH)")
    local = master.startswith("local")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**BASE_CONF, **(LOCAL_CONF if local else {}), **(conf or {})}.items():
        builder = builder.config(key, value)
    with _no_pandas_warning():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def _no_pandas_warning() -> Iterator[None]:
    """PySpark warns that it does not fully support pandas >= 3 whenever it checks for pandas; the
    engine exchanges Arrow only (``mapInArrow``/``applyInArrow``) and never uses pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


# --- inputs --------------------------------------------------------------------------------------


def _jvm(spark: SparkSession) -> tuple[Any, Any]:
    s: Any = spark
    return s._jvm, s._jsc.hadoopConfiguration()


def input_files(spark: SparkSession, uris: Sequence[str]) -> list[str]:
    """Every Parquet file named by ``uris`` (files, folders searched recursively, globs), through
    Hadoop's file systems; names starting with ``_`` or ``.`` (Spark's markers, temporary files)
    are skipped."""
    jvm, conf = _jvm(spark)
    found: list[str] = []
    for uri in uris:
        path = jvm.org.apache.hadoop.fs.Path(str(uri))
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if statuses is None or len(statuses) == 0:
            raise SparkInputError(f"{uri}: no such file or folder")
        for st in statuses:
            if not st.isDirectory():
                found.append(st.getPath().toString())
                continue
            root = st.getPath().toString().rstrip("/")
            files = fs.listFiles(st.getPath(), True)
            while files.hasNext():
                name = files.next().getPath().toString()
                rel = name[len(root):]
                if name.endswith(".parquet") and not re.search(r"/[_.]", rel):
                    found.append(name)
    if not found:
        raise SparkInputError(f"no Parquet files in {', '.join(map(str, uris))}")
    return sorted(set(found))


def _spark_kind(t: pa.DataType) -> str:
    """How a column of Arrow type ``t`` reads in Spark (the names :func:`_parquet_kind` gives)."""
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz else "timestamp without time zone"
    return {
        pa.int8(): "tinyint", pa.int16(): "smallint", pa.int32(): "int", pa.int64(): "bigint",
        pa.float32(): "float", pa.float64(): "double", pa.bool_(): "boolean", pa.string(): "string",
        pa.large_string(): "string", pa.date32(): "date", pa.binary(): "binary",
    }.get(t, str(t))


def _parquet_kind(field: Any) -> str:
    """The Spark kind of one Parquet column (a ``org.apache.parquet.schema.Type``)."""
    if not field.isPrimitive():
        return "nested"
    prim = field.asPrimitiveType().getPrimitiveTypeName().name()
    ann = field.getLogicalTypeAnnotation()
    a = ann.toString() if ann is not None else ""
    if prim == "INT32":
        return {"": "int", "INTEGER(32,true)": "int", "INTEGER(16,true)": "smallint",
                "INTEGER(8,true)": "tinyint", "DATE": "date"}.get(a, f"int32 {a}")
    if prim == "INT64":
        if a.startswith("TIMESTAMP("):
            return "timestamp" if a.endswith(",true)") else "timestamp without time zone"
        return {"": "bigint", "INTEGER(64,true)": "bigint"}.get(a, f"int64 {a}")
    if prim == "INT96":
        return "timestamp"
    if prim == "BINARY":
        return "string" if a.startswith(("STRING", "ENUM", "JSON")) else "binary"
    return {"FLOAT": "float", "DOUBLE": "double", "BOOLEAN": "boolean"}.get(prim, prim.lower())


def _file_problem(spark: SparkSession, file: str, table: Table) -> str | None:
    """Why ``file`` cannot be read as ``table`` (None when it can)."""
    jvm, conf = _jvm(spark)
    try:
        hpath = jvm.org.apache.hadoop.fs.Path(file)
        reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(
            jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(hpath, conf))
        try:
            schema = reader.getFooter().getFileMetaData().getSchema()
        finally:
            reader.close()
    except Exception as err:  # py4j wraps the Java exception; its first line says what is wrong
        return f"not a readable Parquet file ({_java_message(err).replace(file, 'the file')})"
    got = {f.getName(): _parquet_kind(f) for f in schema.getFields()}
    problems = []
    for f in table:
        want = _spark_kind(f.type)
        if f.name not in got:
            if not f.nullable:
                problems.append(f"lacks column {f.name!r} ({want})")
        elif got[f.name] != want:
            problems.append(f"column {f.name!r} is {got[f.name]}, expected {want}")
    if problems:
        return f"does not match the {table.name} table (schema drift): " + "; ".join(problems)
    return None


def display_path(uri: str) -> str:
    """A Hadoop URI as a user wrote it: local files without ``file:``."""
    return re.sub(r"^file:(//)?(?=/)", "", uri)


def _java_message(err: BaseException) -> str:
    text = str(err)
    m = re.search(r"^(?:: )?([\w.$]+(?:Exception|Error)[^\n]*)", text, re.MULTILINE)
    return (m.group(1) if m else text.strip().splitlines()[0] if text.strip() else type(err).__name__)[:300]


def check_input_files(spark: SparkSession, files: Sequence[str], table: Table) -> None:
    """Read every file's footer (in parallel threads) and raise :class:`SparkInputError` naming each
    file that is not Parquet, is corrupt, or whose columns differ from ``table``'s."""
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(files)))) as pool:
        problems = [(f, p) for f, p in zip(files, pool.map(lambda f: _file_problem(spark, f, table), files),
                                           strict=True) if p]
    if problems:
        lines = [f"  {display_path(f)}: {p}" for f, p in problems[:10]]
        more = f"\n  (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise SparkInputError(f"{table.name} input: {len(problems)} of {len(files)} files cannot be used\n"
                              + "\n".join(lines) + more)


def read_table(spark: SparkSession, uris: Sequence[str], table: Table, *, check: bool = True) -> DataFrame:
    """The Parquet files under ``uris`` as a DataFrame of ``table``'s columns (checked first)."""
    files = input_files(spark, uris)
    if check:
        check_input_files(spark, files, table)
    return spark.read.schema(table.spark_ddl()).parquet(*files)


@contextmanager
def _naming_bad_files() -> Iterator[None]:
    """Errors Spark raises while reading a file become :class:`SparkInputError` naming the file (a
    file can pass the footer check and still be corrupt further in)."""
    try:
        yield
    except SparkInputError:
        raise
    except Exception as err:
        m = re.search(r"(?:reading file|Could not read footer for file:?|for file) ([^\s]+?)\.?(?:\s|$)", str(err))
        if m is None:
            raise
        bad = m.group(1)
        raise SparkInputError(f"{display_path(bad)}: cannot be read as Parquet "
                              f"({_java_message(err).replace(bad, 'the file')})") from err


# --- the job -------------------------------------------------------------------------------------


def spark_events(
    spark: SparkSession, positions: DataFrame, identities: DataFrame | None, config: Config,
    areas: list[Area] | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, per_vessel: str = "map",
    partitions: int | None = None,
) -> tuple[DataFrame, DataFrame]:
    """(EVENTS rows, the cached per-vessel output to ``unpersist`` after use) for ``positions``
    (POSITIONS columns) and ``identities`` (IDENTITIES columns, or None: no identity changes)."""
    with _no_pandas_warning():
        return _spark_events(spark, positions, identities, config, areas, chunk_rows=chunk_rows,
                             per_vessel=per_vessel, partitions=partitions)


def _spark_events(
    spark: SparkSession, positions: DataFrame, identities: DataFrame | None, config: Config,
    areas: list[Area] | None, *, chunk_rows: int, per_vessel: str, partitions: int | None,
) -> tuple[DataFrame, DataFrame]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    spark.conf.set("spark.sql.session.timeZone", "UTC")
    payload = spark.sparkContext.broadcast(TaskPayload(
        settings=dict(config.values), areas=areas, chunk_rows=chunk_rows, token=uuid.uuid4().hex))
    # only the columns the stages read cross to Python (moving data JVM -> Arrow is most of the cost)
    positions = positions.select(*STAGE_POSITION_COLUMNS)
    staged_schema = STAGED.spark_ddl()
    if per_vessel == "group":
        def per_vessel_group(table: pa.Table) -> pa.Table:
            return pa.Table.from_batches(list(vessel_task(table.to_batches(), payload.value)), schema=STAGED.arrow())

        staged = positions.groupBy("mmsi").applyInArrow(per_vessel_group, staged_schema)
    elif per_vessel == "map":
        n = partitions or spark.sparkContext.defaultParallelism
        staged = (positions.repartition(n, "mmsi").sortWithinPartitions("mmsi")
                  .mapInArrow(lambda batches: vessel_task(batches, payload.value), staged_schema))
    else:
        raise ValueError(f"per_vessel must be 'map' or 'group', not {per_vessel!r}")
    staged = staged.persist(StorageLevel.MEMORY_AND_DISK)

    per_vessel_events = staged.where(F.col("kind") == "e").select(*EVENTS.names)
    points = staged.where(F.col("kind") == "p").select("t_us", "cell", "ring", *_POINT_COLUMNS)
    left = points.drop("ring")
    right = points.select("t_us", F.explode("ring").alias("cell"), *[F.col(c).alias(f"{c}_b") for c in _POINT_COLUMNS])
    candidates = (
        left.join(right, ["t_us", "cell"]).where(F.col("mmsi") < F.col("mmsi_b")).drop("cell")
        .mapInArrow(lambda batches: candidate_task(batches, payload.value), CANDIDATES.spark_ddl())
    )
    encounters = (
        candidates.repartition("mmsi", "mmsi_b").sortWithinPartitions("mmsi", "mmsi_b")
        .mapInArrow(lambda batches: pair_task(batches, payload.value), EVENTS.spark_ddl())
    )
    events = per_vessel_events.unionByName(encounters)
    if identities is not None:
        ids = identities.select(*IDENTITIES.names).coalesce(1).mapInArrow(
            lambda batches: identity_task(batches, payload.value), EVENTS.spark_ddl())
        events = events.unionByName(ids)
    return events, staged


def spark_detection_matches(
    spark: SparkSession, positions: DataFrame, detections: DataFrame, scenes: DataFrame | None,
    identities: DataFrame | None, config: Config, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
    partitions: int | None = None,
) -> DataFrame:
    """DETECTION_MATCHES rows (one per detection) as ``sanctionwatch match`` computes them, with joins:

    * the scenes to look at (:func:`~sanctionwatch.imagery.expected.scene_times`) are computed on the
      driver from the detections' scene and time columns and the SCENES rows (small), then broadcast;
    * positions near a scene time: a broadcast join of positions on a one-hour time bucket with each
      scene's window (the buckets it covers), then the exact window filter;
    * expected positions per vessel (positions partitioned by MMSI; ``expected_positions``), with the
      vessel's AIS length joined on MMSI (``vessel_lengths`` per MMSI over the identities);
    * the assignment per scene: expected positions and detections cogrouped by scene
      (``match_detections``: H3 cell join, scores, Hungarian assignment).
    """
    with _no_pandas_warning():
        return _spark_detection_matches(spark, positions, detections, scenes, identities, config,
                                        chunk_rows=chunk_rows, partitions=partitions)


def _spark_detection_matches(
    spark: SparkSession, positions: DataFrame, detections: DataFrame, scenes: DataFrame | None,
    identities: DataFrame | None, config: Config, *, chunk_rows: int, partitions: int | None,
) -> DataFrame:
    import polars as pl
    from pyspark.sql import functions as F

    from sanctionwatch.imagery.expected import scene_times
    from sanctionwatch.imagery.match_params import MatchingParams
    from sanctionwatch.schema import DETECTIONS, SCENES

    spark.conf.set("spark.sql.session.timeZone", "UTC")
    params = MatchingParams.from_config(config)
    det_times = pl.DataFrame(pl.from_arrow(detections.select("scene_id", "ts_utc").toArrow()))
    scenes_pl = pl.DataFrame(pl.from_arrow(scenes.select(*SCENES.names).toArrow())) if scenes is not None else None
    st = scene_times(det_times, scenes_pl if scenes_pl is not None and scenes_pl.height else None)
    payload = spark.sparkContext.broadcast(TaskPayload(
        settings=dict(config.values), areas=None, chunk_rows=chunk_rows, token=uuid.uuid4().hex,
        scene_times=st, scenes=scenes_pl))
    # positions within max_fix_offset_min + max_interp_gap_min of a scene time (as the local `match`)
    margin_us = round((params.max_fix_offset_min + params.max_interp_gap_min) * 60e6)
    bucket_us = 3_600_000_000
    t_us = st.get_column("ts_utc").dt.epoch("us")
    windows = pl.DataFrame({"w_t0": t_us - margin_us, "w_t1": t_us + margin_us}).unique()
    windows = windows.with_columns(pl.int_ranges(pl.col("w_t0") // bucket_us, pl.col("w_t1") // bucket_us + 1)
                                   .alias("w_bucket")).explode("w_bucket")
    win = spark.createDataFrame(windows.to_arrow())
    t = F.unix_micros(F.col("ts_utc"))
    near = positions.select(*POSITIONS.names).withColumn("bucket", F.floor(t / bucket_us)).join(
        F.broadcast(win), on=[F.col("bucket") == F.col("w_bucket"), t >= F.col("w_t0"), t <= F.col("w_t1")],
        how="left_semi")
    n = partitions or spark.sparkContext.defaultParallelism
    expected = (near.drop("bucket").repartition(n, "mmsi").sortWithinPartitions("mmsi")
                .mapInArrow(lambda b: expected_task(b, payload.value), spark_ddl(expected_schema())))
    if identities is not None:
        lengths = (identities.select(*IDENTITIES.names).repartition(n, "mmsi").sortWithinPartitions("mmsi")
                   .mapInArrow(lambda b: lengths_task(b, payload.value), spark_ddl(LENGTHS_SCHEMA)))
        expected = expected.join(lengths, on="mmsi", how="left")
    else:
        expected = expected.withColumn("length_m", F.lit(None).cast("double"))
    keyed = detections.select(*DETECTIONS.names).mapInArrow(
        lambda b: scene_key_task(b, payload.value), DETECTIONS.spark_ddl() + ", `scene_key` STRING")
    return (expected.groupBy("scene_id").cogroup(keyed.groupBy(F.col("scene_key").alias("scene_id")))
            .applyInArrow(lambda e, d: match_task(e, d.drop(["scene_key"]), payload.value),
                          DETECTION_MATCHES.spark_ddl()))


# Positions per partition of the per-vessel pass: a task of a few minutes (fine-grained retries and
# load balance), sorted by Spark with spilling, handed to Python chunk_rows at a time.
PARTITION_ROWS = 4_000_000


def per_vessel_partitions(spark: SparkSession, positions: int) -> int:
    """Partitions for the per-vessel pass: a multiple of the cores (whole waves of tasks), each
    about :data:`PARTITION_ROWS` positions or fewer."""
    cores = max(1, spark.sparkContext.defaultParallelism)
    return cores * max(1, math.ceil(positions / (cores * PARTITION_ROWS)))


def write_events(events: DataFrame, uri: str) -> None:
    """Write EVENTS rows as Parquet under ``uri`` (replacing what is there)."""
    with _naming_bad_files():
        events.write.mode("overwrite").parquet(uri)


def load_events(project: Project, path: Path | str, *, event_types: Sequence[str] = SPARK_EVENT_TYPES) -> int:
    """Replace ``project``'s events of ``event_types`` (imagery's sightings excepted, as the local
    engine does) by the EVENTS Parquet under ``path`` (a folder Spark wrote, or one file); returns
    the number of events loaded."""
    from sanctionwatch.engines.local import _ensure_tables
    from sanctionwatch.imagery.run_match import IMAGERY_BASES

    path = Path(str(path).removeprefix("file://").removeprefix("file:"))
    if path.is_dir():  # Spark's part files, not its markers (_SUCCESS, _temporary/, .crc)
        files = [f for f in sorted(path.rglob("*.parquet"))
                 if not any(part.startswith(("_", ".")) for part in f.relative_to(path).parts)]
    else:
        files = [path]
    _ensure_tables(project)
    types = ", ".join(f"'{t}'" for t in event_types)
    bases = ", ".join(f"'{b}'" for b in IMAGERY_BASES)
    cols = ", ".join(f'"{c}"' for c in EVENTS.names)
    with project.transaction() as con:
        con.execute(f"DELETE FROM events WHERE event_type IN ({types}) AND coalesce(basis, '') NOT IN ({bases})")
        if files:
            listing = ", ".join(f"'{f.as_posix()}'" for f in files)
            before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
            con.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM read_parquet([{listing}])")
            return int(con.execute("SELECT count(*) FROM events").fetchall()[0][0] - before)
    return 0


def write_findings(spark: SparkSession, project: Project, events: DataFrame, uri: str) -> int:
    """Evaluate the findings rules on Spark's events and write FINDINGS rows as Parquet at ``uri``.

    The rules run on the driver through the very same :func:`sanctionwatch.findings.engine.evaluate`
    as a local project: events are orders of magnitude fewer than positions (the 50M-position
    benchmark makes about 1.5M), and screening and imagery results come from the project's catalog.
    """
    import polars as pl

    from sanctionwatch.areas import project_areas
    from sanctionwatch.findings.engine import evaluate, project_rules
    from sanctionwatch.findings.inputs import FindingInputs, inputs_from_project
    from sanctionwatch.imagery.run_match import IMAGERY_BASES
    from sanctionwatch.schema import FINDINGS, conform

    with _no_pandas_warning():
        arrow = events.toArrow()
    local = inputs_from_project(project)
    # events known from imagery (sightings) belong to `match`, not to the engine: keep the project's
    known = local.events.filter(pl.col("basis").is_in(list(IMAGERY_BASES)))
    computed = pl.DataFrame(conform(arrow, EVENTS))
    all_events = pl.concat([computed, known.filter(~pl.col("event_id").is_in(computed["event_id"].implode()))])
    inputs = FindingInputs(config=project.config, areas=project_areas(project),
                           events=all_events, matches=local.matches,
                           detections=local.detections, detection_matches=local.detection_matches,
                           site_anomalies=local.site_anomalies, labels=local.labels)
    found = conform(evaluate(inputs, project_rules(project)).to_arrow(), FINDINGS)
    if _is_local(uri):
        from sanctionwatch.store import atomic_output

        target = Path(uri.removeprefix("file://").removeprefix("file:"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp:
            pq.write_table(found, tmp)
    else:
        with _naming_bad_files(), _no_pandas_warning():
            spark.createDataFrame(found).write.mode("overwrite").parquet(uri)
    return found.num_rows


# --- the engine ----------------------------------------------------------------------------------


@dataclass
class SparkEngine:
    """``sanctionwatch run --engine spark``: the project's events computed with Spark.

    ``positions``/``identities``: Parquet URIs to read instead of the project's own data (the project
    then gives only its settings and areas, and the events go to ``events_out`` alone). ``events_out``:
    also keep the events as Parquet there. ``spark``: an existing session (tests, notebooks).
    """

    master: str = "local[*]"
    positions: Sequence[str] = ()
    identities: str | None = None
    events_out: str | None = None
    findings_out: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    per_vessel: str = "map"
    partitions: int | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    spark: Any = None
    name: str = "spark"

    def session(self) -> SparkSession:
        return self.spark if self.spark is not None else spark_session(self.master, conf=self.conf)

    def run(self, project: Project, *, full: bool = False, on_progress: ProgressFn | None = None) -> RunReport:
        from pyspark.sql import functions as F

        from sanctionwatch.areas import project_areas
        from sanctionwatch.engines.local import _ensure_tables, run_key

        started = time.perf_counter()
        config = project.config
        external = bool(self.positions)
        if external and not self.events_out:
            raise ValueError("with positions from outside the project, say where the events go (events_out)")
        report = RunReport(engine="spark", full=True, params_id=config.params_id, loaded_into_project=not external)
        sources: list[str] = []
        key = run_key(project)  # what the events depend on besides the data (settings, area files)
        if not external:
            _ensure_tables(project)
            previous = project.query("SELECT DISTINCT params_id FROM run_sources").get_column("params_id").to_list()
            sources = project.query(
                "SELECT s.source_id FROM sources s LEFT JOIN run_sources r USING (source_id) "
                "WHERE s.positions_kept > 0 AND (? OR r.source_id IS NULL OR r.params_id <> ?)",
                [full or any(p != key for p in previous), key]).get_column("source_id").to_list()
            report.new_sources = len(sources)
            if not sources:  # nothing new since the last run with these settings: as the local engine
                report.full = full
                report.events_total = int(project.query("SELECT count(*) FROM events").item())
                report.seconds = time.perf_counter() - started
                return report
        spark = self.session()
        work = project.staging_dir("spark") if not external else None
        try:
            if external:
                pos_uris, id_uris = list(self.positions), [self.identities] if self.identities else []
            else:
                assert work is not None
                pos_uris = [f.as_posix() for f in project.files("positions")]
                ids_file = work / "identities.parquet"
                project.con.execute(f"COPY (SELECT * FROM identities) TO '{ids_file.as_posix()}' (FORMAT parquet)")
                id_uris = [ids_file.as_posix()]
            positions = read_table(spark, pos_uris, POSITIONS)
            identities = read_table(spark, id_uris, IDENTITIES) if id_uris else None
            if on_progress:
                on_progress(1, 3)
            with _naming_bad_files():
                counts = positions.agg(F.countDistinct("mmsi"), F.count(F.lit(1))).collect()[0]
            report.vessels_processed, report.positions_processed = int(counts[0]), int(counts[1])
            events, staged = spark_events(spark, positions, identities, config, project_areas(project),
                                          chunk_rows=self.chunk_rows, per_vessel=self.per_vessel,
                                          partitions=self.partitions or per_vessel_partitions(
                                              spark, report.positions_processed))
            out = self.events_out or (work / "events").as_posix()  # type: ignore[operator]
            try:
                write_events(events, out)
            finally:
                staged.unpersist()
            if on_progress:
                on_progress(2, 3)
            written = spark.read.parquet(out).groupBy("event_type").count().collect()
            report.events_by_type = dict(sorted((r[0], int(r[1])) for r in written))
            report.events_uri = self.events_out or ""
            if not external:
                local_out = out if _is_local(out) else None
                if local_out is None:  # written elsewhere: load from a local copy in the staging folder
                    assert work is not None
                    local_out = (work / "events").as_posix()
                    write_events(spark.read.parquet(out), local_out)
                load_events(project, local_out)
                import datetime as dt

                now = dt.datetime.now(dt.UTC)
                with project.transaction() as con:
                    con.executemany("INSERT OR REPLACE INTO run_sources VALUES (?, ?, ?)",
                                    [[s, key, now] for s in sources])
                report.events_total = int(project.query("SELECT count(*) FROM events").item())
            else:
                report.events_total = sum(report.events_by_type.values())
            if self.findings_out:
                write_findings(spark, project, spark.read.parquet(out), self.findings_out)
            if on_progress:
                on_progress(3, 3)
        finally:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
        report.seconds = time.perf_counter() - started
        return report


    def detection_matches(self, project: Project) -> pa.Table:
        """DETECTION_MATCHES rows for the project's detections, computed with Spark
        (:func:`spark_detection_matches`): the rows ``sanctionwatch match`` stores."""
        from sanctionwatch.schema import DETECTIONS, SCENES

        spark = self.session()
        work = project.staging_dir("spark")
        try:
            def table(t: Table) -> DataFrame | None:
                if not project.has_table(t.name):
                    return None
                out = work / f"{t.name}.parquet"
                cols = ", ".join(f'"{c}"' for c in t.names)
                project.con.execute(f'COPY (SELECT {cols} FROM "{t.name}") TO \'{out.as_posix()}\' (FORMAT parquet)')
                return read_table(spark, [out.as_posix()], t)

            detections = table(DETECTIONS)
            if detections is None:
                return DETECTION_MATCHES.arrow().empty_table()
            positions = read_table(spark, [f.as_posix() for f in project.files("positions")], POSITIONS)
            with _naming_bad_files():
                matches = spark_detection_matches(spark, positions, detections, table(SCENES), table(IDENTITIES),
                                                  project.config, chunk_rows=self.chunk_rows,
                                                  partitions=self.partitions).toArrow()
            return matches.cast(DETECTION_MATCHES.arrow())
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file:")
