"""`reference371os up|down|status|logs|faults` and the operations verbs (ops_cli.py): the reference's command line.

A harness drives the reference only through this command and the files `up` publishes in the state directory
(state.json, secrets.json, contracts.json). Expected failures print one line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from reference371os import signals
from reference371os.faults import FAULTS, UnknownFaultError, parse_faults
from reference371os.layout import DEFAULT_PORT_BASE
from reference371os.manager import DEFAULT_STATE_DIR, Stack, StackOptions
from reference371os.ops_cli import register as register_ops
from reference371os.procs import StackError

EXIT_USAGE = 2
DEPENDENCY_NAMES = ("postgres", "anvil", "prometheus")


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


def _stack(args: argparse.Namespace, options: StackOptions | None = None) -> Stack:
    return Stack(Path(args.state_dir), options)


def _up_options(args: argparse.Namespace) -> StackOptions | None:
    """The options given on the command line over those the state directory stored (an `up` of a stack that ran
    before starts the same stack), over the defaults. None: nothing given, so the stored ones or the defaults."""
    given = {
        "port_base": args.port_base,
        "database": args.db,
        "faults": sorted(parse_faults(args.faults)) if args.faults is not None else None,
        "node_env": args.node_env,
        "log_level": args.log_level.upper() if args.log_level else None,
        "provision": args.provision,
        "images": _pairs(args.image, "--image", DEPENDENCY_NAMES) if args.image else None,
        "prometheus": False if args.no_prometheus else None,
        "scrape_interval": args.scrape_interval,
        "extra_env": _pairs(args.env, "--env") if args.env else None,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return None
    stored = Stack(Path(args.state_dir)).options
    return StackOptions(**{**{f.name: getattr(stored, f.name) for f in fields(StackOptions)}, **given})


def _pairs(pairs: list[str], option: str, names: tuple[str, ...] | None = None) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or (names is not None and (name not in names or not value)):
            form = f"NAME=REF with NAME one of {', '.join(names)}" if names else "NAME=VALUE"
            raise UsageError(f"{option} takes {form}; found {pair!r}")
        found[name] = value
    return found


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack(args, _up_options(args))
    try:
        stack.up()
    finally:
        for note in stack.notes:
            print(f"reference371os: {note}", file=sys.stderr)
    print(f"reference 371OS is up (state {stack.state_dir})")
    for row in stack.status():
        print(f"  {row['name']:<11} pid {row['pid']!s:<8} 127.0.0.1:{row['port']:<6} {row['state']}{_container(row)}")
    print(f"gateway: {stack.url('gateway')}   secrets: {stack.secrets_file} (mode 0600)")
    return 0


def _container(row: dict[str, object]) -> str:
    return f"  (container {row['container']})" if row.get("container") else ""


def cmd_down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stopped = stack.down()
    if args.json:  # what could not be stopped travels in the JSON, for the caller to say
        print(json.dumps({"stopped": stopped, "notes": stack.notes}))
        return 0
    print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    for note in stack.notes:
        print(f"reference371os: {note}", file=sys.stderr)
    return EXIT_USAGE if stack.notes else 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = _stack(args).status()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<11} pid {row['pid']!s:<8} 127.0.0.1:{row['port']:<6} {row['state']}{_container(row)}")
    return 0 if all(r["state"] != "stopped" for r in rows) else 3


def cmd_logs(args: argparse.Namespace) -> int:
    stack = _stack(args)
    names = [args.name] if args.name else stack.process_names()
    for name in names:
        path = stack.log_path(name)
        print(f"==> {name} ({path}) <==")
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        print("\n".join(lines[-args.lines :]))
    return 0


def cmd_faults(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(FAULTS, indent=2))
    else:
        for name, effect in FAULTS.items():
            print(f"{name:<20} {effect}")
    return 0


def with_state(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), help="where PIDs, logs and data live")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reference371os", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = with_state(sub.add_parser("up", help="start every service, anvil and the mail sink (again: the same stack)"))
    up.add_argument("--port-base", type=int, help=f"the gateway's port; the rest follow (default {DEFAULT_PORT_BASE})")
    up.add_argument("--db", help="sqlite (default), postgres (started here), or a URL")
    up.add_argument("--faults", help="comma-separated fault switches (see `reference371os faults`)")
    up.add_argument("--node-env", help="NODE_ENV of the services (default development)")
    up.add_argument("--log-level", help="default INFO")
    up.add_argument("--provision", choices=["local", "containers"],
                    help="dependencies (anvil, PostgreSQL, Prometheus) as local processes (default) or as containers")
    up.add_argument("--image", action="append", metavar="NAME=REF",
                    help="containers: the image for postgres, anvil or prometheus (repeatable)")
    up.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    up.add_argument("--scrape-interval", type=float, help="Prometheus scrape interval, seconds (default 5)")
    up.add_argument("--env", action="append", metavar="NAME=VALUE", help="a variable for every service (repeatable)")
    up.set_defaults(func=cmd_up)
    down = with_state(sub.add_parser("down", help="stop every process by PID"))
    down.add_argument("--json", action="store_true", help="what was stopped, as JSON")
    down.set_defaults(func=cmd_down)
    status = with_state(sub.add_parser("status", help="PIDs, ports and health"))
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    logs = with_state(sub.add_parser("logs", help="the last lines of each process's log"))
    logs.add_argument("name", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(func=cmd_logs)
    faults = sub.add_parser("faults", help="the fault switches and what each breaks")
    faults.add_argument("--json", action="store_true")
    faults.set_defaults(func=cmd_faults)
    register_ops(sub, with_state)  # snapshot, restore, deploy, switch, canary, rollback, slots, restart, ...
    return parser


def main(argv: list[str] | None = None) -> int:
    # SIGTERM takes Ctrl-C's path: a KeyboardInterrupt, which `up` answers by stopping what it started.
    with signals.stop_on_signals():
        try:
            args = build_parser().parse_args(argv)
            func: Callable[[argparse.Namespace], int] = args.func
            return func(args)
        except (StackError, UsageError, UnknownFaultError) as exc:
            print(f"reference371os: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"reference371os: stopped by {(signals.received() or signal.SIGINT).name}", file=sys.stderr)
            return signals.exit_code()


if __name__ == "__main__":
    sys.exit(main())

