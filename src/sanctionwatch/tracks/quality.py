"""Which AIS values are usable for track logic: position validity and reported-speed noise.

Shared by segmentation (dead reckoning), spoofing indicators and port visits (stop speed), so the
noise rules live in one place. Everything is vectorised over NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "REPORTED_SPEED_EXCLUSION_RANGES_KNOTS",
    "SPEED_NOT_AVAILABLE_KNOTS",
    "clean_sog_knots",
    "float_column",
    "valid_position_mask",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Reported speeds inside these ranges are transponder artefacts, not speeds
# (gpsdio-segment master core.py REPORTED_SPEED_EXCLUSION_RANGES).
REPORTED_SPEED_EXCLUSION_RANGES_KNOTS: tuple[tuple[float, float], ...] = (
    (51.15, 51.25),
    (62.95, 63.05),
    (102.25, 102.35),
)
# AIS "speed not available" (ITU-R M.1371 message 1-3 SOG = 1023 -> 102.3 kn); pipe-segment
# transform/invalid_values.py marks speed >= 102.3 invalid.
SPEED_NOT_AVAILABLE_KNOTS = 102.3


def float_column(df: pl.DataFrame, name: str) -> FloatArray:
    """A numeric column as float64 with nulls as NaN (all-NaN if the column is absent)."""
    if name not in df.columns:
        return np.full(df.height, np.nan)
    out: FloatArray = df.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
    return out


def clean_sog_knots(sog_knots: FloatArray) -> FloatArray:
    """Reported speeds with noise values (51.2, 63.0, >= 102.3 kn, negative) replaced by NaN."""
    sog = np.asarray(sog_knots, dtype=np.float64).copy()
    bad = ~np.isfinite(sog) | (sog < 0) | (sog >= SPEED_NOT_AVAILABLE_KNOTS - 0.05)
    for low, high in REPORTED_SPEED_EXCLUSION_RANGES_KNOTS:
        bad |= (sog >= low) & (sog <= high)
    sog[bad] = np.nan
    return sog


def valid_position_mask(lat_deg: FloatArray, lon_deg: FloatArray) -> BoolArray:
    """True where a position can be used: finite, |lat| <= 90, |lon| <= 180, and not (0, 0).

    AIS "not available" is lat 91 / lon 181 (out of range); (0, 0) is a common default of
    unfixed GNSS receivers (pipe-segment transform/invalid_values.py marks both invalid).
    """
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    ok &= ~((lat == 0.0) & (lon == 0.0))
    result: BoolArray = ok
    return result
