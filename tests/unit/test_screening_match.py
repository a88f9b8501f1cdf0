"""Vessel matching: names across scripts and spellings, numbers first, the edge cases of the issue."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sanctionwatch.config import load_config
from sanctionwatch.screening.match import MatchParams, candidate_pairs, score_pair, screen_subjects
from sanctionwatch.screening.names import compact_name, fold_name, name_similarity, normalize_name

P = MatchParams.from_config(load_config(None, {}))


def entry(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"entry_id": "1", "schema": "Vessel", "name": "ANGARA", "aliases": [], "past_names": [],
                            "imo": 9179842, "imo_raw": "IMO 9179842", "imo_valid": True, "mmsis": [],
                            "call_sign": None, "flag_iso2": "RU", "past_flags_iso2": []}
    base.update(kw)
    return base


def subject(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"mmsi": 273210440, "imo": None, "imo_valid": None, "name": None, "call_sign": None,
                            "flag_iso2": "RU"}
    base.update(kw)
    return base


# --- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("listed", "broadcast"), [
    ("M/V MAIA-1", "MAIA 1"),            # prefix and punctuation
    ("Майя-1", "MAIA 1"),                # Cyrillic with -ya ending
    ("Мария", "MARIA"),                  # Cyrillic Mariya / Maria
    ("천마산", "CHON MA SAN"),            # Hangul (RR 'Cheonmasan') vs McCune-Reischauer as AIS spells it
    ("GEUM EUN SAN 3", "KUM UN SAN 3"),  # Revised Romanisation vs McCune-Reischauer
    ("SAMJONG NO.2", "SAM JONG 2"),      # 'NO.' before the number, spacing
])
def test_transliteration_and_spelling_variants_match(listed: str, broadcast: str) -> None:
    assert name_similarity(listed, broadcast) >= P.name_min_similarity


@pytest.mark.parametrize(("a", "b"), [
    ("JI SONG 6", "JI SONG 8"),    # numbered sister ships are different ships
    ("MAIA 1", "MAIA 2"),
    ("BICENTENARIO XII", "BICENTENARIO XIII"),  # ... numbered in Roman numerals too
    ("MARIE DE LOURDES I", "MARIE DE LOURDES V"),
    ("ANGARA", "AMUR"),
])
def test_different_names_do_not_match(a: str, b: str) -> None:
    assert name_similarity(a, b) < P.name_min_similarity


def test_normalisation_examples() -> None:
    assert normalize_name("M/V  Lady-R.") == "LADY R"
    assert compact_name("MAIA@@@@") == "MAIA"  # AIS '@' padding
    assert compact_name("A" * 30) == "A" * 20  # AIS carries 20 characters
    assert fold_name("KHABAROVSK") == fold_name("HABAROVSK")
    # a transponder sends the first 20 characters as typed: a long listed name is cut the same way
    assert name_similarity("YARD NO. 1220 SHANGHAI WAIGAOQIAO", "YARD NO. 1220 SHANGH") == 1.0


@given(st.text(min_size=1, max_size=30))
def test_similarity_is_symmetric_and_bounded(name: str) -> None:
    other = name[::-1]
    s = name_similarity(name, other)
    assert 0.0 <= s <= 1.0
    assert s == pytest.approx(name_similarity(other, name))
    if compact_name(name):
        assert name_similarity(name, name) == 1.0


# --- scoring ----------------------------------------------------------------------------------

def test_imo_match_is_a_match_with_reasons() -> None:
    score, reasons = score_pair(subject(imo=9179842, imo_valid=True, name="ANGARA"), entry(), P)
    assert score == pytest.approx(P.imo_weight + P.name_agreement_bonus)
    assert score >= P.match_threshold
    assert "IMO 9179842" in reasons[0]
    assert any("name agrees" in r for r in reasons)


def test_wrong_check_digit_is_flagged_not_matched() -> None:
    # 9179843 fails the check digit: it must not match the listed 9179842, nor a list typo of itself
    score, reasons = score_pair(subject(imo=9179843, imo_valid=False, name="SOMETHING ELSE"), entry(imo=9179843,
                                imo_valid=False, imo_raw="IMO 9179843"), P)
    assert score == 0.0
    assert any("fails the check digit" in r for r in reasons)


def test_same_name_different_vessel_is_not_a_match() -> None:
    # a MARIA broadcasting a valid IMO other than the sanctioned MARIA's: two ships sharing a name
    score, reasons = score_pair(subject(imo=9074729, imo_valid=True, name="MARIA"),
                                entry(name="MARIA", imo=8517839), P)
    assert score < P.cutoff
    assert any("different IMO numbers" in r for r in reasons)


def test_name_alone_is_only_possible_and_flag_makes_it_a_match() -> None:
    no_flag, _ = score_pair(subject(name="ANGARA", flag_iso2=None), entry(), P)
    assert P.cutoff <= no_flag < P.match_threshold
    same_flag, reasons = score_pair(subject(name="ANGARA", flag_iso2="RU"), entry(), P)
    assert same_flag >= P.match_threshold and any("flag RU agrees" in r for r in reasons)
    # a different flag is reported but costs nothing by default: listed ships reflag to keep trading
    other_flag, reasons = score_pair(subject(name="ANGARA", flag_iso2="PA"), entry(), P)
    assert other_flag == pytest.approx(no_flag) and any("flag PA differs from listed RU" in r for r in reasons)
    strict = MatchParams(**{**P.__dict__, "flag_mismatch_penalty": 0.1})
    assert score_pair(subject(name="ANGARA", flag_iso2="PA"), entry(), strict)[0] < no_flag


def test_renamed_vessel_caught_by_former_name() -> None:
    score, reasons = score_pair(subject(name="NEPTUN", flag_iso2=None),
                                entry(name="MAIA-1", imo=9358010, past_names=["NEPTUN", "BBC HAWAII"]), P)
    assert score >= P.cutoff
    assert "former name 'NEPTUN'" in reasons[0]


def test_sanctioned_imo_under_new_mmsi() -> None:
    score, reasons = score_pair(subject(mmsi=613000001, imo=9179842, imo_valid=True, name="ANGARA"),
                                entry(mmsis=[273210440]), P)
    assert score >= P.match_threshold
    assert any("not the listed MMSI 273210440" in r for r in reasons)


def test_mmsi_reuse_after_sale_is_not_counted() -> None:
    # The MMSI is listed for the sanctioned ship, but the reports come from a ship with another IMO.
    reused, reasons = score_pair(subject(imo=9074729, imo_valid=True, name="NEW OWNER"), entry(mmsis=[273210440]), P)
    assert reused < P.cutoff
    assert any("MMSI reassigned" in r for r in reasons)
    # The same MMSI without a conflicting IMO still counts.
    plain, _ = score_pair(subject(), entry(mmsis=[273210440]), P)
    assert plain == pytest.approx(P.mmsi_weight)


def test_call_sign_adds_to_a_name() -> None:
    with_cs, reasons = score_pair(subject(name="MARIA", call_sign="UBRH7", flag_iso2=None),
                                  entry(name="MARIA", imo=8517839, call_sign="UBRH7"), P)
    assert with_cs >= P.match_threshold and any("call sign UBRH7 agrees" in r for r in reasons)


# --- vectorised candidates agree with brute force ----------------------------------------------

def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    names = ["ANGARA", "ANGARA 2", "MARIA", "MARINA", "LADY R", "LADY MARIIA", "CHON MA SAN", "KUM UN SAN 3",
             "SIM VERA", "NEPTUN", "OCEAN ROSE", "ASCALON", "ADLER"]
    listed = ["ANGARA", "MARIA", "LADY R", "CHONMASAN", "GEUM EUN SAN 3", "MAIA-1", "ADLER", "ASKALON"]
    subjects = pl.DataFrame({
        "subject_idx": list(range(len(names))), "mmsi": [100000000 + i for i in range(len(names))],
        "imo": [None] * len(names), "imo_valid": [None] * len(names), "name": names,
        "call_sign": [None] * len(names), "flag_iso2": ["RU"] * len(names),
    }, schema_overrides={"imo": pl.Int32, "imo_valid": pl.Boolean, "call_sign": pl.String, "mmsi": pl.Int32})
    rows = [entry(entry_id=str(i), name=n, imo=None, imo_valid=None, past_names=["NEPTUN"] if n == "MAIA-1" else [])
            for i, n in enumerate(listed)]
    entries = pl.DataFrame(rows, schema_overrides={"imo": pl.Int32, "mmsis": pl.List(pl.Int32),
                                                   "imo_valid": pl.Boolean, "call_sign": pl.String}
                           ).with_row_index("entry_idx").with_columns(pl.col("entry_idx").cast(pl.Int64))
    return subjects, entries


def test_candidates_equal_brute_force() -> None:
    subjects, entries = _frames()
    got = set(candidate_pairs(subjects, entries, P).iter_rows())
    expected = set()
    for s in subjects.iter_rows(named=True):
        for e in entries.iter_rows(named=True):
            names = [e["name"], *e["past_names"]]
            if any(name_similarity(s["name"], n) + 0.3 >= P.name_min_similarity for n in names):
                expected.add((s["subject_idx"], e["entry_idx"]))
    # every pair that brute force finds similar enough to score is a candidate
    scored_bf = {(s, e) for s, e in expected
                 if score_pair(subjects.row(s, named=True), entries.row(e, named=True), P)[0] >= P.cutoff}
    assert scored_bf <= got
    result = screen_subjects(subjects, entries, P)
    assert {(r["subject_idx"], r["entry_idx"]) for r in result.iter_rows(named=True)} == scored_bf
    by_name = {subjects["name"][s]: entries["name"][e] for s, e in scored_bf}
    assert by_name["CHON MA SAN"] == "CHONMASAN"
    assert by_name["KUM UN SAN 3"] == "GEUM EUN SAN 3"
    assert by_name["NEPTUN"] == "MAIA-1"
    assert "ANGARA 2" not in by_name  # number mismatch
