"""EU FtM CSV and UN XML loaders on the real published lists, checked against independent reads.

The files are not redistributable here (EU transcriptions CC-BY-NC, UN list without a stated
licence; see ../shared/data/sanctions/SOURCES.md), so they are read from ../shared/data and
these tests skip with the reason when it is absent. Every count is computed again from the raw
file (csv module, plain text scan) and also checked against the figure written in SOURCES.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.screening.lists.base import LoadedList
from sanctionwatch.screening.lists.eu import EuFtmCsvLoader
from sanctionwatch.screening.lists.un import UnXmlLoader
from tests.conftest import shared_file

pytestmark = pytest.mark.shared

EU_833 = "sanctions/eu/32014R0833.csv"
EU_1509 = "sanctions/eu/32017R1509.csv"
UN = "sanctions/un/consolidated.xml"


def csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(first line of the row, row) read with the csv module alone."""
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        prev = reader.line_num
        for row in reader:
            out.append((prev + 1, row))
            prev = reader.line_num
    return out


def entries(loaded: LoadedList) -> list[dict[str, Any]]:
    return loaded.entries.to_pylist()


@pytest.fixture(scope="module")
def eu833() -> tuple[Path, LoadedList]:
    path = shared_file(EU_833)
    return path, EuFtmCsvLoader().load(path)


@pytest.fixture(scope="module")
def eu1509() -> tuple[Path, LoadedList]:
    path = shared_file(EU_1509)
    return path, EuFtmCsvLoader().load(path)


@pytest.fixture(scope="module")
def un() -> tuple[Path, LoadedList]:
    path = shared_file(UN)
    return path, UnXmlLoader().load(path)


def test_eu_833_counts(eu833: tuple[Path, LoadedList]) -> None:
    path, loaded = eu833
    raw = csv_rows(path)
    independent = Counter(row["schema"] for _, row in raw)
    assert len(raw) == 1746
    assert independent == {"LegalEntity": 1085, "Vessel": 633, "Asset": 28}
    rows = entries(loaded)
    assert len(rows) == len(raw)
    assert Counter(r["schema"] for r in rows) == independent
    assert loaded.rejected == []
    assert len({r["entry_id"] for r in rows}) == len(rows)
    vessels = [r for r in rows if r["schema"] == "Vessel"]
    assert len(vessels) == 633
    assert all(r["imo"] is not None for r in vessels)
    assert sum(r["imo_valid"] for r in vessels) == sum(
        1 for _, row in raw if row["schema"] == "Vessel" and _check_digit_ok(row["imoNumber"]))
    assert all("32014R0833 Annex XLII" in r["programs"] for r in vessels)
    assert all(r["mmsis"] == [] and r["flag_iso2"] is None for r in vessels)  # the annex gives neither
    # record_no is the row's line: the same line the csv module reports for that recordId/annex.
    lines = {(row["annex"], row["recordId"]): line for line, row in raw if row["recordId"]}
    assert all(r["record_no"] == lines[tuple(r["entry_id"].split("/", 1))] for r in vessels)
    assert loaded.default_name == "eu-32014R0833"
    assert loaded.as_of is None


@pytest.mark.parametrize(("name", "imo"), [("Angara", 9179842), ("Maria", 8517839), ("Lady R", 9161003),
                                           ("Maia-1", 9358010)])
def test_eu_833_scenario_vessels(eu833: tuple[Path, LoadedList], name: str, imo: int) -> None:
    _, loaded = eu833
    [row] = [r for r in entries(loaded) if r["imo"] == imo]
    assert (row["name"], row["schema"], row["imo_valid"]) == (name, "Vessel", True)
    assert row["listed_on_utc"] == dt.datetime(2024, 6, 25, tzinfo=dt.UTC)
    assert row["programs"] == ["EU-RUS", "32014R0833 Annex XLII", "Transportation restrictions"]
    assert row["remarks"].startswith("Article 3s(2)")


