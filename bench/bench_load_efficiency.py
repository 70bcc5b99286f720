"""Benchmark: load-generator efficiency: requests per second per core of generator CPU, Locust vs wrk, and Locust
through its own distributed mode (a master and 1 or 2 workers, as `launchgate soak --workers N` or remote
`launchgate worker`s run it).

Same route, same run, same reference stack (loopback only): GET /api/governance/proposals?limit=10 through the
gateway, from the reference profile's [load] table; then the same path on the soak's calibration target (a null
target on 127.0.0.1 answering at once, launchgate/soak/calibrate.py), where the generators, not the stack, bound
the rate. Locust runs load/soak.py (FastHttpUser) as `launchgate soak`
starts it, with only that route and no think time; wrk runs with as many connections. Generator CPU is measured
on the generator's own processes (psutil for Locust, getrusage of the reaped child for wrk), so the stack's CPU
is not counted; with workers it is the master's and the workers' CPU together, and the master's own CPU and RSS
are shown apart. On a 2-core box the stack competes for the same cores: compare the per-core figures, not the
raw rates. wrk is installed with apt-get when missing. Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.soak.calibrate import null_target, on_null_target  # noqa: E402
from launchgate.soak.loadgen import LoadGenerator  # noqa: E402
from launchgate.soak.target import LOAD_STACK_ENV, load_plan, shift_ports  # noqa: E402
from launchgate.targets import load_target  # noqa: E402
from reference371os import procs  # noqa: E402
from reference371os.manager import Stack, StackOptions  # noqa: E402

PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "30600"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
USERS = int(os.environ.get("BENCH_USERS", "20"))
ROUTE = "list_proposals"


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get"):
        print("installing wrk with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    return shutil.which("wrk")


def run_locust(run_dir: Path, plan: dict[str, object], workers: int) -> tuple[int, float, int, float, float]:
    """Requests, generator CPU seconds (every Locust process), failures, the master's CPU seconds and RSS (MB)."""
    loadgen = LoadGenerator(run_dir, ROOT / "load" / "soak.py", plan, {}, USERS, float(USERS), SECONDS + 30,
                            workers)
    loadgen.start()
    processes = [psutil.Process(pid) for pid in (procs.read_pid(f) for f in loadgen.pidfiles()) if pid]
    first = _last_line(loadgen.seconds_file)
    cpu0 = [sum(p.cpu_times()[:2]) for p in processes]
    time.sleep(SECONDS)  # the measured span
    cpu = [sum(p.cpu_times()[:2]) - c for p, c in zip(processes, cpu0, strict=True)]
    rss = processes[0].memory_info().rss / 1048576
    last = _last_line(loadgen.seconds_file)
    loadgen.stop()
    return int(last["n"]) - int(first["n"]), sum(cpu), int(last["f"]) - int(first["f"]), cpu[0], rss


def _last_line(path: Path) -> dict[str, float]:
    import json

    lines = path.read_text().strip().splitlines()
    return json.loads(lines[-1]) if lines else {"n": 0, "f": 0}


def run_wrk(wrk: str, url: str) -> tuple[int, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([wrk, "-t1", f"-c{USERS}", f"-d{SECONDS}s", url], capture_output=True, text=True,
                         check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    match = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(match.group(1)) if match else 0, cpu, non2xx.group(1) if non2xx else "0"


def compare(wrk: str | None, state: Path, plan: dict[str, object], what: str) -> None:
    """One table: Locust in one process, through 1 and 2 workers, and wrk, on the plan's single route."""
    url = str(plan["routes"][ROUTE]["url"])  # type: ignore[index]
    print(f"load efficiency on {what}: {url} ({SECONDS} s each, {USERS} users / connections)")
    print(f"  {'generator':<34} {'req/s':>7} {'failed':>6} {'gen. CPU':>9} {'req/s/core':>10} "
          f"{'master CPU':>10} {'master RSS':>10}")
    per_core: dict[int, float] = {}
    for workers in (0, 1, 2):
        requests, cpu, failures, master_cpu, rss = run_locust(state / f"locust-{workers}", plan, workers)
        per_core[workers] = requests / cpu if cpu else 0.0
        name = "Locust, one process" if not workers else f"Locust, master + {workers} worker(s)"
        print(f"  {name:<34} {requests / SECONDS:>7,.0f} {failures:>6} {cpu / SECONDS:>8.2f}c "
              f"{per_core[workers]:>10,.0f} {master_cpu / SECONDS * 100:>9.0f}% {rss:>8.0f}MB", flush=True)
    if wrk is None:
        print("  wrk: not installed and apt-get could not install it: no comparison")
        return
    w_requests, w_cpu, w_bad = run_wrk(wrk, url)
    w_per_core = w_requests / w_cpu if w_cpu else 0.0
    print(f"  {f'wrk -t1 -c{USERS}':<34} {w_requests / SECONDS:>7,.0f} {w_bad:>6} {w_cpu / SECONDS:>8.2f}c "
          f"{w_per_core:>10,.0f}")
    for workers, rate in per_core.items():
        if rate:
            print(f"  wrk per core / Locust per core ({workers} worker(s)): {w_per_core / rate:.1f}x "
                  "(goal through workers: at most 2x)")


def main() -> None:
    wrk = ensure_wrk()
    state = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        stack = Stack(state / "stack", StackOptions(port_base=PORT_BASE, extra_env=dict(LOAD_STACK_ENV)))
        stack.up()
        try:
            plan, _ = load_plan(shift_ports(load_target("reference"), PORT_BASE))
            route = plan["routes"][ROUTE]  # type: ignore[index]
            plan |= {"routes": {ROUTE: route}, "weights": {"reads": 1}, "wait": [0, 0]}
            compare(wrk, state / "stack-route", plan, "the reference stack (it, not the generator, bounds the rate)")
        finally:
            stack.down()
        # The soak's calibration target: every request answered at once, so the generators are the bound.
        with null_target() as (base, _counter):
            null_route = {**route, "url": on_null_target(str(route["url"]), base)}
            compare(wrk, state / "null-route", {**plan, "host": base, "routes": {ROUTE: null_route}},
                    "a null target on 127.0.0.1 (the generator is the bound)")
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
