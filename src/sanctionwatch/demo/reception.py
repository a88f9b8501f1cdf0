"""What the receivers kept: coastal stations in range, satellite passes, and the static messages.

A vessel "transmits" at logged intervals (class A every 2-10 min under way and 6-30 min alongside;
class B every 30 s-3 min, of which a third survive: small 2 W sets collide and fade). A transmission
is kept by a coastal receiver with a probability that falls with distance (class A to about 40 nm,
class B about 20 nm). A satellite pass (a few a day, 10 min each) catches each transmitting vessel
with some probability. Nothing is received while a transponder is off.

Finally every pair of consecutive written positions of a vessel is checked against the land mask.
A straight line between two sparse satellite fixes can cut a headland the ship sailed around, so
such a gap gets one more satellite catch from the ship's real transmissions in between, until no
line crosses land. A line that crosses land across a *dark* period cannot be fixed this way, so it
is an error in the story and the build stops.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from sanctionwatch.demo.places import RECEIVERS
from sanctionwatch.demo.routes import METRES_PER_NM
from sanctionwatch.demo.story import DAY_S, END_S, START_S, Plan
from sanctionwatch.demo.tracks import Mode, Track, distance_m
from sanctionwatch.geo import LandMask

__all__ = ["Reports", "receive_all", "satellite_passes"]

# Logged reporting intervals, seconds (min, max), by transceiver class and motion. ITU-R M.1371-5
# rates are 2-10 s under way (class A) and 30 s-3 min (class B); receivers and loggers thin them.
INTERVAL_S = {
    ("A", "moving"): (120, 600),
    ("A", "slow"): (180, 600),
    ("A", "stationary"): (360, 1800),
    ("B", "moving"): (30, 180),
    ("B", "slow"): (30, 180),
    ("B", "stationary"): (180, 600),
}
CLASS_B_KEEP_P = 0.2  # share of class B transmissions that survive collisions, fading and logging
# Static messages kept about every 30 min for class A (type 5, sent every 6 min) and every hour for
# class B (type 24 parts A and B, weaker and sent less often).
STATIC_INTERVAL_S = {"A": (1200, 2400), "B": (2400, 4800)}
# Terrestrial range: reception is near certain up to FULL and fades to nothing at MAX (nm).
RANGE_NM = {"A": (30.0, 45.0), "B": (12.0, 22.0)}
TERRESTRIAL_MAX_P = 0.95
DUPLICATE_P = 0.03  # a second station's copy of the same message is logged too
SAT_PASSES_PER_DAY = (4, 6)
SAT_PASS_S = 600
SAT_CATCH_P = {"A": 0.55, "B": 0.2}
SAT_FORCED_PER_WINDOW = 3  # story beats a satellite must show (e.g. ANGARA in the Korea Strait)
POSITION_NOISE_M = {"A": 4.0, "B": 8.0}  # GNSS scatter, 1 sigma
NMEA_LATLON_STEP_DEG = 1 / 600_000  # AIS positions are in 1/10000 minute
MAX_FIX_ROUNDS = 50

NAV_STATUS = {Mode.MOORED: 5, Mode.ANCHORED: 1, Mode.UNDERWAY: 0, Mode.SLOW: 0, Mode.FISHING: 7}


@dataclass
class Reports:
    """One vessel's transmissions that reached a receiver (indexed like ``t_s``)."""

    plan: Plan
    t_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_knots: np.ndarray
    cog_deg: np.ndarray
    heading_deg: np.ndarray  # 511 = not available
    nav_status: np.ndarray
    station: np.ndarray  # index into RECEIVERS, -1 = no coastal station kept it
    duplicate_station: np.ndarray  # a second coastal copy, -1 = none
    satellite: np.ndarray  # bool: in the satellite provider's export
    fixed: int  # satellite catches added so that no line crosses land
    static_t_s: np.ndarray
    static_station: np.ndarray

    @property
    def written(self) -> np.ndarray:
        return (self.station >= 0) | self.satellite


def satellite_passes(rng: np.random.Generator) -> np.ndarray:
    """Start times of the satellite passes over the region."""
    starts = []
    for day in range(START_S, END_S, DAY_S):
        n = int(rng.integers(SAT_PASSES_PER_DAY[0], SAT_PASSES_PER_DAY[1] + 1))
        starts.append(day + np.sort(rng.integers(0, DAY_S - SAT_PASS_S, n)))
    return np.concatenate(starts).astype(np.int64)


def _motion(mode: np.ndarray) -> np.ndarray:
    out = np.full(mode.shape, "moving", dtype=object)
    out[(mode == Mode.SLOW) | (mode == Mode.FISHING)] = "slow"
    out[(mode == Mode.MOORED) | (mode == Mode.ANCHORED)] = "stationary"
    return out


