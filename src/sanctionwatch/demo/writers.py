"""Writing what the receivers kept: monthly NMEA receiver logs and the satellite provider's CSV.

Output is byte-for-byte deterministic. Records are sorted by (time, station, MMSI, kind), text has
fixed number formats, and the noise (GPRMC lines, garbled copies, an orphaned fragment) comes from
a seeded random stream.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sanctionwatch.demo import aivdm
from sanctionwatch.demo.places import RECEIVERS
from sanctionwatch.demo.reception import Reports
from sanctionwatch.demo.vessels import Identity, Vessel

__all__ = ["SATELLITE_CSV", "SATELLITE_MAPPING", "NmeaFile", "write_nmea_logs", "write_satellite_csv"]

SATELLITE_CSV = "ais_satellite_provider.csv"
SATELLITE_MAPPING = "ais_satellite_provider.mapping.yaml"
SATELLITE_SOURCE = "simulated-satellite"
GPRMC_PER_FILE = 3  # receivers' own GNSS sentences that slipped into the log
GARBLED_PER_FILE = 4  # copies of real lines with one payload character corrupted
SEQ_IDS = 9  # multi-part sequence ids cycle 0-8 per station; 9 is kept for the orphaned fragment
ORPHAN_SEQ_ID = 9

_KIND_POSITION, _KIND_STATIC = 0, 1


@dataclass
class NmeaFile:
    """One monthly receiver log and what is in it (line numbers are 1-based)."""

    path: Path
    position_messages: int = 0
    static_messages: int = 0
    noise_lines: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Record:
    t_s: int
    station: int
    mmsi: int
    kind: int
    payloads: list[tuple[str, int]]  # (payload, fill bits) of each message (two for type 24)


def identity_at(vessel: Vessel, t_s: int) -> Identity:
    """The identity a vessel broadcasts at ``t_s`` (names can change mid-scenario)."""
    current = vessel.identities[0][1]
    for start, ident in vessel.identities:
        if _iso_s(start) <= t_s:
            current = ident
    return current


def _iso_s(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())


def _position_records(r: Reports) -> list[_Record]:
    v = r.plan.vessel
    msg_type = 1 if v.transceiver_class == "A" else 18
    out: list[_Record] = []
    for stations in (r.station, r.duplicate_station):
        idx = np.flatnonzero(stations >= 0)
        if len(idx) == 0:
            continue
        payloads, fill = aivdm.position_payloads(
            msg_type, np.full(len(idx), v.mmsi), r.t_s[idx], r.lat_deg[idx], r.lon_deg[idx],
            r.sog_knots[idx], r.cog_deg[idx], r.heading_deg[idx], r.nav_status[idx])
        out.extend(_Record(int(r.t_s[i]), int(stations[i]), v.mmsi, _KIND_POSITION, [(p, fill)])
                   for i, p in zip(idx, payloads, strict=True))
    return out


def _static_records(r: Reports) -> list[_Record]:
    v = r.plan.vessel
    t = r.static_t_s
    n = len(t)
    if n == 0:
        return []
    idents = [identity_at(v, int(x)) for x in t]
    mmsi = np.full(n, v.mmsi)
    dims = np.array([[i.to_bow_m, i.to_stern_m, i.to_port_m, i.to_starboard_m] for i in idents], dtype=np.int64)
    ship_type = np.array([i.ship_type for i in idents], dtype=np.int64)
    names = [i.name for i in idents]
    calls = [i.call_sign for i in idents]
    if v.transceiver_class == "B":
        (pa, fa), (pb, fb) = aivdm.static_b_payloads(mmsi, names, calls, ship_type, dims)
        return [_Record(int(t[k]), int(r.static_station[k]), v.mmsi, _KIND_STATIC, [(pa[k], fa), (pb[k], fb)])
                for k in range(n)]
    voyage = sorted(r.plan.voyage_data, key=lambda x: x[0])
    starts = np.array([x[0] for x in voyage], dtype=np.int64)
    j = np.maximum(np.searchsorted(starts, t, side="right") - 1, 0)
    dest = [voyage[k][1] for k in j]
    draught = np.array([voyage[k][2] for k in j])
    eta = np.array([_eta_fields(voyage[k][3]) for k in j], dtype=np.int64)
    imo = np.array([i.imo for i in idents], dtype=np.int64)
    payloads, fill = aivdm.static_a_payloads(mmsi, imo, calls, names, ship_type, dims, eta, draught, dest)
    return [_Record(int(t[k]), int(r.static_station[k]), v.mmsi, _KIND_STATIC, [(payloads[k], fill)])
            for k in range(n)]


def _eta_fields(eta_s: int | None) -> tuple[int, int, int, int]:
    if eta_s is None:
        return aivdm.ETA_NOT_AVAILABLE
    d = dt.datetime.fromtimestamp(eta_s, dt.UTC)
    return d.month, d.day, d.hour, d.minute


def _month_starts(first_s: int, last_s: int) -> list[tuple[int, str]]:
    """(start unix s, "YYYY-MM") of every UTC month from first_s to last_s."""
    d = dt.datetime.fromtimestamp(first_s, dt.UTC).replace(day=1, hour=0, minute=0, second=0)
    out = []
    while int(d.timestamp()) <= last_s:
        out.append((int(d.timestamp()), d.strftime("%Y-%m")))
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


def _header(month: str, seed: int) -> list[str]:
    stations = "; ".join(f"{r.station} ({r.lat_deg:.3f} N {r.lon_deg:.3f} E)" for r in RECEIVERS)
    return [
        "# SIMULATED AIS DATA -- sanctionwatch demo scenario. Not real reception: every track and timestamp",
        "# is invented on real geography (see SCENARIO.md next to this file).",
        f"# Terrestrial receiver log {month}: NMEA 0183 !AIVDM with NMEA 4.0 tag blocks (s: station, c: unix s UTC).",
        f"# Receivers: {stations}. Generator seed {seed}.",
    ]


def _gprmc(rx_index: int, t_s: int) -> str:
    rx = RECEIVERS[rx_index]
    d = dt.datetime.fromtimestamp(t_s, dt.UTC)
    lat_min = (rx.lat_deg % 1) * 60
    lon_min = (rx.lon_deg % 1) * 60
    body = (f"GPRMC,{d:%H%M%S}.00,A,{int(rx.lat_deg):02d}{lat_min:06.3f},N,{int(rx.lon_deg):03d}{lon_min:06.3f},E,"
            f"0.0,0.0,{d:%d%m%y},,,A")
    return f"${body}*{aivdm.nmea_checksum(body)}"


def _garble(line: str, rng: np.random.Generator) -> str:
    """Corrupt one payload character and keep the old checksum (a bit error on air)."""
    head, sentence = line.rsplit("\\", 1)
    fields = sentence.split(",")
    payload = fields[5]
    k = int(rng.integers(0, len(payload)))
    new = "0" if payload[k] != "0" else "1"
    fields[5] = payload[:k] + new + payload[k + 1:]
    return f"{head}\\{','.join(fields)}"


def write_nmea_logs(out_dir: Path, reports: list[Reports], seed: int) -> list[NmeaFile]:
    """Write ``ais_coastal_<YYYY-MM>.nmea`` files; returns what each contains."""
    records: list[_Record] = []
    for r in reports:
        records.extend(_position_records(r))
        records.extend(_static_records(r))
    records.sort(key=lambda x: (x.t_s, x.station, x.mmsi, x.kind))
    rng = np.random.default_rng([seed, zlib.crc32(b"nmea noise")])
    by_month: dict[str, list[_Record]] = {}
    if records:
        months = _month_starts(records[0].t_s, records[-1].t_s)
        starts = np.array([m[0] for m in months])
        index = np.searchsorted(starts, np.array([rec.t_s for rec in records]), side="right") - 1
        for rec, k in zip(records, index, strict=True):
            by_month.setdefault(months[k][1], []).append(rec)
    seq = [0] * len(RECEIVERS)
    files = []
    for i, month in enumerate(sorted(by_month)):
        files.append(_write_month(out_dir, month, by_month[month], seq, rng, seed, orphan=(i == 0)))
    return files


def _write_month(out_dir: Path, month: str, records: list[_Record], seq: list[int],
                 rng: np.random.Generator, seed: int, *, orphan: bool) -> NmeaFile:
    info = NmeaFile(out_dir / f"ais_coastal_{month}.nmea")
    lines: list[tuple[str, str]] = []  # (kind, text): kind "msg" or a noise reason
    multipart: list[tuple[int, int, str]] = []  # (line index, seq id, channel) of multi-part messages
    for rec in records:
        tag = aivdm.tag_block(RECEIVERS[rec.station].station, rec.t_s)
        channel = "AB"[(rec.t_s + rec.mmsi) % 2]
        for payload, fill in rec.payloads:
            seq_id = None
            if len(payload) > 60:
                seq_id = seq[rec.station]
                seq[rec.station] = (seq[rec.station] + 1) % SEQ_IDS
                multipart.append((len(lines), seq_id, channel))
            lines.extend(("msg", f"{tag}{s}") for s in aivdm.sentences(payload, fill, channel, seq_id))
        if rec.kind == _KIND_POSITION:
            info.position_messages += 1
        else:
            info.static_messages += 1
    if orphan and multipart:
        _make_orphan(lines, multipart, rng)
        info.static_messages -= 1
    noise = _noise(lines, records, rng)
    # Insert noise from the end so earlier indices stay valid.
    for at, kind, text in sorted(noise, key=lambda x: (x[0], x[1]), reverse=True):
        lines.insert(at, (kind, text))
    header = _header(month, seed)
    out = [*header, *(text for _, text in lines)]
    for n, (kind, _) in enumerate(lines, start=len(header) + 1):
        if kind != "msg":
            info.noise_lines.setdefault(kind, []).append(n)
    info.path.write_text("\n".join(out) + "\n", encoding="ascii", newline="\n")
    return info


def _noise(lines: list[tuple[str, str]], records: list[_Record],
           rng: np.random.Generator) -> list[tuple[int, str, str]]:
    """Noise lines to insert, as (insert-before index, reason, text)."""
    out: list[tuple[int, str, str]] = []
    n = len(lines)
    for _ in range(GPRMC_PER_FILE):
        at = int(rng.integers(0, n))
        t_s = records[min(at, len(records) - 1)].t_s
        out.append((at, "gprmc", _gprmc(int(rng.integers(0, len(RECEIVERS))), t_s)))
    single = [i for i, (kind, text) in enumerate(lines) if kind == "msg" and "!AIVDM,1,1,," in text]
    for i in rng.choice(single, size=min(GARBLED_PER_FILE, len(single)), replace=False):
        out.append((int(i) + 1, "bad_checksum", _garble(lines[int(i)][1], rng)))
    return out


def _make_orphan(lines: list[tuple[str, str]], multipart: list[tuple[int, int, str]],
                 rng: np.random.Generator) -> None:
    """Drop part 2 of one two-part message, so its part 1 waits for a partner that never comes.

    The orphan gets sequence id 9, which normal traffic never uses (it cycles 0-8), so no reader
    can pair it with another message's part 2.
    """
    at = multipart[int(rng.integers(0, len(multipart)))][0]
    head, sentence = lines[at][1].rsplit("\\", 1)
    body = sentence[1:].split("*")[0].split(",")
    body[3] = str(ORPHAN_SEQ_ID)
    text = ",".join(body)
    lines[at] = ("orphan_fragment", f"{head}\\!{text}*{aivdm.nmea_checksum(text)}")
    del lines[at + 1]


def write_satellite_csv(out_dir: Path, reports: list[Reports]) -> tuple[Path, int]:
    """The satellite provider's export: one row per position, with the static data merged in."""
    rows: list[tuple[int, int, str]] = []
    for r in reports:
        v = r.plan.vessel
        for i in np.flatnonzero(r.satellite):
            t_s = int(r.t_s[i])
            ident = identity_at(v, t_s)
            heading = "" if r.heading_deg[i] == 511 else str(int(r.heading_deg[i]))
            imo = str(ident.imo) if ident.imo else ""
            row = (f"{v.mmsi},{dt.datetime.fromtimestamp(t_s, dt.UTC):%Y-%m-%dT%H:%M:%SZ},"
                   f"{r.lat_deg[i]:.6f},{r.lon_deg[i]:.6f},{r.sog_knots[i]:.1f},{r.cog_deg[i]:.1f},{heading},"
                   f"{ident.name},{imo},{ident.call_sign},{ident.ship_type},{SATELLITE_SOURCE}")
            rows.append((t_s, v.mmsi, row))
    rows.sort()
    path = out_dir / SATELLITE_CSV
    header = "MMSI,Time,Lat,Lon,SOG,COG,Heading,Name,IMO,CallSign,ShipType,Source"
    path.write_text("\n".join([header, *(r[2] for r in rows)]) + "\n", encoding="ascii", newline="\n")
    return path, len(rows)


def write_satellite_mapping(out_dir: Path) -> Path:
    path = out_dir / SATELLITE_MAPPING
    path.write_text(
        "# SIMULATED satellite AIS provider export (sanctionwatch demo scenario; see SCENARIO.md).\n"
        f"# Column mapping for {SATELLITE_CSV}; every row's Source column says '{SATELLITE_SOURCE}'.\n"
        "format: csv\n"
        "columns: {mmsi: MMSI, ts_utc: Time, lat_deg: Lat, lon_deg: Lon, sog_knots: SOG, cog_deg: COG, "
        "heading_deg: Heading, name: Name, imo: IMO, call_sign: CallSign}\n"
        'timestamp_format: "%Y-%m-%dT%H:%M:%SZ"\n'
        "timezone: UTC\n",
        encoding="ascii", newline="\n")
    return path
