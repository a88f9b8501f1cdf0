"""The list formats sanctionwatch reads, and how a file's format is recognised."""

from __future__ import annotations

from pathlib import Path

from sanctionwatch.screening.lists.base import ListError, ListLoader
from sanctionwatch.screening.lists.eu import EuFtmCsvLoader
from sanctionwatch.screening.lists.ftm import FtmJsonLoader
from sanctionwatch.screening.lists.ofac import OfacCsvLoader
from sanctionwatch.screening.lists.ofac_xml import OfacXmlLoader
from sanctionwatch.screening.lists.un import UnXmlLoader
from sanctionwatch.screening.lists.watchlist import WatchlistCsvLoader

__all__ = ["LOADERS", "choose_loader"]

# Order matters only for sniffing: the most specific formats first, the analyst CSV last.
LOADERS: dict[str, ListLoader] = {
    loader.name: loader
    for loader in (OfacXmlLoader(), UnXmlLoader(), FtmJsonLoader(), EuFtmCsvLoader(), OfacCsvLoader(),
                   WatchlistCsvLoader())
}

_SNIFF_BYTES = 16384


def choose_loader(path: Path, fmt: str | None = None) -> ListLoader:
    """The loader named by ``fmt``, or the one whose sniff accepts the file's first bytes."""
    if fmt is not None:
        try:
            return LOADERS[fmt]
        except KeyError:
            raise ListError(path, f"unknown list format {fmt!r}; known: {', '.join(LOADERS)}") from None
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as err:
        raise ListError(path, f"cannot read: {err.strerror or err}") from err
    for loader in LOADERS.values():
        if loader.sniff(path, head):
            return loader
    raise ListError(
        path,
        "cannot tell which list format this is; give --format (one of "
        f"{', '.join(LOADERS)}), or for your own watchlist use a CSV with a header "
        "'name,imo,mmsi,note'",
    )
