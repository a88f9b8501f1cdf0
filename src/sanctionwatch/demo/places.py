"""Ports and receivers of the demo scenario: real places, with berths moved onto mapped water.

Coordinates of the places named in ``facts.md`` (Rajin, Dunai, Vostochny, Vladivostok, Zhoushan
Xinya) are kept as published. The *berth* is the point a simulated ship sits on. It has to lie on
water in Natural Earth 1:50m, the land layer every test checks against. That layer generalises the
coast by about 1 km, so several real quays fall "on land". Those berths are moved to the nearest
point that lies at least 300 m off the 1:50m coast (found with a grid search). ``moved_m`` records
the shift, and SCENARIO.md explains it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sanctionwatch.geo import haversine_m

__all__ = ["PLACES", "RECEIVERS", "Place", "Receiver", "offset_m"]

@dataclass(frozen=True)
class Place:
    """A port or facility: published coordinates, plus the berth used by simulated ships."""

    key: str
    name: str
    country_iso2: str
    lat_deg: float  # as published (facts.md, or NGA WPI where facts.md has no entry)
    lon_deg: float
    berth_lat_deg: float  # on water in Natural Earth 1:50m
    berth_lon_deg: float
    source: str
    note: str = ""

    @property
    def moved_m(self) -> float:
        """How far the berth is from the published point."""
        return offset_m(self.lat_deg, self.lon_deg, self.berth_lat_deg, self.berth_lon_deg)


@dataclass(frozen=True)
class Receiver:
    """A simulated terrestrial AIS receiver (the ``s:`` station of the NMEA tag block)."""

    station: str
    lat_deg: float
    lon_deg: float
    place: str


def offset_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two places."""
    return float(haversine_m(lat1, lon1, lat2, lon2))


FACTS = "facts.md (shared/data/scenario)"
WPI = "NGA World Port Index Pub. 150"

_PLACES = (
    Place("rajin", "Rajin (Najin) port, Rason SEZ", "KP", 42.245, 130.300, 42.2205, 130.3307, FACTS,
          "1:50m draws the coast here about 3.5 km seaward of the harbour, so the berth is the nearest "
          "point 300 m off that line (3.7 km SE of the published point)."),
    Place("dunai", "Dunai (Dunay) naval pier", "RU", 42.880, 132.338, 42.880, 132.338, FACTS,
          "published point is already on 1:50m water, 0.9 km off the mapped coast."),
    Place("vostochny", "Vostochny port (Wrangel Bay)", "RU", 42.74, 133.06, 42.7325, 133.0442, FACTS,
          "Wrangel Bay is not drawn at 1:50m; berth is 1.5 km WSW, off the mapped coast."),
    Place("vladivostok", "Vladivostok commercial sea port", "RU", 43.105, 131.885, 43.0895, 131.8948, FACTS,
          "the Golden Horn is not drawn at 1:50m; berth is 1.8 km S, off the mapped tip of the peninsula."),
    Place("zhoushan_xinya", "Zhoushan Xinya Shipyard", "CN", 29.98, 122.10, 29.98, 122.10, FACTS,
          "published point (uncertain, +-15 km) is on 1:50m water 2.9 km S of Zhoushan Island."),
    Place("nakhodka", "Nakhodka commercial port", "RU", 42.80, 132.883, 42.792, 132.8836, WPI,
          "0.9 km S of the WPI point, off the mapped coast."),
    Place("kozmino", "Kozmino oil terminal (approximate)", "RU", 42.765, 133.015, 42.765, 133.015,
          "general knowledge, +-5 km (not in facts.md or WPI)",
          "position approximate: the terminal lies on the coast between Nakhodka Bay and Wrangel Bay."),
    Place("slavyanka", "Slavyanka", "RU", 42.867, 131.383, 42.851, 131.4215, WPI,
          "3.6 km SE of the WPI point, which is on 1:50m land."),
    Place("zarubino", "Zarubino", "RU", 42.633, 131.083, 42.6315, 131.0818, WPI,
          "0.2 km S of the WPI point, off the mapped coast."),
    Place("posyet", "Pos'yet", "RU", 42.65, 130.80, 42.65, 130.80, WPI, "WPI point, on 1:50m water."),
    Place("busan", "Busan (North Port)", "KR", 35.10, 129.033, 35.10, 129.033, WPI, "WPI point, on 1:50m water."),
    Place("ulsan", "Ulsan", "KR", 35.45, 129.40, 35.45, 129.40, WPI, "WPI point, on 1:50m water."),
    Place("qingdao", "Qingdao", "CN", 36.033, 120.267, 36.033, 120.267, WPI, "WPI point, on 1:50m water."),
)

PLACES: dict[str, Place] = {p.key: p for p in _PLACES}

# Receivers only on the Russian coast: the demo's point is that nothing sees the DPRK side except
# Pos'yet at the edge of its range and the satellites. Sites are plausible hilltops, not real stations.
RECEIVERS: tuple[Receiver, ...] = (
    Receiver("sim-vladivostok", 43.115, 131.905, "Vladivostok"),
    Receiver("sim-nakhodka", 42.815, 132.905, "Nakhodka / Vostochny"),
    Receiver("sim-posyet", 42.660, 130.815, "Pos'yet"),
)
