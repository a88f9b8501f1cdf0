"""Itineraries: who sails where and when, and when each transponder is switched off.

ANGARA's and MARIA's schedules are written out by hand so the truth reads like the public record
(facts.md): trips from mid-August 2023, ANGARA at Dunai on 12 September, trips ending by mid-October
for the RUSI count, later runs to Vostochny, and ANGARA's passage to Zhoushan (arriving 9 February
2024) with AIS on only in the Korea Strait. Hours, background traffic and every position are
simulated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sanctionwatch.demo.routes import METRES_PER_NM
from sanctionwatch.demo.tracks import Leg, PortCall, Track, TrackBuilder
from sanctionwatch.demo.vessels import Vessel

__all__ = ["END_S", "START_S", "Plan", "builder", "finish_plan", "plan_angara", "plan_maria", "ts"]


def ts(iso: str) -> int:
    """Unix seconds of a UTC ISO time such as ``2023-08-16T10:00``."""
    return int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp())


START_S = ts("2023-08-01T00:00")
END_S = ts("2024-03-01T00:00")  # exclusive: the scenario covers August 2023 to February 2024
HOUR_S = 3600
DAY_S = 86400

# AIS is switched off this far out from a Russian berth and back on this far from one: roughly
# where the ships leave and re-enter Russian coastal waters.
DARK_OFFSHORE_M = 20 * METRES_PER_NM
RAJIN_ON_M = 12 * METRES_PER_NM  # where AIS comes on near Rajin in the partly observed trips


@dataclass
class Plan:
    """Everything the scenario knows about one vessel: track, truth, and AIS on/off."""

    vessel: Vessel
    track: Track
    legs: list[Leg]
    port_calls: list[PortCall]
    voyage_data: list[tuple[int, str, float, int | None]]
    dark: list[tuple[int, int, str]] = field(default_factory=list)  # (off_s, on_s, reason)
    # Windows a satellite is sure to see (a story beat must be in the data whatever the seed).
    sat_windows: list[tuple[int, int]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    encounters: list[dict[str, Any]] = field(default_factory=list)
    loitering: list[dict[str, Any]] = field(default_factory=list)


def builder(vessel: Vessel, place: str, rng: np.random.Generator) -> TrackBuilder:
    # Each ship gets its own spot at a quay, up to ~100 m from the port's reference berth.
    offset = (float(rng.uniform(-0.0009, 0.0009)), float(rng.uniform(-0.0012, 0.0012)))
    return TrackBuilder(place, START_S, offset)


def finish_plan(vessel: Vessel, b: TrackBuilder, dark: list[tuple[int, int, str]] | None = None,
                sat_windows: list[tuple[int, int]] | None = None,
                deliveries: list[dict[str, Any]] | None = None) -> Plan:
    track = b.finish(END_S)
    return Plan(vessel, track, b.legs, b.port_calls, b.voyage_data, dark or [], sat_windows or [],
                deliveries or [])


# --- the Rajin runs ----------------------------------------------------------------------------

# (departure from the Russian port, hours loading at Rajin, Russian port of delivery, AIS pattern)
# AIS patterns: "dark" = off from ~20 nm out until ~20 nm from the delivery port;
# "on_outbound" = left on until just off Rajin; "on_at_rajin" = on from 12 nm before Rajin until
# 12 nm after leaving, so the port call itself is seen (Pos'yet receiver, satellites);
# "on_return" = switched back on 12 nm out of Rajin on the way home.
ANGARA_TRIPS: tuple[tuple[str, float, str, str], ...] = (
    ("2023-08-16T10:00", 36, "dunai", "dark"),
    ("2023-08-27T08:00", 30, "dunai", "on_outbound"),
    ("2023-09-10T04:00", 34, "dunai", "dark"),  # arrives at Dunai on 12 Sep (White House briefing)
    ("2023-09-22T06:00", 40, "dunai", "dark"),
    ("2023-10-10T03:00", 28, "dunai", "dark"),  # back by 12 Oct: within RUSI's mid-Aug..14 Oct window
    ("2023-10-24T05:00", 38, "vostochny", "dark"),
    ("2023-11-06T07:00", 32, "vostochny", "dark"),
    ("2023-11-18T09:00", 44, "vostochny", "on_at_rajin"),
    ("2023-12-01T06:00", 30, "vostochny", "dark"),
    ("2023-12-14T08:00", 36, "vostochny", "dark"),
    ("2023-12-28T05:00", 40, "vostochny", "on_return"),
    ("2024-01-12T07:00", 34, "vostochny", "dark"),
)
ANGARA_ZHOUSHAN_ARRIVAL = "2024-02-09T03:00"  # Reuters/RUSI: at Zhoushan Xinya from 9 Feb 2024

MARIA_TRIPS: tuple[tuple[str, float, str, str], ...] = (
    ("2023-08-21T07:00", 36, "dunai", "dark"),
    ("2023-09-02T05:00", 40, "dunai", "dark"),
    ("2023-09-15T06:00", 32, "dunai", "on_outbound"),
    ("2023-09-28T04:00", 38, "dunai", "dark"),
    ("2023-10-06T08:00", 30, "dunai", "dark"),
    ("2023-11-10T06:00", 36, "vostochny", "dark"),
    ("2023-12-05T05:00", 34, "vostochny", "dark"),
)

_PORT_TEXT = {"dunai": "DUNAY", "vostochny": "VOSTOCHNY", "vladivostok": "VLADIVOSTOK",
              "zhoushan_xinya": "ZHOUSHAN", "busan": "BUSAN", "kozmino": "KOZMINO", "qingdao": "QINGDAO",
              "ulsan": "ULSAN", "slavyanka": "SLAVYANKA", "nakhodka": "NAKHODKA", "posyet": "POSYET",
              "zarubino": "ZARUBINO"}


def _rajin_trip(b: TrackBuilder, plan_dark: list[tuple[int, int, str]], sat: list[tuple[int, int]],
                vessel: Vessel, depart: str, hours: float, to: str, pattern: str,
                light_m: float, laden_m: float) -> dict[str, object]:
    """One round trip: Russian port -> Rajin (load) -> Russian port, with the AIS pattern."""
    speed = vessel.cruise_knots
    home = b.place
    b.wait(ts(depart))
    b.set_voyage("FOR ORDERS", light_m)  # nothing that says DPRK
    out = b.sail("rajin", speed)
    b.wait(out.arrive_s + int(hours * HOUR_S))
    eta = b.now_s + b.sail_seconds(to, speed)
    b.set_voyage(_PORT_TEXT[to], laden_m, eta)  # typed in at Rajin, seen once AIS is back on
    back = b.sail(to, speed)
    off_out = out.time_after_m(DARK_OFFSHORE_M)
    on_back = back.time_before_arrival_m(DARK_OFFSHORE_M)
    reason = "transponder off for a DPRK port call"
    if pattern == "dark":
        plan_dark.append((off_out, on_back, reason))
    elif pattern == "on_outbound":
        off = out.time_before_arrival_m(3 * METRES_PER_NM)
        plan_dark.append((off, on_back, reason))
        sat.append((off_out, off))
    elif pattern == "on_at_rajin":
        on_at = out.time_before_arrival_m(RAJIN_ON_M)
        off_again = back.time_after_m(RAJIN_ON_M)
        plan_dark.append((off_out, on_at, reason))
        plan_dark.append((off_again, on_back, reason))
        sat.append((out.arrive_s, back.depart_s))
    elif pattern == "on_return":
        on_at = back.time_after_m(RAJIN_ON_M)
        plan_dark.append((off_out, on_at, reason))
        sat.append((on_at, on_at + 6 * HOUR_S))
    else:
        raise ValueError(f"unknown AIS pattern {pattern!r}")
    b.wait(back.arrive_s + DAY_S)  # unloading takes about a day; then the draught is light again
    b.set_voyage(_PORT_TEXT[to], light_m)
    return {"vessel": vessel.identity.name, "mmsi": vessel.mmsi, "imo": vessel.identity.imo,
            "from_port": home, "depart_russia_s": out.depart_s, "arrive_rajin_s": out.arrive_s,
            "depart_rajin_s": back.depart_s, "delivered_to": to, "arrive_russia_s": back.arrive_s,
            "ais": pattern}


def plan_angara(vessel: Vessel, rng: np.random.Generator) -> Plan:
    b = builder(vessel, "vostochny", rng)
    b.set_voyage("VOSTOCHNY", 4.9, from_s=START_S)
    dark: list[tuple[int, int, str]] = []
    sat: list[tuple[int, int]] = []
    deliveries = [_rajin_trip(b, dark, sat, vessel, *trip, light_m=4.9, laden_m=6.8) for trip in ANGARA_TRIPS]
    # To the Zhoushan Xinya yard: AIS off leaving Russian waters, on briefly in the Korea Strait.
    speed = vessel.cruise_knots
    depart = ts(ANGARA_ZHOUSHAN_ARRIVAL) - b.sail_seconds("zhoushan_xinya", speed)
    b.wait(depart)
    leg = b.sail("zhoushan_xinya", speed)
    b.set_voyage("ZHOUSHAN", 4.9, leg.arrive_s, from_s=leg.depart_s)
    strait_on = leg.time_after_m(leg.metres_at_latitude(35.42))  # abeam Ulsan
    strait_off = strait_on + 8 * HOUR_S
    dark.append((leg.time_after_m(DARK_OFFSHORE_M), strait_on, "transponder off leaving Russian waters"))
    dark.append((strait_off, END_S, "transponder off after the Korea Strait; at the Zhoushan Xinya yard"))
    sat.append((strait_on, strait_off))
    return finish_plan(vessel, b, dark=dark, sat_windows=sat, deliveries=deliveries)


def plan_maria(vessel: Vessel, rng: np.random.Generator) -> Plan:
    b = builder(vessel, "vladivostok", rng)
    b.set_voyage("VLADIVOSTOK", 4.2, from_s=START_S)
    dark: list[tuple[int, int, str]] = []
    sat: list[tuple[int, int]] = []
    b.wait(ts("2023-08-18T06:00"))
    b.set_voyage("DUNAY", 4.2, b.now_s + b.sail_seconds("dunai", vessel.cruise_knots))
    b.sail("dunai", vessel.cruise_knots)
    deliveries = []
    for trip in MARIA_TRIPS:
        if trip[2] != b.place:  # reposition (AIS on) before a trip from another port
            b.wait(ts(trip[0]) - 2 * DAY_S)
            b.set_voyage(_PORT_TEXT[trip[2]], 4.2)
            b.sail(trip[2], vessel.cruise_knots)
        deliveries.append(_rajin_trip(b, dark, sat, vessel, *trip, light_m=4.2, laden_m=6.1))
    b.wait(ts("2023-12-12T02:00"))
    b.set_voyage("VLADIVOSTOK", 4.2)
    b.sail("vladivostok", vessel.cruise_knots)
    return finish_plan(vessel, b, dark=dark, sat_windows=sat, deliveries=deliveries)
