"""SLIs read from a target's Prometheus with PromQL, over a gate's window, as `measurement` evidence.

Where a target profile names a Prometheus (`[monitoring] prometheus = "..."`), uptime, error ratio and p95
latency can be read from it, beside the harness's own probes or instead of them:

- uptime: `min(up{sel})` with `query_range` at the scrape interval; a step counts as up when every service
  answered its scrape, as a soak probe round counts as up when every service answered. Per service too.
- error ratio: 5xx answers over all answers, from `increase(http_requests_total[step])` per step, summed.
- p95 latency: `histogram_quantile(0.95, …increase(http_request_duration_seconds_bucket[window])…)`, the whole
  window at once, plus the per-step p95 series.

Records (kind `measurement`, `details.source = "prometheus"`, `details.query` = the PromQL):
- `uptime.prometheus` (beside) or `uptime` (instead: the name beta.uptime scores), criterion `beta.uptime`,
  `details.probes` = steps read (the criterion's samples_field);
- `error_ratio.prometheus` / `error_ratio` and `latency_p95.prometheus` / `latency_p95`, no `criterion`
  (alpha.stability scores every measurement with its criterion, and these are not soak windows);
  `details.informs = "alpha.stability"` says which criterion they shed light on.
Given the harness's own value, a record also says whether the two agree (`details.harness`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from launchgate.drivers.errors import DriverError
from launchgate.drivers.prometheus import PrometheusClient, PrometheusQueryError, Series
from launchgate.evidence import Evidence, EvidenceWriter, iso, no_data
from launchgate.targets import Monitoring, Target, load_target

SOURCE = "prometheus"


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a window must end after it starts: {self.start} .. {self.end}")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @classmethod
    def last(cls, seconds: float, end: datetime | None = None) -> Window:
        end = end or datetime.now(UTC)
        return cls(end - timedelta(seconds=seconds), end)


@dataclass
class Reading:
    """One SLI over one window: the value, what it was read from, and per-service values."""

    sli: str  # uptime | error_ratio | latency_p95
    value: float | None
    unit: str
    samples: int
    query: str
    step: float
    per_service: dict[str, float | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def selector(monitoring: Monitoring, *matchers: str) -> str:
    parts = [m for m in (monitoring.selector, *matchers) if m]
    return "{" + ", ".join(parts) + "}"


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


class SliReader:
    def __init__(self, client: PrometheusClient, monitoring: Monitoring, scrape_interval: float) -> None:
        self.client = client
        self.monitoring = monitoring
        self.scrape_interval = scrape_interval

    def rate_step(self, window: Window) -> float:
        """Steps for increase(): four scrapes each at least, a minute at most, four per window where it is long
        enough, and never longer than the window itself."""
        return min(max(4 * self.scrape_interval, min(60.0, window.seconds / 4)), window.seconds)

    def uptime(self, window: Window) -> Reading:
        sel = selector(self.monitoring)
        query = f"min(up{sel})"
        step = self.scrape_interval
        overall = self.client.query_range(query, window.start, window.end, step)
        points = overall[0].values if overall else []
        by = self.monitoring.service_label
        per_service = {
            s.label(by, "?"): s.mean()
            for s in self.client.query_range(f"up{sel}", window.start, window.end, step)
        }
        up = sum(1 for v in points if v >= 1)
        value = up / len(points) if points else None
        return Reading("uptime", value, "ratio", len(points), query, step, per_service,
                       {"up_probes": up, "per_service_query": f"up{sel}"})

    def error_ratio(self, window: Window) -> Reading:
        by = self.monitoring.service_label
        step = self.rate_step(window)
        failed_sel = selector(self.monitoring, 'status=~"5.."')
        errors_q = f"sum by ({by}) (increase(http_requests_total{failed_sel}[{_duration(step)}]))"
        total_q = f"sum by ({by}) (increase(http_requests_total{selector(self.monitoring)}[{_duration(step)}]))"
        start = window.start + timedelta(seconds=step)  # each step looks back one step: stay inside the window
        errors = _totals(self.client.query_range(errors_q, start, window.end, step), by)
        totals = _totals(self.client.query_range(total_q, start, window.end, step), by)
        requests, failed = sum(totals.values()), sum(errors.values())
        value = failed / requests if requests else None
        per_service = {svc: (errors.get(svc, 0.0) / n if n else None) for svc, n in totals.items()}
        samples = len(_steps(start, window.end, step))
        return Reading("error_ratio", value, "ratio", samples, f"({errors_q}) / ({total_q})", step, per_service,
                       {"requests": round(requests, 3), "errors": round(failed, 3)})

    def latency_p95(self, window: Window) -> Reading:
        by = self.monitoring.service_label
        sel = selector(self.monitoring)
        whole = (f"histogram_quantile(0.95, sum by (le) "
                 f"(increase(http_request_duration_seconds_bucket{sel}[{_duration(window.seconds)}])))")
        per_q = (f"histogram_quantile(0.95, sum by ({by}, le) "
                 f"(increase(http_request_duration_seconds_bucket{sel}[{_duration(window.seconds)}])))")
        found = self.client.query(whole, window.end)
        value = found[0].values[0] if found and found[0].values else None
        per_service = {s.label(by, "?"): (s.values[0] if s.values else None)
                       for s in self.client.query(per_q, window.end)}
        step = self.rate_step(window)
        series_q = (f"histogram_quantile(0.95, sum by (le) "
                    f"(increase(http_request_duration_seconds_bucket{sel}[{_duration(step)}])))")
        series = self.client.query_range(series_q, window.start + timedelta(seconds=step), window.end, step)
        points = [[s.ts, s.value] for s in series[0].samples] if series else []
        return Reading("latency_p95", value, "s", len(points), whole, step, per_service,
                       {"per_step_query": series_q, "per_step": points[-500:]})

    def read_all(self, window: Window) -> list[Reading | PrometheusQueryError]:
        """Every SLI; one whose query Prometheus refuses comes back as its error, and the others are still read."""
        out: list[Reading | PrometheusQueryError] = []
        for read in (self.uptime, self.error_ratio, self.latency_p95):
            try:
                out.append(read(window))
            except PrometheusQueryError as exc:
                exc.sli = read.__name__  # type: ignore[attr-defined]
                out.append(exc)
        return out


def _totals(series: list[Series], label: str) -> dict[str, float]:
    return {s.label(label, "?"): sum(s.values) for s in series}


def _steps(start: datetime, end: datetime, step: float) -> list[float]:
    out, t = [], start.timestamp()
    while t <= end.timestamp() + 1e-9:
        out.append(t)
        t += step
    return out


# -- evidence ----------------------------------------------------------------------------------------------
CRITERIA = {"uptime": "beta.uptime", "error_ratio": "alpha.stability", "latency_p95": "alpha.stability"}


def tolerance(reading: Reading, window: Window) -> float:
    """How far the two sources may differ and still agree: one scrape interval's worth of the window for
    uptime (Prometheus sees a change up to one scrape late); for the others, a tenth of the value."""
    if reading.sli == "uptime":
        return reading.step / window.seconds
    return 0.1 * abs(reading.value or 0.0) + 1e-9


def to_evidence(reading: Reading, window: Window, *, run: str, target: str, monitoring: Monitoring,
                harness: float | None = None) -> Evidence:
    primary = monitoring.slis == "instead"
    name = reading.sli if primary else f"{reading.sli}.{SOURCE}"
    details: dict[str, Any] = {
        "source": SOURCE, "query": reading.query, "prometheus": monitoring.prometheus, "step_s": reading.step,
        "window_s": window.seconds, "informs": CRITERIA[reading.sli], "scored": primary,
        "services": {k: (None if v is None else round(v, 6)) for k, v in reading.per_service.items()},
        **reading.extra,
    }
    if reading.sli == "uptime":
        details["probes"] = reading.samples
    else:
        details["samples"] = reading.samples
    if reading.value is None:
        details["no_data"] = no_data("no-events", f"{reading.query} found no samples between {iso(window.start)} "
                                                  f"and {iso(window.end)}")
    if harness is not None and reading.value is not None:
        gap = abs(reading.value - harness)
        details["harness"] = {"value": harness, "difference": round(gap, 9),
                              "tolerance": round(tolerance(reading, window), 9),
                              "agrees": gap <= tolerance(reading, window)}
    return Evidence(
        run=run, kind="measurement", name=name,
        # A measurement that was taken passed as a measurement; the threshold is gates.yaml's to apply.
        outcome="passed" if reading.value is not None else "skipped",
        criterion="beta.uptime" if reading.sli == "uptime" else None,
        value=None if reading.value is None else round(reading.value, 9), unit=reading.unit,
        started=iso(window.start), finished=iso(window.end), target=target, details=details,
    )


def failed_query_record(sli: str, query: str, error: str, window: Window, *, run: str, target: str,
                  monitoring: Monitoring, status: int | None = None) -> Evidence:
    """An SLI whose query failed: evidence that it was tried, with the error, never mistaken for "no data"."""
    name = sli if monitoring.slis == "instead" else f"{sli}.{SOURCE}"
    return Evidence(
        run=run, kind="measurement", name=name, outcome="error",
        criterion="beta.uptime" if sli == "uptime" else None,
        started=iso(window.start), finished=iso(window.end), target=target,
        details={"source": SOURCE, "query": query, "prometheus": monitoring.prometheus, "error": error,
                 "status": status, "informs": CRITERIA.get(sli), "no_data": no_data("query-failed", error)},
    )




def write_slis(writer: EvidenceWriter, monitoring: Monitoring, window: Window, *, target: str,
               scrape_interval: float, harness: dict[str, float] | None = None) -> list[Evidence]:
    """Reads every SLI over `window` and appends one record each to `writer`'s stream."""
    with PrometheusClient(monitoring.prometheus) as client:
        readings = SliReader(client, monitoring, scrape_interval).read_all(window)
    records = [
        to_evidence(r, window, run=writer.run_id, target=target, monitoring=monitoring,
                    harness=(harness or {}).get(r.sli)) if isinstance(r, Reading)
        else failed_query_record(getattr(r, "sli", "sli"), r.query, r.message, window, run=writer.run_id, target=target,
                           monitoring=monitoring, status=r.status)
        for r in readings
    ]
    for record in records:
        writer.write(record)
    return records


