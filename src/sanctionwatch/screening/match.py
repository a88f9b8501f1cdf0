"""Match vessels seen in AIS against list entries: numbers first, then names.

The scoring follows OpenSanctions' published vessel logic (nomenklatura logic-v2; see
``docs/screening.md`` and ``../shared/reference/domain.md`` section 5): the score of a pair is
its strongest *feature* plus or minus *qualifiers*.

Features (each a setting):

* IMO: both sides give the same IMO number and both pass the check digit (0.95). An IMO that
  fails the check digit is never matched; the reason says so.
* MMSI: the list gives the MMSI the ship broadcast (0.80), unless the ship broadcast a valid IMO
  other than the listed one at the same time: then the MMSI has been reassigned (sold, reflagged)
  and the feature does not count for those reports. This is the time validity of an MMSI: a
  match covers only the reports whose identity is consistent with the entry.
* call sign: identical call signs of at least 4 characters (0.60).
* name: similarity of the broadcast name to the listed name, aliases and former names
  (:func:`~sanctionwatch.screening.names.name_similarity`) times 0.65: alone, a name is only a
  'possible' match.

Qualifiers: a name-based score gains when the flag or call sign agrees and loses when both sides
give different valid IMO numbers (two ships sharing a name); a different flag costs nothing by
default (reflagging is how listed ships move on; ``screening.flag_mismatch_penalty``). A number-based
score gains a little when the name agrees too.

Candidate pairs come from equality joins on IMO, MMSI and call sign and from a vectorised
all-pairs name comparison (rapidfuzz ``cdist`` over unique name keys, in blocks), so the cost
grows with the number of distinct names, not with identities x entries Python calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from sanctionwatch.config import Config, params_from_config
from sanctionwatch.screening.names import (
    FOLDED_WEIGHT,
    compact_name,
    fold_name,
    name_similarity,
    normalize_call_sign,
)

__all__ = ["MatchParams", "candidate_pairs", "score_pair", "screen_subjects"]

MIN_CALL_SIGN_LENGTH = 4  # shorter call signs collide too easily
MIN_NAME_LENGTH = 3  # compact names shorter than this are compared only for equality
NAME_AGREES = 0.9  # similarity above which a name "agrees" with a number match
_SYNTHETIC_NAME = re.compile(r"^(IMO|MMSI) \d+$")  # name a watchlist gives an entry listed by number only
_CDIST_CELLS = 20_000_000  # bound of one cdist block (uint8 cells): about 20 MB


@dataclass(frozen=True)
class MatchParams:
    """The screening.* settings in one object."""

    match_threshold: float = 0.70
    cutoff: float = 0.50
    imo_weight: float = 0.95
    mmsi_weight: float = 0.80
    call_sign_weight: float = 0.60
    name_weight: float = 0.65
    name_min_similarity: float = 0.85
    imo_mismatch_penalty: float = 0.50
    flag_bonus: float = 0.10
    flag_mismatch_penalty: float = 0.0
    call_sign_bonus: float = 0.20
    name_agreement_bonus: float = 0.05

    @classmethod
    def from_config(cls, config: Config) -> MatchParams:
        return params_from_config(cls, config, "screening.")


def _keyed(df: pl.DataFrame, column: str, keys: dict[str, Callable[[str | None], str]]) -> pl.DataFrame:
    """Add key columns computed once per distinct value of ``column`` (names repeat a lot)."""
    distinct = df.select(pl.col(column).drop_nulls().unique()).get_column(column).to_list()
    table = pl.DataFrame(
        {column: distinct, **{k: [fn(v) for v in distinct] for k, fn in keys.items()}},
        schema={column: pl.String, **dict.fromkeys(keys, pl.String)},
    )
    return df.join(table, on=column, how="left", nulls_equal=False)


def _subject_keys(subjects: pl.DataFrame) -> pl.DataFrame:
    keyed = _keyed(subjects, "name", {"_compact": compact_name, "_folded": fold_name})
    return _keyed(keyed, "call_sign", {"_cs": normalize_call_sign})


def _entry_names(entries: pl.DataFrame) -> pl.DataFrame:
    """One row per (entry, listed name) with its kind: name, alias or former name."""
    parts = [
        entries.select("entry_idx", pl.col("name").alias("listed_name"), pl.lit("name").alias("kind")),
        entries.select("entry_idx", pl.col("aliases").alias("listed_name"), pl.lit("alias").alias("kind"))
        .explode("listed_name"),
        entries.select("entry_idx", pl.col("past_names").alias("listed_name"), pl.lit("former name").alias("kind"))
        .explode("listed_name"),
    ]
    names = pl.concat(parts).drop_nulls("listed_name")
    return names.with_columns(
        pl.col("listed_name").map_elements(compact_name, return_dtype=pl.String).alias("_compact"),
        pl.col("listed_name").map_elements(fold_name, return_dtype=pl.String).alias("_folded"),
    ).filter(pl.col("_compact") != "")


def _similar_keys(queries: list[str], choices: list[str], cutoff_pct: float) -> pl.DataFrame:
    """(query, choice) pairs of keys whose rapidfuzz ratio is at least ``cutoff_pct``."""
    long_q = [q for q in queries if len(q) >= MIN_NAME_LENGTH]
    long_c = [c for c in choices if len(c) >= MIN_NAME_LENGTH]
    out_q: list[str] = []
    out_c: list[str] = []
    if long_q and long_c:
        block = max(1, _CDIST_CELLS // len(long_c))
        # floor: cdist scores are whole percent; the exact similarity is checked when scoring
        cut = int(np.floor(min(cutoff_pct, 100.0)))
        for start in range(0, len(long_q), block):
            chunk = long_q[start:start + block]
            scores = process.cdist(chunk, long_c, scorer=fuzz.ratio, score_cutoff=cut, dtype=np.uint8, workers=-1)
            qi, ci = np.nonzero(scores)
            out_q.extend(chunk[i] for i in qi)
            out_c.extend(long_c[j] for j in ci)
    # short keys: equality only
    short = set(q for q in queries if len(q) < MIN_NAME_LENGTH) & set(c for c in choices if len(c) < MIN_NAME_LENGTH)
    out_q.extend(short)
    out_c.extend(short)
    return pl.DataFrame({"q": out_q, "c": out_c}, schema={"q": pl.String, "c": pl.String})


def candidate_pairs(subjects: pl.DataFrame, entries: pl.DataFrame, params: MatchParams) -> pl.DataFrame:
    """(subject_idx, entry_idx) pairs worth scoring: equal IMO, MMSI or call sign, or similar names."""
    subj = _subject_keys(subjects)
    pairs: list[pl.DataFrame] = []
    imo_subj = subj.filter(pl.col("imo").is_not_null()).select("subject_idx", "imo")
    imo_ent = entries.filter(pl.col("imo").is_not_null()).select("entry_idx", "imo")
    pairs.append(imo_subj.join(imo_ent, on="imo").select("subject_idx", "entry_idx"))
    mmsi_ent = entries.select("entry_idx", pl.col("mmsis").alias("mmsi")).explode("mmsi").drop_nulls()
    pairs.append(subj.select("subject_idx", "mmsi").join(mmsi_ent, on="mmsi").select("subject_idx", "entry_idx"))
    cs_ent = entries.select(
        "entry_idx", pl.col("call_sign").map_elements(normalize_call_sign, return_dtype=pl.String).alias("_cs")
    ).filter(pl.col("_cs").str.len_chars() >= MIN_CALL_SIGN_LENGTH)
    pairs.append(subj.select("subject_idx", "_cs").join(cs_ent, on="_cs").select("subject_idx", "entry_idx"))
    names = _entry_names(entries)
    for key, cutoff in (("_compact", params.name_min_similarity), ("_folded", params.name_min_similarity / FOLDED_WEIGHT)):
        q_keys = subj.get_column(key).drop_nulls().unique().to_list()
        c_keys = names.get_column(key).unique().to_list()
        similar = _similar_keys([k for k in q_keys if k], c_keys, cutoff * 100.0)
        if similar.height:
            hits = (
                subj.select("subject_idx", pl.col(key).alias("q"))
                .join(similar, on="q")
                .join(names.select("entry_idx", pl.col(key).alias("c")), on="c")
                .select("subject_idx", "entry_idx")
            )
            pairs.append(hits)
    return pl.concat(pairs).unique().sort("subject_idx", "entry_idx")


def _best_name(ais_name: str | None, entry: dict[str, Any]) -> tuple[float, str | None, str | None]:
    """(similarity, listed name, kind) of the listed name closest to the broadcast name."""
    best: tuple[float, str | None, str | None] = (0.0, None, None)
    if not ais_name:
        return best
    for kind, names in (("name", [entry["name"]]), ("alias", entry.get("aliases") or []),
                        ("former name", entry.get("past_names") or [])):
        for listed in names:
            if listed:
                sim = name_similarity(ais_name, listed)
                if sim > best[0]:
                    best = (sim, listed, kind)
    return best


def score_pair(subject: dict[str, Any], entry: dict[str, Any], params: MatchParams) -> tuple[float, list[str]]:
    """Score one AIS identity against one list entry; returns (score in [0, 1], reasons)."""
    reasons: list[str] = []
    s_imo, e_imo = subject.get("imo"), entry.get("imo")
    s_imo_ok, e_imo_ok = bool(subject.get("imo_valid")), bool(entry.get("imo_valid"))
    imo_state = None
    if s_imo is not None and e_imo is not None:
        if s_imo_ok and e_imo_ok:
            imo_state = "match" if s_imo == e_imo else "mismatch"
        elif not s_imo_ok:
            reasons.append(f"AIS IMO {s_imo} fails the check digit: not compared")
        else:
            reasons.append(f"listed IMO {entry.get('imo_raw') or e_imo} fails the check digit: not compared")
    elif s_imo is not None and not s_imo_ok:
        reasons.append(f"AIS IMO {s_imo} fails the check digit")

    features: list[tuple[float, str, str]] = []  # (value, kind, reason)
    if imo_state == "match":
        features.append((params.imo_weight, "number", f"IMO {s_imo} broadcast is listed (check digit valid)"))
    listed_mmsis = entry.get("mmsis") or []
    mmsi = subject["mmsi"]
    if mmsi in listed_mmsis:
        if imo_state == "mismatch":
            reasons.append(f"MMSI {mmsi} is listed, but the ship broadcast IMO {s_imo}, not the listed "
                           f"IMO {e_imo}: MMSI reassigned, not counted")
        else:
            features.append((params.mmsi_weight, "number", f"MMSI {mmsi} is listed"))
    s_cs, e_cs = normalize_call_sign(subject.get("call_sign")), normalize_call_sign(entry.get("call_sign"))
    cs_equal = len(s_cs) >= MIN_CALL_SIGN_LENGTH and s_cs == e_cs
    sim, listed_name, kind = _best_name(subject.get("name"), entry)
    if sim >= params.name_min_similarity and listed_name is not None:
        how = "identical" if sim >= 1.0 else f"similarity {sim:.2f}"
        features.append((params.name_weight * sim, "name",
                         f"name {subject.get('name')!r} ~ {kind} {listed_name!r} ({how})"))
    if cs_equal:
        features.append((params.call_sign_weight, "call_sign", f"call sign {s_cs} is listed"))
    if not features:
        return 0.0, reasons
    value, top_kind, top_reason = max(features, key=lambda f: f[0])
    score = value
    reasons.insert(0, top_reason)
    if top_kind == "number":
        if imo_state == "match" and listed_mmsis and mmsi not in listed_mmsis:
            reasons.append(f"broadcast under MMSI {mmsi}, not the listed MMSI "
                           f"{', '.join(str(m) for m in listed_mmsis)}")
        if sim >= NAME_AGREES and listed_name is not None:
            score += params.name_agreement_bonus
            reasons.append(f"name agrees: {subject.get('name')!r} ~ {kind} {listed_name!r}")
        elif subject.get("name") and entry.get("name") and not _SYNTHETIC_NAME.match(entry["name"]):
            reasons.append(f"broadcast name {subject.get('name')!r} differs from listed {entry['name']!r}")
    else:
        if top_kind == "name" and cs_equal:
            score += params.call_sign_bonus
            reasons.append(f"call sign {s_cs} agrees")
        s_flag, e_flag = subject.get("flag_iso2"), entry.get("flag_iso2")
        if s_flag and e_flag:
            if s_flag == e_flag:
                score += params.flag_bonus
                reasons.append(f"flag {s_flag} agrees")
            elif s_flag in (entry.get("past_flags_iso2") or []):
                reasons.append(f"flag {s_flag} is a former flag of the entry")
            else:
                score -= params.flag_mismatch_penalty
                reasons.append(f"flag {s_flag} differs from listed {e_flag}")
        if imo_state == "mismatch":
            score -= params.imo_mismatch_penalty
            reasons.append(f"different IMO numbers: broadcast {s_imo}, listed {e_imo}")
    return float(min(max(score, 0.0), 1.0)), reasons


def screen_subjects(subjects: pl.DataFrame, entries: pl.DataFrame, params: MatchParams) -> pl.DataFrame:
    """Score every candidate pair; one row per (subject_idx, entry_idx) scoring >= cutoff.

    ``subjects`` needs subject_idx, mmsi, imo, imo_valid, name, call_sign, flag_iso2;
    ``entries`` needs entry_idx and the LIST_ENTRIES columns.
    """
    pairs = candidate_pairs(subjects, entries, params)
    out_schema: dict[str, pl.DataType] = {"subject_idx": pl.Int64(), "entry_idx": pl.Int64(), "score": pl.Float64(),
                                          "reasons": pl.List(pl.String)}
    if pairs.height == 0:
        return pl.DataFrame(schema=out_schema)
    involved = subjects.join(pairs.select("subject_idx").unique(), on="subject_idx", how="semi")
    subj_rows = {r["subject_idx"]: r for r in involved.iter_rows(named=True)}
    ent_rows = {r["entry_idx"]: r for r in entries.iter_rows(named=True)}
    rows = []
    for s_idx, e_idx in pairs.iter_rows():
        score, reasons = score_pair(subj_rows[s_idx], ent_rows[e_idx], params)
        if score >= params.cutoff:
            rows.append({"subject_idx": s_idx, "entry_idx": e_idx, "score": score, "reasons": reasons})
    return pl.DataFrame(rows, schema=out_schema)
