"""Parameters in one place.

Every tunable value is a :class:`Setting` in :data:`SETTINGS` with a default, a unit (also in
its name), a help text and the public source the default comes from. A run's configuration is
layered -- packaged defaults, then the project's ``sanctionwatch.toml``, then ``--set
name=value`` flags -- and frozen into a :class:`Config` whose JSON and hash (``params_id``)
are recorded in every output. ``docs/settings.md`` is generated from this registry and a test
checks they agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["SETTINGS", "Config", "ConfigError", "Setting", "load_config", "params_from_config", "settings_markdown"]


class ConfigError(ValueError):
    """A setting name or value is not valid."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    source: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def parse(self, value: Any) -> Any:
        """Coerce ``value`` (possibly a CLI string) to this setting's type and check its range."""
        kind = self.kind
        try:
            if kind is bool:
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in {"true", "false", "1", "0", "yes", "no"}:
                        raise ValueError(value)
                    out: Any = low in {"true", "1", "yes"}
                else:
                    out = bool(value)
            elif kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(value)
                out = int(value)
            elif kind is float:
                out = float(value)
            else:
                out = str(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"setting {self.name}: {value!r} is not a valid {kind.__name__}") from err
        if self.minimum is not None and out < self.minimum:
            raise ConfigError(f"setting {self.name}: {out} is below the minimum {self.minimum}")
        if self.maximum is not None and out > self.maximum:
            raise ConfigError(f"setting {self.name}: {out} is above the maximum {self.maximum}")
        return out


def _registry(*settings: Setting) -> Mapping[str, Setting]:
    out: dict[str, Setting] = {}
    for s in settings:
        if s.name in out:
            raise ValueError(f"setting {s.name} declared twice")
        out[s.name] = s
    return MappingProxyType(out)


