"""The demo's lists: a real OFAC SDN excerpt and a SIMULATED analyst watchlist.

``lists/ofac/`` holds the OFAC SDN rows (sdn.csv, alt.csv, add.csv, byte for byte; US public
domain) of the ships and owners named in facts.md: ANGARA, MARIA, LADY R, MAIA-1 and their
sister ships, and M LEASING LLC, TRANSMORFLOT LLC and IBEX SHIPPING INC. The demo screens its
simulated AIS against these real entries through the same loader as a full OFAC download
(``scripts/build_demo_lists.py`` rebuilds the excerpt).

``lists/analyst-watchlist.csv`` is invented, in the plain CSV format analysts write themselves:
leads on two simulated background ships, one under the name it had before its rename (so the
match runs through a former name and the identity-change event), one by MMSI only.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["WATCHLIST_NAME", "write_lists"]

WATCHLIST_NAME = "analyst-watchlist.csv"

_WATCHLIST = """\
name,imo,mmsi,flag,note
SIM VOLNA,,,Russia,"SIMULATED lead: general cargo photographed at Rajin (simulated image, Oct 2023)"
,,671226100,,"SIMULATED lead: the other ship in a suspected dark ship-to-ship transfer"
"""


def write_lists(out_dir: Path) -> list[Path]:
    """Write the demo's list files under ``out_dir/lists`` and return their paths."""
    target = out_dir / "lists"
    (target / "ofac").mkdir(parents=True, exist_ok=True)
    source = resources.files("sanctionwatch.data").joinpath("demo", "ofac")
    paths = []
    for name in ("sdn.csv", "alt.csv", "add.csv"):
        with resources.as_file(source.joinpath(name)) as src:
            shutil.copyfile(src, target / "ofac" / name)
        paths.append(target / "ofac" / name)
    watchlist = target / WATCHLIST_NAME
    watchlist.write_text(_WATCHLIST, encoding="utf-8")
    paths.append(watchlist)
    return paths