def _transmissions(track: Track, cls: str, rng: np.random.Generator) -> np.ndarray:
    """Logged transmission times: runs of equal motion class, each with its own interval range."""
    in_window = (track.t_s[1:] > START_S) & (track.t_s[:-1] < END_S)
    motion = _motion(track.mode)
    times = []
    seg = np.flatnonzero(in_window)
    # Group consecutive segments of the same motion class into runs.
    breaks = np.flatnonzero((np.diff(seg) != 1) | (motion[seg[1:]] != motion[seg[:-1]])) + 1
    for run in np.split(seg, breaks):
        if len(run) == 0:
            continue
        t0 = max(int(track.t_s[run[0]]), START_S)
        t1 = min(int(track.t_s[run[-1] + 1]), END_S)
        lo, hi = INTERVAL_S[(cls, motion[run[0]])]
        n = int((t1 - t0) / lo) + 2
        t = t0 + rng.integers(0, hi) + np.cumsum(rng.integers(lo, hi + 1, n))
        times.append(t[t < t1])
    out = np.concatenate(times).astype(np.int64)
    if cls == "B":
        out = out[rng.random(len(out)) < CLASS_B_KEEP_P]
    return np.unique(out)


def _dark_mask(t_s: np.ndarray, dark: list[tuple[int, int, str]]) -> np.ndarray:
    off = np.zeros(len(t_s), dtype=bool)
    for start, end, _ in dark:
        off |= (t_s >= start) & (t_s < end)
    return off


def _receiver_p(lat: np.ndarray, lon: np.ndarray, cls: str) -> np.ndarray:
    """(n, receivers) probability that each coastal receiver keeps the message."""
    full_nm, max_nm = RANGE_NM[cls]
    d_nm = np.stack([distance_m(lat, lon, r.lat_deg, r.lon_deg) for r in RECEIVERS], axis=1) / METRES_PER_NM
    return TERRESTRIAL_MAX_P * np.clip((max_nm - d_nm) / (max_nm - full_nm), 0.0, 1.0)


