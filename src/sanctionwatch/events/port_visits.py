"""Port visits: an explicit state machine with hysteresis (after GFW pipe-anchorages).

Per segment, positions in time order drive three states -- ``AT_SEA``, ``IN_PORT``, ``STOPPED``:

* in port when within the entry distance of a port (``events.port_entry_distance_km``, 3 km; a
  watched area's own ``radius_m`` instead; inside a polygon); out of port at the exit distance
  (4 km; radius x exit/entry; 1 km outside a polygon) or more; in between the previous state is
  kept, so a vessel hovering between 3 and 4 km does not flap in and out;
* stopped when in port and speed <= ``events.port_stop_begin_speed_knots`` (0.2 kn); no longer
  stopped at >= ``events.port_stop_end_speed_knots`` (0.5 kn); in between the state is kept;
* every state change emits the events of GFW's transition map (PORT_ENTRY, PORT_STOP_BEGIN,
  PORT_STOP_END, PORT_EXIT); no position for >= ``events.port_min_gap_hours`` (4 h) while in port
  emits PORT_GAP_BEGIN (4 h after the last position) and PORT_GAP_END (at the next one) and keeps
  the state, so a visit interrupted by a gap inside the port stays one visit.

Speed is the reported SOG, except noise values (51.2, 63, 102.3 kn); where it is missing the implied
speed from the segment's previous position is used (our addition: GFW inputs always carry SOG);
with neither, the stopped state is kept.

Visits (GFW create_port_visits.py): a visit opens with the first in-port event and closes at
PORT_EXIT (or at the end of the data, then ``is_closed: false``). A visit left open at the end of one
segment continues into the next segment of the same MMSI if that one begins in port, after it, at
most ``events.port_visit_max_interseg_distance_nm`` (60 nm) away -- so a visit split by a gap long
enough to break the track (> 24 h) is still one visit; the time between them counts as an in-port
gap when it is >= 4 h.

Confidence, exactly GFW's ``compute_confidence``: 4 = entry and exit and (stop or gap); 3 = entry
or exit and (stop or gap); 2 = stop or gap only; 1 = entry or exit only. EVENTS.confidence holds
level / 4; ``attrs.confidence_level`` the level. Visits below ``events.port_visit_min_confidence``
(2, as GFW's published table) are dropped. The visit's ``area_id`` is the port of its first
PORT_STOP_BEGIN (else STOP_END, GAP_BEGIN, GAP_END; else the first event), as in GFW's product.

Resuming: :class:`SegmentState` is everything the machine needs to continue a segment (state,
active port, last time, the open visit's events so far); it holds only plain values (port ids,
evidence tuples, epoch microseconds), so it can be stored as JSON/Parquet. :func:`run_port_visits`
takes the states of a previous batch (keyed by segment_id) and returns the new ones; an open visit
is emitted with the same ``event_id`` (type, MMSI, start, start port, params) in every batch until
it closes, so the closed row replaces the open one. Continuing a segment across batches needs the
segmenter to continue it too (not yet implemented), or a caller-side mapping of segment ids.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import empty_events, event_id, events_frame, from_epoch_us, segmented_input
from sanctionwatch.events.ports import ZONE_IN, ZONE_OUT, PortIndex, build_port_index
from sanctionwatch.geo import haversine_m
from sanctionwatch.tracks.quality import clean_sog_knots, float_column
from sanctionwatch.tracks.segment import METRES_PER_NM

__all__ = [
    "EVENT_TYPE",
    "PortEvent",
    "PortEventType",
    "PortState",
    "PortVisitDetector",
    "SegmentState",
    "Thresholds",
    "VisitMachine",
    "confidence_level",
    "detect_port_visits",
    "run_port_visits",
]

EVENT_TYPE = "port_visit"
# GFW keeps the first and last 100 events of a visit (create_port_visits.py MAX_EMITTED_EVENTS = 200).
MAX_EMITTED_EVENTS = 200
_US_PER_HOUR = 3_600_000_000

FloatArray = npt.NDArray[np.float64]


class PortState(StrEnum):
    AT_SEA = "AT_SEA"
    IN_PORT = "IN_PORT"
    STOPPED = "STOPPED"


class PortEventType(StrEnum):
    ENTRY = "PORT_ENTRY"
    GAP_BEGIN = "PORT_GAP_BEGIN"
    GAP_END = "PORT_GAP_END"
    STOP_BEGIN = "PORT_STOP_BEGIN"
    STOP_END = "PORT_STOP_END"
    EXIT = "PORT_EXIT"


IN_PORT_STATES = (PortState.IN_PORT, PortState.STOPPED)
# Events of each (previous state, new state) transition (pipe-anchorages create_in_out_events.py
# transition_map). The first position of a segment has no previous state and emits nothing.
TRANSITIONS: Mapping[tuple[PortState | None, PortState], tuple[PortEventType, ...]] = {
    (PortState.AT_SEA, PortState.AT_SEA): (),
    (PortState.AT_SEA, PortState.IN_PORT): (PortEventType.ENTRY,),
    (PortState.AT_SEA, PortState.STOPPED): (PortEventType.ENTRY, PortEventType.STOP_BEGIN),
    (PortState.IN_PORT, PortState.AT_SEA): (PortEventType.EXIT,),
    (PortState.IN_PORT, PortState.IN_PORT): (),
    (PortState.IN_PORT, PortState.STOPPED): (PortEventType.STOP_BEGIN,),
    (PortState.STOPPED, PortState.AT_SEA): (PortEventType.STOP_END, PortEventType.EXIT),
    (PortState.STOPPED, PortState.IN_PORT): (PortEventType.STOP_END,),
    (PortState.STOPPED, PortState.STOPPED): (),
    (None, PortState.AT_SEA): (),
    (None, PortState.IN_PORT): (),
    (None, PortState.STOPPED): (),
}
# Order of events at one instant (create_port_visits.py EVENT_TYPES).
TYPE_ORDER = {t: i for i, t in enumerate(PortEventType)}
# Where the visit's reported port comes from, in order of preference (GFW product port visits).
_AREA_FROM = (PortEventType.STOP_BEGIN, PortEventType.STOP_END, PortEventType.GAP_BEGIN, PortEventType.GAP_END)

Evidence = tuple[str, int]


@dataclass(frozen=True)
class Thresholds:
    """Speed and gap thresholds of the machine (distances live in the :class:`PortIndex`)."""

    stop_begin_knots: float
    stop_end_knots: float
    min_gap_us: int
    max_interseg_m: float
    min_confidence: int

    @classmethod
    def from_config(cls, config: Config) -> Thresholds:
        begin = float(config["events.port_stop_begin_speed_knots"])
        end = float(config["events.port_stop_end_speed_knots"])
        if end < begin:
            raise ValueError(
                f"events.port_stop_end_speed_knots ({end}) must be >= events.port_stop_begin_speed_knots "
                f"({begin}) (hysteresis)"
            )
        return cls(
            stop_begin_knots=begin,
            stop_end_knots=end,
            min_gap_us=round(float(config["events.port_min_gap_hours"]) * _US_PER_HOUR),
            max_interseg_m=float(config["events.port_visit_max_interseg_distance_nm"]) * METRES_PER_NM,
            min_confidence=int(config["events.port_visit_min_confidence"]),
        )


@dataclass(frozen=True)
class PortEvent:
    """One port event (GFW VisitEvent): type, time, the port, and the record that caused it."""

    type: PortEventType
    ts_us: int
    port_id: str
    segment_id: str
    evidence: Evidence | None  # None for GAP_BEGIN, which is stamped between records

    def sort_key(self) -> tuple[int, int]:
        return self.ts_us, TYPE_ORDER[self.type]


@dataclass
class SegmentState:
    """Resumable state of one segment's machine (plain values only; see module docstring)."""

    mmsi: int
    segment_id: str
    state: PortState | None = None
    port_id: str | None = None  # active port: the best port of the last in-port position
    last_ts_us: int | None = None
    gap_open: bool = False  # a GAP_BEGIN was already emitted for the current silence
    in_visit: bool = False  # in port since the last PORT_EXIT (or since the segment began)
    visit: list[PortEvent] = field(default_factory=list)  # events of the open visit
    first_in_port_ts_us: int | None = None
    last_in_port_ts_us: int | None = None
    first_in_port_evidence: Evidence | None = None
    last_in_port_evidence: Evidence | None = None
    n_positions_in_port: int = 0


