"""Errors raised by drivers, carrying what a reader needs to see where it failed."""

from __future__ import annotations


class DriverError(Exception):
    """A driver call failed; the message names the URL, status or transaction."""


class ApiError(DriverError):
    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        super().__init__(f"{method} {url} answered {status}: {body[:500]}")


class UnreachableError(DriverError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"cannot reach {url}: {reason}")


class TimeoutWaitingError(DriverError):
    """A poll gave up: the message says what was awaited and what was last seen."""
