"""Is a soak's harness still running? It holds a lock on <run>/pids/harness.lock (its PID inside) while it lives.

The kernel drops the lock when the harness dies, even by kill -9, so a held lock means a live harness whatever
PID has been reused since: `--resume` refuses a soak whose harness still runs, and `--stop` asks it to stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from launchgate.soak.errors import SoakError

LOCK_FILE = Path("pids") / "harness.lock"


def lock_path(run_dir: Path) -> Path:
    return run_dir / LOCK_FILE


def holder(run_dir: Path) -> int | None:
    """The PID of the live harness of the soak in `run_dir`, or None when none runs."""
    try:
        fd = os.open(lock_path(run_dir), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1  # -1: alive, PID not written yet
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def harness_lock(run_dir: Path, what: str = "soak") -> Iterator[None]:
    """Held while this process drives the soak (or watch: `what`) in `run_dir`; SoakError if another harness
    drives it, naming its PID."""
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)  # CLOEXEC: Locust must not inherit it
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder(run_dir)
            raise SoakError(f"the {what} in {run_dir} is still running (its harness is pid {pid}): stop it with "
                            f"`launchgate {what} --stop {run_dir}`") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # drops the lock