SETTINGS: Mapping[str, Setting] = _registry(
    # --- ingest ---------------------------------------------------------------------------
    Setting(
        "ingest.chunk_rows", 250_000,
        "Records decoded per chunk; bounds ingest memory whatever the file size.",
        "sanctionwatch design: about 50 MB of Arrow per chunk of positions", unit="row", minimum=1000,
    ),
    Setting(
        "ingest.future_tolerance_hours", 24.0,
        "Timestamps later than the ingest time plus this are quarantined as 'ts_in_future' "
        "(receiver clocks drift; a day covers time zones mislabelled as UTC).",
        "sanctionwatch design", unit="hour", minimum=0,
    ),
    Setting(
        "ingest.min_valid_date", "2000-01-01",
        "Timestamps before this date are quarantined as 'ts_too_old' (AIS carriage under SOLAS "
        "began in 2002; earlier dates are clock errors such as the 1970 epoch).",
        "IMO SOLAS chapter V regulation 19 (AIS carriage from 2002)",
    ),
    Setting(
        "ingest.nmea_fragment_window_sentences", 100,
        "A fragment of a multi-sentence NMEA message waits this many sentences for its partners "
        "before it is quarantined as 'orphan_fragment'. Fragments of one message are normally "
        "adjacent; interleaving across channels rarely spans more than a few sentences.",
        "sanctionwatch design; cf. gpsd and pyais, which assemble adjacent fragments",
        unit="sentence", minimum=2,
    ),
    Setting(
        "ingest.quarantine_raw_max_chars", 4096,
        "Raw text kept per quarantined record (longer lines are truncated).",
        "sanctionwatch design", unit="character", minimum=80,
    ),
    # --- store ----------------------------------------------------------------------------
    Setting(
        "store.duckdb_memory_limit", "2GB",
        "DuckDB memory limit for store queries (de-duplication spills to disk beyond it).",
        "DuckDB documentation: memory_limit setting",
    ),
    Setting(
        "store.duckdb_threads", 2,
        "DuckDB worker threads.", "sanctionwatch design: the reference machine has 2 cores",
        unit="thread", minimum=1,
    ),
    # --- tracks ---------------------------------------------------------------------------
    Setting(
        "tracks.segment_max_gap_hours", 24.0,
        "A position more than this after the last point of every open segment of its MMSI "
        "starts a new segment.",
        "gpsdio-segment v3.0.0 matcher.py max_hours = 24 (pipe-segment asserts 24; the 2020 "
        "core.py had 8)", unit="hour", minimum=0.01,
    ),
    Setting(
        "tracks.max_implied_speed_knots", 30.0,
        "A position that would imply more than this speed (distance over padded time) from a "
        "segment's last point cannot join that segment; if it fits no open segment it starts a "
        "new one and is reported as an impossible jump (spoofing indicator).",
        "pipe-segment cli/commands/segment.py EXAMPLE_SEGMENTER_PARAMS max_speed = 30 "
        "(gpsdio-segment v3.0.0 matcher.py default max_knots = 25)", unit="knot", minimum=1,
    ),
    Setting(
        "tracks.segment_buffer_hours", 0.25,
        "Time padding for the speed test: the allowed distance is max speed x hypot(dt, "
        "buffer), so near-simultaneous fixes (GNSS jitter, duplicate receptions) are not "
        "split apart.",
        "gpsdio-segment v3.0.0 matcher.py buffer_hours = 0.25", unit="hour", minimum=0,
    ),
    Setting(
        "tracks.spoofing_min_segment_points", 10,
        "Segments with fewer points are not reported as overlapping (shared / spoofed MMSI) "
        "segments; short segments are mostly position noise.",
        "gpsdio-segment v3.0.0 matcher.py short_seg_threshold = 10", unit="point", minimum=1,
    ),
    Setting(
        "tracks.land_min_inland_distance_m", 2000.0,
        "A position on land is reported (spoofing indicator) only if it is at least this far "
        "from the coastline and outside every port's exit radius; the Natural Earth 1:50m "
        "coast is generalised by 1-2 km and has no canals or rivers.",
        "sanctionwatch geo.py: Natural Earth 1:50m generalisation of about 1-2 km",
        unit="metre", minimum=0,
    ),
    # --- events ---------------------------------------------------------------------------
    Setting(
        "events.gap_min_hours", 6.0,
        "An AIS gap event is recorded when consecutive positions of one MMSI are at least "
        "this far apart in time.",
        "GFW pipe-gaps pipelines/detect/config.py min_gap_length = 6; product_events_ais_gaps "
        "(tech docs gaps.md)", unit="hour", minimum=0.01,
    ),
    Setting(
        "events.gap_disabling_min_hours", 12.0,
        "Likely-disabling criterion 1: the gap lasts at least this long (satellite revisit is "
        "about 12 h below 60 degrees latitude, so shorter gaps are unreliable).",
        "GFW technical documentation gaps.md (AIS disabling events)", unit="hour", minimum=0,
    ),
    Setting(
        "events.gap_disabling_min_distance_from_shore_nm", 50.0,
        "Likely-disabling criterion 2: the gap starts at least this far from shore (over 99 % "
        "of terrestrial AIS reception is within 50 nm of shore).",
        "GFW technical documentation gaps.md (AIS disabling events)", unit="nautical mile",
        minimum=0,
    ),
    Setting(
        "events.gap_disabling_min_positions_before", 14,
        "Likely-disabling criterion 4: at least this many positions in the window before the "
        "gap. GFW counts satellite positions only; sources without receiver type count all "
        "(offshore of 50 nm nearly all reception is satellite). 0 disables the check.",
        "GFW technical documentation gaps.md (14 satellite positions in the 12 h before)",
        unit="position", minimum=0,
    ),
    Setting(
        "events.gap_positions_before_window_hours", 12.0,
        "Window before a gap in which positions are counted (reception context).",
        "GFW pipe-gaps core/gap_detector.py and pipelines/detect/config.py n_hours_before = 12",
        unit="hour", minimum=0,
    ),
    Setting(
        "events.port_entry_distance_km", 3.0,
        "A vessel within this distance of a port point enters it (PORT_ENTRY). A watched area's "
        "own radius_m replaces it for that area; polygons are entered at their edge.",
        "GFW pipe-anchorages assets/config/anchorage_cfg.yaml anchorage_entry_distance_km",
        unit="kilometre", minimum=0.01,
    ),
    Setting(
        "events.port_exit_distance_km", 4.0,
        "A vessel in port leaves it (PORT_EXIT) only at this distance or more; between entry "
        "and exit the previous state is kept (hysteresis). Areas with their own radius use "
        "radius x exit/entry; polygons are left at (exit - entry) outside the edge.",
        "GFW pipe-anchorages assets/config/anchorage_cfg.yaml anchorage_exit_distance_km",
        unit="kilometre", minimum=0.01,
    ),
    Setting(
        "events.port_stop_begin_speed_knots", 0.2,
        "In port, a speed at or below this begins a stop (PORT_STOP_BEGIN).",
        "GFW pipe-anchorages assets/config/anchorage_cfg.yaml stopped_begin_speed_knots",
        unit="knot", minimum=0,
    ),
    Setting(
        "events.port_stop_end_speed_knots", 0.5,
        "A stop ends (PORT_STOP_END) at or above this speed; in between the state is kept.",
        "GFW pipe-anchorages assets/config/anchorage_cfg.yaml stopped_end_speed_knots",
        unit="knot", minimum=0,
    ),
    Setting(
        "events.port_min_gap_hours", 4.0,
        "In port, no position for at least this long is an in-port gap (PORT_GAP_BEGIN / END); "
        "the visit continues through it.",
        "GFW pipe-anchorages assets/config/anchorage_cfg.yaml minimum_port_gap_duration_minutes "
        "= 240", unit="hour", minimum=0.01,
    ),
    Setting(
        "events.port_visit_max_interseg_distance_nm", 60.0,
        "A visit continues across two segments of one MMSI only if the events are at most this "
        "far apart.",
        "GFW pipe-anchorages options/port_visits_options.py --max_inter_seg_dist_nm default 60",
        unit="nautical mile", minimum=0,
    ),
    Setting(
        "events.port_visit_min_confidence", 2,
        "Port visits below this GFW confidence level (1-4) are not emitted; level 1 (entry or "
        "exit only) is largely vessels passing by.",
        "GFW pipe-events assets/bigquery/port-visits-events-v2.sql.j2 WHERE confidence >= 2",
        unit="level", minimum=1, maximum=4,
    ),
    Setting(
        "events.port_use_wpi", True,
        "Use the packaged World Port Index points as ports besides the watched areas (GFW "
        "builds anchorages from AIS instead; we have none, so WPI points stand in for them).",
        "sanctionwatch design; GFW labels its anchorages from WPI ports within 4 km "
        "(pipe-anchorages name_anchorages_cfg.yaml label_distance_km)",
    ),
    # --- events: loitering and encounters ---------------------------------------------------
    Setting(
        "events.loitering_max_speed_knots", 2.0,
        "An hour bucket of a segment is slow when its average implied speed (sum of metres / sum "
        "of hours since the previous position / 1852) is below this.",
        "GFW pipe-loitering create_raw_loitering/transforms/calculate_hourly_stats.py; tech docs "
        "loitering (< 2 kn)", unit="knot", minimum=0,
    ),
    Setting(
        "events.loitering_min_hours", 4.0,
        "Consecutive slow hours of one segment lasting at least this long are a loitering event.",
        "GFW carrier-vessel loitering definition (>= 4 h; GFW keeps >= 2 h as the raw minimum)",
        unit="hour", minimum=0,
    ),
    Setting(
        "events.loitering_min_distance_from_shore_nm", 20.0,
        "Loitering events whose mean position is closer than this to the coast (Natural Earth "
        "1:50m) are not emitted; 0 keeps them all.",
        "GFW published loitering events filter (>= 20 nm from shore)", unit="nautical mile", minimum=0,
    ),
    Setting(
        "events.encounter_resample_minutes", 10.0,
        "Encounter search resamples each segment linearly onto a grid of this step aligned to "
        "midnight UTC.",
        "GFW pipe-encounters create_raw_pipeline.py RESAMPLE_INCREMENT_MINUTES = 10", unit="minute",
        minimum=1,
    ),
    Setting(
        "events.encounter_max_interpolation_gap_hours", 1.0,
        "No resampled point is interpolated between two positions this far apart or more.",
        "GFW pipe-encounters create_raw_pipeline.py MAX_GAP_HOURS = 1", unit="hour", minimum=0.01,
    ),
    Setting(
        "events.encounter_max_distance_m", 500.0,
        "Two vessels are in contact at a resampled instant when at most this far apart.",
        "GFW pipe-encounters README max_encounter_dist_km 0.5; Miller et al. 2018 (500 m)",
        unit="metre", minimum=1, maximum=5000,
    ),
    Setting(
        "events.encounter_min_hours", 2.0,
        "A run of consecutive in-contact instants of a vessel pair must last at least this long.",
        "GFW pipe-events encounter-events.sql.j2 (duration > 2 h); Miller et al. 2018 (>= 2 h)",
        unit="hour", minimum=0,
    ),
    Setting(
        "events.encounter_max_median_speed_knots", 2.0,
        "A run is an encounter only if the median implied speed of the pair is below this.",
        "GFW pipe-events encounter-events.sql.j2 median_speed_knots < 2", unit="knot", minimum=0,
    ),
    Setting(
        "events.encounter_min_distance_from_port_km", 10.0,
        "Runs whose mean position is closer than this to a port (watched areas, WPI points) are "
        "dropped (GFW measures to its AIS-derived anchorages).",
        "GFW pipe-encounters merge_pipeline.py filter_by_distance(min_distance_from_port_km=10)",
        unit="kilometre", minimum=0,
    ),
    Setting(
        "events.encounter_merge_gap_hours", 4.0,
        "Encounters of the same vessel pair less than this apart are merged into one event.",
        "GFW pipe-encounters options/merge_options.py --min_hours_between_encounters default 4",
        unit="hour", minimum=0,
    ),
    # --- events: identity changes -----------------------------------------------------------
    Setting(
        "events.identity_min_reports", 2,
        "An identity value (name, call sign, flag, MMSI, IMO) seen in fewer reports than this in "
        "total for one IMO or MMSI is treated as a garbled static message and ignored by the "
        "identity-change detector.",
        "sanctionwatch assumption: AIS type 5/24 bit errors are common and a real identity keeps "
        "being broadcast (class A every 6 min); GFW's single_ident_min_freq is set at run time, "
        "not published", unit="report", minimum=1,
    ),
    Setting(
        "events.identity_min_overlap_hours", 1.0,
        "Two identities of one MMSI (or two MMSIs of one IMO) broadcast at times overlapping by "
        "at least this long are a shared or spoofed identity (mmsi_multiple_identities), not a "
        "sequential change.",
        "sanctionwatch assumption (per-event review); GFW flags an MMSI as spoofed only when "
        "overlap_hours_multinames > 24 h in a year (tech docs vessel-info-tables.md)",
        unit="hour", minimum=0,
    ),
    # --- events: voyages ----------------------------------------------------------------------
    Setting(
        "events.dark_voyage_target_groups", "dprk_ports",
        "Watched area groups or area ids (comma-separated) whose dark port calls are inferred "
        "from AIS gaps (inferred voyages are hypotheses, not observations).",
        "sanctionwatch assumption: the demo watch list (watched_areas.geojson group dprk_ports)",
    ),
    Setting(
        "events.dark_voyage_max_endpoint_distance_km", 50.0,
        "An AIS gap can hide a voyage only when its OFF and ON positions are each within this "
        "distance of a port (went dark near port A, reappeared near port A or B).",
        "sanctionwatch assumption: about 27 nm, beyond the ~20 nm offshore at which the "
        "documented Rajin runs switched AIS off and on (RUSI/NK Pro reporting; demo scenario)",
        unit="kilometre", minimum=0,
    ),
    Setting(
        "events.dark_voyage_max_speed_knots", 15.0,
        "Highest average speed assumed for a dark trip; a round trip to a target port is "
        "feasible only if the great-circle distance at this speed plus the port stay fits the gap.",
        "sanctionwatch assumption: typical service speed of small general cargo/container ships",
        unit="knot", minimum=0.1,
    ),
    Setting(
        "events.dark_voyage_min_port_hours", 6.0,
        "Shortest port stay (loading or unloading) that an inferred dark port call must leave room for.",
        "sanctionwatch assumption (a short container (un)loading call)", unit="hour", minimum=0,
    ),
    Setting(
        "events.dark_voyage_slack_scale_hours", 48.0,
        "Slack (gap minus required time) at which an inferred voyage's confidence falls from 0.7 "
        "to its floor of 0.3: a gap much longer than needed could hide many other things.",
        "sanctionwatch assumption", unit="hour", minimum=0,
    ),
    # --- screening ------------------------------------------------------------------------------
    # --- imagery: CFAR ship detection on SAR ----------------------------------------------------
    Setting("imagery.cfar_pfa", 3.162277660168379e-07, 'Probability of false alarm per sea pixel.', 'ESA SNAP Adaptive Thresholding default pfa 6.5 (10^-6.5); domain.md 3.4', unit='probability', minimum=1e-15, maximum=0.49),
    Setting("imagery.cfar_method", 'k', "Threshold rule: 'k' (K-distribution, clutter shape per pixel), 'ca' (cell averaging, exponential clutter) or 'two_parameter' (mean + z*std; comparison only).", "Crisp 2004 DSTO-RR-0272 via domain.md 3.4; 'k' holds the false-alarm rate in spiky sea (docs/benchmarks.md)"),
    Setting("imagery.cfar_looks", 1.0, 'Equivalent number of looks of the intensity (1 = single-look, conservative for GRD).', 'sanctionwatch design', unit='look', minimum=0.1),
    Setting("imagery.cfar_guard_radius_m", 200.0, 'Half-width of the square guard window around the tested pixel.', 'GFW paper-industrial-activity detector window_inner 200 m (domain.md 3.2)', unit='metre', minimum=1),
    Setting("imagery.cfar_background_radius_m", 600.0, 'Half-width of the square background window.', 'GFW paper-industrial-activity detector window_outer 600 m (domain.md 3.2)', unit='metre', minimum=2),
    Setting("imagery.cfar_min_background_fraction", 0.25, 'A pixel is tested only if its background ring keeps this share of valid sea cells.', 'sanctionwatch design (scene corners, coasts)', unit='fraction', minimum=0.01, maximum=1),
    Setting("imagery.cfar_censor", True, 'Second pass with first-pass objects removed from the background.', "sanctionwatch design (ships inflate their neighbours' thresholds)"),
    Setting("imagery.cfar_land_buffer_m", 1000.0, 'Land is grown by this before masking (coastline error, breakwaters).', 'GFW detector config shore_buffer 1 km', unit='metre', minimum=0),
    Setting("imagery.cfar_min_pixels", 2, 'Smallest object, in pixels.', 'GFW get_connected_pixels gte=2', unit='pixel', minimum=1),
    Setting("imagery.cfar_min_length_m", 0.0, 'Shortest object reported.', 'sanctionwatch design', unit='metre', minimum=0),
    Setting("imagery.cfar_max_length_m", 500.0, 'Longest object reported; also sets the tile halo.', 'xView3 metric.py length cap 500 m (domain.md 3.1)', unit='metre', minimum=1),
    Setting("imagery.cfar_max_inverse_shape", 10.0, 'Largest 1/nu of the K-distribution used (nu >= 0.1).', 'sanctionwatch design', minimum=0.01),
    Setting("imagery.cfar_confidence_half_ratio", 2.0, "Peak/threshold ratio at which a detection's confidence is 0.5.", 'sanctionwatch design (a ranking, not a probability)', unit='ratio', minimum=1.01),
    Setting("imagery.cfar_tile_px", 2048, "Side of a processing tile's core, in pixels (memory stays bounded whatever the scene size).", 'sanctionwatch design; measured memory in docs/benchmarks.md', unit='pixel', minimum=16),
    # --- imagery: detection matching ------------------------------------------------------------
    Setting("imagery.match_max_fix_offset_min", 120.0, 'No expected position when the nearest AIS fix is farther than this from the scene time.', 'sanctionwatch design; GFW probability rasters go to +/-512 min (paper-industrial-activity score_ais_match.sql.j2)', unit='minute', minimum=1),
    Setting("imagery.match_max_interp_gap_min", 240.0, 'Interpolate only between fixes of one track segment at most this far apart.', "2 x the max fix offset; below GFW's 6 h gap threshold (pipe-gaps)", unit='minute', minimum=1),
    Setting("imagery.match_base_uncertainty_m", 200.0, '1-sigma radius of the expected position at the fix time.', 'xView3 reference metric.py distance_tolerance=200', unit='metre', minimum=1),
    Setting("imagery.match_interp_speed_fraction", 0.05, 'Growth of the radius per metre run when interpolating between fixes.', 'sanctionwatch design, tuned on simulated tracks (docs/imagery-matching.md)', minimum=0),
    Setting("imagery.match_extrap_speed_fraction", 0.1, 'Growth of the radius per metre run when dead-reckoning from one fix.', 'sanctionwatch design, tuned on simulated tracks (docs/imagery-matching.md)', minimum=0),
    Setting("imagery.match_unknown_speed_knots", 12.0, 'Speed assumed when a fix has no SOG.', 'sanctionwatch design', unit='knot', minimum=0.1),
    Setting("imagery.match_uncertainty_floor_m_per_min", 10.0, 'Least growth of the radius per minute from the fix (at anchor, drifting).', "about gpsdio-segment's very_slow 0.35 kn", unit='metre/minute', minimum=0),
    Setting("imagery.match_search_sigmas", 4.0, 'Candidate pairs lie within this many radii of the expected position.', 'sanctionwatch design', minimum=0.1),
    Setting("imagery.match_max_search_radius_m", 10000.0, 'Largest detection-to-vessel distance considered.', 'sanctionwatch design', unit='metre', minimum=1),
    Setting("imagery.match_length_log_sigma", 0.35, 'Spread (natural log of the length ratio) of the length agreement factor.', 'xView3 length_acc of the winning models ~0.7-0.8', minimum=0.01),
    Setting("imagery.match_heading_kappa", 1.0, 'Concentration of the heading agreement (modulo 180 deg, SAR ambiguity).', 'sanctionwatch design', minimum=0),
    Setting("imagery.match_background_density_per_km2", 0.001, "Floor of the density of detections AIS cannot explain (the likelihood ratio's denominator).", 'Bar-Shalom & Fortmann 1988 clutter density; the value is a design choice', unit='1/km2', minimum=1e-09),
    Setting("imagery.match_ambiguity_factor", 10.0, 'A detection whose candidate was taken by another detection less than this many times likelier stays ambiguous.', 'gpsdio-segment v3.0.0 matcher.py ambiguity_factor=10', minimum=1),
    Setting("imagery.match_min_score", 0.5, 'Pairs scoring below this are never assigned.', 'sanctionwatch design; measured in docs/imagery-matching.md', minimum=0.001, maximum=0.999),
    # --- imagery: site activity ----------------------------------------------------------------
    Setting("imagery.activity_z_threshold", 3.5,
            "A period is a spike when its robust z reaches this (and its count >= imagery.activity_min_count).",
            "Iglewicz & Hoaglin (1993) modified z-score cutoff", unit="sigma", minimum=0.1),
    Setting("imagery.activity_transform", "anscombe",
            "'anscombe': z on 2*sqrt(x+3/8), where Poisson noise has sd 1 at any level; 'none': raw counts.",
            "Anscombe (1948); false alarms 2-20x lower than raw counts (docs/imagery-activity.md)"),
    Setting("imagery.activity_baseline_weeks", 13,
            "Baseline window of weekly series (and of same-weekday values of seasonal daily ones), in observed "
            "periods.", "sanctionwatch: a quarter; 8 weeks raised false alarms 1.2-1.9x (docs/imagery-activity.md)",
            unit="week", minimum=2),
    Setting("imagery.activity_baseline_days", 28, "Baseline window of daily series, in observed days.",
            "sanctionwatch: four of each weekday", unit="day", minimum=2),
    Setting("imagery.activity_seasonal_weekday", False,
            "Daily series: compare each day with previous values of the same weekday.", "sanctionwatch design"),
    Setting("imagery.activity_min_baseline_observations", 6, "No z when the window holds fewer observed values.",
            "sanctionwatch: the MAD of fewer values is mostly noise", unit="period", minimum=2),
    Setting("imagery.activity_min_count", 3.0, "A spike needs at least this count.", "sanctionwatch assumption",
            unit="count", minimum=0),
    Setting("imagery.activity_min_scale", 1.0,
            "Scale floor in z units (1 = the Poisson sd on the Anscombe scale; 1 count with transform none).",
            "Anscombe (1948)", unit="sigma", minimum=0.01),
    Setting("imagery.activity_poisson_floor", True,
            "Transform 'none' only: floor the scale at sqrt(median), the Poisson sd.", "Poisson variance = mean"),
    Setting("imagery.activity_changepoints", True, "Search for level changes (PELT).",
            "Killick, Fearnhead & Eckley (2012)"),
    Setting("imagery.activity_changepoint_model", "l2", "ruptures cost: 'l2' (mean shift) or 'rbf' (kernel).",
            "ruptures documentation"),
    Setting("imagery.activity_changepoint_penalty_scale", 3.0,
            "PELT penalty = this * log(n) * sigma^2 (l2); this * log(n) for rbf.",
            "BIC gives 2; at 3, 0-4 % of flat series show a change (docs/imagery-activity.md)", minimum=0.1),
    Setting("imagery.activity_changepoint_min_size", 3, "Shortest segment; shorter excursions are spikes.",
            "sanctionwatch design", unit="period", minimum=2),
    Setting("imagery.activity_changepoint_min_observations", 12, "No changepoint search on shorter series.",
            "sanctionwatch design", unit="period", minimum=4),
    Setting(
        "screening.match_threshold", 0.70,
        "Matches scoring at least this are reported as 'match'; lower ones down to "
        "screening.cutoff as 'possible' (to review).",
        "yente settings.py SCORE_THRESHOLD = 0.70", minimum=0, maximum=1,
    ),
    Setting(
        "screening.cutoff", 0.50,
        "Candidates scoring below this are not reported.",
        "yente settings.py SCORE_CUTOFF = 0.50", minimum=0, maximum=1,
    ),
    Setting(
        "screening.imo_weight", 0.95,
        "Score of an exact IMO match (both check digits valid).",
        "nomenklatura logic_v2 vessel_imo_mmsi_match weight 0.95", minimum=0, maximum=1,
    ),
    Setting(
        "screening.mmsi_weight", 0.80,
        "Score of an MMSI listed for the entry while the ship broadcast no conflicting IMO. Lower "
        "than IMO because MMSIs are reassigned on sale and reflagging.",
        "nomenklatura logic_v2 compares MMSIs in the same 0.95 feature; lowered here per GFW "
        "vessel-identity.md (MMSIs are reused) and domain.md 5.2", minimum=0, maximum=1,
    ),
    Setting(
        "screening.call_sign_weight", 0.60,
        "Score of an identical call sign (at least 4 characters) when no number matched.",
        "nomenklatura logic_v2 identifier_match weight 0.85, lowered: call signs are reissued "
        "with flags", minimum=0, maximum=1,
    ),
    Setting(
        "screening.name_weight", 0.65,
        "Score of an identical name (current, alias or former) with no number to compare; scaled by "
        "the name similarity. Below match_threshold on purpose: a name alone is brittle and needs "
        "a flag or call sign to become a match.",
        "OpenSanctions maritime.yml ('more brittle matching on name'); nomenklatura logic_v2 "
        "name weight 1.0, lowered for vessels", minimum=0, maximum=1,
    ),
    Setting(
        "screening.name_min_similarity", 0.85,
        "Names less similar than this (after normalisation, see docs/screening.md) are not "
        "candidates.", "sanctionwatch: tuned on OFAC aliases (docs/screening.md)", minimum=0, maximum=1,
    ),
    Setting(
        "screening.imo_mismatch_penalty", 0.50,
        "Subtracted when both sides give valid but different IMO numbers: almost certainly two "
        "ships that share a name.", "sanctionwatch assumption (IMO numbers are permanent)",
        minimum=0, maximum=1,
    ),
    Setting(
        "screening.flag_bonus", 0.10,
        "Added to a name-based score when the AIS flag (from the MMSI) equals the listed flag.",
        "sanctionwatch assumption (a flag is weak corroboration: many ships share one)", minimum=0, maximum=1,
    ),
    Setting(
        "screening.flag_mismatch_penalty", 0.0,
        "Subtracted from a name-based score when the AIS flag differs from the listed flag (the "
        "difference is always given in the reasons).",
        "nomenklatura logic_v2 country mismatch qualifier is -0.2; 0 here because listed ships "
        "reflag to keep trading (GFW vessel-identity.md), and -0.1 cut recall of reflagged one-typo "
        "names from 74% to 31% (docs/screening-evaluation.md)", minimum=0, maximum=1,
    ),
    Setting(
        "screening.call_sign_bonus", 0.20,
        "Added to a name-based score when the call signs agree.", "sanctionwatch assumption",
        minimum=0, maximum=1,
    ),
    Setting(
        "screening.name_agreement_bonus", 0.05,
        "Added to a number-based (IMO/MMSI) score when the name also agrees (similarity >= 0.9).",
        "sanctionwatch assumption", minimum=0, maximum=1,
    ),
    # --- findings (rules over events, screening and imagery) ---------------------------------
    Setting(
        "findings.sanctioned_status", "match",
        "Screening status that makes a vessel 'sanctioned' for the rules: 'match' (score >= "
        "screening.match_threshold) or 'possible' (>= screening.cutoff, to review). Matches "
        "against delisted entries never count.",
        "sanctionwatch assumption (findings rest on confirmed matches unless the analyst widens them)",
    ),
    Setting(
        "findings.watched_groups", "",
        "Watched area groups or ids (comma-separated) whose port calls, nearby gaps and dark "
        "detections make findings; empty: every watched area of the project (its areas/*.geojson, "
        "else the packaged list).",
        "sanctionwatch assumption",
    ),
    Setting(
        "findings.voyage_from", "russia_far_east_ports",
        "One end of the voyage-count rule: a watched area group or ids (comma-separated).",
        "the seed reporting: deliveries between Russian Far East ports and Rajin (RUSI, facts.md)",
    ),
    Setting(
        "findings.voyage_to", "dprk_ports",
        "The other end of the voyage-count rule (either direction counts; a round trip counts once).",
        "the seed reporting: deliveries between Russian Far East ports and Rajin (RUSI, facts.md)",
    ),
    Setting(
        "findings.voyage_since", "",
        "Count voyages departing on or after this UTC date (YYYY-MM-DD); empty: all the data.",
        "sanctionwatch assumption",
    ),
    Setting(
        "findings.voyage_min_count", 3,
        "A vessel needs at least this many voyages between the two groups for a finding "
        "(a single trip is a port call, a pattern is a shuttle).",
        "sanctionwatch assumption; public reporting speaks of 'at least 11 deliveries' and "
        "'at least six crossings' (facts.md)", minimum=1,
    ),
    Setting(
        "findings.gap_near_area_km", 50.0,
        "An AIS gap is near a watched area when its OFF or ON position is within this distance "
        "of it.",
        "same reach as events.dark_voyage_max_endpoint_distance_km", unit="km", minimum=0,
    ),
    Setting(
        "findings.gap_groups", "dprk_ports",
        "Watched area groups or ids (comma-separated) near which going dark is a finding.",
        "sanctionwatch assumption: the demo watch list (watched_areas.geojson group dprk_ports)",
    ),
    Setting(
        "findings.dark_detection_radius_km", 10.0,
        "A dark-vessel candidate (detection no AIS vessel explains) within this distance of a "
        "watched area is a finding.",
        "sanctionwatch assumption (port approaches; GFW SAR dark-vessel analyses use port areas)",
        unit="km", minimum=0,
    ),
    Setting(
        "findings.dark_min_length_m", 50.0,
        "Ignore dark-vessel candidates shorter than this (small craft and clutter); candidates "
        "without a length are kept.",
        "sanctionwatch assumption: cargo ships of interest are 80 m and more (facts.md)", unit="m",
        minimum=0,
    ),
)


