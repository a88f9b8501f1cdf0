"""Parameters in one place.

Every tunable value is a :class:`Setting` in :data:`SETTINGS` with a default, a unit (also in
its name), a help text and the public source the default comes from. A run's configuration is
layered -- packaged defaults, then the project's ``sanctionwatch.toml``, then ``--set
name=value`` flags -- and frozen into a :class:`Config` whose JSON and hash (``params_id``)
are recorded in every output. ``docs/settings.md`` is generated from this registry and a test
checks they agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["SETTINGS", "Config", "ConfigError", "Setting", "load_config", "settings_markdown"]


class ConfigError(ValueError):
    """A setting name or value is not valid."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    source: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def parse(self, value: Any) -> Any:
        """Coerce ``value`` (possibly a CLI string) to this setting's type and check its range."""
        kind = self.kind
        try:
            if kind is bool:
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in {"true", "false", "1", "0", "yes", "no"}:
                        raise ValueError(value)
                    out: Any = low in {"true", "1", "yes"}
                else:
                    out = bool(value)
            elif kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(value)
                out = int(value)
            elif kind is float:
                out = float(value)
            else:
                out = str(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"setting {self.name}: {value!r} is not a valid {kind.__name__}") from err
        if self.minimum is not None and out < self.minimum:
            raise ConfigError(f"setting {self.name}: {out} is below the minimum {self.minimum}")
        if self.maximum is not None and out > self.maximum:
            raise ConfigError(f"setting {self.name}: {out} is above the maximum {self.maximum}")
        return out


def _registry(*settings: Setting) -> Mapping[str, Setting]:
    out: dict[str, Setting] = {}
    for s in settings:
        if s.name in out:
            raise ValueError(f"setting {s.name} declared twice")
        out[s.name] = s
    return MappingProxyType(out)


SETTINGS: Mapping[str, Setting] = _registry(
    # --- ingest ---------------------------------------------------------------------------
    Setting(
        "ingest.chunk_rows", 250_000,
        "Records decoded per chunk; bounds ingest memory whatever the file size.",
        "sanctionwatch design: about 50 MB of Arrow per chunk of positions", unit="row", minimum=1000,
    ),
    Setting(
        "ingest.future_tolerance_hours", 24.0,
        "Timestamps later than the ingest time plus this are quarantined as 'ts_in_future' "
        "(receiver clocks drift; a day covers time zones mislabelled as UTC).",
        "sanctionwatch design", unit="hour", minimum=0,
    ),
    Setting(
        "ingest.min_valid_date", "2000-01-01",
        "Timestamps before this date are quarantined as 'ts_too_old' (AIS carriage under SOLAS "
        "began in 2002; earlier dates are clock errors such as the 1970 epoch).",
        "IMO SOLAS chapter V regulation 19 (AIS carriage from 2002)",
    ),
    Setting(
        "ingest.nmea_fragment_window_sentences", 100,
        "A fragment of a multi-sentence NMEA message waits this many sentences for its partners "
        "before it is quarantined as 'orphan_fragment'. Fragments of one message are normally "
        "adjacent; interleaving across channels rarely spans more than a few sentences.",
        "sanctionwatch design; cf. gpsd and pyais, which assemble adjacent fragments",
        unit="sentence", minimum=2,
    ),
    Setting(
        "ingest.quarantine_raw_max_chars", 4096,
        "Raw text kept per quarantined record (longer lines are truncated).",
        "sanctionwatch design", unit="character", minimum=80,
    ),
    # --- store ----------------------------------------------------------------------------
    Setting(
        "store.duckdb_memory_limit", "2GB",
        "DuckDB memory limit for store queries (de-duplication spills to disk beyond it).",
        "DuckDB documentation: memory_limit setting",
    ),
    Setting(
        "store.duckdb_threads", 2,
        "DuckDB worker threads.", "sanctionwatch design: the reference machine has 2 cores",
        unit="thread", minimum=1,
    ),
)


@dataclass(frozen=True)
class Config:
    """A frozen, complete set of setting values."""

    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise ConfigError(f"unknown setting {name!r}") from None

    def to_json(self) -> str:
        return json.dumps(dict(sorted(self.values.items())), sort_keys=True)

    @property
    def params_id(self) -> str:
        """Short hash of the values: the same parameters always give the same id."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def overridden(self) -> dict[str, Any]:
        """Only the values that differ from the packaged defaults."""
        return {k: v for k, v in self.values.items() if SETTINGS[k].default != v}

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        vals = dict(self.values)
        for name, value in overrides.items():
            vals[name] = _setting(name).parse(value)
        return Config(MappingProxyType(vals))

    def min_valid_datetime(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self["ingest.min_valid_date"]).replace(tzinfo=dt.UTC)


def _setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        close = [n for n in SETTINGS if n.split(".")[-1] == name.split(".")[-1]]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown setting {name!r}{hint}") from None


def defaults() -> Config:
    return Config(MappingProxyType({k: s.default for k, s in SETTINGS.items()}))


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """Parse CLI ``name=value`` strings."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load_config(project_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Packaged defaults, then the project's TOML file (if it exists), then ``overrides``."""
    cfg = defaults()
    if project_file is not None and project_file.exists():
        try:
            data = tomllib.loads(project_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{project_file}: {err}") from err
        cfg = cfg.with_overrides(_flatten(data.get("settings", {})))
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return cfg


def settings_markdown() -> str:
    """The settings reference (docs/settings.md), generated from the registry."""
    lines = [
        "# Settings",
        "",
        "Generated from `sanctionwatch.config.SETTINGS` (`sanctionwatch settings --markdown`); "
        "a test checks this file is current.",
        "",
        "Override per project in `sanctionwatch.toml` under `[settings]` (dotted names as nested "
        "tables or quoted keys), or per run with `--set name=value`. The values used are recorded "
        "in every output (`params_json`, `params_id`).",
        "",
        "| setting | default | unit | what it does | source of the default |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        lines.append(f"| `{s.name}` | `{s.default}` | {s.unit or ''} | {s.help} | {s.source} |")
    return "\n".join(lines) + "\n"
