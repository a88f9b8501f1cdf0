"""Test fixtures shared by the whole suite.

Data rules: files whose licence allows it (public domain, CC0, MIT, BSD, Apache) are copied
into ``tests/data/<kind>/`` with their attribution (``tests/data/<kind>/ATTRIBUTION.md``); the others are read
from ``../shared/data`` and the tests that need them skip with a reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
# CI clones the repo with shared/ beside it; SANCTIONWATCH_SHARED overrides for other layouts.
SHARED_DATA = Path(os.environ.get("SANCTIONWATCH_SHARED", REPO.parent / "shared")) / "data"


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data, or skip the test (with the reason) if it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{relative}, which is not copied into the repo "
                    f"(licence or size), and ../shared/data is absent ({path})")
    return path


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo investigation, built once per test session (about 12 s): ``inputs/`` and
    ``project/``, findings included, and what it printed in ``demo-output.txt``. Treat it as
    read-only; copy it (shutil.copytree) to change it."""
    import io

    from rich.console import Console

    from sanctionwatch.demo.run import run_demo

    out = tmp_path_factory.mktemp("demo-session")
    buf = io.StringIO()
    run_demo(out, Console(file=buf, width=200))
    (out / "demo-output.txt").write_text(buf.getvalue(), encoding="utf-8")
    return out
