"""`reference371os snapshot|restore|deploy|switch|canary|rollback|slots|restart|stop|start|credentials`: the
reference stack's own operations, which the reference profile names in its [hooks] (a real deployment names its
own scripts there).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reference371os.backup import Snapshots
from reference371os.faults import parse_faults
from reference371os.layout import SLOT_OFFSETS
from reference371os.manager import Stack
from reference371os.paths import FIXTURES
from reference371os.procs import StackError
from reference371os.slots import Releases

Parser = argparse.ArgumentParser


def _stack(args: argparse.Namespace) -> Stack:
    stack = Stack(Path(args.state_dir))
    if not stack.secrets_file.exists():
        raise StackError(f"no reference stack in {stack.state_dir}: run `reference371os up` or pass its --state-dir")
    return stack


def cmd_snapshot(args: argparse.Namespace) -> int:
    snapshot = Snapshots(_stack(args)).take(args.name)
    print(f"snapshot {snapshot.name}: {snapshot.kind}, {', '.join(snapshot.services)} ({snapshot.path})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    restarted = Snapshots(_stack(args)).restore(args.name)
    print(f"restored snapshot {args.name}; restarted {', '.join(restarted) or 'nothing'}")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    routing = Releases(_stack(args)).deploy(args.slot)
    print(f"slot {args.slot} is up at {routing['slots'][args.slot]}; traffic stays on {routing['primary']}")
    return 0


def cmd_switch(args: argparse.Namespace) -> int:
    routing = Releases(_stack(args)).switch(args.slot)
    was = f" (was {routing['previous']})" if routing["previous"] else ""
    print(f"traffic goes to slot {routing['primary']}{was}")
    return 0


def cmd_canary(args: argparse.Namespace) -> int:
    routing = Releases(_stack(args)).canary(args.slot, args.percent)
    if routing["canary"]:
        print(f"canary {routing['canary']} gets {routing['percent']:g}% of requests; {routing['primary']} the rest")
    else:
        print(f"no canary; traffic goes to slot {routing['primary']}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    result = Releases(_stack(args)).rollback()
    stopped = f"; stopped slot {result.stopped}" if result.stopped else ""
    print(f"{result.action}: traffic goes to slot {result.serving}{stopped}")
    return 0


# A dependency the hooks name ({dependency}) -> the stack's process that plays it.
DEPENDENCIES = {"mail": "sink"}


def cmd_restart(args: argparse.Namespace) -> int:
    """Kill -9 and start again, as a crash and its supervisor would (--term: a graceful stop instead). --faults
    changes the stack's fault switches first: the restarted services, and every later start, run with them."""
    stack = _stack(args)
    if args.faults is not None:
        stack.set_faults(sorted(parse_faults(args.faults)))
    for service in args.service:
        stack.kill(service, signal.SIGTERM if args.term else signal.SIGKILL)
        stack.start_service(service)
    print(f"{', '.join(args.service)} {'stopped' if args.term else 'killed'} and started again")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    _stack(args).kill(DEPENDENCIES.get(args.service, args.service))
    print(f"{args.service} stopped")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    _stack(args).start_service(DEPENDENCIES.get(args.service, args.service))
    print(f"{args.service} started")
    return 0


def cmd_fill_history(args: argparse.Namespace) -> int:
    from reference371os.history import fill  # the services' models: only this verb needs them

    written = fill(_stack(args), args.campaigns, args.proposals, args.messages)
    print("wrote " + ", ".join(f"{n:,} {kind}" for kind, n in written.items()) + " of the last 30 days")
    return 0


CREDENTIALS_PREFIX = "LAUNCHGATE_REF"
VOTERS_FILE = FIXTURES / "seed" / "voters.yml"


