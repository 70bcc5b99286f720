"""Blue-green and canary releases of the reference stack's conduit: `reference371os deploy|switch|canary|rollback`.

The blue slot is the stack's own conduit process. `deploy --slot green` (or canary) starts another conduit
process on the same database, on the slot's port of the stack's band (layout.SLOT_OFFSETS), and registers it
with the gateway without sending it traffic. `switch` and `canary` change the gateway's table through its
internal admin route; `rollback` undoes the last switch or ends the canary, waits until the gateway has no
request in flight on the abandoned slot (the drain), and stops that process by PID. The gateway's table is
mirrored to <state>/slots.json so that a restarted gateway routes where the operator last sent traffic.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reference371os import procs
from reference371os.layout import SLOT_OFFSETS, SLOTS_FILE
from reference371os.manager import START_TIMEOUT_S, Stack

SERVICE = "conduit"
INTERNAL_HEADER = "X-LG-Internal"  # reference371os.kit.auth's, not imported: it would pull in FastAPI (slow CLI)
DRAIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RollbackResult:
    action: str  # "switched back", "canary ended" or "nothing to roll back"
    serving: str
    stopped: str | None


class Releases:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.gateway = stack.url("gateway")

    # -- gateway table ---------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {INTERNAL_HEADER: self.stack.secrets.internal_token}

    def routing(self) -> dict[str, Any]:
        """The gateway's current table for the conduit: slots, primary, canary, percent, previous, inflight."""
        body = self._call("GET", None)
        return dict(body["upstreams"][SERVICE])

    def _update(self, **changes: Any) -> dict[str, Any]:
        body = self._call("POST", {"service": SERVICE, **changes})
        routing = dict(body["upstream"])
        self._remember(routing)
        return routing

    def _call(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{self.gateway}/internal/upstreams"
        try:
            reply = httpx.request(method, url, json=body, headers=self._headers(), timeout=5)
        except httpx.HTTPError as exc:
            raise procs.StackError(
                f"the gateway at {url} cannot be reached ({type(exc).__name__}): is the stack up?"
            ) from exc
        if reply.status_code != 200:
            raise procs.StackError(f"the gateway refused {method} /internal/upstreams: {reply.status_code} "
                                   f"{reply.text[:300]}")
        return dict(reply.json())

    def _remember(self, routing: dict[str, Any]) -> None:
        keep = {k: routing[k] for k in ("slots", "primary", "canary", "percent", "previous")}
        path = self.stack.state_dir / SLOTS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({SERVICE: keep}, indent=2))
        tmp.replace(path)

    # -- slot processes ----------------------------------------------------------------------------------
    def pidfile(self, slot: str) -> Path:
        return self.stack.pids / f"{SERVICE}-{slot}.pid"

    def url(self, slot: str) -> str:
        return f"http://127.0.0.1:{self.stack.ports.slot(slot)}"

    def running(self, slot: str) -> bool:
        pid = procs.read_pid(self.pidfile(slot))
        return pid is not None and procs.is_alive(pid)

    def start_process(self, slot: str) -> None:
        """Starts the slot's conduit process and waits for its /health, unless it already runs."""
        if self.running(slot):
            return
        port = self.stack.ports.slot(slot)
        if procs.port_in_use(port):
            raise procs.StackError(f"port {port} on 127.0.0.1 (slot {slot}) is busy: stop what holds it")
        env = {**self.stack.service_env(SERVICE), "LG_SLOT": slot, "LG_PORT": str(port)}
        log = self.stack.logs / f"{SERVICE}-{slot}.log"
        proc = procs.start(
            [sys.executable, "-m", "reference371os.serve", SERVICE], env=env, log=log, pidfile=self.pidfile(slot)
        )

        def healthy() -> bool:
            if proc.poll() is not None:
                raise procs.StackError(f"slot {slot} exited during start; last log lines:\n{procs.tail(log)}")
            try:
                return httpx.get(f"{self.url(slot)}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        if not procs.wait_until(healthy, START_TIMEOUT_S, interval=0.1):
            procs.stop(self.pidfile(slot))
            raise procs.StackError(f"slot {slot} was not healthy within {START_TIMEOUT_S:.0f} s; "
                                   f"last log lines:\n{procs.tail(log)}")

    def stop_process(self, slot: str) -> bool:
        return procs.stop(self.pidfile(slot))

    def running_slots(self) -> list[str]:
        return [slot for slot in SLOT_OFFSETS if self.running(slot)]

    # -- the operator's verbs ------------------------------------------------------------------------------
    def deploy(self, slot: str) -> dict[str, Any]:
        """Starts `slot` beside the live version and registers it with the gateway, without traffic."""
        _known_slot(slot, allow_blue=False)
        self.start_process(slot)
        routing = self.routing()
        return self._update(slots={**routing["slots"], slot: self.url(slot)})

    def switch(self, slot: str) -> dict[str, Any]:
        """Sends all traffic to `slot` (blue or a deployed one) in one step; the old slot keeps running."""
        _known_slot(slot, allow_blue=True)
        routing = self.routing()
        if slot not in routing["slots"]:
            raise procs.StackError(f"slot {slot} is not deployed: run `reference371os deploy --slot {slot}` first")
        if routing["primary"] == slot:
            return routing
        return self._update(primary=slot, previous=routing["primary"], canary=None, percent=0)

    def canary(self, slot: str, percent: float) -> dict[str, Any]:
        """Sends `percent` of requests to the deployed `slot`; 0 ends the canary (its process keeps running)."""
        _known_slot(slot, allow_blue=False)
        if not 0 <= percent <= 100:
            raise procs.StackError(f"--percent must be between 0 and 100, found {percent:g}")
        routing = self.routing()
        if slot not in routing["slots"]:
            raise procs.StackError(f"slot {slot} is not deployed: run `reference371os deploy --slot {slot}` first")
        if percent == 0:
            return self._update(canary=None, percent=0)
        return self._update(canary=slot, percent=percent)

    def rollback(self) -> RollbackResult:
        """Ends a canary, else undoes the last switch; then drains and stops the slot rolled back from."""
        routing = self.routing()
        if routing.get("canary"):
            abandoned = str(routing["canary"])
            routing = self._update(canary=None, percent=0)
            action = "canary ended"
        elif routing.get("previous") and routing["previous"] != routing["primary"]:
            abandoned = str(routing["primary"])
            routing = self._update(primary=routing["previous"], previous=None)
            action = "switched back"
        else:
            return RollbackResult("nothing to roll back", str(routing["primary"]), None)
        stopped = None
        if abandoned != "blue":  # blue is the stack's own conduit: `stack down` stops it
            self._drain(abandoned)
            self._update(slots={k: v for k, v in routing["slots"].items() if k != abandoned})
            if self.stop_process(abandoned):
                stopped = abandoned
        return RollbackResult(action, str(routing["primary"]), stopped)

    def _drain(self, slot: str) -> None:
        """Waits until the gateway has no request in flight on `slot`: stopping it earlier would fail them."""
        def idle() -> bool:
            return int(self.routing()["inflight"].get(slot, 0)) == 0

        if not procs.wait_until(idle, DRAIN_TIMEOUT_S, interval=0.05):
            raise procs.StackError(f"slot {slot} still had requests in flight after {DRAIN_TIMEOUT_S:.0f} s; "
                                   "it keeps running: run `reference371os rollback` again")


def _known_slot(slot: str, *, allow_blue: bool) -> None:
    known = (["blue"] if allow_blue else []) + sorted(SLOT_OFFSETS)
    if slot not in known:
        raise procs.StackError(f"unknown slot {slot!r}; known: {', '.join(known)}")
