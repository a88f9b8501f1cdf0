"""SCENARIO.md: the story, what is real (with sources), what is simulated, and what was written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FACTS_USED", "write_scenario_md"]


class _File(Protocol):
    """What SCENARIO.md lists about a written file (``scenario.ScenarioFile``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def n_bytes(self) -> int: ...
    @property
    def position_messages(self) -> int: ...
    @property
    def static_messages(self) -> int: ...
    @property
    def noise_lines(self) -> Mapping[str, tuple[int, ...]]: ...


# (fact, source) pairs taken from shared/data/scenario/facts.md; the sources are as cited there
# (mostly secondary syndications of the original reporting).
FACTS_USED: tuple[tuple[str, str], ...] = (
    ("ANGARA: IMO 9179842, Russian flag, Ro-Ro/container carrier about 120 m", "OFAC SDN row 37059; EU Reg. 833/2014 Annex XLII"),
    ("ANGARA: MMSI 273210440 and call sign UBYT2 (uncertain)", "MarineTraffic URL quoted in a public CTF write-up (facts.md)"),
    ("ANGARA: named by the White House as carrying >1,000 containers Najin -> Dunay; arrived 12 Sep 2023",
     "White House NSC briefing 13 Oct 2023; DW"),
    ("ANGARA and MARIA: at least 5 round trips Rajin <-> Dunai, mid-Aug to 14 Oct 2023",
     "RUSI 'The Orient Express' 16 Oct 2023; Washington Post 16 Oct 2023"),
    ("ANGARA: at least 11 deliveries since Aug 2023; at Zhoushan Xinya Shipyard from 9 Feb 2024, "
     "AIS on briefly in the Korea Strait", "Reuters 25 Apr 2024 (RUSI, Planet Labs imagery)"),
    ("MARIA: IMO 8517839, call sign UBRH7, Russian flag, general cargo built 1986; no public MMSI",
     "OFAC SDN row 46773; KBS 13 Dec 2023"),
    ("MAIA-1, ANGARA and MARIA loading containers at Najin, Sep-Dec 2023",
     "UK Defence Intelligence via The Guardian, Jan 2024"),
    ("Vostochny terminal operator and the Dunai naval facility designated; >10,000 containers since Sep 2023",
     "State Dept fact sheet 23 Feb 2024"),
    ("Coordinates of Rajin, Vostochny, Dunai, Vladivostok and Zhoushan Xinya (approximate)", "facts.md places"),
    ("Coordinates of Nakhodka, Slavyanka, Zarubino, Pos'yet, Busan, Ulsan and Qingdao",
     "NGA World Port Index Pub. 150"),
)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows)
    return out


def _story() -> list[str]:
    return [
        "## The story",
        "",
        "ANGARA, a Russian Ro-Ro/container ship under US sanctions since 2022, shuttles between Rajin (Najin) in",
        "the DPRK and the Russian Far East. From mid-August to mid-October 2023 it delivers to the Dunai naval pier,",
        "then to Vostochny. It makes 12 round trips in all, loading for one to two days at Rajin each time. Its",
        "transponder is on in Russian ports and coastal waters, but it goes dark about 20 nm out and comes back",
        "about 20 nm from the delivery port. Three trips are partly visible. On one the transponder stays on until",
        "just off Rajin. On one it is on for the whole Rajin call, which the Pos'yet receiver and satellites see.",
        "On one it comes back on 12 nm out of Rajin. The draught it reports is deeper after every Rajin call",
        "(typed in while dark). In early February 2024 it sails for the Zhoushan Xinya shipyard in China. It",
        "switches AIS on only in the Korea Strait, arrives on 9 February and stays dark at the yard until the",
        "end of the scenario.",
        "",
        "MARIA (general cargo) makes five round trips Rajin -> Dunai from late August to mid-October (all dark",
        "but one outbound leg), and two more to Vostochny in November and December, then lies at Vladivostok.",
        "Its MMSI is unknown, so the one used here is simulated.",
        "",
        "Around them runs simulated background traffic. Container feeders sail Vostochny/Vladivostok <-> Busan.",
        "Crude tankers run from Kozmino to Qingdao and Ulsan, and coal carriers from Vostochny to Qingdao. A summer",
        "ferry crosses from Vladivostok to Slavyanka, and class B fishing boats work until the winter lay-up. On top",
        "of that, four staged events give the detectors something to find:",
        "",
        "* **ship-to-ship encounter**: in November a Kozmino tanker stops in open water more than 20 nm offshore.",
        "  A small tanker under a flag of convenience lies alongside it (about 40 m apart, below 1 kn) for 5 h.",
        "  The small tanker then heads for the DPRK coast and switches its AIS off;",
        "* **loitering**: a coal carrier drifts for 7 h more than 20 nm offshore, awaiting orders, in December;",
        "* **identity change**: a general cargo ship is renamed on 20 Nov 2023 (same IMO, MMSI and call sign);",
        "* **AIS gaps**: every dark crossing above, plus winter lay-ups (ferry, fishing boats) with AIS off.",
        "",
    ]


