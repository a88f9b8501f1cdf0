"""Sea lanes of the demo: a small graph of waypoints, and the shortest route between two places.

Waypoints follow the real lanes (out of Peter the Great Gulf, down the Korean east coast, through
the western channel of the Korea Strait, south of Jeju, then to the Yellow Sea or Zhoushan). Every
lane was checked against Natural Earth 1:50m land (``tests/unit/test_demo_scenario.py`` checks them
again), so a ship that follows a route never crosses mapped land.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from functools import cache

from sanctionwatch.demo.places import PLACES, offset_m

__all__ = ["LANES", "WAYPOINTS", "path_length_m", "route"]

METRES_PER_NM = 1852.0

# Open-water turning points (lat, lon). Names say where they are.
WAYPOINTS: dict[str, tuple[float, float]] = {
    # Rajin and the DPRK-Russia border area
    "rajin_approach": (42.17, 130.42),
    "tumen_offshore": (42.22, 130.95),
    # Peter the Great Gulf
    "gulf_west": (42.42, 131.35),
    "gulf_centre": (42.55, 131.80),
    "askold_west": (42.70, 132.20),
    "askold_south": (42.58, 132.35),
    "dunai_approach": (42.83, 132.33),
    "ussuri_bay_south": (42.92, 132.03),
    "eastern_bosphorus": (43.065, 131.965),
    "amur_bay_south": (43.00, 131.72),
    "slavyanka_approach": (42.82, 131.47),
    "posyet_approach": (42.60, 130.90),
    "zarubino_approach": (42.58, 131.10),
    "nakhodka_approach": (42.72, 132.88),
    "kozmino_approach": (42.73, 132.99),
    "vostochny_approach": (42.68, 133.04),
    "povorotny_south": (42.58, 133.00),
    # Sea of Japan, Korean east coast
    "sea_of_japan_north": (41.80, 132.40),
    "korea_east_40n": (40.20, 131.25),
    "korea_east_375n": (37.50, 130.15),
    "korea_east_36n": (36.00, 129.75),
    "ulsan_approach": (35.42, 129.52),
    "busan_approach": (35.02, 129.15),
    # Korea Strait (western channel), Jeju, East China Sea, Yellow Sea
    "korea_strait_west": (34.55, 128.95),
    "korea_strait_southwest": (34.00, 128.20),
    "jeju_southeast": (33.00, 127.20),
    "jeju_south": (32.80, 126.30),
    "east_china_sea_north": (31.30, 124.10),
    "zhoushan_offshore": (29.72, 122.55),
    "zhoushan_channel": (29.82, 122.24),
    "yellow_sea_south": (34.00, 124.20),
    "yellow_sea_west": (35.40, 121.60),
    "qingdao_approach": (35.93, 120.50),
}

# Undirected lanes. A place key (berth) or a waypoint name at each end.
LANES: tuple[tuple[str, str], ...] = (
    ("rajin", "rajin_approach"),
    ("rajin_approach", "tumen_offshore"),
    ("tumen_offshore", "gulf_west"),
    ("tumen_offshore", "posyet_approach"),
    ("posyet", "posyet_approach"),
    ("posyet_approach", "zarubino_approach"),
    ("zarubino", "zarubino_approach"),
    ("zarubino_approach", "gulf_west"),
    ("gulf_west", "gulf_centre"),
    ("gulf_centre", "askold_west"),
    ("gulf_centre", "askold_south"),
    ("gulf_centre", "ussuri_bay_south"),
    ("gulf_centre", "amur_bay_south"),
    ("gulf_west", "slavyanka_approach"),
    ("askold_west", "dunai_approach"),
    ("askold_west", "ussuri_bay_south"),
    ("askold_west", "askold_south"),
    ("dunai", "dunai_approach"),
    ("ussuri_bay_south", "eastern_bosphorus"),
    ("eastern_bosphorus", "vladivostok"),
    ("vladivostok", "amur_bay_south"),
    ("amur_bay_south", "slavyanka_approach"),
    ("slavyanka", "slavyanka_approach"),
    ("askold_south", "povorotny_south"),
    ("askold_south", "nakhodka_approach"),
    ("nakhodka", "nakhodka_approach"),
    ("nakhodka_approach", "kozmino_approach"),
    ("kozmino", "kozmino_approach"),
    ("kozmino_approach", "vostochny_approach"),
    ("nakhodka_approach", "povorotny_south"),
    ("kozmino_approach", "povorotny_south"),
    ("vostochny", "vostochny_approach"),
    ("vostochny_approach", "povorotny_south"),
    ("povorotny_south", "sea_of_japan_north"),
    ("askold_south", "sea_of_japan_north"),
    ("gulf_centre", "sea_of_japan_north"),
    ("sea_of_japan_north", "korea_east_40n"),
    ("korea_east_40n", "korea_east_375n"),
    ("korea_east_375n", "korea_east_36n"),
    ("korea_east_36n", "ulsan_approach"),
    ("ulsan", "ulsan_approach"),
    ("ulsan_approach", "busan_approach"),
    ("busan", "busan_approach"),
    ("busan_approach", "korea_strait_west"),
    ("ulsan_approach", "korea_strait_west"),
    ("korea_strait_west", "korea_strait_southwest"),
    ("korea_strait_southwest", "jeju_southeast"),
    ("jeju_southeast", "jeju_south"),
    ("jeju_south", "east_china_sea_north"),
    ("east_china_sea_north", "zhoushan_offshore"),
    ("zhoushan_offshore", "zhoushan_channel"),
    ("zhoushan_channel", "zhoushan_xinya"),
    ("jeju_south", "yellow_sea_south"),
    ("yellow_sea_south", "yellow_sea_west"),
    ("yellow_sea_west", "qingdao_approach"),
    ("qingdao", "qingdao_approach"),
)


def node_position(name: str) -> tuple[float, float]:
    """(lat, lon) of a waypoint or of a place's berth."""
    if name in WAYPOINTS:
        return WAYPOINTS[name]
    place = PLACES[name]
    return place.berth_lat_deg, place.berth_lon_deg


