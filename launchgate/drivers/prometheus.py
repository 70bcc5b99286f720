"""The Prometheus HTTP API (v1): instant and range queries, readiness and scrape targets.

A small typed client: a query the server refuses raises `PrometheusQueryError`, which carries the PromQL
and the server's own message, so a reader sees which expression failed and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from launchgate.drivers.errors import DriverError, UnreachableError

Moment = datetime | float  # a datetime (aware) or Unix seconds


class PrometheusQueryError(DriverError):
    """Prometheus refused or failed a query: the PromQL, the HTTP status and the server's message."""

    def __init__(self, query: str, status: int, error_type: str, message: str) -> None:
        self.query, self.status, self.error_type, self.message = query, status, error_type, message
        super().__init__(f"Prometheus query failed ({status} {error_type}): {message}\n  PromQL: {query}")


@dataclass(frozen=True)
class Sample:
    ts: float  # Unix seconds
    value: float


@dataclass(frozen=True)
class Series:
    """One time series of a query's result: its labels and its samples (one for an instant query)."""

    labels: dict[str, str]
    samples: list[Sample] = field(default_factory=list)

    def label(self, name: str, default: str = "") -> str:
        return self.labels.get(name, default)

    @property
    def values(self) -> list[float]:
        return [s.value for s in self.samples if not math.isnan(s.value)]

    def mean(self) -> float | None:
        values = self.values
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    url: str
    health: str  # up, down, unknown
    last_error: str
    labels: dict[str, str]


def _unix(moment: Moment) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


def _number(raw: str) -> float:
    return float(raw)  # Prometheus sends "NaN", "+Inf" and "-Inf" as strings that float() reads


class PrometheusClient:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- queries --------------------------------------------------------------------------------------
    def query(self, promql: str, at: Moment | None = None) -> list[Series]:
        """An instant query: one sample per series (a scalar comes back as one series without labels)."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = _unix(at)
        return self._series(promql, self._api("/api/v1/query", promql, params))

    def query_range(self, promql: str, start: Moment, end: Moment, step: float) -> list[Series]:
        """A range query from `start` to `end` every `step` seconds."""
        if step <= 0:
            raise ValueError(f"step must be positive, found {step}")
        params = {"query": promql, "start": _unix(start), "end": _unix(end), "step": step}
        return self._series(promql, self._api("/api/v1/query_range", promql, params))

    # -- server state ---------------------------------------------------------------------------------
    def ready(self) -> bool:
        try:
            return self._client.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def targets(self) -> list[ScrapeTarget]:
        body = self._api("/api/v1/targets", "(targets)", {"state": "active"})
        return [
            ScrapeTarget(
                job=str(t.get("labels", {}).get("job", "")),
                url=str(t.get("scrapeUrl", "")),
                health=str(t.get("health", "unknown")),
                last_error=str(t.get("lastError", "")),
                labels=dict(t.get("labels", {})),
            )
            for t in body.get("activeTargets", [])
        ]

    def _api(self, path: str, promql: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.get(path, params=params)
        except httpx.TransportError as exc:
            raise UnreachableError(f"{self.base_url}{path}", type(exc).__name__) from exc
        try:
            body = response.json()
        except ValueError:
            raise PrometheusQueryError(promql, response.status_code, "bad_response", response.text[:300]) from None
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusQueryError(
                promql, response.status_code, str(body.get("errorType", "error")), str(body.get("error", body))[:500]
            )
        return dict(body.get("data", {}))

    @staticmethod
    def _series(promql: str, data: dict[str, Any]) -> list[Series]:
        kind = data.get("resultType")
        result = data.get("result", [])
        if kind == "matrix":
            return [
                Series(dict(r.get("metric", {})), [Sample(float(t), _number(v)) for t, v in r.get("values", [])])
                for r in result
            ]
        if kind == "vector":
            return [Series(dict(r.get("metric", {})), [Sample(float(r["value"][0]), _number(r["value"][1]))])
                    for r in result]
        if kind in ("scalar", "string"):
            return [Series({}, [Sample(float(result[0]), _number(result[1]))])] if kind == "scalar" else []
        raise PrometheusQueryError(promql, 200, "bad_data", f"unknown result type {kind!r}")
