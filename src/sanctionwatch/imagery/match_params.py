"""Tuning of detection <-> AIS matching: one frozen dataclass, every default with its reason and source.

Shared by :mod:`sanctionwatch.imagery.expected` (where each AIS vessel should be at the scene time,
and how sure we are) and :mod:`sanctionwatch.imagery.matching` (scoring and assignment). Each field
``<name>`` is the setting ``imagery.match_<name>`` of the registry; see docs/imagery-matching.md for
the formulas and the measured effect of the defaults.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

from sanctionwatch.config import Config, params_from_config

__all__ = ["KNOT_M_PER_MIN", "MatchingParams"]

# 1 knot = 1852 m/h (international nautical mile) = 30.867 m/min.
KNOT_M_PER_MIN = 1852.0 / 60.0


@dataclass(frozen=True)
class MatchingParams:
    """Thresholds of expected positions, pair scores and assignment (defaults: docs/imagery-matching.md)."""

    # Only AIS fixes within this time of the scene are used, and a vessel whose nearest fix is
    # farther away gets no expected position. GFW's probability rasters go out to +-512 min
    # (paper-industrial-activity score_ais_match.sql.j2 map_minutes), but with our radius growing
    # linearly in time a position 2 h old spans kilometres; 2 h keeps busy waters decidable and
    # still covers the ~12 h satellite-AIS revisit when fixes fall either side of the scene.
    max_fix_offset_min: float = 120.0
    # Interpolate between the fixes before and after the scene only if they are at most this far
    # apart (and in one segment); else extrapolate from the nearer. 2 x max_fix_offset_min, so the
    # nearer fix is always within max_fix_offset_min; shorter than the 6 h GFW AIS-gap threshold
    # (pipe-gaps min_gap_length), so no recorded gap is ever bridged.
    max_interp_gap_min: float = 240.0
    # Radius (1 sigma) of the expected position at the fix time: AIS GNSS error (~10 m), antenna vs
    # hull centre (up to half a length), SAR geolocation (tens of m) and the azimuth shift of a
    # moving ship in SAR (hundreds of m), time-stamp error. The scale of xView3's 200 m
    # "same object" tolerance (xview3-reference metric.py distance_tolerance=200).
    base_uncertainty_m: float = 200.0
    # Radius growth while interpolating, as a fraction of the distance run since/until the nearer
    # fix: the vessel must end at the next fix, so it can only bow out a little (design; measured
    # on the simulated tracks of benchmarks/eval_detection_matching.py).
    interp_speed_fraction: float = 0.05
    # Radius growth while dead-reckoning from one fix with its SOG and COG, as a fraction of the
    # distance run: a course held to within ~+-6 degrees (sin 6 deg = 0.1); design, checked on the
    # simulated tracks (GFW uses empirical rasters per vessel class instead).
    extrap_speed_fraction: float = 0.10
    # Speed assumed when a fix has no SOG: the vessel is held at the fix and may have gone this
    # fast in any direction (a typical merchant service speed; design).
    unknown_speed_knots: float = 12.0
    # Least radius growth, for anchored or very slow vessels (swinging at anchor, drift, clock
    # error): 10 m/min ~ 0.32 kn, about gpsdio-segment's very_slow of 0.35 kn.
    uncertainty_floor_m_per_min: float = 10.0
    # A (detection, vessel) pair is a candidate when the distance is at most this many radii ...
    search_sigmas: float = 4.0
    # ... and at most this far (also sets the H3 resolution of the candidate join). A detection
    # with no candidate at all is a dark-vessel candidate.
    max_search_radius_m: float = 10_000.0
    # Length agreement exp(-(ln ratio)^2 / (2 s^2)): s = 0.35 lets a 1.4x disagreement keep 0.6 and
    # a 2x one 0.14; xView3 winners' length accuracy of ~0.7-0.8 (xview3-reference metric.py
    # length_acc) means ~20-30 % mean relative error.
    length_log_sigma: float = 0.35
    # Heading agreement exp(kappa * (cos(2 d) - 1)), d the heading difference: von Mises on the
    # doubled angle, so 180 degrees apart agrees (SAR cannot tell bow from stern). kappa = 1: ~29
    # degrees at 1 sigma, 90 degrees apart keeps 0.14 (detector headings are rough; design).
    heading_kappa: float = 1.0
    # Least density of detections AIS cannot explain (dark ships, false alarms) per km^2, the
    # denominator of the likelihood ratio; a scene with a footprint uses max((its detections - AIS
    # vessels expected in it) / footprint area, this), a scene without one uses this.
    # The "clutter density" of track-to-detection association (Bar-Shalom & Fortmann 1988, Tracking
    # and Data Association). The floor keeps a vague expectation (radius ~10 km) from claiming any
    # detection in an empty scene: there it needs d < ~1 radius. Design.
    background_density_per_km2: float = 1e-3
    # An unassigned detection whose candidate vessel went to another detection stays 'ambiguous'
    # (not dark) unless the winner's likelihood ratio is at least this many times its own; the same
    # rule keeps an unassigned vessel 'ambiguous' rather than 'missed' (gpsdio-segment v3.0.0
    # matcher.py ambiguity_factor = 10).
    ambiguity_factor: float = 10.0
    # Pairs whose score LR / (1 + LR) is below this are never assigned: 0.5 means the vessel must
    # explain the detection at least as well as the background does (LR >= 1). Design, measured in
    # docs/imagery-matching.md.
    min_score: float = 0.5

    def __post_init__(self) -> None:
        positive = ("max_fix_offset_min", "max_interp_gap_min", "base_uncertainty_m", "unknown_speed_knots",
                    "search_sigmas", "max_search_radius_m", "length_log_sigma", "background_density_per_km2")
        if not (math.isfinite(self.ambiguity_factor) and self.ambiguity_factor >= 1):
            raise ValueError(f"MatchingParams.ambiguity_factor must be >= 1, got {self.ambiguity_factor}")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"MatchingParams.{name} must be positive, got {value}")
        for name in ("interp_speed_fraction", "extrap_speed_fraction", "uncertainty_floor_m_per_min",
                     "heading_kappa"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"MatchingParams.{name} must be >= 0, got {value}")
        if not 0.0 < self.min_score < 1.0:
            raise ValueError(f"MatchingParams.min_score must be in (0, 1), got {self.min_score}")

    @classmethod
    def from_config(cls, config: Config) -> MatchingParams:
        """The params from the ``imagery.match_<field>`` settings of a frozen config."""
        return params_from_config(cls, config, "imagery.match_")

    @property
    def params_id(self) -> str:
        """Short hash of the values, for ``params_id`` when no project config is at hand."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
