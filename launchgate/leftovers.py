"""A reference stack left running on the ports a run needs (its harness was killed): found by the PID files of its
state directory, so that `launchgate run` says in one line which command stops it, before any work."""

from __future__ import annotations

import os
from pathlib import Path

from launchgate import procs
from launchgate.reference import DEFAULT_PORT_BASE, DEFAULT_STATE_DIR, PORT_SPAN, ReferenceStack
from launchgate.runner import PROJECT_ROOT
from launchgate.soak.run import RUN_FILE as SOAK_RUN_FILE
from launchgate.soak.store import DB_NAME as SOAK_DB
from launchgate.targets import Target

# Where pytest finds the stack `reference371os up` started (bdd/session.py managed_stack): it runs from here.
ADOPTABLE_STATE_DIR = PROJECT_ROOT / DEFAULT_STATE_DIR


def refuse_leftover_stack(target: Target, port_base: int | None, reports_dir: Path) -> None:
    """StackError (exit 2) when the ports of the stack a run of `target` would start are taken, naming the command
    that frees them: a leftover run's stack, a soak's, or (unknown holder) only the ports."""
    if not target.managed:
        return
    base = port_base or int(os.environ.get("LAUNCHGATE_PORT_BASE", DEFAULT_PORT_BASE))
    if _adoptable(base):
        return
    busy = [port for port in range(base, base + PORT_SPAN) if procs.port_in_use(port)]
    if not busy:
        return
    shown = f"port {busy[0]} is" if len(busy) == 1 else f"ports {_ranges(busy)} are"
    holder = _holder(base, [ADOPTABLE_STATE_DIR, *sorted(reports_dir.glob("*/stack*"))])
    if holder is None:
        raise procs.StackError(f"{shown} busy on 127.0.0.1, not by a stack launchgate knows of: stop what "
                               f"listens there, or pick another --port-base")
    run_dir = holder.state_dir.parent
    if (run_dir / SOAK_RUN_FILE).is_file() and (run_dir / SOAK_DB).is_file():
        raise procs.StackError(f"{shown} held by the reference stack of the soak in {run_dir}: end that "
                               f"soak with `launchgate soak --stop {run_dir}`, or pick another --port-base")
    raise procs.StackError(f"{shown} held by a reference stack left running in {holder.state_dir}: stop it "
                           f"with `reference371os down --state-dir {holder.state_dir}`, or pick another --port-base")


def _adoptable(base: int) -> bool:
    """The whole stack of `reference371os up` runs on these ports: the run uses it (and leaves it running)."""
    stack = ReferenceStack(ADOPTABLE_STATE_DIR)
    return stack.whole() and stack.port_base == base


def _holder(base: int, state_dirs: list[Path]) -> ReferenceStack | None:
    for state_dir in state_dirs:
        stack = ReferenceStack(state_dir)
        if stack.published and stack.port_base == base and stack.running():
            return stack
    return None


def _ranges(ports: list[int]) -> str:
    """20000-20007, 20009: sorted ports, runs of consecutive ones shortened."""
    runs: list[list[int]] = []
    for port in ports:
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
