"""Settings: one registry, layered overrides, frozen config, documentation kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.config import SETTINGS, ConfigError, load_config, parse_assignments, settings_markdown

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_with_a_source():
    for s in SETTINGS.values():
        assert s.help and s.source, s.name
        assert s.parse(s.default) == s.default


def test_docs_settings_md_is_current():
    doc = REPO / "docs" / "settings.md"
    assert doc.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/settings.md is stale: run `sanctionwatch settings --markdown > docs/settings.md`"
    )


def test_layers_file_then_overrides(tmp_path):
    f = tmp_path / "sanctionwatch.toml"
    f.write_text('[settings]\n"ingest.chunk_rows" = 5000\n[settings.ingest]\nfuture_tolerance_hours = 2\n')
    cfg = load_config(f)
    assert cfg["ingest.chunk_rows"] == 5000 and cfg["ingest.future_tolerance_hours"] == 2.0
    cfg2 = load_config(f, parse_assignments(["ingest.chunk_rows=7000"]))
    assert cfg2["ingest.chunk_rows"] == 7000
    assert cfg2.params_id != cfg.params_id != load_config().params_id
    assert cfg2.overridden() == {"ingest.chunk_rows": 7000, "ingest.future_tolerance_hours": 2.0}


def test_same_values_same_params_id():
    assert load_config().params_id == load_config().params_id


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("chunk_rows=10", "did you mean ingest.chunk_rows"),
        ("ingest.chunk_rows=ten", "not a valid int"),
        ("ingest.chunk_rows=10", "below the minimum"),
        ("ingest.chunk_rows", "expects name=value"),
    ],
)
def test_bad_settings_are_clear_errors(assignment, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, parse_assignments([assignment]))


def test_bad_toml_names_the_file(tmp_path):
    f = tmp_path / "sanctionwatch.toml"
    f.write_text("[settings\n")
    with pytest.raises(ConfigError, match=str(f)):
        load_config(f)
