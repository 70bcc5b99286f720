"""`launchgate run`: the main job. Runs the gate suite against a target into a fresh run directory."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from launchgate import paths, signals

PROJECT_ROOT = paths.ROOT  # the suite's root (launchgate/paths.py)
GATES_FILE_ENV = "LAUNCHGATE_GATES_FILE"  # read by steps/common.py
# How our bad-input lines reach pytest's output: `Exit: launchgate: …` (pytest.exit() before the tests, on stderr),
# `!!! _pytest.outcomes.Exit: launchgate: … !!!` (during them), `launchgate: …` (undefined steps, at the end).
EXIT_LINE = re.compile(r"(?:^|Exit: )launchgate: (.*?)[\s!]*$")
PYTEST_USAGE_CODES = {2, 3, 4}  # interrupted / internal error / usage error, or our pytest.exit(2)
PYTEST_STOP_TIMEOUT_S = 60.0  # for pytest's teardown after SIGTERM: the stack's `down` takes a few seconds


class RunError(Exception):
    """The suite could not run at all (bad target, unreachable services): exit 2."""


def new_run_dir(reports: Path, target: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = reports / f"{stamp}-{target}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = reports / f"{stamp}-{target}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def root_plugins() -> list[str]:
    """The plugins the root conftest.py loads (the evidence plugin and every step module)."""
    spec = importlib.util.spec_from_file_location("launchgate_root_conftest", paths.ROOT_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.pytest_plugins)


def features_args(features_dir: Path | None) -> list[str]:
    """What pytest needs to run `features_dir` (default features/) with the project's steps and settings, even
    when it lies outside the project, where the root conftest.py is not found."""
    if features_dir is None:
        return [str(paths.FEATURES)]
    features_dir = features_dir.resolve()
    if features_dir.is_relative_to(PROJECT_ROOT):
        return [str(features_dir)]
    plugins = [arg for name in root_plugins() for arg in ("-p", name)]
    return [str(features_dir), "-c", str(paths.PYTEST_CONFIG), f"--rootdir={PROJECT_ROOT}", *plugins]


def run_features(
    target: str, run_dir: Path, port_base: int | None, extra: list[str], features_dir: Path | None = None,
    gates_file: Path | None = None,
) -> int:
    """pytest features/ in its own process (browser and load tools must not share it), logged to the run dir.
    `gates_file` reaches the steps (steps/common.py), which ask it how much is enough."""
    run_dir = run_dir.resolve()  # pytest runs from the project root
    args = [
        sys.executable, "-m", "pytest", *features_args(features_dir),
        f"--target={target}", f"--run-dir={run_dir}",
        f"--cucumberjson={run_dir / 'cucumber.json'}", f"--junitxml={run_dir / 'scenarios-junit.xml'}",
        "-p", "no:cacheprovider", "-q", "--no-header", "-rfE",
        *([f"--stack-port-base={port_base}"] if port_base else []), *extra,
    ]
    log = run_dir / "pytest.log"
    with log.open("w") as out:
        proc: subprocess.Popen[str] | None = None
        try:
            # Tied to us: if launchgate dies, even by kill -9, pytest gets SIGTERM and its teardown stops the stack.
            with signals.deferred():  # a signal meanwhile waits until `proc` is known, to be forwarded to it
                proc = subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                          **({GATES_FILE_ENV: str(gates_file.resolve())}
                                                             if gates_file else {})},
                                        preexec_fn=signals.die_with_parent())
            last = _relay(proc, out)
        except KeyboardInterrupt:
            if proc is not None:
                _stop_pytest(proc, out, run_dir)
            raise
        code = proc.wait()
    if code in PYTEST_USAGE_CODES and last:
        raise RunError(last)
    if code in PYTEST_USAGE_CODES:
        raise RunError(f"the gate suite could not run (pytest exit {code}); see {log}")
    return code


# pytest's long sections (each failure's traceback, the short summary) go to the log only: the terminal gets the
# progress and, from the report, each failing criterion with one line of evidence.
_LOG_ONLY_FROM = re.compile(r"^=+ (FAILURES|ERRORS|short test summary info) =+$")
_SECTION_END = re.compile(r"^=+ .*(passed|failed|skipped|error|deselected|no tests ran).* =+$")


def _relay(proc: subprocess.Popen[str], out: TextIO) -> str:
    """Copies pytest's output to the log, and all but its tracebacks to our stdout, until it ends; returns the
    last `launchgate:` line."""
    assert proc.stdout is not None
    last = ""
    hiding = False
    for line in proc.stdout:
        out.write(line)
        if _LOG_ONLY_FROM.match(line) and not hiding:
            hiding = True
            _echo(f"(the failures' details are in {out.name})\n")
        elif hiding and _SECTION_END.match(line):
            hiding = False
        if not hiding:
            _echo(line)
        found = EXIT_LINE.search(line)
        if found:
            last = found.group(1)
    return last


def _echo(line: str) -> None:
    with contextlib.suppress(OSError):  # our own stdout gone (a cancelled CI job): the log still gets it
        sys.stdout.write(line)


def _stop_pytest(proc: subprocess.Popen[str], out: TextIO, run_dir: Path) -> None:
    """We were interrupted: SIGTERM makes pytest stop as after Ctrl-C (its session teardown stops the stack it
    started), and we relay what it prints meanwhile. Killed if it has not ended within PYTEST_STOP_TIMEOUT_S."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)  # a second signal when Ctrl-C reached it too: it ignores that one
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(PYTEST_STOP_TIMEOUT_S, kill)
    timer.start()
    try:
        _relay(proc, out)
        proc.wait()
    finally:
        timer.cancel()
    if killed.is_set():
        print(f"launchgate: pytest had not stopped {PYTEST_STOP_TIMEOUT_S:.0f} s after SIGTERM and was killed: "
              f"`reference371os down --state-dir {run_dir / 'stack'}` stops its stack", file=sys.stderr)
