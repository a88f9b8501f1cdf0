"""Country and flag names as lists write them -> ISO 3166-1 alpha-2.

Lists spell countries freely ("Russia", "Korea, North", "Democratic People's Republic of Korea",
"Iran (Islamic Republic of)"). The table is built from reference data the package already
ships: the ITU MID table (every flag administration, ITU's names) and Natural Earth's country
names (short, long, formal and sovereign forms), plus the handful of list spellings below that
neither holds. Unknown names give None, never a guess.
"""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from importlib import resources

from anyascii import anyascii

__all__ = ["country_iso2", "country_table"]

# Spellings seen in OFAC, EU, UN and OpenSanctions data that the reference tables lack.
_EXTRA = {
    "NORTH KOREA": "KP", "KOREA NORTH": "KP", "DPRK": "KP", "KOREA DPR": "KP",
    "DEMOCRATIC PEOPLES REPUBLIC OF KOREA": "KP", "KOREA DEMOCRATIC PEOPLES REPUBLIC OF": "KP",
    "SOUTH KOREA": "KR", "KOREA SOUTH": "KR", "REPUBLIC OF KOREA": "KR", "KOREA REPUBLIC OF": "KR",
    "RUSSIA": "RU", "RUSSIAN FEDERATION": "RU", "IRAN": "IR", "IRAN ISLAMIC REPUBLIC OF": "IR",
    "SYRIA": "SY", "SYRIAN ARAB REPUBLIC": "SY", "VENEZUELA": "VE", "BOLIVIA": "BO",
    "TANZANIA": "TZ", "VIETNAM": "VN", "VIET NAM": "VN", "LAOS": "LA", "MOLDOVA": "MD",
    "UNITED STATES": "US", "USA": "US", "UNITED KINGDOM": "GB", "UK": "GB", "BURMA": "MM",
    "HONG KONG": "HK", "MACAU": "MO", "MACAO": "MO", "TAIWAN": "TW", "CONGO": "CG",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "CD", "CONGO DEMOCRATIC REPUBLIC OF THE": "CD",
    "COTE D IVOIRE": "CI", "IVORY COAST": "CI", "ST KITTS AND NEVIS": "KN", "SAINT KITTS AND NEVIS": "KN",
    "ST VINCENT AND THE GRENADINES": "VC", "SAINT VINCENT AND THE GRENADINES": "VC",
    "MARSHALL ISLANDS": "MH", "COMOROS": "KM", "TUVALU": "TV", "PALAU": "PW", "TOGO": "TG",
    "SIERRA LEONE": "SL", "CAMEROON": "CM", "GABON": "GA", "PANAMA": "PA", "MONGOLIA": "MN",
    "BELIZE": "BZ", "COOK ISLANDS": "CK", "SAO TOME AND PRINCIPE": "ST", "VANUATU": "VU",
    "MALTA": "MT", "LIBERIA": "LR", "BAHAMAS": "BS", "BARBADOS": "BB", "DOMINICA": "DM",
    "ANTIGUA AND BARBUDA": "AG", "EQUATORIAL GUINEA": "GQ", "GAMBIA": "GM", "GUINEA BISSAU": "GW",
    "EAST TIMOR": "TL", "TIMOR LESTE": "TL", "ESWATINI": "SZ", "SWAZILAND": "SZ",
    "UNITED ARAB EMIRATES": "AE", "UAE": "AE", "TURKEY": "TR", "TURKIYE": "TR", "CZECHIA": "CZ",
    "NORTH MACEDONIA": "MK", "SERBIA": "RS", "KOSOVO": "XK", "PALESTINE": "PS", "UNKNOWN": "",
    "CHINA HONG KONG SPECIAL ADMINISTRATIVE REGION": "HK", "HONG KONG SAR": "HK", "MACAO SAR": "MO",
    "CAYMAN ISLANDS": "KY", "GIBRALTAR": "GI", "JERSEY": "JE", "GUERNSEY": "GG", "BERMUDA": "BM",
    "ARUBA": "AW", "MAN ISLE OF": "IM", "ISLE OF MAN": "IM", "WEST BANK": "PS", "GAZA STRIP": "PS",
    "NETHERLANDS ANTILLES": "AN",  # ISO code withdrawn in 2010; kept because old list entries use it
    "BRITISH VIRGIN ISLANDS": "VG", "VIRGIN ISLANDS BRITISH": "VG", "VIRGIN ISLANDS US": "VI",
}

# Parenthesised qualifiers ITU adds: "Cyprus (Republic of)" -> "CYPRUS".
_PAREN = re.compile(r"\s*\([^)]*\)")


def _key(name: str) -> str:
    """Upper case, '&' as AND, punctuation to spaces, 'THE' dropped: 'Bahamas, The' = 'BAHAMAS'."""
    up = anyascii(name).upper().replace("&", " AND ").replace("'", "")  # "Türkiye" -> "TURKIYE"
    return " ".join(w for w in re.sub(r"[^A-Z0-9]+", " ", up).split() if w != "THE")


@lru_cache(maxsize=1)
def country_table() -> dict[str, str]:
    """Normalised country name -> ISO 3166-1 alpha-2."""
    table: dict[str, str] = {}
    data = resources.files("sanctionwatch.data")
    with data.joinpath("mid.csv").open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            iso2, country = row["iso2"], row["country"]
            if not iso2:
                continue
            for form in (country, _PAREN.sub("", country), country.split(" - ")[0]):
                table.setdefault(_key(form), iso2)
            m = re.search(r"\(([^)]*)\)", country)
            if m:  # "Korea (Democratic People's Republic of)" -> "DEMOCRATIC PEOPLES REPUBLIC OF KOREA"
                inner = m.group(1)
                base = _PAREN.sub("", country)
                table.setdefault(_key(f"{inner} {base}"), iso2)
    with data.joinpath("basemap", "ne_110m_admin_0_countries.json").open(encoding="utf-8") as fh:
        for feat in json.load(fh)["features"]:
            p = feat["properties"]
            iso2 = p.get("ISO_A2") if p.get("ISO_A2") not in (None, "-99") else p.get("ISO_A2_EH")
            if not iso2 or iso2 == "-99":
                continue
            for col in ("NAME", "NAME_LONG", "ADMIN", "FORMAL_EN"):
                if p.get(col):
                    table.setdefault(_key(p[col]), iso2)
    for name, iso2 in _EXTRA.items():
        table[_key(name)] = iso2
    for iso2 in set(table.values()):
        if iso2:
            table.setdefault(iso2, iso2)  # already a code
    return table


def country_iso2(name: str | None) -> str | None:
    """ISO alpha-2 code for a country or flag name, or None when unknown or empty."""
    if name is None:
        return None
    key = _key(name)
    if not key:
        return None
    code = country_table().get(key)
    return code or None
