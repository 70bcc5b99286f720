"""What contract.conformance costs: `launchgate run` against the fake public 371OS and against the reference, each
with the wall time of the whole run and of the contract's scenarios (features/contract.feature) within it.

The contract's scenarios run in the same pytest as every other scenario, so their share is read from the run's own
evidence (each scenario record's start and end). Goal: they add at most 30 s to a reference run.

    .venv/bin/python bench/bench_contract.py [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fake_371os  # noqa: E402

CONTRACT_FEATURE = "features/contract.feature"
PORT_BASE = 29700


def scenario_times(run_dir: Path) -> tuple[float, float, int]:
    """Seconds spent in every scenario and in the contract feature's, and how many of those ran."""
    total = contract = 0.0
    count = 0
    for path in (run_dir / "evidence").glob("scenarios-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("kind") != "scenario":
                continue
            seconds = datetime.fromisoformat(record["finished"]) - datetime.fromisoformat(record["started"])
            total += seconds.total_seconds()
            if str(record["details"].get("location", "")).startswith(CONTRACT_FEATURE):
                contract += seconds.total_seconds()
                count += 1
    return total, contract, count


def gate_run(target: str, reports: Path, *extra: str) -> tuple[float, Path]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "launchgate", "run", "--target", target, "--reports-dir", str(reports),
                    *extra], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir() and p.name != "latest"]
    return wall, run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-reference", action="store_true", help="only the fake (the reference takes ~2 min)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lg-bench-contract-") as tmp:
        with fake_371os.running() as fake:
            profile = Path(tmp) / "371os-fake.toml"
            profile.write_text(fake.profile())
            rows.append(("fake 371OS", *gate_run(str(profile), Path(tmp) / "fake")))
        if not args.skip_reference:
            rows.append(("reference", *gate_run("reference", Path(tmp) / "reference", "--port-base", str(PORT_BASE))))
        print(f"{'target':<12} {'run wall':>9} {'scenarios':>10} {'contract':>9} {'contract scenarios':>19}")
        for name, wall, run_dir in rows:
            total, contract, count = scenario_times(run_dir)
            print(f"{name:<12} {wall:>8.1f}s {total:>9.1f}s {contract:>8.1f}s {count:>19}")


if __name__ == "__main__":
    main()
