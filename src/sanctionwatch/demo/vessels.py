"""The cast: ANGARA and MARIA from public reporting, and a simulated background fleet.

ANGARA's IMO, call sign and MMSI, and MARIA's IMO and call sign, come from facts.md. Everything
else here is invented for the demo. That covers MARIA's MMSI and every background vessel's name,
MMSI, IMO and call sign. Background names start with ``SIM`` so that no one mistakes them for
real ships. Their IMO numbers have valid check digits but sit below 2000000, a range never issued
to ships, so they cannot match a real hull. Their MMSIs use the MID of the stated flag (ITU-R
M.585). They may still match a real station by chance, and SCENARIO.md says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BACKGROUND", "Identity", "Vessel", "imo_with_check_digit", "principal_cast"]


@dataclass(frozen=True)
class Identity:
    """What a vessel broadcasts about itself (AIS message 5 / 24)."""

    name: str
    call_sign: str
    imo: int  # 0 = none (small craft)
    ship_type: int  # AIS ship and cargo type (ITU-R M.1371-5 table 53)
    to_bow_m: int
    to_stern_m: int
    to_port_m: int
    to_starboard_m: int

    @property
    def length_m(self) -> int:
        return self.to_bow_m + self.to_stern_m


@dataclass(frozen=True)
class Vessel:
    """One ship of the scenario and where its identifiers come from."""

    key: str
    mmsi: int
    flag_iso2: str
    transceiver_class: str  # "A" (SOLAS ships) or "B" (small craft)
    identities: tuple[tuple[str, Identity], ...]  # (effective-from ISO date, identity), ascending
    role: str
    kind: str  # container, tanker, bulk, general_cargo, passenger, fishing, roro
    real: bool = False  # name/IMO/call sign from public reporting (facts.md)
    mmsi_note: str = "simulated"
    cruise_knots: float = 12.0
    tags: tuple[str, ...] = field(default=())

    @property
    def identity(self) -> Identity:
        return self.identities[0][1]


def imo_with_check_digit(first_six: int) -> int:
    """Append the IMO check digit (weights 7..2 on the first six digits, last digit of the sum)."""
    digits = f"{first_six:06d}"
    total = sum(int(d) * w for d, w in zip(digits, range(7, 1, -1), strict=True))
    return first_six * 10 + total % 10


def _ident(name: str, call_sign: str, imo6: int, ship_type: int, length_m: int, beam_m: int) -> Identity:
    bow = round(length_m * 0.85)
    port = beam_m // 2
    return Identity(name, call_sign, imo_with_check_digit(imo6) if imo6 else 0, ship_type,
                    bow, length_m - bow, port, beam_m - port)


def principal_cast() -> tuple[Vessel, Vessel]:
    """ANGARA and MARIA as named in public reporting (facts.md)."""
    angara = Vessel(
        key="angara", mmsi=273210440, flag_iso2="RU", transceiver_class="A",
        # 79 = cargo, no additional information; dimensions give about 120 m x 19 m (facts: ~120 m).
        identities=(("2023-01-01", Identity("ANGARA", "UBYT2", 9179842, 79, 100, 20, 9, 10)),),
        role="Russian Ro-Ro/container ship on the Rajin - Dunai/Vostochny munitions run (RUSI, White House)",
        kind="roro", real=True, mmsi_note="facts.md (uncertain: from a MarineTraffic URL)", cruise_knots=11.5,
    )
    maria = Vessel(
        key="maria", mmsi=273354180, flag_iso2="RU", transceiver_class="A",
        # General cargo built 1986; dimensions are simulated (facts.md gives none).
        identities=(("2023-01-01", Identity("MARIA", "UBRH7", 8517839, 70, 85, 15, 8, 8)),),
        role="Russian general cargo ship, Rajin - Dunai trips Aug-Oct 2023 (RUSI), loading at Najin to Dec (UK DI)",
        kind="general_cargo", real=True, mmsi_note="simulated (no public MMSI; Russian MID 273)", cruise_knots=10.5,
    )
    return angara, maria


def _v(key: str, mmsi: int, flag: str, kind: str, role: str, ident: Identity, knots: float,
       cls: str = "A", tags: tuple[str, ...] = (), renamed: tuple[str, Identity] | None = None) -> Vessel:
    idents: tuple[tuple[str, Identity], ...] = (("2023-01-01", ident),)
    if renamed is not None:
        idents = (*idents, renamed)
    return Vessel(key, mmsi, flag, cls, idents, role, kind, cruise_knots=knots, tags=tags)


# Background fleet. Order matters only for ``scale``: each kind keeps its first round(n * scale)
# vessels, while vessels tagged "always" (the encounter pair, the loiterer, the renamed ship) stay.
BACKGROUND: tuple[Vessel, ...] = (
    # Container feeders Vostochny/Vladivostok <-> Busan
    _v("box1", 273451230, "RU", "container", "feeder Vostochny - Busan",
       _ident("SIM AMUR BRIDGE", "UFAB7", 100341, 71, 147, 23), 13.5),
    _v("box2", 440217000, "KR", "container", "feeder Busan - Vostochny - Vladivostok",
       _ident("SIM HANBADA FEEDER", "D7SF4", 100352, 71, 172, 27), 14.0),
    _v("box3", 477862300, "HK", "container", "feeder Busan - Vladivostok",
       _ident("SIM EASTERN PEARL", "VRSM5", 100363, 71, 160, 25), 13.0),
    _v("box4", 636021845, "LR", "container", "feeder Vostochny - Busan",
       _ident("SIM PACIFIC LINNET", "D5SM3", 100374, 71, 134, 22), 12.5),
    # Crude tankers from Kozmino (ESPO crude) to China and Korea
    _v("tank1", 636019472, "LR", "tanker", "crude tanker Kozmino - Qingdao; ship-to-ship transfer in November",
       _ident("SIM KOZMINO SPIRIT", "D5SM8", 100385, 80, 228, 42), 12.5, tags=("always", "sts")),
    _v("tank2", 355904000, "PA", "tanker", "crude tanker Kozmino - Ulsan",
       _ident("SIM AURORA BAY", "3ESM2", 100396, 80, 244, 42), 12.0),
    _v("tank3", 538007614, "MH", "tanker", "crude tanker Kozmino - Qingdao",
       _ident("SIM NORTHERN STAR", "V7SM9", 100400, 80, 250, 44), 12.0),
    # The other side of the ship-to-ship transfer: a small product tanker under a flag of convenience
    _v("sts_partner", 671226100, "TG", "tanker", "small tanker met tank1 in open water, then went dark",
       _ident("SIM LUCKY TIDE", "5VSM4", 100411, 80, 96, 16), 10.0, tags=("always", "sts")),
    # Bulk carriers loading coal at Vostochny for China
    _v("bulk1", 357118000, "PA", "bulk", "coal carrier Vostochny - Qingdao; loiters offshore awaiting orders",
       _ident("SIM IRON HARVEST", "3ESM6", 100422, 70, 190, 32), 12.0, tags=("always", "loiter")),
    _v("bulk2", 413662870, "CN", "bulk", "coal carrier Vostochny - Qingdao",
       _ident("SIM HUA SHENG 7", "BSIM3", 100433, 70, 180, 30), 11.5),
    # General cargo that is renamed mid-scenario (same IMO, MMSI and call sign)
    _v("renamed", 273318650, "RU", "general_cargo", "general cargo Vladivostok - Busan; renamed 2023-11-20",
       _ident("SIM VOLNA", "UFVN2", 100444, 70, 108, 17), 11.0, tags=("always", "rename"),
       renamed=("2023-11-20", _ident("SIM VERA", "UFVN2", 100444, 70, 108, 17))),
    # Local passenger ferry
    _v("ferry", 273447810, "RU", "passenger", "passenger ferry Vladivostok - Slavyanka",
       _ident("SIM PRIMORYE", "UFPR5", 100455, 60, 62, 12), 14.0),
    # Small fishing boats (class B)
    _v("fish1", 273012340, "RU", "fishing", "class B fishing boat from Pos'yet",
       _ident("SIM RYBAK 1", "UFRB1", 0, 30, 24, 7), 8.0, cls="B"),
    _v("fish2", 273012350, "RU", "fishing", "class B fishing boat from Zarubino",
       _ident("SIM RYBAK 2", "UFRB2", 0, 30, 22, 6), 8.0, cls="B"),
    _v("fish3", 273012360, "RU", "fishing", "class B fishing boat from Zarubino",
       _ident("SIM RYBAK 3", "UFRB3", 0, 30, 26, 7), 8.0, cls="B"),
    _v("fish4", 273012370, "RU", "fishing", "class B fishing boat from Nakhodka",
       _ident("SIM RYBAK 4", "UFRB4", 0, 30, 21, 6), 8.0, cls="B"),
    _v("fish5", 273012380, "RU", "fishing", "class B fishing boat from Vladivostok",
       _ident("SIM RYBAK 5", "UFRB5", 0, 30, 25, 7), 8.0, cls="B"),
)
