"""Which upstream service answers which public path prefix: the gateway's whole routing table."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class RouteEntry:
    prefix: str  # no trailing slash; matches the prefix itself and everything below it
    service: str


ROUTES: tuple[RouteEntry, ...] = (
    RouteEntry("/api/email", "conduit"),
    RouteEntry("/api/agent", "conduit"),
    RouteEntry("/api/agents", "conduit"),
    RouteEntry("/api/analytics", "conduit"),
    RouteEntry("/api/dao", "conduit"),
    RouteEntry("/api/approvals", "conduit"),
    RouteEntry("/api/governance", "governance"),
    RouteEntry("/api/auth", "platform"),
    RouteEntry("/api/social", "platform"),
    RouteEntry("/api/feedback", "platform"),
)

# Service-to-service routes: reachable only inside the stack, never through the gateway.
BLOCKED_PREFIXES: tuple[str, ...] = ("/internal",)

UPSTREAMS: tuple[str, ...] = tuple(dict.fromkeys(r.service for r in ROUTES))

# Every method a REST client may use; FastAPI needs them listed per route.
METHODS: list[str] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def route_for(path: str) -> RouteEntry | None:
    """The entry serving `path`, or None. The app mounts one route per entry; this serves the tests and tools."""
    if not is_forwardable(path):
        return None
    for entry in ROUTES:
        if path == entry.prefix or path.startswith(entry.prefix + "/"):
            return entry
    return None


def is_forwardable(path: str) -> bool:
    """False for paths that could reach something other than what their prefix says.

    Dot segments are refused outright: an HTTP client may normalise `/api/email/../../internal/x`
    into `/internal/x` after our prefix check, and no real route needs them. Checked on the decoded
    path too, so `%2e%2e` and `%2f` cannot smuggle them past.
    """
    for candidate in (path, unquote(path)):
        if any(candidate == p or candidate.startswith(p + "/") for p in BLOCKED_PREFIXES):
            return False
        segments = candidate.split("/")
        if "." in segments or ".." in segments:
            return False
    return True
