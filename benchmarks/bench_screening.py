"""Screening throughput and peak memory: ``screen_subjects`` versus a naive rapidfuzz loop, in one run.

    python benchmarks/bench_screening.py                          # 100k identities, naive loop on 2,000
    python benchmarks/bench_screening.py --identities 20000 --sample 500   # quicker

The lists are every file that exists of: OFAC SDN (``tests/data/sanctions/ofac``, with its
alt/add companions), EU 833/2014 and 2017/1509 and the UN consolidated list (``../shared/data``,
or ``$SANCTIONWATCH_SHARED/data``). Files that are absent are named and skipped; screening runs
against every ``Vessel`` entry of the rest, as ``sanctionwatch screen`` does.

The AIS side is generated, seeded: ``--identities`` broadcast identities (MMSI with a real MID,
ship name, IMO number valid for ~70 %, failing its check digit for ~3 %, absent otherwise, call
sign, flag from the MID). Names come from a ship-name vocabulary (OCEAN GLORY 3, HAI YANG 12,
KAPITAN IVANOV, ZHE DAI YU 21345, ...). A few hundred true hits are planted: listed names and
aliases with AIS-style corruption (20-character truncation, punctuation stripped, spaces removed
or added, "NO." added or dropped, one mistyped letter), listed IMO numbers under new MMSIs, and
listed MMSIs.

Each measured step runs in its own child process (this script with ``--step``), which reports its
own peak RSS (``VmHWM`` from ``/proc/self/status``):

* ``ours``: :func:`sanctionwatch.screening.match.screen_subjects` on all identities against all
  listed vessels (the code path of ``sanctionwatch screen`` once the project has been read);
* ``ours (sample)``: the same on a random ``--sample`` of the identities;
* ``naive (sample)``: a plain Python loop over every (identity, listed name/alias/former name)
  pair calling ``rapidfuzz.fuzz.ratio`` on ``normalize_name`` keys, plus IMO and MMSI equality,
  on the same sample.

The parent then checks, on the sample, that the naive loop's hits (name ratio at or above
``screening.name_min_similarity``, equal IMO, listed MMSI) are among our candidate pairs, and
how many planted hits our run reported. Results go to ``benchmarks/out/screening.json`` and are
printed as a Markdown table for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import polars as pl

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
SHARED = Path(os.environ.get("SANCTIONWATCH_SHARED", REPO.parent / "shared")) / "data"
LIST_FILES: tuple[tuple[str, Path], ...] = (
    ("ofac-sdn", REPO / "tests" / "data" / "sanctions" / "ofac" / "sdn.csv"),
    ("eu-32014R0833", SHARED / "sanctions" / "eu" / "32014R0833.csv"),
    ("eu-32017R1509", SHARED / "sanctions" / "eu" / "32017R1509.csv"),
    ("un-consolidated", SHARED / "sanctions" / "un" / "consolidated.xml"),
)

# -- lists ------------------------------------------------------------------------------------------


def load_vessels(files: tuple[tuple[str, Path], ...] = LIST_FILES, *, quiet: bool = False) -> pl.DataFrame:
    """Every Vessel entry of the list files that exist, with list_name and entry_idx."""
    import polars as pl

    from sanctionwatch.screening.lists.registry import choose_loader

    frames = []
    for list_name, path in files:
        if not path.is_file():
            if not quiet:
                print(f"list {list_name}: {path} is absent, skipped", flush=True)
            continue
        loaded = choose_loader(path).load(path)
        df = pl.from_arrow(loaded.entries)
        assert isinstance(df, pl.DataFrame)
        vessels = df.filter(pl.col("schema") == "Vessel").with_columns(
            pl.lit(list_name).alias("list_name"), pl.lit(list_name).alias("list_id"))
        if not quiet:
            print(f"list {list_name}: {df.height:,} entries, {vessels.height:,} vessels ({path})", flush=True)
        frames.append(vessels)
    if not frames:
        raise SystemExit("no list file found: nothing to screen against")
    return pl.concat(frames, how="vertical_relaxed").with_row_index("entry_idx").with_columns(
        pl.col("entry_idx").cast(pl.Int64))


# -- generated AIS identities -----------------------------------------------------------------------

# (MID, weight): flags of the world fleet and of the shadow fleet, with real MIDs.
MIDS: tuple[tuple[int, float], ...] = (
    (636, 10), (538, 8), (352, 4), (353, 3), (355, 3), (356, 3), (357, 2), (370, 2), (371, 2), (372, 2),
    (373, 2), (477, 5), (563, 3), (564, 2), (565, 2), (566, 2), (412, 4), (413, 4), (414, 2), (440, 3),
    (441, 2), (431, 2), (273, 6), (215, 3), (229, 3), (248, 3), (249, 2), (256, 3), (209, 2), (210, 2),
    (212, 2), (311, 3), (240, 2), (241, 2), (620, 1), (677, 1), (613, 1), (667, 1), (511, 1), (518, 1),
    (312, 1), (341, 1), (577, 1), (457, 1), (671, 1), (422, 1), (445, 1), (232, 2), (235, 2), (244, 2),
    (219, 2), (257, 2), (265, 1), (227, 1), (247, 2), (224, 1), (255, 2), (314, 1), (305, 1), (403, 1),
    (470, 1), (525, 1), (533, 1), (574, 1), (548, 1), (419, 1), (601, 1), (725, 1), (710, 1), (345, 1),
)
FLAGS_OF_CONVENIENCE = (613, 620, 667, 677, 511, 518, 312, 341, 577, 457, 671)

W_ADJ = ("OCEAN", "SEA", "PACIFIC", "ATLANTIC", "GOLDEN", "SILVER", "GRAND", "GREAT", "ROYAL", "BLUE",
         "NORTHERN", "SOUTHERN", "ASIAN", "ORIENT", "EASTERN", "WESTERN", "NEW", "STAR", "SUN", "BRIGHT",
         "LUCKY", "GLOBAL", "UNITED", "AEGEAN", "BALTIC", "NORDIC", "ARCTIC", "CORAL", "CRYSTAL", "EMERALD",
         "IRON", "ISLAND", "CAPE", "BAY", "RED", "WHITE", "GREEN", "BLACK", "SWIFT", "PRIME")
W_NOUN = ("STAR", "GLORY", "SPIRIT", "PRIDE", "PEARL", "WIND", "HARMONY", "FORTUNE", "VENTURE", "TRADER",
          "EXPRESS", "DREAM", "QUEEN", "PRINCESS", "HOPE", "LIGHT", "WAVE", "EAGLE", "FALCON", "LION",
          "TIGER", "DRAGON", "PHOENIX", "ANGEL", "MARINER", "NAVIGATOR", "PIONEER", "VOYAGER", "CARRIER",
          "BRIDGE", "HORIZON", "LEGEND", "MERCURY", "NEPTUNE", "ATLAS", "TITAN", "JADE", "LOTUS", "ROSE",
          "ORCHID", "VICTORY", "UNITY", "SUCCESS", "PROSPERITY", "BLESSING", "CHAMPION", "EMPEROR", "SKY")
CN_SYLL = ("HAI", "YANG", "XIN", "JIN", "HUA", "FU", "DA", "SHUN", "FENG", "YU", "LONG", "ZHOU", "HONG",
           "TAI", "KANG", "MING", "AN", "DE", "HENG", "SHENG", "TONG", "XING", "YUAN", "HE", "GUANG", "JI",
           "NING", "RUI", "CHANG", "BAO", "QIAN", "WAN", "LI", "PING", "SHAN", "HUI", "ZHONG", "HANG")
CN_FISH = ("ZHE DAI YU", "LU RONG YU", "MIN DONG YU", "ZHE LING YU", "YUE YANG YU", "LIAO DA ZHONG YU",
           "SU YAN YU", "QIONG LIN YU", "JIN HAI YU", "FU YUAN YU", "LU YAN YUAN YU", "ZHE PU YU")
KR_SYLL = ("JI", "SONG", "CHOL", "RYONG", "KUM", "SAN", "PHO", "MYONG", "NAM", "PAEK", "TU", "MAN", "KANG",
           "CHON", "MA", "HYOK", "SIN", "RYU", "KYONG", "HWA", "SAM", "JONG", "UN", "PONG", "SU", "DONG",
           "HAE", "WOL", "CHIL", "BO", "GWANG", "MYEONG")
RU_TITLE = ("KAPITAN", "AKADEMIK", "PROFESSOR", "GENERAL", "ADMIRAL", "MARSHAL", "INZHENER", "SHTURMAN")
RU_SURNAME = ("IVANOV", "PETROV", "SMIRNOV", "KUZNETSOV", "POPOV", "SOKOLOV", "LEBEDEV", "KOZLOV", "NOVIKOV",
              "MOROZOV", "VOLKOV", "SOLOVYEV", "VASILYEV", "ZAYTSEV", "PAVLOV", "SEMENOV", "GOLUBEV",
              "VINOGRADOV", "BOGDANOV", "VOROBYEV", "KHLEBNIKOV", "DRANITSYN", "GOTSKIY", "SOROKIN")
RU_WORD = ("VOLGA", "NEVA", "AMUR", "ANGARA", "LENA", "DON", "KAMA", "URAL", "BAIKAL", "SAKHALIN",
           "PRIMORYE", "NAKHODKA", "VOSTOK", "ZARYA", "RODINA", "MOSKVA", "SIBIR", "TAYMYR", "YAMAL",
           "SEVER", "ZVEZDA", "NADEZHDA", "MECHTA", "SVETLANA", "TATYANA", "ELENA", "NATALYA", "IRINA",
           "VOLGONEFT", "OMSKIY", "SORMOVSKIY", "NEFTERUDOVOZ", "BALTIYSKIY", "PETROTRANS")
BRAND = ("MSC", "MAERSK", "CMA CGM", "COSCO", "EVER", "ONE", "NORDIC", "STOLT", "TORM", "SEASPAN", "HYUNDAI",
         "NAVIG8", "BW", "GAS", "NEW", "SCF", "CSL", "MINERVA", "DELTA", "KOTA", "APL", "YM", "HMM", "OOCL")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
AIS_CHARS = set("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?")  # ITU-R M.1371 6-bit


def ais_render(name: str) -> str:
    """A listed name as a transponder would broadcast it: ASCII (anyascii), upper case, the 6-bit
    AIS character set (others become spaces), single spaces, at most 20 characters."""
    from anyascii import anyascii

    text = "".join(ch if ch in AIS_CHARS else " " for ch in anyascii(name).upper())
    return " ".join(text.split())[:20].rstrip()


def _number(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.55:
        return str(int(rng.integers(1, 20)))
    if r < 0.8:
        return str(int(rng.integers(1, 200)))
    if r < 0.9:
        return ROMAN[int(rng.integers(0, len(ROMAN)))]
    return f"NO.{int(rng.integers(1, 30))}"


def ship_name(rng: np.random.Generator) -> str:
    """One generated AIS ship name (upper case, at most 20 characters)."""
    pick = rng.random()

    def one(words: tuple[str, ...]) -> str:
        return words[int(rng.integers(0, len(words)))]

    if pick < 0.33:
        name = f"{one(W_ADJ)} {one(W_NOUN)}" if rng.random() < 0.85 else one(W_NOUN)
        if rng.random() < 0.3:
            name += " " + _number(rng)
    elif pick < 0.55:
        name = " ".join(one(CN_SYLL) for _ in range(int(rng.integers(2, 4))))
        if rng.random() < 0.6:
            name += " " + (str(int(rng.integers(1, 100))) if rng.random() < 0.8 else _number(rng))
    elif pick < 0.65:
        name = f"{one(CN_FISH)} {int(rng.integers(1, 99999)):05d}" if rng.random() < 0.3 else \
            f"{one(CN_FISH)} {int(rng.integers(1, 9999))}"
    elif pick < 0.73:
        sylls = [one(KR_SYLL) for _ in range(int(rng.integers(2, 4)))]
        name = " ".join(sylls) if rng.random() < 0.6 else "".join(sylls[:2]) + " " + " ".join(sylls[2:])
        if rng.random() < 0.4:
            name = name.strip() + " " + str(int(rng.integers(1, 30)))
    elif pick < 0.86:
        r = rng.random()
        if r < 0.45:
            name = f"{one(RU_TITLE)} {one(RU_SURNAME)}"
        elif r < 0.8:
            name = one(RU_WORD) + (f"-{int(rng.integers(1, 300))}" if rng.random() < 0.5 else "")
        else:
            name = f"{one(RU_WORD)} {one(RU_WORD)}"
    else:
        name = f"{one(BRAND)} {one(W_NOUN if rng.random() < 0.5 else W_ADJ)}"
        if rng.random() < 0.2:
            name += " " + _number(rng)
    return " ".join(name.split())[:20].rstrip()


def _imo_check(base6: int) -> int:
    s = f"{base6:06d}"
    return int(s + str(sum(int(d) * w for d, w in zip(s, range(7, 1, -1), strict=True)) % 10))


def _call_sign(rng: np.random.Generator) -> str:
    prefixes = ("UB", "UA", "3E", "3F", "D5", "A8", "V7", "VR", "9V", "BO", "BP", "DS", "JD", "9H", "5B", "C6",
                "SV", "9L", "5I", "TC", "XU", "H9", "E5", "T8")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    tail = "".join(letters[int(i)] for i in rng.integers(0, len(letters), int(rng.integers(2, 5))))
    return prefixes[int(rng.integers(0, len(prefixes)))] + tail


def corrupt(name: str, rng: np.random.Generator) -> tuple[str, str]:
    """A listed name as a crew might have typed it into the transponder; (broadcast, how)."""
    import re

    base = ais_render(name)
    kinds = ["as listed", "no punctuation", "no spaces", "space moved", "NO. added/dropped", "one letter typed wrong"]
    weights = [0.25, 0.15, 0.2, 0.15, 0.1, 0.15]
    kind = kinds[int(rng.choice(len(kinds), p=weights))]
    out = base
    if kind == "no punctuation":
        out = re.sub(r"[^A-Z0-9 ]", "", base)
    elif kind == "no spaces":
        out = base.replace(" ", "")
    elif kind == "space moved":
        letters = base.replace(" ", "")
        cuts = [i for i in range(1, len(letters)) if not (letters[i - 1].isdigit() and letters[i].isdigit())]
        if len(letters) > 3 and cuts:  # never inside a number: '8653' -> '8 653' is another number
            cut = cuts[int(rng.integers(0, len(cuts)))]
            out = letters[:cut] + " " + letters[cut:]
    elif kind == "NO. added/dropped":
        if re.search(r"NO\.?\s*\d", base):
            out = re.sub(r"NO\.?\s*(\d)", r"\1", base)
        elif re.search(r"\d", base):
            out = re.sub(r"\s*(\d)", r" NO.\1", base, count=1)
    elif kind == "one letter typed wrong":
        pos = [i for i, ch in enumerate(base) if ch.isalpha()]
        if pos:
            i = pos[int(rng.integers(0, len(pos)))]
            out = base[:i] + "ABCDEFGHIJKLMNOPRSTUVWY".replace(base[i], "")[int(rng.integers(0, 22))] + base[i + 1:]
    out = " ".join(out.split())[:20].rstrip()
    if out == base and kind != "as listed":
        kind = "as listed"
    return out, kind


def make_identities(n: int, vessels: pl.DataFrame, n_planted: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(subjects as ``screen_subjects`` wants them, planted hits: subject_idx, entry_idx, kind, how)."""
    import polars as pl

    from sanctionwatch.identifiers import flag_for_mmsi_expr

    rng = np.random.default_rng(seed)
    listed_imos = set(vessels.get_column("imo").drop_nulls().to_list())
    listed_mmsis = set(vessels.get_column("mmsis").explode().drop_nulls().to_list())
    listed_cs = set(vessels.get_column("call_sign").drop_nulls().to_list())
    mids = np.array([m for m, _ in MIDS])
    p = np.array([w for _, w in MIDS], dtype=float)
    p /= p.sum()

    # MMSIs: unique, never a listed one; ~3 % of identities are a second name under an MMSI already used
    n_mmsi = max(1, int(n * 0.97))
    cand = mids[rng.choice(len(mids), size=int(n_mmsi * 1.2) + 100, p=p)] * 1_000_000 + \
        rng.integers(0, 1_000_000, size=int(n_mmsi * 1.2) + 100)
    cand = [int(m) for m in dict.fromkeys(cand.tolist()) if int(m) not in listed_mmsis][:n_mmsi]
    mmsi = cand + [cand[int(i)] for i in rng.integers(0, len(cand), n - len(cand))]

    # IMO numbers: ~70 % valid (never a listed one), ~3 % failing the check digit, the rest absent
    r = rng.random(n)
    first = rng.choice([9, 8, 7], size=n, p=[0.8, 0.15, 0.05])
    base6 = first * 100_000 + rng.integers(0, 100_000, n)
    imo: list[int | None] = []
    valid: list[bool | None] = []
    for i in range(n):
        if r[i] < 0.70:
            v = _imo_check(int(base6[i]))
            while v in listed_imos:
                v = _imo_check(int(rng.integers(900_000, 990_000)))
            imo.append(v)
            valid.append(True)
        elif r[i] < 0.73:
            v = _imo_check(int(base6[i]))
            imo.append(v - v % 10 + (v % 10 + int(rng.integers(1, 10))) % 10)  # wrong check digit
            valid.append(False)
        else:
            imo.append(None)
            valid.append(None)
    names = [ship_name(rng) for _ in range(n)]
    call_signs: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.15:
            call_signs.append(None)
            continue
        cs = _call_sign(rng)
        while cs in listed_cs:
            cs = _call_sign(rng)
        call_signs.append(cs)

    # planted true hits, written over randomly chosen identities
    planted: list[dict[str, Any]] = []
    slots = rng.choice(n, size=min(n_planted, n), replace=False).tolist()
    ves = vessels.select("entry_idx", "name", "aliases", "past_names", "imo", "imo_valid", "mmsis").to_dicts()
    with_imo = [v for v in ves if v["imo"] is not None and v["imo_valid"]]
    with_mmsi = [v for v in ves if v["mmsis"]]
    kinds = rng.choice(3, size=len(slots), p=[0.4, 0.35, 0.25] if with_mmsi else [0.55, 0.45, 0.0])
    mids_foc = np.array(FLAGS_OF_CONVENIENCE)
    for slot, k in zip(slots, kinds.tolist(), strict=True):
        new_mmsi = int(mids_foc[int(rng.integers(0, len(mids_foc)))]) * 1_000_000 + int(rng.integers(0, 1_000_000))
        while new_mmsi in listed_mmsis:
            new_mmsi += 1
        if k == 0:
            v = ves[int(rng.integers(0, len(ves)))]
            listed = [x for x in [v["name"], *(v["aliases"] or []), *(v["past_names"] or [])]
                      if x and not x.startswith(("IMO ", "MMSI "))]
            if not listed:
                continue
            src = listed[int(rng.integers(0, len(listed)))]
            names[slot], how = corrupt(src, rng)
            mmsi[slot], imo[slot], valid[slot], call_signs[slot] = new_mmsi, None, None, None
            planted.append({"subject_idx": slot, "entry_idx": v["entry_idx"], "kind": "name", "how": how,
                            "listed": src, "broadcast": names[slot]})
        elif k == 1:
            v = with_imo[int(rng.integers(0, len(with_imo)))]
            renamed = rng.random() < 0.5
            names[slot] = ship_name(rng) if renamed else ais_render(v["name"])
            mmsi[slot], imo[slot], valid[slot] = new_mmsi, int(v["imo"]), True
            planted.append({"subject_idx": slot, "entry_idx": v["entry_idx"], "kind": "IMO under a new MMSI",
                            "how": "renamed" if renamed else "listed name", "listed": v["name"],
                            "broadcast": names[slot]})
        else:
            v = with_mmsi[int(rng.integers(0, len(with_mmsi)))]
            m = v["mmsis"][int(rng.integers(0, len(v["mmsis"])))]
            renamed = rng.random() < 0.5
            names[slot] = ship_name(rng) if renamed else ais_render(v["name"])
            mmsi[slot], imo[slot], valid[slot] = int(m), None, None
            planted.append({"subject_idx": slot, "entry_idx": v["entry_idx"], "kind": "listed MMSI",
                            "how": "renamed" if renamed else "listed name", "listed": v["name"],
                            "broadcast": names[slot]})
    subjects = pl.DataFrame({
        "subject_idx": pl.Series(range(n), dtype=pl.Int64),
        "mmsi": pl.Series(mmsi, dtype=pl.Int32),
        "imo": pl.Series(imo, dtype=pl.Int32),
        "imo_valid": pl.Series(valid, dtype=pl.Boolean),
        "name": pl.Series(names, dtype=pl.String),
        "call_sign": pl.Series(call_signs, dtype=pl.String),
    }).with_columns(flag_for_mmsi_expr(pl.col("mmsi")).alias("flag_iso2"))
    plant = pl.DataFrame(planted, schema={"subject_idx": pl.Int64, "entry_idx": pl.Int64, "kind": pl.String,
                                          "how": pl.String, "listed": pl.String, "broadcast": pl.String})
    return subjects, plant