def record_window(target: Target, run_dir: Path, window: Window, *, scrape_interval: float | None = None,
                  stream: str = "prometheus") -> list[Evidence]:
    """The SLIs of a target that names a Prometheus, for a run's window. A Prometheus that cannot answer makes each
    SLI's record an error with the reason ("query failed", never "no data"): evidence of trying, not a crash."""
    monitoring = target.monitoring
    if monitoring is None:
        return []
    writer = EvidenceWriter(run_dir, stream)
    try:
        return write_slis(writer, monitoring, window, target=target.name,
                          scrape_interval=scrape_interval or monitoring.scrape_interval)
    except DriverError as exc:  # Prometheus unreachable: every SLI's query failed, each with the reason
        records = [failed_query_record(sli, "", str(exc), window, run=writer.run_id, target=target.name,
                                 monitoring=monitoring) for sli in CRITERIA]
        for record in records:
            writer.write(record)
        return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launchgate.monitoring.slis",
                                     description="Write Prometheus SLI evidence for a run directory.")
    parser.add_argument("--target", default="reference")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--last", type=float, default=3600.0, help="window: the last N seconds (default 1 h)")
    parser.add_argument("--scrape-interval", type=float, help="default: the profile's [monitoring] scrape_interval")
    parser.add_argument("--prometheus", help="override the profile's [monitoring] prometheus URL")
    args = parser.parse_args(argv)
    target = load_target(args.target)
    monitoring = target.monitoring
    if args.prometheus:
        monitoring = Monitoring(args.prometheus) if monitoring is None else \
            dataclasses.replace(monitoring, prometheus=args.prometheus)
    if monitoring is None:
        print(f"slis: target {target.name} names no Prometheus ([monitoring] prometheus = ...)", file=sys.stderr)
        return 2
    try:
        records = write_slis(EvidenceWriter(args.run_dir, "prometheus"), monitoring, Window.last(args.last),
                             target=target.name, scrape_interval=args.scrape_interval or monitoring.scrape_interval)
    except DriverError as exc:
        print(f"slis: {exc}", file=sys.stderr)
        return 1
    for rec in records:
        print(f"{rec.name}: {rec.value} {rec.unit}   ({rec.details['query']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
