"""Health, metrics and config views of a target's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from launchgate.drivers.answers import journal
from launchgate.drivers.errors import UnreachableError, summarize_body


@dataclass(frozen=True)
class HealthReading:
    service: str
    url: str
    status_code: int
    body: dict[str, Any]
    text: str = ""

    @property
    def says_operational(self) -> bool:
        return self.status_code == 200 and self.body.get("status") in ("operational", "healthy", "ok")

    @property
    def says_degraded(self) -> bool:
        """Up, but saying a dependency is not: 503, as the 371OS contract's health check answers then."""
        return self.status_code == 503

    def describe(self) -> str:
        return f"GET {self.url} answered {self.status_code}: {self.summary}"

    @property
    def summary(self) -> str:
        """What the health check said, in plain words (the error of a 404 page, else the body)."""
        return summarize_body(self.text, 200)


def read_health(service: str, url: str, timeout: float = 3.0) -> HealthReading:
    try:
        response = httpx.get(url, timeout=timeout)
        journal().on_response(response)
    except httpx.TransportError as exc:
        raise UnreachableError(url, type(exc).__name__) from exc
    try:
        body = response.json()
    except ValueError:
        body = {"raw": response.text[:200]}
    body = body if isinstance(body, dict) else {"raw": body}
    return HealthReading(service, url, response.status_code, body, response.text)


def read_metrics(url: str, timeout: float = 3.0) -> tuple[int, str]:
    try:
        response = httpx.get(url, timeout=timeout)
        journal().on_response(response)
    except httpx.TransportError as exc:
        raise UnreachableError(url, type(exc).__name__) from exc
    return response.status_code, response.text


def metric_families(text: str) -> set[str]:
    """Names of the metric families in a Prometheus text exposition."""
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def read_config(url: str, timeout: float = 3.0) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=timeout)
        journal().on_response(response)
    except httpx.TransportError as exc:
        raise UnreachableError(url, type(exc).__name__) from exc
    if response.status_code != 200:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}  # a page that is not a configuration view
    return dict(body) if isinstance(body, dict) else {}
