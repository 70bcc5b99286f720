"""What every launchgate locustfile shares: the plan from the harness, routes, auth, and bounded stats.

The harness (launchgate/soak/) passes everything through the environment, never the command line:
- LAUNCHGATE_LOAD       JSON: {"routes": {task: {"method", "url", "name"}}, "weights": {...}, "wait": [lo, hi],
                        "seconds_file": path, ...}; each url is absolute, from the target profile.
- LAUNCHGATE_LOAD_AUTH  JSON: headers that authenticate the load users (a token or an API key); secret.

A worker on another host (`launchgate worker`) builds the same plan from its own profile: it says who it is
(plan["identity"]: locustfile and profile, by name and content hash) to the master over Locust's own custom
messages, and the master refuses one that differs, naming both; the worker then exits 2.

Locust's master keeps a per-second counter for every second of the run and a chart history that only grows
(locust #2045): a 72-hour run must not, so `bounded_stats` trims both. It also writes one JSON line per
second with the *current* latency distribution (Locust's own history CSV carries cumulative percentiles
unless --csv-full-history, whose size grows with every endpoint), which the harness ingests.
"""

from __future__ import annotations

import json
import os
import sys
import time
from bisect import bisect_left
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import STATE_MISSING, LocalRunner, MasterRunner, WorkerRunner

PLAN_ENV = "LAUNCHGATE_LOAD"
AUTH_ENV = "LAUNCHGATE_LOAD_AUTH"
# Upper edges (ms) of the latency histogram the harness stores per second; the last bucket is open.
BUCKET_EDGES_MS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250,
                   300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000,
                   12000, 15000, 20000, 30000, 60000)
KEEP_SECONDS = 30  # per-second counters older than this are dropped: current rates need the last ~10 s


def plan() -> dict[str, Any]:
    raw = os.environ.get(PLAN_ENV)
    if not raw:
        raise RuntimeError(f"{PLAN_ENV} is not set: run this locustfile through `launchgate soak` or `onboard`")
    return dict(json.loads(raw))


def auth_headers() -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(os.environ.get(AUTH_ENV) or "{}").items()}


class Route:
    """One route of the profile's [load] table: method, absolute URL template and the stats name."""

    def __init__(self, spec: dict[str, str]) -> None:
        self.method = spec["method"]
        self.url = spec["url"]
        self.name = spec.get("name") or f"{self.method} {self.url}"

    def format(self, **values: str) -> str:
        return self.url.format(**values)


def routes(config: dict[str, Any]) -> dict[str, Route]:
    return {key: Route(spec) for key, spec in dict(config.get("routes") or {}).items()}


def bucket_of(ms: float) -> int:
    return bisect_left(BUCKET_EDGES_MS, ms)


