"""The target of a load run: its profile, where its services are, who the load users are, and the guards.

Load only ever goes to the profile's own hosts. A production profile is refused unless the operator says
--allow-production; under test (pytest, or LAUNCHGATE_LOOPBACK_ONLY) only loopback hosts are allowed.
The reference target is started by the harness itself, in the run directory, unless one already runs.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from launchgate import paths, procs
from launchgate.drivers.build import bind_run
from launchgate.reference import DEFAULT_STATE_DIR, ReferenceStack
from launchgate.soak.errors import SoakError
from launchgate.soak.monitor import Watched
from launchgate.targets import LOOPBACK, Target, TargetError, load_target, shift_ports

LOOPBACK_ENV = "LAUNCHGATE_LOOPBACK_ONLY"
# Load users of one identity must not be throttled by the stack's per-identity limit (200 rps by default).
LOAD_STACK_ENV = {"LG_RATE_LIMIT_RPS": "100000", "LG_RATE_LIMIT_BURST": "100000"}
VOTERS_FILE = paths.SEED / "voters.yml"



@dataclass
class TargetSession:
    target: Target
    auth: dict[str, str]  # headers of the load users: secret, passed to Locust through its environment only
    watched: list[Watched]
    stack: ReferenceStack | None = None  # the reference stack, when the harness knows its state directory
    own_stack: bool = False  # started by this run: stopped at its end
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.own_stack and self.stack is not None:
            self.stack.down()


def loopback_only() -> bool:
    return bool(os.environ.get(LOOPBACK_ENV) or os.environ.get("PYTEST_CURRENT_TEST"))


def loadable_target(name: str, allow_production: bool = False, load: bool = True) -> Target:
    """The profile `name`, if load may be put on it (`load`; a watch only observes): checked before a run directory or
    anything else exists."""
    try:
        target = load_target(name)
    except TargetError as exc:
        raise SoakError(str(exc)) from exc
    if not load:
        return target
    if target.production and not allow_production:
        raise SoakError(f"target {target.name!r} is a production profile (production = true in {target.path}): "
                        "load is refused unless you pass --allow-production")
    if target.load is None:
        raise SoakError(f"target {target.name!r} has no [load] table in {target.path}: no routes for load users")
    return target


def open_target(name: str, *, port_base: int | None = None, stack_dir: Path | None = None,
                allow_production: bool = False, run_dir: Path | None = None, start_stack: bool = True,
                load: bool = True) -> TargetSession:
    target = loadable_target(name, allow_production, load)
    if target.managed and port_base is not None:
        target = shift_ports(target, port_base)
    check_hosts(target)
    stack, own = None, False
    if target.managed:
        stack, own = _reference_stack(target, stack_dir, run_dir, start_stack)
    else:
        preflight(target)
    try:
        auth = load_auth(target, stack)
    except BaseException:  # an interrupt too: no session exists yet whose close() would stop the stack
        if own and stack is not None:
            stack.down()
        raise
    if run_dir is not None:
        bind_run(run_dir, target)  # which build the load measures: every record of the run carries it
    watched = [Watched(s.name, s.url + s.health_path,
                       s.url + "/metrics" if (target.managed or target.can("metrics")) else None,
                       stack.pidfile(s.name) if stack is not None and s.name in stack.process_names() else None)
               for s in target.services.values()]
    return TargetSession(target, auth, watched, stack, own)


def hosts(target: Target) -> set[str]:
    urls = [s.url for s in target.services.values()] + list(target.api.values())
    return {urlsplit(u).hostname or "" for u in urls}


def check_hosts(target: Target) -> None:
    if loopback_only():
        outside = sorted(h for h in hosts(target) if h not in LOOPBACK)
        if outside:
            raise SoakError(f"target {target.name!r} names non-loopback hosts ({', '.join(outside)}): refused "
                            f"under test ({LOOPBACK_ENV} or pytest)")


def port_base_of(target: Target) -> int:
    return urlsplit(target.services["gateway"].url).port or 80


SLOW_PATIENCE_S = 30.0  # how long a service that accepts connections but is slow to answer is waited for


def answers(url: str, timeout: float = 3.0, patience: float = 0.0) -> str | None:
    """None when `url` answers HTTP at all, else why not. A refused connection is final at once; a timeout (the
    service is there, maybe busy) is tried again until `patience` seconds have passed: slow is not down."""
    deadline = time.monotonic() + patience
    while True:
        try:
            httpx.get(url, timeout=timeout)
            return None
        except httpx.TimeoutException as exc:
            if time.monotonic() >= deadline:
                return f"{type(exc).__name__}, for {patience:.0f} s" if patience else type(exc).__name__
        except httpx.HTTPError as exc:
            return type(exc).__name__


def preflight(target: Target) -> None:
    """Every service of the profile must answer before any load starts: exit 2 naming the first that does not."""
    for service in target.services.values():
        url = service.url + service.health_path
        why = answers(url, patience=SLOW_PATIENCE_S)
        if why is not None:
            raise SoakError(f"target {target.name!r} is unreachable: {url} does not answer ({why})")


def _reference_stack(target: Target, stack_dir: Path | None, run_dir: Path | None,
                     start: bool) -> tuple[ReferenceStack, bool]:
    """A running stack on the profile's ports whose state directory is known, else a new one in the run dir.

    With start=False (a resumed run) the known stack is used even if some of it is down: that is downtime.
    """
    base = port_base_of(target)
    candidates = [d for d in (stack_dir, run_dir / "stack" if run_dir else None, DEFAULT_STATE_DIR) if d]
    for directory in candidates:
        stack = ReferenceStack(directory)
        if stack.published and stack.port_base == base and (stack.running() or not start):
            if start:
                preflight(target)
            return stack, False
    gateway = target.services["gateway"].url + "/health"
    if answers(gateway, timeout=1.0) is None:
        raise SoakError(f"a reference stack answers at {gateway} but its state directory is not known: pass "
                        "--stack-dir (the directory of its secrets.json)")
    if not start:
        raise SoakError(f"the reference stack at {gateway} is not running and its state directory is unknown")
    directory = stack_dir or (run_dir / "stack" if run_dir else DEFAULT_STATE_DIR)
    stack = ReferenceStack(directory)
    try:
        stack.up(port_base=base, env=dict(LOAD_STACK_ENV))
    except procs.StackError as exc:
        raise SoakError(f"cannot start the reference stack: {exc}") from exc
    return stack, True


def load_auth(target: Target, stack: ReferenceStack | None) -> dict[str, str]:
    """Credentials of the load users, checked once against the target: never printed, never on a command line."""
    mode = target.auth.get("mode", "none")
    if mode == "stack-secrets":
        if stack is None:
            raise SoakError(f"target {target.name!r} takes its credentials from a stack's secrets.json: none known")
        headers = {"X-API-Key": stack.secrets.admin_api_key}
    elif mode == "env":  # the load users act as the admin role (their mix includes approvals)
        unset = target.unset_variables()
        if unset:
            raise SoakError(f"{target.path}: " + "; ".join(unset))
        headers = target.credentials["admin"].headers()
    else:
        headers = {}
    probe = target.load_url("list_campaigns") or target.load_url("dashboard")
    if headers and probe:
        try:
            status = httpx.get(probe.format(), headers=headers, timeout=10).status_code
        except httpx.HTTPError as exc:
            raise SoakError(f"target {target.name!r} is unreachable: {probe} ({type(exc).__name__})") from exc
        if status in (401, 403):
            raise SoakError(f"target {target.name!r} refused the load users' credentials ({status} from {probe})")
    return headers


# The tasks of load/soak.py and the routes each needs; "any" tasks need one of theirs.
SOAK_TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "campaigns": ("all", ("create_campaign",)),
    "governance": ("all", ("create_proposal", "submit_proposal", "start_voting", "cast_vote")),
    "social": ("all", ("social_post",)),
    "reads": ("any", ("dashboard", "list_campaigns", "list_proposals")),
}
ONBOARDING_ROUTES = ("signup", "mailbox", "verify", "login", "create_campaign")


def load_plan(target: Target, tasks: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> tuple[dict[str, Any],
                                                                                                     list[str]]:
    """The JSON plan Locust reads (load/support.py), and notes on the tasks this target cannot run."""
    assert target.load is not None
    routes = {key: {"method": r.method, "url": target.load_url(key), "name": r.name}
              for key, r in target.load.routes.items() if target.load_url(key)}
    weights = dict(target.load.weights)
    notes = []
    for task, (rule, needed) in (tasks or {}).items():
        have = [k in routes for k in needed]
        if not (all(have) if rule == "all" else any(have)):
            if weights.get(task):
                missing = ", ".join(k for k, ok in zip(needed, have, strict=True) if not ok)
                notes.append(f"task {task} is off: the profile has no route {missing}")
            weights[task] = 0
    host = target.api.get("email") or next(iter(target.services.values())).url
    plan = {"host": host, "routes": routes, "weights": weights, "voters_file": str(VOTERS_FILE),
            "profile": {"name": target.name, "sha256": hashlib.sha256(target.path.read_bytes()).hexdigest()},
            **{k: v for k, v in target.load.settings.items() if isinstance(v, str | int | float | list)}}
    return plan, notes


def describe(session: TargetSession) -> dict[str, Any]:
    """What run.json records about the target (no secrets): enough to open it again on --resume."""
    stack = session.stack
    return {"name": session.target.name, "path": str(session.target.path),
            "port_base": port_base_of(session.target) if session.target.managed else None,
            "stack_dir": str(stack.state_dir) if stack is not None else None, "own_stack": session.own_stack}


def reopen(info: dict[str, Any], allow_production: bool) -> TargetSession:
    """The target of a run being resumed: its own stack is started again only if nothing of it runs."""
    stack_dir = Path(info["stack_dir"]) if info.get("stack_dir") else None
    if info.get("own_stack") and stack_dir is not None:
        stack = ReferenceStack(stack_dir)
        started = not stack.running()
        if started:
            try:
                stack.up()
            except procs.StackError as exc:
                raise SoakError(f"cannot start the run's reference stack again: {exc}") from exc
        try:
            session = open_target(info["path"], port_base=info.get("port_base"), stack_dir=stack_dir,
                                  allow_production=allow_production, start_stack=False)
        except BaseException:  # an interrupt too: no session exists yet whose close() would stop what we started
            if started:
                stack.down()
            raise
        session.own_stack = True
        return session
    return open_target(info["path"], port_base=info.get("port_base"), stack_dir=stack_dir,
                       allow_production=allow_production, start_stack=False)

