"""Build the bundled demo scenario: simulated AIS files on real geography and public reporting.

``build_scenario(out_dir)`` writes the monthly terrestrial receiver logs (NMEA), a satellite
provider export (CSV plus its column mapping), ``truth.json`` and ``SCENARIO.md``, and returns a
:class:`ScenarioManifest`. The same seed always gives byte-identical files: no wall-clock time, a
seeded random stream per vessel, sorted output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanctionwatch.demo.background import plan_fleet
from sanctionwatch.demo.document import write_scenario_md
from sanctionwatch.demo.imagery import write_imagery
from sanctionwatch.demo.lists import write_lists
from sanctionwatch.demo.reception import receive_all
from sanctionwatch.demo.truth import build_truth, write_truth
from sanctionwatch.demo.writers import write_nmea_logs, write_satellite_csv, write_satellite_mapping
from sanctionwatch.geo import land_mask

__all__ = ["DEFAULT_SEED", "ScenarioFile", "ScenarioManifest", "build_scenario"]

DEFAULT_SEED = 20231013  # the White House briefing on the Najin -> Dunay shipments, 13 Oct 2023
TRUTH_FILE = "truth.json"
README_FILE = "SCENARIO.md"


@dataclass(frozen=True)
class ScenarioFile:
    """One written file: its role, size, hash and (for AIS files) what it holds."""

    name: str  # relative to the output folder
    kind: str  # "nmea", "csv", "mapping", "truth", "readme"
    n_bytes: int
    sha256: str
    position_messages: int = 0
    static_messages: int = 0
    # Deliberate noise: reason -> 1-based line numbers ("gprmc", "bad_checksum", "orphan_fragment").
    noise_lines: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioManifest:
    """What ``build_scenario`` wrote, the message counts, and the ground truth."""

    out_dir: Path
    seed: int
    scale: float
    files: tuple[ScenarioFile, ...]
    counts: Mapping[str, int]
    truth: Mapping[str, Any] = field(repr=False)

    def paths(self, kind: str) -> list[Path]:
        return [self.out_dir / f.name for f in self.files if f.kind == kind]

    @property
    def nmea_paths(self) -> list[Path]:
        return self.paths("nmea")

    @property
    def csv_path(self) -> Path:
        return self.paths("csv")[0]

    @property
    def mapping_path(self) -> Path:
        return self.paths("mapping")[0]

    @property
    def truth_path(self) -> Path:
        return self.out_dir / TRUTH_FILE

    @property
    def readme_path(self) -> Path:
        return self.out_dir / README_FILE


def _described(path: Path, kind: str, *, name: str | None = None, **kw: Any) -> ScenarioFile:
    data = path.read_bytes()
    return ScenarioFile(name or path.name, kind, len(data), hashlib.sha256(data).hexdigest(), **kw)


def build_scenario(out_dir: Path, *, seed: int = DEFAULT_SEED, scale: float = 1.0) -> ScenarioManifest:
    """Write the scenario files under ``out_dir`` (created if needed) and return the manifest.

    ``scale`` multiplies the background traffic only (containers, tankers, bulk carriers, ferry,
    fishing boats); ANGARA, MARIA and the vessels of the staged events are always there.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = plan_fleet(seed, scale)
    reports = receive_all(plans, seed, land_mask())
    nmea = write_nmea_logs(out_dir, reports, seed)
    csv_path, sat_rows = write_satellite_csv(out_dir, reports)
    mapping_path = write_satellite_mapping(out_dir)
    truth = build_truth(plans, reports, seed, scale)
    truth_path = write_truth(out_dir / TRUTH_FILE, truth)
    files = [_described(f.path, "nmea", position_messages=f.position_messages, static_messages=f.static_messages,
                        noise_lines={k: tuple(v) for k, v in sorted(f.noise_lines.items())}) for f in nmea]
    files.append(_described(csv_path, "csv", position_messages=sat_rows))
    files.append(_described(mapping_path, "mapping"))
    files.extend(_described(p, "list", name=p.relative_to(out_dir).as_posix()) for p in write_lists(out_dir))
    files.extend(_described(p, "imagery", name=p.relative_to(out_dir).as_posix())
                 for p in write_imagery(out_dir, plans, seed))
    files.append(_described(truth_path, "truth"))
    counts = {
        "vessels": len(plans),
        "coastal_position_messages": sum(f.position_messages for f in nmea),
        "satellite_position_rows": sat_rows,
        "static_messages": sum(f.static_messages for f in nmea),
        "noise_lines": sum(len(v) for f in nmea for v in f.noise_lines.values()),
    }
    counts["position_messages"] = counts["coastal_position_messages"] + sat_rows
    readme = write_scenario_md(out_dir / README_FILE, truth, files, counts)
    files.append(_described(readme, "readme"))
    return ScenarioManifest(out_dir, seed, scale, tuple(files), counts, truth)
