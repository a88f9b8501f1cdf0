"""`sanctionwatch run`: events computed from the store, incrementally and idempotently."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from typer.testing import CliRunner

from sanctionwatch.cli import app
from sanctionwatch.engines.local import run_local
from sanctionwatch.ingest.pipeline import ingest_file
from sanctionwatch.store import Project
from tests.builders import NOAA_HEADER

VOSTOCHNY = (42.74, 133.06)  # the packaged watched area 'vostochny-port'


def write_track(path: Path, mmsi: int, start: dt.datetime, legs: list[tuple[float, float, int]],
                origin: tuple[float, float] | None = None) -> Path:
    """NOAA CSV, one fix every 10 min, sailing in a straight line to each (lat, lon) in the given minutes."""
    from sanctionwatch.geo import haversine_m

    t = start
    lat0, lon0 = origin or legs[0][:2]
    with path.open("w") as fh:
        fh.write(NOAA_HEADER)
        for lat, lon, minutes in legs:
            steps = max(minutes // 10, 1)
            sog = haversine_m(lat0, lon0, lat, lon) / 1852 / (minutes / 60)
            for k in range(1, steps + 1):
                la, lo = lat0 + (lat - lat0) * k / steps, lon0 + (lon - lon0) * k / steps
                fh.write(f"{mmsi},{t:%Y-%m-%dT%H:%M:%S},{la:.5f},{lo:.5f},{sog:.1f},225,225,SHIP,,,70,0,100,20,5,70,A\n")
                t += dt.timedelta(minutes=10)
            lat0, lon0 = lat, lon
    return path


def events_of(project: Project) -> dict[str, tuple]:
    df = project.query("SELECT event_id, event_type, mmsi, start_utc FROM events ORDER BY event_id")
    return {r[0]: r[1:] for r in df.iter_rows()}


def test_run_is_incremental_and_idempotent(tmp_path):
    t0 = dt.datetime(2023, 9, 1)
    out_to_sea = [(*VOSTOCHNY, 8 * 60), (42.55, 132.8, 120)]  # 8 h at berth, then 2 h out
    a = write_track(tmp_path / "a.csv", 273000001, t0, out_to_sea)
    with Project.init(tmp_path / "p") as p:
        ingest_file(p, a)
        first = run_local(p)
        assert first.vessels_processed == 1 and first.events_by_type.get("port_visit") == 1
        before = events_of(p)
        again = run_local(p)
        assert again.vessels_processed == 0 and events_of(p) == before
        # New data for another vessel (and a later, gapped track of the first): only they are re-computed.
        b = write_track(tmp_path / "b.csv", 273000002, t0, [(42.3, 132.3, 60)], origin=(42.35, 132.3))
        c = write_track(tmp_path / "c.csv", 273000001, t0 + dt.timedelta(hours=20), [(42.3, 132.3, 60)],
                        origin=(42.35, 132.35))
        ingest_file(p, b)
        ingest_file(p, c)
        third = run_local(p)
        assert third.vessels_processed == 2
        gaps = p.query("SELECT mmsi, attrs_json FROM events WHERE event_type = 'ais_gap'")
        assert gaps.get_column("mmsi").to_list() == [273000001]  # silent from ~10 h to 20 h: one gap
        assert set(before) <= set(events_of(p))  # the visit keeps its id
        total = p.query("SELECT count(*), count(DISTINCT event_id) FROM events").row(0)
        assert total[0] == total[1]
        evidence = p.query("SELECT unnest(evidence) AS e FROM events").get_column("e")
        assert all(e["source_id"] and e["record_no"] >= 2 for e in evidence)


def test_changed_settings_recompute_everything(tmp_path):
    t0 = dt.datetime(2023, 9, 1)
    a = write_track(tmp_path / "a.csv", 273000001, t0, [(42.3, 132.3, 60)], origin=(42.35, 132.3))
    b = write_track(tmp_path / "b.csv", 273000001, t0 + dt.timedelta(hours=8), [(42.2, 132.3, 60)],
                    origin=(42.25, 132.3))
    with Project.init(tmp_path / "p") as p:
        ingest_file(p, a)
        ingest_file(p, b)
        assert run_local(p).events_by_type == {"ais_gap": 1}
    with Project.open(tmp_path / "p", overrides={"events.gap_min_hours": "12"}) as p:
        r = run_local(p)
        assert r.full and r.vessels_processed == 1 and r.events_by_type == {}
        assert p.query("SELECT count(*) FROM events").item() == 0


def test_cli_run_and_events(tmp_path):
    runner = CliRunner()
    a = write_track(tmp_path / "a.csv", 273000001, dt.datetime(2023, 9, 1),
                    [(*VOSTOCHNY, 6 * 60), (42.55, 132.8, 120)])
    d = str(tmp_path / "p")
    assert runner.invoke(app, ["init", d]).exit_code == 0
    assert runner.invoke(app, ["events", d]).exit_code == 1  # nothing computed yet
    assert runner.invoke(app, ["ingest", d, str(a)]).exit_code == 0
    res = runner.invoke(app, ["run", d])
    assert res.exit_code == 0 and "port_visit" in res.output
    out = tmp_path / "ev.csv"
    res = runner.invoke(app, ["events", d, "--type", "port_visit", "--vessel", "273000001", "-o", str(out)])
    assert res.exit_code == 0 and "vostochny-port" in res.output
    import polars as pl

    exported = pl.read_csv(out)
    assert exported.height == 1  # evidence written as "source_id:line" references
    assert all(re.fullmatch(r"[0-9a-f]{16}:\d+", ref) for ref in exported["evidence"][0].split())
    assert runner.invoke(app, ["run", d]).output.count("No new data") == 1
    res = runner.invoke(app, ["voyages", d, "--from", "russia_far_east_ports", "--to", "dprk_ports"])
    assert res.exit_code == 0 and "0 voyages between russia_far_east_ports and dprk_ports" in res.output
    assert runner.invoke(app, ["voyages", d, "--from", "atlantis", "--to", "dprk_ports"]).exit_code == 2
