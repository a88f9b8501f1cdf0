"""Synthetic input builders shared by tests (and benchmarks): small, deterministic, documented layouts."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl

NOAA_HEADER = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n"


def write_noaa(path: Path, n: int, *, mmsi0: int = 273000000, start: str = "2023-09-01T00:00:00",
               extra: str = "") -> Path:
    """A MarineCadastre-layout CSV with n rows over 10 vessels, one fix a minute each."""
    t0 = dt.datetime.fromisoformat(start)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(NOAA_HEADER)
        for i in range(n):
            v = i % 10
            t = t0 + dt.timedelta(minutes=i // 10)
            fh.write(f"{mmsi0 + v},{t:%Y-%m-%dT%H:%M:%S},{42 + v * 0.01 + i * 1e-5:.5f},{131 + i * 1e-5:.5f},"
                     f"10.5,90.0,91,SHIP {v},IMO9179842,UBYT{v},70,0,120,20,6.5,70,A\n")
        fh.write(extra)
    return path


# --- tracks: synthetic AIS positions for segmentation / gap / port-visit tests ----------------------

_M_PER_DEG_LAT = 111_195.08  # metres per degree of latitude on the EARTH_RADIUS_M sphere


def offset_deg(lat: float, lon: float, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """(lat, lon) moved by metres north/east (flat-Earth; fine for the few km used in tests)."""
    new_lat = lat + north_m / _M_PER_DEG_LAT
    new_lon = lon + east_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


class TrackBuilder:
    """A vessel's positions, built step by step with a clock (all times UTC).

    >>> t = TrackBuilder(273000001, 10.0, 100.0, "2024-01-01T00:00:00")
    >>> t.sail_to(10.0, 100.5, knots=10, every_min=10).stay(hours=6, every_min=30).silent(hours=8)
    >>> df = t.frame()  # POSITIONS columns, record_no 1, 2, ... in creation order

    ``sail_to`` interpolates linearly in lat/lon (the shorter way round the antimeridian) and
    reports the given speed and the course; ``stay`` repeats the current place with ``sog``.
    """

    def __init__(self, mmsi: int, lat: float, lon: float, start: str, *, source_id: str = "test",
                 record_no0: int = 1) -> None:
        self.mmsi, self.lat, self.lon = mmsi, lat, lon
        self.t = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
        self.source_id = source_id
        self.rows: list[dict[str, object]] = []
        self._record_no = record_no0

    def point(self, lat: float | None = None, lon: float | None = None, *, sog: float | None = 0.0,
              cog: float | None = None, after_min: float = 0.0) -> TrackBuilder:
        """One position at the clock (+ ``after_min``), here or at (lat, lon) (which becomes 'here')."""
        self.t += dt.timedelta(minutes=after_min)
        if lat is not None and lon is not None:
            self.lat, self.lon = lat, lon
        self.rows.append({
            "mmsi": self.mmsi, "ts_utc": self.t, "lat_deg": self.lat, "lon_deg": self.lon,
            "sog_knots": sog, "cog_deg": cog, "source_id": self.source_id, "record_no": self._record_no,
        })
        self._record_no += 1
        return self

    def sail_to(self, lat: float, lon: float, *, knots: float, every_min: float = 10.0) -> TrackBuilder:
        lat0, lon0 = self.lat, self.lon
        dlon = (lon - lon0 + 180.0) % 360.0 - 180.0
        dist_m = math.hypot((lat - lat0) * _M_PER_DEG_LAT,
                            dlon * _M_PER_DEG_LAT * math.cos(math.radians((lat + lat0) / 2)))
        hours = dist_m / (knots * 1852.0)
        steps = max(1, math.ceil(hours * 60.0 / every_min))
        cog = math.degrees(math.atan2(dlon * math.cos(math.radians(lat0)), lat - lat0)) % 360.0
        for k in range(1, steps + 1):
            f = k / steps
            self.point(lat0 + f * (lat - lat0), (lon0 + f * dlon + 180.0) % 360.0 - 180.0,
                       sog=knots, cog=cog, after_min=hours * 60.0 / steps)
        return self

    def stay(self, *, hours: float, every_min: float = 10.0, sog: float | None = 0.0) -> TrackBuilder:
        for _ in range(max(1, round(hours * 60.0 / every_min))):
            self.point(sog=sog, after_min=every_min)
        return self

    def silent(self, *, hours: float) -> TrackBuilder:
        """Advance the clock without positions (an AIS gap)."""
        self.t += dt.timedelta(hours=hours)
        return self

    def frame(self) -> pl.DataFrame:
        return positions_frame(self.rows)


def positions_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows (dicts with some POSITIONS columns) as a frame with exactly the POSITIONS schema."""
    from sanctionwatch.schema import POSITIONS

    schema = POSITIONS.polars()
    full = [{name: row.get(name) for name in schema} for row in rows]
    return pl.DataFrame(full, schema=schema)  # type: ignore[arg-type]
