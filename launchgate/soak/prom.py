"""Just enough of the Prometheus text format for the soak: process memory, CPU, start time, HTTP counters.

The monitor scrapes every service every few seconds for days, so this reads only the families it needs
and sums the HTTP series over their labels (a service's totals, not per route).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REQUESTS = "http_requests_total"
LATENCY_BUCKET = "http_request_duration_seconds_bucket"


@dataclass
class Scrape:
    rss_bytes: float | None = None
    cpu_seconds: float | None = None
    start_time: float | None = None
    requests: float = 0.0
    errors: float = 0.0  # 5xx answers
    buckets: dict[float, float] = field(default_factory=dict)  # le (seconds) -> cumulative count, over all routes


def _label(labels: str, name: str) -> str | None:
    key = f'{name}="'
    at = labels.find(key)
    if at < 0:
        return None
    start = at + len(key)
    return labels[start : labels.find('"', start)]


def parse(text: str) -> Scrape:
    out = Scrape()
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        head, _, value_text = line.rpartition(" ")
        try:
            value = float(value_text)
        except ValueError:
            continue
        brace = head.find("{")
        name = head if brace < 0 else head[:brace]
        labels = "" if brace < 0 else head[brace:]
        if name == "process_resident_memory_bytes":
            out.rss_bytes = value
        elif name == "process_cpu_seconds_total":
            out.cpu_seconds = value
        elif name == "process_start_time_seconds":
            out.start_time = value
        elif name == REQUESTS:
            out.requests += value
            if (_label(labels, "status") or "").startswith("5"):
                out.errors += value
        elif name == LATENCY_BUCKET:
            le = _label(labels, "le")
            if le is not None:
                bound = float("inf") if le == "+Inf" else float(le)
                out.buckets[bound] = out.buckets.get(bound, 0.0) + value
    return out


def encode_buckets(buckets: dict[float, float]) -> str:
    return ",".join(f"{le:g}:{count:g}" for le, count in sorted(buckets.items()))


def decode_buckets(text: str | None) -> dict[float, float]:
    out: dict[float, float] = {}
    for part in (text or "").split(","):
        if ":" in part:
            le, count = part.split(":", 1)
            out[float(le)] = float(count)
    return out


def histogram_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """PromQL's histogram_quantile over cumulative buckets (seconds): linear within the bucket."""
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] <= 0:
        return None
    total = buckets[edges[-1]]
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if edge == float("inf"):
                return lower_edge
            span = count - lower_count
            return lower_edge + (edge - lower_edge) * ((rank - lower_count) / span if span > 0 else 1.0)
        lower_edge, lower_count = edge, count
    return lower_edge
