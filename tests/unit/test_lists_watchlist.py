"""Unit tests of the analyst watchlist CSV loader (files written to tmp_path)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.screening.lists.base import ENTRY_COLUMNS, ListError, LoadedList
from sanctionwatch.screening.lists.watchlist import WatchlistCsvLoader


def _load(tmp_path: Path, text: str, name: str = "my-ships.csv", encoding: str = "utf-8") -> LoadedList:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return WatchlistCsvLoader().load(path)


def _rows(loaded: LoadedList) -> list[dict[str, Any]]:
    return loaded.entries.to_pylist()


def test_core_columns(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name,imo,mmsi,note\r\nANGARA,9179842,273000001,seen off Syria\r\nMARIA,IMO 8517839,,\r\n")
    path = tmp_path / "my-ships.csv"
    assert loaded.format == "watchlist_csv" and loaded.default_name == "my-ships"
    assert loaded.files == [path] and loaded.as_of is None
    assert loaded.entries.schema.names == list(ENTRY_COLUMNS)
    angara, maria = _rows(loaded)
    assert angara["entry_id"] == "row-2" and angara["schema"] == "Vessel" and angara["name"] == "ANGARA"
    assert (angara["imo"], angara["imo_raw"], angara["imo_valid"]) == (9179842, "9179842", True)
    assert angara["mmsis"] == [273000001] and angara["remarks"] == "seen off Syria"
    assert angara["source_id"] == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert angara["record_no"] == 2
    assert (maria["entry_id"], maria["imo"], maria["imo_raw"], maria["remarks"]) == ("row-3", 8517839, "IMO 8517839",
                                                                                    None)
    assert maria["mmsis"] == [] and loaded.rejected == [] and loaded.notes == []


def test_optional_columns_aliases_and_owner(tmp_path: Path) -> None:
    text = ("id,name,imo,mmsi,call_sign,flag,aliases,former_names,schema,owner,listed_on,note\n"
            "v1,MAIA-1,9358010,,ubrh7,Russia,MAIA; MAIA 1,NEPTUN;  OLD NEPTUN ,,Transmorflot LLC,2024-06-25,\n"
            "c1,TRANSMORFLOT LLC,,,,,,,company,,,owner of the fleet\n"
            "v2,LADY R,9161003,,,RU,,,Vessel,Someone Else,2024-06-25T12:00:00+02:00,\n")
    loaded = _load(tmp_path, text)
    maia, firm, lady = _rows(loaded)
    assert maia["entry_id"] == "v1" and maia["aliases"] == ["MAIA", "MAIA 1"]
    assert maia["past_names"] == ["NEPTUN", "OLD NEPTUN"]
    assert (maia["call_sign"], maia["flag_iso2"]) == ("UBRH7", "RU")
    assert maia["listed_on_utc"] == dt.datetime(2024, 6, 25, tzinfo=dt.UTC)
    assert lady["listed_on_utc"] == dt.datetime(2024, 6, 25, 10, tzinfo=dt.UTC) and lady["flag_iso2"] == "RU"
    assert (firm["schema"], firm["imo"], firm["remarks"]) == ("Company", None, "owner of the fleet")
    relations = loaded.relations.to_pylist()
    assert [(r["subject_id"], r["relation"], r["object_id"], r["object_name"], r["record_no"]) for r in relations] == [
        ("v1", "owner", "c1", "Transmorflot LLC", 2),
        ("v2", "owner", None, "Someone Else", 4),
    ]


def test_header_is_case_and_space_insensitive_and_unknown_columns_are_noted(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "\ufeff Name , IMO ,Colour\nANGARA,9179842,red\n")
    assert _rows(loaded)[0]["name"] == "ANGARA" and _rows(loaded)[0]["imo"] == 9179842
    assert loaded.notes == ["columns not used: colour"]


def test_bad_imo_check_digit_is_kept_and_flagged(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name,imo\nTYPO,9179843\nSHORT,917984\n")
    typo, short = _rows(loaded)
    assert (typo["imo"], typo["imo_valid"]) == (9179843, False)
    assert (short["imo"], short["imo_raw"], short["imo_valid"]) == (None, "917984", False)
    assert loaded.rejected == []


def test_name_from_imo_or_mmsi_when_missing(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name,imo,mmsi\n,9179842,\n,,273000001\n")
    assert [r["name"] for r in _rows(loaded)] == ["IMO 9179842", "MMSI 273000001"]


def test_empty_and_blank_rows(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name,imo,mmsi,note\nANGARA,9179842,,\n,,,only a note\n\n,,,\nMARIA,8517839,,\n")
    assert [r["name"] for r in _rows(loaded)] == ["ANGARA", "MARIA"]
    assert [(r.record_no, r.reason, r.detail) for r in loaded.rejected] == [(3, "empty_row", "no name, imo or mmsi")]
    assert loaded.rejected[0].source_id == _rows(loaded)[0]["source_id"]
    assert loaded.notes == ["2 blank line(s) skipped"]
    assert _rows(loaded)[1]["record_no"] == 6


def test_bad_mmsi_rejects_the_row(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name,mmsi\nGOOD,273000001; 273000002\nBAD,27300001\nWORSE,ABCDEFGHI\n")
    assert [r["name"] for r in _rows(loaded)] == ["GOOD"]
    assert _rows(loaded)[0]["mmsis"] == [273000001, 273000002]
    assert [(r.record_no, r.reason) for r in loaded.rejected] == [(3, "bad_mmsi"), (4, "bad_mmsi")]
    assert "'27300001' is not 9 digits" in loaded.rejected[0].detail


def test_other_rejections_and_notes(tmp_path: Path) -> None:
    text = ("id,name,imo,schema,flag,listed_on\n"
            "a,ONE,9179842,,Atlantis,\n"
            "a,TWO,8517839,,,\n"
            "b,THREE,,Spaceship,,\n"
            "c,FOUR,,,,25/06/2024\n"
            "d,FIVE,9358010,,,,extra\n")
    loaded = _load(tmp_path, text)
    assert [r["name"] for r in _rows(loaded)] == ["ONE", "FOUR"]
    assert _rows(loaded)[0]["flag_iso2"] is None and _rows(loaded)[1]["listed_on_utc"] is None
    assert [(r.record_no, r.reason) for r in loaded.rejected] == [
        (3, "duplicate_id"), (4, "bad_schema"), (6, "bad_column_count")]
    assert "line 2: flag 'Atlantis' is not a country name or ISO code; left empty" in loaded.notes
    assert any(n.startswith("line 5: listed_on '25/06/2024'") for n in loaded.notes)


def test_quoted_comma_and_multi_line_note(tmp_path: Path) -> None:
    text = 'name,imo,note\n"SHIP, THE",9179842,"line one\nline two"\nNEXT,8517839,\n'
    loaded = _load(tmp_path, text)
    first, nxt = _rows(loaded)
    assert first["name"] == "SHIP, THE" and first["remarks"] == "line one\nline two"
    assert (first["record_no"], nxt["record_no"], nxt["entry_id"]) == (2, 4, "row-4")


@pytest.mark.parametrize("header", ["vessel,number,remark", "", "note,id"])
def test_bad_header_is_an_error_on_line_1(tmp_path: Path, header: str) -> None:
    with pytest.raises(ListError, match="header needs a 'name', 'imo' or 'mmsi' column") as err:
        _load(tmp_path, header + "\nANGARA,9179842,x\n")
    assert err.value.line == 1


def test_duplicate_header_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ListError, match="named twice in the header: name") as err:
        _load(tmp_path, "name,imo,Name\nA,9179842,B\n")
    assert err.value.line == 1
    with pytest.raises(ListError, match="not UTF-8") as err:
        _load(tmp_path, "name,imo\nA,9179842\nSÖDERHAMN,8517839\n", encoding="latin-1")
    assert err.value.line == 3


def test_sniff() -> None:
    loader = WatchlistCsvLoader()
    assert loader.sniff(Path("w.csv"), b"name,imo,mmsi,note\nX,1,2,3\n")
    assert loader.sniff(Path("w.csv"), b"\xef\xbb\xbf Name ,MMSI\n")
    assert not loader.sniff(Path("w.csv"), b"name,note\nX,y\n")
    assert not loader.sniff(Path("w.csv"), b"imo,mmsi\n1,2\n")  # loadable, but too generic to claim
    assert not loader.sniff(Path("w.xml"), b'<?xml version="1.0"?><sdnList/>')
