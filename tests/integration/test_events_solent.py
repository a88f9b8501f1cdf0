"""Real data: the dense Solent harbour file (MIT, tests/data/ais) through ingest and `run`.

What we checked by hand, and pin here: the port visits land at real ports of the packaged
gazetteer, Portsmouth Harbour (NGA WPI 35600) for the many vessels moored in the harbour and
Cowes Harbour (WPI 35550); the file's one impossible position (MMSI 245188000 at longitude
54.83, noted in shared/data/SOURCES.md) is reported as an impossible jump.
"""

from __future__ import annotations

import json

from sanctionwatch.engines.local import run_local
from sanctionwatch.ingest.pipeline import ingest_file
from sanctionwatch.store import Project
from tests.conftest import REPO, TEST_DATA

SOLENT = TEST_DATA / "ais" / "stonesoup_solent_ais_20160112.csv"
MAPPING = REPO / "src" / "sanctionwatch" / "data" / "mappings" / "solent_stonesoup.yaml"


def test_solent_visits_land_at_real_solent_ports(tmp_path):
    with Project.init(tmp_path / "p") as p:
        r = ingest_file(p, SOLENT, mapping=MAPPING)
        assert r.records_read == 18_623
        run_local(p)
        visits = p.query("SELECT area_id, count(DISTINCT mmsi) AS v FROM events "
                         "WHERE event_type = 'port_visit' GROUP BY 1 ORDER BY 1")
        assert set(visits.get_column("area_id")) <= {"wpi-35600", "wpi-35550"}  # Portsmouth, Cowes
        assert dict(visits.iter_rows())["wpi-35600"] >= 30
        jumps = p.query("SELECT mmsi, attrs_json FROM events WHERE event_type = 'spoofing'")
        kinds = {(m, json.loads(a)["kind"]) for m, a in jumps.iter_rows()}
        assert (245188000, "impossible_jump") in kinds
