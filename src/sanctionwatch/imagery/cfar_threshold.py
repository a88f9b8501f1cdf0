"""CFAR threshold maths: how far above the local clutter a pixel must be for a given false-alarm rate.

* cell averaging on exponential (single- or multi-look) clutter: the exact multiplier
  ``alpha = N (Pfa^(-1/N) - 1)`` for N background cells (Finn & Johnson 1968), generalised to L looks;
* K-distributed clutter (gamma texture of shape ν times speckle): the tail probability by
  quadrature over the texture, tabulated on a grid of 1/ν and inverted for the threshold factor;
  ν per pixel from the log-cumulant of the background (less sensitive to a few bright pixels than
  moments of squares).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import integrate, special

__all__ = ["ca_alpha", "k_inverse_shape", "k_tail_probability", "k_threshold_factor"]

F64 = npt.NDArray[np.float64]
# 1/ν grid of the K threshold table: ν = ∞ (0) and ν from 1000 down to 1/max_inverse_shape.
_U_POINTS = 60
# Texture quadrature: points on ln x, lower end (texture 1e-4 of the mean cannot reach a threshold
# >= 1), upper end where the texture's own tail mass is negligible next to any Pfa >= 1e-12.
_QUAD_POINTS = 2001
_QUAD_X_MIN = 1e-4
_QUAD_TAIL = 1e-20


def ca_alpha(pfa: float, n_cells: npt.ArrayLike, looks: float = 1.0) -> F64:
    """Exact CA-CFAR multiplier (T = alpha · ring mean of ``n_cells``) for L-look gamma clutter."""
    n = np.asarray(n_cells, dtype=np.float64)
    out = np.full(n.shape, np.inf)
    ok = n >= 1
    z = special.betainccinv(looks, n[ok] * looks, pfa)
    out[ok] = n[ok] * z / (1.0 - z)
    return out


def k_tail_probability(t: npt.ArrayLike, inverse_shape: npt.ArrayLike, looks: float = 1.0) -> F64:
    """P(I > t) for unit-mean K intensity: texture Gamma(ν, 1/ν) times L-look gamma speckle.

    Element-wise over ``t`` and ``inverse_shape`` (1/ν; 0 = pure speckle). Trapezoid quadrature
    on ln(texture); for L = 1 it agrees with the closed form 2/Γ(ν)(νt)^(ν/2) K_ν(2√(νt)).
    """
    tt, uu = np.broadcast_arrays(np.asarray(t, dtype=np.float64), np.asarray(inverse_shape, dtype=np.float64))
    shape = tt.shape
    tt, uu = tt.ravel(), uu.ravel()
    out = special.gammaincc(looks, looks * tt)
    k = np.flatnonzero(uu > 0)
    if k.size:
        nu = 1.0 / uu[k]
        x_hi = np.maximum(special.gammainccinv(nu, _QUAD_TAIL) / nu, 10 * _QUAD_X_MIN)
        frac = np.linspace(0.0, 1.0, _QUAD_POINTS)
        s = math.log(_QUAD_X_MIN) + frac[None, :] * (np.log(x_hi)[:, None] - math.log(_QUAD_X_MIN))
        x = np.exp(s)
        # density of ln(texture): g(x)·x = (νx)^ν e^(-νx) / Γ(ν)
        log_w = nu[:, None] * np.log(nu[:, None] * x) - nu[:, None] * x - special.gammaln(nu)[:, None]
        f = special.gammaincc(looks, looks * tt[k][:, None] / x) * np.exp(log_w)
        out[k] = integrate.trapezoid(f, s, axis=1)
    return np.asarray(out.reshape(shape), dtype=np.float64)


@lru_cache(maxsize=32)
def _k_table(pfa: float, looks: float, max_inverse_shape: float) -> tuple[F64, F64]:
    u = np.concatenate([[0.0], np.geomspace(1e-3, max_inverse_shape, _U_POINTS)])
    # Bracket ln t around the speckle-only (ν = ∞) threshold t_g: from t_g/e^6 (spiky clutter at a
    # large Pfa has t < t_g) to t_g·e^14 (~1.2e6 x, beyond any ν >= 0.1 at Pfa >= 1e-12).
    t_g = math.log(special.gammainccinv(looks, pfa) / looks)
    lo, hi = np.full(u.shape, t_g - 6.0), np.full(u.shape, t_g + 14.0)
    for _ in range(42):  # bisection, all ν at once: 20 / 2^42 ~ 5e-12 in ln t
        mid = 0.5 * (lo + hi)
        above = k_tail_probability(np.exp(mid), u, looks) > pfa
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return u, np.exp(0.5 * (lo + hi))


def k_threshold_factor(pfa: float, inverse_shape: npt.ArrayLike, looks: float = 1.0,
                       max_inverse_shape: float = 10.0) -> F64:
    """t with P(I > t·mean) = pfa for K clutter of the given 1/ν (clipped to [0, max]); tabulated."""
    u, f = _k_table(float(pfa), float(looks), float(max_inverse_shape))
    return np.asarray(np.interp(np.clip(inverse_shape, 0.0, max_inverse_shape), u, f), dtype=np.float64)


@lru_cache(maxsize=8)
def _log_cumulant_table(max_inverse_shape: float) -> tuple[F64, F64]:
    u = np.concatenate([[0.0], np.geomspace(1e-4, max_inverse_shape, 4 * _U_POINTS)])
    with np.errstate(divide="ignore"):
        g = np.where(u > 0, special.digamma(1.0 / np.maximum(u, 1e-300)) + np.log(u), 0.0)
    return -g, u  # -(ψ(ν) - ln ν): 0 at ν = ∞, increasing with 1/ν


def k_inverse_shape(kappa: npt.ArrayLike, looks: float = 1.0, max_inverse_shape: float = 10.0) -> F64:
    """1/ν of K clutter from κ = E[ln I] - ln E[I], the log-cumulant (Mellin) estimator.

    For texture Gamma(ν, 1/ν) times L-look speckle, κ = ψ(ν) - ln ν + ψ(L) - ln L (log-moment
    estimators of the K shape: Blacknell 1994, IEE Proc. Radar Sonar Navig. 141(1); not in
    domain.md). Chosen over the moment estimator E[I²]/E[I]² = (1 + 1/L)(1 + 1/ν) because a few
    bright pixels -- a long ship's far end inside the ring -- barely move a mean of logarithms but
    multiply a mean of squares: with the squares, a 250 m ship in ν = 2 clutter kept its ends
    below their own inflated thresholds and was measured 170 m long; with logs, within 6 m.
    """
    neg_g, u = _log_cumulant_table(float(max_inverse_shape))
    target = -(np.asarray(kappa, dtype=np.float64) - (special.digamma(looks) - math.log(looks)))
    return np.asarray(np.interp(np.nan_to_num(target, nan=0.0), neg_g, u), dtype=np.float64)