class FlowCounter:
    """Counts whole user flows (an onboarded user), summed from the workers on the master."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def add(self, name: str, ok: bool) -> None:
        pair = self.counts.setdefault(name, [0, 0])
        pair[0] += 1
        pair[1] += 0 if ok else 1

    def merge(self, other: dict[str, list[int]]) -> None:
        for name, (n, f) in other.items():
            pair = self.counts.setdefault(name, [0, 0])
            pair[0] += n
            pair[1] += f


FLOWS = FlowCounter()


@events.report_to_master.add_listener
def _send_flows(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    data["launchgate_flows"] = FLOWS.counts
    FLOWS.counts = {}


@events.worker_report.add_listener
def _receive_flows(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    FLOWS.merge(data.get("launchgate_flows") or {})


HELLO, REFUSED = "launchgate_hello", "launchgate_refused"


def _described(identity: dict[str, str]) -> str:
    return (f"locustfile {identity.get('locustfile')} ({identity.get('locustfile_sha256', '')[:12]}), profile "
            f"{identity.get('profile')} ({identity.get('profile_sha256', '')[:12]})")


@events.init.add_listener
def _same_plan_everywhere(environment: Environment, **_kw: Any) -> None:
    runner = environment.runner
    mine = plan().get("identity") if os.environ.get(PLAN_ENV) else None
    if isinstance(runner, MasterRunner):
        def hello(environment: Environment, msg: Any, **_kw: Any) -> None:
            theirs = dict(msg.data or {})
            if theirs != mine:
                why = f"the master runs {_described(mine or {})}; this worker has {_described(theirs)}"
                print(f"launchgate: refused Locust worker {msg.node_id}: {why}", file=sys.stderr, flush=True)
                runner.send_message(REFUSED, {"why": why}, client_id=msg.node_id)
                # Forgotten at once, so that it counts towards no --expect-workers (a "quit" from it would make
                # Locust stop a test that has no other worker yet).
                runner.clients.pop(msg.node_id, None)

        runner.register_message(HELLO, hello)
    elif isinstance(runner, WorkerRunner):
        def refused(environment: Environment, msg: Any, **_kw: Any) -> None:
            print(f"launchgate worker: refused by the master: {(msg.data or {}).get('why')}", file=sys.stderr,
                  flush=True)
            os._exit(2)  # nothing of this worker's ran: no load was given

        runner.register_message(REFUSED, refused)
        runner.send_message(HELLO, mine or {})


class Lag:
    """How late this process's greenlets wake: a user's wait between tasks overruns by as much. Each Locust
    process measures its own; workers send theirs with their stats, and the master keeps the worst per second."""

    TICK_S = 0.1

    def __init__(self) -> None:
        self.worst_ms = 0.0

    def probe(self) -> None:
        while True:
            asked = time.perf_counter()
            gevent.sleep(self.TICK_S)
            self.note((time.perf_counter() - asked - self.TICK_S) * 1000)

    def note(self, ms: float) -> None:
        self.worst_ms = max(self.worst_ms, ms)

    def take(self) -> float:
        worst, self.worst_ms = self.worst_ms, 0.0
        return round(worst, 1)


LAG = Lag()


@events.init.add_listener
def _probe_lag(environment: Environment, **_kw: Any) -> None:
    gevent.spawn(LAG.probe)


@events.report_to_master.add_listener
def _send_lag(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    data["launchgate_lag_ms"] = LAG.take()


@events.worker_report.add_listener
def _receive_lag(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
    LAG.note(float(data.get("launchgate_lag_ms") or 0.0))


def generator_state(runner: Any) -> dict[str, Any]:
    """What the load generator can give, each second: the busiest Locust process's CPU (%), how late its users'
    waits ran (ms), and on a master how many workers it has."""
    state: dict[str, Any] = {"lag_ms": LAG.take()}
    if isinstance(runner, MasterRunner):
        nodes = list(runner.clients.values())
        missing = sum(1 for node in nodes if node.state == STATE_MISSING)
        cpu = max([runner.current_cpu_usage, *(node.cpu_usage for node in nodes)])
        return {**state, "cpu": round(float(cpu), 1), "workers": len(nodes) - missing, "missing": missing}
    return {**state, "cpu": round(float(getattr(runner, "current_cpu_usage", 0.0)), 1)}


@events.init.add_listener
def _bounded_stats(environment: Environment, **_kw: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) or not isinstance(runner, LocalRunner | MasterRunner):
        return  # workers send and reset their stats every report: nothing accumulates there
    path = os.environ.get(PLAN_ENV) and plan().get("seconds_file")
    gevent.spawn(_seconds_writer, environment, path)


def _trim(environment: Environment, now: int) -> None:
    stats = environment.stats
    for entry in [*stats.entries.values(), stats.total]:
        for per_second in (entry.num_reqs_per_sec, entry.num_fail_per_sec):
            for t in [t for t in per_second if t < now - KEEP_SECONDS]:
                del per_second[t]
    del stats.history[:-10]  # the chart history of the web UI, which a headless run never shows


def _seconds_writer(environment: Environment, path: str | None) -> None:
    """Each second: cumulative counts, current rates and percentiles, and the latency histogram of that second."""
    out = open(path, "a", buffering=1) if path else None  # noqa: SIM115 - lives as long as the process
    previous: dict[int, int] = {}
    previous_n = 0
    last = 0
    tick = 0
    while True:
        gevent.sleep(1.0 - (time.time() % 1.0))
        now = max(round(time.time()), last + 1)  # one line per second, strictly increasing
        last = now
        tick += 1
        if tick % 10 == 0:
            _trim(environment, now)
        if out is None:
            continue
        total = environment.stats.total
        if total.num_requests < previous_n:
            previous = {}  # the stats were reset: count from zero
        previous_n = total.num_requests
        current = dict(total.response_times)
        histogram: dict[int, int] = {}
        for ms, count in current.items():
            delta = count - previous.get(ms, 0)
            if delta > 0:
                b = bucket_of(ms)
                histogram[b] = histogram.get(b, 0) + delta
        previous = current
        runner = environment.runner
        line = {
            "ts": now,
            "users": runner.user_count if runner is not None else 0,
            "n": total.num_requests,
            "f": total.num_failures,
            "rps": round(total.current_rps or 0.0, 3),
            "fps": round(total.current_fail_per_sec or 0.0, 3),
            "p50": total.get_current_response_time_percentile(0.5) or 0,
            "p95": total.get_current_response_time_percentile(0.95) or 0,
            "h": histogram,
            "flows": FLOWS.counts,
            "gen": generator_state(runner) if runner is not None else {},
        }
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
