"""Light, bounded traffic through a target's front door, each answer recorded with the release slot that served it.

Two shapes: `SteadyTraffic`, a background thread sending a few requests per second while a deploy hook switches
slots; and `send_requests`, N requests in a row, for a canary's share. Only loopback targets get background
traffic from the gate suite: it is load, and load on a shared deployment belongs to the soak (load/).
The slot is read from the answer's X-LG-Slot header (reference371os/gateway/upstreams.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from launchgate.drivers.errors import DriverError, UnreachableError
from launchgate.drivers.http import ApiClient

SLOT_HEADER = "X-LG-Slot"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the request was sent
    status: int | None  # None: no answer at all
    slot: str | None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 400


@dataclass
class TrafficLog:
    answers: list[Answer] = field(default_factory=list)

    def since(self, moment: float) -> list[Answer]:
        return [a for a in self.answers if a.at >= moment]

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.failed]

    def slots(self) -> Counter[str]:
        return Counter(a.slot or "(none)" for a in self.answers)

    def error_rate(self, slot: str) -> float:
        served = [a for a in self.answers if a.slot == slot]
        return sum(a.failed for a in served) / len(served) if served else 0.0

    def describe_failures(self, limit: int = 5) -> str:
        failed = self.failures()
        shown = "; ".join(f"{a.status or a.error} (slot {a.slot or 'none'})" for a in failed[:limit])
        more = f" and {len(failed) - limit} more" if len(failed) > limit else ""
        return f"{len(failed)} of {len(self.answers)} requests failed: {shown}{more}"


def _one(client: ApiClient, path: str) -> Answer:
    at = time.monotonic()
    try:
        response = client.raw("GET", path)
    except UnreachableError as exc:
        return Answer(at, None, None, str(exc)[:200])
    return Answer(at, response.status_code, response.headers.get(SLOT_HEADER))


def serving_slot(client: ApiClient, path: str) -> str | None:
    """The release slot that serves `path` now (SLOT_HEADER of one answer); None when the target names none."""
    return _one(client, path).slot


def send_requests(client: ApiClient, path: str, count: int) -> TrafficLog:
    """`count` GET requests in a row, each answer recorded."""
    log = TrafficLog()
    for _ in range(count):
        log.answers.append(_one(client, path))
    return log


class SteadyTraffic:
    """`rate` GET requests per second to `path` from one background thread, until stopped or bounded.

    Bounded twice over: at most `max_requests`, and no longer than `max_seconds`, whatever the caller forgets.
    """

    def __init__(
        self, client: ApiClient, path: str, *, rate: float = 8.0, max_requests: int = 1200, max_seconds: float = 120.0
    ) -> None:
        if not is_loopback(client.base_url):
            raise DriverError(f"background traffic goes to loopback targets only, not {client.base_url}")
        self.client, self.path, self.rate = client, path, rate
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.log = TrafficLog()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="launchgate-steady-traffic", daemon=True)

    def start(self) -> SteadyTraffic:
        self._thread.start()
        return self

    def stop(self) -> TrafficLog:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        return self.log

    def _run(self) -> None:
        started = time.monotonic()
        interval = 1.0 / self.rate
        next_at = started
        while not self._stop.is_set() and len(self.log.answers) < self.max_requests:
            if time.monotonic() - started > self.max_seconds:
                return
            self.log.answers.append(_one(self.client, self.path))
            next_at += interval
            # Paces the requests; stop() interrupts the wait at once.
            self._stop.wait(max(0.0, next_at - time.monotonic()))
