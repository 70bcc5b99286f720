"""The `launchgate` command line. Expected failures print one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from launchgate import paths, reference, signals
from launchgate.coverage_import import register as register_coverage
from launchgate.drivers.chain import ChainConfigError
from launchgate.drivers.chain import register as register_chain
from launchgate.drivers.contract import ContractDocError, load_contract
from launchgate.envcheck import register as register_check_env
from launchgate.faultmatrix import TRIPS
from launchgate.gates.feedback_import import FeedbackFileError, feedback_command
from launchgate.gates.loader import GatesConfigError, check_gate_names, load_gates
from launchgate.leftovers import refuse_leftover_stack
from launchgate.procs import StackError
from launchgate.profile_check import answered_problems, local_problems
from launchgate.report.build import ReportError, report_command
from launchgate.runner import RunError, new_run_dir, run_features
from launchgate.soak.cli import register as register_soak
from launchgate.soak.errors import SoakError
from launchgate.soak.run import RUN_FILE as SOAK_RUN_FILE
from launchgate.soak.store import DB_NAME as SOAK_DB
from launchgate.targets import Target, TargetError, load_target
from launchgate.uat import register as register_uat
from launchgate.watch.cli import register as register_watch

EXIT_USAGE = 2
GATES_FILE = paths.GATES_FILE
EXIT_ZERO_HELP = ("exit 0 once the report is written, whatever the verdict (what `make report` uses); without it: "
                  "0 every gate passes, 1 one fails, 3 one is inconclusive, for CI. Bad input still exits 2")


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


def cmd_stack(args: argparse.Namespace) -> int:
    """`stack ARGS` is `reference371os ARGS`: the reference's own command line, as a process."""
    return reference.passthrough(args.args)


def _check_profile(target: Target, name: str) -> None:
    """The profile against its deployment, cheapest first: variables and hooks, then (unmanaged) every URL, each
    role's credential and the chain id. The first problem is the error."""
    problems = local_problems(target)
    if not problems and not target.managed:
        from launchgate.bdd.session import check_reachable
        from launchgate.drivers.errors import DriverError

        try:
            check_reachable(target)
        except DriverError as exc:
            raise UsageError(str(exc)) from None
        problems = answered_problems(target)
    if problems:
        more = f" (and {len(problems) - 1} more: see `launchgate doctor --target {name}`)" if problems[1:] else ""
        raise UsageError(f"{target.path}: {problems[0]}{more}")


def _faults(text: str) -> list[str]:
    names = sorted({p.strip() for p in text.split(",") if p.strip()})
    unknown = [n for n in names if n not in TRIPS]
    if unknown:
        raise UsageError(f"--faults: unknown fault switch {', '.join(unknown)}; known: {', '.join(sorted(TRIPS))}")
    return names


def cmd_run(args: argparse.Namespace) -> int:
    faults = _faults(args.faults)
    if faults:
        os.environ["LAUNCHGATE_FAULTS"] = ",".join(faults)
    gates = _gate_list(args.gates)
    # Every bad input (target, gates file, --gates, features directory, soak) stops the run here, in a second,
    # before a stack, a run directory or a scenario starts: found after the suite, it would cost the whole run.
    target = load_target(args.target)
    check_gate_names(load_gates(Path(args.gates_file)), gates, args.gates_file)
    try:
        load_contract()  # the OpenAPI documents contract.conformance runs
    except ContractDocError as exc:
        raise UsageError(str(exc)) from None
    features_dir = Path(args.features_dir) if args.features_dir else None
    if features_dir is not None and not features_dir.is_dir():
        raise UsageError(f"--features-dir {args.features_dir}: no such directory")
    extra = list(args.pytest_args)
    if args.soak:
        extra.append(f"--soak-run={_finished_soak(args.soak, args.reports_dir).resolve()}")
    _check_profile(target, args.target)
    refuse_leftover_stack(target, args.port_base, Path(args.reports_dir))  # a killed run's stack on our ports
    run_dir = _new_run_dir(args.reports_dir, target.name)
    print(f"launchgate: running the gate suite against {target.name} into {run_dir}")
    # pytest runs from the project root: a profile given by its path travels as an absolute one.
    target_arg = str(target.path.resolve()) if args.target.endswith(".toml") else args.target
    run_features(target_arg, run_dir, args.port_base, extra, features_dir, Path(args.gates_file))
    return report_command(run_dir, Path(args.gates_file), gates, exit_zero=args.exit_zero)


def _finished_soak(run: str, reports_dir: str) -> Path:
    """The soak `--soak` names: a directory with a soak's run.json and soak.sqlite, and the evidence its analysis
    writes when the soak ends (evidence/soak.jsonl, see launchgate/soak/run.py `_finish`)."""
    soak = _run_dir(run, reports_dir)
    refused = f"--soak {run}: not a finished soak run directory"
    if not soak.is_dir():
        looked = f"no directory {run}" + (f" nor {soak}" if soak != Path(run) else "")
        raise UsageError(f"{refused}: {f'{run} is a file' if Path(run).exists() else looked}")
    if not (soak / SOAK_RUN_FILE).is_file() or not (soak / SOAK_DB).is_file():
        raise UsageError(f"{refused}: {soak} has no {SOAK_RUN_FILE} and {SOAK_DB}, so it is not a soak "
                         f"(start one with `launchgate soak --target T --duration 72h`)")
    if not (soak / "evidence" / "soak.jsonl").is_file():
        raise UsageError(f"{refused}: {soak} has no evidence/soak.jsonl, so the soak has not finished "
                         f"(carry it on with `launchgate soak --resume {soak}`)")
    return soak


