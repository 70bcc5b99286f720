"""Test support for running reference stacks in-process: a port slot per stack, the stacks themselves, and one warm
service launcher per test process. Used by the reference's own tests (reference/tests/) and by whoever tests
against real reference stacks (the harness's tests/): both may run in one pytest session, so the port counter and
the warm launcher exist once per process, here. Imports nothing but the reference and the standard library.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reference371os.launch_socket import LAUNCH_SERVER_ENV
from reference371os.layout import PORT_SPAN
from reference371os.manager import Stack, StackOptions, sut_environ

PORT_BASE_ENV = "LAUNCHGATE_TEST_PORT_BASE"
WORKER_BAND = 2000  # ports per pytest-xdist worker

# Each xdist worker gets its own band of ports, each stack in a worker the next PORT_SPAN-port slot in it. Bands stay
# below 32768, where the kernel's ephemeral ports begin: a client socket must never hold a service port. Read when
# this module is first imported, before anything removes the xdist variables from the environment.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_BASE = int(os.environ.get(PORT_BASE_ENV, "20000"))
_PORT_SLOTS = itertools.count(0)
_SLOTS_LOCK = threading.Lock()


def next_port_base() -> int:
    """The first port of the next free PORT_SPAN-port slot of this process's band."""
    with _SLOTS_LOCK:
        slot = next(_PORT_SLOTS)
    return _BASE + WORKER * WORKER_BAND + slot * PORT_SPAN


def start_stack(tmp: Path, **options: object) -> Stack:
    """A reference stack on the next free ports, started. Without Prometheus unless asked (`prometheus=True`): only
    the Prometheus tests read it, and its scrapes of every service are CPU the host lacks while tests run."""
    options.setdefault("prometheus", False)
    stack = Stack(tmp, StackOptions(port_base=next_port_base(), **options))  # type: ignore[arg-type]
    stack.up()
    return stack


_launcher_users = 0
_launcher: tuple[subprocess.Popen[bytes], tempfile.TemporaryDirectory[str]] | None = None
_launcher_lock = threading.Lock()


@contextmanager
def warm_launcher() -> Iterator[None]:
    """One warm service launcher per test process (reference371os/launcher.py --serve), which every stack started
    in this process or in a subprocess of it uses: its imports, about 1.5 s of CPU, are then paid once rather than
    for each stack. Until it listens, and if it ever stops, stacks start their own launcher. Nested and repeated
    uses (a session fixture in each of two test trees) share the one launcher, stopped when the last use ends."""
    global _launcher, _launcher_users
    with _launcher_lock:
        if _launcher is None:
            directory = tempfile.TemporaryDirectory(prefix="lg-launch-")
            socket_path = Path(directory.name) / "launcher.sock"
            server = subprocess.Popen(
                [sys.executable, "-m", "reference371os.launcher", "--serve", str(socket_path)],
                env=sut_environ(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            )
            os.environ[LAUNCH_SERVER_ENV] = str(socket_path)
            _launcher = (server, directory)
        _launcher_users += 1
    try:
        yield
    finally:
        with _launcher_lock:
            _launcher_users -= 1
            if _launcher_users == 0 and _launcher is not None:
                server, directory = _launcher
                _launcher = None
                os.environ.pop(LAUNCH_SERVER_ENV, None)
                server.terminate()
                server.wait(10)
                directory.cleanup()


_shared: Stack | None = None
_shared_users = 0
_shared_lock = threading.Lock()


@contextmanager
def shared_stack(make_dir: Callable[[], Path]) -> Iterator[Stack]:
    """The healthy reference stack on SQLite that a test session shares: started on first use (in a directory from
    `make_dir`), stopped when the last use ends. Each test tree's session fixture wraps it in its own clients."""
    global _shared, _shared_users
    with _shared_lock:
        if _shared is None:
            _shared = start_stack(make_dir())
        _shared_users += 1
        stack = _shared
    try:
        yield stack
    finally:
        with _shared_lock:
            _shared_users -= 1
            if _shared_users == 0:
                _shared = None
                stack.down()


@contextmanager
def stack_factory(make_dir: Callable[[], Path]) -> Iterator[Callable[..., Stack]]:
    """A factory for extra stacks (faults, PostgreSQL), each stopped when the context ends. A PostgreSQL stack gets a
    traversable state directory (its server runs as `postgres`, which cannot enter pytest's 0700 temp dirs),
    removed once that stack is down; any other stack one from `make_dir` unless given `state_dir`."""
    started: list[Stack] = []
    own_dirs: list[Path] = []

    def factory(state_dir: Path | None = None, **options: object) -> Stack:
        if state_dir is None and options.get("database") == "postgres":
            state_dir = Path(tempfile.mkdtemp(prefix="lg-pg-"))
            state_dir.chmod(0o755)
            own_dirs.append(state_dir)
        stack = start_stack(state_dir or make_dir(), **options)
        started.append(stack)
        return stack

    try:
        yield factory
    finally:
        for stack in started:
            stack.down()
        for directory in own_dirs:
            shutil.rmtree(directory, ignore_errors=True)