@dataclass(frozen=True)
class Config:
    """A frozen, complete set of setting values."""

    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise ConfigError(f"unknown setting {name!r}") from None

    def to_json(self) -> str:
        return json.dumps(dict(sorted(self.values.items())), sort_keys=True)

    @property
    def params_id(self) -> str:
        """Short hash of the values: the same parameters always give the same id."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def overridden(self) -> dict[str, Any]:
        """Only the values that differ from the packaged defaults."""
        return {k: v for k, v in self.values.items() if SETTINGS[k].default != v}

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        vals = dict(self.values)
        for name, value in overrides.items():
            vals[name] = _setting(name).parse(value)
        return Config(MappingProxyType(vals))

    def min_valid_datetime(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self["ingest.min_valid_date"]).replace(tzinfo=dt.UTC)


def _setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        close = [n for n in SETTINGS if n.split(".")[-1] == name.split(".")[-1]]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown setting {name!r}{hint}") from None


def defaults() -> Config:
    return Config(MappingProxyType({k: s.default for k, s in SETTINGS.items()}))


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """Parse CLI ``name=value`` strings."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


_P = TypeVar("_P")


def params_from_config(cls: type[_P], config: Config, prefix: str) -> _P:
    """A stage's frozen parameter dataclass whose field ``x`` is the setting ``prefix + x``
    (e.g. ``CfarParams.pfa`` is ``imagery.cfar_pfa``): one place maps settings to parameters."""
    return cls(**{f.name: config[prefix + f.name] for f in fields(cls)})  # type: ignore[arg-type]


def load_config(project_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Packaged defaults, then the project's TOML file (if it exists), then ``overrides``."""
    cfg = defaults()
    if project_file is not None and project_file.exists():
        try:
            data = tomllib.loads(project_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{project_file}: {err}") from err
        cfg = cfg.with_overrides(_flatten(data.get("settings", {})))
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return cfg


def settings_markdown() -> str:
    """The settings reference (docs/settings.md), generated from the registry."""
    lines = [
        "# Settings",
        "",
        "Generated from `sanctionwatch.config.SETTINGS` (`sanctionwatch settings --markdown`); "
        "a test checks this file is current.",
        "",
        "Override per project in `sanctionwatch.toml` under `[settings]` (dotted names as nested "
        "tables or quoted keys), or per run with `--set name=value`. The values used are recorded "
        "in every output (`params_json`, `params_id`).",
        "",
        "| setting | default | unit | what it does | source of the default |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        lines.append(f"| `{s.name}` | `{s.default}` | {s.unit or ''} | {s.help} | {s.source} |")
    return "\n".join(lines) + "\n"
