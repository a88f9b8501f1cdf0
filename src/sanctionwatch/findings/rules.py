"""Rules: each one a small declared unit that turns events (and screening and imagery results)
into findings a reader can act on.

A :class:`Rule` has a name, a description, a severity, the settings it reads (``findings.*`` in
``config.py``, so every threshold is documented in one place and recorded with the output) and a
function over :class:`~sanctionwatch.findings.inputs.FindingInputs`. Built-in rules are below;
analysts add their own as SQL in a rules file (:mod:`sanctionwatch.findings.user_rules`), and
both go through the same engine.

Confidence is always given with its reason: what was *observed* in AIS, what is *inferred* from
an AIS gap (a hypothesis consistent with the gap, never an observation), and what comes from
*imagery* (a detection or an analyst's sighting).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from sanctionwatch.findings.inputs import FindingInputs
from sanctionwatch.geo import Area, haversine_m

__all__ = ["BUILTIN_RULES", "Draft", "Rule", "basis_reason", "group_label"]

SEVERITIES = ("info", "low", "medium", "high")


@dataclass
class Draft:
    """A finding before the engine gives it an id, evidence and parameters."""

    statement: str
    title: str
    start_utc: dt.datetime | None
    end_utc: dt.datetime | None
    mmsis: list[int]
    area_ids: list[str]
    event_ids: list[str]
    confidence: float
    confidence_reason: str
    severity: str | None = None  # None: the rule's own
    extra_evidence: list[dict[str, Any]] = field(default_factory=list)  # records not behind an event
    figures: dict[str, Any] = field(default_factory=dict)  # numbers behind the statement (charts)
    key: str = ""  # what makes this finding distinct within its rule (default: mmsis + areas)


RuleFn = Callable[[FindingInputs], list[Draft]]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    description: str
    severity: str
    settings: tuple[str, ...]
    fn: RuleFn
    origin: str = "built-in"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.name}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")


# --- shared wording -----------------------------------------------------------------------

_BASIS_WORDS = {"ais": "observed in AIS", "inferred_gap": "inferred from AIS gaps",
                "imagery": "seen in satellite imagery", "sighting": "identified by an analyst on imagery"}


def basis_reason(bases: Iterable[str | None]) -> str:
    """'3 observed in AIS, 11 inferred from AIS gaps' from the bases of the events behind a finding."""
    counts: dict[str, int] = {}
    for b in bases:
        key = b or "ais"
        counts[key] = counts.get(key, 0) + 1
    order = ["ais", "sighting", "imagery", "inferred_gap"]
    return ", ".join(f"{counts[b]} {_BASIS_WORDS.get(b, b)}" for b in sorted(counts, key=lambda b: (
        order.index(b) if b in order else 9, b)))


def _span(df: pl.DataFrame) -> tuple[dt.datetime | None, dt.datetime | None]:
    if df.height == 0:
        return None, None
    end = df.select(pl.coalesce("end_utc", "start_utc").max()).item()
    return df["start_utc"].min(), end  # type: ignore[return-value]


def _d(t: dt.datetime | None) -> str:
    return f"{t:%Y-%m-%d}" if t else "?"


def _listing_phrase(inputs: FindingInputs, mmsi: int) -> str:
    m = inputs.listing(mmsi)
    if m is None:
        return ""
    return f"listed on {m['list_name']} as {m['entry_name']} [{m['entry_id']}]"


def group_label(spec: str, areas: Sequence[Area]) -> str:
    """Readable name of a group/area spec: an area's name, or the group's members' names."""
    from sanctionwatch.events.voyages import resolve_areas

    names = {a.area_id: a.name for a in areas}
    ids = sorted(resolve_areas(spec, areas))
    short = [re.split(r",| \(", names.get(i, i))[0].strip() for i in ids]
    if len(short) <= 3:
        return short[0] if len(short) == 1 else ", ".join(short[:-1]) + " or " + short[-1]
    return spec.replace("_", " ")


def _watched(inputs: FindingInputs, spec: str) -> list[Area]:
    from sanctionwatch.events.voyages import resolve_areas

    if not spec.strip():
        return list(inputs.areas)
    wanted = resolve_areas(spec, inputs.areas)
    return [a for a in inputs.areas if a.area_id in wanted]


