"""IMO check digits, MMSI -> MID -> flag, and the packaged MID table."""

from __future__ import annotations

import csv
import re
from importlib import resources

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sanctionwatch.identifiers import (
    flag_for_mmsi,
    flag_for_mmsi_expr,
    imo_is_valid,
    imo_valid_expr,
    mid_of,
    mid_table,
)

# Real IMO numbers from the demo scenario (shared/data/scenario/facts.md) plus the worked example
# in identifiers.imo_is_valid's docstring.
VALID_IMOS = {
    9179842: "ANGARA",
    9358010: "MAIA-1",
    8517839: "MARIA",
    9161003: "LADY R",
    9074729: "docstring example",
}


# --------------------------------------------------------------------------------------------------
# IMO numbers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("imo", list(VALID_IMOS), ids=list(VALID_IMOS.values()))
def test_real_imo_numbers_are_valid(imo):
    assert imo_is_valid(imo)
    assert imo_is_valid(str(imo))
    assert imo_is_valid(f"IMO {imo}")
    assert imo_is_valid(f"IMO{imo}")
    assert imo_is_valid(f"  imo {imo} ")


@pytest.mark.parametrize("imo", list(VALID_IMOS), ids=list(VALID_IMOS.values()))
def test_wrong_check_digit_is_invalid(imo):
    s = str(imo)
    for d in "0123456789":
        if d != s[6]:
            assert not imo_is_valid(s[:6] + d)
            assert not imo_is_valid(f"IMO {s[:6]}{d}")


def test_some_single_digit_errors_pass_the_check():
    # The weights 7..2 share factors with 10, so not every typo is caught: changing the third digit
    # (weight 5) of 9179842 by an even amount keeps the weighted sum mod 10.
    assert imo_is_valid("9199842")  # third digit 7 -> 9: +2 * 5 = +10
    assert not imo_is_valid("9189842")  # 7 -> 8: +1 * 5


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "IMO",
        "917984",
        "91798420",
        "IMO 917984A",
        "9179842.0",
        9179842.0,
        "0000000",
        0,
        -9179842,
        "IMO-9179842",
    ],
)
def test_malformed_imo_values_are_invalid(value):
    assert not imo_is_valid(value)


def test_imo_transposition_is_caught():
    assert imo_is_valid("9179842")
    assert not imo_is_valid("9197842")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(min_value=-20_000_000, max_value=20_000_000)),
        min_size=1,
        max_size=200,
    )
)
@example([9179842, 9358010, 8517839, 9161003, 9074729, 1000000, 999999, 10_000_000, 0, None])
def test_vectorised_imo_check_agrees_with_scalar(values):
    got = pl.DataFrame({"imo": values}, schema={"imo": pl.Int64}).select(
        imo_valid_expr(pl.col("imo")).alias("ok")
    )["ok"]
    for value, flag in zip(values, got.to_list(), strict=True):
        if value is None:
            assert flag is None
        else:
            assert flag == imo_is_valid(value), value


def test_vectorised_imo_check_on_dense_block():
    # Every number in a block around ANGARA: exactly one in ten has the right check digit.
    block = list(range(9_179_000, 9_181_000))
    got = pl.Series("imo", block).to_frame().select(imo_valid_expr(pl.col("imo")).alias("ok"))["ok"].to_list()
    assert got == [imo_is_valid(v) for v in block]
    assert sum(got) == len(block) // 10


# --------------------------------------------------------------------------------------------------
# MID table
# --------------------------------------------------------------------------------------------------


