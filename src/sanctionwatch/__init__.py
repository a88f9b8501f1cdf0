"""sanctionwatch: monitor sanctions-evasion shipping from open data."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sanctionwatch")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "show_versions"]


def show_versions() -> str:
    """Versions of sanctionwatch, Python and the libraries it relies on (for bug reports)."""
    import platform
    from importlib.metadata import version as v

    lines = [f"sanctionwatch {__version__}", f"python {platform.python_version()} ({platform.platform()})"]
    for dist in ("pyais", "polars", "pyarrow", "duckdb", "shapely", "h3", "pyproj", "typer", "rich"):
        try:
            lines.append(f"{dist} {v(dist)}")
        except PackageNotFoundError:
            lines.append(f"{dist} (not installed)")
    return "\n".join(lines)
