"""One SparkSession for the whole test session (``local[2]``, loopback only, no web UI).

Import the fixture into a test module (``from tests.spark_fixtures import spark_fixture``); tests
then ask for ``spark``. Without
PySpark or Java the Spark tests skip with the reason; under CI (``CI`` set) they fail instead,
since CI installs both (``scripts/test-system-deps.sh`` and the ``test`` extra).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# PySpark warns about pandas >= 3 whenever it checks for pandas; the engine uses Arrow only.
PANDAS_WARNING = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Spark tests, but {what}")
    pytest.skip(f"Spark tests need {what.split(' is ')[0]} ({what})")


def require_spark() -> None:
    """Skip the calling test (fail it under CI) unless PySpark and Java are installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed (pip install -e '.[test]')")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        _missing("Java is not installed (Java 17: scripts/test-system-deps.sh installs it)")


@pytest.fixture(scope="session", name="spark")
def spark_fixture() -> Iterator[Any]:
    require_spark()
    from sanctionwatch.engines.spark import spark_session

    session = spark_session("local[2]", conf={"spark.sql.shuffle.partitions": "4",
                                              "spark.default.parallelism": "2"})
    yield session
    session.stop()
