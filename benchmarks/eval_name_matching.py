"""Precision and recall of vessel name matching, on a labelled set built from the real lists.

    python benchmarks/eval_name_matching.py            # tune on OFAC, evaluate on the EU lists (~10 s)
    python benchmarks/eval_name_matching.py --quick    # OFAC only (for the tests)

Lists: OFAC SDN (``tests/data/sanctions/ofac``, with alt.csv) and, when ``../shared/data`` (or
``$SANCTIONWATCH_SHARED/data``) has them, EU 833/2014 and 2017/1509 and the UN consolidated list.
Absent files are named and skipped. Only ``Vessel`` entries are used.

The labelled set. Every alias and former name of a listed vessel (OFAC alt.csv a.k.a./f.k.a. and
``f.k.a.`` remarks, EU ``previousName``/``alias``) is rendered as a transponder would broadcast it
(:func:`bench_screening.ais_render`: anyascii, upper case, the 6-bit AIS character set, at most 20
characters). Positive pairs (broadcast -> its own entry), three sets:

* ``listed``: against the entry as listed. The entry holds that very string, so this only checks
  that the AIS rendering does not break the match (it should always be 1.0).
* ``leave-one-out`` (the informative one): against the entry *without* that alias or former
  name. A ship broadcasting one of its names should be connected to its other names when they are
  spellings of the same name (SEASTAR III / SEA STAR III, AKADEMIK CZERSKY / AKADEMIK CHERSKIY);
  most former names are real renames (NEPTUN -> MAIA-1) that no name threshold can catch, so
  recall here has a ceiling well below 1.
* ``typo``: the rendered name with one AIS-style keying error (a letter replaced, dropped, or two
  letters swapped; seeded), against the entry as listed.

Negative pairs: every broadcast against every *other* Vessel entry of the same list group (pairs
whose two entries share a valid IMO are one ship and left out), and *hard negatives*: pairs of
different listed vessels whose names differ only in a number (JI SONG 6 / JI SONG 8), only in a
trailing Roman numeral or letter (MARIE DE LOURDES I / MARIE DE LOURDES V, ARK III / ARK), or only
in one word (sister ships: AVRORA SIRIUS / AVRORA ALTAIR), each name broadcast against the other
entry. A pair is *reported* when the name similarity
(:func:`sanctionwatch.screening.names.name_similarity`, best over the entry's names) is at least
``screening.name_min_similarity``; the script also checks that ``candidate_pairs`` (the code path
of ``sanctionwatch screen``) finds every such pair.

Hold-out: the threshold is swept on OFAC only and the F1-best value chosen there; that value and
the default are then evaluated on the EU lists. At the score level (``score_pair`` with the
default settings), with no IMO, MMSI or flag on the AIS side, it reports what fraction of true
and false pairs reach 'possible' (>= cutoff) and 'match' (>= match_threshold), again with the
AIS flag equal to the broadcasting vessel's listed flag, and, for true pairs, under another flag
(a reflagged ship); where a differing flag can matter, also with the former
``screening.flag_mismatch_penalty`` of 0.10 for comparison. The same vessel listed by OFAC and the
EU (same valid IMO) gives a last, fully independent set: the EU's spellings broadcast against the
OFAC entry. Finally, for the IMO feature, how many list vessels carry an IMO that fails its check
digit. Results go to ``benchmarks/out/name_matching.json``; tables are printed as Markdown.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench_screening import LIST_FILES, OUT, ais_render, load_vessels

if TYPE_CHECKING:
    import polars as pl

    from sanctionwatch.screening.match import MatchParams

THRESHOLDS = (0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.88, 0.90, 0.92, 0.95, 1.00)
GROUPS = {"OFAC": ("ofac-sdn",), "EU": ("eu-32014R0833", "eu-32017R1509")}
FORMER_FLAG_MISMATCH_PENALTY = 0.10  # what a different flag cost before screening.flag_mismatch_penalty (0.0)
_ROMAN = re.compile(r"\s+(?:[IVX]+|[A-Z])$")
_SYNTHETIC = re.compile(r"^(IMO|MMSI) \d+$")


@dataclass
class Pair:
    """One labelled (broadcast, entry) pair and its best name similarity."""

    broadcast: str
    entry_idx: int
    label: bool
    kind: str  # listed, leave-one-out, typo, other entry, hard: number, hard: suffix, hard: one word, cross-list
    source: str  # the listed name the broadcast was made from
    sim: float = 0.0
    best_name: str = ""
    sims: dict[str, float] = field(default_factory=dict)  # what-if variants
    source_idx: int | None = None  # entry the broadcast came from
    extra: dict[str, Any] = field(default_factory=dict)


def entry_names(row: dict[str, Any]) -> list[str]:
    return [n for n in [row["name"], *(row["aliases"] or []), *(row["past_names"] or [])]
            if n and not _SYNTHETIC.match(n)]


_ROMAN_VALUES = {r: str(i) for i, r in enumerate(
    ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII",
     "XVIII", "XIX", "XX"), start=1)}


def roman_as_number(name: str) -> str:
    """What-if: a trailing Roman numeral token written as digits ('ARK III' -> 'ARK 3')."""
    from sanctionwatch.screening.names import normalize_name

    toks = normalize_name(name).split()
    if len(toks) >= 2 and toks[-1] in _ROMAN_VALUES:
        toks[-1] = _ROMAN_VALUES[toks[-1]]
    return " ".join(toks)


def similarity(broadcast: str, listed: str, variant: str = "code") -> float:
    """name_similarity as the code has it, or a what-if variant (see ``WHAT_IF``)."""
    from sanctionwatch.screening.names import name_similarity

    if variant == "roman digits":
        broadcast, listed = roman_as_number(broadcast), roman_as_number(listed)
    return name_similarity(broadcast, listed)


def best_similarity(broadcast: str, names: list[str], variant: str = "code") -> tuple[float, str]:
    best, which = 0.0, ""
    for n in names:
        s = similarity(broadcast, n, variant)
        if s > best:
            best, which = s, n
    return best, which


# The code already cuts a listed name at AIS's 20 characters as typed and reads a trailing Roman
# numeral as a number for the number-mismatch penalty (the former what-ifs 'truncation' and
# 'roman'); what remains is comparing the numeral as the digits a transponder may carry instead.
WHAT_IF = {
    "code": "name_similarity as it is",
    "roman digits": "a trailing Roman numeral is also compared as digits ('ARGO I' = 'ARGO 1')",
}


def typo(name: str, rng: np.random.Generator, k: int) -> tuple[str, str] | None:
    """One keying error in a letter of ``name``; which kind rotates with ``k``."""
    pos = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(pos) < 4:
        return None
    i = pos[int(rng.integers(0, len(pos)))]
    kind = ("letter replaced", "letter dropped", "letters swapped")[k % 3]
    if kind == "letter replaced":
        new = "ABCDEFGHIJKLMNOPRSTUVWY".replace(name[i], "")
        return name[:i] + new[int(rng.integers(0, len(new)))] + name[i + 1:], kind
    if kind == "letter dropped":
        return name[:i] + name[i + 1:], kind
    j = i + 1 if i + 1 < len(name) and name[i + 1].isalpha() and name[i + 1] != name[i] else None
    if j is None:
        return None
    return name[:i] + name[j] + name[i] + name[j + 1:], kind


def hard_negative_kind(a: str, b: str) -> str | None:
    """Why two different vessels' names are a hard negative, or None."""
    from sanctionwatch.screening.names import normalize_name

    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb or na == nb:
        return None
    da, db = re.sub(r"\d+", "#", na), re.sub(r"\d+", "#", nb)
    if da == db and "#" in da:
        return "hard: number"
    sa, sb = _ROMAN.sub("", na), _ROMAN.sub("", nb)
    if sa == sb or sa == nb or na == sb:
        return "hard: suffix"
    ta, tb = na.split(), nb.split()
    if len(ta) == len(tb) >= 2 and sum(x != y for x, y in zip(ta, tb, strict=True)) == 1:
        return "hard: one word"
    return None


