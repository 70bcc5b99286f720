"""Line charts as inline SVG, drawn in Python: no JavaScript, no external files.

Every label is escaped here (service names come from the target); the result is Markup for the template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup, escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c", "#6e7781",
           "#fb8500", "#3d405b")
WIDTH, HEIGHT = 760, 250
PAD_L, PAD_R, PAD_T, PAD_B = 62, 16, 26, 42


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]  # (x, y), x ascending


@dataclass
class Chart:
    title: str
    unit: str = ""
    series: list[Series] = field(default_factory=list)
    x_unit: str = "h"  # x values are seconds from the start; shown in this unit
    y_min: float | None = None
    y_max: float | None = None
    x_ticks: list[tuple[float, str]] | None = None  # explicit ticks (e.g. run ids)
    guides: list[tuple[float, str]] = field(default_factory=list)  # horizontal reference lines
    subtitle: str = ""


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while len(ticks) < 20:
        ticks.append(round(t, 10))
        if t >= hi - 1e-12:  # the last tick covers the highest value
            break
        t += step
    return ticks


def fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:.4g}"


def render(chart: Chart, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    pts = [p for s in chart.series for p in s.points if math.isfinite(p[1])]
    title = escape(chart.title)
    if not pts:
        return Markup(f'<p class="nochart">{title}: no data points.</p>')
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 1
    guide_ys = [g[0] for g in chart.guides]
    lo = chart.y_min if chart.y_min is not None else min([*ys, *guide_ys])
    hi = chart.y_max if chart.y_max is not None else max([*ys, *guide_ys])
    yticks = nice_ticks(lo, hi)
    lo, hi = min(lo, yticks[0]), max(hi, yticks[-1])
    pw, ph = width - PAD_L - PAD_R, height - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return PAD_T + ph - (y - lo) / ((hi - lo) or 1) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">',
           f"<title>{title}</title>",
           f'<text x="{PAD_L}" y="16" class="ct">{title}'
           + (f' <tspan class="cs">{escape(chart.unit)}</tspan>' if chart.unit else "") + "</text>"]
    for t in yticks:
        y = sy(t)
        out.append(f'<line x1="{PAD_L}" x2="{width - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="yt">{escape(fmt_tick(t))}</text>')
    for x, label in chart.x_ticks or _time_ticks(x0, x1, chart.x_unit):
        out.append(f'<text x="{sx(x):.1f}" y="{PAD_T + ph + 16}" class="xt">{escape(label)}</text>')
    for value, label in chart.guides:
        y = sy(value)
        out.append(f'<line x1="{PAD_L}" x2="{width - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="guide"/>'
                   f'<text x="{width - PAD_R - 4}" y="{y - 4:.1f}" class="gl">{escape(label)}</text>')
    for i, s in enumerate(chart.series):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points if math.isfinite(y))
        if not coords:
            continue
        out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5">'
                   f"<title>{escape(s.label)}</title></polyline>")
        if len(s.points) == 1:
            x, y = s.points[0]
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>')
    out.append(_legend(chart.series, height))
    out.append("</svg>")
    return Markup("".join(out))


def _legend(series: list[Series], height: int) -> str:
    items, x = [], PAD_L
    for i, s in enumerate(series):
        label = s.label if len(s.label) <= 28 else s.label[:27] + "…"
        items.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{height - 5}" class="lg">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    return "".join(items)


def _time_ticks(x0: float, x1: float, unit: str) -> list[tuple[float, str]]:
    span = x1 - x0
    scale, suffix = {"h": (3600, "h"), "min": (60, "min"), "d": (86400, "d"), "s": (1, "s")}.get(unit, (1, ""))
    if unit == "h" and span < 2 * 3600:
        scale, suffix = 60, "min"
    ticks = nice_ticks(0, span / scale, 7)
    return [(x0 + t * scale, f"{fmt_tick(t)} {suffix}".strip()) for t in ticks if t * scale <= span + 1e-9]
