"""Geometry helpers (haversine, bearing, land mask, distance to coast, watched areas) and the
reference data packaged for them (WPI ports, Natural Earth basemap, watched areas)."""

from __future__ import annotations

import csv
import json
import re
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml
from pyproj import Geod
from shapely.geometry import shape

from sanctionwatch import geo
from sanctionwatch.geo import (
    AreaFileError,
    default_areas,
    haversine_m,
    initial_bearing_deg,
    land_mask,
    load_areas,
    wrap_lon_deg,
)
from tests.conftest import shared_file

WGS84 = Geod(ellps="WGS84")
DATA = resources.files("sanctionwatch.data")

# Places used below (WGS84 degrees). Water/land status is that of the 1:50m mask, checked by hand.
RAJIN_APPROACH = (42.20, 130.34)  # sea just south-east of Rajin port, ~2.5 km off the 1:50m coast
PYONGYANG = (39.03, 125.75)
SEA_OF_JAPAN = (40.0, 134.0)
MID_ATLANTIC = (30.0, -40.0)
MOSCOW = (55.75, 37.62)
VLADIVOSTOK = (43.105, 131.885)
BUSAN = (35.10, 129.04)
NAMPO = (38.73, 125.40)


@pytest.fixture(scope="module")
def mask() -> geo.LandMask:
    return land_mask()


# --------------------------------------------------------------------------------------------------
# Great-circle helpers
# --------------------------------------------------------------------------------------------------


def _random_pairs(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lat1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lat2 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return lat1, rng.uniform(-180, 180, n), lat2, rng.uniform(-180, 180, n)


def test_haversine_agrees_with_wgs84_geodesic():
    lat1, lon1, lat2, lon2 = _random_pairs(5000, seed=1)
    _, _, ref = WGS84.inv(lon1, lat1, lon2, lat2)
    rel = np.abs(haversine_m(lat1, lon1, lat2, lon2) - ref) / ref
    # The sphere's worst case is 0.56 % (short north-south legs at the equator, where the meridian
    # is flattest); 99 % of random pairs are within 0.5 %.
    assert np.percentile(rel, 99) < 0.005
    assert rel.max() < 0.0057


def test_haversine_short_legs_and_bearing_agree_with_geodesic():
    rng = np.random.default_rng(2)
    n = 5000
    lat1 = rng.uniform(-80, 80, n)
    lon1 = rng.uniform(-180, 180, n)
    azimuth = rng.uniform(0, 360, n)
    dist = rng.uniform(50, 50_000, n)
    lon2, lat2, _ = WGS84.fwd(lon1, lat1, azimuth, dist)
    rel = np.abs(haversine_m(lat1, lon1, lat2, lon2) - dist) / dist
    assert rel.max() < 0.0057
    diff = np.abs((initial_bearing_deg(lat1, lon1, lat2, lon2) - azimuth + 180) % 360 - 180)
    assert diff.max() < 0.25


def test_haversine_scalars_and_broadcasting():
    d = haversine_m(0.0, 0.0, 0.0, 1.0)
    assert isinstance(d, float)
    assert d == pytest.approx(2 * np.pi * geo.EARTH_RADIUS_M / 360)
    assert haversine_m(10, 20, 10, 20) == 0.0
    assert haversine_m(0, 0, 0, 180) == pytest.approx(np.pi * geo.EARTH_RADIUS_M)
    out = haversine_m(np.zeros((2, 3)), 0.0, 1.0, np.arange(3))
    assert out.shape == (2, 3)
    assert np.isnan(haversine_m(np.nan, 0, 0, 0))


def test_bearings_cardinal_and_range():
    assert initial_bearing_deg(0, 0, 1, 0) == pytest.approx(0.0)
    assert initial_bearing_deg(0, 0, 0, 1) == pytest.approx(90.0)
    assert initial_bearing_deg(0, 0, -1, 0) == pytest.approx(180.0)
    assert initial_bearing_deg(0, 0, 0, -1) == pytest.approx(270.0)
    assert initial_bearing_deg(5, 5, 5, 5) == 0.0
    lat1, lon1, lat2, lon2 = _random_pairs(1000, seed=3)
    b = initial_bearing_deg(lat1, lon1, lat2, lon2)
    assert ((b >= 0) & (b < 360)).all()


def test_antimeridian_distance_and_bearing():
    # 0.2 degrees of longitude across the date line, not the long way round.
    d = haversine_m(0.0, 179.9, 0.0, -179.9)
    assert d == pytest.approx(haversine_m(0.0, 0.0, 0.0, 0.2))
    assert d < 23_000
    assert initial_bearing_deg(0.0, 179.9, 0.0, -179.9) == pytest.approx(90.0)
    assert initial_bearing_deg(0.0, -179.9, 0.0, 179.9) == pytest.approx(270.0)
    assert wrap_lon_deg(180.0) == -180.0
    assert wrap_lon_deg(190.0) == pytest.approx(-170.0)
    assert list(wrap_lon_deg(np.array([-180.0, 179.5, 540.0]))) == [-180.0, 179.5, -180.0]


# --------------------------------------------------------------------------------------------------
# Land mask
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "land"),
    [
        (RAJIN_APPROACH, False),
        (PYONGYANG, True),
        (SEA_OF_JAPAN, False),
        (MID_ATLANTIC, False),
        (MOSCOW, True),
        ((-80.0, 0.0), True),  # Antarctica
        ((89.9, 0.0), False),  # Arctic Ocean
        ((41.0, 51.0), False),  # Caspian Sea is not land
    ],
)
def test_land_mask_points(mask, point, land):
    assert mask.contains(*point) is land