def build_pairs(vessels: pl.DataFrame, seed: int) -> list[Pair]:
    """The labelled pairs of one list group (see the module doc)."""
    rows = vessels.to_dicts()
    names = {r["entry_idx"]: entry_names(r) for r in rows}
    imo_of = {r["entry_idx"]: (r["imo"] if r["imo_valid"] else None) for r in rows}
    rng = np.random.default_rng(seed)
    pairs: list[Pair] = []
    broadcasts: list[tuple[str, int, str]] = []  # (broadcast, source entry, source name)
    k = 0
    for r in rows:
        for alias in [*(r["aliases"] or []), *(r["past_names"] or [])]:
            b = ais_render(alias)
            if not b:
                continue
            broadcasts.append((b, r["entry_idx"], alias))
            pairs.append(Pair(b, r["entry_idx"], True, "listed", alias, source_idx=r["entry_idx"]))
            rest = [n for n in names[r["entry_idx"]] if n != alias]
            pairs.append(Pair(b, r["entry_idx"], True, "leave-one-out", alias, source_idx=r["entry_idx"],
                              extra={"names": rest}))
            t = typo(b, rng, k)
            k += 1
            if t is not None:
                pairs.append(Pair(t[0], r["entry_idx"], True, "typo", alias, source_idx=r["entry_idx"],
                                  extra={"how": t[1]}))
    # negatives: each broadcast (as listed, and its typo) against every other entry
    typos = {(p.source_idx, p.source): p.broadcast for p in pairs if p.kind == "typo"}
    for b, src, alias in broadcasts:
        for r in rows:
            e = r["entry_idx"]
            if e == src or (imo_of[e] is not None and imo_of[e] == imo_of[src]):
                continue
            pairs.append(Pair(b, e, False, "other entry", alias, source_idx=src))
            if (src, alias) in typos:
                pairs.append(Pair(typos[(src, alias)], e, False, "other entry (typo)", alias, source_idx=src))
    # hard negatives: any name of one vessel against another vessel, names differing by a number, a suffix, a word
    by_key: dict[tuple[str, int], list[tuple[int, str]]] = {}
    from sanctionwatch.screening.names import normalize_name

    for r in rows:
        for n in names[r["entry_idx"]]:
            key = normalize_name(n)
            toks = key.split()
            # bucket by first token and token count, and by the name without digits/suffix, to avoid all pairs
            by_key.setdefault((toks[0] if toks else "", 0), []).append((r["entry_idx"], n))
            by_key.setdefault((re.sub(r"[\d\s]+", "", _ROMAN.sub("", key)), 1), []).append((r["entry_idx"], n))
    seen: set[tuple[str, int]] = set()
    for bucket in by_key.values():
        for e1, n1 in bucket:
            for e2, n2 in bucket:
                if e1 == e2 or (imo_of[e1] is not None and imo_of[e1] == imo_of[e2]):
                    continue
                kind = hard_negative_kind(n1, n2)
                b = ais_render(n1)
                if kind is None or (b, e2) in seen:
                    continue
                seen.add((b, e2))
                pairs.append(Pair(b, e2, False, kind, n1, source_idx=e1, extra={"other": n2}))
    for p in pairs:
        listed = p.extra.get("names", names[p.entry_idx])
        p.sim, p.best_name = best_similarity(p.broadcast, listed)
        # the what-ifs move a similarity by far less than the 0.3 between this guard and the lowest threshold
        if p.sim >= 0.4 or p.label:
            for v in WHAT_IF:
                if v != "code":
                    p.sims[v] = best_similarity(p.broadcast, listed, v)[0]
    return pairs


