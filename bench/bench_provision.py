"""Time to a ready reference target: dependencies as local processes against dependencies as containers.

Each round brings up a full stack with PostgreSQL and Prometheus (`Stack.up()` returns once every process
answers), then takes it down. The containers rounds use images already present (run
`python -m reference371os.provision.images` first; this bench does not count image builds). A Docker engine is
found, or this checkout's own is started for the bench and stopped after it.

    .venv/bin/python bench/bench_provision.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference371os.layout import SERVICE_NAMES  # noqa: E402
from reference371os.manager import Stack, StackOptions  # noqa: E402
from reference371os.procs import StackError, port_in_use  # noqa: E402
from reference371os.provision.engine import Engine, find_engine  # noqa: E402


def free_port_base(start: int = 29500, stop: int = 32700) -> int:
    """Ten free ports in a row below the ephemeral range: other stacks may run on this machine."""
    for base in range(start, stop, 10):
        if not any(port_in_use(p) for p in range(base, base + 10)):
            return base
    raise SystemExit("no ten free ports in a row between 29500 and 32700")


def _timed(phases: dict[str, float], name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
    return wrapper


def one_round(mode: str, state: Path, port_base: int) -> dict[str, float]:
    stack = Stack(state, StackOptions(port_base=port_base, database="postgres", provision=mode,
                                      scrape_interval=1.0))
    phases: dict[str, float] = {}
    provisioner_start = stack.provisioner.start
    stack.provisioner.start = lambda name: _timed(phases, name, provisioner_start)(name)  # type: ignore[method-assign]
    stack.start_service = _timed(phases, "services (6)", stack.start_service)  # type: ignore[method-assign]
    t0 = time.perf_counter()
    stack.up()
    phases["ready"] = time.perf_counter() - t0
    assert set(stack.running()) >= {"postgres", "anvil", "prometheus", *SERVICE_NAMES}, stack.running()
    t0 = time.perf_counter()
    stack.down()
    phases["down"] = time.perf_counter() - t0
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine, ours = find_engine(), None
    if not engine.ok:
        ours = Engine()
        os.environ["DOCKER_HOST"] = ours.start()
        engine = find_engine()
    else:
        os.environ["DOCKER_HOST"] = engine.host
    print(f"engine {engine.host} ({engine.reason}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    results: dict[str, dict[str, list[float]]] = {"local": defaultdict(list), "containers": defaultdict(list)}
    try:
        with tempfile.TemporaryDirectory(prefix="lg-bench-provision-") as tmp:
            os.chmod(tmp, 0o755)  # the local PostgreSQL runs as `postgres` and must enter the state directory
            for i in range(args.rounds):
                for mode in ("local", "containers"):  # interleaved, so that load changes hit both alike
                    try:
                        phases = one_round(mode, Path(tmp) / f"{mode}-{i}", free_port_base())
                    except StackError as exc:  # a loaded machine can miss a start deadline: say so, go on
                        print(f"round {i + 1} {mode:<10} FAILED: {str(exc).splitlines()[0]}")
                        continue
                    for name, seconds in phases.items():
                        results[mode][name].append(seconds)
                    deps = sum(phases.get(n, 0.0) for n in ("postgres", "anvil", "prometheus"))
                    print(f"round {i + 1} {mode:<10} ready {phases['ready']:6.1f} s (dependencies {deps:5.1f} s)"
                          f"  down {phases['down']:5.1f} s   load {os.getloadavg()[0]:.1f}")
    finally:
        if ours is not None:
            ours.stop()
    names = ["ready", "postgres", "anvil", "services (6)", "prometheus", "down"]
    counts = {m: len(results[m]["ready"]) for m in results}
    print(f"\nmedian (seconds) over successful rounds: local {counts['local']}, containers {counts['containers']}")
    print(f"  {'':<32} {'local':>8} {'containers':>11}")
    for name in names:
        cells = [statistics.median(results[m][name]) if results[m][name] else float("nan")
                 for m in ("local", "containers")]
        print(f"  {name:<32} {cells[0]:8.1f} {cells[1]:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