def _packaged_mid_rows() -> list[dict[str, str]]:
    ref = resources.files("sanctionwatch.data").joinpath("mid.csv")
    with ref.open(encoding="utf-8") as fh:
        header = [line for line in fh if line.startswith("#")]
    assert any("ITU" in line for line in header), "mid.csv must say where it comes from"
    with ref.open(encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_mid_table_is_complete_and_well_formed():
    rows = _packaged_mid_rows()
    mids = [int(r["mid"]) for r in rows]
    assert len(mids) == len(set(mids)), "one row per MID"
    assert 280 <= len(mids) <= 300
    assert min(mids) == 201 and max(mids) == 775
    assert all(200 < m < 800 for m in mids)
    for r in rows:
        assert re.fullmatch(r"[A-Z]{2}", r["iso2"]), r
        assert r["country"].strip() == r["country"] and r["country"], r
    assert len(mid_table()) == len(rows)


@pytest.mark.parametrize(
    ("mids", "iso2"),
    [
        ([273], "RU"),
        ([445], "KP"),
        ([412, 413, 414], "CN"),
        ([440, 441], "KR"),
        ([351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373, 374], "PA"),
        ([636, 637], "LR"),
        ([538], "MH"),
        ([215, 229, 248, 249, 256], "MT"),
        ([219, 220], "DK"),
        ([338, 366, 367, 368, 369, 303], "US"),
        ([209, 210, 212], "CY"),
        ([477], "HK"),
        ([453], "MO"),
        ([416], "TW"),
        ([231], "FO"),
        ([232, 233, 234, 235], "GB"),
        ([236], "GI"),
        ([244, 245, 246], "NL"),
        ([211, 218], "DE"),
        ([237, 239, 240, 241], "GR"),
        ([308, 309, 311], "BS"),
        ([572], "TV"),
        ([511], "PW"),
        ([422], "IR"),
        ([468], "SY"),
        ([613], "CM"),
        ([667], "SL"),
        ([620, 616], "KM"),
        ([775], "VE"),
        ([204, 255, 263], "PT"),
    ],
)
def test_known_mids(mids, iso2):
    table = mid_table()
    for mid in mids:
        assert table[mid][0] == iso2, (mid, table[mid])


def test_unallocated_mids_are_absent():
    table = mid_table()
    for mid in (200, 217, 221, 260, 280, 300, 302, 400, 444, 500, 600, 700, 780, 799):
        assert mid not in table


def test_mid_country_names_are_itu_names():
    table = mid_table()
    assert table[273][1] == "Russian Federation"
    assert table[445][1] == "Democratic People's Republic of Korea"
    assert "Hong Kong" in table[477][1]


# --------------------------------------------------------------------------------------------------
# MMSI -> MID -> flag
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mmsi", "mid", "flag"),
    [
        (273210440, 273, "RU"),  # ANGARA's reported MMSI (facts.md: uncertain)
        (445123456, 445, "KP"),
        (477995000, 477, "HK"),
        (636012345, 636, "LR"),
        (538001234, 538, "MH"),
        (366999999, 366, "US"),
        (2320001, 232, "GB"),  # coast station 00MIDxxxx (002320001)
        (2734567, 273, "RU"),  # coast station 002734567
        (27312345, 273, "RU"),  # group 0MIDxxxxx (027312345)
        (111273123, 273, "RU"),  # SAR aircraft 111MIDxxx
        (992351234, 235, "GB"),  # AIS aid to navigation 99MIDxxxx
        (982731234, 273, "RU"),  # craft associated with a parent ship 98MIDxxxx
        (299000000, 299, None),  # MID not allocated
        (970123456, None, None),  # AIS-SART: no MID
        (123456789, None, None),
    ],
)
def test_mid_and_flag_for_mmsi_forms(mmsi, mid, flag):
    assert mid_of(mmsi) == mid
    assert flag_for_mmsi(mmsi) == flag


def test_mid_of_rejects_out_of_range():
    assert mid_of(1_000_000_000) is None
    assert mid_of(-273210440) is None


def test_vectorised_flag_matches_scalar_for_ship_stations():
    table = mid_table()
    mmsis = [mid * 1_000_000 + 123 for mid in range(200, 800)] + [273210440, 445000001]
    got = (
        pl.DataFrame({"mmsi": mmsis})
        .select(flag_for_mmsi_expr(pl.col("mmsi")).alias("flag"))["flag"]
        .to_list()
    )
    assert got == [flag_for_mmsi(m) for m in mmsis]
    assert sum(g is not None for g in got) == len(table) + 2


def test_vectorised_flag_is_null_outside_ship_station_range():
    values = [2320001, 992351234, 111273123, 970123456, None, 0]
    got = pl.DataFrame({"mmsi": values}, schema={"mmsi": pl.Int64}).select(
        flag_for_mmsi_expr(pl.col("mmsi")).alias("flag")
    )
    assert got["flag"].to_list() == [None] * len(values)