def cross_list_pairs(ofac: pl.DataFrame, eu: pl.DataFrame) -> list[Pair]:
    """The same ship (valid IMO) in OFAC and the EU: each EU name broadcast against the OFAC entry."""
    o_by_imo = {r["imo"]: r for r in ofac.filter(ofac["imo_valid"]).to_dicts()}
    pairs = []
    for r in eu.filter(eu["imo_valid"]).to_dicts():
        o = o_by_imo.get(r["imo"])
        if o is None:
            continue
        for n in entry_names(r):
            b = ais_render(n)
            p = Pair(b, o["entry_idx"], True, "cross-list", n, extra={"ofac_name": o["name"]})
            p.sim, p.best_name = best_similarity(b, entry_names(o))
            pairs.append(p)
    return pairs


# -- measures -------------------------------------------------------------------------------------


def _sim(p: Pair, variant: str) -> float:
    return p.sim if variant == "code" else p.sims.get(variant, p.sim)


def prf(pairs: list[Pair], t: float, positive_kinds: tuple[str, ...], variant: str = "code") -> dict[str, Any]:
    pos = [p for p in pairs if p.label and p.kind in positive_kinds]
    neg = [p for p in pairs if not p.label]
    tp = sum(_sim(p, variant) >= t for p in pos)
    fp_other = sum(_sim(p, variant) >= t for p in neg if p.kind.startswith("other"))
    fp_hard = sum(_sim(p, variant) >= t for p in neg if p.kind.startswith("hard"))
    fp = fp_other + fp_hard
    fp_hard_by_kind = {k: sum(_sim(p, variant) >= t for p in neg if p.kind == k)
                       for k in ("hard: number", "hard: suffix", "hard: one word")}
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / len(pos) if pos else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind = {}
    for kind in ("listed", "leave-one-out", "typo"):
        ks = [p for p in pairs if p.label and p.kind == kind]
        by_kind[kind] = (sum(_sim(p, variant) >= t for p in ks), len(ks))
    return {"threshold": t, "variant": variant, "tp": tp, "positives": len(pos), "fp_other": fp_other,
            "fp_hard": fp_hard, "fp_hard_by_kind": fp_hard_by_kind,
            "negatives": len(neg), "precision": precision, "recall": recall, "f1": f1, "by_kind": by_kind}


