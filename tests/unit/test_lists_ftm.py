"""FtM JSON, EU FtM CSV and UN XML loaders on small files whose every value is known.

The JSON samples in ``tests/data/sanctions`` are hand-written (see FTM_SAMPLE.md); the CSV and
XML inputs are written here into tmp_path, so these tests never need ../shared/data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.schema import LIST_ENTRIES, LIST_RELATIONS
from sanctionwatch.screening.lists.base import ENTRY_COLUMNS, RELATION_COLUMNS, ListError, LoadedList
from sanctionwatch.screening.lists.eu import EuFtmCsvLoader
from sanctionwatch.screening.lists.ftm import FtmJsonLoader, utc_date
from sanctionwatch.screening.lists.un import UnXmlLoader
from tests.conftest import TEST_DATA

SAMPLE = TEST_DATA / "sanctions" / "ftm_sample.jsonl"
NESTED = TEST_DATA / "sanctions" / "ftm_nested_sample.json"


def day(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


def by_id(loaded: LoadedList) -> dict[str, dict[str, Any]]:
    return {r["entry_id"]: r for r in loaded.entries.to_pylist()}


@pytest.fixture(scope="module")
def sample() -> LoadedList:
    return FtmJsonLoader().load(SAMPLE)


def test_tables_have_the_declared_columns(sample: LoadedList) -> None:
    assert tuple(sample.entries.column_names) == ENTRY_COLUMNS
    assert tuple(sample.relations.column_names) == RELATION_COLUMNS
    assert sample.entries.schema.field("imo").type == LIST_ENTRIES.arrow().field("imo").type
    assert sample.relations.schema.field("start_utc").type == LIST_RELATIONS.arrow().field("start_utc").type


def test_jsonl_entries_field_by_field(sample: LoadedList) -> None:
    assert sample.format == "ftm_json"
    assert sample.default_name == "ftm_sample"
    assert sample.files == [SAMPLE]
    assert sample.as_of == dt.datetime(2025, 4, 22, 6, 10, 5, tzinfo=dt.UTC)  # max last_seen / last_change
    entries = by_id(sample)
    assert list(entries) == ["imo-vsl-9179842", "imo-vsl-9358010", "vsl-ocean-pearl-7", "co-m-leasing",
                             "co-transmorflot", "per-sidorov"]
    angara = entries["imo-vsl-9179842"]
    assert angara["schema"] == "Vessel"
    assert angara["name"] == "ANGARA"
    assert angara["aliases"] == ["АНГАРА"]  # Cyrillic kept as written
    assert angara["past_names"] == []
    assert (angara["imo"], angara["imo_raw"], angara["imo_valid"]) == (9179842, "IMO9179842", True)
    assert angara["mmsis"] == [273612100]
    assert angara["call_sign"] == "UCJM"
    assert angara["flag_iso2"] == "RU"
    assert angara["vessel_type"] == "Ro-Ro Cargo"
    assert angara["record_no"] == 1
    assert len(angara["source_id"]) == 16

    maia = entries["imo-vsl-9358010"]
    assert maia["past_names"] == ["NEPTUN"]
    assert maia["past_flags_iso2"] == ["MT"]
    assert maia["record_no"] == 2

    pearl = entries["vsl-ocean-pearl-7"]
    assert (pearl["imo"], pearl["imo_raw"], pearl["imo_valid"]) == (9179843, "9179843", False)  # bad check digit
    assert pearl["mmsis"] == [352001234]  # '12345' is not an MMSI
    assert pearl["flag_iso2"] == "PA"
    assert pearl["past_flags_iso2"] == ["KM", "CM"]

    company = entries["co-m-leasing"]
    assert company["schema"] == "Company"
    assert company["aliases"] == ["ООО «М Лизинг»"]
    assert company["countries_iso2"] == ["RU"]
    assert (company["imo"], company["imo_valid"]) == (None, None)

    person = entries["per-sidorov"]
    assert (person["schema"], person["name"], person["countries_iso2"]) == ("Person", "Ivan Petrovich SIDOROV", ["RU"])


def test_sanctions_fold_into_the_entry_they_name(sample: LoadedList) -> None:
    entries = by_id(sample)
    angara = entries["imo-vsl-9179842"]
    assert angara["programs"] == ["RUSSIA-EO14024", "Office of Foreign Assets Control", "EU-RUS",
                                  "Regulation (EU) 833/2014 Annex XLII", "Council of the European Union"]
    assert angara["listed_on_utc"] == day(2022, 5, 8)  # the earliest of its two sanctions
    assert angara["remarks"] == "Transports military equipment for Russia."
    company = entries["co-m-leasing"]
    assert company["programs"] == ["EXAMPLE-2015", "Example Authority"]
    assert company["remarks"] == "Lessor of Ro-Ro vessels.\nSanction ended 2020-12-31: EXAMPLE-2015; Example Authority"
    assert entries["imo-vsl-9358010"]["programs"] == []
    assert entries["imo-vsl-9358010"]["listed_on_utc"] is None


def test_links_become_relations(sample: LoadedList) -> None:
    rows = sample.relations.to_pylist()
    got = [(r["subject_id"], r["relation"], r["object_id"], r["object_name"], r["start_utc"], r["record_no"])
           for r in rows]
    assert got == [
        ("vsl-ocean-pearl-7", "operator", "co-m-leasing", "M LEASING LLC", None, 3),  # Vessel.operator reference
        ("imo-vsl-9179842", "owner", "co-m-leasing", "M LEASING LLC", day(2019, 3, 14), 7),  # Ownership owner->asset
        ("imo-vsl-9358010", "owner", "co-transmorflot", "TRANSMORFLOT LLC", None, 8),  # start '2020' is partial
        ("co-transmorflot", "director", "per-sidorov", "Ivan Petrovich SIDOROV", day(2018, 7, 1), 9),
        ("vsl-ocean-pearl-7", "linked_to", "co-m-leasing", "M LEASING LLC", None, 13),
    ]
    assert {r["source_id"] for r in rows} == {sample.entries["source_id"][0].as_py()}


def test_unknown_schema_and_nameless_vessel_are_reported_not_fatal(sample: LoadedList) -> None:
    assert "schemas not loaded: Address x1, Starship x1" in sample.notes
    assert "2 entries are not sanctions targets themselves (target=false: linked parties)" in sample.notes
    assert any("'12345'" in n for n in sample.notes)
    assert [(r.record_no, r.reason, r.detail) for r in sample.rejected] == [(16, "empty_name", "Vessel vsl-no-name")]


def test_nested_targets_form(sample: LoadedList) -> None:
    nested = FtmJsonLoader().load(NESTED)
    entries = by_id(nested)
    assert set(entries) == {"imo-vsl-9179842", "co-m-leasing"}
    assert entries["co-m-leasing"]["record_no"] == 2  # its own line, not line 1 where it is nested first
    assert entries["imo-vsl-9179842"]["programs"] == ["EU-RUS", "Council of the European Union"]
    assert entries["imo-vsl-9179842"]["listed_on_utc"] == day(2024, 6, 25)
    assert entries["co-m-leasing"]["remarks"] == "Sanction ended 2020-12-31: EXAMPLE-2015"
    # The ownership is nested under both targets, each time without the back-reference: united again.
    rows = nested.relations.to_pylist()
    assert [(r["subject_id"], r["relation"], r["object_id"], r["start_utc"]) for r in rows] == [
        ("imo-vsl-9179842", "owner", "co-m-leasing", day(2019, 3, 14))]
    assert nested.notes == []


def test_truncated_json_line_loads_nothing(tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "entities.ftm.json"
    broken.write_text("\n".join([*lines[:5], lines[5][:40]]) + "\n", encoding="utf-8")
    with pytest.raises(ListError) as err:
        FtmJsonLoader().load(broken)
    assert err.value.line == 6
    assert str(err.value).startswith(f"{broken}:6: invalid JSON")


def test_json_line_that_is_not_an_entity(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"id": "a", "schema": "Vessel", "properties": {"name": ["A"]}}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ListError) as err:
        FtmJsonLoader().load(bad)
    assert err.value.line == 2


def test_default_name_strips_ftm_suffixes(tmp_path: Path) -> None:
    target = tmp_path / "targets.nested.json"
    target.write_bytes(NESTED.read_bytes())
    assert FtmJsonLoader().load(target).default_name == "targets"


def test_utc_date_refuses_partial_dates() -> None:
    assert utc_date("2024-06-25") == day(2024, 6, 25)
    assert utc_date("2024-06-25T10:00:00") == day(2024, 6, 25)
    assert utc_date("2024") is None
    assert utc_date("2024-02-30") is None


# --- EU FtM CSV ----------------------------------------------------------------------------------

EU_HEADER = ("celex,recordId,programKey,annex,measure,startDate,reason,schema,name,alias,weakAlias,"
             "previousName,country,nationality,jurisdiction,imoNumber,mmsi,flag,notes")


def test_eu_csv_rows_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "32017R1509.csv"
    path.write_text(
        EU_HEADER + "\n"
        '32017R1509,1,EU-PRK,XIV.B,Transportation restrictions,3.10.2017,"Reason spanning\ntwo lines",'
        "Vessel,PETREL 8,,,,,,,9562233,620233000,,\n"
        "32017R1509,,EU-PRK,XIII.B,Asset freeze,2.3.2016,,Vessel,Chong Bong (Greenlight) (Blue Nouvelle),,,,,,,"
        "8909575,,,\n"
        "32017R1509,7,EU-PRK,XIII.B,Asset freeze,25 February 2025,,LegalEntity,Example Trading Co; ETC,"
        "Ex Trading; Э Трейдинг,,Old Name,Russia,,Hong Kong,,,,A note\n",
        encoding="utf-8",
    )
    loader = EuFtmCsvLoader()
    assert loader.sniff(path, path.read_bytes()[:2048])
    loaded = loader.load(path)
    assert loaded.default_name == "eu-32017R1509"
    assert loaded.as_of is None
    assert "latest startDate in the file: 2025-02-25 (the file states no publication date)" in loaded.notes
    entries = by_id(loaded)
    assert list(entries) == ["XIV.B/1", "XIII.B/Chong Bong", "XIII.B/7"]
    petrel = entries["XIV.B/1"]
    assert petrel["record_no"] == 2
    assert (petrel["imo"], petrel["imo_valid"], petrel["mmsis"]) == (9562233, True, [620233000])
    assert petrel["programs"] == ["EU-PRK", "32017R1509 Annex XIV.B", "Transportation restrictions"]
    assert petrel["listed_on_utc"] == day(2017, 10, 3)
    assert petrel["remarks"] == "Reason spanning\ntwo lines"
    chong = entries["XIII.B/Chong Bong"]
    assert chong["record_no"] == 4  # the quoted cell above spans lines 2-3
    assert (chong["name"], chong["past_names"]) == ("Chong Bong", ["Greenlight", "Blue Nouvelle"])
    company = entries["XIII.B/7"]
    assert company["record_no"] == 5
    assert (company["name"], company["aliases"]) == ("Example Trading Co", ["ETC", "Ex Trading", "Э Трейдинг"])
    assert company["past_names"] == ["Old Name"]
    assert company["countries_iso2"] == ["RU", "HK"]
    assert company["listed_on_utc"] == day(2025, 2, 25)
    assert (company["imo"], company["imo_raw"], company["remarks"]) == (None, None, "A note")


def test_eu_csv_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("celex,id,annex,schema,nom\n32014R0833,1,XLII,Vessel,Angara\n", encoding="utf-8")
    assert not EuFtmCsvLoader().sniff(path, path.read_bytes())
    with pytest.raises(ListError) as err:
        EuFtmCsvLoader().load(path)
    assert err.value.line == 1
    assert "recordId" in str(err.value)


def test_eu_csv_short_row(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(EU_HEADER + "\n32014R0833,1,EU-RUS,XLII,Transportation restrictions,25.6.2024\n", encoding="utf-8")
    with pytest.raises(ListError) as err:
        EuFtmCsvLoader().load(path)
    assert err.value.line == 2


# --- UN XML --------------------------------------------------------------------------------------

UN_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CONSOLIDATED_LIST dateGenerated="2025-04-19T23:00:04.625Z">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>1</DATAID>
      <FIRST_NAME>KIM</FIRST_NAME>
      <SECOND_NAME>IL</SECOND_NAME>
      <THIRD_NAME>SU</THIRD_NAME>
      <UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <REFERENCE_NUMBER>KPi.999</REFERENCE_NUMBER>
      <LISTED_ON>2017-06-02</LISTED_ON>
      <NAME_ORIGINAL_SCRIPT>김일수</NAME_ORIGINAL_SCRIPT>
      <COMMENTS1/>
      <NATIONALITY><VALUE>Democratic People's Republic of Korea</VALUE></NATIONALITY>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Kim Il-Su</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ADDRESS><COUNTRY>Russian Federation</COUNTRY></INDIVIDUAL_ADDRESS>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>2</DATAID>
      <FIRST_NAME>EXAMPLE SHIPPING CO</FIRST_NAME>
      <UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <REFERENCE_NUMBER>KPe.999</REFERENCE_NUMBER>
      <LISTED_ON>2018-03-30</LISTED_ON>
      <COMMENTS1>Registered owner of a tanker. IMO number: 5571322.</COMMENTS1>
      <ENTITY_ALIAS><QUALITY>f.k.a.</QUALITY><ALIAS_NAME>OLD SHIPPING CO</ALIAS_NAME></ENTITY_ALIAS>
      <ENTITY_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>ESC</ALIAS_NAME></ENTITY_ALIAS>
      <ENTITY_ADDRESS><CITY>Pyongyang</CITY><COUNTRY>Democratic People's Republic of Korea</COUNTRY></ENTITY_ADDRESS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
"""