def cmd_credentials(args: argparse.Namespace) -> int:
    """What an operator hands a harness that gates this stack as a deployment it did not start
    (fixtures/targets/reference-unmanaged.toml): each staff role's bearer token from a real login, the
    registered voters' signing keys, the Postiz key, the database's URL, and every stack secret, as shell
    `export` lines for `eval "$(reference371os credentials)"`. It prints secrets, to stdout only."""
    import httpx
    import yaml

    stack = _stack(args)
    found: dict[str, str] = {}
    for role, password in stack.secrets.role_passwords.items():
        try:
            reply = httpx.post(f"{stack.url('gateway')}/api/auth/login", timeout=15,
                               json={"email": f"{role}@371os.local", "password": password})
        except httpx.HTTPError as exc:
            raise StackError(f"cannot log in as {role}: the gateway at {stack.url('gateway')} does not answer "
                             f"({type(exc).__name__}); is the stack up?") from None
        if reply.status_code != 200:
            raise StackError(f"the stack refused the {role} login with {reply.status_code}")
        found[f"{role.upper()}_TOKEN"] = reply.json()["token"]
    for voter in yaml.safe_load(VOTERS_FILE.read_text())["voters"]:
        if voter["role"] in stack.secrets.role_passwords:
            found[f"{voter['role'].upper()}_VOTER_KEY"] = voter["private_key"]
    found["POSTIZ_KEY"] = stack.secrets.postiz_api_key
    found["DATABASE_URL"] = stack.database_url("platform")
    for i, value in enumerate(stack.secrets.values(), 1):
        found[f"SECRET_{i}"] = value
    print("\n".join(f"export {CREDENTIALS_PREFIX}_{name}={shlex.quote(value)}" for name, value in found.items()))
    return 0


def cmd_slots(args: argparse.Namespace) -> int:
    print(json.dumps(Releases(_stack(args)).routing(), indent=2))
    return 0


def register(stack_sub: Any, with_state: Callable[[Parser], Parser]) -> None:
    """Adds the subcommands to `reference371os`; `with_state` adds its --state-dir option."""
    slots = sorted(SLOT_OFFSETS)
    snapshot = with_state(stack_sub.add_parser("snapshot", help="snapshot the 371OS databases under a name"))
    snapshot.add_argument("name")
    snapshot.set_defaults(func=cmd_snapshot)
    restore = with_state(stack_sub.add_parser("restore", help="restore a snapshot (restarts the services)"))
    restore.add_argument("name")
    restore.set_defaults(func=cmd_restore)
    deploy = with_state(stack_sub.add_parser("deploy", help="start a release slot beside the live conduit"))
    deploy.add_argument("--slot", choices=slots, required=True)
    deploy.set_defaults(func=cmd_deploy)
    switch = with_state(stack_sub.add_parser("switch", help="send all traffic to a slot (blue-green)"))
    switch.add_argument("slot", choices=["blue", *slots])
    switch.set_defaults(func=cmd_switch)
    canary = with_state(stack_sub.add_parser("canary", help="send a share of the traffic to a deployed slot"))
    canary.add_argument("--slot", choices=slots, default="canary")
    canary.add_argument("--percent", type=float, required=True, help="0 ends the canary")
    canary.set_defaults(func=cmd_canary)
    rollback = with_state(stack_sub.add_parser("rollback", help="end the canary or undo the last switch"))
    rollback.set_defaults(func=cmd_rollback)
    with_state(stack_sub.add_parser("slots", help="the gateway's release slots, as JSON")).set_defaults(
        func=cmd_slots
    )
    with_state(stack_sub.add_parser("credentials", help="each role's token, the voters' keys and the stack's secrets "
                                    "as shell export lines (prints secrets)")).set_defaults(func=cmd_credentials)
    history = with_state(stack_sub.add_parser("fill-history", help="write a long-lived deployment's past into the "
                                              "databases (for tests of a gate run's cost; nothing on chain)"))
    for kind, default in (("campaigns", 3000), ("proposals", 1000), ("messages", 5000)):
        history.add_argument(f"--{kind}", type=int, default=default, metavar="N")
    history.set_defaults(func=cmd_fill_history)
    restart = with_state(stack_sub.add_parser("restart", help="kill -9 services and start them again"))
    restart.add_argument("service", nargs="+", help="services of the stack (conduit, governance, ...)")
    restart.add_argument("--term", action="store_true", help="stop them with SIGTERM, not SIGKILL")
    restart.add_argument("--faults", help="the stack's fault switches from now on (comma-separated; empty: none)")
    restart.set_defaults(func=cmd_restart)
    for verb, func, what in (("stop", cmd_stop, "stop one service or dependency (mail: the sink)"),
                             ("start", cmd_start, "start one service or dependency again")):
        one = with_state(stack_sub.add_parser(verb, help=what))
        one.add_argument("service", help="a service of the stack (conduit, governance, ...) or a dependency (mail)")
        one.set_defaults(func=func)