def code_path_misses(pairs: list[Pair], vessels: pl.DataFrame, t: float) -> list[tuple[str, str, float]]:
    """Pairs with similarity >= t that ``candidate_pairs`` (the screening code path) does not propose."""
    import polars as pl

    from sanctionwatch.screening.match import MatchParams, candidate_pairs

    wanted = [p for p in pairs if p.sim >= t and p.kind != "leave-one-out"]
    if not wanted:
        return []
    broadcasts = sorted({p.broadcast for p in wanted})
    idx = {b: i for i, b in enumerate(broadcasts)}
    subjects = pl.DataFrame({
        "subject_idx": pl.Series(range(len(broadcasts)), dtype=pl.Int64),
        "mmsi": pl.Series([100_000_000 + i for i in range(len(broadcasts))], dtype=pl.Int32),
        "imo": pl.Series([None] * len(broadcasts), dtype=pl.Int32),
        "imo_valid": pl.Series([None] * len(broadcasts), dtype=pl.Boolean),
        "name": broadcasts,
        "call_sign": pl.Series([None] * len(broadcasts), dtype=pl.String),
        "flag_iso2": pl.Series([None] * len(broadcasts), dtype=pl.String),
    })
    cands = candidate_pairs(subjects, vessels.drop("list_name"), MatchParams(name_min_similarity=t))
    have = set(zip(cands.get_column("subject_idx").to_list(), cands.get_column("entry_idx").to_list(), strict=True))
    return [(p.broadcast, p.best_name, p.sim) for p in wanted if (idx[p.broadcast], p.entry_idx) not in have]


