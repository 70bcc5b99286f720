"""Release slots behind the gateway: which conduit process serves a request (blue, green, or a canary's share).

The table of a service is replaced whole by the internal admin route `POST /internal/upstreams`, which only
holders of the internal token reach (the proxy never forwards /internal). A request picks its slot once,
synchronously, and counts itself in flight on it until its answer is back: a switch is one assignment, so no
request sees half a table, and `reference371os rollback` waits for the old slot's count to reach zero before
stopping it (the drain). Every answer names its slot in the X-LG-Slot header, which is how the harness counts
a canary's share.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, Field

from reference371os.kit.auth import INTERNAL_HEADER
from reference371os.layout import SLOTS_FILE

SLOT_HEADER = "X-LG-Slot"
SLOTTED_SERVICES = ("conduit",)
SWITCH_GAP_S = 1.5  # the blue-green-drop fault: how long a switch leaves the service without an upstream
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Routing:
    slots: dict[str, str]  # slot name -> base URL
    primary: str = "blue"
    canary: str | None = None
    percent: float = 0.0  # the canary's share of requests, 0..100
    previous: str | None = None  # the primary before the last switch: where a rollback goes

    def check(self) -> None:
        if self.primary not in self.slots:
            raise ValueError(f"primary slot {self.primary!r} is not one of {sorted(self.slots)}")
        if self.canary is not None and (self.canary not in self.slots or self.canary == self.primary):
            raise ValueError(f"canary slot {self.canary!r} must be a slot other than the primary")
        if not 0 <= self.percent <= 100:
            raise ValueError(f"percent must be between 0 and 100, found {self.percent}")
        for name, url in self.slots.items():
            parts = urlsplit(url)
            # The admin route must not become a way to send user traffic anywhere else.
            if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
                raise ValueError(f"slot {name}: {url!r} is not an http URL on loopback")


class SlotTable:
    """One service's slots. The event loop is single threaded: picks and updates need no lock."""

    def __init__(self, routing: Routing, *, drop_on_switch: bool = False) -> None:
        routing.check()
        self.routing = routing
        self.inflight: Counter[str] = Counter()
        self._drop_on_switch = drop_on_switch
        self._closed_until = 0.0
        self._picks = 0

    def pick(self) -> tuple[str, str] | None:
        """(slot, base URL) for the next request, or None while a faulty switch has the service closed."""
        if time.monotonic() < self._closed_until:
            return None
        r = self.routing
        slot = r.primary
        if r.canary is not None and r.percent > 0:
            # A smooth split, not a coin toss: request n goes to the canary when floor(n·p) steps up, so any
            # window of requests holds the canary's share to within one request.
            self._picks += 1
            share = r.percent / 100
            if math.floor(self._picks * share) > math.floor((self._picks - 1) * share):
                slot = r.canary
        return slot, r.slots[slot]

    @contextmanager
    def serving(self, slot: str) -> Iterator[None]:
        self.inflight[slot] += 1
        try:
            yield
        finally:
            self.inflight[slot] -= 1

    def update(self, routing: Routing) -> None:
        routing.check()
        if routing.canary != self.routing.canary or routing.percent != self.routing.percent:
            self._picks = 0
        switched = routing.primary != self.routing.primary
        self.routing = routing
        if switched and self._drop_on_switch:
            self._closed_until = time.monotonic() + SWITCH_GAP_S

    def view(self) -> dict[str, Any]:
        return {**asdict(self.routing), "inflight": {s: self.inflight.get(s, 0) for s in self.routing.slots}}


def initial_tables(urls: dict[str, str], state_dir: Path, *, drop_on_switch: bool) -> dict[str, SlotTable]:
    """Blue is each slotted service's own process; a slots file left by an earlier switch wins (a restarted
    gateway keeps routing where the operator last sent traffic)."""
    stored: dict[str, Any] = {}
    try:
        stored = json.loads((state_dir / SLOTS_FILE).read_text())
    except (OSError, ValueError):
        stored = {}
    tables = {}
    for service in SLOTTED_SERVICES:
        routing = Routing({"blue": urls[service]})
        saved = stored.get(service) if isinstance(stored, dict) else None
        if isinstance(saved, dict):
            try:
                candidate = Routing(**saved)
                candidate.check()
                routing = candidate
            except (TypeError, ValueError):
                pass  # a damaged file must not keep the gateway down: blue serves
        tables[service] = SlotTable(routing, drop_on_switch=drop_on_switch)
    return tables


class UpstreamsBody(BaseModel):
    service: str = Field(min_length=1, max_length=40)
    slots: dict[str, str] | None = None
    primary: str | None = None
    canary: str | None = None
    percent: float | None = Field(default=None, ge=0, le=100)
    previous: str | None = None


def upstreams_router(tables: dict[str, SlotTable], internal_token: str) -> APIRouter:
    router = APIRouter()

    def internal_only(internal: str | None) -> None:
        if internal is None or not hmac.compare_digest(internal, internal_token):
            raise HTTPException(401, "internal credentials required")

    @router.get("/internal/upstreams")
    def read(internal: str | None = Header(None, alias=INTERNAL_HEADER)) -> dict[str, Any]:
        internal_only(internal)
        return {"success": True, "upstreams": {name: table.view() for name, table in tables.items()}}

    @router.post("/internal/upstreams")
    def write(body: UpstreamsBody, internal: str | None = Header(None, alias=INTERNAL_HEADER)) -> dict[str, Any]:
        internal_only(internal)
        table = tables.get(body.service)
        if table is None:
            raise HTTPException(404, f"service {body.service!r} has no release slots; known: {', '.join(tables)}")
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if k != "service"}
        try:
            table.update(replace(table.routing, **changes))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"success": True, "upstream": table.view()}

    return router
