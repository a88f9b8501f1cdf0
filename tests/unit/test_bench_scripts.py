"""The screening benchmark and the name-matching evaluation run end to end in their tiny modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BENCH = REPO / "benchmarks"


def run_script(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=240, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_bench_screening_tiny(tmp_path: Path) -> None:
    # ../shared/data made absent: the script says so and screens against OFAC alone
    out = run_script("bench_screening.py", "--identities", "2000", "--sample", "100", "--out", str(tmp_path),
                     env={"SANCTIONWATCH_SHARED": str(tmp_path / "no-shared")})
    assert "eu-32014R0833" in out and "is absent, skipped" in out
    assert "| step | identities | seconds | identities/s | peak RSS | pairs reported |" in out
    assert "| naive hit by | naive hits | in our candidates | reported by us (>= cutoff) |" in out
    assert "| planted | how | status | n |" in out
    result = json.loads((tmp_path / "screening.json").read_text())
    assert [r["step"] for r in result["results"]] == ["ours", "ours (sample)", "naive (sample)"]
    assert result["results"][0]["identities"] == 2000 and result["listed_vessels"] == 851
    agree = result["agreement"]
    # every naive hit our own similarity accepts is one of our candidate pairs; numbers are always candidates
    assert agree["naive_name_accepted_in_candidates"] == agree["naive_name_accepted"]
    assert agree["naive_IMO_in_candidates"] == agree["naive_IMO_hits"]
    assert agree["naive_MMSI_in_candidates"] == agree["naive_MMSI_hits"]
    # planted IMO and MMSI hits are all found, as matches
    planted = [r for r in result["planted"] if r["kind"] != "name"]
    assert planted and all(r["status"] == "match" for r in planted)


def test_eval_name_matching_quick(tmp_path: Path) -> None:
    out = run_script("eval_name_matching.py", "--quick", "--out", str(tmp_path))
    assert "| threshold | R listed | R leave-one-out | R typo | FP other entries | FP hard | P | R | F1 |" in out
    assert "| list | vessels | IMO given | valid | failing the check digit | no 7-digit number |" in out
    assert "| group | pairs | AIS flag | n | possible | match |" in out
    assert "Held out" not in out  # --quick: OFAC only
    report = json.loads((tmp_path / "name_matching_quick.json").read_text())
    assert report["imo"][0]["list"] == "ofac-sdn" and report["imo"][0]["failing"] == 0
    sweep = {r["threshold"]: r for r in report["sweep_ofac"]}
    # recall falls and hard false positives fall as the threshold rises
    assert sweep[0.7]["recall"] >= sweep[0.85]["recall"] >= sweep[0.95]["recall"]
    assert sweep[0.7]["fp_hard"] >= sweep[0.85]["fp_hard"] >= sweep[0.95]["fp_hard"]
    # names differing only in a number are never reported at the default (JI SONG 6 / JI SONG 8)
    assert sweep[0.85]["fp_hard_by_kind"]["hard: number"] == 0
    # the screening code path proposes every pair the similarity reports
    assert report["code_path_misses"]["OFAC@0.85"] == []


def test_bench_cfar_tiny(tmp_path: Path) -> None:
    out = run_script("bench_cfar.py", "--size", "800", "--pd-size", "800", "--work", str(tmp_path),
                     "--out", str(tmp_path))
    assert "Mpx/s" in out and "| rule | Pfa |" in out.replace("  ", " ")


def test_bench_report_tiny(tmp_path: Path) -> None:
    out = run_script("bench_report.py", "--tiny", "--out", str(tmp_path))
    assert "| `build_report` |" in out and "| `build_dossier` (busiest vessel) |" in out
    result = json.loads((tmp_path / "report_tiny.json").read_text())
    r, p = result["report"], result["project"]
    assert r["findings"] == 40 and r["maps"] == 40 and p["positions"] > 19_000
    assert p["events"].get("port_visit", 0) > 0 and p["events"].get("ais_gap", 0) > 0  # real events behind them
    assert 0 < r["points_drawn"] <= r["tracks"] * r["track_budget"] and r["points_drawn"] <= r["points_stored"]
    assert r["evidence_shown"] == r["evidence_total"] > 0 and (tmp_path / "work" / "report_tiny" / "report.html").exists()


def test_bench_decode_tiny(tmp_path: Path) -> None:
    out = run_script("bench_decode.py", "--tiny", "--work", str(tmp_path), "--out", str(tmp_path))
    assert "| step | messages | seconds | messages/s | vs pyais |" in out
    assert "decode vs pyais (ratio, same run):" in out
    result = json.loads((tmp_path / "decode_tiny.json").read_text())
    assert result["checked_rows"] == 2000  # identical to pyais before anything is timed
    assert [r["step"] for r in result["decode"]] == [
        "pyais NMEAMessage(s).decode()", "pyais decode only (bit vector + message class)",
        "ais_fast.decode_positions (all fields)", "batch: PyaisPositionDecoder",
        "batch: VectorisedPositionDecoder"]
    assert result["ratios"]["decode_vs_pyais_sentences"] > 1


def test_bench_web_tiny(tmp_path: Path, demo_dir: Path) -> None:
    out = run_script("bench_web.py", "--tiny", "--project", str(demo_dir / "project"), "--out", str(tmp_path))
    assert "| clients | seconds | requests | requests/s | p50 ms | p90 ms | p99 ms | errors |" in out
    result = json.loads((tmp_path / "web_tiny.json").read_text())
    (level,) = result["results"]
    assert level["clients"] == 2 and level["errors"] == 0 and level["requests"] > 10
    assert 0 < level["p50_ms"] <= level["p90_ms"] <= level["p99_ms"] <= level["max_ms"]
    assert set(level["by_kind"]) == {"findings", "vessel", "track"} and all(
        k["requests"] > 0 for k in level["by_kind"].values())
    assert result["sizes"]["findings"] > 0 and result["server_peak_rss_mb"] > 0


def test_bench_engines_tiny(tmp_path: Path) -> None:
    from tests.spark_fixtures import require_spark

    require_spark()
    out = run_script("bench_engines.py", "--tiny", "--out", str(tmp_path), "--work", str(tmp_path / "work"))
    assert "| positions | vessels | engine | seconds |" in out and "| step | local s |" in out
    result = json.loads((tmp_path / "engines_tiny.json").read_text())
    size = result["sizes"][0]
    assert size["positions"] == 20_000 and size["identical"] is True  # both engines, the same events
    assert size["spark"]["stages"] and result["stages"]["local"]["rows"] == 20_000


def test_bench_pipeline_vs_scan_tiny(tmp_path: Path) -> None:
    out = run_script("bench_pipeline_vs_scan.py", "--tiny", "--out", str(tmp_path), "--work", str(tmp_path / "w"))
    assert "| pipeline / DuckDB scan |" in out
    (r,) = json.loads((tmp_path / "pipeline_vs_scan_tiny.json").read_text())["results"]
    assert r["positions"] == 20_000 and r["events"] > 0  # the pipeline found events in what it scanned
    assert r["pipeline_vs_duckdb_scan"] > 1 and r["scan_polars_s"] > 0
