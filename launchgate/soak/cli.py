"""`launchgate soak` and `launchgate onboard`: argparse wiring. Expected errors raise SoakError (exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from launchgate import paths
from launchgate.soak.errors import SoakError
from launchgate.soak.run import SoakOptions, resume_soak, start_soak, stop_soak
from launchgate.soak.windows import parse_duration
from launchgate.targets import LOOPBACK


def _duration(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise SoakError(f"{flag}: {exc}") from exc


def cmd_soak(args: argparse.Namespace) -> int:
    # SIGTERM ends a soak like Ctrl-C (launchgate.cli.main): Locust stopped, the series kept, resumable.
    if args.stop:
        return stop_soak(Path(args.stop))
    if args.resume:
        return resume_soak(Path(args.resume))
    if not args.target or not args.duration:
        raise SoakError("soak needs --target and --duration (or --resume RUN)")
    if args.expect_workers < 0:
        raise SoakError("--expect-workers must be at least 0")
    options = SoakOptions(
        target=args.target,
        duration_s=_duration("--duration", args.duration),
        users=args.users,
        spawn_rate=args.spawn_rate,
        workers=args.workers,
        expect_workers=args.expect_workers,
        master_bind=master_address("--master-bind", args.master_bind or "127.0.0.1:0", args.allow_remote_workers),
        worker_wait_s=_duration("--worker-wait", args.worker_wait),
        run_dir=Path(args.run_dir) if args.run_dir else None,
        abort_on_fail=args.abort_on_fail,
        abort_grace_s=_duration("--abort-grace", args.abort_grace) if args.abort_grace else None,
        allow_production=args.allow_production,
        port_base=args.port_base,
        stack_dir=Path(args.stack_dir) if args.stack_dir else None,
        interval=_duration("--probe-interval", args.probe_interval),
        scrape_interval=_duration("--scrape-interval", args.scrape_interval),
        gates=Path(args.gates),
        locustfile=Path(args.locustfile).resolve(),
        calibrate_s=0.0 if args.calibrate.strip() in ("0", "0s", "off") else _duration("--calibrate", args.calibrate),
    )
    return start_soak(options)


def master_address(flag: str, text: str, allow_remote: bool) -> str:
    """HOST:PORT of a Locust master. Loopback unless `allow_remote`: a master open to the network takes commands
    from anyone who reaches it, and a worker sends load where its master tells it."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise SoakError(f"{flag} must be HOST:PORT, e.g. 127.0.0.1:5557, found {text!r}")
    if host not in LOOPBACK and not allow_remote:
        option = "--allow-remote-workers" if flag == "--master-bind" else "--allow-remote-master"
        raise SoakError(f"{flag} {text} is not a loopback address: pass {option} to use the network")
    return f"{host}:{int(port)}"


def cmd_onboard(args: argparse.Namespace) -> int:
    from launchgate.soak.onboarding import OnboardOptions, onboard

    return onboard(OnboardOptions(
        target=args.target, users=args.users, spawn_rate=args.spawn_rate, workers=args.workers,
        run_dir=Path(args.run_dir) if args.run_dir else None, timeout_s=_duration("--timeout", args.timeout),
        allow_production=args.allow_production, port_base=args.port_base,
        stack_dir=Path(args.stack_dir) if args.stack_dir else None, locustfile=Path(args.locustfile).resolve(),
    ))