# -- measured steps (each in its own process) -------------------------------------------------------


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def step_ours(subjects_path: Path, entries_path: Path, out_path: Path) -> dict[str, Any]:
    import polars as pl

    from sanctionwatch.config import load_config
    from sanctionwatch.screening.match import MatchParams, screen_subjects

    params = MatchParams.from_config(load_config(None, {}))
    subjects = pl.read_parquet(subjects_path)
    entries = pl.read_parquet(entries_path)
    t0 = time.perf_counter()
    scored = screen_subjects(subjects, entries, params)
    seconds = time.perf_counter() - t0
    scored.select("subject_idx", "entry_idx", "score").write_parquet(out_path)
    return {"identities": subjects.height, "seconds": seconds, "pairs": scored.height,
            "matches": scored.filter(pl.col("score") >= params.match_threshold).height}


def step_naive(subjects_path: Path, entries_path: Path, out_path: Path) -> dict[str, Any]:
    import polars as pl
    from rapidfuzz import fuzz

    from sanctionwatch.config import load_config
    from sanctionwatch.screening.match import MatchParams
    from sanctionwatch.screening.names import normalize_name

    params = MatchParams.from_config(load_config(None, {}))
    cut = params.name_min_similarity * 100.0
    subjects = pl.read_parquet(subjects_path).to_dicts()
    entries = pl.read_parquet(entries_path).to_dicts()
    t0 = time.perf_counter()
    listed: list[tuple[int, str]] = []
    by_imo: dict[int, list[int]] = {}
    by_mmsi: dict[int, list[int]] = {}
    for e in entries:
        for n in [e["name"], *(e["aliases"] or []), *(e["past_names"] or [])]:
            if n:
                listed.append((e["entry_idx"], normalize_name(n)))
        if e["imo"] is not None:
            by_imo.setdefault(e["imo"], []).append(e["entry_idx"])
        for m in e["mmsis"] or []:
            by_mmsi.setdefault(m, []).append(e["entry_idx"])
    hits: dict[tuple[int, int], str] = {}
    for s in subjects:
        key = normalize_name(s["name"])
        if key:
            for e_idx, listed_key in listed:
                if fuzz.ratio(key, listed_key) >= cut:
                    hits.setdefault((s["subject_idx"], e_idx), "name")
        for e_idx in by_imo.get(s["imo"], []) if s["imo"] is not None else []:
            hits[(s["subject_idx"], e_idx)] = "IMO"
        for e_idx in by_mmsi.get(s["mmsi"], []):
            hits[(s["subject_idx"], e_idx)] = "MMSI"
    seconds = time.perf_counter() - t0
    pl.DataFrame({"subject_idx": [k[0] for k in hits], "entry_idx": [k[1] for k in hits],
                  "feature": list(hits.values())},
                 schema={"subject_idx": pl.Int64, "entry_idx": pl.Int64, "feature": pl.String}).write_parquet(out_path)
    return {"identities": len(subjects), "seconds": seconds, "pairs": len(hits),
            "comparisons": len(subjects) * len(listed)}


