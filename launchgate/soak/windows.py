"""Window maths of the stability analysis, with no I/O: window layout, percentiles from histograms,
least-squares slopes, and the checks each window must pass (bounds from gates.yaml, alpha.stability.windows).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from launchgate.gates.formatting import fmt_percent
from launchgate.gates.model import StabilityWindows

BUCKET_EDGES_MS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250,
                   300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000,
                   12000, 15000, 20000, 30000, 60000)
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([smhdw]|min))+\s*$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|[smhdw])")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def bucket_index(ms: float) -> int:
    """The histogram bucket of a latency: (edge[i-1], edge[i]], the last one open."""
    return bisect_left(BUCKET_EDGES_MS, ms)


def parse_duration(text: str) -> float:
    """Seconds from '72h', '10m', '90s', '1h30m' or a plain number of seconds; ValueError otherwise."""
    raw = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif _DURATION.match(raw):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(raw))
    else:
        raise ValueError(f"cannot read duration {text!r}: write a number and a unit, e.g. 72h, 10m, 90s, 1h30m")
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return seconds


def window_seconds(duration_s: float, bounds: StabilityWindows) -> float:
    """Hourly for a long run; a shorter one gets `min_windows` windows, none shorter than `min_window`."""
    if duration_s >= bounds.window * bounds.min_windows:
        return bounds.window
    return max(duration_s / bounds.min_windows, bounds.min_window)


def window_bounds(start: float, end: float, width: float) -> list[tuple[float, float]]:
    """Consecutive windows from `start`; the last one ends at `end`. A last window shorter than a quarter of the
    width (the sliver an aborted or stopped run leaves) joins the one before: too short to judge on its own."""
    count = max(1, math.ceil((end - start) / width - 1e-9))
    if count > 1 and end - (start + (count - 1) * width) < width / 4:
        count -= 1
    return [(start + i * width, start + (i + 1) * width if i < count - 1 else end) for i in range(count)]


def histogram_percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (ms) of per-bucket counts over BUCKET_EDGES_MS, linear within a bucket."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = BUCKET_EDGES_MS[i - 1] if i > 0 else 0.0
            if i >= len(BUCKET_EDGES_MS):
                return float(lower)  # the open top bucket: at least its lower edge
            return lower + (BUCKET_EDGES_MS[i] - lower) * (rank - seen) / count
        seen += count
    return float(BUCKET_EDGES_MS[-1])


@dataclass
class Fit:
    """Running sums for a least-squares line y = a + b·x (x in hours since the run's start)."""

    n: float = 0.0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    x_min: float = math.inf
    x_max: float = -math.inf

    def add(self, x: float, y: float, weight: float = 1.0) -> None:
        self.add_sums(weight, x * weight, y * weight, x * x * weight, x * y * weight, x, x)

    def add_sums(self, n: float, sx: float, sy: float, sxx: float, sxy: float, x_min: float, x_max: float) -> None:
        self.n += n
        self.sx += sx
        self.sy += sy
        self.sxx += sxx
        self.sxy += sxy
        self.x_min = min(self.x_min, x_min)
        self.x_max = max(self.x_max, x_max)

    @property
    def span(self) -> float:
        return max(0.0, self.x_max - self.x_min)

    @property
    def slope(self) -> float | None:
        denominator = self.n * self.sxx - self.sx * self.sx
        if self.n < 3 or denominator <= 1e-12 * max(1.0, self.n * self.sxx):
            return None
        return (self.n * self.sxy - self.sx * self.sy) / denominator


def slope_of(points: Sequence[tuple[float, float]]) -> float | None:
    fit = Fit()
    for x, y in points:
        fit.add(x, y)
    return fit.slope


@dataclass
class RobustTrend:
    """Theil-Sen slope (the median of pairwise slopes) of a short series, such as one p95 per window:
    a few windows slowed by a noisy neighbour do not make a trend, a steady climb does."""

    points: list[tuple[float, float]] = field(default_factory=list)
    min_points: int = 4  # fewer windows than this say nothing about a trend

    def add(self, x: float, y: float) -> None:
        self.points.append((x, y))

    @property
    def span(self) -> float:
        return self.points[-1][0] - self.points[0][0] if len(self.points) > 1 else 0.0

    @property
    def slope(self) -> float | None:
        pts = self.points
        if len(pts) < max(3, self.min_points):
            return None
        slopes = sorted((y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(pts) for x2, y2 in pts[i + 1:] if x2 > x1)
        if not slopes:
            return None
        mid = len(slopes) // 2
        return slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2


@dataclass
class Check:
    """One bound of one window. passed None: not applicable yet (a slope needs three points)."""

    name: str
    value: float | None
    bound: float
    unit: str
    passed: bool | None
    note: str = ""
    no_data: bool = False  # the target gives nothing to judge this by (no /metrics): the window is inconclusive

    def breach(self) -> str:
        if self.value is None:
            return f"{self.name.replace('_', ' ')}: {self.note}"
        if self.unit == "ratio":
            shown = f"{fmt_percent(self.value)} {'<' if self.name == 'uptime' else '>'} {fmt_percent(self.bound)}"
        elif self.unit == "count":
            shown = f"{self.value:g} > {self.bound:g}"
        else:
            shown = f"{self.value:.0f} {self.unit} > {self.bound:g} {self.unit}"
        return f"{self.name.replace('_', ' ').replace('p95 latency', 'p95')} {shown}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": _round(self.value), "bound": self.bound, "unit": self.unit,
                               "passed": self.passed}
        if self.note:
            out["note"] = self.note
        if self.no_data:
            out["no_data"] = True
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def check_error_rate(requests: int, failures: int, b: StabilityWindows) -> Check:
    if requests <= 0:
        return Check("error_rate", None, b.max_error_rate, "ratio", False, "no requests: the load was not running")
    rate = failures / requests
    return Check("error_rate", rate, b.max_error_rate, "ratio", round(rate, 9) <= round(b.max_error_rate, 9),
                 f"{failures:,} of {requests:,} requests failed")


# A load generator past either is saturated: Locust's own CPU warning level (a process this busy delays its
# users' requests and inflates their timings), and its users' waits overrunning by this much on average.
GENERATOR_SATURATED_CPU = 90.0
GENERATOR_SATURATED_LAG_MS = 100.0


def saturation(generator: dict[str, float]) -> str | None:
    """Why the load generator was saturated in a window ({"cpu": highest, "lag_ms": mean}), or None."""
    cpu, lag = generator.get("cpu"), generator.get("lag_ms")
    if cpu is not None and cpu >= GENERATOR_SATURATED_CPU:
        return f"a Locust process at {cpu:.0f}% CPU"
    if lag is not None and lag >= GENERATOR_SATURATED_LAG_MS:
        return f"its users' waits overran by {lag:.0f} ms on average"
    return None


def check_p95(histogram: Sequence[int], b: StabilityWindows, generator: dict[str, float] | None = None) -> Check:
    return judge_p95(histogram_percentile(histogram, 0.95), b, generator)


def judge_p95(p95: float | None, b: StabilityWindows, generator: dict[str, float] | None = None) -> Check:
    if p95 is None:
        return Check("p95_latency", None, b.max_p95_ms, "ms", None, "no requests")
    saturated = saturation(generator or {}) if p95 > b.max_p95_ms else None
    if saturated:  # not charged to the target: inconclusive on latency, with the reason
        return Check("p95_latency", p95, b.max_p95_ms, "ms", None,
                     f"the load generator was saturated ({saturated}): this p95 measures it as much as the target",
                     no_data=True)
    return Check("p95_latency", p95, b.max_p95_ms, "ms", p95 <= b.max_p95_ms)


def check_slope(name: str, fit: Fit | RobustTrend, bound: float, floor: float, unit: str, what: str,
                no_data: bool = False) -> Check:
    """A trend over the run so far: fails above `bound` when its predicted change over the span passes `floor`."""
    if no_data:
        return Check(name, None, bound, unit, None, f"no {what} readings from the target", no_data=True)
    slope = fit.slope
    if slope is None:
        return Check(name, None, bound, unit, None, "too few points after the warm-up window yet")
    change = slope * fit.span
    passed = slope <= bound or change <= floor
    return Check(name, slope, bound, unit, passed,
                 f"{change:+.1f} {unit.split('/')[0]} predicted over {fit.span * 60:.1f} min (floor {floor:g})")


def check_restarts(count: int | None, b: StabilityWindows) -> Check:
    if count is None:
        return Check("restarts", None, b.max_restarts, "count", None, "no process start times or PIDs",
                     no_data=True)
    return Check("restarts", count, b.max_restarts, "count", count <= b.max_restarts)


def check_uptime(probes: int, up: int, b: StabilityWindows) -> Check:
    if probes == 0:
        return Check("uptime", None, b.min_uptime, "ratio", None, "not probed: the harness was not running")
    ratio = up / probes
    return Check("uptime", ratio, b.min_uptime, "ratio", round(ratio, 9) >= round(b.min_uptime, 9),
                 f"{probes - up} of {probes} probes found a service down")


def window_checks(requests: int, failures: int, histogram: Sequence[int], probes: int, up: int,
                  restarts: int | None, b: StabilityWindows, generator: dict[str, float] | None = None,
                  *, open_window: bool = False) -> list[Check]:
    """The window rule on one window's sums: error rate, p95, restarts and uptime against `b` (the analysis adds
    the trends, which need the run so far). The one rule behind the analysis, the live line and abort-on-fail.
    `open_window`: a window still filling, where no requests yet means nothing, not a failure."""
    checks = [check_p95(histogram, b, generator), check_restarts(restarts, b), check_uptime(probes, up, b)]
    if requests or not open_window:
        checks.insert(0, check_error_rate(requests, failures, b))
    return checks


def breaches(checks: Sequence[Check]) -> list[str]:
    """The failed checks in words, as the live line and an abort name them: `error rate 5% > 1%`."""
    return [c.breach() for c in checks if c.passed is False]


@dataclass
class WindowVerdict:
    index: int
    start: float
    end: float
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        if any(c.no_data for c in self.checks):
            return "skipped"
        return "passed"
