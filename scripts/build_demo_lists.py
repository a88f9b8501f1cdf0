"""Rebuild the demo's OFAC list excerpt (src/sanctionwatch/data/demo/ofac/) from the real SDN files.

The demo screens its simulated AIS against real list rows: the OFAC SDN entries of the ships
and owners named in ../shared/data/scenario/facts.md, copied byte for byte (lines, CRLF, the
final 0x1A byte) from ../shared/data/sanctions/ofac/. OFAC data is a US government work
(public domain). Run from the repository root: ``python scripts/build_demo_lists.py``.
"""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sanctions" / "ofac"
OUT = Path(__file__).resolve().parents[1] / "src" / "sanctionwatch" / "data" / "demo" / "ofac"

# ent_num of: ANGARA, MARIA, LADY R, MAIA-1, ADLER, ASCALON, LADY MARIIA, CAPTAIN YAKUBOVICH,
# ARKADIY CHERNYSHEV (vessels); M LEASING LLC, TRANSMORFLOT LLC, IBEX SHIPPING INC (owners).
ENTITIES = {"37059", "46773", "37095", "37098", "37057", "37060", "37089", "46771", "46775",
            "37065", "37049", "46768"}


def excerpt(name: str) -> int:
    raw = (SHARED / name).read_bytes()
    body = raw.rstrip(b"\x1a")
    lines = [ln for ln in body.split(b"\r\n") if ln.split(b",", 1)[0].decode() in ENTITIES]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(b"\r\n".join(lines) + b"\r\n\x1a")
    return len(lines)


if __name__ == "__main__":
    for f in ("sdn.csv", "alt.csv", "add.csv"):
        print(f, excerpt(f))  # noqa: T201  (a script's report)
