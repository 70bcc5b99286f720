"""Polling with a deadline: nothing in launchgate sleeps a fixed time and hopes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from launchgate.drivers.errors import TimeoutWaitingError

T = TypeVar("T")


MAX_PAUSE_S = 0.5


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.02) -> T:
    """Calls `probe` until it returns a truthy value; raises naming `what` and the last value seen. The pause
    between calls starts at `interval` and grows half again each time up to MAX_PAUSE_S: a long wait costs few calls
    (each is a request through the stack), a short one is seen at once."""
    deadline = time.monotonic() + timeout
    pause = interval
    while True:
        last = probe()
        if last:
            return last
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutWaitingError(f"gave up after {timeout:.1f} s waiting for {what}; last seen: {last!r:.300}")
        time.sleep(min(pause, left))
        pause = min(max(interval, MAX_PAUSE_S), pause * 1.5)