@dataclass
class _Visit:
    """A finished or open visit of one segment, before merging across segments."""

    mmsi: int
    events: list[PortEvent]
    first_ts_us: int
    last_ts_us: int
    last_seen_us: int  # last position in port (open visits: before any trailing pseudo GAP_BEGIN)
    first_evidence: Evidence | None
    last_evidence: Evidence | None
    n_positions: int
    opens_in_port: bool  # began with the segment, already in port (no PORT_ENTRY)
    closed: bool  # ended with PORT_EXIT
    segment_ids: list[str]


class VisitMachine:
    """The state machine of one segment. Feed positions in time order with :meth:`step`."""

    def __init__(self, thresholds: Thresholds, state: SegmentState) -> None:
        self.t = thresholds
        self.s = state
        self.visits: list[_Visit] = []

    # -- GFW's decisions, with hysteresis ---------------------------------------------------------

    def _is_in_port(self, zone: int) -> bool:
        if zone == ZONE_IN:
            return True
        if zone == ZONE_OUT:
            return False
        return self.s.state in IN_PORT_STATES  # ZONE_BAND: keep the previous state

    def _is_stopped(self, speed_knots: float) -> bool:
        if speed_knots <= self.t.stop_begin_knots:
            return True
        if speed_knots >= self.t.stop_end_knots:
            return False
        return self.s.state == PortState.STOPPED  # in between, or NaN (no speed): keep

    # -- stepping ---------------------------------------------------------------------------------

    def step(self, ts_us: int, zone: int, port_id: str | None, speed_knots: float, evidence: Evidence) -> None:
        s = self.s
        in_port = self._is_in_port(zone)
        if in_port and port_id is not None:
            s.port_id = port_id
        if in_port and not s.in_visit:
            s.in_visit, s.visit, s.n_positions_in_port = True, [], 0
            s.first_in_port_ts_us = s.first_in_port_evidence = None
        state = (PortState.STOPPED if self._is_stopped(speed_knots) else PortState.IN_PORT) if in_port \
            else PortState.AT_SEA
        if (
            s.last_ts_us is not None
            and s.state in IN_PORT_STATES
            and ts_us - s.last_ts_us >= self.t.min_gap_us
        ):
            if not s.gap_open:
                self._emit(PortEventType.GAP_BEGIN, s.last_ts_us + self.t.min_gap_us, None)
            self._emit(PortEventType.GAP_END, ts_us, evidence)
        for event_type in TRANSITIONS[(s.state, state)]:
            self._emit(event_type, ts_us, evidence)
        if in_port:
            if s.first_in_port_ts_us is None:
                s.first_in_port_ts_us, s.first_in_port_evidence = ts_us, evidence
            s.last_in_port_ts_us, s.last_in_port_evidence = ts_us, evidence
            s.n_positions_in_port += 1
        s.state, s.last_ts_us, s.gap_open = state, ts_us, False
        if not in_port and s.in_visit:
            s.in_visit = False
            if s.visit:  # a segment that began in port and left without any event has no visit
                self.visits.append(self._visit(closed=True))
            s.visit = []

    def skip_at_sea(self, ts_us: int) -> None:
        """A position known to be at sea after an at-sea state: nothing can happen but time passing."""
        self.s.state, self.s.last_ts_us, self.s.gap_open = PortState.AT_SEA, ts_us, False

    def finish(self, until_us: int | None) -> None:
        """End of the batch: with ``until_us``, a long silence in port gets its GAP_BEGIN (GFW
        emits it at the end of each day); an open visit is reported as open and kept in the state."""
        s = self.s
        if (
            until_us is not None
            and s.state in IN_PORT_STATES
            and s.last_ts_us is not None
            and not s.gap_open
            and until_us - s.last_ts_us >= self.t.min_gap_us
        ):
            self._emit(PortEventType.GAP_BEGIN, s.last_ts_us + self.t.min_gap_us, None)
            s.gap_open = True
        if s.visit:
            self.visits.append(self._visit(closed=False))

    # -- internals --------------------------------------------------------------------------------

    def _emit(self, event_type: PortEventType, ts_us: int, evidence: Evidence | None) -> None:
        s = self.s
        assert s.port_id is not None and s.in_visit, "port events only happen in a visit"
        s.visit.append(PortEvent(event_type, ts_us, s.port_id, s.segment_id, evidence))

    def _visit(self, closed: bool) -> _Visit:
        s = self.s
        events = sorted(s.visit, key=PortEvent.sort_key)
        first_ts = min(events[0].ts_us, s.first_in_port_ts_us or events[0].ts_us)
        last_seen = s.last_in_port_ts_us or events[-1].ts_us
        return _Visit(
            mmsi=s.mmsi, events=events, first_ts_us=first_ts, last_ts_us=max(events[-1].ts_us, last_seen),
            last_seen_us=last_seen,
            first_evidence=s.first_in_port_evidence, last_evidence=s.last_in_port_evidence,
            n_positions=s.n_positions_in_port,
            opens_in_port=not any(e.type == PortEventType.ENTRY for e in events),
            closed=closed, segment_ids=[s.segment_id],
        )


