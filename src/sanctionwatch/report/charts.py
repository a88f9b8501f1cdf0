"""Inline SVG charts for the report and the dossier: a vessel timeline, voyage counts per month
(observed and inferred stacked) and a site's activity series with its spikes and changepoints.

Plain SVG strings (no JavaScript, no external fonts), so they print and show in any browser or
e-mail client; every mark has a ``<title>`` (the browser's tooltip) with its figures, and CSS
classes (``tl-port_visit``, ``bar-inferred``, ``act-spike``...) that the stylesheet colours.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["ActivityPoint", "TimelineItem", "activity_svg", "monthly_bars_svg", "timeline_svg"]

_FONT = 11


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def _time_ticks(t0: dt.datetime, t1: dt.datetime, max_ticks: int = 8) -> tuple[list[dt.datetime], str]:
    """At most ``max_ticks`` round instants in [t0, t1] (hours, days, weeks, months or years by span)
    and their strftime format."""
    days = (t1 - t0).total_seconds() / 86400.0
    ticks: list[dt.datetime] = []
    if days <= 4:
        hours = next((h for h in (1, 2, 3, 6, 12, 24) if days * 24 / h <= max_ticks), 24)
        t = t0.replace(minute=0, second=0, microsecond=0)
        t -= dt.timedelta(hours=t.hour % hours)
        while t <= t1:
            if t >= t0:
                ticks.append(t)
            t += dt.timedelta(hours=hours)
        return ticks, "%m-%d %H:%M" if hours < 24 else "%m-%d"
    if days <= 70:
        step = next((d for d in (1, 2, 7, 14) if days / d <= max_ticks), 14)
        t = t0.replace(hour=0, minute=0, second=0, microsecond=0)
        if step >= 7:
            t -= dt.timedelta(days=t.weekday())
        while t <= t1:
            if t >= t0:
                ticks.append(t)
            t += dt.timedelta(days=step)
        return ticks, "%Y-%m-%d"
    months = next((m for m in (1, 2, 3, 6, 12) if days / 30.4 / m <= max_ticks), 12 * math.ceil(days / 365 / max_ticks))
    y, m = t0.year, t0.month
    while True:
        t = dt.datetime(y, m, 1, tzinfo=dt.UTC)
        if t > t1:
            break
        if t >= t0 and (y * 12 + m - 1) % months == 0:
            ticks.append(t)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return ticks, "%Y" if months >= 12 else "%Y-%m"


@dataclass(frozen=True)
class TimelineItem:
    """One mark on a timeline: an interval (end > start) or an instant, in a named lane."""

    lane: str
    kind: str  # css suffix: port_visit, sighting, ais_gap, voyage, voyage_inferred, encounter, ...
    start: dt.datetime
    end: dt.datetime | None
    label: str
    highlight: bool = False  # one of the finding's own events


_LEGEND = (
    ("port_visit", "port visit (AIS)"), ("sighting", "sighting / imagery"), ("ais_gap", "AIS gap"),
    ("voyage", "voyage (AIS)"), ("voyage_inferred", "voyage inferred from a gap"),
    ("encounter", "encounter"), ("loitering", "loitering"), ("identity_change", "identity change"),
    ("spoofing", "spoofing indicator"), ("detection", "satellite detection"),
)


def timeline_svg(items: Sequence[TimelineItem], t0: dt.datetime, t1: dt.datetime, *,
                 width: int = 960, title: str = "Timeline") -> str:
    """Lanes of marks over [t0, t1]; the lanes appear in the order of their first item."""
    if t1 <= t0:
        t1 = t0 + dt.timedelta(hours=1)
    lanes: list[str] = []
    for it in items:
        if it.lane not in lanes:
            lanes.append(it.lane)
    left, right, top, lane_h = 190, 12, 22, 20
    height = top + lane_h * max(len(lanes), 1) + 40
    plot_w = width - left - right
    span = (t1 - t0).total_seconds()

    def x(t: dt.datetime) -> float:
        return left + plot_w * min(max((t - t0).total_seconds() / span, 0.0), 1.0)

    out = [f'<svg class="sw-chart sw-timeline" viewBox="0 0 {width} {height}" width="100%" '
           f'role="img" aria-label="{_e(title)}">',
           f"<title>{_e(title)}</title>"]
    ticks, fmt = _time_ticks(t0, t1)
    axis_y = top + lane_h * max(len(lanes), 1)
    for t in ticks:
        xt = x(t)
        out.append(f'<line class="grid" x1="{xt:.1f}" y1="{top - 4}" x2="{xt:.1f}" y2="{axis_y}"/>')
        out.append(f'<text class="tick" x="{xt:.1f}" y="{axis_y + 14}" text-anchor="middle" '
                   f'font-size="{_FONT}">{_e(t.strftime(fmt))}</text>')
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<rect class="lane{" alt" if i % 2 else ""}" x="{left}" y="{y}" width="{plot_w}" '
                   f'height="{lane_h}"/>')
        out.append(f'<text class="lane-label" x="{left - 6}" y="{y + lane_h * 0.68:.1f}" text-anchor="end" '
                   f'font-size="{_FONT}">{_e(lane[:34])}</text>')
    for it in items:
        y = top + lanes.index(it.lane) * lane_h
        cls = f"tl-{it.kind}" + (" tl-finding" if it.highlight else "")
        when = _fmt_time(it.start) + (f" to {_fmt_time(it.end)}" if it.end and it.end > it.start else "")
        tip = f"<title>{_e(it.label)} ({when} UTC)</title>"
        if it.end is not None and it.end > it.start:
            x0, x1 = x(it.start), x(it.end)
            w = max(x1 - x0, 2.0)
            out.append(f'<rect class="{cls}" x="{x0:.1f}" y="{y + 4}" width="{w:.1f}" height="{lane_h - 8}">'
                       f"{tip}</rect>")
        else:
            cx, cy, r = x(it.start), y + lane_h / 2, lane_h / 2 - 3
            out.append(f'<path class="{cls}" d="M{cx:.1f},{cy - r:.1f} L{cx + r:.1f},{cy:.1f} '
                       f'L{cx:.1f},{cy + r:.1f} L{cx - r:.1f},{cy:.1f} Z">{tip}</path>')
    out.append(f'<text class="axis-note" x="{left}" y="{height - 6}" font-size="{_FONT}">'
               f'{_e(_fmt_time(t0))} to {_e(_fmt_time(t1))} UTC</text>')
    out.append("</svg>")
    kinds = {it.kind for it in items}
    legend = "".join(f'<span class="lg"><svg width="14" height="10" aria-hidden="true"><rect class="tl-{k}" '
                     f'x="0" y="0" width="14" height="10"/></svg> {_e(text)}</span>'
                     for k, text in _LEGEND if k in kinds)
    return "".join(out) + (f'<div class="legend">{legend}</div>' if legend else "")


def monthly_bars_svg(months: Sequence[str], observed: Sequence[int], inferred: Sequence[int], *,
                     title: str = "Voyages per month", width: int = 720) -> str:
    """Stacked bars per month (``YYYY-MM``): observed in AIS below, inferred from gaps on top."""
    n = len(months)
    left, right, top, bottom = 44, 10, 24, 40
    height = 220
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [o + i for o, i in zip(observed, inferred, strict=True)]
    ymax = max(max(totals, default=0), 1)
    step = max(1, int(_nice_step(ymax, 4)))
    ymax = int(math.ceil(ymax / step) * step)
    bw = plot_w / max(n, 1)
    out = [f'<svg class="sw-chart sw-bars" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="{_e(title)}"><title>{_e(title)}</title>',
           f'<text class="chart-title" x="{left}" y="14" font-size="12">{_e(title)}</text>']
    for v in range(0, ymax + 1, step):
        y = top + plot_h * (1 - v / ymax)
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="{_FONT}">'
                   f"{v}</text>")
    for k, (m, o, i) in enumerate(zip(months, observed, inferred, strict=True)):
        x0 = left + k * bw + bw * 0.15
        w = bw * 0.7
        y_o = top + plot_h * (1 - o / ymax)
        y_i = top + plot_h * (1 - (o + i) / ymax)
        if o:
            out.append(f'<rect class="bar-observed" x="{x0:.1f}" y="{y_o:.1f}" width="{w:.1f}" '
                       f'height="{top + plot_h - y_o:.1f}"><title>{_e(m)}: {o} observed in AIS</title></rect>')
        if i:
            out.append(f'<rect class="bar-inferred" x="{x0:.1f}" y="{y_i:.1f}" width="{w:.1f}" '
                       f'height="{y_o - y_i:.1f}"><title>{_e(m)}: {i} inferred from AIS gaps</title></rect>')
        if o + i:
            out.append(f'<text class="bar-value" x="{x0 + w / 2:.1f}" y="{y_i - 3:.1f}" text-anchor="middle" '
                       f'font-size="{_FONT}">{o + i}</text>')
        if n <= 18 or k % math.ceil(n / 18) == 0:
            out.append(f'<text class="tick" x="{x0 + w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                       f'font-size="{_FONT}">{_e(m)}</text>')
    out.append(f'<rect class="bar-observed" x="{left}" y="{height - 16}" width="12" height="10"/>'
               f'<text x="{left + 16}" y="{height - 7}" font-size="{_FONT}">observed in AIS</text>'
               f'<rect class="bar-inferred" x="{left + 130}" y="{height - 16}" width="12" height="10"/>'
               f'<text x="{left + 146}" y="{height - 7}" font-size="{_FONT}">inferred from AIS gaps</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class ActivityPoint:
    t: dt.datetime
    count: float | None  # None: not observed in that period (never drawn as zero)


def activity_svg(points: Sequence[ActivityPoint], *, title: str,
                 spikes: Sequence[tuple[dt.datetime, float, str]] = (),
                 changepoints: Sequence[tuple[dt.datetime, float | None, float | None, str]] = (),
                 width: int = 720) -> str:
    """A count series (line through observed periods, broken where unobserved) with spikes circled
    and changepoints drawn as a dashed vertical line with the mean level before and after."""
    left, right, top, bottom = 44, 10, 24, 40
    height = 220
    plot_w, plot_h = width - left - right, height - top - bottom
    if not points:
        return ""
    t0, t1 = points[0].t, points[-1].t
    if t1 <= t0:
        t1 = t0 + dt.timedelta(days=1)
    vals = [p.count for p in points if p.count is not None]
    ymax = max(max(vals, default=0.0), max((m for _, b, a, _ in changepoints for m in (b, a) if m), default=0.0),
               1.0)
    step = _nice_step(ymax, 4)
    ymax = math.ceil(ymax / step) * step
    span = (t1 - t0).total_seconds()

    def x(t: dt.datetime) -> float:
        return left + plot_w * min(max((t - t0).total_seconds() / span, 0.0), 1.0)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ymax)

    out = [f'<svg class="sw-chart sw-activity" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="{_e(title)}"><title>{_e(title)}</title>',
           f'<text class="chart-title" x="{left}" y="14" font-size="12">{_e(title)}</text>']
    v = 0.0
    while v <= ymax + 1e-9:
        out.append(f'<line class="grid" x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}"/>'
                   f'<text class="tick" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="{_FONT}">'
                   f"{v:g}</text>")
        v += step
    ticks, fmt = _time_ticks(t0, t1)
    for t in ticks:
        out.append(f'<text class="tick" x="{x(t):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                   f'font-size="{_FONT}">{_e(t.strftime(fmt))}</text>')
    runs: list[list[ActivityPoint]] = [[]]
    for p in points:
        if p.count is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    for run in runs:
        if len(run) >= 2:
            d = " ".join(f"{'M' if k == 0 else 'L'}{x(p.t):.1f},{y(p.count or 0.0):.1f}" for k, p in enumerate(run))
            out.append(f'<path class="act-line" d="{d}"/>')
    for p in points:
        if p.count is not None:
            out.append(f'<circle class="act-point" cx="{x(p.t):.1f}" cy="{y(p.count):.1f}" r="2">'
                       f"<title>{_e(p.t.strftime('%Y-%m-%d'))}: {p.count:g}</title></circle>")
    for t, b, a, text in changepoints:
        out.append(f'<line class="act-change" x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{top + plot_h}">'
                   f"<title>{_e(text)}</title></line>")
        if b is not None:
            out.append(f'<line class="act-level" x1="{left}" y1="{y(b):.1f}" x2="{x(t):.1f}" y2="{y(b):.1f}"/>')
        if a is not None:
            out.append(f'<line class="act-level" x1="{x(t):.1f}" y1="{y(a):.1f}" x2="{width - right}" '
                       f'y2="{y(a):.1f}"/>')
        out.append(f'<text class="act-note" x="{x(t) + 4:.1f}" y="{top + 10}" font-size="{_FONT}">'
                   f"level change</text>")
    for t, c, text in spikes:
        out.append(f'<circle class="act-spike" cx="{x(t):.1f}" cy="{y(c):.1f}" r="6"><title>{_e(text)}</title>'
                   "</circle>")
    out.append(f'<circle class="act-spike" cx="{left + 6}" cy="{height - 11}" r="5"/>'
               f'<text x="{left + 16}" y="{height - 7}" font-size="{_FONT}">spike</text>'
               f'<line class="act-change" x1="{left + 70}" y1="{height - 18}" x2="{left + 70}" y2="{height - 4}"/>'
               f'<text x="{left + 76}" y="{height - 7}" font-size="{_FONT}">level change (mean before / after)</text>')
    out.append("</svg>")
    return "".join(out)