STEPS = {"ours": step_ours, "naive": step_naive}


def run_step(step: str, subjects: Path, entries: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--step", step, str(subjects), str(entries),
                           str(out)], stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


# -- the run ----------------------------------------------------------------------------------------


def agreement(sample: pl.DataFrame, vessels: pl.DataFrame, naive: pl.DataFrame, ours: pl.DataFrame) -> dict[str, Any]:
    """On the sample: are the naive loop's hits among our candidate pairs, and among our results?"""
    import polars as pl

    from sanctionwatch.config import load_config
    from sanctionwatch.screening.match import MatchParams, candidate_pairs
    from sanctionwatch.screening.names import name_numbers, name_similarity

    params = MatchParams.from_config(load_config(None, {}))
    cands = candidate_pairs(sample, vessels, params).with_columns(pl.lit(True).alias("cand"))
    ours = ours.with_columns(pl.lit(True).alias("reported"))
    j = naive.join(cands, on=["subject_idx", "entry_idx"], how="left").join(
        ours.select("subject_idx", "entry_idx", "reported"), on=["subject_idx", "entry_idx"], how="left")
    out: dict[str, Any] = {"candidates": cands.height, "reported": ours.height}
    for feature in ("name", "IMO", "MMSI"):
        f = j.filter(pl.col("feature") == feature)
        out[f"naive_{feature}_hits"] = f.height
        out[f"naive_{feature}_in_candidates"] = f.filter(pl.col("cand")).height
        out[f"naive_{feature}_reported"] = f.filter(pl.col("reported")).height
    # the naive hits our own similarity (number penalty, folding, 20-character keys) accepts
    entry_names = {r["entry_idx"]: [n for n in [r["name"], *(r["aliases"] or []), *(r["past_names"] or [])] if n]
                   for r in vessels.select("entry_idx", "name", "aliases", "past_names").iter_rows(named=True)}
    broadcast = dict(zip(sample.get_column("subject_idx").to_list(), sample.get_column("name").to_list(), strict=True))
    f = j.filter(pl.col("feature") == "name")
    sims = [max((name_similarity(broadcast[s], n) for n in entry_names[e]), default=0.0)
            for s, e in zip(f.get_column("subject_idx").to_list(), f.get_column("entry_idx").to_list(), strict=True)]
    accepted = f.with_columns(pl.Series("sim", sims, dtype=pl.Float64)).filter(
        pl.col("sim") >= params.name_min_similarity)
    out["naive_name_accepted"] = accepted.height
    out["naive_name_accepted_in_candidates"] = accepted.filter(pl.col("cand")).height
    rejected = f.with_columns(pl.Series("sim", sims, dtype=pl.Float64)).filter(
        pl.col("sim") < params.name_min_similarity)
    out["naive_name_rejected"] = rejected.height
    out["naive_name_rejected_numbers_differ"] = sum(
        name_numbers(broadcast[s]) not in {name_numbers(n) for n in entry_names[e]}
        for s, e in zip(rejected.get_column("subject_idx").to_list(), rejected.get_column("entry_idx").to_list(),
                        strict=True))
    missing = j.filter(pl.col("cand").is_null())
    names = sample.select("subject_idx", pl.col("name").alias("broadcast"))
    ents = vessels.select("entry_idx", pl.col("name").alias("listed"))
    out["naive_not_candidates_examples"] = missing.join(names, on="subject_idx").join(ents, on="entry_idx").select(
        "broadcast", "listed", "feature").head(8).to_dicts()
    extra = cands.join(naive, on=["subject_idx", "entry_idx"], how="anti")
    out["candidates_not_in_naive"] = extra.height
    out["candidates_not_in_naive_examples"] = extra.join(names, on="subject_idx").join(ents, on="entry_idx").select(
        "broadcast", "listed").head(8).to_dicts()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--identities", type=int, default=100_000, help="AIS identities to generate and screen")
    ap.add_argument("--sample", type=int, default=2_000, help="identities the naive loop (and ours, again) runs on")
    ap.add_argument("--planted", type=int, default=300, help="true hits planted among the identities")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=OUT, help="where screening.json goes (work files in OUT/work)")
    ap.add_argument("--step", nargs=4, metavar=("STEP", "SUBJECTS", "ENTRIES", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        name, subjects_path, entries_path, out_path = args.step
        result = STEPS[name](Path(subjects_path), Path(entries_path), Path(out_path))
        result["peak_rss_mb"] = _peak_mb()
        print(json.dumps(result))
        return

    import polars as pl

    from sanctionwatch.config import load_config
    from sanctionwatch.screening.match import MatchParams

    params = MatchParams.from_config(load_config(None, {}))
    out_dir: Path = args.out
    work = out_dir / "work" / "screening"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    vessels = load_vessels()
    n_names = (vessels.height + vessels.get_column("aliases").list.len().sum()
               + vessels.get_column("past_names").list.len().sum())
    t0 = time.perf_counter()
    subjects, planted = make_identities(args.identities, vessels, min(args.planted, max(1, args.identities // 10)),
                                        args.seed)
    print(f"generated {subjects.height:,} identities ({subjects.get_column('name').n_unique():,} distinct names, "
          f"{planted.height} planted hits) in {time.perf_counter() - t0:.1f} s", flush=True)
    rng = np.random.default_rng(args.seed + 1)
    sample_idx = np.sort(rng.choice(subjects.height, size=min(args.sample, subjects.height), replace=False))
    sample = subjects.filter(pl.col("subject_idx").is_in(sample_idx.tolist()))
    paths = {k: work / f"{k}.parquet" for k in ("subjects", "sample", "entries")}
    subjects.write_parquet(paths["subjects"])
    sample.write_parquet(paths["sample"])
    vessels.drop("list_name").write_parquet(paths["entries"])

    results = []
    for label, step, src in (("ours", "ours", "subjects"), ("ours (sample)", "ours", "sample"),
                             ("naive (sample)", "naive", "sample")):
        r = run_step(step, paths[src], paths["entries"], work / f"out-{label.replace(' ', '_')}.parquet")
        r["step"] = label
        r["identities_per_s"] = r["identities"] / r["seconds"]
        results.append(r)
        print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
    by = {r["step"]: r for r in results}

    ours_all = pl.read_parquet(work / "out-ours.parquet")
    found = planted.join(ours_all, on=["subject_idx", "entry_idx"], how="left").with_columns(
        pl.when(pl.col("score").is_null()).then(pl.lit("missed"))
        .when(pl.col("score") >= params.match_threshold).then(pl.lit("match"))
        .otherwise(pl.lit("possible")).alias("status"))
    recall = found.group_by("kind", "how", "status").len().sort("kind", "how", "status")
    # reported pairs that were not planted: generated names that happen to be listed names (ANGARA, VOLGA...)
    # (a pair of a planted identity with another list's entry for the same ship, same valid IMO, counts as planted)
    same_ship = (planted.join(vessels.select("entry_idx", "imo", "imo_valid"), on="entry_idx")
                 .filter(pl.col("imo_valid")).select("subject_idx", "imo")
                 .join(vessels.filter(pl.col("imo_valid")).select("entry_idx", "imo"), on="imo")
                 .select("subject_idx", "entry_idx"))
    expected = pl.concat([planted.select("subject_idx", "entry_idx"), same_ship]).unique()
    unplanted = ours_all.join(expected, on=["subject_idx", "entry_idx"], how="anti")
    others = {"match": unplanted.filter(pl.col("score") >= params.match_threshold).height,
              "possible": unplanted.filter(pl.col("score") < params.match_threshold).height}
    others_examples = (unplanted.sort("score", descending=True).head(6)
                       .join(subjects.select("subject_idx", "name", "imo", "flag_iso2"), on="subject_idx")
                       .join(vessels.select("entry_idx", pl.col("name").alias("listed"), pl.col("flag_iso2")
                                            .alias("listed_flag")), on="entry_idx").to_dicts())
    agree = agreement(sample, vessels.drop("list_name"), pl.read_parquet(work / "out-naive_(sample).parquet"),
                      pl.read_parquet(work / "out-ours_(sample).parquet"))
    ratios = {
        "ours_all_vs_naive_identities_per_s": by["ours"]["identities_per_s"] / by["naive (sample)"]["identities_per_s"],
        "ours_sample_vs_naive_identities_per_s": (by["ours (sample)"]["identities_per_s"]
                                                  / by["naive (sample)"]["identities_per_s"]),
    }
    env = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
           "polars": pl.__version__, "rapidfuzz": __import__("rapidfuzz").__version__}
    lists = vessels.group_by("list_name").len().sort("list_name").to_dicts()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "screening.json").write_text(json.dumps({
        "results": results, "ratios": ratios, "agreement": agree, "planted": recall.to_dicts(), "unplanted": others,
        "lists": lists,
        "listed_vessels": vessels.height, "listed_names": int(n_names), "env": env,
        "params": {"name_min_similarity": params.name_min_similarity, "cutoff": params.cutoff,
                   "match_threshold": params.match_threshold},
    }, indent=2, default=str))

    print(f"\nlisted vessels: {vessels.height:,} ({int(n_names):,} names, aliases and former names) from "
          + ", ".join(f"{d['list_name']} {d['len']:,}" for d in lists))
    print("\n| step | identities | seconds | identities/s | peak RSS | pairs reported |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['step']} | {r['identities']:,} | {r['seconds']:.2f} | {r['identities_per_s']:,.0f} | "
              f"{r['peak_rss_mb']:,.0f} MB | {r['pairs']:,} |")
    print(f"\nratios: ours (all) / naive = {ratios['ours_all_vs_naive_identities_per_s']:.1f}x identities/s; "
          f"ours (sample) / naive = {ratios['ours_sample_vs_naive_identities_per_s']:.1f}x")
    print(f"\nagreement on the sample ({sample.height:,} identities; our candidate pairs {agree['candidates']:,}, "
          f"reported >= cutoff {agree['reported']:,}):")
    print("\n| naive hit by | naive hits | in our candidates | reported by us (>= cutoff) |")
    print("|---|---:|---:|---:|")
    for f in ("name", "IMO", "MMSI"):
        print(f"| {f} | {agree[f'naive_{f}_hits']:,} | {agree[f'naive_{f}_in_candidates']:,} | "
              f"{agree[f'naive_{f}_reported']:,} |")
    print(f"\nnaive name hits our similarity accepts (>= {params.name_min_similarity}): "
          f"{agree['naive_name_accepted']:,}, of which in our candidates: "
          f"{agree['naive_name_accepted_in_candidates']:,}; "
          f"rejected: {agree['naive_name_rejected']:,} ({agree['naive_name_rejected_numbers_differ']:,} of them "
          "differ in their numbers, e.g. FU YUAN YU 6723 / FU YUAN YU 7862)")
    print(f"\nour candidate pairs the naive loop does not have: {agree['candidates_not_in_naive']:,}")
    for ex in agree["candidates_not_in_naive_examples"]:
        print(f"  ours only: {ex['broadcast']!r} ~ {ex['listed']!r}")
    for ex in agree["naive_not_candidates_examples"]:
        print(f"  naive only ({ex['feature']}): {ex['broadcast']!r} ~ {ex['listed']!r}")
    print(f"\nplanted hits found in the full run ({planted.height}):")
    print("\n| planted | how | status | n |")
    print("|---|---|---|---:|")
    for row in recall.iter_rows(named=True):
        print(f"| {row['kind']} | {row['how']} | {row['status']} | {row['len']} |")
    print(f"\nreported pairs that were not planted (nor the planted ship in another list): {others['match']:,} match, "
          f"{others['possible']:,} possible; "
          "the highest:")
    for ex in others_examples:
        print(f"  {ex['name']!r} (IMO {ex['imo']}, flag {ex['flag_iso2']}) ~ {ex['listed']!r} "
              f"(flag {ex['listed_flag']}): "
              f"{ex['score']:.2f}")
    missed = found.filter(pl.col("status") == "missed").head(10)
    for row in missed.iter_rows(named=True):
        print(f"  missed: {row['kind']} ({row['how']}): broadcast {row['broadcast']!r}, listed {row['listed']!r}")


if __name__ == "__main__":
    main()
