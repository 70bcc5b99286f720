"""Polling with a deadline: nothing in launchgate sleeps a fixed time and hopes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from launchgate.drivers.errors import TimeoutWaitingError

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Calls `probe` until it returns a truthy value; raises naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutWaitingError(f"gave up after {timeout:.1f} s waiting for {what}; last seen: {last!r:.300}")
        time.sleep(interval)