def _new_run_dir(reports_dir: str, target: str) -> Path:
    try:
        return new_run_dir(Path(reports_dir), target)
    except OSError as exc:  # e.g. --reports-dir names a file: a usage error, not a traceback
        raise UsageError(f"--reports-dir {reports_dir}: cannot make a run directory: {exc.strerror or exc}") from None


def cmd_report(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args.run, args.reports_dir)
    return report_command(run_dir, Path(args.gates_file), _gate_list(args.gates), exit_zero=args.exit_zero)


def cmd_feedback_import(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args.run, args.reports_dir)
    if not run_dir.is_dir():
        raise UsageError(f"no run directory {args.run!r} (looked in {args.reports_dir}/)")
    code = feedback_command(Path(args.file), run_dir.resolve(), testers=args.testers)
    print(f"rebuild the report with: launchgate report {run_dir}")
    return code


def _run_dir(run: str, reports_dir: str) -> Path:
    path = Path(run)
    return path if path.is_dir() else Path(reports_dir) / run


def _gate_list(text: str | None) -> list[str] | None:
    return [g.strip() for g in text.split(",") if g.strip()] if text else None


def cmd_faults(_args: argparse.Namespace) -> int:
    """The reference's fault switches (their effects from `reference371os faults`), each with the criterion the
    harness expects it to fail."""
    effects: dict[str, str] = json.loads(reference.command(["faults", "--json"])) if reference.installed() else {}
    for name, trip in TRIPS.items():
        print(f"{name:<20} {trip.criterion:<26} {effects.get(name, '')}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="launchgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="the reference 371OS's own command line (`reference371os --help`)",
                           description="`stack ARGS` runs `reference371os ARGS`: up, down, status, logs, "
                           "snapshot, restore, deploy, switch, canary, rollback, restart, credentials, ...")
    stack.add_argument("args", nargs=argparse.REMAINDER, help="the reference371os command and its options")
    stack.set_defaults(func=cmd_stack)

    run = sub.add_parser("run", help="the main job: run the gate suite against a target and score it")
    run.add_argument("--target", default=os.environ.get("LAUNCHGATE_TARGET", "reference"),
                     help="a profile name from fixtures/targets/, or the path of a profile .toml")
    run.add_argument("--gates", help="comma-separated gates to decide (default: all)")
    run.add_argument("--gates-file", default=str(GATES_FILE))
    run.add_argument("--reports-dir", default="reports")
    run.add_argument("--port-base", type=int, help="port base of the reference stack the run starts")
    run.add_argument("--faults", default="", help="fault switches for the reference stack (a demonstration)")
    run.add_argument("--features-dir", help="run the feature files of this directory instead of features/")
    run.add_argument("--soak", metavar="RUN", help="a finished soak run (directory or id) the stability criteria read")
    run.add_argument("--exit-zero", action="store_true", help=EXIT_ZERO_HELP)
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="rebuild a run's report from its stored evidence alone")
    report.add_argument("run", help="run directory, or a run id under --reports-dir")
    report.add_argument("--gates", help="comma-separated gates to decide (default: all)")
    report.add_argument("--gates-file", default=str(GATES_FILE))
    report.add_argument("--reports-dir", default="reports")
    report.add_argument("--exit-zero", action="store_true", help=EXIT_ZERO_HELP)
    report.set_defaults(func=cmd_report)

    feedback = sub.add_parser("feedback", help="UAT feedback intake")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    intake = feedback_sub.add_parser("import", help="import a CSV or JSON survey export as feedback evidence")
    intake.add_argument("file")
    intake.add_argument("--run", default="latest", help="run directory or id under --reports-dir (default: latest)")
    intake.add_argument("--reports-dir", default="reports")
    intake.add_argument("--testers", type=int, help="how many testers were invited, for the response rate")
    intake.set_defaults(func=cmd_feedback_import)

    sub.add_parser("faults", help="list the fault switches and the criterion each must trip").set_defaults(
        func=cmd_faults
    )
    from launchgate.doctor import add_parser as add_doctor_parser

    add_doctor_parser(sub)
    register_soak(sub)
    register_watch(sub)
    register_check_env(sub)
    register_coverage(sub)
    register_chain(sub)
    register_uat(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (`kill PID`, a CI runner's cancel) takes Ctrl-C's path: a KeyboardInterrupt, which every command
    # answers by stopping what it started (launchgate/signals.py).
    with signals.stop_on_signals():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except (StackError, UsageError, TargetError, RunError, GatesConfigError, ReportError,
            SoakError, FeedbackFileError, ChainConfigError) as exc:
        print(f"launchgate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"launchgate: stopped by {(signals.received() or signal.SIGINT).name}", file=sys.stderr)
        return signals.exit_code()


if __name__ == "__main__":
    sys.exit(main())
