"""The shapes of the web API's JSON answers, as Pydantic models.

They document the API in its OpenAPI spec (``/api/openapi.json``); the endpoints build their JSON
directly (faster than validating every row), and the API tests check that real answers validate
against these models with no field missing or extra, so the spec cannot drift from the answers.
Times are ISO-8601 UTC strings ending in ``Z``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AreaDetail", "AreaList", "AreaOut", "ErrorOut", "EventOut", "EvidenceOut", "FindingDetail", "FindingList",
    "FindingOut", "IdentityOut", "MatchOut", "StatusOut", "TrackOut", "VesselDetail", "VesselList", "VesselOut",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(_Strict):
    error: str = Field(description="What was wrong, in plain words.")


class VesselRef(_Strict):
    mmsi: int
    label: str = Field(description="'NAME (IMO 1234567)' or 'MMSI 123456789'.")


class FindingOut(_Strict):
    finding_id: str
    rule: str
    severity: str = Field(description="info, low, medium or high.")
    title: str | None
    statement: str
    confidence: float | None
    confidence_reason: str | None
    start_utc: str | None
    end_utc: str | None
    mmsis: list[int]
    vessels: list[VesselRef]
    area_ids: list[str]
    event_ids: list[str]
    n_evidence: int = Field(description="Raw input records behind the finding.")
    params_id: str | None
    attrs: dict[str, Any] = Field(description="The rule's figures and parameters (attrs_json parsed).")


class Facets(_Strict):
    rules: dict[str, int] = Field(description="Findings per rule in the whole project (unfiltered).")
    severities: dict[str, int] = Field(description="Findings per severity in the whole project (unfiltered).")


class FindingList(_Strict):
    total: int = Field(description="Findings matching the filters (all pages).")
    limit: int
    offset: int
    items: list[FindingOut]
    facets: Facets


class EventOut(_Strict):
    event_id: str
    event_type: str
    mmsi: int
    other_mmsi: int | None
    segment_id: str | None
    start_utc: str
    end_utc: str | None
    lat_deg: float | None
    lon_deg: float | None
    area_id: str | None
    area2_id: str | None
    confidence: float | None
    basis: str | None
    attrs: dict[str, Any]
    n_evidence: int
    params_id: str | None


class EvidenceOut(_Strict):
    source_id: str
    record_no: int
    path: str | None
    format: str | None
    kind: str | None
    status: str = Field(description="ok, file_missing, file_changed, unknown_source, no_line or line_missing.")
    text: str | None = Field(description="The raw input line, when the status is ok.")


class FindingDetail(_Strict):
    finding: FindingOut
    events: list[EventOut]
    evidence: list[EvidenceOut]
    evidence_total: int
    evidence_truncated: bool


class VesselOut(_Strict):
    mmsi: int
    label: str
    name: str | None
    imo: int | None
    call_sign: str | None
    flag: str | None
    ship_type: int | None
    n_names: int | None
    n_positions: int
    first_utc: str | None
    last_utc: str | None


class VesselList(_Strict):
    total: int
    limit: int
    offset: int
    q: str | None
    items: list[VesselOut]


class IdentityOut(_Strict):
    mmsi: int
    imo: int | None
    imo_valid: bool | None
    name: str | None
    call_sign: str | None
    ship_type: int | None
    flag_iso2: str | None
    transceiver_class: str | None
    length_m: float | None
    beam_m: float | None
    draught_m: float | None
    destination: str | None
    first_seen_utc: str
    last_seen_utc: str
    n_reports: int
    source_id: str
    record_no: int
    path: str | None


class MatchOut(_Strict):
    match_id: str
    mmsi: int
    ais_name: str | None
    ais_imo: int | None
    list_name: str
    list_id: str
    entry_id: str
    entry_name: str
    entry_schema: str
    score: float
    status: str
    entry_status: str
    reasons: list[str]
    first_seen_utc: str | None
    last_seen_utc: str | None
    n_evidence: int


class VesselDetail(_Strict):
    ident: str
    mmsis: list[int]
    label: str
    vessels: list[VesselOut]
    identities: list[IdentityOut]
    matches: list[MatchOut]
    events: list[EventOut]
    events_total: int
    findings: list[FindingOut]
    findings_total: int
    since: str | None
    until: str | None


class TrackOut(_Strict):
    type: str = Field(description="'FeatureCollection'.")
    features: list[dict[str, Any]] = Field(
        description="One Feature per track part (the track is cut at AIS gaps): a LineString (or a Point for a "
        "part of one position) with properties mmsi, part and times_ms (epoch milliseconds of each vertex).")
    mmsis: list[int]
    n_positions: int = Field(description="Positions in the requested span before simplification.")
    n_vertices: int = Field(description="Vertices returned (at most max_points).")
    max_points: int
    since: str | None
    until: str | None


class AreaOut(_Strict):
    area_id: str
    name: str
    kind: str | None
    groups: list[str]
    country_iso2: str | None
    source: str = Field(description="'watched' (packaged or project area file) or 'wpi' (World Port Index).")
    geometry: dict[str, Any] = Field(description="GeoJSON geometry (a Point for point areas and WPI ports).")
    radius_m: float | None
    lat_deg: float
    lon_deg: float
    n_events: int
    n_findings: int


class AreaList(_Strict):
    total: int
    items: list[AreaOut]


class ActivityOut(_Strict):
    series: list[dict[str, Any]] = Field(description="site_id, category, basis, period, period_start_utc, "
                                         "count, n_obs per period of each series.")
    anomalies: list[dict[str, Any]] = Field(description="Spikes and changepoints with their statements.")


class AreaDetail(_Strict):
    area: AreaOut
    events: list[EventOut]
    events_total: int
    findings: list[FindingOut]
    findings_total: int
    activity: ActivityOut | None
    since: str | None
    until: str | None


class StatusOut(_Strict):
    project: str
    version: str
    params_id: str
    settings_overridden: dict[str, Any]
    counts: dict[str, int]
    events_by_type: dict[str, int]
    time_span: dict[str, str | None]
    sources: list[dict[str, Any]]
    lists: list[dict[str, Any]]
    imagery_sources: list[dict[str, Any]]
    findings_engine: bool = Field(description="Whether the project has a findings table.")