def _terrestrial(p: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    got = rng.random(p.shape) < p
    order = np.argsort(-p, axis=1, kind="stable")  # nearest (most likely) station first
    got_sorted = np.take_along_axis(got, order, axis=1)
    first = np.where(got_sorted.any(axis=1), order[np.arange(len(p)), np.argmax(got_sorted, axis=1)], -1)
    # A second station that also heard it; its copy is logged now and then.
    second_got = got_sorted.copy()
    second_got[np.arange(len(p)), np.argmax(got_sorted, axis=1)] = False
    has_second = second_got.any(axis=1) & (first >= 0) & (rng.random(len(p)) < DUPLICATE_P)
    second = np.where(has_second, order[np.arange(len(p)), np.argmax(second_got, axis=1)], -1)
    return first.astype(np.int64), second.astype(np.int64)


def _satellite(t_s: np.ndarray, passes: np.ndarray, cls: str, rng: np.random.Generator) -> np.ndarray:
    """Which transmissions a satellite caught: per pass, one or two with probability SAT_CATCH_P."""
    sat = np.zeros(len(t_s), dtype=bool)
    k = np.searchsorted(passes, t_s, side="right") - 1
    inside = (k >= 0) & (t_s - passes[np.maximum(k, 0)] < SAT_PASS_S)
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return sat
    pass_of = k[idx]
    caught = rng.random(len(passes)) < SAT_CATCH_P[cls]
    quota = rng.integers(1, 3, len(passes))
    order = np.lexsort((rng.random(len(idx)), pass_of))
    idx, pass_of = idx[order], pass_of[order]
    first_of_pass = np.concatenate([[True], pass_of[1:] != pass_of[:-1]])
    start = np.maximum.accumulate(np.where(first_of_pass, np.arange(len(idx)), 0))
    rank = np.arange(len(idx)) - start
    sat[idx[caught[pass_of] & (rank < quota[pass_of])]] = True
    return sat


def _force_windows(t_s: np.ndarray, sat: np.ndarray, windows: list[tuple[int, int]]) -> None:
    for w0, w1 in windows:
        idx = np.flatnonzero((t_s >= w0) & (t_s < w1))
        if len(idx) == 0:
            raise ValueError(f"no transmissions in the satellite window {w0}-{w1}")
        if sat[idx].sum() < SAT_FORCED_PER_WINDOW:
            picks = np.linspace(0, len(idx) - 1, SAT_FORCED_PER_WINDOW).round().astype(int)
            sat[idx[picks]] = True


def _fix_land_crossings(r: Reports, land: LandMask) -> None:
    """Add satellite catches until no straight line between written positions crosses land."""
    w = np.flatnonzero(r.written)
    a, b = w[:-1], w[1:]
    for _ in range(MAX_FIX_ROUNDS):
        cross = np.asarray(land.crosses_land(r.lat_deg[a], r.lon_deg[a], r.lat_deg[b], r.lon_deg[b]), dtype=bool)
        a, b = a[cross], b[cross]
        if len(a) == 0:
            return
        if np.any(b - a < 2):
            i = int(a[np.argmax(b - a < 2)])
            raise ValueError(
                f"{r.plan.vessel.identity.name}: the line from ({r.lat_deg[i]:.4f}, {r.lon_deg[i]:.4f}) to "
                f"({r.lat_deg[i + 1]:.4f}, {r.lon_deg[i + 1]:.4f}) crosses land with no transmission in "
                "between (a dark period or a track too close to the coast)")
        mid = (a + b) // 2
        r.satellite[mid] = True
        r.fixed += len(mid)
        # Only the two new lines around each added catch need checking again.
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
    raise RuntimeError(f"{r.plan.vessel.identity.name}: land crossings remain after {MAX_FIX_ROUNDS} rounds")


def receive(plan: Plan, passes: np.ndarray, rng: np.random.Generator, land: LandMask) -> Reports:
    v = plan.vessel
    cls = v.transceiver_class
    t = _transmissions(plan.track, cls, rng)
    t = t[~_dark_mask(t, plan.dark)]
    s = plan.track.sample(t)
    n = len(t)
    # GNSS scatter, then the AIS grid of 1/10000 minute.
    noise = rng.normal(0.0, POSITION_NOISE_M[cls], (n, 2))
    lat = s["lat_deg"] + noise[:, 0] / 111_195.0
    lon = s["lon_deg"] + noise[:, 1] / (111_195.0 * np.cos(np.radians(s["lat_deg"])))
    lat = np.round(lat / NMEA_LATLON_STEP_DEG) * NMEA_LATLON_STEP_DEG
    lon = np.round(lon / NMEA_LATLON_STEP_DEG) * NMEA_LATLON_STEP_DEG
    stationary = (s["mode"] == Mode.MOORED) | (s["mode"] == Mode.ANCHORED) | (s["sog_knots"] < 0.05)
    sog = np.where(stationary, np.abs(rng.normal(0.0, 0.05, n)), s["sog_knots"] + rng.normal(0.0, 0.15, n))
    sog = np.round(np.clip(sog, 0.0, 102.2), 1)
    # At rest the GNSS course is noise; under way it scatters a degree or two around the track.
    cog = np.where(stationary, rng.uniform(0.0, 360.0, n), s["cog_deg"] + rng.normal(0.0, 1.5, n))
    cog = np.round(cog % 360.0, 1) % 360.0
    if cls == "A":
        heading = np.round(s["heading_deg"] + rng.normal(0.0, 1.0, n)).astype(np.int64) % 360
        status = np.vectorize(NAV_STATUS.__getitem__, otypes=[np.int64])(s["mode"]) if n else np.zeros(0, np.int64)
    else:
        heading = np.full(n, 511, dtype=np.int64)  # small craft rarely have a heading sensor
        status = np.full(n, 15, dtype=np.int64)  # not sent in type 18
    station, duplicate = _terrestrial(_receiver_p(lat, lon, cls), rng)
    sat = _satellite(t, passes, cls, rng)
    _force_windows(t, sat, plan.sat_windows)
    # Static messages: type 5 (class A) or 24 (class B), coastal receivers only.
    st = _static_times(plan, rng)
    st = st[~_dark_mask(st, plan.dark)]
    ss = plan.track.sample(st)
    static_station, _ = _terrestrial(_receiver_p(ss["lat_deg"], ss["lon_deg"], cls), rng)
    keep = static_station >= 0
    r = Reports(plan, t, lat, lon, sog, cog, heading, status, station, duplicate, sat, 0,
                st[keep], static_station[keep])
    _fix_land_crossings(r, land)
    return r


def _static_times(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    lo, hi = STATIC_INTERVAL_S[plan.vessel.transceiver_class]
    n = (END_S - START_S) // lo + 2
    t = START_S + rng.integers(0, hi) + np.cumsum(rng.integers(lo, hi + 1, n))
    return t[t < END_S].astype(np.int64)


def receive_all(plans: list[Plan], seed: int, land: LandMask) -> list[Reports]:
    passes = satellite_passes(np.random.default_rng([seed, zlib.crc32(b"satellite passes")]))
    return [receive(p, passes, np.random.default_rng([seed, zlib.crc32(f"rx:{p.vessel.key}".encode())]), land)
            for p in plans]
