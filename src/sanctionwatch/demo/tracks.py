"""True tracks of simulated vessels: piecewise-linear in time, built stay by stay and leg by leg.

A :class:`TrackBuilder` moves one vessel through its itinerary (moor, sail a lane route, drift,
fish) and records the truth as it goes: legs, port calls and voyage data (AIS destination and
draught). :class:`Track` is the finished result. It gives position, speed over ground and course
at any instant, so every receiver samples the same underlying truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sanctionwatch.demo.places import PLACES
from sanctionwatch.demo.routes import METRES_PER_NM, route
from sanctionwatch.geo import haversine_m, initial_bearing_deg

__all__ = ["Leg", "Mode", "PortCall", "Track", "TrackBuilder", "distance_m"]

FloatLike = float | np.ndarray
KNOT_MPS = METRES_PER_NM / 3600.0


class Mode:
    """What a vessel is doing on a track segment (drives AIS nav status and reporting rate)."""

    MOORED = 0
    ANCHORED = 1
    UNDERWAY = 2
    SLOW = 3  # drifting or loitering at sea
    FISHING = 4


def distance_m(lat1: FloatLike, lon1: FloatLike, lat2: FloatLike, lon2: FloatLike) -> np.ndarray:
    """Great-circle distance in metres, always as an array (``geo.haversine_m`` returns floats for scalars)."""
    return np.asarray(haversine_m(lat1, lon1, lat2, lon2), dtype=np.float64)


def bearing_deg(lat1: FloatLike, lon1: FloatLike, lat2: FloatLike, lon2: FloatLike) -> np.ndarray:
    return np.asarray(initial_bearing_deg(lat1, lon1, lat2, lon2), dtype=np.float64)


def _step(lat: float, lon: float, bearing: float, dist: float) -> tuple[float, float]:
    """Move ``dist`` metres from (lat, lon) on ``bearing`` (flat-Earth; steps here are < 2 km)."""
    dlat = dist * math.cos(math.radians(bearing)) / 111_195.0
    dlon = dist * math.sin(math.radians(bearing)) / (111_195.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def passage(points: Sequence[tuple[float, float]], speed_knots: float, approach_knots: float = 7.0,
            approach_m: float = 2.5 * METRES_PER_NM, slow_start: bool = True, slow_end: bool = True,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Knots of a passage along ``points``: cumulative metres, lat, lon, and seconds per segment.

    Extra knots mark where the slow approach zones at each end begin and end, so the speed
    changes there and not before.
    """
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    cum = np.concatenate([[0.0], np.cumsum(distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))])
    total = float(cum[-1])
    zones = total > 2 * approach_m
    marks = [m for m, on in ((approach_m, slow_start), (total - approach_m, slow_end)) if on and zones]
    all_cum = np.unique(np.concatenate([cum, marks]))
    mid = (all_cum[:-1] + all_cum[1:]) / 2
    slow = np.zeros(len(mid), dtype=bool)
    if zones and slow_start:
        slow |= mid < approach_m
    if zones and slow_end:
        slow |= mid > total - approach_m
    speed_mps = np.where(slow, approach_knots, speed_knots) * KNOT_MPS
    return all_cum, np.interp(all_cum, cum, lat), np.interp(all_cum, cum, lon), np.diff(all_cum) / speed_mps


@dataclass(frozen=True)
class Leg:
    """One passage: from a place (or a sea point) to another, with its knots for time look-ups."""

    origin: str
    destination: str
    depart_s: int
    arrive_s: int
    t_s: np.ndarray = field(repr=False)
    cum_m: np.ndarray = field(repr=False)
    lat_deg: np.ndarray = field(repr=False)
    lon_deg: np.ndarray = field(repr=False)

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    def time_after_m(self, metres: float) -> int:
        """When the vessel has covered ``metres`` of this leg."""
        return int(np.interp(min(metres, self.length_m), self.cum_m, self.t_s))

    def time_before_arrival_m(self, metres: float) -> int:
        """When ``metres`` of this leg remain."""
        return int(np.interp(max(self.length_m - metres, 0.0), self.cum_m, self.t_s))

    def metres_at_latitude(self, lat_deg: float) -> float:
        """Distance along the leg where it first crosses ``lat_deg`` (either direction)."""
        side = np.sign(self.lat_deg - lat_deg)
        i = int(np.argmax(side != side[0]))
        if i == 0:
            raise ValueError(f"leg {self.origin}->{self.destination} never crosses latitude {lat_deg}")
        f = (lat_deg - self.lat_deg[i - 1]) / (self.lat_deg[i] - self.lat_deg[i - 1])
        return float(self.cum_m[i - 1] + f * (self.cum_m[i] - self.cum_m[i - 1]))


@dataclass(frozen=True)
class PortCall:
    """A stay at a place; ``arrive_s`` None = already there at the start, ``depart_s`` None = still there."""

    port: str
    arrive_s: int | None
    depart_s: int | None