def test_un_xml_small_file(tmp_path: Path) -> None:
    path = tmp_path / "consolidated.xml"
    path.write_text(UN_XML, encoding="utf-8")
    loader = UnXmlLoader()
    assert loader.sniff(path, path.read_bytes()[:4096])
    loaded = loader.load(path)
    assert (loaded.format, loaded.default_name) == ("un_xml", "un-consolidated")
    assert loaded.as_of == dt.datetime(2025, 4, 19, 23, 0, 4, 625000, tzinfo=dt.UTC)
    entries = by_id(loaded)
    person = entries["KPi.999"]
    assert (person["schema"], person["name"], person["record_no"]) == ("Person", "KIM IL SU", 4)
    assert person["aliases"] == ["Kim Il-Su", "김일수"]
    assert person["countries_iso2"] == ["KP", "RU"]
    assert person["programs"] == ["DPRK", "KP"]
    assert person["listed_on_utc"] == day(2017, 6, 2)
    assert (person["imo"], person["remarks"]) == (None, None)
    org = entries["KPe.999"]
    assert (org["schema"], org["name"], org["record_no"]) == ("Organization", "EXAMPLE SHIPPING CO", 20)
    assert (org["aliases"], org["past_names"]) == (["ESC"], ["OLD SHIPPING CO"])
    assert (org["imo"], org["imo_raw"], org["imo_valid"]) == (5571322, "IMO number: 5571322", None)
    assert org["countries_iso2"] == ["KP"]
    assert loaded.relations.num_rows == 0


def test_un_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    lines = UN_XML.splitlines()
    lines[7] = "      <THIRD_NAME>SU</THIRD_NAM>"  # mismatched tag on line 8
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ListError) as err:
        UnXmlLoader().load(path)
    assert err.value.line == 8
    assert "malformed XML: mismatched tag" in str(err.value)


def test_un_truncated_xml(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text("\n".join(UN_XML.splitlines()[:12]), encoding="utf-8")
    with pytest.raises(ListError) as err:
        UnXmlLoader().load(path)
    assert err.value.line == 12


def test_un_wrong_root(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<sdnList><sdnEntry/></sdnList>\n', encoding="utf-8")
    assert not UnXmlLoader().sniff(path, path.read_bytes())
    with pytest.raises(ListError) as err:
        UnXmlLoader().load(path)
    assert err.value.line == 2
