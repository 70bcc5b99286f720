"""Benchmark: wall time of the whole browser suite (pytest e2e -m browser), stack start-up included.

The suite runs in a fresh process, as scripts/test.sh runs it, into a scratch run directory; the figure is
the process's wall time, with the per-phase times pytest reports (--durations) and the CPU time of everything
it started (stacks, Chromium, ffmpeg) beside it: on a busy machine the wall time says more about the neighbours.
Prints figures, asserts nothing about time. Goal: < 90 s. Exit code: the suite's own.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 90.0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "pytest", "e2e", "-m", "browser", "-p", "no:cacheprovider", "-q",
               f"--run-dir={run_dir}", "--durations=8", f"--basetemp={Path(tmp) / 'pytest'}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        artifacts = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    output = run.stdout + run.stderr
    summary = next((line for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed)", line)), "")
    print(f"browser suite: {summary.strip('= ') or 'no summary line'} (exit {run.returncode})")
    durations = re.findall(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)", output, re.MULTILINE)
    for seconds, phase, test in durations:
        print(f"  {float(seconds):6.1f} s  {phase:<8} {test.split('::')[-1]}")
    print(f"  {len(artifacts)} file(s) left in the run directory")
    verdict = "within" if wall < GOAL_S else "OVER"
    print(f"wall time: {wall:.1f} s ({verdict} the {GOAL_S:.0f} s goal); CPU time {cpu:.1f} s of "
          f"{os.cpu_count()} core(s); load average {os.getloadavg()[0]:.1f} (other work on the machine slows it)")
    if run.returncode not in (0,):
        print(output[-3000:])
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