def _nearest_area(lat: float | None, lon: float | None, areas: Sequence[Area],
                  max_m: float) -> tuple[Area | None, float]:
    """The watched area whose edge (point + radius, or polygon centre) is nearest, within ``max_m``."""
    if lat is None or lon is None or not areas:
        return None, float("inf")
    d = np.asarray(haversine_m(lat, lon, np.array([a.lat_deg for a in areas]), np.array([a.lon_deg for a in areas])))
    d = d - np.array([a.radius_m or 0.0 for a in areas])
    for i, a in enumerate(areas):
        if a.polygon is not None and a.contains(lat, lon):
            d[i] = 0.0
    i = int(np.argmin(d))
    return (areas[i], max(float(d[i]), 0.0)) if d[i] <= max_m else (None, float(d[i]))


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    raw = row.get("attrs_json")
    return json.loads(raw) if raw else {}


def _severity_if_sanctioned(inputs: FindingInputs, mmsis: Iterable[int], base: str) -> str:
    return "high" if any(inputs.listing(m) for m in mmsis) else base


# --- 1. sanctioned vessel at a watched port -----------------------------------------------

def sanctioned_vessel_at_watched_port(inputs: FindingInputs) -> list[Draft]:
    watched = {a.area_id for a in _watched(inputs, inputs.config["findings.watched_groups"])}
    visits = inputs.events.filter((pl.col("event_type") == "port_visit") & pl.col("area_id").is_in(list(watched))
                                  & pl.col("mmsi").is_in(inputs.sanctioned["mmsi"].unique().to_list()))
    out = []
    for (mmsi, area_id), g in visits.sort("start_utc").group_by(["mmsi", "area_id"], maintain_order=True):
        start, end = _span(g)
        bases = g["basis"].to_list()
        n = g.height
        when = f"on {_d(start)}" if n == 1 else f"{n} times between {_d(start)} and {_d(end)}"
        confidence = float(g["confidence"].fill_null(0.5).max())  # type: ignore[arg-type]
        out.append(Draft(
            statement=(f"{inputs.label(mmsi)}, {_listing_phrase(inputs, mmsi)}, was at "
                       f"{inputs.area_name(area_id)} {when} ({basis_reason(bases)})."),
            title=f"Sanctioned vessel at {inputs.area_name(area_id)}",
            start_utc=start, end_utc=end, mmsis=[int(mmsi)], area_ids=[str(area_id)],
            event_ids=g["event_id"].to_list(), confidence=confidence,
            confidence_reason=f"port visits {basis_reason(bases)}; the best visit's confidence "
                              "(GFW port-visit levels 1-4 scaled to 0.25-1; sightings 0.9)",
            figures={"visits": n, "by_basis": {b: bases.count(b) for b in set(bases)},
                     "listing": inputs.listing(mmsi)},
        ))
    return out


# --- 2. voyages between two groups of ports -----------------------------------------------

