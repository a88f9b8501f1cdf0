"""The demo's imagery: SIMULATED satellite scenes, detections, analyst sightings and rail counts.

Built from the same ground-truth tracks as the AIS logs, so a ship with its transponder off is
still where the story puts it when a satellite passes. The files follow published layouts:

* ``imagery/scenes.geojson``: scene footprints (GeoJSON polygons with ``scene_id``, ``datetime``);
* ``imagery/sar_detections.csv``: detections in Global Fishing Watch's SAR layout
  (``scene_id, detect_id, detect_lon, detect_lat, detect_timestamp, inferred_length_m, inferred_presence``),
  every ship inside a footprint at the scene time, with position and length noise, and one
  clutter false alarm per scene;
* ``imagery/sightings.csv``: an analyst's identifications (ANGARA at Rajin during an AIS-dark
  call, ANGARA at the Zhoushan Xinya yard in February 2024: the Reuters/RUSI story);
* ``imagery/rail_counts.csv``: weekly rail cars counted at the Tumangang-Khasan crossing, Poisson
  noise around a level with the autumn-2023 surge ("unprecedented" rail traffic, CSIS Beyond
  Parallel); every number is generated;
* ``imagery/truth.json``: which ship each detection really is, for checking the matcher.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from sanctionwatch.demo.places import PLACES
from sanctionwatch.demo.story import Plan, ts

__all__ = ["write_imagery"]

RAIL_SITE = "tumangang-khasan-rail-crossing"
_M_PER_DEG = 111_320.0
_POSITION_NOISE_M = 40.0  # Sentinel-1 IW geolocation and centroid error, a few pixels
_LENGTH_NOISE = 0.12  # relative error of a SAR length estimate


def _box(lat: float, lon: float, half_km: float) -> list[list[float]]:
    dlat = half_km * 1000 / _M_PER_DEG
    dlon = dlat / math.cos(math.radians(lat))
    return [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat],
            [lon - dlon, lat - dlat]]


def _iso(t_s: int) -> str:
    return dt.datetime.fromtimestamp(t_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scenes(plans: list[Plan]) -> list[tuple[str, int, str, float]]:
    """(scene_id, time, place key, half-size km): Rajin during ANGARA's dark 5th call (RUSI's October 2023
    imagery), Rajin during MARIA's call with AIS on the way out, Vostochny, and the Zhoushan yard."""
    angara = next(p for p in plans if p.vessel.key == "angara")
    maria = next(p for p in plans if p.vessel.key == "maria")
    trip5 = angara.deliveries[4]  # deliveries are in trip order
    maria3 = maria.deliveries[2]
    mid = (trip5["arrive_rajin_s"] + trip5["depart_rajin_s"]) // 2
    maria_mid = (maria3["arrive_rajin_s"] + maria3["depart_rajin_s"]) // 2
    return [
        (f"SIM-S1-RAJIN-{_iso(mid)[:10].replace('-', '')}", mid, "rajin", 12.0),
        (f"SIM-S1-RAJIN-{_iso(maria_mid)[:10].replace('-', '')}", maria_mid, "rajin", 12.0),
        ("SIM-S1-VOSTOCHNY-20231101", ts("2023-11-01T09:30"), "vostochny", 15.0),
        ("SIM-S2-ZHOUSHAN-20240220", ts("2024-02-20T02:30"), "zhoushan_xinya", 10.0),
    ]


