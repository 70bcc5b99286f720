"""Logging with secret redaction, and Prometheus metrics for every service."""

from __future__ import annotations

import logging
import sys

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # *_created gauges double the exposition for nothing a dashboard reads

REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route and status", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

REDACTED = "[REDACTED]"


class RedactingFilter(logging.Filter):
    """Replaces every known secret in a log record's final text."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        return True


def setup_logging(service: str, level: str, secrets: list[str], redact: bool = True) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    if redact:
        handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO: noise under load, and URLs are not for every log level.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
        lg.setLevel(level)
    return logging.getLogger(f"reference371os.{service}")