def _simulated(truth: Mapping[str, Any]) -> list[str]:
    return [
        "## What is simulated",
        "",
        "* **Every position, track and timestamp** in the AIS files. The hours of each departure and the length of",
        "  each stay are simulated. So is the number of trips beyond the public \"at least\" counts, and so is the",
        "  exact on/off pattern of each transponder (the public record only says the crossings were dark).",
        "* **MARIA's MMSI** (273354180): none is public, so a number in the Russian MID 273 range was chosen.",
        "  ANGARA's MMSI 273210440 is the one in facts.md, where it is marked uncertain.",
        "* **The background fleet**: names (all start with `SIM`), MMSIs (each with the MID of the stated flag),",
        "  call signs, dimensions and routes. The IMO numbers have valid check digits but lie in 1000000-1009999,",
        "  below the range issued to ships, so they cannot match a real hull. An MMSI or call sign may still match",
        "  a real station by chance. That match means nothing.",
        "* **The receivers**: three coastal stations (Vladivostok, Nakhodka, Pos'yet), sited plausibly but not",
        "  real, and a satellite provider with 4-6 passes a day. There is no receiver in the DPRK.",
        "* **Reception**: class A reports are kept every 2-10 min under way and 6-30 min alongside; class B every",
        "  30 s-3 min, of which a fifth survive. Coastal reception fades from 30 to 45 nm for class A and from 12",
        "  to 22 nm for class B. A satellite pass catches each transmitting ship with probability 0.55 (class A) or",
        "  0.2 (class B).",
        "* **Noise**: each monthly log has a few `$GPRMC` lines from the receivers' own GNSS and four garbled copies",
        "  of real lines (bad checksum). The first month also holds one orphaned fragment (part 1 of a type 5 whose",
        "  part 2 was lost). Their line numbers are in the manifest.",
        "",
        f"Seed {truth['scenario']['seed']}, scale {truth['scenario']['scale']}: "
        "the same seed and scale always give byte-identical files.",
        "",
    ]


def _places(truth: Mapping[str, Any]) -> list[str]:
    rows = [(p["name"], p["country_iso2"], f"{p['lat_deg']:.4f}, {p['lon_deg']:.4f}",
             f"{p['berth_lat_deg']:.4f}, {p['berth_lon_deg']:.4f}", p["berth_moved_m"], p["source"], p["note"])
            for p in truth["places"].values()]
    rx = [(r["station"], r["place"], f"{r['lat_deg']:.3f}, {r['lon_deg']:.3f}") for r in truth["receivers"]]
    return [
        "## Places, and where berths were moved",
        "",
        "Every simulated position must be on water in Natural Earth 1:50m (the land mask all checks use), and no",
        "straight line between two consecutive positions of a ship may cross its land. That layer generalises the",
        "coast by about 1-2 km, so several real quays lie \"on land\" in it. Those berths were moved to the nearest",
        "point at least 300 m off the 1:50m coast. Rajin moved furthest (3.7 km), because the 1:50m coast there is",
        "drawn about 3.5 km seaward of the harbour.",
        "",
        *_table(("place", "country", "published lat, lon", "berth lat, lon", "moved (m)", "source", "note"), rows),
        "",
        *_table(("receiver (s: station)", "site", "lat, lon"), rx),
        "",
    ]


def _cast(truth: Mapping[str, Any]) -> list[str]:
    rows = []
    for v in sorted(truth["vessels"].values(), key=lambda v: (v["identity_source"] != "public reporting (facts.md)",
                                                             v["key"])):
        names = " -> ".join(i["name"] for i in v["identities"])
        first = v["identities"][0]
        w = v["positions_written"]
        rows.append((names, v["mmsi"], v["mmsi_source"], first["imo"] or "", first["call_sign"], v["flag_iso2"],
                     v["transceiver_class"], v["role"], w["coastal"], w["satellite"]))
    return ["## Cast", "", *_table(("name", "MMSI", "MMSI source", "IMO", "call sign", "flag", "class", "role",
                                    "coastal positions", "satellite positions"), rows), ""]


