"""Locust as subprocesses (never imported here: gevent's monkey-patching breaks ssl and web3 in our process).

One headless process, or Locust's own master with W workers on loopback, each started and stopped by PID.
The plan and the load users' credentials go through the environment, never the command line. Each start
is a numbered *part* (a resumed soak may need a second Locust): its files are locust/part-N_*.
The locustfile writes one JSON line per second to part-N_seconds.jsonl (load/support.py), which LoadFeed
ingests into soak.sqlite, remembering its offset in the same transaction as the rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchgate import procs
from launchgate.soak.errors import SoakError
from launchgate.soak.live import Live
from launchgate.soak.store import BUCKETS, Recorder, Row, meta_row
from launchgate.soak.windows import bucket_index

PLAN_ENV = "LAUNCHGATE_LOAD"
AUTH_ENV = "LAUNCHGATE_LOAD_AUTH"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_env(plan: dict[str, Any], locustfile: Path, auth: dict[str, str]) -> dict[str, str]:
    """The environment of a Locust process: the plan, with who it is (load/support.py compares it between a master
    and its workers), and the load users' credentials."""
    profile = plan.get("profile") or {}
    identity = {"locustfile": locustfile.name, "locustfile_sha256": hashlib.sha256(locustfile.read_bytes()).hexdigest(),
                "profile": str(profile.get("name", "")), "profile_sha256": str(profile.get("sha256", ""))}
    return {**os.environ, PLAN_ENV: json.dumps({**plan, "identity": identity}), AUTH_ENV: json.dumps(auth),
            "PYTHONUNBUFFERED": "1"}


