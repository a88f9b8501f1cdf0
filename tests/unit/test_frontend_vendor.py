"""The bundled front-end libraries are exactly what the pinned npm packages built."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "src" / "sanctionwatch" / "web" / "static" / "vendor"


def test_vendored_files_match_their_record_and_the_lock_file():
    record = json.loads((VENDOR / "VENDOR.json").read_text())
    lock = json.loads((REPO / "frontend" / "package-lock.json").read_text())
    assert "leaflet" in record
    for package, entry in record.items():
        assert entry["version"] == lock["packages"][f"node_modules/{package}"]["version"]
        assert entry["licence"] in {"BSD-2-Clause", "BSD-3-Clause", "MIT", "Apache-2.0", "ISC"}
        for rel, digest in entry["files"].items():
            assert hashlib.sha256((VENDOR / package / rel).read_bytes()).hexdigest() == digest, rel
        on_disk = {str(p.relative_to(VENDOR / package)) for p in (VENDOR / package).rglob("*") if p.is_file()}
        assert on_disk == set(entry["files"]), "files in the bundle that the record does not know"


def test_leaflet_bundle_is_the_real_library():
    js = (VENDOR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert js.startswith("/* @preserve\n * Leaflet 1.9.4")
    assert "http://" not in js.split("*/", 1)[1][:2000]  # no loader fetching anything at start