def voyages_between_groups(inputs: FindingInputs) -> list[Draft]:
    from sanctionwatch.events.voyages import count_voyages

    cfg = inputs.config
    src, dst = cfg["findings.voyage_from"], cfg["findings.voyage_to"]
    since_text = cfg["findings.voyage_since"].strip()
    since = dt.datetime.fromisoformat(since_text).replace(tzinfo=dt.UTC) if since_text else None
    voyages = inputs.events.filter(pl.col("event_type") == "voyage")
    if voyages.height == 0:
        return []
    trips = count_voyages(voyages, src, dst, since, areas=inputs.areas)
    out = []
    a_label, b_label = group_label(src, inputs.areas), group_label(dst, inputs.areas)
    for (mmsi,), g in trips.group_by(["mmsi"], maintain_order=True):
        if g.height < cfg["findings.voyage_min_count"]:
            continue
        start, end = _span(g)
        observed = g.filter(pl.col("basis") != "inferred_gap")
        inferred = g.height - observed.height
        since_phrase = f"since {_d(since)}" if since else f"between {_d(start)} and {_d(end)}"
        listing = _listing_phrase(inputs, int(mmsi))
        event_ids = g["event_id"].to_list() + [e for e in g["return_event_id"].to_list() if e]
        monthly = (g.with_columns(pl.col("start_utc").dt.strftime("%Y-%m").alias("month"),
                                  pl.when(pl.col("basis") == "inferred_gap").then(pl.lit("inferred"))
                                  .otherwise(pl.lit("observed")).alias("kind"))
                   .group_by("month", "kind").len().sort("month", "kind"))  # group_by order is not stable
        conf = float(g["confidence"].fill_null(1.0).mean())  # type: ignore[arg-type]
        out.append(Draft(
            statement=(f"{inputs.label(mmsi)}{', ' + listing + ',' if listing else ''} made at least "
                       f"{g.height} voyages between {a_label} and {b_label} {since_phrase}: "
                       f"{observed.height} observed in AIS, {inferred} inferred from AIS gaps "
                       "long enough for the round trip (transponder off)."),
            title=f"{g.height} voyages between {a_label} and {b_label}",
            start_utc=start, end_utc=end, mmsis=[int(mmsi)],
            area_ids=sorted(set(g["area_id"].drop_nulls()) | set(g["area2_id"].drop_nulls())),
            event_ids=event_ids, confidence=round(conf, 3),
            confidence_reason=(f"mean of the voyages' confidences: observed voyages from port visits at both ends; "
                               f"{inferred} of {g.height} are hypotheses consistent with an AIS gap (their "
                               "confidence falls as the gap's slack over the round trip grows)"),
            severity=_severity_if_sanctioned(inputs, [int(mmsi)], "medium"),
            figures={"count": g.height, "observed": observed.height, "inferred": inferred,
                     "from": src, "to": dst, "since": since_text or None,
                     "per_month": monthly.to_dicts()},
        ))
    return out


# --- 3. AIS gaps near a watched area ------------------------------------------------------

def ais_gap_near_watched_area(inputs: FindingInputs) -> list[Draft]:
    cfg = inputs.config
    areas = _watched(inputs, cfg["findings.gap_groups"])
    max_m = cfg["findings.gap_near_area_km"] * 1000.0
    gaps = inputs.events.filter(pl.col("event_type") == "ais_gap")
    hits: dict[tuple[int, str], list[tuple[dict[str, Any], float]]] = {}
    if gaps.height == 0 or not areas:
        return []
    # Vectorised over gaps x areas (a year of global AIS has millions of gaps): distance from each
    # end of each gap to each area's edge, then the nearest area per gap.
    ends = gaps.select(*(pl.col("attrs_json").str.json_path_match(f"$.{k}").cast(pl.Float64).alias(k)
                         for k in ("off_lat_deg", "off_lon_deg", "on_lat_deg", "on_lon_deg")))
    dist = np.full((gaps.height, len(areas)), np.inf)
    for side in ("off", "on"):
        lat = ends[f"{side}_lat_deg"].to_numpy()[:, None]
        lon = ends[f"{side}_lon_deg"].to_numpy()[:, None]
        d = np.asarray(haversine_m(lat, lon, np.array([a.lat_deg for a in areas])[None, :],
                                   np.array([a.lon_deg for a in areas])[None, :]))
        d = d - np.array([a.radius_m or 0.0 for a in areas])[None, :]
        for j, a in enumerate(areas):
            if a.polygon is not None:
                ok = ~np.isnan(lat[:, 0])
                inside = np.zeros(len(lat), dtype=bool)
                inside[ok] = a.contains(lat[ok, 0], lon[ok, 0])
                d[inside, j] = 0.0
        dist = np.fmin(dist, np.where(np.isnan(d), np.inf, d))
    best = dist.argmin(axis=1)
    best_d = dist[np.arange(gaps.height), best]
    for i in np.flatnonzero(best_d <= max_m):
        row = gaps.row(int(i), named=True)
        hits.setdefault((row["mmsi"], areas[best[i]].area_id), []).append((row, max(float(best_d[i]), 0.0)))
    out = []
    for (mmsi, area_id), rows in sorted(hits.items()):
        g = pl.DataFrame([r for r, _ in rows], schema=gaps.schema)
        start, end = _span(g)
        hours = [float(_attrs(r).get("duration_h") or 0.0) for r, _ in rows]
        disabling = sum(bool(_attrs(r).get("likely_disabling")) for r, _ in rows)
        nearest_km = min(d for _, d in rows) / 1000.0
        n = len(rows)
        out.append(Draft(
            statement=(f"{inputs.label(mmsi)} went dark {'once' if n == 1 else f'{n} times'} within "
                       f"{cfg['findings.gap_near_area_km']:g} km of {inputs.area_name(area_id)} between "
                       f"{_d(start)} and {_d(end)}: {sum(hours):.0f} hours without AIS in all, the longest "
                       f"{max(hours):.0f} h; {disabling} meet the 'likely disabling' criteria."),
            title=f"AIS gaps near {inputs.area_name(area_id)}",
            start_utc=start, end_utc=end, mmsis=[int(mmsi)], area_ids=[area_id],
            event_ids=g["event_id"].to_list(),
            confidence=0.9 if disabling else 0.6,
            confidence_reason=("the gaps are observed (last and next AIS positions are in the data); that the "
                               "transponder was switched off is inferred: "
                               + ("some gaps meet GFW's 'likely disabling' criteria (offshore, good reception before)"
                                  if disabling else "no gap meets GFW's 'likely disabling' criteria, so poor "
                                  "reception may explain them")),
            severity=_severity_if_sanctioned(inputs, [int(mmsi)], "medium"),
            figures={"gaps": n, "hours_total": round(sum(hours), 1), "hours_max": round(max(hours), 1),
                     "likely_disabling": disabling, "nearest_km": round(nearest_km, 1)},
        ))
    return out


