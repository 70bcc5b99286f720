"""Soak time series for the report's charts, downsampled so that the report stays small.

Two sources, both optional:
- `soak.sqlite` in the run directory (or `soak/soak.sqlite`, `artifacts/soak.sqlite`), written by the soak:
      CREATE TABLE samples (
          metric  TEXT NOT NULL,  -- see METRICS: up, latency_ms, error_rate, rss_bytes, rps, p95_ms, ...
          service TEXT NOT NULL,  -- gateway, conduit, ...; "load" for Locust's own stats
          ts      REAL NOT NULL,  -- Unix seconds (UTC)
          value   REAL NOT NULL,
          PRIMARY KEY (metric, service, ts)
      ) WITHOUT ROWID;
  The key (or any index on (metric, service, ts[, value])) lets the report read 72 hours of 1 Hz probes
  in about a second: each chart point is one indexed range query. A plain table with the same four columns
  also works, through one GROUP BY over every row (several seconds for 72 h; the report notes it).
- `measurement` records whose `details.series` holds one series or a list of them:
      {"metric": "latency_ms", "service": "gateway", "points": [[ts, value], ...]}
  where ts is Unix seconds or an ISO 8601 time.
Each (metric, service) becomes one line, averaged into at most MAX_POINTS buckets (the mean of `up` per
bucket is the uptime share).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchgate.evidence import Evidence
from launchgate.gates.aggregate import parse_time
from launchgate.gates.formatting import fmt_duration
from launchgate.report.charts import Chart, Series

SOAK_DB_CANDIDATES = ("soak.sqlite", "soak/soak.sqlite", "artifacts/soak.sqlite")
MAX_POINTS = 240
MAX_SERIES = 10
MAX_CHARTS = 10
# metric -> (chart title, unit shown, factor applied to values)
METRICS: dict[str, tuple[str, str, float]] = {  # in chart order: the four a tester asks about first
    "latency_ms": ("Latency (health probes)", "ms", 1.0),
    "error_rate": ("Error rate under load", "%", 100.0),
    "rss_bytes": ("Memory (RSS)", "MB", 1 / 1048576),
    "rss_mb": ("Memory (RSS)", "MB", 1.0),
    "up": ("Uptime", "%", 100.0),
    "p95_ms": ("Latency p95 under load", "ms", 1.0),
    "p50_ms": ("Latency p50 under load", "ms", 1.0),
    "rps": ("Throughput", "req/s", 1.0),
    "users": ("Simulated users", "users", 1.0),
    "cpu_percent": ("CPU", "%", 1.0),
}

Buckets = dict[tuple[str, str], dict[int, tuple[float, int]]]  # (metric, service) -> bucket -> (sum, n)


@dataclass
class SoakSeries:
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # problems reading the data, for the engineering details
    sources: list[str] = field(default_factory=list)


def find_soak_db(run_dir: Path) -> Path | None:
    return next((run_dir / c for c in SOAK_DB_CANDIDATES if (run_dir / c).is_file()), None)


def soak_series(run_dir: Path, records: list[Evidence], clean: Callable[[str], str] = str) -> SoakSeries:
    out = SoakSeries()
    raw: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for rec in records:
        if rec.kind == "measurement" and rec.details.get("series"):
            _collect_record_series(rec.details["series"], raw)
    spans = [(min(p[0] for p in pts), max(p[0] for p in pts)) for pts in raw.values() if pts]
    path = find_soak_db(run_dir)
    db = _open(path, spans, out) if path is not None else None
    try:
        if not spans:
            return out
        t0, t1 = min(s[0] for s in spans), max(s[1] for s in spans)
        width = max((t1 - t0) / MAX_POINTS, 1e-6)
        buckets: Buckets = defaultdict(dict)
        for key, points in raw.items():
            for ts, value in points:
                _add(buckets[key], int((ts - t0) / width), value, 1)
        if raw:
            out.sources.append("measurement evidence (details.series)")
        if db is not None and path is not None:
            try:
                db.read(t0, width, buckets)
                out.sources.append(f"{path.relative_to(run_dir)} ({'indexed' if db.indexed else 'not indexed: slow'})")
            except sqlite3.Error as exc:
                out.notes.append(f"{path.name}: cannot read samples: {exc}")
        out.charts = _charts(buckets, t0, t1, width, clean)
        return out
    finally:
        if db is not None:
            db.close()


def _open(path: Path, spans: list[tuple[float, float]], out: SoakSeries) -> SoakDb | None:
    try:
        db = SoakDb(path)
    except sqlite3.Error as exc:
        out.notes.append(f"{path.name}: cannot read samples: {exc}")
        return None
    try:
        span = db.span()
    except sqlite3.Error as exc:
        db.close()
        out.notes.append(f"{path.name}: cannot read samples: {exc}")
        return None
    if span is not None:
        spans.append(span)
    return db


class SoakDb:
    """soak.sqlite, read-only: the report must never change what the soak recorded (it may still be writing)."""

    _RANGE = "SELECT SUM(value), COUNT(*) FROM samples WHERE metric = ? AND service = ? AND ts >= ? AND ts < ?"

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        plan = " ".join(str(row[-1]) for row in self.conn.execute("EXPLAIN QUERY PLAN " + self._RANGE, ("", "", 0, 0)))
        # Indexed when SQLite can seek to one series' time range instead of scanning the table.
        self.indexed = "metric=? AND service=? AND ts>" in plan
        self.pairs: list[tuple[str, str]] = self._pairs() if self.indexed else []

    def _pairs(self) -> list[tuple[str, str]]:
        """Each (metric, service) by skipping along the index: a few dozen seeks, not a scan."""
        pairs: list[tuple[str, str]] = []
        query = "SELECT metric, service FROM samples WHERE (metric, service) > (?, ?) ORDER BY metric, service LIMIT 1"
        last = ("", "")
        while (row := self.conn.execute(query, last).fetchone()) is not None:
            last = (str(row[0]), str(row[1]))
            pairs.append(last)
            if len(pairs) > 10_000:
                break
        return pairs

    def span(self) -> tuple[float, float] | None:
        if not self.indexed:
            lo, hi = self.conn.execute("SELECT MIN(ts), MAX(ts) FROM samples").fetchone()
            return None if lo is None else (float(lo), float(hi))
        los, his = [], []
        for metric, service in self.pairs:
            los.append(self.conn.execute("SELECT MIN(ts) FROM samples WHERE metric = ? AND service = ?",
                                         (metric, service)).fetchone()[0])
            his.append(self.conn.execute("SELECT MAX(ts) FROM samples WHERE metric = ? AND service = ?",
                                         (metric, service)).fetchone()[0])
        return (float(min(los)), float(max(his))) if los else None

    def read(self, t0: float, width: float, buckets: Buckets) -> None:
        if self.indexed:
            for metric, service in self.pairs:
                series = buckets[(metric, service)]
                for b in range(MAX_POINTS + 1):
                    lo = t0 + b * width
                    hi = lo + width if b < MAX_POINTS else float("inf")
                    total, n = self.conn.execute(self._RANGE, (metric, service, lo, hi)).fetchone()
                    if n:
                        _add(series, b, float(total), int(n))
            return
        query = ("SELECT metric, service, CAST((ts - ?) / ? AS INTEGER) AS b, SUM(value), COUNT(*) "
                 "FROM samples WHERE value IS NOT NULL GROUP BY metric, service, b")
        for metric, service, b, total, n in self.conn.execute(query, (t0, width)):
            _add(buckets[(str(metric), str(service))], int(b), float(total), int(n))

    def close(self) -> None:
        self.conn.close()


def _add(series: dict[int, tuple[float, int]], bucket: int, total: float, n: int) -> None:
    bucket = min(max(bucket, 0), MAX_POINTS)
    s, c = series.get(bucket, (0.0, 0))
    series[bucket] = (s + total, c + n)


def _collect_record_series(spec: Any, raw: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
    for item in spec if isinstance(spec, list) else [spec]:
        if not isinstance(item, dict) or not isinstance(item.get("points"), list):
            continue
        key = (str(item.get("metric", "value")), str(item.get("service", "all")))
        for point in item["points"]:
            if isinstance(point, list | tuple) and len(point) == 2:
                ts, value = _timestamp(point[0]), point[1]
                if ts is not None and isinstance(value, int | float) and not isinstance(value, bool):
                    raw[key].append((ts, float(value)))


def _timestamp(raw: Any) -> float | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    moment = parse_time(str(raw))
    return moment.timestamp() if moment else None


def _charts(buckets: Buckets, t0: float, t1: float, width: float, clean: Callable[[str], str]) -> list[Chart]:
    by_metric: dict[str, list[tuple[str, dict[int, tuple[float, int]]]]] = defaultdict(list)
    for (metric, service), series in buckets.items():
        by_metric[metric].append((service, series))
    order = [m for m in METRICS if m in by_metric] + sorted(m for m in by_metric if m not in METRICS)
    start = datetime.fromtimestamp(t0, UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"from {start}, {fmt_duration(t1 - t0)}, each point the mean of {fmt_duration(width)}"
    charts = []
    for metric in order[:MAX_CHARTS]:
        title, unit, factor = METRICS.get(metric, (metric, "", 1.0))
        lines = []
        for service, series in sorted(by_metric[metric])[:MAX_SERIES]:
            points = [((b + 0.5) * width, total / n * factor) for b, (total, n) in sorted(series.items()) if n]
            lines.append(Series(clean(service), points))
        y_min = 0.0 if metric not in ("up",) else None
        charts.append(Chart(title=clean(title), unit=unit, series=lines, y_min=y_min,
                            y_max=100.0 if unit == "%" and metric == "up" else None, subtitle=subtitle))
    return charts
