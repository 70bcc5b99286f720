"""Rolling aggregates of a running soak, for the progress line and abort-on-fail: constant memory.

Nothing here keeps samples: the run's totals, the current window's sums, and a ring of the last few
seconds of load for the abort check. The durable record is soak.sqlite; this is only the dashboard.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from launchgate.soak.store import BUCKETS
from launchgate.soak.windows import histogram_percentile


@dataclass
class WindowSums:
    index: int = 0
    requests: int = 0
    failures: int = 0
    probes: int = 0
    up: int = 0
    restarts: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def uptime(self) -> float | None:
        return self.up / self.probes if self.probes else None

    @property
    def p95_ms(self) -> float | None:
        return histogram_percentile(self.histogram, 0.95)


Judge = Callable[[WindowSums], list[str]]


class Live:
    def __init__(self, start: float, window_s: float, judge: Judge | None = None, recent_s: float = 30.0) -> None:
        self._lock = threading.Lock()
        self.judge = judge
        self.windows_closed = 0
        self.windows_failed = 0
        self.start = start
        self.window_s = window_s
        self.window = WindowSums()
        self.requests = 0
        self.failures = 0
        self.probes = 0
        self.up = 0
        self.rps = 0.0
        self.users = 0
        self.down_since: float | None = None  # the whole system, by the probes
        self.down_services: set[str] = set()
        self.restarts = 0
        self.load_ts = 0.0
        self._recent: deque[tuple[float, int, int, float]] = deque(maxlen=int(recent_s) + 5)
        self.recent_s = recent_s

    def _window_for(self, ts: float) -> None:
        index = int((ts - self.start) // self.window_s)
        if index > self.window.index:
            if self.judge is not None and (self.window.probes or self.window.requests):
                self.windows_closed += 1
                self.windows_failed += 1 if self.judge(self.window) else 0
            self.window = WindowSums(index=index)

    def add_load(self, ts: float, requests: int, failures: int, rps: float, users: int, p95: float,
                 histogram: list[int]) -> None:
        with self._lock:
            self._window_for(ts)
            self.requests += requests
            self.failures += failures
            self.window.requests += requests
            self.window.failures += failures
            for i, count in enumerate(histogram):
                self.window.histogram[i] += count
            self.rps, self.users, self.load_ts = rps, users, ts
            self._recent.append((ts, requests, failures, p95))

    def add_probe(self, ts: float, all_up: bool, down: set[str]) -> None:
        with self._lock:
            self._window_for(ts)
            self.probes += 1
            self.window.probes += 1
            if all_up:
                self.up += 1
                self.window.up += 1
                self.down_since = None
            elif self.down_since is None:
                self.down_since = ts
            self.down_services = down

    def add_restart(self, ts: float) -> None:
        with self._lock:
            self._window_for(ts)
            self.restarts += 1
            self.window.restarts += 1

    def recent(self, now: float) -> tuple[int, int, float | None]:
        """Requests, failures and the worst current p95 over the last `recent_s` seconds of load."""
        with self._lock:
            rows = [r for r in self._recent if r[0] > now - self.recent_s]
        return sum(r[1] for r in rows), sum(r[2] for r in rows), max((r[3] for r in rows), default=None)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": self.requests, "failures": self.failures, "rps": self.rps, "users": self.users,
                "uptime": self.up / self.probes if self.probes else None, "probes": self.probes,
                "restarts": self.restarts, "windows_closed": self.windows_closed,
                "windows_failed": self.windows_failed, "down_since": self.down_since,
                "down": sorted(self.down_services),
                "window": WindowSums(self.window.index, self.window.requests, self.window.failures,
                                     self.window.probes, self.window.up, self.window.restarts,
                                     list(self.window.histogram)),
            }