def score_levels(pairs: list[Pair], vessels: pl.DataFrame, params: MatchParams) -> list[dict[str, Any]]:
    """Fraction of pairs reaching possible / match with score_pair, without and with the AIS flag.

    Where the AIS flag can differ from the listed one (a true pair under another flag; a false pair
    under the broadcasting ship's own flag), the row is repeated with the former flag-mismatch
    penalty of 0.10 when the settings give another value.
    """
    from sanctionwatch.screening.match import score_pair

    rows = {r["entry_idx"]: r for r in vessels.to_dicts()}
    out = []
    groups = {"true: leave-one-out": [p for p in pairs if p.kind == "leave-one-out"],
              "true: typo": [p for p in pairs if p.kind == "typo"],
              "true: listed": [p for p in pairs if p.kind == "listed"],
              "false: other entry": [p for p in pairs if not p.label and p.kind.startswith("other")],
              "false: hard": [p for p in pairs if not p.label and p.kind.startswith("hard")]}
    cases = []
    for label in groups:
        for flag_case in ("none", "listed flag of the broadcasting ship", "another flag (reflagged)"):
            if flag_case.startswith("another") and not label.startswith("true"):
                continue
            cases.append((label, flag_case, params))
            can_differ = flag_case.startswith("another") or (flag_case.startswith("listed") and label.startswith("false"))
            if can_differ and params.flag_mismatch_penalty != FORMER_FLAG_MISMATCH_PENALTY:
                cases.append((label, flag_case, dataclasses.replace(
                    params, flag_mismatch_penalty=FORMER_FLAG_MISMATCH_PENALTY)))
    for label, flag_case, case_params in cases:
        ps = groups[label]
        possible = match = 0
        for p in ps:
            if p.sim < min(params.name_min_similarity, params.cutoff):
                continue  # no feature can fire: score 0
            entry = dict(rows[p.entry_idx])
            if p.kind == "leave-one-out":
                entry["aliases"] = [n for n in entry["aliases"] or [] if n != p.source]
                entry["past_names"] = [n for n in entry["past_names"] or [] if n != p.source]
            flag = None
            if flag_case.startswith("listed") and p.source_idx is not None:
                flag = rows[p.source_idx]["flag_iso2"]
            elif flag_case.startswith("another"):
                flag = "PA" if entry["flag_iso2"] == "CM" else "CM"  # Cameroon, a flag of the shadow fleet
            subject = {"mmsi": 0, "imo": None, "imo_valid": None, "name": p.broadcast, "call_sign": None,
                       "flag_iso2": flag}
            score, _ = score_pair(subject, entry, case_params)
            possible += params.cutoff <= score < params.match_threshold
            match += score >= params.match_threshold
        penalty = "" if case_params is params else f", flag_mismatch_penalty {case_params.flag_mismatch_penalty:.2f}"
        out.append({"pairs": label, "ais_flag": flag_case + penalty,
                    "flag_mismatch_penalty": case_params.flag_mismatch_penalty,
                    "n": len(ps), "possible": possible, "match": match})
    return out


def rendering_check(vessels: pl.DataFrame, t: float) -> dict[str, Any]:
    """Every listed name (name, alias, former name) broadcast AIS-style against itself."""
    from sanctionwatch.screening.names import name_similarity

    names = sorted({n for r in vessels.to_dicts() for n in entry_names(r)})
    sims = [(n, ais_render(n), name_similarity(ais_render(n), n)) for n in names]
    below = sorted((x for x in sims if x[2] < t), key=lambda x: x[2])
    return {"names": len(names), "longer_than_20": sum(len(ais_render(n)) < len(" ".join(n.split())) for n in names),
            "not_identical": sum(x[2] < 0.999 for x in sims), "below_threshold": len(below),
            "examples": [(n, b, round(v, 3)) for n, b, v in below[:8]]}