def _events(truth: Mapping[str, Any]) -> list[str]:
    deliveries = [(d["vessel"], d["trip"], d["from_port"], d["depart_russia_utc"], d["arrive_rajin_utc"],
                   d["depart_rajin_utc"], d["delivered_to"], d["arrive_russia_utc"], d["ais"])
                  for d in truth["rajin_deliveries"]]
    enc = [(e["name_a"], e["name_b"], e["start_utc"], e["end_utc"], f"{e['lat_deg']:.4f}, {e['lon_deg']:.4f}")
           for e in truth["encounters"]]
    loit = [(x["name"], x["start_utc"], x["end_utc"], f"{x['lat_deg']:.4f}, {x['lon_deg']:.4f}", x["note"])
            for x in truth["loitering"]]
    ren = [(c["mmsi"], c["imo"], c["from_name"], c["to_name"], c["effective_utc"]) for c in truth["identity_changes"]]
    return [
        "## Ground truth (also in truth.json)",
        "",
        "### Rajin deliveries",
        "",
        *_table(("vessel", "trip", "from", "departs", "at Rajin", "leaves Rajin", "delivers to", "arrives", "AIS"),
                deliveries),
        "",
        "AIS: `dark` = off from ~20 nm out to ~20 nm from the delivery port; `on_outbound` = on until just off",
        "Rajin; `on_at_rajin` = on from 12 nm before Rajin until 12 nm after; `on_return` = back on 12 nm out of Rajin.",
        "",
        "### Encounter",
        "",
        *_table(("vessel A", "vessel B", "start", "end", "mean position"), enc),
        "",
        "### Loitering",
        "",
        *_table(("vessel", "start", "end", "mean position", "note"), loit),
        "",
        "### Identity change",
        "",
        *_table(("MMSI", "IMO", "from", "to", "effective"), ren),
        "",
    ]


def _files(files: Sequence[_File], counts: Mapping[str, int]) -> list[str]:
    rows = [(f"`{f.name}`", f.kind, f"{f.n_bytes:,}", f.position_messages or "", f.static_messages or "",
             ", ".join(f"{k} {len(v)}" for k, v in f.noise_lines.items()))
            for f in files]
    return [
        "## Files",
        "",
        "Every AIS file says SIMULATED in its header (NMEA comment lines; the CSV's `Source` column and the",
        "mapping file's comment).",
        "",
        *_table(("file", "kind", "bytes", "position messages", "static messages", "noise lines"), rows),
        "",
        f"In all: {counts['vessels']} vessels, {counts['position_messages']:,} position messages "
        f"({counts['coastal_position_messages']:,} coastal, {counts['satellite_position_rows']:,} satellite), "
        f"{counts['static_messages']:,} static messages, {counts['noise_lines']} noise lines.",
        "",
        "Ingest with `sanctionwatch ingest PROJECT ais_coastal_*.nmea` and",
        "`sanctionwatch ingest PROJECT ais_satellite_provider.csv --mapping ais_satellite_provider.mapping.yaml`",
        "(`sanctionwatch demo` does both).",
        "",
    ]


def write_scenario_md(path: Path, truth: Mapping[str, Any], files: Sequence[_File],
                      counts: Mapping[str, int]) -> Path:
    facts = [(f, s) for f, s in FACTS_USED]
    lines = [
        "# Demo scenario: DPRK -> Russia munitions shipping, August 2023 - February 2024",
        "",
        "> **SIMULATED DATA.** The AIS files in this folder are generated by `sanctionwatch.demo` on real geography",
        "> and public reporting. No position, track or timestamp in them was ever received from a real ship.",
        "> Do not cite them as evidence about any vessel.",
        "",
        *_story(),
        "## What is real (from public reporting)",
        "",
        "The facts below come from `facts.md` (shared scenario notes). Its citations are mostly secondary",
        "syndications of the original reporting.",
        "",
        *_table(("fact", "source"), facts),
        "",
        *_simulated(truth),
        *_places(truth),
        *_cast(truth),
        *_events(truth),
        *_files(files, counts),
    ]
    path.write_text("\n".join(lines), encoding="utf-8", newline="\n")
    return path
