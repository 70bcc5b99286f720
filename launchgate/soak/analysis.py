"""Stability analysis of a soak, window by window, straight from soak.sqlite: aggregates in SQL, no sample
lists in memory (72 hours of 1 Hz samples are read in a few grouped passes, one per series).

Per window: error rate and p95 latency of the load, the p95 drift as a slope over the run so far, the memory
slope of every service (leaks), restarts, and uptime from the probes. Windows the harness did not observe at
all (a harness gap) get no verdict; the gap is reported as such, never as target downtime.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchgate.evidence import Evidence, iso, now_iso
from launchgate.gates.model import StabilityWindows
from launchgate.soak.store import BUCKETS, SoakQueries, connect
from launchgate.soak.windows import (
    Fit,
    RobustTrend,
    WindowVerdict,
    check_slope,
    histogram_percentile,
    window_bounds,
    window_checks,
)

HOUR = 3600.0


@dataclass
class Interval:
    start: float
    end: float
    services: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class Analysis:
    start: float
    end: float
    window_s: float
    interval: float
    windows: list[WindowVerdict]
    downtime: list[Interval]
    gaps: list[Interval]
    requests: int
    failures: int
    probes: int
    up: int
    restarts: list[dict[str, Any]]
    memory_slopes: dict[str, float | None]
    drift_ms_per_hour: float | None
    aborted: str | None = None

    @property
    def observed_s(self) -> float:
        return max(0.0, self.end - self.start - sum(g.seconds for g in self.gaps))

    @property
    def outcome(self) -> str:
        if self.aborted or any(w.outcome == "failed" for w in self.windows) or not self.windows:
            return "failed"
        if any(w.outcome == "skipped" for w in self.windows):
            return "skipped"
        return "passed"

    @property
    def uptime(self) -> float | None:
        return self.up / self.probes if self.probes else None


def analyze(db: Path, bounds: StabilityWindows, start: float, end: float, window_s: float, interval: float,
            services: list[str]) -> Analysis:
    conn = connect(db, readonly=True)
    try:
        return _analyze(conn, bounds, start, end, window_s, interval, services)
    finally:
        conn.close()


def _analyze(conn: sqlite3.Connection, b: StabilityWindows, start: float, end: float, width: float,
             interval: float, services: list[str]) -> Analysis:
    spans = window_bounds(start, end, width)
    last = len(spans) - 1
    q = SoakQueries(conn)
    load = q.load_by_window(start, end, width, last)
    probes = q.probes_by_window(start, end, width, last)
    generator = q.generator_by_window(start, end, width, last)
    memory = {svc: sums for svc in services if (sums := q.memory_sums(svc, start, end, width, last))}
    restarts = q.restarts(start, end)
    can_restart = q.can_see_restarts()
    gaps = [Interval(ts, until or ts, note="harness not running") for ts, until, _svc, _d in q.events("harness_gap")]
    downtime = _downtime(q, start, end)
    aborted = q.events("abort")[:1]

    windows: list[WindowVerdict] = []
    drift = RobustTrend()
    memory_so_far = {svc: Fit() for svc in services}
    for i, (lo, hi) in enumerate(spans):
        n_probes, n_up = probes.get(i, (0, 0))
        requests, failures, histogram = load.get(i, (0, 0, [0] * BUCKETS))
        for svc, fits in memory.items():
            if i in fits:
                memory_so_far[svc].add_sums(*fits[i])
        p95 = histogram_percentile(histogram, 0.95)
        if i > 0 and p95 is not None:  # the first window is the warm-up: caches fill, pools open
            drift.add((lo + hi) / 2 / HOUR - start / HOUR, p95)
        if n_probes == 0 and requests == 0:
            continue  # not observed at all: a harness gap, reported as such
        verdict = WindowVerdict(i, lo, hi)
        worst_svc, worst = _worst_memory(memory_so_far)
        restarts_here = sum(1 for r in restarts if lo <= r["ts"] < hi) if can_restart else None
        verdict.checks = window_checks(requests, failures, histogram, n_probes, n_up, restarts_here, b,
                                       generator.get(i, {}))
        verdict.checks[2:2] = [  # and the trends of the run so far, after error rate and p95
            check_slope("latency_drift", drift, b.max_latency_drift_ms_per_hour, b.latency_drift_floor_ms,
                        "ms/h", "latency"),
            check_slope("memory_slope", worst, b.max_memory_slope_mb_per_hour, b.memory_growth_floor_mb,
                        "MB/h", "memory", no_data=not memory),
        ]
        verdict.details = {"requests": requests, "failures": failures, "probes": n_probes, "up_probes": n_up,
                           "memory_worst_service": worst_svc,
                           "down_seconds": round((n_probes - n_up) * interval, 3),
                           "harness_gap_seconds": round(sum(_overlap(g, lo, hi) for g in gaps), 3),
                           "generator_cpu_max": generator.get(i, {}).get("cpu"),
                           "generator_lag_ms_mean": generator.get(i, {}).get("lag_ms")}
        windows.append(verdict)
    requests, failures = q.load_totals(start, end)
    return Analysis(
        start=start, end=end, window_s=width, interval=interval, windows=windows, downtime=downtime, gaps=gaps,
        requests=requests, failures=failures,
        probes=sum(n for n, _ in probes.values()), up=sum(u for _, u in probes.values()), restarts=restarts,
        memory_slopes={svc: fit.slope for svc, fit in memory_so_far.items()}, drift_ms_per_hour=drift.slope,
        aborted=json.loads(aborted[0][3] or "{}").get("reason") if aborted else None,
    )


def _worst_memory(fits: dict[str, Fit]) -> tuple[str | None, Fit]:
    worst: tuple[str | None, Fit] = (None, Fit())
    for svc, fit in fits.items():
        slope = fit.slope
        if slope is not None and (worst[1].slope is None or slope * fit.span > worst[1].slope * worst[1].span):
            worst = (svc, fit)
    return worst


def _overlap(interval: Interval, lo: float, hi: float) -> float:
    return max(0.0, min(interval.end, hi) - max(interval.start, lo))


def _downtime(q: SoakQueries, start: float, end: float) -> list[Interval]:
    """System downtime (some service down) from the probes' events, with the services down in each stretch."""
    system = [Interval(ts, until) for ts, until, _svc, _d in q.events("down", start, end, service="all")]
    per_service = [(ts, until, svc) for ts, until, svc, _d in q.events("down", start, end) if svc != "all"]
    for interval in system:
        interval.services = sorted({svc for ts, until, svc in per_service
                                    if ts < interval.end and (until or ts) > interval.start - 1e-6})
    return system


