"""Long-lived processes, started and stopped by PID: never found by name."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from launchgate import signals


class StackError(Exception):
    """An expected failure with a message meant for the user (exit 2 at the CLI)."""


def process_state(pid: int) -> str | None:
    """The kernel's state letter for `pid`, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def is_alive(pid: int) -> bool:
    """True for a running process; a zombie counts as dead (PID 1 here reaps slowly)."""
    _reap(pid)
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
        os.waitpid(pid, os.WNOHANG)


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def start(
    cmd: list[str], *, env: Mapping[str, str], log: Path, pidfile: Path, cwd: Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Starts `cmd` in its own process group and writes its PID file. With `die_with_parent`, it gets SIGTERM
    when this process dies (signals.die_with_parent): for processes no one could adopt after us."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    # A stop signal waits until the PID file is written: no process may run that no PID file names.
    with log.open("ab") as out, signals.deferred():
        proc = subprocess.Popen(
            cmd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,  # its own process group, so stop() takes its children too
            preexec_fn=signals.die_with_parent() if die_with_parent else None,
        )
        pidfile.write_text(str(proc.pid))
    return proc


def stop(
    pidfile: Path, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0, group: bool = True
) -> bool:
    """Stops the process (group) in `pidfile`; SIGKILL after `timeout`. True if something was running."""
    pid = read_pid(pidfile)
    if pid is None:
        return False
    was_alive = is_alive(pid)
    if was_alive:
        send_signal(pid, sig, group)
        if not wait_until(lambda: not is_alive(pid), timeout):
            send_signal(pid, signal.SIGKILL, group)
            wait_until(lambda: not is_alive(pid), 5.0)
    pidfile.unlink(missing_ok=True)
    return was_alive


def send_signal(pid: int, sig: signal.Signals, group: bool = True) -> None:
    """Signals the process group led by `pid` (our services lead theirs), else the process alone."""
    if group:
        try:
            os.killpg(pid, sig)
            return
        except (ProcessLookupError, PermissionError):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Polls `condition` until it holds (True) or `timeout` passes (False); the pause grows from `interval` to
    0.5 s, so a long wait polls little."""
    deadline = time.monotonic() + timeout
    pause = interval
    while True:
        if condition():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(max(interval, 0.5), pause * 1.5)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
