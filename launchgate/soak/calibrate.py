"""Before a soak judges the target: how much of its generator the soak's load takes.

The soak's own locustfile, plan and users run for a few seconds in one Locust process against a null target on
127.0.0.1, where every route answers 200 at once (with the ids the tasks read back). That is the most the soak's
users can ask, since a real target only slows them down, and the CPU it costs one Locust process. A process past
GENERATOR_SATURATED_CPU delays its users and inflates their timings, so the headroom is that level over the
measured CPU; each of the soak's Locust processes (local or remote workers) carries its share of the users.
The target sees none of this traffic.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from launchgate import procs
from launchgate.soak.errors import SoakError
from launchgate.soak.loadgen import LoadGenerator, last_line
from launchgate.soak.windows import GENERATOR_SATURATED_CPU

# What every route of the null target answers: the ids that load/soak.py's tasks read back from a created record.
NULL_BODY = json.dumps({"success": True, "campaign": {"id": "calibration"}, "data": {"id": "calibration"}}).encode()
NULL_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(NULL_BODY)).encode() + b"\r\n\r\n" + NULL_BODY)
MAX_HEAD = 65536  # a request head larger than this is not HTTP from Locust: the connection is closed
TIGHT_HEADROOM = 1.5  # below this, the soak is warned before it starts


class _NullTarget(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: each request's head and Content-Length body is read, and NULL_RESPONSE sent."""

    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still coming
            self.buffer = self.buffer[end + 4 + length:]
            self.counter[0] += 1
            self.transport.write(NULL_RESPONSE)
        if len(self.buffer) > MAX_HEAD:
            self.transport.close()


@contextmanager
def null_target() -> Iterator[tuple[str, list[int]]]:
    """A null target on 127.0.0.1 in a thread of its own: its base URL and its request counter."""
    loop = asyncio.new_event_loop()
    counter = [0]
    server = loop.run_until_complete(loop.create_server(lambda: _NullTarget(counter), "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, name="soak-null-target", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", counter
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def on_null_target(url: str, base: str) -> str:
    """`url` with its scheme, host and port replaced by the null target's `base`."""
    parts = urlsplit(url)
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Calibration:
    seconds: float
    users: int
    processes: int  # Locust processes that will carry the soak's users (1, or the workers)
    rps: float  # what the users asked of the null target
    cpu_percent: float  # of the one Locust process that carried them all

    @property
    def cpu_per_process(self) -> float:
        return self.cpu_percent / self.processes

    @property
    def headroom(self) -> float | None:
        """How many times the soak's load its generator gives before saturating (None: too little CPU to tell)."""
        return GENERATOR_SATURATED_CPU / self.cpu_per_process if self.cpu_per_process >= 0.5 else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "headroom": self.headroom}

    def describe(self) -> str:
        share = f", {self.cpu_per_process:.0f}% in each of {self.processes}" if self.processes > 1 else ""
        room = (f"headroom {self.headroom:.1f}x before a process saturates at {GENERATOR_SATURATED_CPU:.0f}%"
                if self.headroom is not None else "too little to measure: ample headroom")
        line = (f"load generator, calibrated for {self.seconds:.0f} s against a null target on 127.0.0.1: the soak's "
                f"{self.users} user(s), answered at once, ask {self.rps:.0f} req/s, {self.cpu_percent:.0f}% of one "
                f"Locust process's CPU{share}; {room}")
        if self.headroom is not None and self.headroom < TIGHT_HEADROOM:
            line += ("\n  warning: the generator is near its limit before the target adds any latency; windows it "
                     "saturates will not judge latency: add --workers, or remote workers")
        return line


def calibrate(run_dir: Path, locustfile: Path, plan: dict[str, Any], users: int, processes: int,
              seconds: float) -> Calibration:
    """Runs the soak's users in one local Locust process against a null target for `seconds` (after its start)."""
    with null_target() as (base, counter):
        routes = {key: {**route, "url": on_null_target(str(route["url"]), base)}
                  for key, route in dict(plan.get("routes") or {}).items()}
        loadgen = LoadGenerator(run_dir / "calibration", locustfile, {**plan, "host": base, "routes": routes}, {},
                                users, float(users), seconds + 30, die_with_harness=True)
        loadgen.start()
        try:
            process = psutil.Process(loadgen.pid() or 0)
            # Measured once every user runs: Locust's start-up and spawning are not the load.
            deadline = time.monotonic() + 10
            while int(last_line(loadgen.seconds_file).get("users") or 0) < users and time.monotonic() < deadline:
                time.sleep(0.1)
            cpu0, n0, t0 = sum(process.cpu_times()[:2]), counter[0], time.monotonic()
            time.sleep(seconds)
            cpu1, n1, t1 = sum(process.cpu_times()[:2]), counter[0], time.monotonic()
        except psutil.Error as exc:
            raise SoakError(f"the calibration's Locust ended early: {procs.tail(loadgen.log, 10)}") from exc
        finally:
            loadgen.kill()
    elapsed = t1 - t0
    return Calibration(round(seconds, 1), users, max(1, processes), round((n1 - n0) / elapsed, 1),
                       round(100 * (cpu1 - cpu0) / elapsed, 1))