def test_eu_1509_vessels(eu1509: tuple[Path, LoadedList]) -> None:
    path, loaded = eu1509
    raw = csv_rows(path)
    assert len(raw) == 326
    raw_vessels = [row for _, row in raw if row["schema"] == "Vessel"]
    assert len(raw_vessels) == 75
    with_mmsi = sum(1 for row in raw_vessels if row["mmsi"])
    assert with_mmsi == 4
    rows = entries(loaded)
    assert Counter(r["schema"] for r in rows) == Counter(row["schema"] for _, row in raw)
    vessels = [r for r in rows if r["schema"] == "Vessel"]
    assert len(vessels) == 75
    assert sum(1 for r in vessels if r["mmsis"]) == with_mmsi
    assert sorted(m for r in vessels for m in r["mmsis"]) == sorted(int(row["mmsi"]) for row in raw_vessels
                                                                    if row["mmsi"])
    # Every vessel row has imoNumber text; one says 'Does not exist' (MIN NING DE YOU 078).
    assert all(r["imo_raw"] for r in vessels)
    no_number = [r for r in vessels if r["imo"] is None]
    assert [(r["name"], r["imo_raw"], r["imo_valid"]) for r in no_number] == [
        ("MIN NING DE YOU 078", "Does not exist", False)]
    petrel = next(r for r in vessels if r["name"] == "PETREL 8")
    assert (petrel["entry_id"], petrel["imo"], petrel["mmsis"]) == ("XIV.B/1", 9562233, [620233000])
    chong = next(r for r in vessels if r["imo"] == 8909575)
    assert (chong["name"], chong["past_names"]) == ("Chong Bong", ["Greenlight", "Blue Nouvelle"])
    people = [r for r in rows if r["schema"] == "Person"]
    # nationality is 'DPRK' (87 rows) or 'DPRK.' (4); one row says 'Russian', which is not a country name.
    assert sum(1 for r in people if "KP" in r["countries_iso2"]) == sum(
        1 for _, row in raw if row["schema"] == "Person" and row["nationality"].rstrip(".") == "DPRK") == 91


def test_un_counts(un: tuple[Path, LoadedList]) -> None:
    path, loaded = un
    text = path.read_text(encoding="utf-8")
    n_ind, n_ent = text.count("<INDIVIDUAL>"), text.count("<ENTITY>")
    assert (n_ind, n_ent) == (684, 193)
    rows = entries(loaded)
    assert Counter(r["schema"] for r in rows) == {"Person": n_ind, "Organization": n_ent}
    assert loaded.rejected == []
    dprk = Counter(r["schema"] for r in rows if "DPRK" in r["programs"])
    assert dprk == {"Person": 80, "Organization": 75}
    refs = re.findall(r"<REFERENCE_NUMBER>(KP[ie])\.", text)
    assert Counter(refs) == {"KPi": 80, "KPe": 75}
    # record_no is the line of each record's start tag.
    starts = {i for i, line in enumerate(text.splitlines(), 1) if line.strip() in ("<INDIVIDUAL>", "<ENTITY>")}
    assert {r["record_no"] for r in rows} == starts
    assert loaded.as_of == dt.datetime(2025, 4, 19, 23, 0, 4, 625000, tzinfo=dt.UTC)
    assert loaded.default_name == "un-consolidated"
    # Company IMO numbers only; the consolidated list has no vessels.
    assert sum(1 for r in rows if r["imo"] is not None) == len(re.findall(r"IMO\)? ?(?:number)?:? ?\d{7}", text,
                                                                         re.IGNORECASE)) == 16
    assert all(r["imo_valid"] is None for r in rows)


def test_un_ocean_maritime_management(un: tuple[Path, LoadedList]) -> None:
    path, loaded = un
    [omm] = [r for r in entries(loaded) if r["entry_id"] == "KPe.020"]
    lines = path.read_text(encoding="utf-8").splitlines()
    ref_line = next(i for i, line in enumerate(lines, 1) if "<REFERENCE_NUMBER>KPe.020<" in line)
    start = max(i for i in range(1, ref_line) if lines[i - 1].strip() == "<ENTITY>")
    assert omm["record_no"] == start
    assert omm["schema"] == "Organization"
    assert omm["name"] == "OCEAN MARITIME MANAGEMENT COMPANY, LIMITED (OMM)"
    assert omm["aliases"] == ["East Sea Shipping Company", "Korea Mirae Shipping Co. Ltd",
                              "Haeyang Crew Management Company"]
    assert omm["past_names"] == []
    assert omm["programs"] == ["DPRK", "KP"]
    assert omm["listed_on_utc"] == dt.datetime(2014, 7, 28, tzinfo=dt.UTC)
    assert omm["countries_iso2"] == ["KP"]
    assert (omm["imo"], omm["imo_raw"], omm["imo_valid"]) == (
        1790183, "International Maritime Organization (IMO) Number: 1790183", None)
    assert omm["remarks"].startswith("Ocean Maritime Management Company, Limited is the operator/manager")
    assert omm["mmsis"] == [] and omm["flag_iso2"] is None


def _check_digit_ok(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    return len(digits) == 7 and sum(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10 == digits[6]