@dataclass
class Track:
    """Knots (time, lat, lon) and the mode of each segment between consecutive knots."""

    t_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    mode: np.ndarray  # len(t_s) - 1
    heading_deg: np.ndarray = field(init=False)  # per segment: course when moving, else the last one

    def __post_init__(self) -> None:
        lat0, lat1 = self.lat_deg[:-1], self.lat_deg[1:]
        lon0, lon1 = self.lon_deg[:-1], self.lon_deg[1:]
        moving = distance_m(lat0, lon0, lat1, lon1) > 1.0
        course = bearing_deg(lat0, lon0, lat1, lon1)
        # A moored ship keeps the heading it arrived with: forward-fill the last moving course.
        last = np.maximum.accumulate(np.where(moving, np.arange(len(moving)), -1))
        self.heading_deg = np.where(last >= 0, course[np.maximum(last, 0)], 0.0)

    def segment_at(self, times_s: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.t_s, times_s, side="right") - 1
        return np.clip(idx, 0, len(self.t_s) - 2)

    def sample(self, times_s: np.ndarray) -> dict[str, np.ndarray]:
        """Position, speed over ground (kn), course (deg) and mode at each time."""
        k = self.segment_at(times_s)
        t0, t1 = self.t_s[k], self.t_s[k + 1]
        dt = (t1 - t0).astype(float)
        frac = np.where(dt > 0, (times_s - t0) / np.where(dt > 0, dt, 1.0), 0.0)
        lat0, lat1 = self.lat_deg[k], self.lat_deg[k + 1]
        lon0, lon1 = self.lon_deg[k], self.lon_deg[k + 1]
        seg_m = distance_m(lat0, lon0, lat1, lon1)
        sog = np.where(dt > 0, seg_m / np.where(dt > 0, dt, 1.0) / KNOT_MPS, 0.0)
        return {
            "lat_deg": lat0 + frac * (lat1 - lat0),
            "lon_deg": lon0 + frac * (lon1 - lon0),
            "sog_knots": sog,
            "cog_deg": bearing_deg(lat0, lon0, lat1, lon1),
            "heading_deg": self.heading_deg[k],
            "mode": self.mode[k],
        }


