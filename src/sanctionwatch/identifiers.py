"""Ship identifiers: IMO numbers (with check digit) and MMSIs (with the flag their MID implies).

Used at ingest (``identities.imo_valid``, ``identities.flag_iso2``) and by screening.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import polars as pl

__all__ = ["flag_for_mmsi", "flag_for_mmsi_expr", "imo_is_valid", "imo_valid_expr", "mid_of", "mid_table"]


def imo_is_valid(imo: int | str | None) -> bool:
    """True if ``imo`` is a 7-digit IMO ship number whose check digit is right.

    The check digit is the last digit of the sum of the first six digits weighted 7..2
    (IMO Resolution A.1117(30)): 9074729 -> 9*7+0*6+7*5+4*4+7*3+2*2 = 139 -> 9.
    Accepts "IMO 9074729" / "IMO9074729" strings. A leading zero is rejected, as in
    :func:`imo_valid_expr` (1,000,000..9,999,999): otherwise the AIS "not available" value
    written as "0000000" would pass the check digit.
    """
    if imo is None:
        return False
    s = str(imo).strip().upper().removeprefix("IMO").strip()
    if len(s) != 7 or not s.isdigit() or s[0] == "0":
        return False
    total = sum(int(d) * w for d, w in zip(s[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(s[6])


def imo_valid_expr(imo: pl.Expr) -> pl.Expr:
    """Vectorised :func:`imo_is_valid` for an integer column (null stays null)."""
    digits = [(imo // 10 ** (6 - i)) % 10 for i in range(7)]
    weighted = sum((d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)), pl.lit(0))
    in_range = (imo >= 1_000_000) & (imo <= 9_999_999)
    return pl.when(imo.is_null()).then(None).otherwise(in_range & ((weighted % 10) == digits[6]))


@cache
def mid_table() -> dict[int, tuple[str, str]]:
    """Maritime Identification Digits -> (ISO 3166-1 alpha-2, country name), from ITU's MID list."""
    out: dict[int, tuple[str, str]] = {}
    ref = resources.files("sanctionwatch.data").joinpath("mid.csv")
    with ref.open(encoding="utf-8") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            out[int(row["mid"])] = (row["iso2"], row["country"])
    return out


def mid_of(mmsi: int) -> int | None:
    """The MID of an MMSI, for the formats that carry one (ITU-R M.585 annex 1).

    Ship stations MIDxxxxxx; group 0MIDxxxxx; coast 00MIDxxxx; SAR aircraft 111MIDxxx;
    AtoN 99MIDxxxx; craft with a parent ship 98MIDxxxxx. Returns None otherwise.
    """
    s = f"{mmsi:09d}"
    if len(s) != 9:
        return None
    if s[0] in "234567":
        return int(s[:3])
    if s.startswith("00"):
        return int(s[2:5])
    if s.startswith("0"):
        return int(s[1:4])
    if s.startswith("111"):
        return int(s[3:6])
    if s.startswith(("98", "99")):
        return int(s[2:5])
    return None


def flag_for_mmsi(mmsi: int) -> str | None:
    mid = mid_of(mmsi)
    if mid is None:
        return None
    hit = mid_table().get(mid)
    return hit[0] if hit else None


def flag_for_mmsi_expr(mmsi: pl.Expr) -> pl.Expr:
    """Vectorised flag lookup for ship-station MMSIs (MID = first three digits)."""
    table = mid_table()
    mids = pl.Series("mid", list(table.keys()), dtype=pl.Int64)
    iso = pl.Series("iso", [v[0] for v in table.values()], dtype=pl.String)
    first3 = (mmsi.cast(pl.Int64) // 1_000_000)
    is_ship = (mmsi >= 200_000_000) & (mmsi <= 799_999_999)
    return pl.when(is_ship).then(first3.replace_strict(mids, iso, default=None)).otherwise(None)
