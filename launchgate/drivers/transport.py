"""Encryption in transit, seen from the outside: does an endpoint speak https, and what does its plain-http twin do?

An endpoint on the loopback interface is reported as such: its traffic never leaves the host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TransportReading:
    label: str
    url: str
    verdict: str  # loopback | encrypted | finding
    detail: str


def on_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


Probe = Callable[[str], httpx.Response]


def _probe(url: str) -> httpx.Response:
    return httpx.get(url, timeout=PROBE_TIMEOUT_S, follow_redirects=False)


def read_transport(label: str, url: str, probe: Probe = _probe) -> TransportReading:
    """How `url` protects its traffic: loopback (exempt), encrypted (https, and http refused or redirected to
    https), or a finding that says what is wrong. The https probe verifies the certificate."""
    parts = urlsplit(url)
    if on_loopback(parts.hostname):
        return TransportReading(label, url, "loopback", f"{parts.hostname} is the loopback interface")
    if parts.scheme != "https":
        return TransportReading(label, url, "finding", f"{label} uses {parts.scheme}://, not https://")
    try:
        probe(url)
    except httpx.ConnectError as exc:
        reason = "its TLS certificate or handshake is not valid" if "SSL" in str(exc) or "certificate" in str(exc) \
            else "it cannot be reached over https"
        return TransportReading(label, url, "finding", f"{label}: {reason} ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return TransportReading(label, url, "finding", f"{label}: https probe failed ({type(exc).__name__})")
    plain = urlunsplit(("http", parts.hostname or "", parts.path or "/", parts.query, ""))
    try:
        reply = probe(plain)
    except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError):
        return TransportReading(label, url, "encrypted", "https; plain http is refused")
    except httpx.HTTPError as exc:
        return TransportReading(label, url, "encrypted", f"https; plain http fails ({type(exc).__name__})")
    location = reply.headers.get("location", "")
    if reply.is_redirect and location.startswith("https://"):
        return TransportReading(label, url, "encrypted", f"https; plain http redirects ({reply.status_code}) to https")
    return TransportReading(
        label, url, "finding",
        f"{label}: plain http on port 80 answers {reply.status_code} instead of refusing or redirecting to https",
    )