def test_land_mask_vectorised_shapes_and_invalid_points(mask):
    lats = np.array([[PYONGYANG[0], SEA_OF_JAPAN[0]], [np.nan, 91.0]])
    lons = np.array([[PYONGYANG[1], SEA_OF_JAPAN[1]], [0.0, 0.0]])
    got = mask.contains(lats, lons)
    assert got.shape == (2, 2)
    assert got.tolist() == [[True, False], [False, False]]
    assert mask.contains([], []).shape == (0,)


def test_land_mask_antimeridian(mask):
    lats = np.arange(-89.5, 90, 0.5)
    assert (mask.contains(lats, 180.0) == mask.contains(lats, -180.0)).all()
    assert (mask.contains(lats, 190.0) == mask.contains(lats, -170.0)).all()
    # Wrangel Island straddles the date line: land on both sides, sea around it.
    assert mask.contains(71.2, 179.5) and mask.contains(71.2, -179.5)
    assert not mask.contains(72.5, 180.0)


def test_land_mask_million_points_in_a_few_seconds(mask):
    rng = np.random.default_rng(4)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 1_000_000)))
    lon = rng.uniform(-180, 180, 1_000_000)
    t0 = time.perf_counter()
    land = mask.contains(lat, lon)
    elapsed = time.perf_counter() - t0
    # ~29 % of the Earth's surface is land (Natural Earth land incl. Antarctica).
    assert 0.27 < land.mean() < 0.31
    assert elapsed < 5.0, f"1M points took {elapsed:.1f} s"


def test_crosses_land(mask):
    # The straight great circle Vladivostok -> Busan stays in the Sea of Japan until its last
    # ~125 km, where it cuts across the south-east corner of Korea (Ulsan/Busan).
    assert mask.crosses_land(*VLADIVOSTOK, *BUSAN)
    assert not mask.crosses_land(*VLADIVOSTOK, *BUSAN, endpoint_buffer_m=150_000)
    assert mask.crosses_land(*VLADIVOSTOK, *NAMPO)  # straight over North Korea
    assert not mask.crosses_land(*RAJIN_APPROACH, 42.6, 133.0)  # a sea leg to Vostochny's approach
    assert not mask.crosses_land(*SEA_OF_JAPAN, *SEA_OF_JAPAN)  # zero-length leg