def confidence_level(event_types: set[PortEventType]) -> int:
    """GFW visit confidence (pipe-anchorages create_port_visits.py ``compute_confidence``)."""
    has_stop = PortEventType.STOP_BEGIN in event_types or PortEventType.STOP_END in event_types
    has_gap = PortEventType.GAP_BEGIN in event_types or PortEventType.GAP_END in event_types
    has_entry = PortEventType.ENTRY in event_types
    has_exit = PortEventType.EXIT in event_types
    if (has_stop or has_gap) and has_entry and has_exit:
        return 4
    if (has_stop or has_gap) and (has_entry or has_exit):
        return 3
    if has_stop or has_gap:
        return 2
    if has_entry or has_exit:
        return 1
    raise ValueError(f"a visit without port events: {sorted(event_types)}")


@dataclass(frozen=True)
class PortVisitDetector:
    """Port visit detector. ``detect(segmented)`` returns EVENTS rows; :meth:`run` also takes and
    returns the per-segment states for batch-to-batch continuation."""

    config: Config
    ports: PortIndex | None = None
    until_utc: dt.datetime | None = None
    event_type: ClassVar[str] = EVENT_TYPE

    def detect(self, segmented: pl.DataFrame) -> pl.DataFrame:
        return self.run(segmented)[0]

    def run(
        self, segmented: pl.DataFrame, states: Mapping[str, SegmentState] | None = None
    ) -> tuple[pl.DataFrame, dict[str, SegmentState]]:
        thresholds = Thresholds.from_config(self.config)
        ports = self.ports if self.ports is not None else build_port_index(self.config)
        until_us = None if self.until_utc is None else _epoch_us(self.until_utc)
        df = _prepare(segmented)
        if df.height == 0:
            return empty_events(), dict(states or {})
        hits = ports.classify(df.get_column("lat_deg").to_numpy(), df.get_column("lon_deg").to_numpy())
        cols = _Columns(
            t_us=df.get_column("_t_us").to_numpy(),
            source_id=df.get_column("source_id").to_numpy(),
            record_no=df.get_column("record_no").to_numpy(),
            zone=hits.zone,
            port=hits.port,
            speed_knots=_speed_knots(df),
        )
        seg_ids = df.get_column("segment_id").to_numpy()
        mmsis = df.get_column("mmsi").to_numpy()
        visits: list[_Visit] = []
        new_states: dict[str, SegmentState] = dict(states or {})
        for seg in _segment_slices(seg_ids):
            seg_id = str(seg_ids[seg.start])
            prior = (states or {}).get(seg_id)
            state = replace(prior, visit=list(prior.visit)) if prior else SegmentState(
                mmsi=int(mmsis[seg.start]), segment_id=seg_id)
            machine = VisitMachine(thresholds, state)
            _run_segment(machine, cols, seg, ports)
            machine.finish(until_us)
            visits.extend(machine.visits)
            new_states[seg_id] = machine.s
        merged = _merge_across_segments(visits, ports, thresholds)
        rows = [_event_row(v, ports, thresholds, self.config.params_id) for v in merged]
        return events_frame([r for r in rows if r is not None]), new_states