def imo_check_digits(vessels: pl.DataFrame) -> list[dict[str, Any]]:
    import polars as pl

    out = []
    for (list_name,), d in vessels.group_by("list_name", maintain_order=True):
        failing = d.filter(pl.col("imo").is_not_null() & ~pl.col("imo_valid").fill_null(False))
        no_number = d.filter(pl.col("imo").is_null() & pl.col("imo_raw").is_not_null())
        out.append({"list": list_name, "vessels": d.height,
                    "imo_given": d.filter(pl.col("imo_raw").is_not_null()).height,
                    "valid": d.filter(pl.col("imo_valid").fill_null(False)).height, "failing": failing.height,
                    "no_7_digits": no_number.height,
                    "examples": [f"{r['name']} ({r['imo_raw']})" for r in
                                 pl.concat([failing, no_number]).head(5).iter_rows(named=True)]})
    return out


# -- the run ----------------------------------------------------------------------------------------


def fmt_row(r: dict[str, Any]) -> str:
    bk = r["by_kind"]
    return (f"| {r['threshold']:.2f} | {bk['listed'][0]}/{bk['listed'][1]} | {bk['leave-one-out'][0]}/"
            f"{bk['leave-one-out'][1]} | {bk['typo'][0]}/{bk['typo'][1]} | {r['fp_other']:,} | {r['fp_hard']:,} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |")


