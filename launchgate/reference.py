"""The reference 371OS as the harness sees it: a program apart (reference/, the distribution reference371os).

The harness starts and stops it through its command line (`python -m reference371os up|down|restart ...`) and
knows of a running stack only what that command publishes in the state directory: state.json (what runs where),
secrets.json and contracts.json. It imports none of the reference's code (the import contracts in .importlinter).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchgate import procs
from launchgate.procs import StackError

PROGRAM = "reference371os"
STATE_FILE = "state.json"
# LAUNCHGATE_STACK_STATE: another default state directory, for `reference371os` and the reference profile's hooks.
STATE_ENV = "LAUNCHGATE_STACK_STATE"
DEFAULT_STATE_DIR = Path(os.environ.get(STATE_ENV) or ".reference371os")  # the reference's own default
# The reference profile's ports (fixtures/targets/reference.toml): the gateway on the base, the rest within
# PORT_SPAN of it. A stack publishes both in its state.json; these are for choosing ports before one runs.
DEFAULT_PORT_BASE = 18370
PORT_SPAN = 20
UP_TIMEOUT_S = 600.0  # bounds a whole `up`: the reference's own start bounds are 60 s a service, 180 s its launcher
COMMAND_TIMEOUT_S = 300.0
STOP_WAIT_S = 60.0  # an interrupted command's own orderly stop


def installed() -> bool:
    return importlib.util.find_spec(PROGRAM) is not None


def _require_installed() -> None:
    if not installed():
        raise StackError(f"the reference 371OS is not installed in this environment ({sys.executable}): install the "
                         f"{PROGRAM} distribution (reference/ in the launchgate repository) to run it")


def passthrough(args: list[str]) -> int:
    """`reference371os ARGS` with this terminal: its output as it comes, its exit status. A stop signal to the harness
    reaches it as SIGTERM, and the harness waits while it stops what it started."""
    _require_installed()
    proc = subprocess.Popen([sys.executable, "-m", PROGRAM, *args], env=sut_environ())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # its own stop speaks for both: one line, its exit status
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def command(args: list[str], *, timeout: float = COMMAND_TIMEOUT_S) -> str:
    """Runs `python -m reference371os ARGS`, and returns its stdout; its error line as StackError on a failure.
    Ctrl-C and SIGTERM reach it as SIGTERM, and the harness waits for it to stop what it started."""
    _require_installed()
    proc = subprocess.Popen([sys.executable, "-m", PROGRAM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=sut_environ())
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise StackError(f"`{PROGRAM} {' '.join(args[:1])}` did not finish within {timeout:.0f} s and was stopped") \
            from None
    except BaseException:
        _stop(proc)
        raise
    if proc.returncode != 0:
        lines = [line.removeprefix(f"{PROGRAM}: ") for line in err.strip().splitlines()] or [f"exit {proc.returncode}"]
        raise StackError("; ".join(lines[-8:]))
    return out


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, which the reference's commands answer by stopping what they started; SIGKILL if that hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def sut_environ() -> dict[str, str]:
    """The environment the reference runs in: the harness's, less its own instrumentation (coverage.py hands itself
    down through COVERAGE_*): the harness's coverage measures the harness, and its tracing would slow the target."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}


@dataclass(frozen=True)
class StackSecrets:
    """The stack's secrets.json, read as published: every string in it is a secret (for leak checks and
    redaction); the role passwords, the admin API key and the Postiz key are what the harness acts with."""

    raw: dict[str, Any]

    @property
    def role_passwords(self) -> dict[str, str]:
        return dict(self.raw.get("role_passwords") or {})

    @property
    def admin_api_key(self) -> str:
        return str(self.raw.get("admin_api_key", ""))

    @property
    def postiz_api_key(self) -> str:
        return str(self.raw.get("postiz_api_key", ""))

    def values(self) -> list[str]:
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str) and value:
                found.append(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.raw)
        return found


