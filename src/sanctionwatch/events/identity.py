"""Identity changes: what a vessel says about itself changes (EVENTS rows of type ``identity_change``).

Input is the IDENTITIES table (one row per distinct broadcast identity per source file, with first/last
seen and a report count). Three families of findings, told apart by ``attrs.kind``:

1. **Per IMO** (rows whose IMO check digit is right): the values seen over time, ordered by
   ``first_seen_utc``, of the name, the MID-derived flag, the MMSI and the call sign. Each change of
   one of them between consecutive identities is one event of kind ``name`` / ``flag`` / ``mmsi`` /
   ``call_sign`` (domain.md section 4: identity change, flag hopping). ``start_utc`` is the first
   report of the new value, ``mmsi`` the MMSI that broadcast it; attrs give ``before``/``after``, the
   last report of the old value and the first of the new one; evidence is the identity row on each
   side of the change.
2. **Per MMSI**: one MMSI broadcasting several IMOs, or several names, *at the same time* (identity
   rows of different values whose first/last-seen intervals overlap by at least
   ``events.identity_min_overlap_hours``) is kind ``mmsi_multiple_identities``: two ships sharing an
   MMSI, or one spoofing it (domain.md section 1.6: GFW segments such an MMSI into several vessels).
   An MMSI broadcasting several valid IMOs at once gets only the IMO event, not also a name event.
   Likewise one valid IMO broadcast by several MMSIs at once is kind ``imo_multiple_mmsi`` (IMO reuse,
   a "zombie" or cloned ship; domain.md section 4).
   For MMSIs whose rows carry no valid IMO, sequential (non-overlapping) name changes are kind
   ``name`` (with ``imo`` null), as in family 1.
3. A change between two values that are broadcast at the same time (overlap of at least the
   threshold, anywhere in the group) is not a sequential change but family 2, so two ships sharing an
   IMO or MMSI do not flip-flop into a stream of "changes" (the cost: a real A -> B change is not
   reported as such when A and B were also seen simultaneously).

Noise rules:

* names and call signs are compared normalised (upper case, only A-Z and 0-9): ``"SIM  VOLNA."`` and
  ``"sim volna"`` are the same name;
* a value seen in fewer than ``events.identity_min_reports`` reports in total (over all rows of the
  IMO / MMSI, all files) is taken as a garbled message and dropped before comparing. This is our
  assumption: AIS type 5 / 24 messages are often received with bit errors that pass the checksum on
  some receivers, and a real rename keeps being broadcast (every 6 min for class A);
* consecutive rows with the same value (the same identity in several source files) are one run, so
  they never make an event.

Event ids come from :func:`sanctionwatch.events.base.event_id` with the kind, group and values as the
discriminator, so re-running on the same identities gives the same ids. GFW flags an MMSI as spoofed
only when overlapping segments with several identities add up to more than 24 h in a year
(``overlap_hours_multinames > 24``, domain.md section 1.6); that is a vessel-level product flag. We
report each overlap of at least 1 h as an event for an analyst to review, and keep the overlap
hours in the attrs so the GFW-style rule can be applied downstream.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.events.base import Evidence, empty_events, event_id, events_frame

__all__ = ["EVENT_TYPE", "KINDS", "detect_identity_changes", "normalise_name"]

EVENT_TYPE = "identity_change"
KINDS = ("name", "flag", "mmsi", "call_sign", "mmsi_multiple_identities", "imo_multiple_mmsi")

_NON_ALNUM = re.compile(r"[^A-Z0-9]")
_US_PER_HOUR = 3_600_000_000


def normalise_name(value: str | None) -> str | None:
    """Upper case with everything but A-Z and 0-9 removed; None when nothing is left."""
    if value is None:
        return None
    out = _NON_ALNUM.sub("", str(value).upper())
    return out or None


@dataclass(frozen=True)
class _Row:
    """One identity row, reduced to what the detector needs."""

    mmsi: int
    imo: int | None
    imo_valid: bool
    name: str | None
    call_sign: str | None
    flag_iso2: str | None
    first_seen_utc: dt.datetime
    last_seen_utc: dt.datetime
    n_reports: int
    evidence: Evidence

    @property
    def order(self) -> tuple[Any, ...]:
        return (self.first_seen_utc, self.last_seen_utc, self.evidence, self.mmsi)


@dataclass(frozen=True)
class _Attr:
    """How one attribute is read from a row: the comparison key and the value shown in attrs."""

    kind: str
    key: Callable[[_Row], Any]
    shown: Callable[[_Row], Any]


_NAME = _Attr("name", lambda r: normalise_name(r.name), lambda r: r.name)
_CALL_SIGN = _Attr("call_sign", lambda r: normalise_name(r.call_sign), lambda r: r.call_sign)
_FLAG = _Attr("flag", lambda r: r.flag_iso2, lambda r: r.flag_iso2)
_MMSI = _Attr("mmsi", lambda r: r.mmsi, lambda r: r.mmsi)
_IMO = _Attr("imo", lambda r: r.imo if r.imo_valid else None, lambda r: r.imo)


@dataclass
class _Run:
    """Consecutive rows (in time order) with the same attribute value."""

    key: Any
    rows: list[_Row]

    @property
    def first(self) -> _Row:
        return self.rows[0]

    @property
    def last_seen_utc(self) -> dt.datetime:
        return max(r.last_seen_utc for r in self.rows)

    @property
    def last(self) -> _Row:
        """The row that was seen last (evidence for the 'before' side)."""
        return max(self.rows, key=lambda r: (r.last_seen_utc, r.order))


def _hours(delta: dt.timedelta) -> float:
    return (delta // dt.timedelta(microseconds=1)) / _US_PER_HOUR


def _rows(identities: pl.DataFrame) -> list[_Row]:
    cols = ["mmsi", "imo", "imo_valid", "name", "call_sign", "flag_iso2", "first_seen_utc",
            "last_seen_utc", "n_reports", "source_id", "record_no"]
    missing = [c for c in cols if c not in identities.columns]
    if missing:
        raise ValueError(f"identities frame lacks columns {missing}")
    out = []
    for d in identities.select(cols).iter_rows(named=True):
        out.append(_Row(
            mmsi=int(d["mmsi"]), imo=None if d["imo"] is None else int(d["imo"]),
            imo_valid=bool(d["imo_valid"]) and d["imo"] is not None,
            name=d["name"], call_sign=d["call_sign"], flag_iso2=d["flag_iso2"],
            first_seen_utc=d["first_seen_utc"], last_seen_utc=d["last_seen_utc"],
            n_reports=int(d["n_reports"]), evidence=(str(d["source_id"]), int(d["record_no"])),
        ))
    return out


def _denoised(rows: Iterable[_Row], attr: _Attr, min_reports: int) -> list[_Row]:
    """Rows with a value for ``attr`` whose value is seen in >= ``min_reports`` reports in total."""
    with_value = [r for r in rows if attr.key(r) is not None]
    totals: dict[Any, int] = defaultdict(int)
    for r in with_value:
        totals[attr.key(r)] += r.n_reports
    return sorted((r for r in with_value if totals[attr.key(r)] >= min_reports), key=lambda r: r.order)


def _runs(rows: Sequence[_Row], attr: _Attr) -> list[_Run]:
    runs: list[_Run] = []
    for r in rows:
        key = attr.key(r)
        if runs and runs[-1].key == key:
            runs[-1].rows.append(r)
        else:
            runs.append(_Run(key, [r]))
    return runs


@dataclass(frozen=True)
class _Params:
    min_reports: int
    min_overlap_hours: float
    params_id: str


def _sequential_changes(rows: Sequence[_Row], attr: _Attr, group: str, imo: int | None,
                        p: _Params) -> list[dict[str, Any]]:
    """One event per change of ``attr`` between consecutive runs that do not overlap in time."""
    out = []
    concurrent = {frozenset(pair) for pair in _overlaps(rows, attr, p)}
    runs = _runs(_denoised(rows, attr, p.min_reports), attr)
    for before, after in pairwise(runs):
        if frozenset((before.key, after.key)) in concurrent:
            continue  # the two values are broadcast at the same time elsewhere: family 2, no flip-flops
        new = after.first
        overlap_h = _hours(min(before.last_seen_utc, after.last_seen_utc) - new.first_seen_utc)
        if overlap_h > 0 and overlap_h >= p.min_overlap_hours:
            continue  # simultaneous broadcasts: a shared identity (family 2), not a change
        old = before.last
        start = new.first_seen_utc
        attrs = {
            "kind": attr.kind, "imo": imo, "before": attr.shown(old), "after": attr.shown(new),
            "before_mmsi": old.mmsi, "after_mmsi": new.mmsi,
            "before_last_seen_utc": before.last_seen_utc, "after_first_seen_utc": start,
            "before_n_reports": sum(r.n_reports for r in before.rows),
            "after_n_reports": sum(r.n_reports for r in after.rows),
        }
        disc = f"{attr.kind}|{group}|{before.key}|{after.key}"
        out.append(_event(new.mmsi, start, start, attrs, (old.evidence, new.evidence), disc, p))
    return out


def _overlaps(rows: Sequence[_Row], attr: _Attr, p: _Params) -> dict[tuple[Any, Any], list[tuple[float, _Row, _Row]]]:
    """Pairs of different values of ``attr`` broadcast at overlapping times (>= the threshold)."""
    rows = _denoised(rows, attr, p.min_reports)
    pairs: dict[tuple[Any, Any], list[tuple[float, _Row, _Row]]] = defaultdict(list)
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if b.first_seen_utc > a.last_seen_utc:
                break  # rows are sorted by first seen: no later row overlaps ``a`` either
            ka, kb = attr.key(a), attr.key(b)
            if ka == kb:
                continue
            overlap_h = _hours(min(a.last_seen_utc, b.last_seen_utc) - b.first_seen_utc)
            if overlap_h > 0 and overlap_h >= p.min_overlap_hours:
                lo, hi = (a, b) if str(ka) < str(kb) else (b, a)
                pairs[(attr.key(lo), attr.key(hi))].append((overlap_h, lo, hi))
    return pairs


def _overlap_events(pairs: Mapping[tuple[Any, Any], list[tuple[float, _Row, _Row]]], kind: str,
                    field: str, attr: _Attr, mmsi_of: Callable[[_Row, _Row], int], group: str,
                    extra: Mapping[str, Any], p: _Params) -> list[dict[str, Any]]:
    out = []
    for (ka, kb), hits in sorted(pairs.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        starts = [max(a.first_seen_utc, b.first_seen_utc) for _, a, b in hits]
        ends = [min(a.last_seen_utc, b.last_seen_utc) for _, a, b in hits]
        first = min(range(len(hits)), key=lambda i: (starts[i], hits[i][1].order, hits[i][2].order))
        _, a, b = hits[first]
        start = starts[first]
        attrs = {
            "kind": kind, "field": field, **extra,
            "values": [attr.shown(a), attr.shown(b)],
            "max_overlap_hours": max(h for h, _, _ in hits),
            "n_overlapping_row_pairs": len(hits),
        }
        disc = f"{kind}|{group}|{field}|{ka}|{kb}"
        out.append(_event(mmsi_of(a, b), start, max(ends), attrs, (a.evidence, b.evidence), disc, p))
    return out


def _event(mmsi: int, start: dt.datetime, end: dt.datetime, attrs: Mapping[str, Any],
           evidence: Iterable[Evidence], discriminator: str, p: _Params) -> dict[str, Any]:
    return {
        "event_id": event_id(EVENT_TYPE, mmsi, start, None, p.params_id, discriminator),
        "event_type": EVENT_TYPE,
        "mmsi": mmsi,
        "start_utc": start,
        "end_utc": end,
        "basis": "ais",
        "attrs": attrs,
        "evidence": list(evidence),
        "params_id": p.params_id,
    }


def detect_identity_changes(identities: pl.DataFrame, config: Config) -> pl.DataFrame:
    """EVENTS rows of type ``identity_change`` found in an IDENTITIES table (see module docstring)."""
    p = _Params(
        min_reports=int(config["events.identity_min_reports"]),
        min_overlap_hours=float(config["events.identity_min_overlap_hours"]),
        params_id=config.params_id,
    )
    rows = _rows(identities)
    if not rows:
        return empty_events()
    by_imo: dict[int, list[_Row]] = defaultdict(list)
    by_mmsi: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        if r.imo_valid and r.imo is not None:
            by_imo[r.imo].append(r)
        by_mmsi[r.mmsi].append(r)

    events: list[dict[str, Any]] = []
    for imo in sorted(by_imo):
        group = f"imo={imo}"
        for attr in (_NAME, _FLAG, _MMSI, _CALL_SIGN):
            events += _sequential_changes(by_imo[imo], attr, group, imo, p)
        pairs = _overlaps(by_imo[imo], _MMSI, p)
        events += _overlap_events(pairs, "imo_multiple_mmsi", "mmsi", _MMSI, lambda a, b: b.mmsi,
                                  group, {"imo": imo}, p)
    for mmsi in sorted(by_mmsi):
        group = f"mmsi={mmsi}"
        imo_pairs = _overlaps(by_mmsi[mmsi], _IMO, p)
        events += _overlap_events(imo_pairs, "mmsi_multiple_identities", "imo", _IMO,
                                  lambda a, b: a.mmsi, group, {"mmsi": mmsi}, p)
        if not imo_pairs:
            name_pairs = _overlaps(by_mmsi[mmsi], _NAME, p)
            events += _overlap_events(name_pairs, "mmsi_multiple_identities", "name", _NAME,
                                      lambda a, b: a.mmsi, group, {"mmsi": mmsi}, p)
        no_imo = [r for r in by_mmsi[mmsi] if not r.imo_valid]
        if no_imo and not any(r.imo_valid for r in by_mmsi[mmsi]):
            events += _sequential_changes(no_imo, _NAME, group, None, p)
    if not events:
        return empty_events()
    return events_frame(events)
