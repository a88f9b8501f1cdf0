"""Bundle the front-end libraries from npm into the package (run after `npm ci` in frontend/).

The report and the web app must work offline, so the map library ships inside the wheel:
this script copies the built files of the pinned npm packages (frontend/package-lock.json)
into src/sanctionwatch/web/static/vendor/ and records their versions and SHA-256 digests in
vendor/VENDOR.json. tests/unit/test_frontend_vendor.py checks the copy against that record and
the lock file, so a hand-edited or stale bundle fails the suite.

    cd frontend && npm ci && cd .. && python scripts/build_frontend.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "frontend" / "node_modules"
VENDOR = REPO / "src" / "sanctionwatch" / "web" / "static" / "vendor"

# package -> files (relative to the package folder) that the browser needs
BUNDLE = {
    "leaflet": ["dist/leaflet.js", "dist/leaflet.css", "dist/images/layers.png",
                "dist/images/layers-2x.png", "dist/images/marker-icon.png",
                "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png", "LICENSE"],
}


def main() -> None:
    lock = json.loads((REPO / "frontend" / "package-lock.json").read_text())
    record: dict[str, dict[str, object]] = {}
    for package, files in BUNDLE.items():
        src = NODE_MODULES / package
        version = json.loads((src / "package.json").read_text())["version"]
        locked = lock["packages"][f"node_modules/{package}"]["version"]
        if version != locked:
            raise SystemExit(f"{package}: node_modules has {version}, the lock file {locked}; run `npm ci`")
        dest = VENDOR / package
        if dest.exists():
            shutil.rmtree(dest)
        digests = {}
        for rel in files:
            target = dest / Path(rel).relative_to("dist") if rel.startswith("dist/") else dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, target)
            digests[str(target.relative_to(dest))] = hashlib.sha256(target.read_bytes()).hexdigest()
        record[package] = {"version": version, "licence": json.loads((src / "package.json").read_text())["license"],
                           "files": digests}
    (VENDOR / "VENDOR.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    names = ", ".join(f"{p} {r['version']}" for p, r in record.items())
    print(f"bundled {names} into {VENDOR}")


if __name__ == "__main__":
    main()