def test_crosses_land_vectorised_and_antimeridian(mask):
    lat1 = np.array([71.2, 0.0, np.nan, VLADIVOSTOK[0]])
    lon1 = np.array([177.0, 179.5, 0.0, VLADIVOSTOK[1]])
    lat2 = np.array([71.2, 0.0, 0.0, NAMPO[0]])
    lon2 = np.array([-176.0, -179.5, 0.0, NAMPO[1]])
    got = mask.crosses_land(lat1, lon1, lat2, lon2)
    # Over Wrangel Island across the date line; open Pacific across it; NaN leg; over Korea.
    assert got.tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="step_m"):
        mask.crosses_land(0, 0, 1, 1, step_m=0)


def test_distance_to_coast(mask):
    d = mask.distance_to_coast_m(
        [RAJIN_APPROACH[0], MID_ATLANTIC[0], PYONGYANG[0], np.nan],
        [RAJIN_APPROACH[1], MID_ATLANTIC[1], PYONGYANG[1], 0.0],
    )
    assert 1_000 < d[0] < 5_000
    assert d[1] > 1_000_000
    assert 20_000 < d[2] < 60_000  # inland: distance to the coast from the land side
    assert np.isnan(d[3])
    capped = mask.distance_to_coast_m(
        [RAJIN_APPROACH[0], MID_ATLANTIC[0]], [RAJIN_APPROACH[1], MID_ATLANTIC[1]], 50_000
    )
    assert capped[0] == pytest.approx(d[0])
    assert np.isinf(capped[1])
    assert isinstance(mask.distance_to_coast_m(*SEA_OF_JAPAN), float)


def test_distance_to_coast_against_brute_force(mask):
    # Reference: great-circle distance to the coastline densified to ~100 m steps, near Korea.
    data = json.loads(DATA.joinpath(geo.COASTLINE_FILE).read_text(encoding="utf-8"))
    lines = [shape(f["geometry"]) for f in data["features"]]
    region = shapely.box(124.0, 33.0, 136.0, 45.0)
    clipped = shapely.intersection(np.array(lines, dtype=object), region)
    dense = shapely.get_coordinates(shapely.segmentize(clipped, 0.001))
    rng = np.random.default_rng(5)
    lat = rng.uniform(36.0, 42.0, 60)
    lon = rng.uniform(127.0, 133.0, 60)
    ref = np.array([haversine_m(a, b, dense[:, 1], dense[:, 0]).min() for a, b in zip(lat, lon, strict=True)])
    got = mask.distance_to_coast_m(lat, lon)
    assert np.all(np.abs(got - ref) <= 0.01 * ref + 150.0)


def test_distance_to_coast_across_antimeridian(mask):
    # Just off Wrangel Island, on either side of the date line: the same coast is found.
    east = mask.distance_to_coast_m(72.0, 179.999)
    west = mask.distance_to_coast_m(72.0, -179.999)
    assert east == pytest.approx(west, abs=300)
    assert east < 100_000


# --------------------------------------------------------------------------------------------------
# Watched areas
# --------------------------------------------------------------------------------------------------


def test_default_areas_match_the_scenario():
    areas = {a.area_id: a for a in default_areas()}
    assert set(areas) == {
        "rajin-port",
        "vostochny-port",
        "dunai-naval-pier",
        "vladivostok-port",
        "zhoushan-xinya-shipyard",
        "tumangang-khasan-rail-crossing",
    }
    rajin = areas["rajin-port"]
    assert (rajin.lat_deg, rajin.lon_deg, rajin.radius_m) == (42.245, 130.300, 5000.0)
    assert rajin.country_iso2 == "KP" and rajin.kind == "port" and "dprk_ports" in rajin.groups
    assert areas["zhoushan-xinya-shipyard"].kind == "shipyard"
    assert areas["tumangang-khasan-rail-crossing"].kind == "rail_crossing"
    for a in areas.values():
        assert a.geometry_type == "Point"
        assert a.properties["source"] and a.properties["uncertain"]
    assert {a.area_id for a in geo.iter_group(list(areas.values()), "russia_far_east_ports")} == {
        "vostochny-port",
        "dunai-naval-pier",
        "vladivostok-port",
    }
    assert rajin.contains(42.245, 130.36)  # ~4.9 km east
    assert not rajin.contains(42.245, 130.37)  # ~5.7 km east


