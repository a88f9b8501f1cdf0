"""Background traffic and the staged events that the detectors should find.

Liners shuttle between real ports along the lanes. A crude tanker from Kozmino stops in open water
in November for a ship-to-ship transfer with a small tanker, which then heads for the DPRK coast
and switches its AIS off. A coal carrier loiters offshore awaiting orders. A general cargo ship is
renamed. A ferry runs daily, and class B fishing boats work their own grounds until the winter
lay-up. All of it is simulated.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from sanctionwatch.demo.routes import METRES_PER_NM, WAYPOINTS
from sanctionwatch.demo.story import (
    DAY_S,
    END_S,
    HOUR_S,
    START_S,
    Plan,
    builder,
    finish_plan,
    plan_angara,
    plan_maria,
    ts,
)
from sanctionwatch.demo.tracks import KNOT_MPS, Mode, Track, TrackBuilder, distance_m
from sanctionwatch.demo.vessels import BACKGROUND, Vessel, imo_with_check_digit, principal_cast

__all__ = ["LOITER_POINT", "STS_POINT", "plan_fleet", "select_background"]

# Open water more than 20 nm from the 1:50m coast, in range of the Nakhodka receiver.
STS_POINT = (42.42, 132.60)
LOITER_POINT = (42.36, 132.82)
OFF_CHONGJIN = (41.55, 130.25)  # where the small tanker was heading when it went dark
STS_EARLIEST = "2023-11-05T00:00"
LOITER_EARLIEST = "2023-12-01T00:00"
STS_WAIT_S = 90 * 60  # the big tanker drifts this long before the small one is alongside
STS_ALONGSIDE_S = 5 * HOUR_S
STS_OFFSET_M = (28.0, 30.0)  # antenna of the small tanker relative to the big one (north, east)
LOITER_S = 7 * HOUR_S

# Each fishing boat has its own ground (centre), so their random walks never look like meetings.
FISHING_GROUNDS: dict[str, tuple[str, tuple[float, float]]] = {
    "fish1": ("posyet", (42.40, 131.02)),
    "fish2": ("zarubino", (42.50, 131.25)),
    "fish3": ("zarubino", (42.34, 131.32)),
    "fish4": ("nakhodka", (42.60, 132.60)),
    "fish5": ("vladivostok", (42.93, 131.70)),
}
FISHING_SEASON_END = "2023-12-16T00:00"
FERRY_SEASON_END = "2023-10-16T00:00"  # summer service to the Slavyanka side of the bay  # the bays start to freeze; small boats lay up, AIS off

# (ports in order, hours alongside (min, max), ports where the ship loads (laden draught after))
LINERS: dict[str, tuple[tuple[str, ...], tuple[float, float], tuple[str, ...]]] = {
    "box1": (("vostochny", "busan"), (14, 30), ()),
    "box2": (("busan", "vostochny", "vladivostok"), (14, 26), ()),
    "box3": (("vladivostok", "busan"), (16, 30), ()),
    "box4": (("busan", "vostochny"), (14, 30), ()),
    "tank1": (("kozmino", "qingdao"), (28, 44), ("kozmino",)),
    "tank2": (("ulsan", "kozmino"), (28, 44), ("kozmino",)),
    "tank3": (("qingdao", "kozmino"), (28, 44), ("kozmino",)),
    "bulk1": (("qingdao", "vostochny"), (36, 66), ("vostochny",)),
    "bulk2": (("vostochny", "qingdao"), (36, 66), ("vostochny",)),
    "renamed": (("vladivostok", "busan"), (20, 40), ()),
}
DRAUGHT_M: dict[str, tuple[float, float]] = {  # (ballast or average, laden)
    "container": (8.6, 8.6), "tanker": (8.2, 14.8), "bulk": (6.4, 11.8), "general_cargo": (5.2, 6.9),
}
_PORT_TEXT = {"busan": "BUSAN", "vostochny": "VOSTOCHNY", "vladivostok": "VLADIVOSTOK", "kozmino": "KOZMINO",
              "qingdao": "QINGDAO", "ulsan": "ULSAN", "slavyanka": "SLAVYANKA"}

Hook = Callable[[TrackBuilder, str, float], bool]


def template_key(key: str) -> str:
    """Clones made for ``scale > 1`` are named ``<template>#<n>``."""
    return key.split("#")[0]


