"""`launchgate watch`: argparse wiring. Every bad option is refused (SoakError, exit 2) before anything starts."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from launchgate import paths, procs
from launchgate.soak import harness
from launchgate.soak.errors import SoakError
from launchgate.soak.windows import parse_duration
from launchgate.watch.run import GATES, STATE_FILE, WatchOptions, watch

STOP_TIMEOUT_S = 60.0


def _duration(flag: str, text: str, least: float = 0.0) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise SoakError(f"{flag}: {exc}") from exc
    if seconds <= least:
        raise SoakError(f"{flag}: must be longer than {least:g} s, found {text!r}")
    return seconds


def _port(flag: str, port: int | None) -> int | None:
    if port is not None and not 0 <= port < 65536:
        raise SoakError(f"{flag}: a port is 0 to 65535, found {port}")
    return port


def cmd_watch(args: argparse.Namespace) -> int:
    if args.stop:
        return stop_watch(Path(args.stop))
    if not args.target or not args.gate:
        raise SoakError("watch needs --target and --gate (beta or launch), or --stop RUN")
    if args.gate not in GATES:
        raise SoakError(f"--gate must be one of {', '.join(GATES)}, found {args.gate!r}")
    gates = Path(args.gates)
    if not gates.is_file():
        raise SoakError(f"--gates: no file at {gates}")
    options = WatchOptions(
        target=args.target, gate=args.gate, duration_s=_duration("--for", args.for_),
        gates=gates.resolve(), run_dir=Path(args.run_dir) if args.run_dir else None,
        interval=_duration("--probe-interval", args.probe_interval, 0.05),
        cycle_s=_duration("--cycle", args.cycle, 0.5), sli_every_s=_duration("--sli-every", args.sli_every, 0.5),
        feedback_every_s=_duration("--feedback-every", args.feedback_every, 0.5),
        window_s=_duration("--window", args.window, 0.5),
        major_downtime_s=_duration("--major-downtime", args.major_downtime),
        webhook_port=_port("--webhook-port", args.webhook_port) or 0, serve_port=_port("--serve", args.serve),
        port_base=args.port_base, stack_dir=Path(args.stack_dir) if args.stack_dir else None,
    )
    return watch(options)


def stop_watch(run_dir: Path) -> int:
    if not (run_dir / STATE_FILE).is_file():
        raise SoakError(f"{run_dir} is not a watch's run directory (no {STATE_FILE})")
    pid = harness.holder(run_dir)
    if pid is None or pid <= 0:
        print(f"launchgate: the watch in {run_dir} is not running")
        return 0
    procs.send_signal(pid, signal.SIGTERM, group=False)  # it stops its probes and server, then writes the report
    if not procs.wait_until(lambda: harness.holder(run_dir) is None, STOP_TIMEOUT_S, interval=0.2):
        raise SoakError(f"the watch (pid {pid}) did not stop within {STOP_TIMEOUT_S:.0f} s: `kill -9 {pid}`")
    print(f"launchgate: stopped the watch in {run_dir} (pid {pid})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    w = subparsers.add_parser(
        "watch", help="gather a gate's evidence while its period runs (days to weeks): probes, SLIs, alerts, feedback",
        description="Watches a target for the Closed Beta or the launch month: health probes each second, PromQL SLIs, "
                    "Alertmanager webhooks as incidents, testers' feedback; rebuilds the report each cycle. Run it "
                    "again on the same --run-dir to resume after a crash.")
    w.add_argument("--target", help="a profile name in fixtures/targets/ or a .toml path")
    w.add_argument("--gate", help="beta or launch")
    w.add_argument("--for", dest="for_", default="35d", help="how long to watch at most (default 35d)")
    w.add_argument("--run-dir", help="where everything goes (default reports/watch-<target>-<gate>)")
    w.add_argument("--probe-interval", default="1s", help="health probe interval (default 1s)")
    w.add_argument("--cycle", default="5m", help="how often evidence is written and the report rebuilt (default 5m)")
    w.add_argument("--sli-every", default="5m", help="how often the PromQL SLIs are read (default 5m)")
    w.add_argument("--feedback-every", default="10m", help="how often testers' feedback is polled (default 10m)")
    w.add_argument("--window", default="1h", help="the span of one uptime record (default 1h)")
    w.add_argument("--major-downtime", default="5m",
                   help="a system downtime this long is a major disruption (default 5m)")
    w.add_argument("--webhook-port", type=int, default=0, help="Alertmanager's webhook port on 127.0.0.1 (0: any)")
    w.add_argument("--serve", type=int, metavar="PORT", help="show the latest report on 127.0.0.1:PORT")
    w.add_argument("--port-base", type=int, help="the reference stack's port base (default: the profile's)")
    w.add_argument("--stack-dir", help="state directory of a running reference stack to use")
    w.add_argument("--gates", default=str(paths.GATES_FILE))
    w.add_argument("--stop", metavar="RUN", help="stop the watch running in RUN (it writes its last report)")
    w.set_defaults(func=cmd_watch)