def cmd_worker(args: argparse.Namespace) -> int:
    from launchgate.soak.worker import WorkerOptions, run_worker

    return run_worker(WorkerOptions(
        master=master_address("--master", args.master, args.allow_remote_master), target=args.target,
        locustfile=Path(args.locustfile).resolve(), wait_s=_duration("--wait", args.wait),
        allow_production=args.allow_production, port_base=args.port_base,
        stack_dir=Path(args.stack_dir) if args.stack_dir else None,
    ))


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", help="a profile name in fixtures/targets/ or a .toml path")
    p.add_argument("--workers", type=int, default=0, help="Locust workers beside a Locust master (0: one process)")
    p.add_argument("--run-dir", help="where everything goes (default reports/<time>-soak-<target>)")
    p.add_argument("--allow-production", action="store_true", help="load a profile that says production = true")
    p.add_argument("--port-base", type=int, help="the reference stack's port base (default: the profile's)")
    p.add_argument("--stack-dir", help="state directory of a running reference stack to use")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    soak = subparsers.add_parser(
        "soak", help="load a target for a set time and judge its stability window by window",
        description="Locust load, a 1 Hz monitor into soak.sqlite, and windowed stability verdicts "
                    "(bounds: alpha.stability in gates.yaml). Exit 0 stable, 1 not, 3 inconclusive, 2 bad input.")
    _target_args(soak)
    soak.add_argument("--duration", help="how long: 72h, 10m, 90s, 1h30m")
    soak.add_argument("--users", type=int, default=10, help="concurrent Locust users (default 10)")
    soak.add_argument("--spawn-rate", type=float, default=2.0, help="users started per second (default 2)")
    soak.add_argument("--abort-on-fail", action="store_true", help="stop early, as failed, on a sustained breach")
    soak.add_argument("--abort-grace", help="how long a breach must last (default: gates.yaml abort_grace)")
    soak.add_argument("--resume", metavar="RUN", help="carry on a soak whose harness was killed")
    soak.add_argument("--stop", metavar="RUN", help="end a soak that will not be resumed: its Locust and the stack "
                                                    "it started (its harness too, if it still runs)")
    soak.add_argument("--probe-interval", default="1s", help="health probe interval (default 1s)")
    soak.add_argument("--scrape-interval", default="5s", help="/metrics scrape interval (default 5s)")
    soak.add_argument("--gates", default=str(paths.GATES_FILE))
    soak.add_argument("--locustfile", default=str(paths.LOAD / "soak.py"))
    soak.add_argument("--expect-workers", type=int, default=0, metavar="N",
                      help="Locust workers on other hosts (`launchgate worker`) to wait for before the clock starts")
    soak.add_argument("--master-bind", metavar="HOST:PORT",
                      help="where the Locust master listens for them (default 127.0.0.1 and a free port)")
    soak.add_argument("--allow-remote-workers", action="store_true",
                      help="let --master-bind name an address other than loopback")
    soak.add_argument("--worker-wait", default="2m", help="how long to wait for the workers (default 2m)")
    soak.add_argument("--calibrate", default="5s", metavar="DURATION",
                      help="before the clock starts, measure for this long what the soak's users cost the load "
                           "generator, against a null target on 127.0.0.1 (default 5s; 0 skips it)")
    soak.set_defaults(func=cmd_soak)

    worker = subparsers.add_parser(
        "worker", help="one Locust worker for a soak's master, with the same locustfile and profile",
        description="Runs one Locust worker that joins the master of `launchgate soak --expect-workers N` and "
                    "loads the target of its own profile. Exit 2: no master answers, or the master runs another "
                    "locustfile or profile.")
    worker.add_argument("--master", required=True, metavar="HOST:PORT", help="the soak's --master-bind")
    worker.add_argument("--target", required=True, help="the same profile as the master's")
    worker.add_argument("--locustfile", default=str(paths.LOAD / "soak.py"))
    worker.add_argument("--allow-remote-master", action="store_true", help="let --master name a non-loopback host")
    worker.add_argument("--wait", default="30s", help="how long to wait for the master to answer (default 30s)")
    worker.add_argument("--allow-production", action="store_true", help="load a profile that says production = true")
    worker.add_argument("--port-base", type=int, help="the reference stack's port base (default: the profile's)")
    worker.add_argument("--stack-dir", help="state directory of the running reference stack")
    worker.set_defaults(func=cmd_worker)

    onboard = subparsers.add_parser(
        "onboard", help="onboard N new users (signup, mail verification, login, first campaign)",
        description="Locust onboarding of N new users; writes measurement onboarding.users. "
                    "Exit 0 when all N are onboarded, 1 otherwise, 2 bad input.")
    _target_args(onboard)
    onboard.add_argument("--users", type=int, default=1000, help="new users to onboard (default 1000)")
    onboard.add_argument("--spawn-rate", type=float, default=20.0, help="new users per second (default 20)")
    onboard.add_argument("--timeout", default="30m", help="give up after this long (default 30m)")
    onboard.add_argument("--locustfile", default=str(paths.LOAD / "onboarding.py"))
    onboard.set_defaults(func=cmd_onboard)