def detect_port_visits(
    segmented: pl.DataFrame,
    config: Config,
    ports: PortIndex | None = None,
    *,
    until_utc: dt.datetime | None = None,
) -> pl.DataFrame:
    """Port visit events (EVENTS schema) from segmented positions; see module docstring."""
    return PortVisitDetector(config, ports, until_utc).detect(segmented)


def run_port_visits(
    segmented: pl.DataFrame,
    config: Config,
    ports: PortIndex | None = None,
    *,
    states: Mapping[str, SegmentState] | None = None,
    until_utc: dt.datetime | None = None,
) -> tuple[pl.DataFrame, dict[str, SegmentState]]:
    """Like :func:`detect_port_visits`, continuing from ``states`` and returning the new states."""
    return PortVisitDetector(config, ports, until_utc).run(segmented, states)


# -- helpers ------------------------------------------------------------------------------------


def _epoch_us(ts: dt.datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("until_utc must be timezone-aware (UTC)")
    delta = ts - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _prepare(segmented: pl.DataFrame) -> pl.DataFrame:
    df = segmented_input(segmented, require_segments=True)
    return df.sort("segment_id", "ts_utc", "source_id", "record_no").with_columns(
        pl.col("ts_utc").dt.epoch("us").alias("_t_us")
    )


def _speed_knots(df: pl.DataFrame) -> FloatArray:
    """Reported SOG (noise removed), else implied speed from the segment's previous position."""
    sog = clean_sog_knots(float_column(df, "sog_knots"))
    lat, lon = df.get_column("lat_deg").to_numpy(), df.get_column("lon_deg").to_numpy()
    t_h = df.get_column("_t_us").to_numpy() / _US_PER_HOUR
    seg = df.get_column("segment_id").to_numpy()
    same = np.r_[False, seg[1:] == seg[:-1]]
    dt_h = np.r_[np.nan, np.diff(t_h)]
    d_nm = np.r_[np.nan, np.asarray(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))] / METRES_PER_NM
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = np.where(same & (dt_h > 0), d_nm / dt_h, np.nan)
    result: FloatArray = np.where(np.isfinite(sog), sog, implied)
    return result