@pytest.mark.shared
def test_default_area_coordinates_are_exactly_the_facts():
    text = shared_file("scenario/facts.md").read_text(encoding="utf-8")
    facts = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    places = {p["name"]: (p["lat"], p["lon"]) for p in facts["places"]}
    for area in default_areas():
        assert places[area.name] == (area.lat_deg, area.lon_deg), area.name


def _write(tmp_path: Path, obj: object, name: str = "areas.geojson") -> Path:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


def _point(lon: float, lat: float, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _polygon(ring: list[list[float]], **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


SQUARE = [[130.0, 42.0], [130.5, 42.0], [130.5, 42.5], [130.0, 42.5], [130.0, 42.0]]
BOWTIE = [[130.0, 42.0], [130.5, 42.5], [130.5, 42.0], [130.0, 42.5], [130.0, 42.0]]


def test_load_areas_points_and_polygons(tmp_path):
    path = _write(
        tmp_path,
        {
            "type": "FeatureCollection",
            "features": [
                _point(130.3, 42.245, area_id="a", radius_m=3000, groups="g1"),
                _polygon(SQUARE, name="box"),
                {**_point(179.99, 0.0, radius_m=5000), "id": "dateline"},
            ],
        },
    )
    a, box, dateline = load_areas(path)
    assert (a.area_id, a.geometry_type, a.radius_m, a.groups) == ("a", "Point", 3000.0, ("g1",))
    assert (box.area_id, box.name, box.geometry_type) == ("area-1", "box", "Polygon")
    assert box.contains([42.25, 43.0], [130.25, 130.25]).tolist() == [True, False]
    assert box.contains(42.0, 130.25)  # on the edge counts
    assert dateline.contains(0.0, -179.99)  # 2.2 km away, across the date line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"not valid JSON"),
        ({"type": "Feature"}, r"expected a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, r"has no features"),
        (
            {"type": "FeatureCollection", "features": [_point(130, 42, radius_m=1), _point(130, 42)]},
            r"feature 1: .*radius_m",
        ),
        ({"type": "FeatureCollection", "features": [_point(130, 42, radius_m=-5)]}, r"feature 0: .*radius_m"),
        (
            {"type": "FeatureCollection", "features": [_polygon(SQUARE), _polygon(BOWTIE)]},
            r"feature 1: invalid polygon.*Self-intersection",
        ),
        (
            {"type": "FeatureCollection", "features": [_point(42, 130, radius_m=10)]},
            r"feature 0: coordinates must be \[longitude, latitude\]",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [_polygon([[170, 0], [-170, 0], [-170, 5], [170, 5], [170, 0]])],
            },
            r"feature 0: .*antimeridian",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": None}],
            },
            r"feature 0: feature has no geometry",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                    }
                ],
            },
            r"feature 0: unsupported geometry type LineString",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    _point(130, 42, area_id="x", radius_m=1),
                    _point(131, 42, area_id="x", radius_m=1),
                ],
            },
            r"feature 1: duplicate area_id 'x'",
        ),
    ],
)
def test_load_areas_errors_name_file_and_feature(tmp_path, content, message):
    path = _write(tmp_path, content, name="bad_areas.geojson")
    with pytest.raises(AreaFileError, match=message) as err:
        load_areas(path)
    assert str(path) in str(err.value)


def test_load_areas_missing_file(tmp_path):
    with pytest.raises(AreaFileError, match=r"missing\.geojson: cannot read file"):
        load_areas(tmp_path / "missing.geojson")


# --------------------------------------------------------------------------------------------------
# Packaged reference data
# --------------------------------------------------------------------------------------------------

WPI_COLUMNS = [
    "port_id",
    "name",
    "alternate_name",
    "unlocode",
    "country",
    "country_iso2",
    "lat_deg",
    "lon_deg",
    "harbor_size",
    "harbor_type",
    "water_body",
]


