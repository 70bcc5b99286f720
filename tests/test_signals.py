"""Clean stops: a signal to the `launchgate` process alone (`kill PID`, a CI runner's cancel, kill -9) stops
everything the command started: the reference stack's processes and ports, the pytest child, Locust, Prometheus.

Each test runs a real `launchgate` in its own session, so that a signal reaches it and nothing else. Stacks are
what costs (~10 s each here): four tests start a whole one; the others interrupt a stack's start-up or start none.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from launchgate.runner import PROJECT_ROOT
from launchgate.waiting import wait_for
from reference371os import procs
from reference371os.layout import PORT_SPAN
from reference371os.manager import Stack, StackOptions
from tests.conftest import command_env, next_port_base

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.unmeasured_subprocesses]

STACK_UP_S = 150.0  # ~10 s on an idle machine; much more while a CI run shares its two cores
STOP_S = 75.0  # launchgate's own bound for its pytest's teardown is 60 s (runner.PYTEST_STOP_TIMEOUT_S)
QUICK_S = 30.0  # a command that must refuse before doing any work
_OUTPUTS = itertools.count(1)


def poll(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    return wait_for(condition, timeout=timeout, what=what, interval=0.1)


@dataclass
class Launchgate:
    """One `launchgate` subprocess in its own session (a signal to it reaches it alone), output in files."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    @classmethod
    def start(cls, tmp: Path, *args: str) -> Launchgate:
        n = next(_OUTPUTS)
        out, err = tmp / f"launchgate-{n}.out", tmp / f"launchgate-{n}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "launchgate", *args], cwd=PROJECT_ROOT, env=command_env(),
                                    stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
        return cls(proc, out, err)

    def exit_code(self, timeout: float, after: str) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"launchgate still ran {timeout:.0f} s after {after}; it printed:\n"
                                 f"{self.stderr()[-2000:]}") from None

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def children(self) -> list[int]:
        """Its child processes (the pytest of a run), from /proc: parentage, not names."""
        found: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the thread ended meanwhile
                found += [int(pid) for pid in task.read_text().split()]
        return found


@dataclass
class Leftovers:
    """What a test started, stopped whatever happens to the test: no process or port may outlive it."""

    harnesses: list[Launchgate] = field(default_factory=list)
    state_dirs: list[Path] = field(default_factory=list)
    run_dirs: list[Path] = field(default_factory=list)

    def launch(self, tmp: Path, *args: str) -> Launchgate:
        harness = Launchgate.start(tmp, *args)
        self.harnesses.append(harness)
        return harness

    def clear(self) -> None:
        for harness in self.harnesses:
            if harness.proc.poll() is None:
                procs.send_signal(harness.proc.pid, signal.SIGKILL)
                harness.proc.wait(timeout=10)
        for run_dir in self.run_dirs:
            for pidfile in (run_dir / "pids").glob("locust-*.pid"):
                procs.stop(pidfile, sig=signal.SIGKILL)
        for state_dir in self.state_dirs:
            if (state_dir / "stack.json").exists():
                Stack(state_dir).down()


@pytest.fixture
def leftovers() -> Iterator[Leftovers]:
    started = Leftovers()
    yield started
    started.clear()


def live(pids: dict[str, int]) -> dict[str, int]:
    return {name: pid for name, pid in pids.items() if procs.is_alive(pid)}


def listening(base: int) -> list[int]:
    return [port for port in range(base, base + PORT_SPAN) if procs.port_in_use(port)]


def pid_files(directory: Path) -> dict[str, int]:
    """name -> PID of every PID file in `directory` (a stack's pids/, a soak's pids/)."""
    pids = {}
    for pidfile in directory.glob("*.pid"):
        pid = procs.read_pid(pidfile)
        if pid is not None:
            pids[pidfile.stem] = pid
    return pids


def stack_up(state_dir: Path) -> dict[str, int] | None:
    """The PIDs of the stack in `state_dir` once every one of its processes runs (Prometheus, started last, too)."""
    if not (state_dir / "stack.json").exists():
        return None
    stack = Stack(state_dir)
    if set(stack.running()) < set(stack.process_names()):
        return None
    return pid_files(stack.pids)


def await_scenarios(state_dir: Path) -> dict[str, int]:
    """The stack's PIDs once the run's first scenario has written its evidence: the session fixture that holds
    the stack has been set up, so stopping the stack is its finalizer's job."""
    def started() -> dict[str, int] | None:
        return stack_up(state_dir) if list(state_dir.parent.glob("evidence/scenarios-*.jsonl")) else None

    return poll(started, STACK_UP_S, f"the first scenario of the run in {state_dir.parent}")


