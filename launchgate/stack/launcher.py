"""`python -m launchgate.stack.launcher < SPECS.json`: starts several services from one warm interpreter.

A service's start is mostly imports (FastAPI, SQLAlchemy, web3: about 2.5 s of CPU each), and a stack has six.
This process imports them once, then forks one child per service and exits once every child's PID file is
written. Each child leads its own session and process group and writes to its own log, exactly as a service
spawned alone (procs.start) does, so the stack stops, kills and restarts it by its PID file like any other.
Nothing here starts a thread before forking, which is what makes the fork safe.

The specs come on standard input (their environments may hold secrets: no file keeps them): a JSON list of
{"name": service, "env": {...}, "log": path, "pidfile": path}, in start order.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from launchgate.stack import serve

PR_SET_NAME = 15  # <linux/prctl.h>


def main() -> None:
    specs: list[dict[str, Any]] = json.load(sys.stdin)
    for spec in specs:
        importlib.import_module(f"launchgate.stack.{spec['name']}.app")
    for spec in specs:
        pid = os.fork()
        if pid == 0:
            _become(spec)
            serve.main()  # returns when the service stops: then this child exits, never back into the loop
            sys.exit(0)
        # Written whole or not at all: the stack reads it while others are still being forked.
        pidfile = Path(spec["pidfile"])
        partial = pidfile.with_suffix(".tmp")
        partial.write_text(str(pid))
        partial.replace(pidfile)


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


if __name__ == "__main__":
    main()
