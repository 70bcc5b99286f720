"""Repeated gate runs against one long-lived stack: does each run's work grow with the target's history?

Starts the reference stack once, in a state directory of its own (`launchgate stack up`, on the default ports),
and gates it N times as a staging deployment is gated: through fixtures/targets/reference-unmanaged.toml with
the credentials `launchgate stack credentials` exports. Then stops the stack. Prints, per run, how long it waited
for the previous run's campaigns to settle (each onboarding rehearsal leaves 1,000 first campaigns delivering and
anchoring on chain; `--back-to-back` does not wait), its wall time, the chain's height after it, the slowest
scenarios' times, and whether every criterion's verdict equals the first run's; at the end, the scenarios and the
target's routes whose time grew most.
Goal (issue 14): the tenth run within 20% of the first, and the same verdicts throughout.

    .venv/bin/python bench/bench_repeat_runs.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 1800
SETTLE_LIMIT_S = 600.0
GATEWAY = "http://127.0.0.1:18370"  # reference-unmanaged.toml's gateway
CHAIN_RPC = "http://127.0.0.1:18377"  # and its chain
ADMIN_TOKEN_ENV = "LAUNCHGATE_REF_ADMIN_TOKEN"  # from `launchgate stack credentials`


def launchgate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, env=env)


def exported(lines: str) -> dict[str, str]:
    """`export NAME=VALUE` lines (launchgate stack credentials) as a mapping."""
    return dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines.splitlines())


def verdicts(run_dir: Path) -> dict[str, str]:
    body = json.loads((run_dir / "verdict.json").read_text())
    return {c["id"]: c["verdict"] for gate in body["gates"] for c in gate["criteria"]}


def evidence(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every record of the run's suite processes."""
    for path in (run_dir / "evidence").glob("scenarios-*.jsonl"):
        for line in path.read_text().splitlines():
            yield json.loads(line)


def scenario_times(run_dir: Path) -> dict[str, float]:
    return {r["name"]: float(r["value"]) for r in evidence(run_dir)
            if r.get("kind") == "scenario" and r.get("value") is not None}


def route_times(run_dir: Path) -> dict[str, float]:
    """Per route of the target, the seconds its answers took in the run (every suite process's slowest ten)."""
    times: dict[str, float] = {}
    for record in evidence(run_dir):
        if record.get("name") == "run.request-errors":
            for route, spent in record["details"].get("slowest_routes", {}).items():
                times[route] = times.get(route, 0.0) + spent["seconds"]
    return times


def grown(first: dict[str, float], last: dict[str, float], count: int = 5) -> str:
    most = sorted(((last.get(n, 0) - t, n) for n, t in first.items()), reverse=True)[:count]
    return "; ".join(f"{n[:50]} {first[n]:.1f}s -> {last.get(n, 0):.1f}s" for _, n in most)


def settle(env: dict[str, str], limit_s: float = SETTLE_LIMIT_S) -> tuple[float, int]:
    """Waits (at most `limit_s`) until the target has no campaign left executing: the previous run's onboarding
    rehearsal leaves 1,000 first campaigns whose deliveries and chain anchors would compete with the next run. The
    seconds waited and what was still executing at the start."""
    url = f"{GATEWAY}/api/email/campaigns"
    headers = {"Authorization": f"Bearer {env[ADMIN_TOKEN_ENV]}"}
    started = time.monotonic()
    executing = at_start = -1
    while executing != 0 and time.monotonic() - started < limit_s:
        executing = int(httpx.get(url, params={"status": "executing", "limit": 1}, headers=headers,
                                  timeout=30).json()["total"])
        at_start = executing if at_start < 0 else at_start
        if executing:
            time.sleep(2)
    return time.monotonic() - started, at_start


def chain_height() -> int:
    """The chain's block number: a run's chain writes, and what every later write costs more for (anvil)."""
    answer = httpx.post(CHAIN_RPC, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                        timeout=30)
    return int(answer.json()["result"], 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--back-to-back", action="store_true",
                        help="start each run at once, not when the previous run's campaigns have settled")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lg-bench-repeat-") as tmp:
        env = {**os.environ, "LAUNCHGATE_STACK_STATE": str(Path(tmp) / "stack")}
        up = launchgate("stack", "up", env=env)
        if up.returncode != 0:
            sys.exit(f"stack up failed: {up.stderr.strip()}")
        try:
            credentials = launchgate("stack", "credentials", env=env)
            if credentials.returncode != 0:
                sys.exit(f"stack credentials failed: {credentials.stderr.strip()}")
            env |= exported(credentials.stdout)
            first: dict[str, str] | None = None
            first_wall = 0.0
            first_times: dict[str, float] = {}
            times: dict[str, float] = {}
            first_routes: dict[str, float] = {}
            routes: dict[str, float] = {}
            print(f"{'run':>3} {'settle':>15} {'wall':>8} {'vs 1st':>7} {'blocks':>7} {'same verdicts':>14}  "
                  "slowest scenarios")
            for number in range(1, args.runs + 1):
                waited, backlog = (0.0, 0) if args.back_to_back else settle(env)
                reports = Path(tmp) / f"run-{number}"
                started = time.perf_counter()
                launchgate("run", "--target", "reference-unmanaged", "--reports-dir", str(reports), env=env)
                wall = time.perf_counter() - started
                (run_dir,) = [p for p in reports.iterdir() if p.is_dir() and p.name != "latest"]
                now = verdicts(run_dir)
                first, first_wall = (now, wall) if first is None else (first, first_wall)
                changed = sorted(k for k in now if now[k] != first.get(k))
                same = "yes" if not changed else "no: " + ", ".join(changed)
                times = scenario_times(run_dir)
                first_times = first_times or times
                routes = route_times(run_dir)
                first_routes = first_routes or routes
                top = "; ".join(f"{name[:40]} {seconds:.1f}s" for name, seconds in
                                sorted(times.items(), key=lambda t: -t[1])[:3])
                settled = f"{waited:.0f}s ({backlog} exec.)"
                print(f"{number:>3} {settled:>15} {wall:>7.1f}s {wall / first_wall:>6.2f}x {chain_height():>7} "
                      f"{same:>14}  {top}", flush=True)
            print(f"scenarios that grew most from run 1 to run {args.runs}: {grown(first_times, times)}")
            print(f"the target's routes that grew most (time of their answers): {grown(first_routes, routes)}")
        finally:
            launchgate("stack", "down", env=env)


if __name__ == "__main__":
    main()
