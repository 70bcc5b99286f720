"""Starting a reference stack with a launcher of its own (cold) against one warm launcher shared by every stack.

Each round brings up a stack on SQLite without Prometheus (`Stack.up()` returns once every service answers) and
takes it down. Wall time and the CPU the whole host spent (/proc/stat: the services, the launcher, anvil) are
printed per mode. The test suite starts about fifty stacks, all through one warm launcher per test process.

    .venv/bin/python bench/bench_launcher.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.waiting import wait_for  # noqa: E402
from reference371os.launch_socket import LAUNCH_SERVER_ENV  # noqa: E402
from reference371os.manager import Stack, StackOptions, sut_environ  # noqa: E402

PORT_BASE = 29600


def host_cpu_s() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system = (int(f) for f in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def one_round(state: Path) -> tuple[float, float]:
    stack = Stack(state, StackOptions(port_base=PORT_BASE, prometheus=False))
    cpu0, t0 = host_cpu_s(), time.perf_counter()
    stack.up()
    wall, cpu = time.perf_counter() - t0, host_cpu_s() - cpu0
    stack.down()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lg-bench-launcher-") as tmp:
        root = Path(tmp)
        socket_path = root / "launcher.sock"
        server = subprocess.Popen([sys.executable, "-m", "reference371os.launcher", "--serve", str(socket_path)],
                                  env=sut_environ(), stdout=subprocess.DEVNULL)
        try:
            wait_for(socket_path.exists, timeout=60, what="the warm launcher to listen")
            results: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
            for i in range(args.rounds):
                for mode in results:  # interleaved, so that a change in the host's load hits both alike
                    if mode == "warm":
                        os.environ[LAUNCH_SERVER_ENV] = str(socket_path)
                    else:
                        os.environ.pop(LAUNCH_SERVER_ENV, None)
                    results[mode].append(one_round(root / f"{mode}-{i}"))
        finally:
            server.terminate()
            server.wait(10)
    print(f"stack up, {args.rounds} rounds each (median): wall s, host CPU s")
    for mode, rounds in results.items():
        walls, cpus = zip(*rounds, strict=True)
        print(f"  {mode:5s} {statistics.median(walls):6.2f} s  {statistics.median(cpus):6.2f} CPU-s")
    cold, warm = (statistics.median(c for _, c in results[m]) for m in ("cold", "warm"))
    print(f"  warm / cold CPU: {warm / cold:.2f}")


if __name__ == "__main__":
    main()
