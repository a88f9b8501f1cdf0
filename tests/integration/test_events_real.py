"""Segmentation, gaps and port visits on real AIS: 256 vessels around Suez during the Ever Given blockage.

Data: ../shared/data/ais/evergiven_boat-positions.csv (VesselsValue via movingpandas-examples; see
shared/data/SOURCES.md). No SOG or course, so stops use the implied speed. Many vessels waited at
anchor in Suez Bay and off Port Said; the canal itself is "land" at Natural Earth 1:50m.
"""

from __future__ import annotations

import json

import polars as pl
import pytest
import shapely

from sanctionwatch.config import load_config
from sanctionwatch.events.gaps import detect_gaps
from sanctionwatch.events.port_visits import detect_port_visits
from sanctionwatch.events.ports import build_port_index
from sanctionwatch.geo import Area, haversine_m
from sanctionwatch.schema import POSITIONS
from sanctionwatch.tracks.segment import segment
from sanctionwatch.tracks.spoofing import spoofing_events
from tests.conftest import shared_file

pytestmark = pytest.mark.shared

CFG = load_config()
ALL_LEVELS = CFG.with_overrides({"events.port_visit_min_confidence": 1})
# WPI ports at the two ends of the canal and on it (wpi_ports.csv).
PORT_SAID, SUEZ, ADABIYA, ISMAILIA = "wpi-45140", "wpi-48040", "wpi-48045", "wpi-48050"
# The Suez Bay anchorage as charted (about 29.75-30.0 N, 32.44-32.60 E), a watched polygon here.
SUEZ_BAY = Area("suez-bay-anchorage", "Suez Bay anchorage", "Polygon", 29.87, 32.52,
                polygon=shapely.box(32.44, 29.75, 32.60, 30.00))


@pytest.fixture(scope="module")
def segmented() -> pl.DataFrame:
    path = shared_file("ais/evergiven_boat-positions.csv")
    raw = pl.read_csv(path, encoding="utf8-lossy").rename(lambda c: c.lstrip("\ufeff"))
    positions = raw.with_row_index("i").select(
        pl.col("ID").cast(pl.Int32).alias("mmsi"),
        pl.col("ais_pos_timestamp").str.to_datetime("%d/%m/%Y %H:%M", time_zone="UTC")
        .dt.cast_time_unit("us").alias("ts_utc"),
        pl.col("latitude").alias("lat_deg"),
        pl.col("longitude").alias("lon_deg"),
        pl.lit("evergiven").alias("source_id"),
        (pl.col("i") + 2).cast(pl.Int64).alias("record_no"),  # line 1 is the header
    )
    positions = positions.select([pl.col(c) if c in positions.columns else pl.lit(None, dtype=t).alias(c)
                                  for c, t in POSITIONS.polars().items()])
    assert positions.height == 22_287
    return segment(positions, CFG)


def test_segments_real_tracks_without_spurious_jumps(segmented):
    assert segmented["segment_id"].null_count() == 0
    assert segmented["segment_id"].n_unique() < 300  # 256 vessels; a few tracks broken by > 24 h gaps
    events = spoofing_events(segmented, CFG)
    kinds = {json.loads(a)["kind"] for a in events["attrs_json"]}
    assert "impossible_jump" not in kinds and "overlapping_segments" not in kinds
    # Canal transits are "on land" at 1:50m: the indicator fires there, which the docs warn about.
    assert kinds <= {"on_land"}


def test_port_visits_land_at_suez_and_port_said(segmented):
    ports = build_port_index(ALL_LEVELS)
    visits = detect_port_visits(segmented, ALL_LEVELS, ports)
    level = visits["attrs_json"].map_elements(lambda a: json.loads(a)["confidence_level"], return_dtype=pl.Int64)
    visits = visits.with_columns(level.alias("level"))
    good = visits.filter(pl.col("level") >= 2)
    # Stops happen at the anchorages at the two ends of the canal, nowhere else.
    assert set(good["area_id"]) <= {PORT_SAID, SUEZ, ADABIYA}
    assert {PORT_SAID, SUEZ, ADABIYA} <= set(good["area_id"])
    assert good.filter(pl.col("level") == 4).height >= 5
    # Ismailia is passed by canal convoys: only confidence-1 visits (GFW: "largely false positives").
    assert visits.filter(pl.col("area_id") == ISMAILIA).height >= 20
    assert visits.filter(pl.col("area_id") == ISMAILIA)["level"].max() == 1
    # Every first stop lies within the port's exit distance (4 km) of its WPI point.
    pos = segmented.select("record_no", "lat_deg", "lon_deg")
    for row in good.iter_rows(named=True):
        stop_utc = json.loads(row["attrs_json"])["first_stop_utc"]
        if stop_utc is None:
            continue
        k = ports.index_of(row["area_id"])
        recs = [e["record_no"] for e in row["evidence"]]
        here = pos.filter(pl.col("record_no").is_in(recs))
        assert (haversine_m(here["lat_deg"].to_numpy(), here["lon_deg"].to_numpy(),
                            ports.lat_deg[k], ports.lon_deg[k]) <= 4000.0).any()


def test_suez_bay_anchorage_as_a_watched_polygon(segmented):
    ports = build_port_index(CFG, areas=[SUEZ_BAY])
    visits = detect_port_visits(segmented, CFG, ports)
    bay = visits.filter(pl.col("area_id") == SUEZ_BAY.area_id)
    # Dozens of ships waited there; the polygon (a watched area) wins over the WPI points inside it.
    assert bay["mmsi"].n_unique() >= 50  # 105 at the time of writing
    assert ADABIYA not in set(visits["area_id"]) and SUEZ not in set(visits["area_id"])
    hours = bay["attrs_json"].map_elements(lambda a: json.loads(a)["stopped_hours"], return_dtype=pl.Float64)
    assert hours.median() > 6


def test_gaps_on_real_data(segmented):
    gaps = detect_gaps(segmented, CFG)
    assert gaps.height > 50
    a = [json.loads(x) for x in gaps["attrs_json"]]
    assert min(x["duration_h"] for x in a) >= 6.0
    # Suez is inside terrestrial coverage: nothing here qualifies as likely disabling.
    assert not any(x["likely_disabling"] for x in a)