def _wpi_rows() -> list[dict[str, str]]:
    with DATA.joinpath("ports/wpi_ports.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == WPI_COLUMNS
        return list(reader)


def test_wpi_ports_file():
    rows = _wpi_rows()
    assert len(rows) == 3803
    assert len({r["port_id"] for r in rows}) == 3803
    for r in rows:
        assert re.fullmatch(r"wpi-\d+(\.\d+)?(-\d)?", r["port_id"]), r
        assert re.fullmatch(r"[A-Z]{2}", r["country_iso2"]), r
        assert r["unlocode"] == "" or re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}", r["unlocode"]), r
        assert -90 <= float(r["lat_deg"]) <= 90 and -180 <= float(r["lon_deg"]) <= 180
        assert r["name"] == r["name"].strip() and r["name"]
    by_id = {r["port_id"]: r for r in rows}
    assert by_id["wpi-8210"]["unlocode"] == "USBAL"  # "US BAL" in Pub. 150
    najin = by_id["wpi-60510"]
    assert (najin["name"], najin["alternate_name"], najin["unlocode"], najin["country_iso2"]) == (
        "Najin",
        "Rashin",
        "KPRJN",
        "KP",
    )
    assert (float(najin["lat_deg"]), float(najin["lon_deg"])) == (42.233333, 130.3)
    assert not any(re.search(r"duna[iy]", r["name"], re.I) and r["country_iso2"] == "RU" for r in rows)


@pytest.mark.shared
def test_wpi_ports_match_source_csv():
    src = shared_file("ports/nga_world_port_index_pub150.csv")
    with src.open(encoding="utf-8-sig", newline="") as fh:
        source = {row["World Port Index Number"]: row for row in csv.DictReader(fh)}
    ours = {r["port_id"]: r for r in _wpi_rows()}
    for number, port_id in [
        ("8210.0", "wpi-8210"),  # Baltimore
        ("60510.0", "wpi-60510"),  # Najin
        ("60725.0", "wpi-60725"),  # Vostochnyy
        ("60730.0", "wpi-60730"),  # Nakhodka
        ("60610.0", "wpi-60610"),  # Vladivostok
        ("59960.0", "wpi-59960"),  # Zhoushan
        ("9510.1", "wpi-9510.1"),  # Puerto Progreso (fractional index number)
    ]:
        s, o = source[number], ours[port_id]
        assert o["name"] == s["Main Port Name"].strip()
        assert o["country"] == s["Country Code"]
        assert o["unlocode"] == s["UN/LOCODE"].replace(" ", "")
        assert float(o["lat_deg"]) == pytest.approx(float(s["Latitude"]), abs=1e-6)
        assert float(o["lon_deg"]) == pytest.approx(float(s["Longitude"]), abs=1e-6)
        assert o["harbor_size"] == s["Harbor Size"].strip()


@pytest.mark.parametrize(
    ("name", "features", "geom_types"),
    [
        ("ne_50m_land.json", 1420, {"Polygon", "MultiPolygon"}),
        ("ne_50m_coastline.json", 1428, {"LineString", "MultiLineString"}),
        ("ne_110m_land.json", 127, {"Polygon"}),
        ("ne_110m_admin_0_countries.json", 177, {"Polygon", "MultiPolygon"}),
    ],
)
def test_basemap_files_are_minified_and_valid(name, features, geom_types):
    text = DATA.joinpath(f"basemap/{name}").read_text(encoding="utf-8")
    assert "\n" not in text and ", " not in text and '": ' not in text
    data = json.loads(text)
    geoms = np.array([shape(f["geometry"]) for f in data["features"]], dtype=object)
    assert len(geoms) == features
    assert {g.geom_type for g in geoms} <= geom_types
    assert shapely.is_valid(geoms).all()
    coords = shapely.get_coordinates(geoms)
    assert np.allclose(coords, np.round(coords, 5))


def test_attribution_covers_every_packaged_source():
    text = DATA.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in (
        "mid.csv",
        "wpi_ports.csv",
        "World Port Index",
        "Natural Earth",
        "watched_areas.geojson",
        "CC0",
    ):
        assert needle in text
