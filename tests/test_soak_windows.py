"""The soak's window maths and its durable series, without any process: synthetic soak.sqlite files.

Locust is never imported here (gevent's monkey-patching breaks this process); load/support.py is read as text.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import sqlite3
from pathlib import Path

import pytest

from launchgate.gates.model import StabilityWindows
from launchgate.soak import analysis, prom
from launchgate.soak.live import Live
from launchgate.soak.loadgen import LoadFeed
from launchgate.soak.store import BUCKETS, DB_NAME, Recorder, connect, read_meta
from launchgate.soak.windows import (
    BUCKET_EDGES_MS,
    Fit,
    RobustTrend,
    bucket_index,
    check_slope,
    histogram_percentile,
    parse_duration,
    window_bounds,
    window_seconds,
)

ROOT = Path(__file__).resolve().parents[1]
BOUNDS = StabilityWindows(
    max_error_rate=0.01, max_p95_ms=500, max_latency_drift_ms_per_hour=10, latency_drift_floor_ms=100,
    max_memory_slope_mb_per_hour=5, memory_growth_floor_mb=32, max_restarts=0, min_uptime=0.999,
)
T0 = 1_800_000_000.0
MB = 1048576.0


# -- durations and windows ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [
    ("72h", 259200), ("10m", 600), ("90s", 90), ("1h30m", 5400), ("45", 45), ("2min", 120), ("1.5h", 5400),
])
def test_durations_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10 parsecs", "-5m", "0s", "h"])
def test_unreadable_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_72_hours_get_hourly_windows_and_short_runs_twelve_of_at_least_10_s() -> None:
    assert window_seconds(72 * 3600, BOUNDS) == 3600
    assert len(window_bounds(T0, T0 + 72 * 3600, 3600)) == 72
    assert window_seconds(600, BOUNDS) == 50  # 10 minutes: 12 windows of 50 s
    assert window_seconds(120, BOUNDS) == 10  # the 2-minute soak: 12 windows of 10 s
    assert window_seconds(60, BOUNDS) == 10  # never shorter than min_window: 6 windows
    assert window_seconds(12 * 3600, BOUNDS) == 3600
    assert window_seconds(6 * 3600, BOUNDS) == 1800


def test_windows_tile_the_run_and_the_last_may_be_short() -> None:
    spans = window_bounds(T0, T0 + 65, 10)
    assert len(spans) == 7
    assert spans[0] == (T0, T0 + 10) and spans[-1] == (T0 + 60, T0 + 65)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    # The sliver an aborted run leaves (here 63 ms) joins the window before it instead of being judged alone.
    assert window_bounds(T0, T0 + 20.063, 10) == [(T0, T0 + 10), (T0 + 10, T0 + 20.063)]


# -- percentiles and slopes --------------------------------------------------------------------------------
def test_percentile_from_the_per_second_histogram() -> None:
    counts = [0] * BUCKETS
    counts[bucket_index(40)] = 95  # (30, 40]
    counts[bucket_index(900)] = 5  # (800, 1000]
    assert 30 < histogram_percentile(counts, 0.5) <= 50
    assert histogram_percentile(counts, 0.95) == pytest.approx(40)
    assert 750 < histogram_percentile(counts, 0.99) <= 1000
    assert histogram_percentile([0] * BUCKETS, 0.95) is None
    top = [0] * BUCKETS
    top[-1] = 3
    assert histogram_percentile(top, 0.95) == BUCKET_EDGES_MS[-1]  # the open bucket: at least its edge


def test_the_locustfile_buckets_match_the_harness() -> None:
    """load/support.py cannot be imported here (Locust): compare its literal instead."""
    tree = ast.parse((ROOT / "load" / "support.py").read_text())
    literal = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", "") == "BUCKET_EDGES_MS" for t in node.targets))
    assert tuple(ast.literal_eval(literal)) == BUCKET_EDGES_MS


def test_least_squares_slope_of_a_line_and_of_noise() -> None:
    fit = Fit()
    for i in range(100):
        fit.add(i / 10, 3.0 + 2.5 * i / 10)
    assert fit.slope == pytest.approx(2.5)
    assert fit.span == pytest.approx(9.9)
    flat = Fit()
    for _ in range(3):
        flat.add(1.0, 5.0)  # one x only: no slope, not a division by zero
    assert flat.slope is None


def test_robust_trend_ignores_a_noisy_neighbour_but_sees_a_climb() -> None:
    spiky = RobustTrend()
    for i, y in enumerate([100, 105, 98, 102, 101, 99, 900, 1200]):  # two slow windows at the end
        spiky.add(i / 360, y)  # 10-second windows, x in hours
    assert abs(spiky.slope or 0) * spiky.span < 100  # less than the floor over the run: not a trend
    climb = RobustTrend()
    for i in range(8):
        climb.add(i / 360, 100 + 40 * i)
    assert climb.slope == pytest.approx(40 * 360)


def test_a_slope_fails_only_above_its_bound_and_its_floor() -> None:
    fit = Fit()
    for i in range(60):
        fit.add(i / 3600, 100 + i * 0.2)  # +12 MB over a minute: 720 MB/h, but below the 32 MB floor
    assert check_slope("memory_slope", fit, 5, 32, "MB/h", "memory").passed is True
    for i in range(60, 120):
        fit.add(i / 3600, 100 + i * 1.0)
    check = check_slope("memory_slope", fit, 5, 32, "MB/h", "memory")
    assert check.passed is False and check.value and check.value > 5
    assert check_slope("memory_slope", Fit(), 5, 32, "MB/h", "memory").passed is None  # too few points
    assert check_slope("memory_slope", Fit(), 5, 32, "MB/h", "memory", no_data=True).no_data


# -- the analysis over a synthetic soak.sqlite ---------------------------------------------------------------
class Synth:
    """A soak.sqlite written the way the harness writes it, one second at a time."""

    def __init__(self, path: Path, seconds: int, services: tuple[str, ...] = ("gateway", "conduit")) -> None:
        self.path, self.seconds, self.services = path, seconds, services
        self.conn = connect(path)
        self.conn.execute("BEGIN")

    def second(self, t: int, *, requests: int = 10, failures: int = 0, latency_ms: float = 40.0,
               down: tuple[str, ...] = (), rss_mb: dict[str, float] | None = None) -> None:
        ts = T0 + t
        for svc in self.services:
            self.conn.execute("INSERT INTO samples VALUES ('up', ?, ?, ?)", (svc, ts, 0.0 if svc in down else 1.0))
            if rss_mb and svc in rss_mb:
                self.conn.execute("INSERT INTO samples VALUES ('rss_bytes', ?, ?, ?)", (svc, ts, rss_mb[svc] * MB))
        self.conn.execute("INSERT INTO samples VALUES ('up', 'all', ?, ?)", (ts, 0.0 if down else 1.0))
        histogram = [0] * BUCKETS
        histogram[bucket_index(latency_ms)] = requests
        self.conn.execute(f"INSERT INTO load_seconds VALUES ({', '.join('?' * (9 + BUCKETS))})",
                          (ts, 1, 5, requests, failures, requests, failures, latency_ms, latency_ms, *histogram))
        if rss_mb:
            self.conn.execute("INSERT INTO scrapes (service, ts, start_time) VALUES ('gateway', ?, ?)", (ts, T0 - 60))

    def event(self, t: float, kind: str, service: str = "", until: float | None = None, **detail: object) -> None:
        self.conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                          (T0 + t, kind, service, None if until is None else T0 + until, json.dumps(detail)))

    def analyze(self) -> analysis.Analysis:
        self.conn.execute("COMMIT")
        self.conn.close()
        return analysis.analyze(self.path, BOUNDS, T0, T0 + self.seconds, window_seconds(self.seconds, BOUNDS),
                                1.0, list(self.services))


def failing(result: analysis.Analysis) -> dict[int, list[str]]:
    return {w.index: [c.name for c in w.failed] for w in result.windows if w.failed}


def test_a_healthy_run_passes_every_window(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, rss_mb={"gateway": 80 + (t % 7) * 0.3, "conduit": 110.0})
    result = synth.analyze()
    assert len(result.windows) == 12
    assert failing(result) == {}
    assert result.outcome == "passed" and result.uptime == 1.0 and result.requests == 1200


def test_an_error_burst_fails_only_its_window(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, failures=3 if 30 <= t < 40 else 0, rss_mb={"gateway": 80.0})
    result = synth.analyze()
    assert failing(result) == {3: ["error_rate"]}
    assert result.outcome == "failed"


def test_a_leak_fails_the_memory_check_once_it_passes_the_floor(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, rss_mb={"gateway": 80.0, "conduit": 100 + max(0, t - 20) * 1.5})  # 1.5 MB/s from 20 s
    result = synth.analyze()
    failed = failing(result)
    assert failed and all(names == ["memory_slope"] for names in failed.values())
    first = min(failed)
    assert 2 <= first <= 5  # after the warm-up window, once 32 MB of growth is predicted
    assert all(i in failed for i in range(first, 12))
    assert result.windows[-1].details["memory_worst_service"] == "conduit"


def test_latency_that_climbs_fails_the_drift_check(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, latency_ms=40 + 4 * t, rss_mb={"gateway": 80.0})  # +4 ms a second
    result = synth.analyze()
    drift_windows = [i for i, names in failing(result).items() if "latency_drift" in names]
    assert drift_windows and min(drift_windows) <= 5
    assert result.drift_ms_per_hour and result.drift_ms_per_hour > 10


@pytest.mark.parametrize(("metric", "worst", "outcome", "why"), [
    ("generator_cpu_percent", 97.0, "skipped", "a Locust process at 97% CPU"),
    ("generator_lag_ms", 400.0, "skipped", "its users' waits overran by 400 ms on average"),
    ("generator_cpu_percent", 40.0, "failed", ""),
])
def test_slow_answers_from_a_saturated_load_generator_are_not_charged_to_the_target(
        tmp_path: Path, metric: str, worst: float, outcome: str, why: str) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, latency_ms=900.0 if 50 <= t < 60 else 40.0, rss_mb={"gateway": 80.0})
        synth.conn.execute("INSERT INTO samples VALUES (?, 'load', ?, ?)", (metric, T0 + t, worst if 50 <= t < 60
                                                                            else 5.0))
    window = synth.analyze().windows[5]
    (p95,) = [c for c in window.checks if c.name == "p95_latency"]
    assert window.outcome == outcome
    if outcome == "skipped":  # inconclusive on latency, with the reason, never passed
        assert p95.passed is None and p95.no_data and f"the load generator was saturated ({why})" in p95.note
    else:
        assert p95.passed is False


def test_downtime_is_measured_at_the_probe_interval(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        synth.second(t, down=("conduit",) if 50 <= t < 57 else (), rss_mb={"gateway": 80.0})
    synth.event(50, "down", "conduit", 57)
    synth.event(50, "down", "all", 57)
    synth.event(58, "restart", "conduit", reason="PID 1 -> 2")
    result = synth.analyze()
    assert failing(result) == {5: ["restarts", "uptime"]}
    assert result.windows[5].details["down_seconds"] == 7
    assert [(d.seconds, d.services) for d in result.downtime] == [(7, ["conduit"])]
    records = analysis.evidence(result, "run", "reference", BOUNDS)
    incident = next(r for r in records if r.kind == "incident")
    assert incident.value == 7 and incident.details["severity"] == "major"
    uptime = [r for r in records if r.name == "uptime"]
    assert len(uptime) == 12 and sum(r.details["probes"] for r in uptime) == 120
    assert min(r.value or 1 for r in uptime) == pytest.approx(0.3)


def test_a_harness_gap_is_neither_downtime_nor_a_verdict(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 120)
    for t in range(120):
        if not 40 <= t < 70:  # the harness was away: no probes, no load ingested
            synth.second(t, rss_mb={"gateway": 80.0})
    synth.event(40, "harness_gap", "", 70)
    result = synth.analyze()
    assert [w.index for w in result.windows] == [0, 1, 2, 3, 7, 8, 9, 10, 11]
    assert failing(result) == {}
    assert result.downtime == [] and result.observed_s == 90
    records = analysis.evidence(result, "run", "reference", BOUNDS)
    gap = next(r for r in records if r.name == "soak.harness-gap")
    assert gap.value == 30 and gap.outcome == "skipped"
    assert not any(r.kind == "incident" for r in records)


def test_evidence_records_windows_uptime_and_a_point_in_time_summary(tmp_path: Path) -> None:
    synth = Synth(tmp_path / DB_NAME, 60)
    for t in range(60):
        synth.second(t)  # no /metrics: memory cannot be judged
    result = synth.analyze()
    records = analysis.evidence(result, "run-1", "reference", BOUNDS)
    windows = [r for r in records if r.name.startswith("soak.window.")]
    assert len(windows) == 6 and all(r.criterion == "alpha.stability" for r in windows)
    assert {r.outcome for r in windows} == {"skipped"}  # no memory readings: inconclusive, never a pass
    assert windows[0].details["checks"]["memory_slope"]["no_data"] is True
    summary = records[-1]
    assert summary.name == "soak.summary" and summary.started == summary.finished
    assert summary.value == 60 and summary.outcome == "skipped"
    assert json.loads(summary.to_json())["details"]["windows"] == 6


def test_analysis_of_72_hours_reads_in_seconds_not_minutes(tmp_path: Path) -> None:
    """Scale in miniature: 6 hours at 1 Hz; bench/bench_soak_analysis.py runs the full 72 hours."""
    seconds = 6 * 3600
    synth = Synth(tmp_path / DB_NAME, seconds)
    for t in range(seconds):
        synth.second(t, rss_mb={"gateway": 80.0} if t % 5 == 0 else None)
    import time

    started = time.monotonic()
    result = synth.analyze()
    assert len(result.windows) == 12
    assert time.monotonic() - started < 5


# -- parsing /metrics --------------------------------------------------------------------------------------
def test_prometheus_text_gives_memory_cpu_start_and_http_totals() -> None:
    text = "\n".join([
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "process_resident_memory_bytes 8.3e+07",
        "process_cpu_seconds_total 12.5",
        "process_start_time_seconds 1.8e+09",
        'http_requests_total{service="gateway",method="GET",route="/a",status="200"} 90.0',
        'http_requests_total{service="gateway",method="GET",route="/a",status="503"} 10.0',
        'http_request_duration_seconds_bucket{service="gateway",method="GET",route="/a",le="0.05"} 80.0',
        'http_request_duration_seconds_bucket{service="gateway",method="GET",route="/b",le="0.05"} 10.0',
        'http_request_duration_seconds_bucket{service="gateway",method="GET",route="/a",le="+Inf"} 100.0',
    ])
    scrape = prom.parse(text)
    assert (scrape.rss_bytes, scrape.cpu_seconds, scrape.start_time) == (8.3e7, 12.5, 1.8e9)
    assert (scrape.requests, scrape.errors) == (100.0, 10.0)
    assert scrape.buckets == {0.05: 90.0, math.inf: 100.0}
    assert prom.decode_buckets(prom.encode_buckets(scrape.buckets)) == scrape.buckets
    assert prom.histogram_quantile(0.5, scrape.buckets) == pytest.approx(0.05 * 50 / 90)


# -- durable ingest ----------------------------------------------------------------------------------------
def _line(ts: int, n: int, f: int, h: dict[str, int] | None = None, flows: dict[str, list[int]] | None = None) -> str:
    return json.dumps({"ts": ts, "users": 3, "n": n, "f": f, "rps": 5.0, "fps": 0.0, "p50": 20, "p95": 40,
                       "h": h or {"9": n}, "flows": flows or {}}) + "\n"


def test_locust_seconds_are_ingested_exactly_once_across_a_crash(tmp_path: Path) -> None:
    seconds = tmp_path / "part-1_seconds.jsonl"
    torn = _line(int(T0) + 2, 40, 1)
    seconds.write_text(_line(int(T0), 10, 0) + _line(int(T0) + 1, 25, 1) + torn[:20])  # Locust is mid-line
    db = tmp_path / DB_NAME
    recorder = Recorder(db).start()
    feed = LoadFeed(recorder, Live(T0, 10))
    feed.add_part(1, seconds)
    feed.poll()
    recorder.close()  # the harness dies here

    conn = connect(db)
    stored = {k.rsplit(".", 1)[1]: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")
              if k.startswith("load.part.")}
    conn.close()
    with seconds.open("a") as fh:  # Locust finishes the torn line and writes on, then a fresh Locust resets
        fh.write(torn[20:] + _line(int(T0) + 3, 5, 0, flows={"x": [2, 1]}))
    recorder = Recorder(db).start()
    feed = LoadFeed(recorder, Live(T0, 10), stored)
    feed.poll()
    feed.poll()  # nothing new: nothing twice
    recorder.close()
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT ts - ?, requests, failures FROM load_seconds ORDER BY ts", (T0,)).fetchall()
    assert rows == [(0.0, 10, 0), (1.0, 15, 1), (2.0, 15, 0), (3.0, 5, 0)]
    assert read_meta(conn, "load.part.1")["flows"] == {"x": [2, 1]}
    assert feed.flows() == {"x": [2, 1]}


def test_recorder_commits_batches_that_a_reader_sees_while_it_writes(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / DB_NAME, flush_s=0.05).start()
    for i in range(2000):
        recorder.sample("up", "gateway", T0 + i, 1.0)
    reader = connect(tmp_path / DB_NAME, readonly=True)
    import time

    deadline = time.monotonic() + 10
    while reader.execute("SELECT COUNT(*) FROM samples").fetchone()[0] < 2000:
        assert time.monotonic() < deadline, "the recorder never committed"
        time.sleep(0.02)
    recorder.close()
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader.close()
    assert recorder.rows_written == 2000 and recorder.error is None


def test_live_window_verdicts_are_judged_as_windows_close() -> None:
    live = Live(T0, 10, judge=lambda w: ["errors"] if (w.error_rate or 0) > 0.01 else [], recent_s=10)
    for t in range(35):
        live.add_load(T0 + t, 10, 5 if 10 <= t < 20 else 0, 10.0, 3, 40.0, [0] * BUCKETS)
        live.add_probe(T0 + t, True, set())
    snap = live.snapshot()
    assert (snap["windows_closed"], snap["windows_failed"]) == (3, 1)
    assert snap["window"].index == 3 and snap["uptime"] == 1.0  # type: ignore[attr-defined]
    assert live.recent(T0 + 34)[:2] == (100, 0)  # the last 10 s: 100 requests, none failed


def test_locusts_own_history_csv_is_ingested_when_there_is_no_seconds_file(tmp_path: Path) -> None:
    """A locustfile that does not use load/support.py: Locust's _stats_history.csv, Aggregated rows only."""
    history = tmp_path / "part-1_stats_history.csv"
    header = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,"
              "100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
              "Total Min Response Time,Total Max Response Time,Total Average Content Size")

    def row(ts: int, name: str, n: int, f: int, p95: str) -> str:
        return f"{ts},3,GET,{name},5.0,0.0,40,50,60,70,80,{p95},100,110,120,130,140,{n},{f},40,42.0,5,140,100"

    t = int(T0)
    history.write_text("\n".join([header, row(t, "Aggregated", 0, 0, "N/A"), row(t + 1, "/x", 9, 0, "90"),
                                  row(t + 1, "Aggregated", 12, 1, "90"), row(t + 2, "Aggregated", 30, 1, "120")])
                       + "\n")
    recorder = Recorder(tmp_path / DB_NAME).start()
    live = Live(T0, 10)
    feed = LoadFeed(recorder, live)
    feed.add_part(1, history)
    feed.poll()
    feed.poll()
    recorder.close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    rows = conn.execute("SELECT ts - ?, requests, failures, p95_ms FROM load_seconds ORDER BY ts", (T0,)).fetchall()
    assert rows == [(0.0, 0, 0, 0.0), (1.0, 12, 1, 90.0), (2.0, 18, 0, 120.0)]
    assert live.window.histogram[bucket_index(120)] == 18