def _segment_slices(seg: npt.NDArray[np.object_]) -> Iterator[slice]:
    bounds = np.r_[0, np.flatnonzero(seg[1:] != seg[:-1]) + 1, len(seg)]
    for a, b in itertools.pairwise(bounds.tolist()):
        yield slice(int(a), int(b))


@dataclass(frozen=True)
class _Columns:
    """Per-position arrays of the whole batch, sorted by segment and time."""

    t_us: npt.NDArray[np.int64]
    source_id: npt.NDArray[np.object_]
    record_no: npt.NDArray[np.int64]
    zone: npt.NDArray[np.int8]
    port: npt.NDArray[np.int32]
    speed_knots: FloatArray


def _run_segment(machine: VisitMachine, c: _Columns, seg: slice, ports: PortIndex) -> None:
    """Step the machine through one segment, visiting in Python only positions that can matter:
    those near a port, the first after one, and the first of the segment. Everything else is at sea
    after being at sea, which emits nothing (the speed of such a position is irrelevant)."""
    z = c.zone[seg]
    if z.size == 0:
        return
    near = z < ZONE_OUT
    active = near | np.r_[True, near[:-1]]
    t_us, src, rec = c.t_us[seg], c.source_id[seg], c.record_no[seg]
    p, v = c.port[seg], c.speed_knots[seg]
    prev = -1
    for i in np.flatnonzero(active).tolist():
        if prev != i - 1:
            machine.skip_at_sea(int(t_us[i - 1]))
        k = int(p[i])
        machine.step(int(t_us[i]), int(z[i]), ports.port_id[k] if k >= 0 else None, float(v[i]),
                     (str(src[i]), int(rec[i])))
        prev = i
    if prev != z.size - 1:
        machine.skip_at_sea(int(t_us[-1]))


def _port_distance_m(a: PortEvent, b: PortEvent, ports: PortIndex) -> float:
    ia, ib = ports.index_of(a.port_id), ports.index_of(b.port_id)
    return float(haversine_m(ports.lat_deg[ia], ports.lon_deg[ia], ports.lat_deg[ib], ports.lon_deg[ib]))


def _continues(host: _Visit, v: _Visit, ports: PortIndex, t: Thresholds) -> bool:
    return (
        not host.closed
        and v.opens_in_port
        and host.segment_ids[-1] != v.segment_ids[0]
        and v.first_ts_us >= host.last_seen_us
        and _port_distance_m(host.events[-1], v.events[0], ports) <= t.max_interseg_m
    )


