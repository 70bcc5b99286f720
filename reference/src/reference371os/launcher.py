"""`python -m reference371os.launcher < SPECS.json`: starts several services from one warm interpreter.

A service's start is mostly imports (FastAPI, SQLAlchemy, web3: about 2.5 s of CPU each), and a stack has six.
This process imports them once, then forks one child per service and exits once every child's PID file is
written. Each child leads its own session and process group and writes to its own log, exactly as a service
spawned alone (procs.start) does, so the stack stops, kills and restarts it by its PID file like any other.
Nothing here starts a thread before forking, which is what makes the fork safe.

The specs come on standard input (their environments may hold secrets: no file keeps them): a JSON list of
{"name": service, "env": {...}, "log": path, "pidfile": path}, in start order.

`python -m reference371os.launcher --serve SOCKET` keeps the imports warm for many stacks (the test suite starts
about fifty): it listens on a Unix socket, and for each request (launch_socket.launch_via) forks a launcher that
does what one launcher process does and answers "ok" or the error. It ends when its parent dies or after
IDLE_EXIT_S without a request. launch_socket.LAUNCH_SERVER_ENV names the socket to the stacks started in its
environment.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from reference371os import serve
from reference371os.launch_socket import read_all
from reference371os.layout import SERVICE_NAMES

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

PR_SET_NAME = 15  # <linux/prctl.h>
IDLE_EXIT_S = 3600.0


def main() -> None:
    if sys.argv[1:2] == ["--serve"] and len(sys.argv) == 3:
        _serve(Path(sys.argv[2]))
        return
    specs: list[dict[str, Any]] = json.load(sys.stdin)
    for spec in specs:
        importlib.import_module(f"reference371os.{spec['name']}.app")
    _fork_services(specs)


def _fork_services(specs: list[dict[str, Any]], close: tuple[int, ...] = ()) -> None:
    for spec in specs:
        pid = os.fork()
        if pid == 0:
            for fd in close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            _run_service(spec)
        # Written whole or not at all: the stack reads it while others are still being forked.
        pidfile = Path(spec["pidfile"])
        partial = pidfile.with_suffix(".tmp")
        partial.write_text(str(pid))
        partial.replace(pidfile)


def _run_service(spec: dict[str, Any]) -> NoReturn:
    """In the forked child: becomes the service, serves until it stops, then exits, never back into the loop (or
    into the warm launcher's)."""
    code = 0
    try:
        _become(spec)
        serve.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _become(spec: dict[str, Any]) -> None:
    """Turns the forked child into the service `spec` names: own session, own log, its environment."""
    os.setsid()
    # ps and top show the service's name rather than the launcher's command line (Linux: PR_SET_NAME).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, f"lg-{spec['name']}".encode()[:15], 0, 0, 0)
    log = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.environ.clear()
    os.environ.update(spec["env"])
    sys.argv = [serve.__name__, spec["name"]]


# -- the warm launcher ----------------------------------------------------------------------------------------
def _serve(path: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):  # ends with whoever started it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    for name in SERVICE_NAMES:
        importlib.import_module(f"reference371os.{name}.app")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chmod(path, 0o600)  # the requests carry the services' secrets
    listener.listen(16)
    server = os.getpid()
    last = time.monotonic()
    try:
        while time.monotonic() - last < IDLE_EXIT_S:
            readable, _, _ = select.select([listener], [], [], 1.0)
            _reap()
            if not readable:
                continue
            conn, _ = listener.accept()
            last = time.monotonic()
            if os.fork() == 0:
                listener.close()
                os._exit(_launch_for(conn))
            conn.close()
    finally:
        if os.getpid() == server:
            listener.close()
            path.unlink(missing_ok=True)


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _launch_for(conn: socket.socket) -> int:
    """In a child of the server: one request, one launch, one answer ("ok", or what went wrong)."""
    try:
        conn.settimeout(30)
        request = json.loads(read_all(conn))
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        _fork_services(request["specs"], close=(conn.fileno(),))
        answer = "ok"
    except Exception as exc:  # the answer carries it; the server goes on serving
        traceback.print_exc()
        answer = f"{type(exc).__name__}: {exc}"
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(OSError):
        conn.sendall(answer.encode())
        conn.close()
    return 0 if answer == "ok" else 1


if __name__ == "__main__":
    main()
