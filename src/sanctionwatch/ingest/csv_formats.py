"""Readers for the two public AIS CSV layouts: Danish Maritime Authority and NOAA MarineCadastre.

Both stream through :mod:`sanctionwatch.ingest.csv_core` (chunked, vectorised) and convert
through :mod:`sanctionwatch.ingest.csv_convert`. Every data row yields one position and, when it
has any identity field, one identity observation (collapsed later by
``validate.collapse_identities``).

**DMA** (``dma_csv``), the ``aisdk-YYYY-MM-DD.csv`` day files of http://web.ais.dk/aisdata/::

    # Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,
    IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,
    Destination,ETA,Data source type,A,B,C,D

* ``Timestamp`` is day-first UTC, ``31/12/2015 23:59:59``;
* ``Type of mobile``: ``Class A``/``Class B`` give ``transceiver_class`` A/B; rows of other
  mobiles (``Base Station``, ``AtoN``, ``SAR Airborne``, ``Search and Rescue Transponder``...)
  are not vessels: skipped and counted by kind (``base_station``, ``aton``...);
* ``Navigational status`` is text; it is mapped to the ITU code (ITU-R M.1371-5 table 7 wording,
  as DMA writes it); ``Unknown value`` (code 15, "not defined") and unrecognised text are null;
* ``Ship type`` is text. A name that is one ITU-R M.1371-5 table 53 code (``Fishing`` 30,
  ``Tug`` 52, ``Pilot`` 50...) gets that code; a name that is a whole category (``Cargo``,
  ``Tanker``, ``Passenger``, ``HSC``, ``WIG``, ``Other``) gets the category's "all ships of this
  type" code (70, 80, 60, 40, 20, 90): DMA does not publish the second digit (hazard category),
  so that is all the file says. ``Undefined``, ``Reserved``, ``Spare 1/2`` and anything else: null;
* ``IMO``, ``Callsign``, ``Name``, ``Destination`` of ``Unknown`` (DMA's placeholder) are null;
* ``A``, ``B``, ``C``, ``D`` are the antenna's distances to bow, stern, port and starboard, as
  in AIS message 5 (ITU-R M.1371-5 figure 42). DMA's column list describes C as "to starboard"
  and D as "to port"; the values are the message fields A-D, so the ITU order is used.
  ``Length``/``Width`` go to ``length_m``/``beam_m``.

**NOAA MarineCadastre** (``noaa_csv``), ``AIS_YYYY_MM_DD.csv`` (https://marinecadastre.gov/ais/)::

    MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,
    Length,Width,Draft,Cargo,TransceiverClass

``BaseDateTime`` is ISO ``2022-01-03T00:00:00`` UTC; ``IMO`` is ``IMO9876543`` or empty;
``VesselType`` and ``Status`` are AIS codes; numbers may be written as floats (``8.0``);
``Length``/``Width`` go to ``length_m``/``beam_m``; ``Cargo`` is not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import polars as pl

from sanctionwatch.config import Config
from sanctionwatch.ingest.base import InputError, RawChunk
from sanctionwatch.ingest.csv_convert import (
    Conversion,
    TextTimeParser,
    TimeParser,
    default_time_us,
    iso_parser,
)
from sanctionwatch.ingest.csv_core import UTF8_BOM, CsvLayout, read_delimited, split_header

__all__ = ["DMA_COLUMNS", "NOAA_COLUMNS", "DmaCsvReader", "NoaaCsvReader"]

_REQUIRED: Final = ("mmsi", "ts_utc", "lat_deg", "lon_deg")

# ---- DMA -------------------------------------------------------------------------------------

DMA_HEADER: Final = ("Timestamp", "Type of mobile", "MMSI", "Latitude", "Longitude",
                     "Navigational status", "ROT", "SOG", "COG", "Heading", "IMO", "Callsign",
                     "Name", "Ship type", "Cargo type", "Width", "Length",
                     "Type of position fixing device", "Draught", "Destination", "ETA",
                     "Data source type", "A", "B", "C", "D")
#: raw target -> DMA column
DMA_COLUMNS: Final[dict[str, str]] = {
    "ts_utc": "Timestamp", "transceiver_class": "Type of mobile", "mmsi": "MMSI",
    "lat_deg": "Latitude", "lon_deg": "Longitude", "nav_status": "Navigational status",
    "sog_knots": "SOG", "cog_deg": "COG", "heading_deg": "Heading", "imo": "IMO",
    "call_sign": "Callsign", "name": "Name", "ship_type": "Ship type", "beam_m": "Width",
    "length_m": "Length", "draught_m": "Draught", "destination": "Destination", "eta_text": "ETA",
    "to_bow_m": "A", "to_stern_m": "B", "to_port_m": "C", "to_starboard_m": "D",
}
# DMA's text for the navigational status -> ITU-R M.1371-5 table 7 code. Spelling variants seen
# in DMA files and in code that reads them; "Unknown value" (15, not defined) is null.
DMA_NAV_STATUS: Final[dict[str, int]] = {
    "under way using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted maneuverability": 3,
    "restricted manoeuverability": 3,
    "restricted manoeuvrability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "reserved for future use [11]": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use [12]": 12,
    "reserved for future use": 13,
    "reserved for future use [13]": 13,
    "ais-sart": 14,
    "ais-sart (active)": 14,
    "ais-sart is active": 14,
}
# DMA's ship type text -> ITU-R M.1371-5 table 53 code. Category names get the category's
# "all ships of this type" code (second digit 0); see the module docstring.
DMA_SHIP_TYPE: Final[dict[str, int]] = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towing long/wide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "port tender": 53,
    "anti-pollution": 54,
    "law enforcement": 55,
    "medical": 58,
    "not party to conflict": 59,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}
# "Type of mobile" of vessels, -> transceiver class. Other mobiles are skipped.
DMA_VESSEL_MOBILES: Final[dict[str, str]] = {"class a": "A", "class b": "B"}
DMA_UNKNOWN: Final = "unknown"  # DMA's placeholder in IMO, Callsign, Name, Destination
_DMA_TIME: Final = TextTimeParser((
    ("%d/%m/%Y %H:%M:%S", False),
    ("%d/%m/%Y %H:%M:%S%.f", False),
    ("%d/%m/%Y %H:%M", False),
))


def _code(col: str, table: dict[str, int]) -> pl.Expr:
    """Text -> code by ``table`` (case and spacing ignored); digits pass through; else null."""
    low = pl.col(col).str.to_lowercase().str.replace_all(r"\s+", " ")
    mapped = low.replace_strict(table, default=None, return_dtype=pl.Int64)
    return (pl.when(low.str.contains(r"^\d+$")).then(low.cast(pl.Int64, strict=False))
            .otherwise(mapped).cast(pl.String).alias(col))


def _dma_prepare(batch: pl.DataFrame) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    cols = set(batch.columns)
    for col in ("imo", "call_sign", "name", "destination"):
        if col in cols:
            exprs.append(pl.when(pl.col(col).str.to_lowercase() == DMA_UNKNOWN).then(None)
                         .otherwise(pl.col(col)).alias(col))
    if "nav_status" in cols:
        exprs.append(_code("nav_status", DMA_NAV_STATUS))
    if "ship_type" in cols:
        exprs.append(_code("ship_type", DMA_SHIP_TYPE))
    if "transceiver_class" in cols:
        mobile = pl.col("transceiver_class").str.to_lowercase()
        vessel = mobile.replace_strict(DMA_VESSEL_MOBILES, default=None, return_dtype=pl.String)
        other = mobile.is_not_null() & vessel.is_null()
        kind = mobile.str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
        exprs += [
            vessel.alias("transceiver_class"),
            pl.when(other & pl.col("_skip").is_null() & pl.col("_reason").is_null())
            .then(kind).otherwise(pl.col("_skip")).alias("_skip"),
        ]
    return batch.with_columns(exprs) if exprs else batch


# ---- NOAA ------------------------------------------------------------------------------------

NOAA_HEADER: Final = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName",
                      "IMO", "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo",
                      "TransceiverClass")
#: raw target -> MarineCadastre column
NOAA_COLUMNS: Final[dict[str, str]] = {
    "mmsi": "MMSI", "ts_utc": "BaseDateTime", "lat_deg": "LAT", "lon_deg": "LON",
    "sog_knots": "SOG", "cog_deg": "COG", "heading_deg": "Heading", "name": "VesselName",
    "imo": "IMO", "call_sign": "CallSign", "ship_type": "VesselType", "nav_status": "Status",
    "length_m": "Length", "beam_m": "Width", "draught_m": "Draft",
    "transceiver_class": "TransceiverClass",
}
_NOAA_TIME: Final = iso_parser("UTC", first="%Y-%m-%dT%H:%M:%S")


# ---- readers ---------------------------------------------------------------------------------

def _header_matches(head: bytes, expected: tuple[str, ...]) -> bool:
    """The first line of ``head`` is exactly ``expected`` (case, blanks, BOM and '#' ignored)."""
    first = head.split(b"\n", 1)[0]
    if first.startswith(UTF8_BOM):
        first = first[len(UTF8_BOM):]
    text = first.decode("utf-8", "replace").rstrip("\r")
    names = [n.lstrip("#").strip().lower() for n in split_header(text, ",")]
    return names == [n.lower() for n in expected]


def _conversion(path: Path, config: Config, options: dict[str, Any], time_parser: TimeParser,
                labels: dict[str, str]) -> Conversion:
    try:
        default_us = default_time_us(options.get("default_time"))
    except (TypeError, ValueError) as err:
        raise InputError(path, f"default_time: {err}") from err
    return Conversion(time_parser=time_parser, labels=labels, default_time_us=default_us,
                      raw_max_chars=int(config["ingest.quarantine_raw_max_chars"]))


class DmaCsvReader:
    """The ``dma_csv`` format. See the module docstring for the rules."""

    name = "dma_csv"
    description = "Danish Maritime Authority AIS CSV (aisdk-YYYY-MM-DD.csv; day-first timestamps)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return _header_matches(head, DMA_HEADER)

    def check_mmsi(self, options: dict[str, Any]) -> bool:
        return True

    def read(self, path: Path, config: Config, options: dict[str, Any]) -> Iterator[RawChunk]:
        layout = CsvLayout(
            columns=DMA_COLUMNS, required=_REQUIRED, prepare=_dma_prepare,
            conversion=_conversion(path, config, options, _DMA_TIME, DMA_COLUMNS),
        )
        return read_delimited(path, config, layout)


class NoaaCsvReader:
    """The ``noaa_csv`` format. See the module docstring for the rules."""

    name = "noaa_csv"
    description = "NOAA MarineCadastre AIS CSV (AIS_YYYY_MM_DD.csv)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return _header_matches(head, NOAA_HEADER)

    def check_mmsi(self, options: dict[str, Any]) -> bool:
        return True

    def read(self, path: Path, config: Config, options: dict[str, Any]) -> Iterator[RawChunk]:
        layout = CsvLayout(
            columns=NOAA_COLUMNS, required=_REQUIRED,
            conversion=_conversion(path, config, options, _NOAA_TIME, NOAA_COLUMNS),
        )
        return read_delimited(path, config, layout)