def write_imagery(out_dir: Path, plans: list[Plan], seed: int) -> list[Path]:
    """Write the imagery files under ``out_dir/imagery`` and return their paths."""
    rng = np.random.default_rng([seed, 7])
    folder = out_dir / "imagery"
    folder.mkdir(parents=True, exist_ok=True)
    features, detections, truth = [], [], []
    for scene_id, t_s, place_key, half_km in _scenes(plans):
        place = PLACES[place_key]
        ring = _box(place.berth_lat_deg, place.berth_lon_deg, half_km)
        features.append({"type": "Feature", "id": scene_id, "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"scene_id": scene_id, "datetime": _iso(t_s),
                                        "sensor": "sentinel-2" if "-S2-" in scene_id else "sentinel-1",
                                        "note": "SIMULATED footprint"}})
        lon_min, lat_min = ring[0]
        lon_max, lat_max = ring[2]
        for plan in plans:
            s = plan.track.sample(np.array([t_s]))
            lat, lon = float(s["lat_deg"][0]), float(s["lon_deg"][0])
            if not (lat_min < lat < lat_max and lon_min < lon < lon_max):
                continue
            n, e = rng.normal(0.0, _POSITION_NOISE_M, 2)
            d_lat, d_lon = lat + n / _M_PER_DEG, lon + e / (_M_PER_DEG * math.cos(math.radians(lat)))
            length = plan.vessel.identity.length_m * float(rng.lognormal(0.0, _LENGTH_NOISE))
            dark = any(off <= t_s < on for off, on, _ in plan.dark)
            detect_id = f"{scene_id};{d_lon:.5f};{d_lat:.5f}"
            detections.append([scene_id, detect_id, f"{d_lon:.5f}", f"{d_lat:.5f}", _iso(t_s), f"{length:.0f}",
                               f"{float(rng.uniform(0.8, 0.99)):.2f}"])
            truth.append({"detect_id": detect_id, "mmsi": plan.vessel.mmsi, "name": plan.vessel.identity.name,
                          "ais_off": dark})
        # one clutter false alarm (a buoy, a breaking wave) somewhere in the footprint
        f_lat = float(rng.uniform(lat_min, lat_max))
        f_lon = float(rng.uniform(lon_min, lon_max))
        detect_id = f"{scene_id};{f_lon:.5f};{f_lat:.5f}"
        detections.append([scene_id, detect_id, f"{f_lon:.5f}", f"{f_lat:.5f}", _iso(t_s), "12", "0.55"])
        truth.append({"detect_id": detect_id, "mmsi": None, "name": None, "ais_off": None})
    scenes_path = folder / "scenes.geojson"
    scenes_path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, indent=1) + "\n",
                           encoding="utf-8")
    det_path = folder / "sar_detections.csv"
    with det_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["scene_id", "detect_id", "detect_lon", "detect_lat", "detect_timestamp", "inferred_length_m",
                    "inferred_presence"])
        w.writerows(detections)
    paths = [scenes_path, det_path, _write_sightings(folder, plans), _write_rail_counts(folder, rng)]
    truth_path = folder / "truth.json"
    truth_path.write_text(json.dumps({"simulated": True, "detections": truth}, indent=1) + "\n", encoding="utf-8")
    return [*paths, truth_path]


def _write_sightings(folder: Path, plans: list[Plan]) -> Path:
    angara = next(p for p in plans if p.vessel.key == "angara")
    scene_id, t_s, _, _ = _scenes(plans)[0]
    rows: list[list[Any]] = []
    for when, ref, note in ((t_s, scene_id, "SIMULATED: Ro-Ro of ANGARA's size and colours at the Rajin container pier; "
                             "AIS off"),
                            (ts("2024-02-20T02:30"), "SIM-S2-ZHOUSHAN-20240220",
                             "SIMULATED: ANGARA berthed at the Zhoushan Xinya yard (cf. Reuters 25 Apr 2024)")):
        s = angara.track.sample(np.array([when]))
        rows.append([_iso(when), f"{float(s['lat_deg'][0]):.5f}", f"{float(s['lon_deg'][0]):.5f}", "ANGARA",
                     "9179842", ref, "0.8", note])
    path = folder / "sightings.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["time", "lat", "lon", "name", "imo", "image_ref", "confidence", "note"])
        w.writerows(rows)
    return path


def _write_rail_counts(folder: Path, rng: np.random.Generator) -> Path:
    """Weekly rail cars at the border crossing: level ~12, surge from September 2023 to ~45."""
    start = dt.date(2023, 3, 6)  # a Monday
    path = folder / "rail_counts.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["site", "date", "count", "category", "period", "note"])
        for week in range(52):
            day = start + dt.timedelta(weeks=week)
            level = 12.0 if day < dt.date(2023, 9, 4) else 45.0
            if week % 7 == 3:
                continue  # cloudy week: no usable image, no count (never a zero)
            w.writerow([RAIL_SITE, day.isoformat(), int(rng.poisson(level)), "rail_cars", "week",
                        "SIMULATED count from a (simulated) image"])
    return path