# -- evidence ----------------------------------------------------------------------------------------------


def evidence(result: Analysis, run: str, target: str, bounds: StabilityWindows,
             extra: dict[str, Any] | None = None) -> list[Evidence]:
    records: list[Evidence] = []
    total = len(result.windows)
    for w in result.windows:
        failed = [c.name for c in w.failed]
        records.append(Evidence(
            run=run, kind="measurement", name=f"soak.window.{w.index + 1:03d}", outcome=w.outcome,  # type: ignore[arg-type]
            criterion="alpha.stability", gate="alpha", started=iso(w.start), finished=iso(w.end), target=target,
            details={"window": w.index + 1, "windows": total, "window_s": round(w.end - w.start, 3),
                     "failed_checks": failed, "checks": {c.name: c.as_dict() for c in w.checks}, **w.details,
                     "tags": ["soak"]},
        ))
        uptime = next(c for c in w.checks if c.name == "uptime")
        if uptime.value is None:
            continue  # not probed (a harness gap): no uptime to report
        records.append(Evidence(
            run=run, kind="measurement", name="uptime", outcome="passed" if uptime.passed else "failed",
            criterion="beta.uptime", value=uptime.value, unit="ratio", started=iso(w.start), finished=iso(w.end),
            target=target, details={"probes": w.details["probes"], "up_probes": w.details["up_probes"],
                                    "interval_s": result.interval, "source": "soak probes of every service"},
        ))
    for d in result.downtime:
        records.append(Evidence(
            run=run, kind="incident", name="downtime", outcome="failed", value=round(d.seconds, 3), unit="s",
            started=iso(d.start), finished=iso(d.end), target=target,
            details={"severity": "major", "services": d.services, "source": "soak probes",
                     "summary": f"{', '.join(d.services) or 'a service'} down for {d.seconds:.0f} s"},
        ))
    for g in result.gaps:
        records.append(Evidence(
            run=run, kind="measurement", name="soak.harness-gap", outcome="skipped", value=round(g.seconds, 3),
            unit="s", started=iso(g.start), finished=iso(g.end), target=target,
            details={"note": "the harness was not running: not target downtime, and not observed"},
        ))
    summary_checks = {
        "latency_drift_ms_per_hour": result.drift_ms_per_hour,
        "memory_slopes_mb_per_hour": {k: (None if v is None else round(v, 3)) for k, v in result.memory_slopes.items()},
    }
    finished = iso(result.end)
    records.append(Evidence(
        run=run, kind="measurement", name="soak.summary", outcome=result.outcome,  # type: ignore[arg-type]
        criterion="alpha.stability", gate="alpha", value=round(result.observed_s, 3), unit="s",
        # A point in time, not a span: continuity comes from the windows (a harness gap must still show).
        started=finished, finished=finished, target=target, attachments=["soak.sqlite"],
        details={
            "planned_s": round(result.end - result.start, 3), "observed_s": round(result.observed_s, 3),
            "run_started": iso(result.start), "windows": total,
            "windows_failed": sum(1 for w in result.windows if w.outcome == "failed"),
            "window_s": result.window_s, "requests": result.requests, "failures": result.failures,
            "uptime": result.uptime, "probes": result.probes, "restarts": len(result.restarts),
            "downtime_s": round(sum(d.seconds for d in result.downtime), 3),
            "harness_gaps_s": round(sum(g.seconds for g in result.gaps), 3), "aborted": result.aborted,
            "bounds": bounds.model_dump(), **summary_checks, **(extra or {}), "written": now_iso(),
        },
    ))
    return records


def failed_checks(result: Analysis) -> dict[str, int]:
    out: dict[str, int] = {}
    for w in result.windows:
        for c in w.failed:
            out[c.name] = out.get(c.name, 0) + 1
    return out


def workers_lost(db: Path, before: float) -> list[dict[str, Any]]:
    """Locust workers that left their master (or missed its heartbeats) while the load ran, before `before` (at
    the end of a run the master sends its workers away): when, how many, and how many were left."""
    conn = connect(db, readonly=True)
    try:
        rows = SoakQueries(conn).events("worker_lost", end=before)
    finally:
        conn.close()
    out: list[dict[str, Any]] = []
    for ts, _until, _svc, detail in rows:
        seen = json.loads(detail or "{}")
        out.append({"at": iso(ts), "lost": int(seen.get("lost", 1)), "workers": int(seen.get("workers", 0)),
                    "missing": int(seen.get("missing", 0))})
    return out
