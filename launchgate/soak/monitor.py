"""The soak's monitor: threads in the harness that probe every service's /health each second and scrape its
/metrics, writing everything to soak.sqlite. It never runs inside Locust.

Probes are scheduled on whole-second ticks of the wall clock and run concurrently, so one hung service
cannot delay the others; a tick's results are written together, with the system's `up` (every service
up) under service "all". A service is down when its health route does not answer within the timeout or answers
5xx; any other answer, a 404 from a service with no health route included, is up: a missing health route is a
monitoring.health failure (the gate suite names it), not downtime.
Downtime and restarts (a new process start time, or a new PID in the stack's PID file) become events.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from launchgate import procs
from launchgate.soak import prom
from launchgate.soak.live import Live
from launchgate.soak.store import Recorder


@dataclass(frozen=True)
class Watched:
    name: str
    health_url: str
    metrics_url: str | None
    pidfile: Path | None = None


@dataclass
class _ServiceState:
    down_since: float | None = None
    last_up: float | None = None
    start_time: float | None = None
    pid: int | None = None
    cpu: tuple[float, float] | None = None  # (ts, cpu seconds)
    metrics_ok: bool = False


def _next_tick(interval: float, now: float) -> float:
    return (int(now / interval) + 1) * interval


class Monitor:
    def __init__(self, services: list[Watched], recorder: Recorder, live: Live, *, interval: float = 1.0,
                 scrape_interval: float = 5.0, timeout: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self.recorder = recorder
        self.live = live
        self.interval = interval
        self.scrape_interval = scrape_interval
        self.timeout = timeout
        self.clock = clock
        self.state = {s.name: _ServiceState() for s in services}
        self.system = _ServiceState()
        self._stop = threading.Event()
        # No keep-alive: a probe must see a restarted service as it is, not through a stale pooled connection.
        self._client = httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0,
                                                                         max_connections=4 * len(services) + 4))
        self._pool = ThreadPoolExecutor(max_workers=2 * len(services), thread_name_prefix="soak-probe")
        self._threads = [threading.Thread(target=self._probe_loop, name="soak-prober", daemon=True),
                         threading.Thread(target=self._scrape_loop, name="soak-scraper", daemon=True)]
        self.last_tick: float | None = None

    def start(self) -> Monitor:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self._pool.shutdown(wait=True)
        self._client.close()
        now = self.last_tick or self.clock()
        for name, st in [*self.state.items(), ("all", self.system)]:
            if st.down_since is not None:  # still down at the end: the downtime runs to the last probe
                self.recorder.event(st.down_since, "down", name, now, open=True)

    # -- health probes -----------------------------------------------------------------------------
    def _probe(self, service: Watched) -> tuple[bool, float]:
        started = time.perf_counter()
        try:
            ok = self._client.get(service.health_url).status_code < 500
        except httpx.HTTPError:
            ok = False
        return ok, (time.perf_counter() - started) * 1000

    def _probe_loop(self) -> None:
        pending: deque[tuple[float, list[Future[tuple[bool, float]]]]] = deque()
        # At most one probe in flight per service: a tick that finds one still running shares its answer.
        # Without this a slow host would queue probes faster than they finish, and memory would grow.
        inflight: dict[str, Future[tuple[bool, float]]] = {}
        tick = _next_tick(self.interval, self.clock())
        while not self._stop.is_set():
            if self._stop.wait(max(0.0, tick - self.clock())):
                break
            futures = []
            for service in self.services:
                future = inflight.get(service.name)
                if future is None or future.done():
                    future = inflight[service.name] = self._pool.submit(self._probe, service)
                futures.append(future)
            pending.append((tick, futures))
            # Harvest every tick whose probes are all done (or are past their timeout, then down).
            while pending and (all(f.done() for f in pending[0][1]) or pending[0][0] < self.clock() - self.timeout - 1):
                self._record_tick(*pending.popleft())
            tick = max(tick + self.interval, _next_tick(self.interval, self.clock() - self.interval))
        for item in pending:
            self._record_tick(*item)

    def _record_tick(self, tick: float, futures: list[Future[tuple[bool, float]]]) -> None:
        down: set[str] = set()
        for service, future in zip(self.services, futures, strict=True):
            ok, latency = future.result(timeout=self.timeout + 1) if future.done() else (False, self.timeout * 1000)
            self.recorder.sample("up", service.name, tick, 1.0 if ok else 0.0)
            if ok:
                self.recorder.sample("latency_ms", service.name, tick, latency)
            else:
                down.add(service.name)
            self._transition(service.name, self.state[service.name], ok, tick)
        all_up = not down
        self.recorder.sample("up", "all", tick, 1.0 if all_up else 0.0)
        self._transition("all", self.system, all_up, tick)
        self.live.add_probe(tick, all_up, down)
        self.last_tick = tick

    def _transition(self, name: str, st: _ServiceState, ok: bool, tick: float) -> None:
        if ok:
            if st.down_since is not None:
                self.recorder.event(st.down_since, "down", name, tick)
                st.down_since = None
            st.last_up = tick
        elif st.down_since is None:
            st.down_since = tick

    # -- metrics and PIDs ----------------------------------------------------------------------------
    def _scrape_loop(self) -> None:
        tick = _next_tick(self.scrape_interval, self.clock())
        while not self._stop.wait(max(0.0, tick - self.clock())):
            futures = [(s, self._pool.submit(self._scrape, s)) for s in self.services]
            for service, future in futures:
                try:
                    self._record_scrape(service, tick, *future.result(timeout=self.timeout + 1))
                except Exception as exc:
                    self.recorder.event(tick, "scrape_error", service.name, error=type(exc).__name__)
            every = self.scrape_interval
            tick = max(tick + every, _next_tick(every, self.clock() - every))

    def _scrape(self, service: Watched) -> tuple[prom.Scrape | None, int | None]:
        pid = procs.read_pid(service.pidfile) if service.pidfile else None
        if service.metrics_url is None:
            return None, pid
        try:
            reply = self._client.get(service.metrics_url)
        except httpx.HTTPError:
            return None, pid
        if reply.status_code != 200:
            return None, pid
        return prom.parse(reply.text), pid

    def _record_scrape(self, service: Watched, ts: float, scrape: prom.Scrape | None, pid: int | None) -> None:
        st = self.state[service.name]
        restarted = None
        if pid is not None:
            if st.pid is not None and pid != st.pid:
                restarted = f"PID {st.pid} -> {pid}"
                st.start_time = st.cpu = None  # a new process: its start time is a new baseline, not a second restart
            st.pid = pid
        if scrape is not None:
            st.metrics_ok = True
            if scrape.start_time is not None:
                if st.start_time is not None and abs(scrape.start_time - st.start_time) > 1.0 and restarted is None:
                    restarted = "process start time changed"
                st.start_time = scrape.start_time
            if scrape.rss_bytes is not None:
                self.recorder.sample("rss_bytes", service.name, ts, scrape.rss_bytes)
            if scrape.cpu_seconds is not None:
                if st.cpu is not None and ts > st.cpu[0] and scrape.cpu_seconds >= st.cpu[1]:
                    percent = (scrape.cpu_seconds - st.cpu[1]) / (ts - st.cpu[0]) * 100
                    self.recorder.sample("cpu_percent", service.name, ts, percent)
                st.cpu = (ts, scrape.cpu_seconds)
            self.recorder.put("scrapes", service.name, ts, scrape.rss_bytes, scrape.cpu_seconds, scrape.start_time,
                              pid, scrape.requests, scrape.errors, prom.encode_buckets(scrape.buckets))
        elif pid is not None:
            self.recorder.put("scrapes", service.name, ts, None, None, None, pid, None, None, None)
        if restarted:
            self.recorder.event(ts, "restart", service.name, reason=restarted)
            self.live.add_restart(ts)