# --- 4. encounter involving a sanctioned vessel --------------------------------------------

def encounter_with_sanctioned_vessel(inputs: FindingInputs) -> list[Draft]:
    listed = set(inputs.sanctioned["mmsi"].unique().to_list())
    enc = inputs.events.filter((pl.col("event_type") == "encounter")
                               & (pl.col("mmsi").is_in(list(listed)) | pl.col("other_mmsi").is_in(list(listed))))
    out = []
    for row in enc.sort("start_utc").iter_rows(named=True):
        a = _attrs(row)
        pair = [int(row["mmsi"]), int(row["other_mmsi"])]
        who = "; ".join(f"{inputs.label(m)} is {_listing_phrase(inputs, m)}" for m in pair if m in listed)
        out.append(Draft(
            statement=(f"{inputs.label(pair[0])} and {inputs.label(pair[1])} met at sea on {_d(row['start_utc'])} "
                       f"for {a.get('duration_h', 0):.1f} h, {a.get('median_distance_m', 0):.0f} m apart at "
                       f"{a.get('median_speed_knots', 0):.1f} kn, {a.get('distance_from_port_km', 0):.0f} km from "
                       f"the nearest port ({row['lat_deg']:.3f}, {row['lon_deg']:.3f}); {who}. A possible "
                       "ship-to-ship transfer."),
            title="Encounter with a sanctioned vessel",
            start_utc=row["start_utc"], end_utc=row["end_utc"], mmsis=pair, area_ids=[],
            event_ids=[row["event_id"]], confidence=0.8,
            confidence_reason="both tracks observed in AIS, together within GFW's encounter limits "
                              "(500 m, 2 h, < 2 kn, >= 10 km from port); a transfer itself is not observed",
            key=row["event_id"],
            figures={k: a.get(k) for k in ("duration_h", "median_distance_m", "median_speed_knots",
                                           "distance_from_port_km")},
        ))
    return out


# --- 5. identity change of a screened vessel ------------------------------------------------

def identity_change_of_screened_vessel(inputs: FindingInputs) -> list[Draft]:
    screened = inputs.matches.filter(pl.col("status").is_in(["match", "possible"]))
    mmsis = set(screened["mmsi"].unique().to_list())
    changes = inputs.events.filter((pl.col("event_type") == "identity_change") & pl.col("mmsi").is_in(list(mmsis)))
    out = []
    for row in changes.sort("start_utc").iter_rows(named=True):
        a = _attrs(row)
        m = screened.filter(pl.col("mmsi") == row["mmsi"]).sort("score", descending=True).row(0, named=True)
        what = a.get("kind", "identity")
        out.append(Draft(
            statement=(f"{inputs.label(row['mmsi'])}, screened as a {m['status']} for {m['list_name']} entry "
                       f"{m['entry_name']} [{m['entry_id']}] (score {m['score']:.2f}), changed its broadcast "
                       f"{what} from {a.get('before')!s} to {a.get('after')!s} on {_d(row['start_utc'])}."),
            title=f"{what.capitalize()} change of a screened vessel",
            start_utc=row["start_utc"], end_utc=row["end_utc"], mmsis=[int(row["mmsi"])], area_ids=[],
            event_ids=[row["event_id"]], confidence=1.0 if m["status"] == "match" else 0.6,
            confidence_reason=("the change is observed in the vessel's own AIS static reports; the vessel's "
                               f"link to the list is a screening {m['status']} ({'; '.join(m['reasons'])})"),
            severity=_severity_if_sanctioned(inputs, [int(row["mmsi"])], "medium"),
            extra_evidence=list(m["evidence"] or []), key=row["event_id"],
            figures={"kind": what, "before": a.get("before"), "after": a.get("after"), "match_id": m["match_id"]},
        ))
    return out