@dataclass
class LoadGenerator:
    run_dir: Path
    locustfile: Path
    plan: dict[str, Any]
    auth: dict[str, str]
    users: int
    spawn_rate: float
    run_time_s: float
    workers: int = 0
    part: int = 1
    extra_args: list[str] = field(default_factory=list)
    # Locust gets SIGTERM if the harness dies (even by kill -9). Not for a soak: `--resume` adopts its Locust.
    die_with_harness: bool = False
    # Workers on other hosts (`launchgate worker`): the master binds `master_bind` and the clock starts once
    # they and the local ones have joined, within `worker_wait_s`.
    remote_workers: int = 0
    master_bind: tuple[str, int] = ("127.0.0.1", 0)
    worker_wait_s: float = 120.0

    @property
    def directory(self) -> Path:
        return self.run_dir / "locust"

    @property
    def prefix(self) -> Path:
        return self.directory / f"part-{self.part}"

    @property
    def seconds_file(self) -> Path:
        return Path(f"{self.prefix}_seconds.jsonl")

    @property
    def history_file(self) -> Path:
        """Locust's own per-second history (Aggregated row): ingested when the locustfile writes no seconds file."""
        return Path(f"{self.prefix}_stats_history.csv")

    def stats_source(self) -> Path:
        return self.seconds_file if self.seconds_file.exists() or not self.history_file.exists() else self.history_file

    @property
    def log(self) -> Path:
        return Path(f"{self.prefix}.log")

    def pidfiles(self) -> list[Path]:
        pids = self.run_dir / "pids"
        return [pids / f"locust-{self.part}.pid", *(pids / f"locust-{self.part}-worker-{i}.pid"
                                                    for i in range(1, self.workers + 1))]

    def _env(self) -> dict[str, str]:
        return locust_env({**self.plan, "seconds_file": str(self.seconds_file)}, self.locustfile, self.auth)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        env = self._env()
        base = [sys.executable, "-m", "locust", "-f", str(self.locustfile)]
        main = [*base, "--headless", "--csv", str(self.prefix), "--host", str(self.plan.get("host") or ""),
                "-u", str(self.users), "-r", f"{self.spawn_rate:g}", "-t", f"{max(1, round(self.run_time_s))}s",
                "--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0", *self.extra_args]
        host, port = self.master_bind
        expected = self.workers + self.remote_workers
        if expected:
            port = port or free_port()
            self.master_bind = (host, port)
            main += ["--master", "--master-bind-host", host, "--master-bind-port", str(port),
                     "--expect-workers", str(expected), "--expect-workers-max-wait", f"{self.worker_wait_s:g}"]
        files = self.pidfiles()
        tie = self.die_with_harness
        try:
            procs.start(main, env=env, log=self.log, pidfile=files[0], cwd=self.locustfile.parent, die_with_parent=tie)
            if self.remote_workers:
                print(f"waiting up to {self.worker_wait_s:.0f} s for {self.remote_workers} Locust worker(s) at "
                      f"{host}:{port} (`launchgate worker --master {host}:{port} ...`); the clock starts when they "
                      "have joined", flush=True)
            local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            for i, pidfile in enumerate(files[1:], 1):
                worker = [*base, "--worker", "--master-host", local, "--master-port", str(port)]
                procs.start(worker, env=env, log=Path(f"{self.prefix}-worker-{i}.log"), pidfile=pidfile,
                            cwd=self.locustfile.parent, die_with_parent=tie)
            self._await_first_second()
        except KeyboardInterrupt:  # stopped while starting: the caller has no LoadGenerator to stop yet
            self.kill()
            raise

    def _await_first_second(self) -> None:
        """Up when the locustfile writes its first line (with a master: once every worker has joined); a Locust
        that exits first failed to start."""
        expected = self.workers + self.remote_workers
        deadline = time.monotonic() + START_TIMEOUT_S + (self.worker_wait_s if expected else 0)
        history_since: float | None = None
        joined = 0
        while time.monotonic() < deadline:
            if self.seconds_file.exists() and self.seconds_file.stat().st_size > 0:
                joined = int((last_line(self.seconds_file).get("gen") or {}).get("workers", expected))
                if joined >= expected:
                    if self.remote_workers:
                        print(f"{joined} Locust worker(s) joined: the load starts", flush=True)
                    return
            if history_since is None and self._history_rows():
                history_since = time.monotonic()
            if history_since is not None and not self.seconds_file.exists() and time.monotonic() - history_since > 3:
                return  # no load/support.py in this locustfile: Locust's own history CSV it is
            if not self.alive():
                self.kill()
                if expected and joined < expected:
                    raise SoakError(f"only {joined} of {expected} Locust worker(s) joined the master at "
                                    f"{self.master_bind[0]}:{self.master_bind[1]} within {self.worker_wait_s:.0f} s")
                raise SoakError(f"Locust exited at start ({self.locustfile.name}); it printed:\n"
                                f"{procs.tail(self.log, 30)}")
            time.sleep(0.1)
        self.kill()
        raise SoakError(f"Locust wrote no statistics within {START_TIMEOUT_S:.0f} s; it printed:\n"
                        f"{procs.tail(self.log, 30)}")

    def _history_rows(self) -> bool:
        return self.history_file.exists() and self.history_file.read_bytes().count(b"\n") >= 2

    def pid(self) -> int | None:
        return procs.read_pid(self.pidfiles()[0])

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and procs.is_alive(pid)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM first (Locust writes its final CSV), SIGKILL after `timeout`; workers follow their master."""
        files = self.pidfiles()
        procs.stop(files[0], sig=signal.SIGTERM, timeout=timeout)
        for pidfile in files[1:]:
            procs.stop(pidfile, sig=signal.SIGTERM, timeout=5.0)

    def kill(self) -> None:
        for pidfile in self.pidfiles():
            procs.stop(pidfile, sig=signal.SIGKILL, timeout=5.0)


class Watchdog:
    """Kills the load generator by PID at a hard deadline, whatever the rest of the harness is doing."""

    def __init__(self, loadgen: LoadGenerator, deadline: float) -> None:
        self.fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.time()), self._fire)
        self._timer.daemon = True
        self._loadgen = loadgen

    def start(self) -> Watchdog:
        self._timer.start()
        return self

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        if self._loadgen.alive():
            self.fired = True
            self._loadgen.kill()


@dataclass
class _Part:
    number: int
    path: Path
    offset: int = 0
    n: int = 0
    f: int = 0
    last_ts: float = 0.0
    flows: dict[str, list[int]] = field(default_factory=dict)
    workers: int = 0  # Locust workers with the master in the last second (none missing their heartbeat)


class LoadFeed:
    """Tails each part's seconds file into soak.sqlite: exactly once, across crashes, in constant memory."""

    def __init__(self, recorder: Recorder, live: Live, stored: dict[str, Any] | None = None,
                 poll_s: float = 0.5) -> None:
        self.recorder = recorder
        self.live = live
        self.poll_s = poll_s
        self.parts: dict[int, _Part] = {}
        for key, state in (stored or {}).items():
            number = int(key)
            self.parts[number] = _Part(number, Path(state["path"]), state["offset"], state["n"], state["f"],
                                       state.get("last_ts", 0.0), state.get("flows") or {}, state.get("workers", 0))
        self.workers_lost: list[dict[str, float]] = []  # {"ts", "lost", "workers", "missing"}, as the master saw them
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-loadfeed", daemon=True)

    def add_part(self, number: int, path: Path) -> None:
        with self._lock:
            self.parts.setdefault(number, _Part(number, path))

    def flows(self) -> dict[str, list[int]]:
        """Whole user flows (onboarded users) over every part: [attempted, failed]."""
        out: dict[str, list[int]] = {}
        with self._lock:
            for part in self.parts.values():
                for name, (n, f) in part.flows.items():
                    pair = out.setdefault(name, [0, 0])
                    pair[0] += n
                    pair[1] += f
        return out

    def start(self) -> LoadFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()  # whatever Locust wrote last

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()

    def poll(self) -> None:
        with self._lock:
            for part in self.parts.values():
                self._ingest(part)

    def _ingest(self, part: _Part) -> None:
        try:
            with part.path.open("rb") as fh:
                fh.seek(part.offset)
                chunk = fh.read(4 << 20)
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        rows: list[Row] = []
        parse = _history_line(part.path) if part.path.suffix == ".csv" else _json_line
        for raw in chunk[: end + 1].splitlines():
            line = parse(raw)
            if line is not None:  # None: a header, a torn line from a killed Locust, or a row of one endpoint
                rows.extend(self._rows(part, line))
        part.offset += end + 1
        state = {"path": str(part.path), "offset": part.offset, "n": part.n, "f": part.f, "last_ts": part.last_ts,
                 "flows": part.flows, "workers": part.workers}
        rows.append(meta_row(f"load.part.{part.number}", state))
        self.recorder.put_batch(rows)

    def _rows(self, part: _Part, line: dict[str, Any]) -> list[Row]:
        n, f = int(line.get("n", 0)), int(line.get("f", 0))
        # A counter below the last one is a fresh stats table (a restarted Locust): count from zero.
        dn = n - part.n if n >= part.n else n
        df = f - part.f if f >= part.f and n >= part.n else f
        part.n, part.f = n, f
        ts = float(line["ts"])
        if ts <= part.last_ts:
            ts = part.last_ts + 0.001
        part.last_ts = ts
        part.flows = {str(k): [int(v[0]), int(v[1])] for k, v in (line.get("flows") or {}).items()}
        rps, fps = float(line.get("rps", 0.0)), float(line.get("fps", 0.0))
        p50, p95 = float(line.get("p50", 0.0)), float(line.get("p95", 0.0))
        histogram = [0] * BUCKETS
        if line.get("h") is None:  # Locust's history CSV: this second's requests at its (cumulative) p95
            histogram[bucket_index(p95)] += dn
        for key, count in (line.get("h") or {}).items():
            histogram[min(int(key), BUCKETS - 1)] += int(count)
        users = int(line.get("users", 0))
        self.live.add_load(ts, dn, df, rps, users, p95, histogram)
        rows: list[Row] = [("load_seconds", (ts, part.number, users, dn, df, rps, fps, p50, p95, *histogram)),
                           ("samples", ("rps", "load", ts, rps)),
                           ("samples", ("users", "load", ts, float(users)))]
        generator = line.get("gen") or {}
        if "cpu" in generator:
            rows.append(("samples", ("generator_cpu_percent", "load", ts, float(generator["cpu"]))))
        if "lag_ms" in generator:
            rows.append(("samples", ("generator_lag_ms", "load", ts, float(generator["lag_ms"]))))
        if "workers" in generator:
            workers = int(generator["workers"])
            rows.append(("samples", ("generator_workers", "load", ts, float(workers))))
            if workers < part.workers:  # gone, or missing its heartbeats: load lost, not the target down
                lost = {"ts": ts, "lost": float(part.workers - workers), "workers": float(workers),
                        "missing": float(generator.get("missing", 0))}
                self.workers_lost.append(lost)
                rows.append(("events", (ts, "worker_lost", "", None, json.dumps(lost))))
            part.workers = workers
        if dn:
            rows.append(("samples", ("error_rate", "load", ts, df / dn)))
            rows.append(("samples", ("p95_ms", "load", ts, p95)))
            rows.append(("samples", ("p50_ms", "load", ts, p50)))
        return rows


