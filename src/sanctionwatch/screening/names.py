"""Name normalisation for screening vessel names across scripts and spellings.

AIS names are upper-case ASCII in the 6-bit AIS alphabet and at most 20 characters. List names
come in any script and any house style ("M/V MAIA-1", "Майя-1", "CHON MA SAN", "CHONMASAN").
Each name is reduced to two comparison keys:

``compact``
    transliterated to ASCII (anyascii: Cyrillic, Hangul, Arabic, Chinese...), upper case,
    vessel prefixes removed ("M/V", "MT", "SS"...), "NO." before numbers removed, punctuation
    and spaces removed, cut to AIS's 20 characters. Spacing and punctuation are the most common
    differences between a list and a transponder ("MAIA-1" / "MAIA 1" / "MAIA1").
``folded``
    ``compact`` with romanisation variants folded to one spelling: Cyrillic transliteration
    systems (KH/H, TS/C, YA/IA, IY/I, ...) and Korean McCune-Reischauer vs Revised Romanisation
    (EO/O, EU/U, voiced/unvoiced initials G/K, D/T, B/P, J/CH), and doubled letters. A match
    on folded keys only is scored slightly lower than on compact keys (see :func:`name_similarity`).

Numbers in names are compared apart: "JI SONG 6" and "JI SONG 8" are different ships however
similar the letters (nomenklatura logic-v2 applies a 0.3 penalty to a number mismatch).
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz import fuzz

__all__ = [
    "AIS_NAME_LENGTH",
    "FOLDED_WEIGHT",
    "NUMBER_MISMATCH_PENALTY",
    "compact_name",
    "fold_name",
    "name_numbers",
    "name_similarity",
    "normalize_call_sign",
    "normalize_name",
]

AIS_NAME_LENGTH = 20  # ITU-R M.1371 message 5: ship name, 20 six-bit characters
FOLDED_WEIGHT = 0.95  # a match only after folding spellings is a little weaker evidence
NUMBER_MISMATCH_PENALTY = 0.3  # nomenklatura logic_v2 names/magic.py nm_number_mismatch

# Type prefixes written before ship names in lists and sometimes in AIS.
_PREFIX = re.compile(r"^(?:M\s*/\s*[VYT]|M\s*\.\s*[VYT]\s*\.?|MV|MT|MY|SS|MS|FV|F\s*/\s*V|TB|RV|VESSEL)\s+")
_NUMBER_WORD = re.compile(r"\bNO\s*\.?\s*(?=\d)")
_NON_ALNUM = re.compile(r"[^A-Z0-9 ]+")
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"X{0,3}(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}

# Romanisation folding, applied in order to compact upper-case keys. Each pair is a documented
# variant between transliteration systems, not a general phonetic code.
_FOLDS: tuple[tuple[str, str], ...] = (
    # Cyrillic (BGN/PCGN vs ISO 9 vs passport styles): Kharkov/Harkov, Tsar/Car, Mariya/Maria
    ("SHCH", "SH"), ("SCH", "SH"), ("KH", "H"), ("TS", "C"), ("TZ", "C"), ("ZH", "J"),
    ("YA", "IA"), ("YU", "IU"), ("YE", "E"), ("YO", "O"), ("IY", "I"), ("IJ", "I"), ("YI", "I"),
    # Korean MR vs RR: Chon/Cheon, Kum/Geum, Pyongyang/Pyeongyang, Kang/Gang, Tae/Dae
    ("EO", "O"), ("EU", "U"), ("OE", "E"), ("AE", "E"),
    ("G", "K"), ("D", "T"), ("B", "P"), ("J", "CH"), ("LL", "L"), ("RY", "RI"),
    # general
    ("PH", "F"), ("W", "V"), ("Y", "I"), ("CK", "K"), ("Q", "K"), ("X", "KS"),
)
_DOUBLE = re.compile(r"([A-Z])\1+")


@lru_cache(maxsize=65536)
def normalize_name(name: str | None) -> str:
    """ASCII, upper case, prefix and punctuation removed, single spaces: 'M/V Майя-1' -> 'MAIA 1'."""
    if not name:
        return ""
    # A transponder carries the first 20 characters of the name as typed, spaces included, so a
    # longer listed name is cut the same way before anything is removed from it.
    text = anyascii(name).upper().replace("@", " ").strip()[:AIS_NAME_LENGTH]
    text = " ".join(text.split())
    text = _PREFIX.sub("", text)
    text = _NUMBER_WORD.sub("", text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


@lru_cache(maxsize=65536)
def compact_name(name: str | None) -> str:
    """The normalised name without spaces, cut to the 20 characters AIS can carry."""
    return normalize_name(name).replace(" ", "")[:AIS_NAME_LENGTH]


@lru_cache(maxsize=65536)
def fold_name(name: str | None) -> str:
    """The compact key with romanisation variants folded to one spelling (see module doc)."""
    key = compact_name(name)
    for a, b in _FOLDS:
        key = key.replace(a, b)
    return _DOUBLE.sub(r"\1", key)


def _roman(token: str) -> int | None:
    """Value of a Roman numeral token (I..XXXIX), else None."""
    if not token or not _ROMAN.fullmatch(token):
        return None
    total, prev = 0, 0
    for ch in reversed(token):
        v = _ROMAN_VALUES[ch]
        total, prev = (total - v, prev) if v < prev else (total + v, v)
    return total


def name_numbers(name: str | None) -> tuple[str, ...]:
    """The numbers in a name, in order ('JI SONG 6' -> ('6',)); leading zeros ignored. A Roman
    numeral as the last word of a longer name counts as a number ('MARIE DE LOURDES IV' -> ('4',)):
    sister ships are numbered either way."""
    normal = normalize_name(name)
    numbers = [str(int(d)) for d in _DIGITS.findall(normal)]
    words = normal.split()
    if len(words) > 1:
        value = _roman(words[-1])
        if value is not None:
            numbers.append(str(value))
    return tuple(numbers)


def name_similarity(a: str | None, b: str | None) -> float:
    """Similarity of two names in [0, 1]: the better of the compact and (weighted) folded
    comparison, minus the number-mismatch penalty when their numbers differ."""
    ca, cb = compact_name(a), compact_name(b)
    if not ca or not cb:
        return 0.0
    score = fuzz.ratio(ca, cb) / 100.0
    if score < 1.0:
        score = max(score, FOLDED_WEIGHT * fuzz.ratio(fold_name(a), fold_name(b)) / 100.0)
    if name_numbers(a) != name_numbers(b):
        score -= NUMBER_MISMATCH_PENALTY
    return max(score, 0.0)


def normalize_call_sign(call_sign: str | None) -> str:
    """Upper case, letters and digits only ('ub-yt2' -> 'UBYT2')."""
    if not call_sign:
        return ""
    return re.sub(r"[^A-Z0-9]", "", call_sign.upper())
