"""`sanctionwatch serve` in a subprocess for tests: 127.0.0.1, a free port, no inherited token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(project_dir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`sanctionwatch serve DIR --port 0 ...` in a subprocess; yields the URL it printed."""
    with subprocess.Popen([sys.executable, "-m", "sanctionwatch.cli", "serve", str(project_dir), "--port", "0", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", "SANCTIONWATCH_TOKEN": "", **(env or {})}
                          ) as proc:
        assert proc.stdout is not None
        try:
            line = proc.stdout.readline()
            found = re.search(r"http://\S+", line)
            assert found, line
            yield found.group(0)
        finally:
            proc.terminate()
            proc.wait(20)
