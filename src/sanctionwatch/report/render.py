"""Rendering a self-contained page: the Jinja2 environment, the inlined assets, the atomic write."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from sanctionwatch import __version__
from sanctionwatch.report.assets import json_script_text, leaflet_css, leaflet_js, report_css, report_js
from sanctionwatch.report.context import fmt_time
from sanctionwatch.store import atomic_output

__all__ = ["render_page", "write_page"]


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.0f}%"


def _compact(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit] + " [...]"


def _time(value: Any) -> str:
    return fmt_time(value) if isinstance(value, dt.datetime) else ("" if value is None else str(value))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sanctionwatch.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=_num, pct=_pct, time=_time, compact=_compact, json_script=json_script_text)
    return env


def render_page(template: str, **context: Any) -> str:
    """The page from ``template`` with Leaflet, the report script and the stylesheets inlined."""
    env = _environment()
    return env.get_template(template).render(
        leaflet_js=leaflet_js(), leaflet_css=leaflet_css(), report_js=report_js(), report_css=report_css(),
        version=__version__, generated_utc=fmt_time(dt.datetime.now(dt.UTC)), **context)


def write_page(out_path: Path, text: str) -> int:
    """Write atomically (a temporary file renamed on success); returns the size in bytes."""
    out_path = Path(out_path)
    data = text.encode("utf-8")
    with atomic_output(out_path) as tmp:
        tmp.write_bytes(data)
    return len(data)