HEADER = ("| threshold | R listed | R leave-one-out | R typo | FP other entries | FP hard | P | R | F1 |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def examples(pairs: list[Pair], t: float, n: int) -> dict[str, list[Pair]]:
    """Closest misses (typo, leave-one-out), identical-name false hits, and the highest other false hits."""
    def closest(kind: str) -> list[Pair]:
        return sorted((p for p in pairs if p.kind == kind and p.sim < t), key=lambda p: -p.sim)[:n]

    false_hits = sorted((p for p in pairs if not p.label and p.sim >= t), key=lambda p: -p.sim)
    return {"miss: typo": closest("typo"), "miss: leave-one-out": closest("leave-one-out"),
            "false: identical name": [p for p in false_hits if p.sim >= 0.999],
            "false: similar name": [p for p in false_hits if p.sim < 0.999][:n]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="OFAC only: no held-out EU evaluation")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--examples", type=int, default=12, help="worst misses and false hits to print")
    ap.add_argument("--out", type=Path, default=OUT, help="where name_matching.json goes")
    args = ap.parse_args()

    import polars as pl

    from sanctionwatch.config import load_config
    from sanctionwatch.screening.match import MatchParams

    started = time.perf_counter()
    params = MatchParams.from_config(load_config(None, {}))
    default_t = params.name_min_similarity
    files = LIST_FILES[:1] if args.quick else LIST_FILES
    vessels = load_vessels(files)
    report: dict[str, Any] = {"default_threshold": default_t}

    print("\n## IMO numbers failing the check digit\n")
    print("| list | vessels | IMO given | valid | failing the check digit | no 7-digit number |")
    print("|---|---:|---:|---:|---:|---:|")
    imo = imo_check_digits(vessels)
    for r in imo:
        print(f"| {r['list']} | {r['vessels']:,} | {r['imo_given']:,} | {r['valid']:,} | {r['failing']} | "
              f"{r['no_7_digits']} |" + (f" e.g. {'; '.join(r['examples'])}" if r["examples"] else ""))
    report["imo"] = imo

    groups: dict[str, pl.DataFrame] = {}
    for g, lists in GROUPS.items():
        d = vessels.filter(pl.col("list_name").is_in(list(lists)))
        if d.height:
            groups[g] = d
        elif not args.quick:
            print(f"\n{g}: none of {', '.join(lists)} is present, skipped")
    if "OFAC" not in groups:
        raise SystemExit("OFAC (tests/data/sanctions/ofac/sdn.csv) is needed to tune on")
    pairs = {g: build_pairs(d, args.seed) for g, d in groups.items()}

    print("\n## Labelled set\n")
    print("| group | vessels | broadcasts (aliases, former names) | typo variants | "
          "negatives: other entries | negatives: hard (number / suffix / one word) |")
    print("|---|---:|---:|---:|---:|---:|")
    for g, ps in pairs.items():
        c = {k: sum(p.kind == k for p in ps) for k in ("listed", "leave-one-out", "typo", "hard: number",
                                                       "hard: suffix", "hard: one word")}
        other = sum(p.kind.startswith("other") for p in ps)
        print(f"| {g} | {groups[g].height:,} | {c['listed']:,} | {c['typo']:,} | {other:,} | "
              f"{c['hard: number']:,} / {c['hard: suffix']:,} / {c['hard: one word']:,} |")

    print(f"\n## AIS rendering of every listed name against itself (threshold {default_t:.2f})\n")
    print("| group | names | cut by the 20 characters | similarity < 1 | below the threshold |")
    print("|---|---:|---:|---:|---:|")
    report["rendering"] = {}
    for g, d in groups.items():
        rc = rendering_check(d, default_t)
        report["rendering"][g] = rc
        print(f"| {g} | {rc['names']:,} | {rc['longer_than_20']} | {rc['not_identical']} | {rc['below_threshold']} |"
              + (" e.g. " + "; ".join(f"{n!r} -> {b!r} {v}" for n, b, v in rc["examples"][:4])
                 if rc["examples"] else ""))

    positive = ("leave-one-out", "typo")
    print(f"\n## Threshold sweep on OFAC (tuning set; positives: {' + '.join(positive)})\n")
    print(HEADER)
    sweep = [prf(pairs["OFAC"], t, positive) for t in THRESHOLDS]
    for r in sweep:
        print(fmt_row(r))
    best_f1 = max(r["f1"] for r in sweep)
    chosen = min((r for r in sweep if r["f1"] >= best_f1 - 1e-9), key=lambda r: abs(r["threshold"] - default_t))
    t_star = chosen["threshold"]
    print(f"\nF1-best threshold on OFAC: {t_star:.2f} (F1 {chosen['f1']:.3f}); default {default_t:.2f} "
          f"(F1 {prf(pairs['OFAC'], default_t, positive)['f1']:.3f})")
    report["sweep_ofac"] = sweep
    report["chosen"] = t_star

    print("\n## Code path check (candidate_pairs proposes every pair with similarity >= threshold)\n")
    checks = {}
    for g, ps in pairs.items():
        for t in sorted({t_star, default_t}):
            missing = code_path_misses(ps, groups[g], t)
            checks[f"{g}@{t:.2f}"] = missing
            print(f"- {g} at {t:.2f}: {len(missing)} pair(s) missed"
                  + (": " + "; ".join(f"{b!r} ~ {n!r} ({s:.3f})" for b, n, s in missing[:5]) if missing else ""))
    report["code_path_misses"] = {k: [list(x) for x in v] for k, v in checks.items()}

    if "EU" in pairs:
        print("\n## Held out: EU lists at the chosen and the default threshold\n")
        print(HEADER)
        held = [prf(pairs["EU"], t, positive) for t in sorted({t_star, default_t})]
        for r in held:
            print(fmt_row(r))
        report["held_out_eu"] = held

    print("\n## What if (not the code: variants of name_similarity computed here)\n")
    for v, doc in WHAT_IF.items():
        print(f"- `{v}`: {doc}")
    print("\n| group | variant " + HEADER.split("\n")[0] + "\n|---|---" + HEADER.split("\n")[1])
    report["what_if"] = []
    for g, ps in pairs.items():
        for v in WHAT_IF:
            for t in sorted({t_star, default_t}):
                r = prf(ps, t, positive, v)
                report["what_if"].append({"group": g, **r})
                print(f"| {g} | {v} " + fmt_row(r))

    if "EU" in pairs:
        cross = cross_list_pairs(groups["OFAC"], groups["EU"])
        print("\n## Independent spellings: the EU's names of a ship broadcast against OFAC's entry (same valid IMO)\n")
        print("| names | identical (1.0) | >= chosen | >= default | below both | of which below 0.5 (renamed) |")
        print("|---:|---:|---:|---:|---:|---:|")
        n_ident = sum(p.sim >= 0.999 for p in cross)
        n_chosen = sum(0.999 > p.sim >= t_star for p in cross)
        n_default = sum(0.999 > p.sim >= default_t for p in cross)
        below = [p for p in cross if p.sim < min(t_star, default_t)]
        print(f"| {len(cross)} | {n_ident} | {n_chosen} | {n_default} | {len(below)} | "
              f"{sum(p.sim < 0.5 for p in below)} |")
        for p in sorted((p for p in cross if 0.5 <= p.sim < 0.999), key=lambda p: -p.sim):
            print(f"  EU {p.source!r} -> OFAC {p.best_name!r} (OFAC name {p.extra['ofac_name']!r}): {p.sim:.3f}")
        report["cross_list"] = {"names": len(cross), "identical": n_ident, "chosen": n_chosen, "default": n_default,
                                "below": len(below), "examples": [(p.source, p.best_name, p.sim) for p in cross
                                                                  if 0.5 <= p.sim < 0.999]}

    print(f"\n## Score level (score_pair, default settings: cutoff {params.cutoff}, match {params.match_threshold}, "
          f"name_min_similarity {default_t}, flag_bonus {params.flag_bonus}, "
          f"flag_mismatch_penalty {params.flag_mismatch_penalty})\n")
    print("| group | pairs | AIS flag | n | possible | match |")
    print("|---|---|---|---:|---:|---:|")
    report["score_levels"] = {}
    for g, ps in pairs.items():
        levels = score_levels(ps, groups[g], params)
        report["score_levels"][g] = levels
        for r in levels:
            print(f"| {g} | {r['pairs']} | {r['ais_flag']} | {r['n']:,} | {r['possible']:,} "
                  f"({r['possible'] / max(r['n'], 1):.1%}) | {r['match']:,} ({r['match'] / max(r['n'], 1):.1%}) |")

    print(f"\n## Worst misses and false hits at the default threshold {default_t:.2f}\n")
    report["examples"] = {}
    for g, ps in pairs.items():
        ex = examples(ps, default_t, args.examples)
        report["examples"][g] = {k: [(p.kind, p.broadcast, p.source, p.best_name, round(p.sim, 3)) for p in v]
                                 for k, v in ex.items()}
        print(f"{g}, closest misses (true pairs below the threshold):")
        for p in ex["miss: typo"] + ex["miss: leave-one-out"]:
            how = f", {p.extra['how']}" if "how" in p.extra else ""
            print(f"  miss ({p.kind}{how}): {p.broadcast!r} (from {p.source!r}) ~ {p.best_name!r} {p.sim:.3f}")
        same = ex["false: identical name"]
        print(f"{g}, false hits with a name identical to another listed ship's (no threshold can remove them): "
              f"{len(same)}, e.g. " + ", ".join(sorted({p.broadcast for p in same})[:10]))
        print(f"{g}, highest false hits with a different name:")
        for p in ex["false: similar name"]:
            print(f"  false ({p.kind}): {p.broadcast!r} (from {p.source!r}) ~ {p.best_name!r} {p.sim:.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    name = "name_matching_quick.json" if args.quick else "name_matching.json"
    (args.out / name).write_text(json.dumps(report, indent=2, default=str))
    print(f"\n({time.perf_counter() - started:.1f} s; results in {args.out / name})")


if __name__ == "__main__":
    main()