def select_background(scale: float) -> list[Vessel]:
    """The background fleet for ``scale``: role vessels always, others round(n * scale) per kind."""
    if scale < 0:
        raise ValueError("scale must be >= 0")
    out = [v for v in BACKGROUND if "always" in v.tags]
    by_kind: dict[str, list[Vessel]] = {}
    for v in BACKGROUND:
        if "always" not in v.tags:
            by_kind.setdefault(v.kind, []).append(v)
    for members in by_kind.values():
        n = round(len(members) * scale)
        for i in range(n):
            template = members[i % len(members)]
            copy = i // len(members)
            out.append(template if copy == 0 else _clone(template, copy))
    return out


def _clone(v: Vessel, n: int) -> Vessel:
    ident = v.identity
    imo = imo_with_check_digit(ident.imo // 10 + 50 * n) if ident.imo else 0
    new = dataclasses.replace(ident, name=f"{ident.name} {n + 1}"[:20], imo=imo,
                              call_sign=f"{ident.call_sign[:5]}{n}"[:7])
    return dataclasses.replace(v, key=f"{v.key}#{n}", mmsi=v.mmsi + 1000 * n,
                               identities=(("2023-01-01", new),))


def _liner(b: TrackBuilder, rng: np.random.Generator, v: Vessel, hook: Hook | None = None) -> None:
    ports, stay_h, loads_at = LINERS[template_key(v.key)]
    ballast_m, laden_m = DRAUGHT_M[v.kind]
    b.wait(START_S + int(rng.uniform(0, 4 * DAY_S)))  # phase: liners do not all sail on day one
    i = 0
    while b.now_s < END_S:
        here, nxt = ports[i % len(ports)], ports[(i + 1) % len(ports)]
        speed = v.cruise_knots + float(rng.uniform(-0.5, 0.5))
        draught = laden_m if here in loads_at else ballast_m
        if hook is None or not hook(b, nxt, speed):
            b.set_voyage(_PORT_TEXT[nxt], draught, b.now_s + b.sail_seconds(nxt, speed))
            b.sail(nxt, speed)
        b.wait(b.now_s + int(rng.uniform(*stay_h) * HOUR_S))
        i += 1


def plan_sts_tanker(v: Vessel, rng: np.random.Generator) -> tuple[Plan, dict[str, int]]:
    """The Kozmino tanker; on its first departure after STS_EARLIEST it stops for the transfer."""
    info: dict[str, int] = {}

    def sts(b: TrackBuilder, nxt: str, speed: float) -> bool:
        if info or b.place != "kozmino" or b.now_s < ts(STS_EARLIEST):
            return False
        b.set_voyage(_PORT_TEXT[nxt], DRAUGHT_M["tanker"][1])
        b.sail_direct(*STS_POINT, speed, "open water SE of Askold")
        info["arrive_s"] = b.now_s
        info["alongside_s"] = b.now_s + STS_WAIT_S
        info["cast_off_s"] = info["alongside_s"] + STS_ALONGSIDE_S
        b.drift(info["cast_off_s"] + 1800, rng, speed_knots=(0.2, 0.9), radius_m=1200)
        info["leave_s"] = b.now_s
        b.set_voyage(_PORT_TEXT[nxt], 13.9, b.now_s + b.sail_seconds(nxt, speed, join="sea_of_japan_north"))
        b.sail(nxt, speed, join="sea_of_japan_north")
        return True

    b = builder(v, LINERS["tank1"][0][0], rng)
    _liner(b, rng, v, sts)
    plan = finish_plan(v, b)
    plan.loitering.append(_loiter_truth(v, plan.track, info["arrive_s"], info["leave_s"],
                                        "drifting before, during and after the ship-to-ship transfer"))
    return plan, info


def plan_sts_partner(v: Vessel, rng: np.random.Generator, tanker: Vessel, tanker_track: Track,
                     info: dict[str, int]) -> Plan:
    """The small tanker: from Busan to the big tanker, alongside, then towards the DPRK coast, dark."""
    b = builder(v, "busan", rng)
    speed = v.cruise_knots
    t_along, t_off = info["alongside_s"], info["cast_off_s"]
    pos = tanker_track.sample(np.array([t_along]))
    north, east = STS_OFFSET_M
    rv_lat = float(pos["lat_deg"][0]) + north / 111_195.0
    rv_lon = float(pos["lon_deg"][0]) + east / (111_195.0 * np.cos(np.radians(rv_lat)))
    join = WAYPOINTS["sea_of_japan_north"]
    run_s = b.sail_seconds("sea_of_japan_north", speed) + float(
        distance_m(join[0], join[1], rv_lat, rv_lon)) / (speed * KNOT_MPS)
    b.wait(t_along - int(run_s) - 1200)  # arrive a little early and hold position
    b.set_voyage("NAKHODKA", 6.2, t_along)
    b.sail("sea_of_japan_north", speed)
    b.sail_direct(rv_lat, rv_lon, speed, "open water SE of Askold")
    b.wait(t_along, Mode.SLOW)
    b.follow(tanker_track, t_off, STS_OFFSET_M)
    b.set_voyage("FOR ORDERS", 7.6)  # deeper after taking cargo
    leg = b.sail_direct(*OFF_CHONGJIN, speed, "off Chongjin (DPRK)")
    dark = [(leg.time_after_m(25 * METRES_PER_NM), END_S, "transponder off after the transfer; not seen again")]
    plan = finish_plan(v, b, dark=dark)
    mid = tanker_track.sample(np.arange(t_along, t_off, 600))
    plan.encounters.append({
        "mmsi_a": tanker.mmsi, "mmsi_b": v.mmsi, "name_a": tanker.identity.name, "name_b": v.identity.name,
        "start_s": t_along, "end_s": t_off, "lat_deg": round(float(mid["lat_deg"].mean()), 5),
        "lon_deg": round(float(mid["lon_deg"].mean()), 5),
        "separation_m": round(float(np.hypot(*STS_OFFSET_M)), 1),
        "note": "ship-to-ship transfer in open water, both transmitting; the small tanker goes dark afterwards",
    })
    plan.loitering.append(_loiter_truth(v, plan.track, t_along, t_off, "alongside the tanker"))
    return plan


def plan_loiterer(v: Vessel, rng: np.random.Generator) -> Plan:
    """Coal carrier: on its first run to Vostochny after LOITER_EARLIEST it drifts offshore first."""
    info: dict[str, int] = {}

    def loiter(b: TrackBuilder, nxt: str, speed: float) -> bool:
        if info or nxt != "vostochny" or b.now_s < ts(LOITER_EARLIEST):
            return False
        b.set_voyage(_PORT_TEXT[nxt], DRAUGHT_M["bulk"][0])
        b.sail("sea_of_japan_north", speed)
        b.sail_direct(*LOITER_POINT, speed, "awaiting orders SE of Nakhodka")
        info["start_s"] = b.now_s
        b.drift(b.now_s + LOITER_S, rng, speed_knots=(0.1, 0.8), radius_m=1500)
        info["end_s"] = b.now_s
        b.set_voyage(_PORT_TEXT[nxt], DRAUGHT_M["bulk"][0], b.now_s + b.sail_seconds(nxt, speed, join="povorotny_south"))
        b.sail(nxt, speed, join="povorotny_south")
        return True

    b = builder(v, LINERS["bulk1"][0][0], rng)
    _liner(b, rng, v, loiter)
    plan = finish_plan(v, b)
    plan.loitering.append(_loiter_truth(v, plan.track, info["start_s"], info["end_s"], "awaiting orders offshore"))
    return plan


def _loiter_truth(v: Vessel, track: Track, start_s: int, end_s: int, note: str) -> dict[str, Any]:
    s = track.sample(np.arange(start_s, end_s, 600))
    return {"mmsi": v.mmsi, "name": v.identity.name, "start_s": start_s, "end_s": end_s,
            "lat_deg": round(float(s["lat_deg"].mean()), 5), "lon_deg": round(float(s["lon_deg"].mean()), 5),
            "note": note}


def plan_ferry(v: Vessel, rng: np.random.Generator) -> Plan:
    """Daily Vladivostok 08:00 local (22:00 UTC) -> Slavyanka, back at 14:00 local, until the season ends."""
    b = builder(v, "vladivostok", rng)
    day = START_S
    season_end = ts(FERRY_SEASON_END)
    while day + DAY_S < season_end:
        if rng.random() < 0.9:
            b.wait(day + 22 * HOUR_S + int(rng.integers(0, 600)))
            b.set_voyage("SLAVYANKA", 2.9)
            b.sail("slavyanka", v.cruise_knots)
            b.wait(day + 28 * HOUR_S)
            b.set_voyage("VLADIVOSTOK", 2.9)
            b.sail("vladivostok", v.cruise_knots)
        day += DAY_S
    layup = max(season_end, b.now_s) + 6 * HOUR_S
    return finish_plan(v, b, dark=[(layup, END_S, "laid up for the winter, AIS off")])


def plan_fishing(v: Vessel, rng: np.random.Generator) -> Plan:
    """Day trips to the boat's own ground; lay-up with AIS off from mid-December."""
    home, (g_lat, g_lon) = FISHING_GROUNDS[template_key(v.key)]
    b = builder(v, home, rng)
    season_end = ts(FISHING_SEASON_END)
    day = START_S
    while day + DAY_S <= season_end:
        if rng.random() < 0.6:  # weather, repairs, days off
            b.wait(day + 20 * HOUR_S + int(rng.integers(0, 2 * HOUR_S)))
            lat = g_lat + float(rng.uniform(-0.012, 0.012))
            lon = g_lon + float(rng.uniform(-0.016, 0.016))
            b.sail_direct(lat, lon, v.cruise_knots, "fishing ground")
            b.drift(b.now_s + int(rng.uniform(6, 10) * HOUR_S), rng, speed_knots=(0.5, 3.5),
                    radius_m=3500, mode=Mode.FISHING, heading_sd_deg=35)
            b.sail_direct(0.0, 0.0, v.cruise_knots, home)
        day += DAY_S
    layup = max(season_end, b.now_s) + 6 * HOUR_S
    return finish_plan(v, b, dark=[(layup, END_S, "laid up for the winter, AIS off")])


def _rng(seed: int, key: str) -> np.random.Generator:
    # One stream per vessel, keyed by name: adding a vessel (or scaling) leaves the others unchanged.
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def plan_fleet(seed: int, scale: float) -> list[Plan]:
    """Plans for every vessel of the scenario, principal cast first."""
    angara, maria = principal_cast()
    plans = [plan_angara(angara, _rng(seed, angara.key)), plan_maria(maria, _rng(seed, maria.key))]
    fleet = select_background(scale)
    tanker = next(v for v in fleet if v.key == "tank1")
    tanker_plan, info = plan_sts_tanker(tanker, _rng(seed, tanker.key))
    for v in fleet:
        rng = _rng(seed, v.key)
        kind = template_key(v.key)
        if v.key == "tank1":
            plans.append(tanker_plan)
        elif v.key == "sts_partner":
            plans.append(plan_sts_partner(v, rng, tanker, tanker_plan.track, info))
        elif v.key == "bulk1":
            plans.append(plan_loiterer(v, rng))
        elif v.kind == "passenger":
            plans.append(plan_ferry(v, rng))
        elif v.kind == "fishing":
            plans.append(plan_fishing(v, rng))
        elif kind in LINERS:
            b = builder(v, LINERS[kind][0][0], rng)
            _liner(b, rng, v)
            plans.append(finish_plan(v, b))
        else:
            raise ValueError(f"no itinerary for {v.key}")
    return plans
