"""Benchmark: wall time of `pytest features/` against the reference target, stack start included.

Runs the gate suite sequentially and with pytest-xdist (`-n 2`), each in a fresh process and a fresh run directory,
on its own port band so that it meets no stack left running by someone else. Under xdist each worker starts its
own reference stack, WORKER_PORT_STRIDE ports above the previous one (launchgate/bdd/evidence_plugin.py says why).
Prints wall time, scenario counts, the stack's start time alone and the machine's load; asserts nothing.
Goal: the whole suite under 3 minutes.

    .venv/bin/python bench/bench_features.py [--runs N] [--modes seq,n2] [--port-base 24000] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 180.0
MODES = {"seq": [], "n2": ["-n", "2"]}
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors)")


@dataclass
class Result:
    mode: str
    wall_s: float
    exit_code: int
    counts: dict[str, int]
    load_before: float
    load_after: float


def stack_start(port_base: int, scratch: Path) -> float:
    """Seconds `launchgate stack up` takes to bring the reference stack up alone (it is then stopped)."""
    state = scratch / "stack-alone"
    cli = [sys.executable, "-m", "launchgate", "stack"]
    started = time.monotonic()
    up = subprocess.run([*cli, "up", "--state-dir", str(state), "--port-base", str(port_base)], cwd=ROOT,
                        capture_output=True, text=True)
    took = time.monotonic() - started
    subprocess.run([*cli, "down", "--state-dir", str(state)], cwd=ROOT, capture_output=True, text=True)
    if up.returncode != 0:
        print(f"  stack up failed: {up.stderr.strip()[-300:]}", file=sys.stderr)
    return took


def run_once(mode: str, port_base: int, extra: list[str], keep: Path) -> Result:
    run_dir = keep / f"{mode}-{int(time.time())}"
    args = [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", f"--run-dir={run_dir}",
            f"--stack-port-base={port_base}", *MODES[mode], *extra]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    counts = {kind.rstrip("s") if kind == "errors" else kind: int(n) for n, kind in SUMMARY.findall(tail)}
    if done.returncode not in (0, 1):
        print(f"  {mode}: pytest exit {done.returncode}: {tail}", file=sys.stderr)
    return Result(mode, wall, done.returncode, counts, load_before, os.getloadavg()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per mode")
    parser.add_argument("--modes", default="seq,n2", help="comma-separated: seq, n2")
    parser.add_argument("--port-base", type=int, default=24000, help="the stacks' port band (n2 uses two stacks)")
    parser.add_argument("--no-stack-alone", action="store_true", help="skip timing the stack's start on its own")
    parser.add_argument("--keep", help="keep the run directories here (default: a temporary directory)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {', '.join(unknown)}: use {', '.join(MODES)}")

    with tempfile.TemporaryDirectory(prefix="bench-features-") as scratch:
        keep = Path(args.keep).resolve() if args.keep else Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        print(f"pytest features/ against the reference target on {os.cpu_count()} CPUs, stack start included")
        if not args.no_stack_alone:
            print(f"  the reference stack alone comes up in {stack_start(args.port_base, Path(scratch)):.1f} s "
                  f"(load {os.getloadavg()[0]:.1f})")
        results = []
        for mode in modes:
            for i in range(args.runs):
                result = run_once(mode, args.port_base, args.pytest_args, keep)
                results.append(result)
                counts = ", ".join(f"{n} {k}" for k, n in result.counts.items()) or "no summary"
                verdict = "under" if result.wall_s < GOAL_S else "OVER"
                print(f"  {mode:<4} run {i + 1}: {result.wall_s:6.1f} s wall ({verdict} the {GOAL_S:.0f} s goal)   "
                      f"{counts}   exit {result.exit_code}   "
                      f"load {result.load_before:.1f} -> {result.load_after:.1f}")
        print(json.dumps([r.__dict__ for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