def last_line(path: Path) -> dict[str, Any]:
    """The last whole JSON line of a seconds file ({} if none)."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 8192))
        lines = fh.read().splitlines()
    for raw in reversed(lines):
        line = _json_line(raw)
        if line is not None:
            return line
    return {}


def _json_line(raw: bytes) -> dict[str, Any] | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    return line if isinstance(line, dict) and "ts" in line else None


def _history_line(path: Path) -> Any:
    """A parser of Locust's _stats_history.csv rows (the Aggregated ones) into the seconds-file shape.

    Locust writes cumulative percentiles there (current ones only with --csv-full-history, whose size grows with
    every endpoint), so each second's requests are put in the bucket of that cumulative p95: window p95s from
    this source are approximate. load/support.py's seconds file is exact, and preferred when it exists.
    """
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), [])
    column = {name: i for i, name in enumerate(header)}
    needed = ("Timestamp", "User Count", "Name", "Requests/s", "Failures/s", "50%", "95%", "Total Request Count",
              "Total Failure Count")
    if not all(n in column for n in needed):
        return lambda _raw: None

    def parse(raw: bytes) -> dict[str, Any] | None:
        try:
            row = next(csv.reader([raw.decode()]))
            if row[column["Name"]] != "Aggregated" or row[0] == "Timestamp":
                return None
            return {"ts": int(row[column["Timestamp"]]), "users": int(row[column["User Count"]]),
                    "n": int(row[column["Total Request Count"]]), "f": int(row[column["Total Failure Count"]]),
                    "rps": _number(row[column["Requests/s"]]), "fps": _number(row[column["Failures/s"]]),
                    "p50": _number(row[column["50%"]]), "p95": _number(row[column["95%"]]), "h": None}
        except (ValueError, IndexError, UnicodeDecodeError):
            return None

    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # "N/A" before the first request
