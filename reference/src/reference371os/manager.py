"""`reference371os up|down|status|logs`: the reference 371OS as a set of processes, each by PID.

Its dependencies (anvil, PostgreSQL, Prometheus) run as local processes or as containers (provision/). What a
harness may know of a stack, it finds in the state directory: STATE_FILE (ports, URLs, PID files, databases),
secrets.json and contracts.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reference371os import procs, signals
from reference371os.chain_setup import ensure_contracts, load_deployment
from reference371os.config import Secrets
from reference371os.faults import parse_faults
from reference371os.launch_socket import LAUNCH_SERVER_ENV, NoWarmLauncher, launch_via
from reference371os.layout import DEFAULT_PORT_BASE, PORT_SPAN, SERVICE_NAMES, SLOT_OFFSETS, SLOTS_FILE, Ports
from reference371os.postgres import Postgres
from reference371os.provision import NoEngineError, Provisioner, make_provisioner
from reference371os.secrets import generate_secrets

# LAUNCHGATE_STACK_STATE: another default, for every command and the hooks a profile runs
# (fixtures/targets/reference-unmanaged.toml), so that a stack of its own is one variable away.
STATE_ENV = "LAUNCHGATE_STACK_STATE"
DEFAULT_STATE_DIR = Path(os.environ.get(STATE_ENV) or ".reference371os")
CHAIN_ID = 31337
STATE_FILE = "state.json"  # published for harnesses and operators: what runs where (Stack.publish)
START_TIMEOUT_S = 60.0  # services start side by side: on a busy host the last one waits on the others
# The launcher only imports and forks (about 1.5 s of CPU): its bound catches a hang, not a slow host. On a host
# that is CPU-bound, every service is its own session and so its own autogroup, with the same CPU share as the
# whole test run: a launcher in that run was seen to take 58 s.
LAUNCH_TIMEOUT_S = 180.0


def sut_environ() -> dict[str, str]:
    """The environment the reference's processes inherit: the caller's, less the harness's own instrumentation
    (coverage.py hands itself down to subprocesses through COVERAGE_*). The reference is the system under test, a
    program apart from the harness (shared/ARCHITECTURE.md): the harness's coverage measures the harness, and its
    tracing would slow the target it judges."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}


@dataclass
class StackOptions:
    """What `stack up` was asked for; stored so that later commands find the same stack."""

    port_base: int = DEFAULT_PORT_BASE
    database: str = "sqlite"  # sqlite | postgres | a SQLAlchemy URL
    faults: list[str] = field(default_factory=list)
    node_env: str = "development"
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    provision: str = "local"  # local | containers: how anvil, PostgreSQL and Prometheus run
    images: dict[str, str] = field(default_factory=dict)  # containers: dependency -> image reference
    prometheus: bool = True  # a Prometheus scraping every service, on base + PROMETHEUS_OFFSET
    scrape_interval: float = 5.0  # seconds


