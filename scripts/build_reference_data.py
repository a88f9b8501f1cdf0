"""Rebuild the packaged reference data from the raw public files in ``../shared/data``.

Maintenance tool, not imported by the library. Run from the repository root::

    python scripts/build_reference_data.py [--shared ../shared/data]

It writes ``data/ports/wpi_ports.csv`` (from NGA World Port Index Pub. 150) and the minified
Natural Earth files in ``data/basemap/``. ``data/mid.csv`` and ``data/areas/watched_areas.geojson``
are curated by hand (see ``data/ATTRIBUTION.md``). Output is deterministic: the same inputs give
byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "src" / "sanctionwatch" / "data"

# Number of WPI rows in Pub. 150 as shipped in ../shared/data (SOURCES.md); checked so a changed
# input is noticed rather than silently packaged.
WPI_EXPECTED_ROWS = 3803
# 6 decimals of a degree is ~0.1 m: more than WPI's own precision (most ports are given to 1').
WPI_COORD_DECIMALS = 6
# 5 decimals of a degree is ~1.1 m, far below Natural Earth 1:50m generalisation (~1 km).
NE_COORD_DECIMALS = 5
UNLOCODE_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}$")

# WPI "Country Code" (really a country name) -> ISO 3166-1 alpha-2, for names that do not match a
# Natural Earth admin-0 name (NAME / NAME_LONG / ADMIN / FORMAL_EN / GEOUNIT / SUBUNIT) mechanically,
# or where Natural Earth has no ISO_A2 (France and Norway are "-99" there).
WPI_COUNTRY_ISO2_OVERRIDES: dict[str, str] = {
    "Burma": "MM",
    "Caribbean Netherlands": "BQ",
    "Christmas Island": "CX",
    "Congo (Brazzaville)": "CG",
    "Congo (Kinshasa)": "CD",
    "Cote D'Ivoire": "CI",
    "Curacao": "CW",
    "Falkland Islands (Islas Malvinas)": "FK",
    "France": "FR",
    "French Guiana": "GF",
    "Gibraltar": "GI",
    "Guadeloupe": "GP",
    "Johnson Atoll": "UM",
    "Macau": "MO",
    "Martinique": "MQ",
    "Midway Islands": "UM",
    "Norway": "NO",
    "Reunion": "RE",
    "Saint Helena, Ascension, and Tristan da Cunha": "SH",
    "Saint Vincent and the Grenadines (Windward Islands)": "VC",
    "South Georgia and South Sandwich Islands": "GS",
    "Svalbard": "SJ",
    "Tuvalu": "TV",
    "U.S. Virgin Islands": "VI",
    "Wake Island": "UM",
}

# Ports whose UN/LOCODE country prefix differs from their WPI country, all checked by hand: the
# LOCODE is kept as WPI gives it (e.g. Gustavia is in Saint-Barthelemy, BL, which WPI files under
# Guadeloupe; Laayoune's LOCODE is Moroccan). Anything else that disagrees stops the build.
WPI_LOCODE_PREFIX_EXCEPTIONS: frozenset[str] = frozenset(
    {"JBHBI", "COAMB", "BLGUS", "RULED", "MAEUN", "GCCOG", "BSCBT", "GBTOB", "BRSAA"}
)

NE_ADMIN0_KEEP = (
    "featurecla", "scalerank", "TYPE", "ADMIN", "ADM0_A3", "SOVEREIGNT", "NAME", "NAME_LONG",
    "FORMAL_EN", "ISO_A2", "ISO_A2_EH", "ISO_A3", "ISO_A3_EH", "ISO_N3", "CONTINENT", "REGION_UN",
    "SUBREGION", "MAPCOLOR7",
)  # fmt: skip
BASEMAP_FILES = (
    "ne_50m_land.json",
    "ne_50m_coastline.json",
    "ne_110m_land.json",
    "ne_110m_admin_0_countries.json",
)


def _blank_to_empty(value: str) -> str:
    # WPI writes a missing text field as a single space.
    return value.strip()


def _wpi_number(raw: str) -> str:
    value = float(raw)
    return str(int(value)) if value.is_integer() else repr(value)


def _ne_country_names(admin0_path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    with admin0_path.open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    for feature in features:
        props = feature["properties"]
        iso2 = props.get("ISO_A2")
        if not iso2 or iso2 == "-99":
            continue
        for key in ("NAME", "NAME_LONG", "ADMIN", "FORMAL_EN", "GEOUNIT", "SUBUNIT"):
            if props.get(key):
                names.setdefault(props[key].lower(), iso2)
    return names


def build_wpi(shared: Path) -> list[dict[str, Any]]:
    src = shared / "ports" / "nga_world_port_index_pub150.csv"
    ne_names = _ne_country_names(shared / "basemap" / "ne_50m_admin_0_countries.json")
    with src.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != WPI_EXPECTED_ROWS:
        raise SystemExit(f"{src}: expected {WPI_EXPECTED_ROWS} rows, found {len(rows)}")

    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    unmapped: set[str] = set()
    for row in rows:
        number = _wpi_number(row["World Port Index Number"])
        # Pub. 150 repeats two index numbers (400 Seydisfjordur, 49460 Machilipatnam); later
        # duplicates get a suffix so port_id stays unique.
        seen[number] = seen.get(number, 0) + 1
        port_id = f"wpi-{number}" if seen[number] == 1 else f"wpi-{number}-{seen[number]}"
        country = row["Country Code"].strip()
        iso2 = WPI_COUNTRY_ISO2_OVERRIDES.get(country) or ne_names.get(country.lower())
        if not iso2:
            unmapped.add(country)
        locode = re.sub(r"\s+", "", row["UN/LOCODE"]).upper()
        if locode and not UNLOCODE_RE.match(locode):
            locode = ""  # a bare country prefix ("LB") or a damaged value ('GB ME""')
        if locode and iso2 and locode[:2] != iso2 and locode not in WPI_LOCODE_PREFIX_EXCEPTIONS:
            raise SystemExit(f"{src}: {port_id} LOCODE {locode} disagrees with {country} ({iso2})")
        out.append(
            {
                "port_id": port_id,
                "name": _blank_to_empty(row["Main Port Name"]),
                "alternate_name": _blank_to_empty(row["Alternate Port Name"]),
                "unlocode": locode,
                "country": country,
                "country_iso2": iso2 or "",
                "lat_deg": round(float(row["Latitude"]), WPI_COORD_DECIMALS),
                "lon_deg": round(float(row["Longitude"]), WPI_COORD_DECIMALS),
                "harbor_size": _blank_to_empty(row["Harbor Size"]),
                "harbor_type": _blank_to_empty(row["Harbor Type"]),
                "water_body": _blank_to_empty(row["World Water Body"]),
            }
        )
    if unmapped:
        raise SystemExit(f"{src}: no ISO alpha-2 for countries {sorted(unmapped)}")
    return out


def write_wpi(rows: list[dict[str, Any]], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _round_coords(coords: Any, ndigits: int) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [round(c, ndigits) for c in coords]
    return [_round_coords(c, ndigits) for c in coords]


def _snap_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """Snap to a 10**-NE_COORD_DECIMALS degree grid, keeping the geometry valid.

    ``shapely.set_precision`` removes vertices and rings that snapping collapses and repairs
    self-intersections (two Natural Earth 110m source geometries are invalid: Sudan and a ring in
    ne_110m_land), so every packaged geometry passes ``shapely.is_valid``.
    """
    import shapely
    from shapely.geometry import mapping, shape

    snapped = shapely.set_precision(shape(geometry), 10.0**-NE_COORD_DECIMALS)
    if not shapely.is_valid(snapped):
        snapped = shapely.make_valid(snapped)
    out = mapping(snapped)
    # Grid values are exact decimals; rounding again only drops float noise like 42.220009999999995.
    return {
        "type": out["type"],
        "coordinates": _round_coords(_to_lists(out["coordinates"]), NE_COORD_DECIMALS),
    }


def _to_lists(coords: Any) -> Any:
    if isinstance(coords, (tuple, list)) and coords and isinstance(coords[0], (int, float)):
        return list(coords)
    return [_to_lists(c) for c in coords]


def minify_geojson(src: Path, dest: Path, keep_props: tuple[str, ...] | None = None) -> None:
    with src.open(encoding="utf-8") as fh:
        data = json.load(fh)
    features = []
    for feature in data["features"]:
        props = feature["properties"]
        if keep_props is not None:
            props = {k: props.get(k) for k in keep_props}
        features.append(
            {"type": "Feature", "properties": props, "geometry": _snap_geometry(feature["geometry"])}
        )
    out = {"type": "FeatureCollection", "features": features}
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DATA_DIR.parents[2].parent / "shared" / "data")
    args = parser.parse_args(argv)
    shared: Path = args.shared
    write_wpi(build_wpi(shared), DATA_DIR / "ports" / "wpi_ports.csv")
    for name in BASEMAP_FILES:
        keep = NE_ADMIN0_KEEP if "admin_0" in name else None
        minify_geojson(shared / "basemap" / name, DATA_DIR / "basemap" / name, keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