def await_first_services(state_dir: Path) -> dict[str, int]:
    """The PIDs of anvil and the first service (the sink): the stack is still starting."""
    def first() -> dict[str, int] | None:
        pids = pid_files(state_dir / "pids")
        return pids if "sink" in pids else None

    return poll(first, STACK_UP_S, f"anvil and the sink of the stack in {state_dir}")


def assert_all_stopped(pids: dict[str, int], base: int, timeout: float, after: str) -> None:
    """Every process in `pids` dead (a zombie counts as dead) and no port of the stack's span listening."""
    deadline = time.monotonic() + timeout
    while live(pids) or listening(base):
        if time.monotonic() > deadline:
            raise AssertionError(f"{timeout:.0f} s after {after}: still running {live(pids)}, "
                                 f"still listening {listening(base)}")
        time.sleep(0.2)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


# -- launchgate run -----------------------------------------------------------------------------------------
def start_run(leftovers: Leftovers, tmp: Path, base: int) -> tuple[Launchgate, Path]:
    reports = tmp / "reports"
    harness = leftovers.launch(tmp, "run", "--target", "reference", "--port-base", str(base),
                               "--reports-dir", str(reports))

    def run_dir() -> Path | None:
        assert harness.proc.poll() is None, f"launchgate run exited early: {harness.stderr()[-2000:]}"
        return next(iter(reports.glob("*-reference")), None)

    found = poll(run_dir, QUICK_S, "the run directory")
    leftovers.state_dirs.append(found / "stack")
    return harness, found / "stack"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_to_run_stops_its_pytest_and_stack(leftovers: Leftovers, tmp_path: Path,
                                                  sig: signal.Signals) -> None:
    """SIGTERM once the stack is up (the session finalizer's path); SIGINT while it starts (Stack.up's path)."""
    base = next_port_base()
    harness, state_dir = start_run(leftovers, tmp_path, base)
    pytest_pid = poll(harness.children, QUICK_S, "the run's pytest")[0]
    pids = await_scenarios(state_dir) if sig == signal.SIGTERM else await_first_services(state_dir)
    harness.proc.send_signal(sig)
    code = harness.exit_code(STOP_S, sig.name)
    assert code == 128 + sig, f"exit {code}; stderr:\n{harness.stderr()[-2000:]}"
    assert one_line(harness.stderr()) == f"launchgate: stopped by {sig.name}"
    assert not procs.is_alive(pytest_pid), "the run's pytest outlived launchgate"
    assert_all_stopped(pids, base, 10, sig.name)  # a service started after we looked: the port check sees it


def test_killed_run_takes_its_pytest_and_stack_down(leftovers: Leftovers, tmp_path: Path) -> None:
    """kill -9 of launchgate: its pytest gets SIGTERM from the kernel (parent-death signal) and stops the stack."""
    base = next_port_base()
    harness, state_dir = start_run(leftovers, tmp_path, base)
    pytest_pid = poll(harness.children, QUICK_S, "the run's pytest")[0]
    pids = await_scenarios(state_dir)
    harness.proc.kill()
    harness.proc.wait(timeout=10)
    assert_all_stopped({"pytest": pytest_pid, **pids}, base, STOP_S, "kill -9 of launchgate")


def test_run_refuses_a_leftover_stack_naming_the_command(leftovers: Leftovers, tmp_path: Path) -> None:
    """A killed run's stack (here: one process holding its gateway port, by its PID file) stops the next run
    before any work, with the command that frees the ports; that command does."""
    base = next_port_base()
    reports = tmp_path / "reports"
    state_dir = reports / "20240101-000000-reference" / "stack"
    stack = Stack(state_dir, StackOptions(port_base=base))
    state_dir.mkdir(parents=True)
    (state_dir / "stack.json").write_text(f'{{"port_base": {base}}}')
    stack.publish()  # what a stack publishes first (state.json), before anything of it starts
    leftovers.state_dirs.append(state_dir)
    server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(stack.ports.service("gateway"))]
    procs.start(server, env=command_env(), log=stack.logs / "gateway.log", pidfile=stack.pids / "gateway.pid")
    poll(lambda: listening(base), QUICK_S, "the stand-in gateway's port")

    run = leftovers.launch(tmp_path, "run", "--target", "reference", "--port-base", str(base),
                           "--reports-dir", str(reports))
    assert run.exit_code(QUICK_S, "start") == 2, run.stderr()
    line = one_line(run.stderr())
    command = f"reference371os down --state-dir {state_dir}"
    assert f"port {base} is held" in line and f"`{command}`" in line, line
    assert [d.name for d in reports.iterdir()] == [state_dir.parent.name], "the refused run made a run directory"

    down = leftovers.launch(tmp_path, "stack", *command.split()[1:])  # `launchgate stack` runs reference371os
    assert down.exit_code(QUICK_S, "start") == 0, down.stderr()
    assert_all_stopped({}, base, 10, command)


