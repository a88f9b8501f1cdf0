"""Which reader handles a file: by ``--format``, by ``--mapping``, or by sniffing its head.

Built-in readers and plugins use the same registry (:func:`register_reader`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sanctionwatch.ingest.base import InputError, Reader

__all__ = ["choose_reader", "detect_format", "reader_names", "register_reader"]

SNIFF_BYTES = 64 * 1024

_FACTORIES: dict[str, Callable[[], Reader]] = {}


def register_reader(name: str, factory: Callable[[], Reader]) -> None:
    """Register a reader under ``name`` (``--format name``); later registrations win."""
    _FACTORIES[name] = factory


def _builtin() -> None:
    if _FACTORIES:
        return
    from sanctionwatch.ingest.csv_formats import DmaCsvReader, NoaaCsvReader
    from sanctionwatch.ingest.nmea import NmeaReader

    register_reader("nmea", NmeaReader)
    register_reader("dma_csv", DmaCsvReader)
    register_reader("noaa_csv", NoaaCsvReader)


def reader_names() -> list[str]:
    _builtin()
    return sorted(_FACTORIES)


def detect_format(path: Path) -> str:
    """The name of the reader that recognises ``path``; InputError when none (or several) do."""
    _builtin()
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from err
    if not head.strip():
        raise InputError(path, "file is empty")
    hits = [name for name, make in _FACTORIES.items() if make().sniff(path, head)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        first = head.splitlines()[0][:120].decode("utf-8", "replace") if head else ""
        raise InputError(
            path,
            f"cannot tell the format (first line: {first!r}); known formats: {', '.join(reader_names())}. "
            "Pass --format NAME, or --mapping FILE for another CSV/Parquet layout",
            line=1,
        )
    raise InputError(path, f"ambiguous format, matches {hits}; pass --format")


def choose_reader(
    path: Path, *, format: str | None = None, mapping: Path | str | None = None
) -> tuple[Reader, dict[str, Any]]:
    """The reader for ``path`` and its options."""
    if mapping is not None:
        from sanctionwatch.ingest.mapping import MappedReader

        mapping = Path(mapping)
        reader: Reader = MappedReader.from_file(mapping)
        # The mapping decides what the rows mean, so its exact content is part of the provenance.
        text = mapping.read_bytes()
        return reader, {"mapping": str(mapping.resolve()), "mapping_sha256": hashlib.sha256(text).hexdigest(),
                        "mapping_text": text.decode("utf-8", "replace")}
    _builtin()
    name = format or detect_format(path)
    if name not in _FACTORIES:
        raise InputError(path, f"unknown format {name!r}; known formats: {', '.join(reader_names())}")
    return _FACTORIES[name](), {}