# --- 6. dark vessel detected near a watched port --------------------------------------------

def dark_vessel_near_watched_port(inputs: FindingInputs) -> list[Draft]:
    cfg = inputs.config
    dark = inputs.detection_matches.filter(pl.col("status") == "dark_candidate").join(
        inputs.detections.select("detection_id", "lat_deg", "lon_deg", "length_m", "sensor", "confidence",
                                 "source_id", "record_no").rename({"confidence": "detector_confidence"}),
        on="detection_id", how="inner")
    dark = dark.filter(pl.col("length_m").is_null() | (pl.col("length_m") >= cfg["findings.dark_min_length_m"]))
    areas = _watched(inputs, cfg["findings.watched_groups"])
    max_m = cfg["findings.dark_detection_radius_km"] * 1000.0
    out = []
    for row in dark.sort("ts_utc").iter_rows(named=True):
        area, dist = _nearest_area(row["lat_deg"], row["lon_deg"], areas, max_m)
        if area is None:
            continue
        length = f"{row['length_m']:.0f} m " if row["length_m"] is not None else ""
        where = "in" if dist == 0 else f"{dist / 1000:.1f} km from"
        conf = float(row["detector_confidence"]) if row["detector_confidence"] is not None else 0.7
        out.append(Draft(
            statement=(f"A {length}vessel was detected {where} {area.name} on {row['ts_utc']:%Y-%m-%d %H:%M} UTC "
                       f"(scene {row['scene_id']}) with no AIS vessel that could have been there: a dark-vessel "
                       "candidate."),
            title=f"Dark vessel at {area.name}",
            start_utc=row["ts_utc"], end_utc=row["ts_utc"], mmsis=[], area_ids=[area.area_id], event_ids=[],
            confidence=round(conf, 3),
            confidence_reason=("seen in satellite imagery; 'dark' means no AIS track could explain the detection "
                               "at the scene time (see docs/imagery-matching.md); confidence is the detector's"),
            extra_evidence=list(row["evidence"] or []), key=row["detection_id"],
            figures={"detection_id": row["detection_id"], "scene_id": row["scene_id"], "length_m": row["length_m"],
                     "lat_deg": row["lat_deg"], "lon_deg": row["lon_deg"], "distance_km": round(dist / 1000, 2),
                     "sensor": row["sensor"]},
        ))
    return out


# --- 7. activity anomaly at a site ------------------------------------------------------------

# what each kind of count can miss, said with every activity finding
_COUNT_CAVEAT = {
    "analyst": "counts read from images are estimates",
    "ais": "ships in port counted from AIS port visits miss ships there with AIS off",
    "detections": "detections count what the scenes covered, on the days they were taken",
}