@dataclass
class TrackBuilder:
    """Moves one vessel through its itinerary, appending knots and recording the truth."""

    place: str | None  # where the vessel is now (None at sea)
    start_s: int
    berth_offset_deg: tuple[float, float] = (0.0, 0.0)  # each ship gets its own spot at a quay
    t: list[int] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    port_calls: list[PortCall] = field(default_factory=list)
    # (from_s, AIS destination, draught_m, ETA unix s or None): what the crew types into the AIS unit
    voyage_data: list[tuple[int, str, float, int | None]] = field(default_factory=list)
    _arrived_s: int | None = None

    def __post_init__(self) -> None:
        if self.place is None:
            raise ValueError("a track starts at a place")
        lat, lon = self.berth(self.place)
        self.t, self.lat, self.lon = [self.start_s], [lat], [lon]
        self._arrived_s = None  # already there when the scenario starts

    # -- where and when ---------------------------------------------------------------------
    @property
    def now_s(self) -> int:
        return self.t[-1]

    @property
    def position(self) -> tuple[float, float]:
        return self.lat[-1], self.lon[-1]

    def berth(self, place: str) -> tuple[float, float]:
        p = PLACES[place]
        return p.berth_lat_deg + self.berth_offset_deg[0], p.berth_lon_deg + self.berth_offset_deg[1]

    def set_voyage(self, destination: str, draught_m: float, eta_s: int | None = None,
                   from_s: int | None = None) -> None:
        self.voyage_data.append((self.now_s if from_s is None else from_s, destination, draught_m, eta_s))

    def _knot(self, t_s: int, lat: float, lon: float, mode: int) -> None:
        if t_s < self.t[-1]:
            raise ValueError(f"time goes backwards: {t_s} < {self.t[-1]}")
        if t_s == self.t[-1]:
            return
        self.t.append(int(t_s))
        self.lat.append(float(lat))
        self.lon.append(float(lon))
        self.modes.append(mode)

    # -- activities -------------------------------------------------------------------------
    def wait(self, until_s: int, mode: int = Mode.MOORED) -> None:
        """Stay where the vessel is (at a berth, at anchor, or stopped at sea) until ``until_s``."""
        if until_s <= self.now_s:
            return
        lat, lon = self.position
        self._knot(until_s, lat, lon, mode)

    def sail(self, destination: str, speed_knots: float, *, via: Sequence[str] = (), join: str | None = None) -> Leg:
        """Sail the lane route to ``destination`` (a place, or a waypoint when stopping at sea).

        From a berth the route starts at the current place; from a point at sea, ``join`` names the
        first waypoint to head for. Ships slow down for the first and last miles at a berth.
        """
        points, slow_start, slow_end = self._route_points(destination, via, join)
        origin = self.place if self.place is not None else "sea"
        return self._sail_points(points, origin, destination, speed_knots, slow_start, slow_end)

    def sail_seconds(self, destination: str, speed_knots: float, *, via: Sequence[str] = (),
                     join: str | None = None) -> int:
        """How long :meth:`sail` would take from here, without moving."""
        points, slow_start, slow_end = self._route_points(destination, via, join)
        return round(float(passage(points, speed_knots, slow_start=slow_start, slow_end=slow_end)[3].sum()))

    def _route_points(self, destination: str, via: Sequence[str],
                      join: str | None) -> tuple[list[tuple[float, float]], bool, bool]:
        origin = self.place if self.place is not None else join
        if origin is None:
            raise ValueError("at sea: say which waypoint to join")
        points = route(origin, destination, via)
        if self.place is not None:
            points[0] = self.position
        else:
            points.insert(0, self.position)
        if destination in PLACES:
            points[-1] = self.berth(destination)
        return points, self.place is not None, destination in PLACES

    def _sail_points(self, points: list[tuple[float, float]], origin: str, destination: str,
                     speed_knots: float, slow_start: bool, slow_end: bool) -> Leg:
        cum, lat, lon, seg_s = passage(points, speed_knots, slow_start=slow_start, slow_end=slow_end)
        times = np.round(self.now_s + np.concatenate([[0.0], np.cumsum(seg_s)])).astype(np.int64)
        if self.place is not None:
            self._close_port_call()
        depart = self.now_s
        for i in range(1, len(cum)):
            self._knot(int(times[i]), float(lat[i]), float(lon[i]), Mode.UNDERWAY)
        leg = Leg(origin, destination, depart, self.now_s, times.astype(float), cum, lat, lon)
        self.legs.append(leg)
        if destination in PLACES:
            self.place = destination
            self._arrived_s = self.now_s
        else:
            self.place = None
        return leg

    def sail_direct(self, lat: float, lon: float, speed_knots: float, label: str) -> Leg:
        """Sail straight to a point at sea, or to a berth when ``label`` is a place."""
        end_at_berth = label in PLACES
        target = self.berth(label) if end_at_berth else (lat, lon)
        origin = self.place if self.place is not None else "sea"
        return self._sail_points([self.position, target], origin, label, speed_knots,
                                 self.place is not None, end_at_berth)

    def drift(self, until_s: int, rng: np.random.Generator, *, speed_knots: tuple[float, float] = (0.2, 1.2),
              radius_m: float = 1500.0, step_s: int = 600, mode: int = Mode.SLOW,
              heading_sd_deg: float = 25.0) -> None:
        """Wander slowly (current, wind, a fishing pattern) while staying near where it started."""
        centre = self.position
        heading = float(rng.uniform(0, 360))
        while self.now_s < until_s:
            dt = min(step_s, until_s - self.now_s)
            lat, lon = self.position
            # Flat-Earth offsets are plenty within a few km (and much cheaper per step).
            north = (centre[0] - lat) * 111_195.0
            east = (centre[1] - lon) * 111_195.0 * math.cos(math.radians(lat))
            if math.hypot(north, east) > radius_m:  # steer back towards the centre of the area
                heading = math.degrees(math.atan2(east, north)) % 360
            heading = (heading + float(rng.normal(0, heading_sd_deg))) % 360
            v = float(rng.uniform(*speed_knots)) * KNOT_MPS
            self._knot(self.now_s + dt, *_step(lat, lon, heading, v * dt), mode)

    def follow(self, other: Track, until_s: int, offset_m: tuple[float, float], mode: int = Mode.SLOW) -> None:
        """Keep station on another vessel (alongside for a ship-to-ship transfer)."""
        times = other.t_s[(other.t_s > self.now_s) & (other.t_s <= until_s)]
        if len(times) == 0 or times[-1] != until_s:
            times = np.append(times, until_s)
        s = other.sample(times)
        dlat = offset_m[0] / 111_195.0
        dlon = offset_m[1] / (111_195.0 * np.cos(np.radians(s["lat_deg"])))
        for t, la, lo in zip(times, s["lat_deg"] + dlat, s["lon_deg"] + dlon, strict=True):
            self._knot(int(t), float(la), float(lo), mode)

    # -- bookkeeping ------------------------------------------------------------------------
    def _close_port_call(self) -> None:
        if self.place is not None:
            self.port_calls.append(PortCall(self.place, self._arrived_s, self.now_s))

    def finish(self, end_s: int) -> Track:
        """Hold the last state until ``end_s`` and return the track."""
        last_mode = self.modes[-1] if self.modes else Mode.MOORED
        if self.now_s < end_s:
            self.wait(end_s, Mode.MOORED if self.place is not None else last_mode)
        if self.place is not None:
            self.port_calls.append(PortCall(self.place, self._arrived_s, None))
        return Track(np.array(self.t, dtype=np.int64), np.array(self.lat), np.array(self.lon),
                     np.array(self.modes, dtype=np.int8))
