"""`launchgate worker`: one Locust worker on this host, for the master of a soak on another
(`launchgate soak --expect-workers N --master-bind HOST:PORT`). Locust's own distributed mode carries the load.

The worker builds its plan from its own profile, as the master did; load/support.py has the master refuse a worker
whose locustfile or profile differ, naming both (exit 2). A worker that finds no master within --wait exits 2,
naming the address. Ctrl-C or SIGTERM stops its Locust; so does the death of this process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from launchgate.signals import die_with_parent
from launchgate.soak.errors import SoakError
from launchgate.soak.loadgen import locust_env
from launchgate.soak.target import SOAK_TASKS, load_plan, open_target


@dataclass
class WorkerOptions:
    master: str  # HOST:PORT, checked by the CLI
    target: str
    locustfile: Path
    wait_s: float = 30.0
    allow_production: bool = False
    port_base: int | None = None
    stack_dir: Path | None = None


def run_worker(options: WorkerOptions) -> int:
    if not options.locustfile.is_file():
        raise SoakError(f"no locustfile {options.locustfile}")
    host, _, port = options.master.rpartition(":")
    session = open_target(options.target, port_base=options.port_base, stack_dir=options.stack_dir,
                          allow_production=options.allow_production, start_stack=False)
    try:
        plan, _ = load_plan(session.target, SOAK_TASKS)
        await_master(host, int(port), options.wait_s)
        print(f"launchgate worker: joining the Locust master at {options.master} with {options.locustfile.name} "
              f"and profile {session.target.name}", flush=True)
        command = [sys.executable, "-m", "locust", "-f", str(options.locustfile), "--worker",
                   "--master-host", host, "--master-port", port]
        locust = subprocess.Popen(command, env=locust_env(plan, options.locustfile, session.auth),
                                  cwd=options.locustfile.parent, preexec_fn=die_with_parent())
        try:
            code = locust.wait()
            return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell reports it
        except KeyboardInterrupt:
            locust.terminate()
            try:
                locust.wait(10)
            except subprocess.TimeoutExpired:
                locust.kill()
                locust.wait()
            return 130
    finally:
        session.close()


def await_master(host: str, port: int, wait_s: float) -> None:
    """Until something listens at host:port, for at most `wait_s`: a worker must not wait forever for no master."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise SoakError(f"no Locust master answers at {host}:{port} (waited {wait_s:.0f} s): start "
                                "`launchgate soak --expect-workers N --master-bind HOST:PORT` first") from None
            time.sleep(0.5)
