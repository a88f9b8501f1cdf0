"""What a self-contained HTML page inlines: Leaflet (JS, CSS with its images as data: URIs), the
report's own script and stylesheet, and JSON data blocks.

Leaflet is the copy bundled from npm under ``sanctionwatch/web/static/vendor/leaflet`` (see its
``VENDOR.json``); nothing is fetched at run time. Its source-map comment is dropped (a browser
would otherwise try to load ``leaflet.js.map`` when developer tools are open).
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["json_script_text", "leaflet_css", "leaflet_js", "report_css", "report_js"]

_LEAFLET = ("sanctionwatch.web", "static/vendor/leaflet")
_TEMPLATES = "sanctionwatch.report"


def _leaflet_file(name: str) -> bytes:
    return resources.files(_LEAFLET[0]).joinpath(f"{_LEAFLET[1]}/{name}").read_bytes()


def _no_source_map(text: str) -> str:
    return re.sub(r"^\s*//# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)


def _script_safe(text: str, tag: str) -> str:
    # an inlined script or stylesheet must not close its own element early
    if re.search(rf"</{tag}", text, flags=re.IGNORECASE):
        raise ValueError(f"inlined asset contains '</{tag}'")
    return text


@cache
def leaflet_js() -> str:
    return _script_safe(_no_source_map(_leaflet_file("leaflet.js").decode("utf-8")), "script")


@cache
def leaflet_css() -> str:
    css = _leaflet_file("leaflet.css").decode("utf-8")

    def inline(m: re.Match[str]) -> str:
        name = m.group(1)
        data = base64.b64encode(_leaflet_file(name)).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", inline, css)
    # old Internet Explorer's VML 'behavior: url(#default#VML)': dead, and the only url() left not data:
    css = re.sub(r"behavior:\s*url\(#default#VML\);?", "", css)
    return _script_safe(css, "style")


@cache
def report_js() -> str:
    text = resources.files(_TEMPLATES).joinpath("templates/report.js").read_text(encoding="utf-8")
    return _script_safe(text, "script")


@cache
def report_css() -> str:
    text = resources.files(_TEMPLATES).joinpath("templates/report.css").read_text(encoding="utf-8")
    return _script_safe(text, "style")


def json_script_text(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped as
    ``\\u003c``... (valid JSON, and no ``</script>`` or ``<!--`` can end the block early)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