def _merge_across_segments(visits: list[_Visit], ports: PortIndex, t: Thresholds) -> list[_Visit]:
    """Join a visit left open at the end of a segment with the next visit of the same MMSI that
    starts in port at the beginning of another segment, after it and near it (GFW visit assembly)."""
    by_mmsi: dict[int, list[_Visit]] = {}
    for v in sorted(visits, key=lambda v: (v.mmsi, v.first_ts_us)):
        by_mmsi.setdefault(v.mmsi, []).append(v)
    out: list[_Visit] = []
    for vs in by_mmsi.values():
        done: list[_Visit] = []
        for v in vs:
            host = next((h for h in reversed(done) if _continues(h, v, ports, t)), None)
            if host is None:
                done.append(v)
                continue
            bridge: list[PortEvent] = []
            if v.first_ts_us - host.last_seen_us >= t.min_gap_us:
                last = host.events[-1]
                if last.type != PortEventType.GAP_BEGIN:  # finish() may have opened the gap already
                    bridge.append(PortEvent(PortEventType.GAP_BEGIN, host.last_seen_us + t.min_gap_us,
                                            last.port_id, last.segment_id, None))
                bridge.append(PortEvent(PortEventType.GAP_END, v.first_ts_us, v.events[0].port_id,
                                        v.segment_ids[0], v.first_evidence))
            host.events = sorted([*host.events, *bridge, *v.events], key=PortEvent.sort_key)
            host.last_ts_us, host.last_seen_us = v.last_ts_us, v.last_seen_us
            host.last_evidence = v.last_evidence
            host.n_positions += v.n_positions
            host.closed = v.closed
            host.segment_ids.extend(v.segment_ids)
        out.extend(done)
    return out


def _first_of(events: Sequence[PortEvent], event_type: PortEventType) -> PortEvent | None:
    return next((e for e in events if e.type == event_type), None)


def _event_row(v: _Visit, ports: PortIndex, t: Thresholds, params_id: str) -> dict[str, Any] | None:
    types = {e.type for e in v.events}
    level = confidence_level(types)
    if level < t.min_confidence:
        return None
    area_event = next((e for kind in _AREA_FROM if (e := _first_of(v.events, kind))), v.events[0])
    k = ports.index_of(area_event.port_id)
    entry = _first_of(v.events, PortEventType.ENTRY)
    exit_ = _first_of(v.events, PortEventType.EXIT)
    stop = _first_of(v.events, PortEventType.STOP_BEGIN)
    start, end = from_epoch_us(v.first_ts_us), from_epoch_us(v.last_ts_us)
    evidence = [e.evidence for e in (entry, exit_, stop) if e is not None and e.evidence is not None]
    if not evidence:  # a gap-only visit: the first and last positions in port
        evidence = [ev for ev in (v.first_evidence, v.last_evidence) if ev is not None]
    pruned = v.events if len(v.events) <= MAX_EMITTED_EVENTS else (
        v.events[: MAX_EMITTED_EVENTS // 2] + v.events[-MAX_EMITTED_EVENTS // 2:]
    )
    attrs = {
        "confidence_level": level,
        "duration_h": round((v.last_ts_us - v.first_ts_us) / _US_PER_HOUR, 4),
        "is_closed": v.closed,
        "area_name": ports.name[k],
        "area_source": ports.source[k],
        "start_area_id": v.events[0].port_id,
        "end_area_id": v.events[-1].port_id,
        "entry_utc": None if entry is None else from_epoch_us(entry.ts_us),
        "exit_utc": None if exit_ is None else from_epoch_us(exit_.ts_us),
        "first_stop_utc": None if stop is None else from_epoch_us(stop.ts_us),
        "n_stops": sum(e.type == PortEventType.STOP_BEGIN for e in v.events),
        "stopped_hours": round(_stopped_us(v) / _US_PER_HOUR, 4),
        "n_gaps": sum(e.type == PortEventType.GAP_BEGIN for e in v.events),
        "n_positions_in_port": v.n_positions,
        "segment_ids": v.segment_ids,
        "events": [[e.type.value, from_epoch_us(e.ts_us), e.port_id] for e in pruned],
    }
    return {
        "event_id": event_id(EVENT_TYPE, v.mmsi, start, v.events[0].port_id, params_id),
        "event_type": EVENT_TYPE,
        "mmsi": v.mmsi,
        "segment_id": v.segment_ids[0],
        "start_utc": start,
        "end_utc": end,
        "lat_deg": float(ports.lat_deg[k]),
        "lon_deg": float(ports.lon_deg[k]),
        "area_id": ports.port_id[k],
        "confidence": level / 4.0,
        "basis": "ais",
        "attrs": attrs,
        "evidence": evidence,
        "params_id": params_id,
    }


def _stopped_us(v: _Visit) -> int:
    """Time between each PORT_STOP_BEGIN and the next PORT_STOP_END (or the visit's end)."""
    total, since = 0, None
    for e in v.events:
        if e.type == PortEventType.STOP_BEGIN and since is None:
            since = e.ts_us
        elif e.type == PortEventType.STOP_END and since is not None:
            total, since = total + e.ts_us - since, None
    if since is not None:
        total += v.last_ts_us - since
    return total

