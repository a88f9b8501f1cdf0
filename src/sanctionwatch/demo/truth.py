"""Ground truth of the scenario (``truth.json``): what really happened, for tests and for the report.

Times are ISO 8601 UTC strings (``2023-09-12T09:04:31Z``). ``null`` means "before the scenario
starts" or "after it ends". Keys are sorted, so the file is byte-identical for a given seed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sanctionwatch.demo.places import PLACES, RECEIVERS
from sanctionwatch.demo.reception import Reports
from sanctionwatch.demo.routes import METRES_PER_NM
from sanctionwatch.demo.story import END_S, START_S, Plan

__all__ = ["build_truth", "iso", "write_truth"]

SCENARIO_NAME = "DPRK -> Russia munitions shipping, Aug 2023 - Feb 2024 (SIMULATED AIS on public facts)"
TRUTH_VERSION = 1


def iso(t_s: int | None) -> str | None:
    if t_s is None:
        return None
    return dt.datetime.fromtimestamp(int(t_s), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_window(t_s: int | None) -> str | None:
    return None if t_s is None or t_s >= END_S or t_s < START_S else iso(t_s)


def _times(d: dict[str, Any]) -> dict[str, Any]:
    """Replace every ``*_s`` key by its ``*_utc`` ISO string."""
    return {(k[:-2] + "_utc" if k.endswith("_s") else k): (iso(v) if k.endswith("_s") else v) for k, v in d.items()}


def _vessel(plan: Plan, reports: Reports) -> dict[str, Any]:
    v = plan.vessel
    return {
        "key": v.key,
        "mmsi": v.mmsi,
        "mmsi_source": v.mmsi_note,
        "identity_source": "public reporting (facts.md)" if v.real else "simulated",
        "identities": [{"from_date": start, "name": i.name, "call_sign": i.call_sign, "imo": i.imo or None,
                        "ship_type": i.ship_type, "length_m": i.length_m} for start, i in v.identities],
        "flag_iso2": v.flag_iso2,
        "transceiver_class": v.transceiver_class,
        "kind": v.kind,
        "role": v.role,
        "legs": [{"from": leg.origin, "to": leg.destination, "depart_utc": iso(leg.depart_s),
                  "arrive_utc": _in_window(leg.arrive_s),
                  "distance_nm": round(leg.length_m / METRES_PER_NM, 1)}
                 for leg in plan.legs if leg.depart_s < END_S],
        "port_calls": [{"port": c.port, "arrive_utc": _in_window(c.arrive_s), "depart_utc": _in_window(c.depart_s)}
                       for c in plan.port_calls if c.arrive_s is None or c.arrive_s < END_S],
        "dark_periods": [{"start_utc": iso(a), "end_utc": _in_window(b), "reason": why}
                         for a, b, why in sorted(plan.dark) if a < END_S],
        "positions_written": {"coastal": int((reports.station >= 0).sum()),
                              "coastal_duplicates": int((reports.duplicate_station >= 0).sum()),
                              "satellite": int(reports.satellite.sum()),
                              "satellite_added_to_avoid_land_lines": reports.fixed},
    }


def build_truth(plans: list[Plan], reports: list[Reports], seed: int, scale: float) -> dict[str, Any]:
    deliveries = sorted((d for p in plans for d in p.deliveries), key=lambda d: int(d["arrive_rajin_s"]))
    per_vessel: dict[str, int] = {}
    numbered = []
    for d in deliveries:
        per_vessel[str(d["vessel"])] = per_vessel.get(str(d["vessel"]), 0) + 1
        numbered.append({**_times(d), "trip": per_vessel[str(d["vessel"])]})
    changes = [{"mmsi": p.vessel.mmsi, "imo": new.imo, "from_name": old.name, "to_name": new.name,
                "effective_utc": f"{start}T00:00:00Z"}
               for p in plans
               for (_, old), (start, new) in zip(p.vessel.identities[:-1], p.vessel.identities[1:], strict=True)]
    return {
        "scenario": {
            "name": SCENARIO_NAME, "simulated": True, "truth_version": TRUTH_VERSION, "seed": seed, "scale": scale,
            "start_utc": iso(START_S), "end_utc": iso(END_S), "end_is_exclusive": True,
        },
        "vessels": {str(p.vessel.mmsi): _vessel(p, r) for p, r in zip(plans, reports, strict=True)},
        "rajin_deliveries": numbered,
        "encounters": [_times(e) for p in plans for e in p.encounters],
        "loitering": sorted((_times(x) for p in plans for x in p.loitering), key=lambda x: x["start_utc"]),
        "identity_changes": changes,
        "receivers": [{"station": r.station, "lat_deg": r.lat_deg, "lon_deg": r.lon_deg, "place": r.place}
                      for r in RECEIVERS],
        "places": {k: {"name": p.name, "country_iso2": p.country_iso2, "lat_deg": p.lat_deg, "lon_deg": p.lon_deg,
                       "berth_lat_deg": p.berth_lat_deg, "berth_lon_deg": p.berth_lon_deg,
                       "berth_moved_m": round(p.moved_m), "source": p.source, "note": p.note}
                   for k, p in PLACES.items()},
    }


def write_truth(path: Path, truth: dict[str, Any]) -> Path:
    path.write_text(json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=True) + "\n", encoding="ascii",
                    newline="\n")
    return path