class ReferenceStack:
    """One reference stack, by its state directory: started and stopped through the reference's command line,
    read through the files it publishes there."""

    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.notes: list[str] = []  # what `down` could not do, for the user

    # -- what the stack published --------------------------------------------------------------------
    @property
    def published(self) -> bool:
        return (self.state_dir / STATE_FILE).is_file()

    @property
    def state(self) -> dict[str, Any]:
        path = self.state_dir / STATE_FILE
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise StackError(f"no reference stack in {self.state_dir} (no {STATE_FILE}): start one with "
                             f"`reference371os up` or pass its --state-dir") from None
        except ValueError as exc:
            raise StackError(f"{path} is not valid JSON: {exc}") from None

    @property
    def port_base(self) -> int:
        return int(self.state["port_base"])

    @property
    def faults(self) -> list[str]:
        return list(self.state.get("faults") or [])

    @property
    def scrape_interval(self) -> float | None:
        prometheus = self.state.get("prometheus")
        return float(prometheus["scrape_interval"]) if prometheus else None

    def url(self, name: str) -> str:
        return str(self.state["urls"][name])

    def database_url(self, service: str) -> str:
        return str(self.state["databases"][service])

    @property
    def secrets(self) -> StackSecrets:
        return StackSecrets(json.loads(Path(self.state["secrets_file"]).read_text()))

    def contracts(self) -> dict[str, str]:
        """Contract name -> address, from contracts.json (empty before the contracts are deployed)."""
        try:
            return dict(json.loads(Path(self.state["contracts_file"]).read_text())["contracts"])
        except FileNotFoundError:
            return {}

    def pidfile(self, name: str) -> Path:
        return Path(self.state["processes"][name]["pidfile"])

    def process_names(self) -> list[str]:
        return list(self.state["processes"])

    def running(self) -> list[str]:
        """The processes of the stack alive now, by their PID files; none before it published anything."""
        if not self.published:
            return []
        alive = []
        for name in self.process_names():
            pid = procs.read_pid(self.pidfile(name))
            if pid is not None and procs.is_alive(pid):
                alive.append(name)
        return alive

    def whole(self) -> bool:
        """Every process the stack publishes runs."""
        return self.published and set(self.running()) >= set(self.process_names())

    # -- commands --------------------------------------------------------------------------------------
    def _run(self, verb: str, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        return command([verb, "--state-dir", str(self.state_dir), *args], timeout=timeout)

    def up(self, *, port_base: int | None = None, faults: list[str] | None = None, env: dict[str, str] | None = None,
           database: str | None = None, prometheus: bool = True, scrape_interval: float | None = None) -> None:
        """`reference371os up`: the options given over what the state directory stored, if it held a stack."""
        args = [f"--port-base={port_base}"] if port_base is not None else []
        if faults is not None:
            args.append(f"--faults={','.join(faults)}")
        args += [f"--env={name}={value}" for name, value in (env or {}).items()]
        if database is not None:
            args.append(f"--db={database}")
        if not prometheus:
            args.append("--no-prometheus")
        if scrape_interval is not None:
            args.append(f"--scrape-interval={scrape_interval}")
        self._run("up", *args, timeout=UP_TIMEOUT_S)

    def down(self) -> list[str]:
        """Every process stopped by PID; what could not be stopped is in `notes`."""
        if not self.published:
            return []
        try:
            out = json.loads(command(["down", "--state-dir", str(self.state_dir), "--json"]))
        except StackError as exc:
            self.notes.append(str(exc))
            return []
        self.notes += out["notes"]
        return list(out["stopped"])

    def restart(self, services: list[str], *, faults: list[str] | None = None, term: bool = False) -> None:
        """Services killed (-9, or SIGTERM with `term`) and started again, optionally with other fault switches."""
        args = list(services)
        if term:
            args.append("--term")
        if faults is not None:
            args.append(f"--faults={','.join(faults)}")
        self._run("restart", *args)