class Stack:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, options: StackOptions | None = None) -> None:
        self.state_dir = state_dir.resolve()
        self.options = options or self._stored_options() or StackOptions()
        self.ports = Ports(self.options.port_base)
        self.pids = self.state_dir / "pids"
        self.logs = self.state_dir / "logs"
        self.data = self.state_dir / "data"
        self.postgres = Postgres(self.state_dir / "postgres", self.ports.postgres)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self.notes: list[str] = []  # things the user should hear about (the CLI prints them)
        self.provisioner: Provisioner = make_provisioner(self)

    # -- state on disk -----------------------------------------------------------------------------
    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.json"

    @property
    def secrets(self) -> Secrets:
        return Secrets.load(self.secrets_file)

    def _options_file(self) -> Path:
        return self.state_dir / "stack.json"

    def _stored_options(self) -> StackOptions | None:
        try:
            return StackOptions(**json.loads(self._options_file().read_text()))
        except FileNotFoundError:
            return None

    def url(self, name: str) -> str:
        return self.ports.url(name)

    @property
    def chain_rpc(self) -> str:
        return f"http://127.0.0.1:{self.ports.anvil}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}"

    def database_url(self, service: str) -> str:
        db = self.options.database
        if db == "sqlite":
            return f"sqlite:///{self.data / service}.db"
        if db == "postgres":
            return self.postgres.url
        return db

    # -- up ----------------------------------------------------------------------------------------
    def up(self) -> None:
        parse_faults(",".join(self.options.faults))  # unknown switches fail before anything starts
        running = self.running()
        if running and len(running) == len(self.process_names()):
            return
        if running:
            raise procs.StackError(
                f"a partial stack is running in {self.state_dir} ({', '.join(running)}): run `reference371os down`"
            )
        self._preflight()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        self._options_file().write_text(json.dumps(asdict(self.options)))
        generate_secrets(self.secrets_file)
        self.publish()
        try:
            if self.options.database == "postgres":
                self.provisioner.start("postgres")
            self.provisioner.start("anvil")
            # The contracts, once per chain: later `up`s reuse them while anvil's state keeps them.
            ensure_contracts(self.chain_rpc, CHAIN_ID, self.secrets.chain_private_key, self.state_dir)
            self._launch_services()
            if self.options.prometheus:  # last, so that its first scrapes find every service up
                self.provisioner.start("prometheus")
        except BaseException:
            self.down()
            raise

    def set_faults(self, faults: list[str]) -> None:
        """The fault switches from now on: for the services started after this, and in what the stack publishes."""
        self.options.faults = sorted(parse_faults(",".join(faults)))
        self._options_file().write_text(json.dumps(asdict(self.options)))
        self.publish()

    def publish(self) -> None:
        """STATE_FILE: what runs where, for a harness or an operator that reads files rather than this code.
        Written before anything starts, so that what a failed or killed `up` left is found by its PID files."""
        processes = {}
        for name in self.process_names():
            port = {"postgres": self.ports.postgres, "anvil": self.ports.anvil,
                    "prometheus": self.ports.prometheus}.get(name) or self.ports.service(name)
            processes[name] = {"port": port, "pidfile": str(self.pids / f"{name}.pid"),
                               "log": str(self.logs / f"{name}.log")}
        state = {
            "program": "reference371os",
            "port_base": self.options.port_base,
            "port_span": PORT_SPAN,
            "faults": self.options.faults,
            "processes": processes,
            "urls": {name: self.url(name) for name in SERVICE_NAMES},
            "databases": {name: self.database_url(name) for name in SERVICE_NAMES},
            "chain": {"rpc": self.chain_rpc, "chain_id": CHAIN_ID},
            "prometheus": {"url": self.prometheus_url, "scrape_interval": self.options.scrape_interval}
            if self.options.prometheus else None,
            "secrets_file": str(self.secrets_file),
            "contracts_file": str(self.state_dir / "contracts.json"),
        }
        (self.state_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    def process_names(self) -> list[str]:
        names = ["anvil", *SERVICE_NAMES]
        if self.options.prometheus:
            names.append("prometheus")
        return ["postgres", *names] if self.options.database == "postgres" else names

    def _preflight(self) -> None:
        try:
            self.provisioner.preflight()
        except NoEngineError as exc:
            self.notes.append(f"{exc}: starting the dependencies as local processes instead (--provision local)")
            self.options.provision = "local"
            self.provisioner = make_provisioner(self)
            self.provisioner.preflight()
        wanted = {**self.ports.all()}
        if self.options.database == "postgres":
            wanted["postgres"] = self.ports.postgres
        if self.options.prometheus:
            wanted["prometheus"] = self.ports.prometheus
        busy = [f"{port} ({name})" for name, port in wanted.items() if procs.port_in_use(port)]
        if busy:
            raise procs.StackError(
                f"port {', '.join(busy)} on 127.0.0.1 is busy: stop what holds it or pick another --port-base"
            )

    def _anvil_ready(self) -> bool:
        try:
            reply = httpx.post(
                self.chain_rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
            )
            return reply.status_code == 200
        except httpx.HTTPError:
            return False

    def service_env(self, name: str) -> dict[str, str]:
        env = {
            **sut_environ(),
            "LG_SERVICE": name,
            "LG_STATE_DIR": str(self.state_dir),
            "LG_SECRETS_FILE": str(self.secrets_file),
            "LG_PORT_BASE": str(self.options.port_base),
            "LG_DATABASE_URL": self.database_url(name),
            "LG_CHAIN_ID": str(CHAIN_ID),
            "NODE_ENV": self.options.node_env,
            "LOG_LEVEL": self.options.log_level,
            "LAUNCHGATE_FAULTS": ",".join(self.options.faults),
            "PYTHONUNBUFFERED": "1",
            **(deployment.env() if (deployment := load_deployment(self.state_dir)) else {}),
            **self.options.extra_env,
        }
        return env

    def start_service(self, name: str) -> None:
        """One service (a restart): forked by the warm launcher when there is one, else a process of its own."""
        spec = self._launch_spec(name)
        if not self._launch_warm([spec], self.logs / "launcher.log"):
            self._children[name] = procs.start(
                [sys.executable, "-m", "reference371os.serve", name],
                env=spec["env"],
                log=Path(spec["log"]),
                pidfile=Path(spec["pidfile"]),
            )
        self._await(name, lambda: self._health_answers(name))

    def _launch_spec(self, name: str) -> dict[str, Any]:
        return {"name": name, "env": self.service_env(name), "log": str(self.logs / f"{name}.log"),
                "pidfile": str(self.pids / f"{name}.pid")}

    def _launch_services(self) -> None:
        """Every service forked from one interpreter that imported them once (reference371os/launcher.py: the
        imports are most of a service's start), then each awaited healthy. A service answers 503 until what it
        depends on is up, so the wait orders them."""
        specs = [self._launch_spec(name) for name in SERVICE_NAMES]
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        log = self.logs / "launcher.log"
        if not self._launch_warm(specs, log):
            self._launch_cold(specs, log)
        for name in SERVICE_NAMES:
            self._await(name, lambda name=name: self._health_answers(name))

    def _launch_warm(self, specs: list[dict[str, Any]], log: Path) -> bool:
        """Through the warm launcher LAUNCH_SERVER_ENV names, if one answers there (the test suite starts one)."""
        server = os.environ.get(LAUNCH_SERVER_ENV)
        if not server:
            return False
        try:
            with signals.deferred():  # no service may run that no PID file names
                failure = launch_via(server, specs, log, LAUNCH_TIMEOUT_S)
        except NoWarmLauncher:
            return False
        if failure:
            raise procs.StackError(f"the warm service launcher could not start the services: {failure}; last log "
                                   f"lines:\n{procs.tail(log)}")
        return True

    def _launch_cold(self, specs: list[dict[str, Any]], log: Path) -> None:
        with log.open("ab") as out, signals.deferred():  # no service may run that no PID file names
            launcher = subprocess.Popen(
                [sys.executable, "-m", "reference371os.launcher"], stdin=subprocess.PIPE, stdout=out,
                stderr=subprocess.STDOUT, env={**sut_environ(), "PYTHONUNBUFFERED": "1"},
            )
            try:
                launcher.communicate(json.dumps(specs).encode(), timeout=LAUNCH_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
                raise procs.StackError(f"the service launcher did not finish within {LAUNCH_TIMEOUT_S:.0f} s and was "
                                       f"stopped; last log lines:\n{procs.tail(log)}") from None
        if launcher.returncode != 0:
            raise procs.StackError(f"the service launcher exited with {launcher.returncode}; last log lines:\n"
                                   f"{procs.tail(log)}")

    def _health_answers(self, name: str) -> bool:
        try:
            return httpx.get(f"{self.url(name)}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _await(self, name: str, ready: Any) -> None:
        pid = procs.read_pid(self.pids / f"{name}.pid")

        def done() -> bool:
            if pid is not None and not procs.is_alive(pid):
                raise procs.StackError(f"{name} exited during start; last log lines:\n{self._log_tail(name)}")
            return bool(ready())

        if not procs.wait_until(done, START_TIMEOUT_S, interval=0.1):
            raise procs.StackError(
                f"{name} was not healthy within {START_TIMEOUT_S:.0f} s; last log lines:\n{self._log_tail(name)}"
            )

    def _log_tail(self, name: str) -> str:
        return procs.tail(self.logs / f"{name}.log")

    # -- down, status, kill --------------------------------------------------------------------------
    def down(self) -> list[str]:
        stopped: list[str] = []
        self._stop_dependency("prometheus", stopped)
        for slot in SLOT_OFFSETS:  # release slots (reference371os/slots.py): extra conduit processes
            if procs.stop(self.pids / f"conduit-{slot}.pid"):
                stopped.append(f"conduit-{slot}")
        (self.state_dir / SLOTS_FILE).unlink(missing_ok=True)  # routes to processes that no longer run
        for name in reversed(SERVICE_NAMES):
            if procs.stop(self.pids / f"{name}.pid"):
                stopped.append(name)
            self._forget(name)
        for name in ("anvil", "postgres"):
            self._stop_dependency(name, stopped)
        return stopped

    def _stop_dependency(self, name: str, stopped: list[str]) -> None:
        """A dependency that cannot be stopped (its Docker engine is gone) is noted, and the rest still stops."""
        try:
            if self.provisioner.stop(name):
                stopped.append(name)
        except procs.StackError as exc:
            self.notes.append(str(exc))
        self._forget(name)

    def _forget(self, name: str) -> None:
        child = self._children.pop(name, None)
        if child is not None and child.poll() is None:
            child.wait(timeout=5)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Kills one process the hard way (kill -9 by default), for restart and outage tests."""
        pid = procs.read_pid(self.pids / f"{name}.pid")
        if pid is None:
            raise procs.StackError(f"{name} is not running")
        procs.send_signal(pid, sig)  # the whole group: PostgreSQL's backends must not outlive their postmaster
        procs.wait_until(lambda: not procs.is_alive(pid), 10)
        self._forget(name)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def running(self) -> list[str]:
        alive = []
        for name in ["postgres", "anvil", *SERVICE_NAMES, "prometheus"]:
            pid = procs.read_pid(self.pids / f"{name}.pid")
            if pid is not None and procs.is_alive(pid):
                alive.append(name)
        return alive

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for name in self.process_names():
            pid = procs.read_pid(self.pids / f"{name}.pid")
            alive = pid is not None and procs.is_alive(pid)
            row: dict[str, Any] = {"name": name, "pid": pid if alive else None, "state": "stopped"}
            if name == "postgres":
                row["port"] = self.ports.postgres
            elif name == "anvil":
                row["port"] = self.ports.anvil
            elif name == "prometheus":
                row["port"] = self.ports.prometheus
            else:
                row["port"] = self.ports.service(name)
            container = self.provisioner.container_id(name)
            if container:
                row["container"] = container[:12]
            if alive:
                row["state"] = "running"
                if name in SERVICE_NAMES:
                    row["state"] = self._health_state(name)
            rows.append(row)
        return rows

    def _health_state(self, name: str) -> str:
        try:
            body = httpx.get(f"{self.url(name)}/health", timeout=2).json()
            return str(body.get("status", "unknown"))
        except (httpx.HTTPError, ValueError):
            return "not answering"

    def log_path(self, name: str) -> Path:
        if name not in self.process_names():
            raise procs.StackError(f"no process {name!r}; known: {', '.join(self.process_names())}")
        self.provisioner.refresh_log(name)
        return self.logs / f"{name}.log"
