"""Unit tests of the OFAC SDN loaders: the real legacy CSV set (2024 sdn.csv with 2026 alt/add)
and a hand-written sdn.xml in the published layout.

Counts are computed a second time here straight from the raw file (csv module and regexes, no
loader code), so a loader bug cannot make both sides agree by accident.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sanctionwatch.schema import LIST_ENTRIES, LIST_RELATIONS
from sanctionwatch.screening.lists.base import ENTRY_COLUMNS, RELATION_COLUMNS, ListError, LoadedList
from sanctionwatch.screening.lists.ofac import OfacCsvLoader
from sanctionwatch.screening.lists.ofac_xml import OfacXmlLoader
from sanctionwatch.screening.lists.watchlist import WatchlistCsvLoader

OFAC = Path(__file__).resolve().parents[1] / "data" / "sanctions" / "ofac"
SDN, ALT, ADD = OFAC / "sdn.csv", OFAC / "alt.csv", OFAC / "add.csv"
SAMPLE_XML = OFAC.parent / "ofac_sdn_sample.xml"
SHA256 = {  # as stated in tests/data/sanctions/ATTRIBUTION.md
    "sdn.csv": "210ca6b4a8187a34e0850be69ecc6e918f23ad7778b8b5b2f9c9d5fbbaf4e0cb",
    "alt.csv": "fda2c60a91e4197938d39bd28744cae2dec5be6c76b90feaf15a62190c91d3cf",
    "add.csv": "de04953bc8f4bd2d1fae45cf7ffbb148de2f948d04d4d38942d0d123b359d43d",
}


def _raw_rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\x1a")
    return list(csv.reader(io.StringIO(text[:-1], newline="")))


def _by_id(loaded: LoadedList) -> dict[str, dict[str, Any]]:
    return {row["entry_id"]: row for row in loaded.entries.to_pylist()}


def _relations(loaded: LoadedList, subject: str) -> list[tuple[str, str | None, str]]:
    return sorted((r["relation"], r["object_id"], r["object_name"])
                  for r in loaded.relations.to_pylist() if r["subject_id"] == subject)


@pytest.fixture(scope="module")
def sdn() -> LoadedList:
    return OfacCsvLoader().load(SDN)


@pytest.fixture(scope="module")
def sample() -> LoadedList:
    return OfacXmlLoader().load(SAMPLE_XML)


# --- the real CSV set --------------------------------------------------------------------------


def test_copies_are_byte_for_byte() -> None:
    for name, digest in SHA256.items():
        assert hashlib.sha256((OFAC / name).read_bytes()).hexdigest() == digest, name


def test_counts_match_an_independent_count_of_the_raw_file(sdn: LoadedList) -> None:
    rows = _raw_rows(SDN)
    vessels = [r for r in rows if r[2] == "vessel"]
    with_imo = [r for r in vessels if re.search(r"\bIMO\s*\d{7}\b", r[11])]
    with_mmsi = [r for r in vessels if re.search(r"\bMMSI \d{9}\b", r[11])]
    assert (len(rows), len(vessels), len(with_imo), len(with_mmsi)) == (14_965, 851, 844, 154)

    entries = sdn.entries.to_pylist()
    loaded_vessels = [e for e in entries if e["schema"] == "Vessel"]
    assert len(entries) == len(rows)
    assert len(loaded_vessels) == len(vessels)
    assert {e["entry_id"] for e in loaded_vessels if e["imo"] is not None} == {r[0] for r in with_imo}
    assert {e["entry_id"] for e in loaded_vessels if e["mmsis"]} == {r[0] for r in with_mmsi}
    by_schema = {s: sum(e["schema"] == s for e in entries) for s in ("Person", "Airplane", "LegalEntity")}
    assert by_schema == {"Person": sum(r[2] == "individual" for r in rows),
                         "Airplane": sum(r[2] == "aircraft" for r in rows),
                         "LegalEntity": sum(r[2] == "-0- " for r in rows)}
    assert len({e["entry_id"] for e in entries}) == len(entries)
    assert sdn.rejected == []


def test_tables_have_the_schema_columns_and_types(sdn: LoadedList) -> None:
    assert sdn.entries.schema.names == list(ENTRY_COLUMNS)
    assert sdn.relations.schema.names == list(RELATION_COLUMNS)
    for f in sdn.entries.schema:
        assert f.type == LIST_ENTRIES.arrow().field(f.name).type, f.name
    for f in sdn.relations.schema:
        assert f.type == LIST_RELATIONS.arrow().field(f.name).type, f.name
    assert sdn.format == "ofac_csv" and sdn.default_name == "ofac-sdn" and sdn.as_of is None
    assert sdn.files == [SDN, ALT, ADD]


def test_angara(sdn: LoadedList) -> None:
    e = _by_id(sdn)["37059"]
    assert e["schema"] == "Vessel" and e["name"] == "ANGARA"
    assert (e["imo"], e["imo_raw"], e["imo_valid"]) == (9179842, "IMO 9179842", True)
    assert e["programs"] == ["RUSSIA-EO14024"] and e["vessel_type"] == "Roll-on Roll-off"
    assert e["flag_iso2"] == "RU" and e["mmsis"] == [] and e["call_sign"] is None
    assert e["remarks"] == "Vessel Registration Identification IMO 9179842; Linked To: M LEASING LLC."
    raw_lines = SDN.read_bytes().decode("utf-8").split("\r\n")
    assert raw_lines[e["record_no"] - 1].startswith("37059,")
    assert e["source_id"] == hashlib.sha256(SDN.read_bytes()).hexdigest()[:16]
    assert _relations(sdn, "37059") == [("linked_to", "37065", "M LEASING LLC")]


def test_maia_1_gets_its_former_name_from_alt_csv(sdn: LoadedList) -> None:
    e = _by_id(sdn)["37098"]
    assert (e["name"], e["imo"], e["imo_valid"]) == ("MAIA-1", 9358010, True)
    assert "NEPTUN" in e["past_names"] and "NEPTUN" not in e["aliases"]
    assert _relations(sdn, "37098") == [("linked_to", "37049", "TRANSMORFLOT LLC")]


def test_maria(sdn: LoadedList) -> None:
    e = _by_id(sdn)["46773"]
    assert (e["name"], e["call_sign"], e["imo"], e["imo_valid"]) == ("MARIA", "UBRH7", 8517839, True)
    assert e["remarks"].startswith("Vessel Year of Build 1986;")
    assert _relations(sdn, "46773") == [("linked_to", "46768", "IBEX SHIPPING INC")]


def test_m_leasing_is_an_entity_with_a_company_imo(sdn: LoadedList) -> None:
    e = _by_id(sdn)["37065"]
    assert (e["schema"], e["name"]) == ("LegalEntity", "M LEASING LLC")
    # A company number is not checked with the ship check digit: valid stays unknown.
    assert (e["imo"], e["imo_raw"], e["imo_valid"]) == (6246853, "IMO 6246853", None)
    assert e["countries_iso2"] == ["RU"]  # from add.csv (Moscow, Russia)


def test_remark_details(sdn: LoadedList) -> None:
    entries = _by_id(sdn)
    artavil = entries["15036"]  # "Former Vessel Flag Malta; alt. ... Tuvalu; alt. ... None Identified; ..."
    assert artavil["past_flags_iso2"] == ["MT", "TV", "TZ"]
    assert artavil["mmsis"] == [572469210] and artavil["call_sign"] == "T2EU4"
    assert artavil["past_names"][0] == "ALPHA"  # f.k.a. in the 2024 remarks, then alt.csv's
    assert {"ABADAN", "SHONA"} <= set(artavil["past_names"])
    multi = entries["31300"]  # "UKRAINE-EO13661] [CYBER2] [ELECTION-EO13848"
    assert multi["programs"] == ["UKRAINE-EO13661", "CYBER2", "ELECTION-EO13848"]
    # A bare registration number is not taken for an IMO (BONU 5: "... 15411 (Malta)").
    assert entries["23424"]["imo"] is None and entries["23424"]["imo_raw"] is None


def test_owner_and_names_ending_in_a_period(sdn: LoadedList) -> None:
    # Vess_owner "Beratex Group Limited" resolves case-insensitively to the listed company.
    assert ("owner", "27194", "Beratex Group Limited") in _relations(sdn, "27200")
    # "Linked To: PETROLEOS DE VENEZUELA, S.A." - the final period is also the sentence end.
    assert _relations(sdn, "26623") == [("linked_to", "26367", "PETROLEOS DE VENEZUELA, S.A.")]
    # An owner written as an alias ("NITC") is kept but not resolved.
    assert ("owner", None, "NITC") in _relations(sdn, "15904")
    linked = sum(r[11].count("Linked To:") for r in _raw_rows(SDN))
    assert sum(r["relation"] == "linked_to" for r in sdn.relations.to_pylist()) == linked


def test_orphan_companion_rows_are_counted(sdn: LoadedList) -> None:
    ids = {r[0] for r in _raw_rows(SDN)}
    for path in (ALT, ADD):
        orphans = [r[0] for r in _raw_rows(path) if r[0] not in ids]
        expected = f"{path.name}: {len(orphans)} rows for {len(set(orphans))} ent_num not in the main file"
        assert any(n.startswith(expected) for n in sdn.notes), (expected, sdn.notes)


def test_sniff() -> None:
    loader = OfacCsvLoader()
    assert loader.sniff(SDN, SDN.read_bytes()[:16384])
    assert loader.sniff(ALT, ALT.read_bytes()[:16384])  # accepted so that load() can redirect
    assert not loader.sniff(Path("names.csv"), ALT.read_bytes()[:16384])
    assert not loader.sniff(Path("w.csv"), b"name,imo,mmsi,note\r\nX,9179842,,\r\n")
    assert not loader.sniff(SAMPLE_XML, SAMPLE_XML.read_bytes())
    assert not WatchlistCsvLoader().sniff(SDN, SDN.read_bytes()[:16384])


# --- bad CSV input -----------------------------------------------------------------------------


def _small_set(folder: Path, sdn_lines: list[str], alt_lines: list[str] | None = None,
               alt_name: str = "alt.csv") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "sdn.csv").write_bytes(("\r\n".join(sdn_lines) + "\r\n\x1a").encode())
    if alt_lines is not None:
        (folder / alt_name).write_bytes(("\r\n".join(alt_lines) + "\r\n\x1a").encode())
    return folder / "sdn.csv"


ROW_1 = ('1,"SHIP ONE","vessel","IRAN",-0- ,"ABC1","Tanker",-0- ,-0- ,"Panama",-0- ,'
         '"Vessel Registration Identification IMO 9179842; MMSI 123456789; Linked To: FIRM A."')
ROW_2 = '2,"FIRM A",-0- ,"IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- '


def test_a_row_with_a_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    lines = SDN.read_bytes().decode("utf-8").split("\r\n")
    lines[99] = lines[99].rsplit(",", 3)[0]  # line 100 loses its last three fields
    bad = tmp_path / "sdn.csv"
    bad.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(ListError, match=r"expected 12 comma-separated fields, found 9") as err:
        OfacCsvLoader().load(bad)
    assert err.value.line == 100 and err.value.path == str(bad)
    assert str(err.value).startswith(f"{bad}:100: ")


def test_a_file_cut_inside_a_quoted_field_is_an_error(tmp_path: Path) -> None:
    data = SDN.read_bytes()
    cut = data[: data.index(b"\r\n", 200_000) - 20]  # ends in the middle of a Remarks string
    bad = tmp_path / "sdn.csv"
    bad.write_bytes(cut)
    with pytest.raises(ListError, match="unexpected end of data") as err:
        OfacCsvLoader().load(bad)
    assert err.value.line == cut.count(b"\n") + 1


def test_companion_files_are_not_lists(tmp_path: Path) -> None:
    with pytest.raises(ListError, match=r"load sdn\.csv"):
        OfacCsvLoader().load(ALT)
    upper = tmp_path / "ADD.CSV"
    shutil.copyfile(ADD, upper)
    with pytest.raises(ListError, match=r"load sdn\.csv"):
        OfacCsvLoader().load(upper)


def test_small_set_with_upper_case_companion_and_orphans(tmp_path: Path) -> None:
    path = _small_set(tmp_path, [ROW_1, ROW_2],
                      ['1,10,"fka","OLD ONE",-0- ', '1,11,"aka","ALIAS ONE",-0- ', '7,12,"aka","NOBODY",-0- ',
                       '7,13,"aka","NOBODY 2",-0- '], alt_name="ALT.CSV")
    loaded = OfacCsvLoader().load(path)
    assert loaded.files == [path, tmp_path / "ALT.CSV"]
    one = _by_id(loaded)["1"]
    assert one["past_names"] == ["OLD ONE"] and one["aliases"] == ["ALIAS ONE"]
    assert (one["mmsis"], one["flag_iso2"], one["call_sign"]) == ([123456789], "PA", "ABC1")
    assert one["record_no"] == 1 and _by_id(loaded)["2"]["record_no"] == 2
    assert _relations(loaded, "1") == [("linked_to", "2", "FIRM A")]
    assert any(n.startswith("ALT.CSV: 2 rows for 1 ent_num not in the main file") for n in loaded.notes)


def test_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ListError, match="ent_num 'X2' is not an integer") as err:
        OfacCsvLoader().load(_small_set(tmp_path / "a", [ROW_1, "X" + ROW_2]))
    assert err.value.line == 2
    with pytest.raises(ListError, match="empty file"):
        OfacCsvLoader().load(_small_set(tmp_path / "b", []))
    dup = OfacCsvLoader().load(_small_set(tmp_path / "c", [ROW_1, ROW_2, ROW_2]))
    assert [(r.record_no, r.reason) for r in dup.rejected] == [(3, "duplicate_id")]
    assert dup.entries.num_rows == 2
    odd = ('3,"SHIP THREE","vessel","IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,"Atlantis",-0- ,'
           '"Former Vessel Flag None Identified; alt. Former Vessel Flag Malta; MMSI 12345."')
    loaded = OfacCsvLoader().load(_small_set(tmp_path / "d", [odd]))
    three = _by_id(loaded)["3"]
    assert (three["flag_iso2"], three["past_flags_iso2"], three["mmsis"]) == (None, ["MT"], [])
    assert loaded.notes == ["country/flag names not recognised, left empty: Atlantis (1)",
                            "1 MMSI values in remarks/ids are not 9 digits and were not used"]


# --- sdn.xml -----------------------------------------------------------------------------------


def test_xml_sample(sample: LoadedList) -> None:
    assert sample.format == "ofac_xml" and sample.default_name == "ofac-sdn"
    assert sample.as_of == dt.datetime(2024, 5, 3, tzinfo=dt.UTC)
    assert sample.notes == [] and sample.rejected == []
    entries = _by_id(sample)
    assert len(entries) == 6
    artavil = entries["15036"]
    assert (artavil["schema"], artavil["imo"], artavil["imo_valid"]) == ("Vessel", 9187629, True)
    assert artavil["mmsis"] == [572469210] and artavil["past_names"] == ["ABADAN", "SHONA", "ALPHA"]
    assert (artavil["flag_iso2"], artavil["past_flags_iso2"]) == ("IR", ["MT", "TV", "TZ"])
    assert "Vessel Registration Identification IMO 9187629" in artavil["remarks"]
    assert _relations(sample, "15036") == [("linked_to", "15117", "NATIONAL IRANIAN TANKER COMPANY")]
    assert _relations(sample, "37933") == [
        ("linked_to", "37924", "TRUONG PHAT LOC SHIPPING TRADING JOINT STOCK COMPANY"),
        ("owner", None, "Truong Phat Loc Shipping Trading"),
    ]
    person = entries["21171"]
    assert (person["schema"], person["name"]) == ("Person", "PRIGOZHIN, Yevgeniy Viktorovich")
    assert person["aliases"] == ["PRIGOZHIN, Evgeny"] and person["countries_iso2"] == ["RU"]
    company = entries["37924"]
    assert (company["imo"], company["imo_valid"], company["countries_iso2"]) == (5479491, None, ["VN"])


def test_xml_record_no_is_the_line_of_the_sdn_entry_tag(sample: LoadedList) -> None:
    lines = SAMPLE_XML.read_text(encoding="utf-8").splitlines()
    starts: dict[str, int] = {}
    for i, line in enumerate(lines):
        uid = re.search(r"<uid>(\d+)</uid>", lines[i + 1]) if line.strip() == "<sdnEntry>" else None
        if uid is not None:
            starts[uid.group(1)] = i + 1
    assert {k: v["record_no"] for k, v in _by_id(sample).items()} == starts


def test_xml_and_csv_agree_on_the_same_entries(sample: LoadedList, sdn: LoadedList) -> None:
    csv_entries = _by_id(sdn)
    for uid, x in _by_id(sample).items():
        c = csv_entries[uid]
        for col in ("schema", "name", "imo", "imo_raw", "imo_valid", "mmsis", "call_sign", "flag_iso2",
                    "past_flags_iso2", "vessel_type", "programs", "countries_iso2"):
            assert x[col] == c[col], (uid, col)
        assert set(x["past_names"]) <= set(c["past_names"]) and set(x["aliases"]) <= set(c["aliases"])


@pytest.mark.parametrize("root", ['<sdnList xmlns="http://tempuri.org/sdnList.xsd">', "<sdnList>",
                                  '<o:sdnList xmlns:o="urn:x">'])
def test_xml_any_namespace(tmp_path: Path, sample: LoadedList, root: str) -> None:
    text = SAMPLE_XML.read_text(encoding="utf-8")
    text = re.sub(r"<sdnList [^>]*>", root, text)
    if root.startswith("<o:"):
        text = text.replace("</sdnList>", "</o:sdnList>")
    other = tmp_path / "sdn.xml"
    other.write_text(text, encoding="utf-8")
    assert OfacXmlLoader().sniff(other, text.encode()[:16384])
    loaded = OfacXmlLoader().load(other)
    drop = ["source_id"]
    assert loaded.entries.drop_columns(drop).equals(sample.entries.drop_columns(drop))
    assert loaded.as_of == sample.as_of


def _xml(body: str) -> str:
    return ('<?xml version="1.0"?>\n<sdnList xmlns="http://tempuri.org/sdnList.xsd">\n'
            "<publshInformation><Publish_Date>12/19/2018</Publish_Date>"
            "<Record_Count>2</Record_Count></publshInformation>\n" + body + "</sdnList>\n")


ENTRY = "<sdnEntry>\n<uid>{uid}</uid><lastName>{name}</lastName><sdnType>Entity</sdnType>\n</sdnEntry>\n"


def test_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "sdn.xml"
    bad.write_text(_xml(ENTRY.format(uid=1, name="A") + "<sdnEntry>\n<uid>2</uid><lastName>B</lastNam>\n"))
    with pytest.raises(ListError, match="malformed XML: mismatched tag") as err:
        OfacXmlLoader().load(bad)
    assert err.value.line == 8  # declaration, root, publshInformation, 1st entry (3 lines), <sdnEntry>, here
    (tmp_path / "empty.xml").write_bytes(b"")
    with pytest.raises(ListError, match="malformed XML"):
        OfacXmlLoader().load(tmp_path / "empty.xml")


def test_xml_wrong_root_and_entities_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "un.xml"
    other.write_text('<?xml version="1.0"?>\n\n<CONSOLIDATED_LIST/>\n')
    with pytest.raises(ListError, match="root element <CONSOLIDATED_LIST>") as err:
        OfacXmlLoader().load(other)
    assert err.value.line == 3
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE sdnList [<!ENTITY a "aaaaaaaaaa">]>\n<sdnList>&a;</sdnList>')
    with pytest.raises(ListError, match="entity declarations"):
        OfacXmlLoader().load(bomb)


def test_xml_rejects_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    body = ENTRY.format(uid=1, name="A") + ENTRY.format(uid=1, name="B") + ENTRY.format(uid=2, name="")
    path.write_text(_xml(body).replace("12/19/2018", "2018-12-19"))
    loaded = OfacXmlLoader().load(path)
    assert [(r.record_no, r.reason) for r in loaded.rejected] == [(7, "duplicate_id"), (10, "no_name")]
    assert loaded.as_of is None
    assert any("Publish_Date '2018-12-19'" in n for n in loaded.notes)
    assert any("Record_Count says 2 entries, the file has 3" in n for n in loaded.notes)
    assert loaded.entries.column("name").to_pylist() == ["A"]
    assert isinstance(loaded.relations, pa.Table) and loaded.relations.num_rows == 0
