"""The one data model of sanctionwatch.

Every table the toolkit reads or writes is declared here once, as a :class:`Table` of
:class:`Field` s with a type, nullability, unit and description. The Arrow schema (the
canonical form), the Polars schema, the DuckDB DDL and the Spark DDL string are all derived
from these declarations, so no other module spells a column type again.

Conventions (checked by ``tests/unit/test_schema.py``):

* names carry their unit where a value has one: ``sog_knots``, ``lat_deg``, ``length_m``;
* timestamps are ``timestamp[us, tz=UTC]`` and end in ``_utc``; a naive timestamp never
  enters a table;
* every row that comes from an input file carries ``source_id`` (the first 16 hex digits of
  the file's SHA-256) and ``record_no`` (the 1-based line of the record in that file), so
  any finding can be walked back to the exact input line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

__all__ = [
    "DETECTIONS",
    "DETECTION_MATCHES",
    "EVENTS",
    "FINDINGS",
    "IDENTITIES",
    "LISTS",
    "LIST_ENTRIES",
    "LIST_RELATIONS",
    "MATCHES",
    "POSITIONS",
    "QUARANTINE",
    "SCENES",
    "SIGHTINGS",
    "SITE_COUNTS",
    "SOURCES",
    "TABLES",
    "Field",
    "Table",
    "duckdb_type",
    "empty_table",
    "spark_ddl",
]

UTC_TS = pa.timestamp("us", tz="UTC")

# Evidence points back to raw input records: the file (by source id) and the line in it.
EVIDENCE_REF = pa.struct([("source_id", pa.string()), ("record_no", pa.int64())])


@dataclass(frozen=True)
class Field:
    """One column: name, Arrow type, nullability, unit and a one-line description."""

    name: str
    type: pa.DataType
    doc: str
    nullable: bool = True
    unit: str | None = None

    def arrow(self) -> pa.Field:
        meta = {"doc": self.doc}
        if self.unit:
            meta["unit"] = self.unit
        return pa.field(self.name, self.type, nullable=self.nullable, metadata=meta)


@dataclass(frozen=True)
class Table:
    """A named table of fields with an optional identity key (used for de-duplication)."""

    name: str
    doc: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    version: int = 1
    _index: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({f.name: f for f in self.fields})
        if len(self._index) != len(self.fields):
            raise ValueError(f"duplicate field names in table {self.name}")
        missing = [k for k in self.key if k not in self._index]
        if missing:
            raise ValueError(f"key columns {missing} not in table {self.name}")

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __getitem__(self, name: str) -> Field:
        return self._index[name]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def arrow(self) -> pa.Schema:
        meta = {"sanctionwatch.table": self.name, "sanctionwatch.table_version": str(self.version)}
        return pa.schema([f.arrow() for f in self.fields], metadata=meta)

    def polars(self) -> dict[str, object]:
        """The Polars schema, derived from the Arrow one (so both always agree)."""
        import polars as pl

        return dict(pl.from_arrow(empty_table(self)).schema)  # type: ignore[union-attr]

    def duckdb_ddl(self, table_name: str | None = None) -> str:
        cols = ",\n  ".join(
            f'"{f.name}" {duckdb_type(f.type)}{"" if f.nullable else " NOT NULL"}' for f in self.fields
        )
        return f'CREATE TABLE IF NOT EXISTS "{table_name or self.name}" (\n  {cols}\n)'

    def spark_ddl(self) -> str:
        return spark_ddl(self.arrow())

    def describe(self) -> list[dict[str, str]]:
        """Rows for documentation: name, type, unit, nullable, doc."""
        return [
            {
                "name": f.name,
                "type": str(f.type),
                "unit": f.unit or "",
                "nullable": "yes" if f.nullable else "no",
                "doc": f.doc,
            }
            for f in self.fields
        ]


def empty_table(table: Table) -> pa.Table:
    return table.arrow().empty_table()


def conform(data: pa.Table, table: Table) -> pa.Table:
    """Cast/reorder ``data`` to ``table``'s schema; missing nullable columns become nulls.

    Raises ``ValueError`` naming the column when a non-nullable column is missing.
    """
    schema = table.arrow()
    cols = []
    for f in schema:
        if f.name in data.column_names:
            col = data.column(f.name)
            if col.type != f.type:
                col = col.cast(f.type)
            cols.append(col)
        elif f.nullable:
            cols.append(pa.nulls(data.num_rows, type=f.type))
        else:
            raise ValueError(f"table {table.name}: required column {f.name!r} is missing")
    return pa.Table.from_arrays(cols, schema=schema)


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        inner = ", ".join(f'"{c.name}" {duckdb_type(c.type)}' for c in t)
        return f"STRUCT({inner})"
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BLOB",
    }
    return simple[t]


def spark_ddl(schema: pa.Schema) -> str:
    """The Spark DDL string (``name TYPE, ...``, names quoted) of an Arrow schema: a :class:`Table`'s, or the
    schema of an intermediate frame an engine passes between its steps."""
    return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)


def _spark_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"ARRAY<{_spark_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "STRUCT<" + ", ".join(f"{c.name}: {_spark_type(c.type)}" for c in t) + ">"
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INT",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.string(): "STRING",
        pa.large_string(): "STRING",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BINARY",
    }
    return simple[t]


# --- provenance columns shared by every input-derived table --------------------------------

def _provenance() -> tuple[Field, ...]:
    return (
        Field("source_id", pa.string(), "Input file id: first 16 hex digits of its SHA-256.", nullable=False),
        Field("record_no", pa.int64(), "1-based line number of the record in that file "
              "(first line of a multi-sentence NMEA message).", nullable=False),
    )


# --- positions ----------------------------------------------------------------------------

POSITIONS = Table(
    "positions",
    "One AIS position report (message types 1/2/3/18/19/27, or a decoded CSV row).",
    (
        Field("mmsi", pa.int32(), "Maritime Mobile Service Identity (9 digits for ships).", nullable=False),
        Field("ts_utc", UTC_TS, "Time of the report (receiver or tag-block time), UTC.", nullable=False),
        Field("lat_deg", pa.float64(), "Latitude, WGS84, north positive.", nullable=False, unit="degree"),
        Field("lon_deg", pa.float64(), "Longitude, WGS84, east positive, in [-180, 180].", nullable=False,
              unit="degree"),
        Field("sog_knots", pa.float32(), "Speed over ground; null when not available (AIS 102.3).",
              unit="knot"),
        Field("cog_deg", pa.float32(), "Course over ground, [0, 360); null when not available (AIS 360).",
              unit="degree"),
        Field("heading_deg", pa.int16(), "True heading, [0, 359]; null when not available (AIS 511).",
              unit="degree"),
        Field("nav_status", pa.int8(), "AIS navigational status code 0-14; null when undefined (15) "
              "or not reported (class B)."),
        Field("msg_type", pa.int8(), "AIS message type (1-27); null for CSV sources that do not say."),
        Field("accuracy", pa.bool_(), "Position accuracy flag (true = high, < 10 m)."),
        *_provenance(),
    ),
    # Two receptions of the same report (same ship, instant and place) are one record.
    key=("mmsi", "ts_utc", "lat_deg", "lon_deg"),
)

# --- identities ---------------------------------------------------------------------------

IDENTITIES = Table(
    "identities",
    "What a vessel said about itself (static/voyage data: AIS types 5, 19, 24, or CSV columns), "
    "collapsed to one row per distinct broadcast identity per source with first/last seen.",
    (
        Field("mmsi", pa.int32(), "MMSI the identity was broadcast under.", nullable=False),
        Field("imo", pa.int32(), "IMO ship number as broadcast (7 digits); null when absent or 0."),
        Field("imo_valid", pa.bool_(), "IMO check digit is correct (null when no IMO)."),
        Field("name", pa.string(), "Ship name, upper case, trimmed, AIS '@' padding removed."),
        Field("call_sign", pa.string(), "Radio call sign, trimmed."),
        Field("ship_type", pa.int16(), "AIS ship and cargo type code (0-99)."),
        Field("flag_iso2", pa.string(), "Flag state ISO 3166-1 alpha-2 derived from the MMSI's MID."),
        Field("transceiver_class", pa.string(), "'A' or 'B' where known."),
        Field("length_m", pa.float32(), "Overall length = to_bow + to_stern.", unit="metre"),
        Field("beam_m", pa.float32(), "Beam = to_port + to_starboard.", unit="metre"),
        Field("to_bow_m", pa.int16(), "GNSS antenna to bow.", unit="metre"),
        Field("to_stern_m", pa.int16(), "GNSS antenna to stern.", unit="metre"),
        Field("to_port_m", pa.int16(), "GNSS antenna to port side.", unit="metre"),
        Field("to_starboard_m", pa.int16(), "GNSS antenna to starboard side.", unit="metre"),
        Field("draught_m", pa.float32(), "Present static draught.", unit="metre"),
        Field("destination", pa.string(), "Destination as typed by the crew, trimmed."),
        Field("eta_text", pa.string(), "ETA as broadcast, 'MM-DD HH:MM' (AIS has no year)."),
        Field("first_seen_utc", UTC_TS, "First report of this identity in this source.", nullable=False),
        Field("last_seen_utc", UTC_TS, "Last report of this identity in this source.", nullable=False),
        Field("n_reports", pa.int32(), "Number of reports collapsed into this row.", nullable=False),
        *_provenance(),
    ),
    key=("mmsi", "imo", "name", "call_sign", "ship_type", "length_m", "beam_m", "draught_m",
         "destination", "eta_text", "source_id"),
)

# --- quarantine ---------------------------------------------------------------------------

QUARANTINE = Table(
    "quarantine",
    "Input records that could not be used, with the reason and the raw text, so nothing is "
    "dropped silently.",
    (
        *_provenance(),
        Field("reason", pa.string(), "Machine-readable reason code (see ingest.reasons).", nullable=False),
        Field("detail", pa.string(), "Human-readable detail (which field, what value)."),
        Field("raw", pa.string(), "The raw input line (or reconstructed row for CSV), truncated to 4 kB."),
    ),
    key=("source_id", "record_no", "reason"),
)

# --- sources ------------------------------------------------------------------------------

SOURCES = Table(
    "sources",
    "Every ingested file: where it came from, its content hash and what became of its rows.",
    (
        Field("source_id", pa.string(), "First 16 hex digits of the SHA-256 of the file's bytes.", nullable=False),
        Field("sha256", pa.string(), "Full SHA-256 of the file's bytes.", nullable=False),
        Field("path", pa.string(), "Absolute path at ingest time.", nullable=False),
        Field("size_bytes", pa.int64(), "File size.", nullable=False, unit="byte"),
        Field("format", pa.string(), "Reader used (nmea, dma_csv, noaa_csv, mapped_csv, mapped_parquet).",
              nullable=False),
        Field("ingested_utc", UTC_TS, "When the ingest committed.", nullable=False),
        Field("records_read", pa.int64(), "Records (lines/rows) read.", nullable=False),
        Field("positions_kept", pa.int64(), "Position rows stored.", nullable=False),
        Field("identities_kept", pa.int64(), "Identity rows stored (after collapsing).", nullable=False),
        Field("quarantined", pa.int64(), "Records sent to quarantine.", nullable=False),
        Field("duplicates", pa.int64(), "Position rows already stored (same key) and not added again.",
              nullable=False),
        Field("skipped", pa.int64(), "Records deliberately skipped (other NMEA sentences, comments, "
              "blank lines, non-position AIS types).", nullable=False),
        Field("ts_min_utc", UTC_TS, "Earliest kept position."),
        Field("ts_max_utc", UTC_TS, "Latest kept position."),
        Field("params_json", pa.string(), "Reader options and settings used, as JSON.", nullable=False),
        Field("tool_version", pa.string(), "sanctionwatch version that ingested the file.", nullable=False),
    ),
    key=("source_id",),
)

# --- imagery: detections and sightings (filled by the imagery issue) ----------------------

DETECTIONS = Table(
    "detections",
    "A vessel detected in a satellite scene (SAR or optical) by a detector pipeline.",
    (
        Field("detection_id", pa.string(), "Stable id: source_id + record_no, or the pipeline's own id.",
              nullable=False),
        Field("scene_id", pa.string(), "Scene / granule identifier."),
        Field("ts_utc", UTC_TS, "Acquisition time of the scene.", nullable=False),
        Field("lat_deg", pa.float64(), "Detection latitude.", nullable=False, unit="degree"),
        Field("lon_deg", pa.float64(), "Detection longitude.", nullable=False, unit="degree"),
        Field("length_m", pa.float32(), "Estimated length.", unit="metre"),
        Field("heading_deg", pa.float32(), "Estimated heading.", unit="degree"),
        Field("confidence", pa.float32(), "Detector confidence in [0, 1]."),
        Field("sensor", pa.string(), "Sensor / platform (e.g. 'sentinel-1', 'sentinel-2', 'cfar')."),
        *_provenance(),
    ),
    key=("detection_id",),
)

SIGHTINGS = Table(
    "sightings",
    "An analyst's sighting: a vessel identified on an image or in a report at a time and place.",
    (
        Field("sighting_id", pa.string(), "Stable id (source_id + record_no).", nullable=False),
        Field("ts_utc", UTC_TS, "When the vessel was seen.", nullable=False),
        Field("lat_deg", pa.float64(), "Where it was seen.", nullable=False, unit="degree"),
        Field("lon_deg", pa.float64(), "Where it was seen.", nullable=False, unit="degree"),
        Field("claimed_name", pa.string(), "Name the analyst assigned."),
        Field("claimed_imo", pa.int32(), "IMO the analyst assigned."),
        Field("claimed_mmsi", pa.int32(), "MMSI the analyst assigned."),
        Field("image_ref", pa.string(), "Image or report reference (URL, file name, catalogue id)."),
        Field("confidence", pa.float32(), "Analyst confidence in [0, 1]."),
        Field("note", pa.string(), "Free text."),
        *_provenance(),
    ),
    key=("sighting_id",),
)

SCENES = Table(
    "scenes",
    "Where and when a satellite looked: a scene footprint, so an area imaged with no detection "
    "is known to be empty rather than unobserved.",
    (
        Field("scene_id", pa.string(), "Scene / granule identifier.", nullable=False),
        Field("sensor", pa.string(), "Sensor / platform (e.g. 'sentinel-1')."),
        Field("ts_utc", UTC_TS, "Acquisition time (scene centre).", nullable=False),
        Field("footprint_wkt", pa.string(), "Footprint polygon, WGS84 lon/lat, as WKT.", nullable=False),
        *_provenance(),
    ),
    key=("scene_id",),
)

DETECTION_MATCHES = Table(
    "detection_matches",
    "A detection matched to the AIS vessel expected there at the scene time, or left unmatched "
    "(a dark-vessel candidate), with the figures behind the decision.",
    (
        Field("detection_id", pa.string(), "Detection matched.", nullable=False),
        Field("scene_id", pa.string(), "Scene of the detection."),
        Field("ts_utc", UTC_TS, "Scene time.", nullable=False),
        Field("mmsi", pa.int32(), "AIS vessel assigned; null for a dark-vessel candidate."),
        Field("status", pa.string(), "'matched', 'dark_candidate' (no AIS vessel could be there), or "
              "'ambiguous' (a candidate scored below the match threshold, or its vessel went to another "
              "detection less than imagery.match_ambiguity_factor times likelier).", nullable=False),
        Field("score", pa.float32(), "Match score in [0, 1] (see docs/imagery-matching.md)."),
        Field("distance_m", pa.float64(), "Distance from the detection to the vessel's expected position.",
              unit="metre"),
        Field("expected_lat_deg", pa.float64(), "AIS position interpolated/extrapolated to the scene time.",
              unit="degree"),
        Field("expected_lon_deg", pa.float64(), "AIS position interpolated/extrapolated to the scene time.",
              unit="degree"),
        Field("uncertainty_m", pa.float64(), "Radius of the expected position's uncertainty (grows with "
              "time from the nearest fix).", unit="metre"),
        Field("fix_offset_min", pa.float64(), "Time from the scene to the nearest AIS fix used.", unit="minute"),
        Field("length_ratio", pa.float64(), "Detected length / AIS length (null when either is unknown)."),
        Field("heading_diff_deg", pa.float64(), "Detected vs AIS heading, modulo 180 (SAR heading ambiguity).",
              unit="degree"),
        Field("evidence", pa.list_(EVIDENCE_REF), "The detection record and the AIS fixes used."),
        Field("params_id", pa.string(), "Hash of the frozen config used."),
    ),
    key=("detection_id",),
)

SITE_COUNTS = Table(
    "site_counts",
    "A count at a site over a period: ships at berth (from AIS or detections), rail cars or "
    "containers (analyst counts from imagery).",
    (
        Field("site_id", pa.string(), "Watched area id (or the analyst's site name).", nullable=False),
        Field("period_start_utc", UTC_TS, "Start of the counted period.", nullable=False),
        Field("period", pa.string(), "'day' or 'week' (or 'instant' for a single image).", nullable=False),
        Field("category", pa.string(), "What is counted: ships_at_berth, rail_cars, containers, ...",
              nullable=False),
        Field("count", pa.float64(), "The count (mean over the period for AIS presence).", nullable=False),
        Field("basis", pa.string(), "'ais', 'detections' or 'analyst'.", nullable=False),
        Field("note", pa.string(), "Image reference or remark."),
        Field("evidence", pa.list_(EVIDENCE_REF), "Input records behind a derived count (the port visits' or "
              "detections' records); null for an analyst's row, whose own line is source_id/record_no."),
        *_provenance(),
    ),
    key=("site_id", "period_start_utc", "period", "category", "basis"),
)

# --- events and findings (filled by the tracks/events and findings issues) -----------------

EVENTS = Table(
    "events",
    "Something a vessel did (port visit, voyage, AIS gap, loitering, encounter, identity change, "
    "spoofing indicator), with the evidence records behind it.",
    (
        Field("event_id", pa.string(), "Deterministic id: hash of type, vessels, start and parameters.",
              nullable=False),
        Field("event_type", pa.string(), "port_visit, voyage, ais_gap, loitering, encounter, "
              "identity_change, spoofing, ...", nullable=False),
        Field("mmsi", pa.int32(), "Vessel the event is about.", nullable=False),
        Field("other_mmsi", pa.int32(), "Second vessel (encounters)."),
        Field("segment_id", pa.string(), "Track segment the event was found on."),
        Field("start_utc", UTC_TS, "Start of the event.", nullable=False),
        Field("end_utc", UTC_TS, "End of the event (equal to start for instants)."),
        Field("lat_deg", pa.float64(), "Representative latitude.", unit="degree"),
        Field("lon_deg", pa.float64(), "Representative longitude.", unit="degree"),
        Field("area_id", pa.string(), "Port or area the event is in or refers to."),
        Field("area2_id", pa.string(), "Second area (voyage destination)."),
        Field("confidence", pa.float32(), "Confidence in [0, 1]."),
        Field("basis", pa.string(), "How it is known: 'ais', 'inferred_gap', 'imagery', 'sighting'."),
        Field("attrs_json", pa.string(), "Type-specific attributes as JSON (durations, distances...)."),
        Field("evidence", pa.list_(EVIDENCE_REF), "Raw records behind the event."),
        Field("params_id", pa.string(), "Hash of the frozen config the event was computed with."),
    ),
    key=("event_id",),
)

FINDINGS = Table(
    "findings",
    "A statement for a reader, produced by a rule from events, with confidence and evidence.",
    (
        Field("finding_id", pa.string(), "Deterministic id: hash of rule, subject and span.", nullable=False),
        Field("rule", pa.string(), "Rule name.", nullable=False),
        Field("severity", pa.string(), "info, low, medium, high.", nullable=False),
        Field("statement", pa.string(), "The finding in plain words.", nullable=False),
        Field("confidence", pa.float32(), "Confidence in [0, 1]."),
        Field("confidence_reason", pa.string(), "Why this confidence (observed vs inferred vs imagery)."),
        Field("start_utc", UTC_TS, "Start of the span the finding covers."),
        Field("end_utc", UTC_TS, "End of the span."),
        Field("mmsis", pa.list_(pa.int32()), "Vessels concerned."),
        Field("area_ids", pa.list_(pa.string()), "Areas concerned."),
        Field("event_ids", pa.list_(pa.string()), "Events behind the finding."),
        Field("evidence", pa.list_(EVIDENCE_REF), "Raw records behind the finding."),
        Field("params_id", pa.string(), "Hash of the frozen config used."),
        Field("title", pa.string(), "Short headline (for lists and map popups)."),
        Field("attrs_json", pa.string(), "The rule's parameters and the figures behind the statement "
              "(counts, distances, per-month series) as JSON."),
    ),
    key=("finding_id",),
)

# --- sanctions lists and screening (screening issue) ---------------------------------------

LISTS = Table(
    "lists",
    "One loaded version of a sanctions list or watchlist. Loading a newer version of the same "
    "list (same list_name) adds a row; older versions stay, so designations and delistings "
    "can be dated.",
    (
        Field("list_id", pa.string(), "Id of this version: first 16 hex digits of the SHA-256 over "
              "its files' hashes.", nullable=False),
        Field("list_name", pa.string(), "Name the list is known by in this project (e.g. 'ofac-sdn'); "
              "versions of one list share it.", nullable=False),
        Field("format", pa.string(), "Loader used (ofac_csv, ofac_xml, eu_ftm_csv, un_xml, ftm_json, "
              "watchlist_csv).", nullable=False),
        Field("as_of_utc", UTC_TS, "Publication date of this version.", nullable=False),
        Field("as_of_basis", pa.string(), "Where as_of_utc comes from: 'file' (a date inside the file), "
              "'option' (--as-of), 'mtime' (the file's modification time).", nullable=False),
        Field("paths", pa.list_(pa.string()), "Absolute paths of the files read.", nullable=False),
        Field("source_ids", pa.list_(pa.string()), "Source id of each file read.", nullable=False),
        Field("loaded_utc", UTC_TS, "When the load committed.", nullable=False),
        Field("n_entries", pa.int64(), "Entries loaded.", nullable=False),
        Field("n_vessels", pa.int64(), "Entries with schema Vessel.", nullable=False),
        Field("n_relations", pa.int64(), "Relations loaded.", nullable=False),
        Field("params_json", pa.string(), "Loader options as JSON.", nullable=False),
        Field("tool_version", pa.string(), "sanctionwatch version that loaded the list.", nullable=False),
    ),
    key=("list_id",),
)

LIST_ENTRIES = Table(
    "list_entries",
    "One entry of a loaded list (a vessel, company, organisation or person), in FollowTheMoney "
    "terms: names, former names and the identifiers vessels are screened on.",
    (
        Field("list_id", pa.string(), "List version the entry belongs to.", nullable=False),
        Field("entry_id", pa.string(), "The list's own id (OFAC ent_num, EU recordId, UN "
              "REFERENCE_NUMBER, FtM id, watchlist row id).", nullable=False),
        Field("schema", pa.string(), "FtM schema: Vessel, Company, Organization, LegalEntity, Person, "
              "Asset, Airplane.", nullable=False),
        Field("name", pa.string(), "Primary name as listed.", nullable=False),
        Field("aliases", pa.list_(pa.string()), "Other current names (a.k.a., alias, weakAlias)."),
        Field("past_names", pa.list_(pa.string()), "Former names (f.k.a., previousName, pastNames)."),
        Field("imo", pa.int32(), "IMO number (ship number for vessels, company number for companies) "
              "when the text holds 7 digits."),
        Field("imo_raw", pa.string(), "IMO number exactly as written in the list."),
        Field("imo_valid", pa.bool_(), "Ship IMO check digit is correct (null when no IMO or not a vessel)."),
        Field("mmsis", pa.list_(pa.int32()), "MMSIs given by the list."),
        Field("call_sign", pa.string(), "Radio call sign."),
        Field("flag_iso2", pa.string(), "Flag (vessels), ISO 3166-1 alpha-2."),
        Field("past_flags_iso2", pa.list_(pa.string()), "Former flags, ISO 3166-1 alpha-2."),
        Field("vessel_type", pa.string(), "Vessel type as listed."),
        Field("countries_iso2", pa.list_(pa.string()), "Countries of the entity (nationality, address, "
              "jurisdiction), ISO 3166-1 alpha-2."),
        Field("programs", pa.list_(pa.string()), "Sanctions programmes / regimes / annexes."),
        Field("listed_on_utc", UTC_TS, "Designation date when the list states it."),
        Field("remarks", pa.string(), "Free text from the list (remarks, reason, notes)."),
        *_provenance(),
    ),
    key=("list_id", "entry_id"),
)

LIST_RELATIONS = Table(
    "list_relations",
    "A link stated by a list between an entry and another party: owner, operator, manager, "
    "director, linked to.",
    (
        Field("list_id", pa.string(), "List version.", nullable=False),
        Field("subject_id", pa.string(), "Entry the relation starts from (e.g. the vessel).", nullable=False),
        Field("relation", pa.string(), "owner, operator, manager, director, linked_to, associate.",
              nullable=False),
        Field("object_id", pa.string(), "Entry id of the other party in the same list, when resolved."),
        Field("object_name", pa.string(), "Name of the other party as written.", nullable=False),
        Field("start_utc", UTC_TS, "Start of the relation when stated."),
        *_provenance(),
    ),
    key=("list_id", "subject_id", "relation", "object_name"),
)

MATCHES = Table(
    "matches",
    "A screening result: a vessel seen in AIS matched to a list entry, with score and reasons.",
    (
        Field("match_id", pa.string(), "Deterministic id: hash of mmsi, list version, entry and params.",
              nullable=False),
        Field("mmsi", pa.int32(), "AIS vessel (MMSI) screened.", nullable=False),
        Field("ais_name", pa.string(), "Name the vessel broadcast (the best-matching one)."),
        Field("ais_imo", pa.int32(), "IMO the vessel broadcast (the best-matching one)."),
        Field("list_name", pa.string(), "List matched.", nullable=False),
        Field("list_id", pa.string(), "List version matched.", nullable=False),
        Field("entry_id", pa.string(), "Entry matched.", nullable=False),
        Field("entry_name", pa.string(), "Entry's primary name.", nullable=False),
        Field("entry_schema", pa.string(), "Entry's FtM schema.", nullable=False),
        Field("score", pa.float32(), "Match score in [0, 1] (see docs/screening.md).", nullable=False),
        Field("status", pa.string(), "'match' (score >= screening.match_threshold) or 'possible'.",
              nullable=False),
        Field("entry_status", pa.string(), "'listed' in the latest version of the list, or 'delisted'.",
              nullable=False),
        Field("reasons", pa.list_(pa.string()), "Why: each feature and qualifier that counted.",
              nullable=False),
        Field("first_seen_utc", UTC_TS, "First AIS report of a matching identity."),
        Field("last_seen_utc", UTC_TS, "Last AIS report of a matching identity."),
        Field("evidence", pa.list_(EVIDENCE_REF), "AIS records behind the match (identity rows) and the "
              "list record."),
        Field("params_id", pa.string(), "Hash of the frozen config used."),
    ),
    key=("match_id",),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (POSITIONS, IDENTITIES, QUARANTINE, SOURCES, DETECTIONS, SIGHTINGS, SCENES, DETECTION_MATCHES,
              SITE_COUNTS, EVENTS, FINDINGS, LISTS, LIST_ENTRIES, LIST_RELATIONS, MATCHES)
}


def schema_doc_json() -> str:
    """All table declarations as JSON (written into exports and the docs)."""
    return json.dumps({name: t.describe() for name, t in TABLES.items()}, indent=2)