@cache
def _neighbours() -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for a, b in LANES:
        d = offset_m(*node_position(a), *node_position(b))
        out.setdefault(a, []).append((b, d))
        out.setdefault(b, []).append((a, d))
    return out


def route(origin: str, destination: str, via: Sequence[str] = ()) -> list[tuple[float, float]]:
    """Shortest lane route between two nodes (through ``via`` in order), as (lat, lon) points."""
    stops = [origin, *via, destination]
    names: list[str] = [origin]
    for a, b in itertools.pairwise(stops):
        names.extend(_shortest(a, b)[1:])
    return [node_position(n) for n in names]


@cache
def _shortest(origin: str, destination: str) -> tuple[str, ...]:
    graph = _neighbours()
    if origin not in graph or destination not in graph:
        raise KeyError(f"no lane touches {origin if origin not in graph else destination!r}")
    best: dict[str, float] = {origin: 0.0}
    previous: dict[str, str] = {}
    queue: list[tuple[float, str]] = [(0.0, origin)]
    while queue:
        dist, node = heapq.heappop(queue)
        if node == destination:
            break
        if dist > best[node]:
            continue
        for nxt, step in sorted(graph[node]):  # sorted: ties resolve the same way every run
            cand = dist + step
            if cand < best.get(nxt, math.inf):
                best[nxt] = cand
                previous[nxt] = node
                heapq.heappush(queue, (cand, nxt))
    if destination not in best:
        raise ValueError(f"no route from {origin!r} to {destination!r}")
    path = [destination]
    while path[-1] != origin:
        path.append(previous[path[-1]])
    return tuple(path[::-1])


def path_length_m(points: Sequence[tuple[float, float]]) -> float:
    return sum(offset_m(*a, *b) for a, b in itertools.pairwise(points))