def activity_anomaly_at_site(inputs: FindingInputs) -> list[Draft]:
    a = inputs.site_anomalies
    if a.height == 0:
        return []
    out = []
    for (site_id, category, basis), g in a.group_by(["site_id", "category", "basis"], maintain_order=True):
        for cp in g.filter(pl.col("kind") == "changepoint").iter_rows(named=True):
            out.append(Draft(
                statement=f"{inputs.area_name(site_id)}: {cp['statement']}.",
                title=f"Level change in {category} at {inputs.area_name(site_id)}",
                start_utc=cp["period_start_utc"], end_utc=None, mmsis=[], area_ids=[str(site_id)],
                event_ids=list(cp["event_ids"] or []), confidence=0.8 if basis == "analyst" else 0.6,
                confidence_reason=(f"from {basis} counts: a changepoint (PELT) whose shift exceeds the noise "
                                   f"of the series; {_COUNT_CAVEAT.get(str(basis), '')}"),
                extra_evidence=list(cp["evidence"] or []), key=f"cp-{category}-{basis}-{cp['period_start_utc']}",
                figures={k: cp[k] for k in ("mean_before", "mean_after", "z", "period")},
            ))
        spikes = g.filter(pl.col("kind") == "spike").sort("period_start_utc")
        if spikes.height:
            first = spikes.row(0, named=True)
            out.append(Draft(
                statement=(f"{inputs.area_name(site_id)}: {spikes.height} {first['period']}s of unusual "
                           f"{category} counts from {_d(first['period_start_utc'])} to "
                           f"{_d(spikes['period_start_utc'].max())}, the first: {first['statement']}."),  # type: ignore[arg-type]
                title=f"Spikes in {category} at {inputs.area_name(site_id)}",
                start_utc=first["period_start_utc"], end_utc=spikes["period_start_utc"].max(),  # type: ignore[arg-type]
                mmsis=[], area_ids=[str(site_id)],
                event_ids=sorted({e for ids in spikes["event_ids"].to_list() for e in (ids or [])}),
                confidence=0.7 if basis == "analyst" else 0.5,
                confidence_reason=(f"from {basis} counts: periods whose robust z-score against the preceding "
                                   f"baseline exceeds imagery.activity_z_threshold; "
                                   f"{_COUNT_CAVEAT.get(str(basis), '')}"),
                extra_evidence=[r for ev in spikes["evidence"].to_list() for r in (ev or [])],
                key=f"spikes-{category}-{basis}",
                figures={"spikes": spikes.height, "max_z": float(spikes["z"].max()),  # type: ignore[arg-type]
                         "counts": [{"period_start_utc": r["period_start_utc"].isoformat(), "count": r["count"]}
                                    for r in spikes.iter_rows(named=True)]},
            ))
    return out


BUILTIN_RULES: tuple[Rule, ...] = (
    Rule("sanctioned_vessel_at_watched_port", "Sanctioned vessel at a watched port",
         "A vessel matched to a sanctions list entry was at a watched port (AIS port visit, or an analyst's "
         "sighting on imagery).", "high", ("findings.sanctioned_status", "findings.watched_groups"),
         sanctioned_vessel_at_watched_port),
    Rule("voyages_between_groups", "Voyages between two groups of ports",
         "A vessel made at least N voyages between port group A and port group B since a date, observed or "
         "inferred from AIS gaps (a round trip counts once).", "medium",
         ("findings.voyage_from", "findings.voyage_to", "findings.voyage_since", "findings.voyage_min_count",
          "findings.sanctioned_status"), voyages_between_groups),
    Rule("ais_gap_near_watched_area", "AIS gaps near a watched area",
         "A vessel stopped transmitting AIS near a watched area (the gap's OFF or ON position is close to it).",
         "medium", ("findings.gap_groups", "findings.gap_near_area_km", "findings.sanctioned_status"),
         ais_gap_near_watched_area),
    Rule("encounter_with_sanctioned_vessel", "Encounter with a sanctioned vessel",
         "Two vessels met at sea (a possible ship-to-ship transfer) and at least one is sanctioned.", "high",
         ("findings.sanctioned_status",), encounter_with_sanctioned_vessel),
    Rule("identity_change_of_screened_vessel", "Identity change of a screened vessel",
         "A vessel with a screening match or possible match changed its broadcast name, IMO, MMSI, call sign "
         "or flag.", "medium", ("findings.sanctioned_status",), identity_change_of_screened_vessel),
    Rule("dark_vessel_near_watched_port", "Dark vessel near a watched port",
         "A satellite detection that no AIS vessel can explain, of ship size, at or near a watched area.",
         "medium", ("findings.watched_groups", "findings.dark_detection_radius_km", "findings.dark_min_length_m"),
         dark_vessel_near_watched_port),
    Rule("activity_anomaly_at_site", "Activity anomaly at a site",
         "Counts at a site (ships at berth, rail cars, containers) jumped or changed level.", "medium",
         (), activity_anomaly_at_site),
)
