"""Every answer the target gave the harness in this process: a leak scan of its headers and body, and counts per
route for the run's own request error rate.

The scan is detect-secrets' plugins, minus those that flag what 371OS hands out by design (high-entropy hex and
base64 are its hashes, transaction ids and ids; a JWT is a login's answer), plus the secrets the harness knows
the target holds, matched exactly. A value the harness itself sends as its credential (a Bearer token, an API
key) is the caller's own, not a leak. Values are never kept: a finding holds a masked form of it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

# detect-secrets plugins that would flag what the contract returns by design.
UNUSED_PLUGINS = {
    "Base64HighEntropyString": "ids, hashes and tokens are high-entropy by nature",
    "HexHighEntropyString": "verification hashes and transaction hashes are what 371OS returns",
    "JwtTokenDetector": "a login answers with the caller's own session token",
    "IPPublicDetector": "an address is not a secret",
}
SCAN_LIMIT_BYTES = 64 * 1024  # per answer (detect-secrets costs ~1.5 µs a byte here); the rest is counted unscanned
SEEN_LIMIT = 200_000  # answers remembered to skip repeats (16 bytes each)
_ID_SEGMENT = re.compile(r"^(?=.*\d)[\w.:-]{6,}$|^\d+$")  # an id, a hash, a number: one route, not one per record


@dataclass(frozen=True)
class Leak:
    kind: str  # the plugin's secret type, or "known secret"
    route: str
    where: str  # "body" or the header's name
    masked: str


@dataclass
class AnswerJournal:
    # Off until a gate-suite session starts (launchgate/bdd/evidence_plugin.py): the harness's own tests and
    # tools pay nothing for it.
    enabled: bool = False
    known: set[str] = field(default_factory=set)
    own_credentials: set[str] = field(default_factory=set)
    answers: int = 0
    scanned_bytes: int = 0
    unscanned_bytes: int = 0
    scan_seconds: float = 0.0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (route, status); 0: no answer
    seconds: Counter[str] = field(default_factory=Counter)  # per route, the time its answers took
    _candidates: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, route, where) -> value
    _seen: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def know(self, secrets: Iterable[str]) -> None:
        self.known.update(s for s in secrets if len(s) >= 6)

    def on_request(self, request: httpx.Request) -> None:
        """httpx request hook: remembers the credentials the harness sends, which are its own to see."""
        if not self.enabled:
            return
        auth = request.headers.get("authorization", "")
        for value in (auth.partition(" ")[2], request.headers.get("x-api-key", "")):
            if value:
                with self._lock:
                    self.own_credentials.add(value)

    def on_response(self, response: httpx.Response) -> None:
        """httpx response hook (and called directly by drivers that use httpx without a client)."""
        if not self.enabled:
            return
        response.read()
        route = route_of(response.request.method, str(response.request.url))
        parts = [(name, f"{name}: {value}") for name, value in response.headers.items()]
        parts.append(("body", response.text))
        digest = hashlib.blake2b("\n".join(text for _, text in parts).encode(), digest_size=16).digest()
        with self._lock:
            self.answers += 1
            self.statuses[(route, response.status_code)] += 1
            self.seconds[route] += _elapsed(response)
            if digest in self._seen:  # a poll that read the same answer again
                return
            if len(self._seen) >= SEEN_LIMIT:  # a process that runs for days: memory stays bounded
                self._seen.clear()
            self._seen.add(digest)
        self._scan(route, parts)

    def on_unanswered(self, method: str, url: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.statuses[(route_of(method, url), 0)] += 1

    def _scan(self, route: str, parts: list[tuple[str, str]]) -> None:
        scan_line = _scanner()
        started = time.process_time()
        found: dict[tuple[str, str, str], str] = {}
        scanned = unscanned = 0
        for where, text in parts:
            known = next((s for s in self.known if s in text), None)
            if known is not None:
                found[("known secret", route, where)] = known
            head = text[:SCAN_LIMIT_BYTES]
            scanned, unscanned = scanned + len(head), unscanned + len(text) - len(head)
            for line in head.splitlines():
                for hit in scan_line(line):
                    found.setdefault((hit.type, route, where), hit.secret_value or "")
        with self._lock:
            self.scanned_bytes += scanned
            self.unscanned_bytes += unscanned
            self.scan_seconds += time.process_time() - started
            for key, value in found.items():
                self._candidates.setdefault(key, value)

    def leaks(self) -> list[Leak]:
        """What leaked: every finding whose value is not a credential the harness itself sent."""
        with self._lock:
            return [Leak(kind, route, where, mask(value)) for (kind, route, where), value in self._candidates.items()
                    if value not in self.own_credentials]

    def error_answers(self) -> Counter[str]:
        """Per route, the answers that were 5xx or never came."""
        return Counter({route: n for (route, status), n in self.statuses.items() if status == 0 or status >= 500})


def _elapsed(response: httpx.Response) -> float:
    """Its time, known once read() has closed it; 0 for an answer no client timed (built by hand)."""
    try:
        return response.elapsed.total_seconds()
    except RuntimeError:
        return 0.0


def route_of(method: str, url: str) -> str:
    """`GET /api/campaigns/{id}`: ids, hashes and numbers in a path are one route."""
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in urlsplit(url).path.split("/")]
    return f"{method} {'/'.join(segments) or '/'}"


def mask(value: str) -> str:
    """Where a leaked value would be shown: its length only, so the report repeats nothing of it."""
    return f"a value of {len(value)} characters"


@functools.cache
def _scanner() -> Callable[[str], Iterable[Any]]:
    """detect-secrets' line scanner, with every plugin it has but those in UNUSED_PLUGINS (its settings are
    process-wide); imported on first use, as it takes ~0.2 s."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import get_settings

    names = [cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()]
    get_settings().configure_plugins([{"name": n} for n in names if n not in UNUSED_PLUGINS])
    return scan_line


_JOURNAL = AnswerJournal()


def journal() -> AnswerJournal:
    """This process's journal: every ApiClient reports to it."""
    return _JOURNAL