# -- launchgate stack up --------------------------------------------------------------------------------------
def test_stack_up_interrupted_during_start_up_stops_what_it_started(leftovers: Leftovers, tmp_path: Path) -> None:
    base = next_port_base()
    state_dir = tmp_path / "stack"
    leftovers.state_dirs.append(state_dir)
    harness = leftovers.launch(tmp_path, "stack", "up", "--state-dir", str(state_dir), "--port-base", str(base))
    pids = await_first_services(state_dir)
    harness.proc.send_signal(signal.SIGTERM)
    assert harness.exit_code(STOP_S, "SIGTERM") == 143, harness.stderr()
    assert one_line(harness.stderr()) == "reference371os: stopped by SIGTERM"  # `launchgate stack` runs it
    assert_all_stopped(pids, base, 10, "SIGTERM")


# -- launchgate soak ----------------------------------------------------------------------------------------
def start_soak(leftovers: Leftovers, tmp: Path, run_dir: Path, base: int) -> tuple[Launchgate, dict[str, int]]:
    """A 5-minute soak on its own stack, once its Locust runs: the harness and the PIDs of all it started."""
    leftovers.run_dirs.append(run_dir)
    leftovers.state_dirs.append(run_dir / "stack")
    harness = leftovers.launch(tmp, "soak", "--target", "reference", "--duration", "5m", "--users", "2", "--spawn-rate",
                               "2", "--calibrate", "0", "--port-base", str(base), "--run-dir", str(run_dir))

    def locust_runs() -> dict[str, int] | None:
        assert harness.proc.poll() is None, f"the soak exited early: {harness.stderr()[-2000:]}"
        locust = pid_files(run_dir / "pids")
        return locust if locust and live(locust) else None

    locust = poll(locust_runs, STACK_UP_S, "the soak's stack and Locust")
    return harness, {**locust, **pid_files(run_dir / "stack" / "pids")}


def test_sigterm_to_soak_stops_locust_and_its_stack(leftovers: Leftovers, tmp_path: Path) -> None:
    base = next_port_base()
    harness, pids = start_soak(leftovers, tmp_path, tmp_path / "soak", base)
    harness.proc.send_signal(signal.SIGTERM)
    assert harness.exit_code(STOP_S, "SIGTERM") == 130, harness.stderr()
    assert "soak interrupted: resume it with" in harness.stdout()
    assert "Traceback" not in harness.stderr()
    assert_all_stopped(pids, base, 10, "SIGTERM")


def test_killed_soak_blocks_the_next_run_until_soak_stop(leftovers: Leftovers, tmp_path: Path) -> None:
    """kill -9 of a soak's harness leaves its Locust and stack for `--resume`; the next run on its ports names
    `launchgate soak --stop RUN`, which ends them."""
    base = next_port_base()
    reports = tmp_path / "reports"
    run_dir = reports / "soak-run"
    harness, pids = start_soak(leftovers, tmp_path, run_dir, base)
    harness.proc.kill()
    harness.proc.wait(timeout=10)
    assert live(pids) == pids, "a soak's Locust and stack must outlive its harness (--resume adopts them)"

    run = leftovers.launch(tmp_path, "run", "--target", "reference", "--port-base", str(base),
                           "--reports-dir", str(reports))
    assert run.exit_code(QUICK_S, "start") == 2, run.stderr()
    assert f"`launchgate soak --stop {run_dir.resolve()}`" in one_line(run.stderr())
    assert [d.name for d in reports.iterdir()] == ["soak-run"], "the refused run made a run directory"

    stop = leftovers.launch(tmp_path, "soak", "--stop", str(run_dir))
    assert stop.exit_code(STOP_S, "start") == 0, stop.stderr()
    assert "Locust" in one_line(stop.stdout()) and "reference stack" in stop.stdout()
    assert_all_stopped(pids, base, 10, "soak --stop")


def test_soak_stop_refuses_what_is_not_a_soak(leftovers: Leftovers, tmp_path: Path) -> None:
    stop = leftovers.launch(tmp_path, "soak", "--stop", str(tmp_path))
    assert stop.exit_code(QUICK_S, "start") == 2
    assert one_line(stop.stderr()) == f"launchgate: {tmp_path} is not a soak run directory (no run.json in {tmp_path})"
