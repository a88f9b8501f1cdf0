"""The bundled demo scenario: deterministic, decodable, on water, and true to its own truth.

The written files are read back independently of sanctionwatch's readers: NMEA with pyais (and a
hand-rolled tag-block check), the CSV with polars through the mapping file. Every check about the
story (dark crossings, the encounter, ANGARA ending at Zhoushan) is computed from those files,
not from the generator's internals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import numpy as np
import polars as pl
import pyais
import pytest
import yaml

from sanctionwatch.demo.places import PLACES
from sanctionwatch.demo.routes import LANES, node_position, route
from sanctionwatch.demo.scenario import ScenarioManifest, build_scenario
from sanctionwatch.demo.vessels import BACKGROUND, principal_cast
from sanctionwatch.geo import haversine_m, land_mask
from sanctionwatch.identifiers import imo_is_valid, mid_of

ANGARA_MMSI = 273210440
NM = 1852.0
# A crossing counts as dark when fewer than this share of its half-hours has any written position.
DARK_SHARE = 0.4


def _ts(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _checksum(body: str) -> str:
    return f"{reduce(operator.xor, body.encode('ascii'), 0):02X}"


@dataclass
class ReadBack:
    """Positions (and names) read back from the written files, by MMSI."""

    t: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lat: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    lon: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    sog: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    names: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    noise: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    positions_per_file: dict[str, int] = field(default_factory=dict)
    statics_per_file: dict[str, int] = field(default_factory=dict)
    csv_rows: int = 0

    def add(self, mmsi: int, t: int, lat: float, lon: float, sog: float) -> None:
        self.t[mmsi].append(t)
        self.lat[mmsi].append(lat)
        self.lon[mmsi].append(lon)
        self.sog[mmsi].append(sog)

    def track(self, mmsi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        order = np.argsort(np.array(self.t[mmsi]), kind="stable")
        return tuple(np.array(getattr(self, k)[mmsi])[order] for k in ("t", "lat", "lon", "sog"))  # type: ignore[return-value]


def _read_nmea(path: Path, rb: ReadBack) -> None:
    """Every line: comment, blank, deliberate noise, or a sentence pyais decodes (tag block checked)."""
    noise: dict[str, list[int]] = defaultdict(list)
    pending: dict[tuple[str, str, str], tuple[int, bytes]] = {}
    positions = statics = 0
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("$GPRMC"):
            body, check = line[1:].split("*")
            assert _checksum(body) == check
            noise["gprmc"].append(n)
            continue
        assert line.startswith("\\"), f"{path.name}:{n}: no tag block"
        tag, sentence = line[1:].split("\\", 1)
        tag_body, tag_check = tag.split("*")
        assert _checksum(tag_body) == tag_check, f"{path.name}:{n}: tag block checksum"
        fields = dict(part.split(":", 1) for part in tag_body.split(","))
        station, t = fields["s"], int(fields["c"])
        body, check = sentence[1:].split("*")
        if _checksum(body) != check:
            noise["bad_checksum"].append(n)
            continue
        parts = body.split(",")
        count, number, seq, channel = int(parts[1]), int(parts[2]), parts[3], parts[4]
        if count == 2 and number == 1:
            key = (station, seq, channel)
            if key in pending:
                noise["orphan_fragment"].append(pending[key][0])
            pending[key] = (n, sentence.encode())
            continue
        if count == 2:
            first = pending.pop((station, seq, channel))
            msg = pyais.decode(first[1], sentence.encode())
        else:
            msg = pyais.decode(sentence.encode())
        if msg.msg_type in (1, 18):
            rb.add(msg.mmsi, t, msg.lat, msg.lon, msg.speed)
            positions += 1
        elif msg.msg_type == 5:
            rb.names[msg.mmsi].append((t, msg.shipname))
            statics += 1
        elif msg.msg_type == 24:
            statics += msg.partno  # parts A and B together are one static report
        else:
            raise AssertionError(f"{path.name}:{n}: unexpected message type {msg.msg_type}")
    for n, _ in pending.values():
        noise["orphan_fragment"].append(n)
    rb.noise[path.name] = {k: sorted(v) for k, v in noise.items()}
    rb.positions_per_file[path.name] = positions
    rb.statics_per_file[path.name] = statics


def _read_csv(csv_path: Path, mapping_path: Path, rb: ReadBack) -> pl.DataFrame:
    mapping = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    assert mapping["format"] == "csv" and mapping["timezone"] == "UTC"
    cols = mapping["columns"]
    df = pl.read_csv(csv_path, infer_schema=False).select(
        pl.col(cols["mmsi"]).cast(pl.Int64).alias("mmsi"),
        pl.col(cols["ts_utc"]).str.strptime(pl.Datetime("us", "UTC"), mapping["timestamp_format"]).alias("ts_utc"),
        pl.col(cols["lat_deg"]).cast(pl.Float64).alias("lat_deg"),
        pl.col(cols["lon_deg"]).cast(pl.Float64).alias("lon_deg"),
        pl.col(cols["sog_knots"]).cast(pl.Float64).alias("sog_knots"),
        pl.col(cols["cog_deg"]).cast(pl.Float64).alias("cog_deg"),
        pl.col(cols["heading_deg"]).cast(pl.Int64).alias("heading_deg"),
        pl.col(cols["name"]).alias("name"),
        pl.col(cols["imo"]).cast(pl.Int64).alias("imo"),
        pl.col(cols["call_sign"]).alias("call_sign"),
        pl.col("Source").alias("source"),
    )
    for row in df.iter_rows(named=True):
        t = int(row["ts_utc"].timestamp())
        rb.add(row["mmsi"], t, row["lat_deg"], row["lon_deg"], row["sog_knots"])
        rb.names[row["mmsi"]].append((t, row["name"]))
    rb.csv_rows = df.height
    return df


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ScenarioManifest:
    return build_scenario(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def satellite(built: ScenarioManifest) -> pl.DataFrame:
    return _read_csv(built.csv_path, built.mapping_path, ReadBack())


@pytest.fixture(scope="module")
def readback(built: ScenarioManifest) -> ReadBack:
    rb = ReadBack()
    for path in built.nmea_paths:
        _read_nmea(path, rb)
    _read_csv(built.csv_path, built.mapping_path, rb)
    return rb


# --- files ----------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = build_scenario(tmp_path / "a", scale=0.2)
    b = build_scenario(tmp_path / "b", scale=0.2)
    digest = {f.name: hashlib.sha256((tmp_path / "a" / f.name).read_bytes()).hexdigest() for f in a.files}
    assert digest == {f.name: hashlib.sha256((tmp_path / "b" / f.name).read_bytes()).hexdigest() for f in b.files}
    assert [f.sha256 for f in a.files] == [f.sha256 for f in b.files]
    c = build_scenario(tmp_path / "c", scale=0.0, seed=7)
    assert c.truth_path.read_bytes() != a.truth_path.read_bytes()


def test_files_are_written_and_labelled_simulated(built: ScenarioManifest) -> None:
    names = {f.name for f in built.files}
    months = ["2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]
    assert {f"ais_coastal_{m}.nmea" for m in months} <= names
    assert {"ais_satellite_provider.csv", "ais_satellite_provider.mapping.yaml", "truth.json", "SCENARIO.md"} <= names
    for f in built.files:
        assert (built.out_dir / f.name).stat().st_size == f.n_bytes
    for path in built.nmea_paths:
        assert path.read_text(encoding="ascii").startswith("# SIMULATED AIS DATA")
    assert "SIMULATED" in built.mapping_path.read_text(encoding="utf-8").splitlines()[0]
    assert "SIMULATED" in built.readme_path.read_text(encoding="utf-8")
    assert built.truth["scenario"]["simulated"] is True
    assert 100_000 <= built.counts["position_messages"] <= 200_000


def test_every_nmea_line_decodes_or_is_declared_noise(built: ScenarioManifest, readback: ReadBack) -> None:
    for f in built.files:
        if f.kind != "nmea":
            continue
        assert readback.noise[f.name] == {k: list(v) for k, v in f.noise_lines.items()}, f.name
        assert readback.positions_per_file[f.name] == f.position_messages
        assert readback.statics_per_file[f.name] == f.static_messages
    declared = [k for f in built.files for k in f.noise_lines]
    assert declared.count("orphan_fragment") == 1 and "bad_checksum" in declared and "gprmc" in declared


def test_satellite_csv_parses_with_its_mapping(built: ScenarioManifest, satellite: pl.DataFrame) -> None:
    assert satellite.height == built.counts["satellite_position_rows"] > 1000
    assert satellite.select(pl.col("mmsi", "ts_utc", "lat_deg", "lon_deg", "name").null_count()).sum_horizontal().item() == 0
    assert set(satellite["source"].unique()) == {"simulated-satellite"}
    assert satellite["ts_utc"].is_sorted()
    assert satellite.filter(pl.col("imo").is_not_null())["imo"].map_elements(imo_is_valid, return_dtype=pl.Boolean).all()


# --- geography ------------------------------------------------------------------------------------


def test_lanes_and_berths_are_on_water() -> None:
    land = land_mask()
    a = np.array([node_position(x) for x, _ in LANES])
    b = np.array([node_position(y) for _, y in LANES])
    assert not np.asarray(land.crosses_land(a[:, 0], a[:, 1], b[:, 0], b[:, 1], step_m=100.0)).any()
    for p in PLACES.values():
        assert not land.contains(p.berth_lat_deg, p.berth_lon_deg), p.key
        assert p.moved_m <= 4000, p.key  # Rajin moves furthest (3.7 km): see SCENARIO.md
    assert route("vostochny", "zhoushan_xinya")[-1] == node_position("zhoushan_xinya")


def test_no_written_track_crosses_land(readback: ReadBack) -> None:
    land = land_mask()
    lat1, lon1, lat2, lon2, total = [], [], [], [], 0
    for mmsi in readback.t:
        _, lat, lon, _ = readback.track(mmsi)
        assert not np.asarray(land.contains(lat, lon)).any(), mmsi
        lat1.append(lat[:-1])
        lon1.append(lon[:-1])
        lat2.append(lat[1:])
        lon2.append(lon[1:])
        total += len(lat)
    crosses = np.asarray(land.crosses_land(np.concatenate(lat1), np.concatenate(lon1),
                                           np.concatenate(lat2), np.concatenate(lon2)))
    assert total > 100_000
    assert not crosses.any(), f"{crosses.sum()} consecutive position pairs cross land"


# --- the story, from the written data -------------------------------------------------------------


def test_angara_and_maria_rajin_trips(built: ScenarioManifest) -> None:
    deliveries = built.truth["rajin_deliveries"]
    window = (_ts("2023-08-01T00:00:00Z"), _ts("2024-02-10T00:00:00Z"))
    angara = [d for d in deliveries if d["mmsi"] == ANGARA_MMSI
              and window[0] <= _ts(d["depart_russia_utc"]) and _ts(d["arrive_russia_utc"]) <= window[1]]
    assert len(angara) >= 11
    maria = [d for d in deliveries if d["vessel"] == "MARIA"]
    assert len(maria) >= 5
    # RUSI: at least 5 round trips Rajin <-> Dunai by ANGARA and MARIA, mid-Aug to 14 Oct 2023.
    rusi = [d for d in deliveries if d["delivered_to"] == "dunai" and _ts(d["arrive_russia_utc"]) <= _ts("2023-10-14T23:59:59Z")]
    assert len(rusi) >= 5
    assert any(d["arrive_russia_utc"].startswith("2023-09-12") and d["mmsi"] == ANGARA_MMSI for d in deliveries)
    for d in deliveries:  # loading at Rajin takes about one to two days
        assert 20 * 3600 <= _ts(d["depart_rajin_utc"]) - _ts(d["arrive_rajin_utc"]) <= 48 * 3600


def _observed_share(t: np.ndarray, d: dict[str, str]) -> float:
    """Share of the trip's half-hours at sea (both crossings) that hold a written position."""
    bins = []
    for a, b in ((d["depart_russia_utc"], d["arrive_rajin_utc"]), (d["depart_rajin_utc"], d["arrive_russia_utc"])):
        bins.extend(range(_ts(a) // 1800, _ts(b) // 1800 + 1))
    seen = set((t // 1800).tolist())
    return sum(b in seen for b in bins) / len(bins)


def test_crossings_are_mostly_dark(built: ScenarioManifest, readback: ReadBack) -> None:
    for mmsi, min_dark in ((ANGARA_MMSI, 8), (principal_cast()[1].mmsi, 5)):
        t = readback.track(mmsi)[0]
        trips = [d for d in built.truth["rajin_deliveries"] if d["mmsi"] == mmsi]
        shares = [_observed_share(t, d) for d in trips]
        assert sum(s < DARK_SHARE for s in shares) >= min_dark, shares
        if mmsi == ANGARA_MMSI:  # a few partly observed trips, so observed voyages exist too
            assert sum(s >= DARK_SHARE for s in shares) >= 2, shares


def test_angara_seen_at_rajin_once_and_ends_at_zhoushan(built: ScenarioManifest, readback: ReadBack) -> None:
    t, lat, lon, _ = readback.track(ANGARA_MMSI)
    rajin = PLACES["rajin"]
    at_rajin = np.asarray(haversine_m(lat, lon, rajin.berth_lat_deg, rajin.berth_lon_deg)) < 2000
    assert at_rajin.sum() >= 3  # the trip with AIS left on at Rajin
    calls = built.truth["vessels"][str(ANGARA_MMSI)]["port_calls"]
    assert calls[-1]["port"] == "zhoushan_xinya" and calls[-1]["depart_utc"] is None
    assert calls[-1]["arrive_utc"].startswith("2024-02-09")
    # The last written positions are the brief AIS window in the Korea Strait, southbound.
    south = lat < 40.0
    k = int(south.sum())
    assert k >= 3 and south[-k:].all()  # nothing written after them
    assert ((lat[-k:] > 33.5) & (lat[-k:] < 36.0)).all() and (np.diff(lat[-k:]) < 0).all()
    assert _ts("2024-02-05T00:00:00Z") < t[-k] and t[-1] < _ts("2024-02-09T00:00:00Z")


def test_encounter_is_in_the_written_data(built: ScenarioManifest, readback: ReadBack) -> None:
    (enc,) = built.truth["encounters"]
    t0, t1 = _ts(enc["start_utc"]), _ts(enc["end_utc"])
    grid = np.arange(t0, t1 + 1, 600)
    tracks = []
    for mmsi in (enc["mmsi_a"], enc["mmsi_b"]):
        t, lat, lon, sog = readback.track(mmsi)
        inside = (t >= t0 - 600) & (t <= t1 + 600)
        assert inside.sum() >= 10
        assert np.max(np.diff(t[inside])) < 3600  # no gap the encounter resampling would refuse
        assert np.median(sog[inside]) < 2.0
        tracks.append((np.interp(grid, t, lat), np.interp(grid, t, lon)))
    close = np.asarray(haversine_m(tracks[0][0], tracks[0][1], tracks[1][0], tracks[1][1])) <= 500
    run = max(len(s) for s in "".join("1" if c else "0" for c in close).split("0"))
    assert (run - 1) * 600 >= 2 * 3600
    coast = land_mask().distance_to_coast_m(enc["lat_deg"], enc["lon_deg"])
    assert coast >= 20 * NM


def test_loitering_and_identity_change(built: ScenarioManifest, readback: ReadBack) -> None:
    loiterer = next(v for v in BACKGROUND if "loiter" in v.tags)
    (event,) = [x for x in built.truth["loitering"] if x["mmsi"] == loiterer.mmsi]
    t, lat, lon, sog = readback.track(loiterer.mmsi)
    inside = (t >= _ts(event["start_utc"])) & (t <= _ts(event["end_utc"]))
    assert t[inside][-1] - t[inside][0] >= 4 * 3600 and (sog[inside] < 2.0).all()
    assert np.min(land_mask().distance_to_coast_m(lat[inside], lon[inside])) >= 20 * NM
    (change,) = built.truth["identity_changes"]
    names = sorted(readback.names[change["mmsi"]])
    switch = _ts(change["effective_utc"])
    assert {n for t, n in names if t < switch} == {change["from_name"]}
    assert {n for t, n in names if t >= switch} == {change["to_name"]}


def test_cast_identifiers() -> None:
    angara, maria = principal_cast()
    assert (angara.mmsi, angara.identity.imo, angara.identity.call_sign) == (273210440, 9179842, "UBYT2")
    assert (maria.identity.imo, maria.identity.call_sign) == (8517839, "UBRH7") and mid_of(maria.mmsi) == 273
    mmsis = [v.mmsi for v in (angara, maria, *BACKGROUND)]
    assert len(set(mmsis)) == len(mmsis)
    flags = {"RU": 273, "KR": 440, "HK": 477, "LR": 636, "PA": 355, "MH": 538, "TG": 671, "CN": 413}
    for v in BACKGROUND:
        assert v.identity.name.startswith("SIM ")
        assert v.identity.imo == 0 or (imo_is_valid(v.identity.imo) and v.identity.imo < 2_000_000)
        mid = mid_of(v.mmsi)
        assert mid == flags[v.flag_iso2] or (v.flag_iso2 == "PA" and mid in {351, 352, 353, 354, 355, 356, 357})


def test_imagery_files_read_cleanly_and_show_angara_dark_at_rajin(built: ScenarioManifest) -> None:
    from sanctionwatch.imagery.inputs import read_detections, read_scenes, read_sightings

    folder = built.out_dir / "imagery"
    scenes = read_scenes(folder / "scenes.geojson")
    assert scenes.quarantine == [] and scenes.table.num_rows == 4
    det = read_detections(folder / "sar_detections.csv", scenes=pl.DataFrame(pl.from_arrow(scenes.table)))
    assert det.layout == "gfw_sar" and det.quarantine == [] and det.table.num_rows == det.records_read
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["detections"]
    angara = [t for t in truth if t["name"] == "ANGARA"]
    assert [t["ais_off"] for t in angara] == [True, False, True]  # Rajin (dark), Vostochny (on), Zhoushan (dark)
    assert sum(t["mmsi"] is None for t in truth) == 4  # one clutter false alarm per scene
    sightings = read_sightings(folder / "sightings.csv")
    assert sightings.table.column("claimed_imo").to_pylist() == [9179842, 9179842]
    rail = pl.read_csv(folder / "rail_counts.csv", try_parse_dates=True)
    before = rail.filter(pl.col("date") < dt.date(2023, 9, 4))["count"].mean()
    after = rail.filter(pl.col("date") >= dt.date(2023, 9, 4))["count"].mean()
    assert before is not None and after is not None and float(after) > 3 * float(before)
    assert all("SIMULATED" in n for n in rail["note"].to_list())
