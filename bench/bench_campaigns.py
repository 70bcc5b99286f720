"""Foundation benchmark: campaign creation through the gateway at 50 concurrent Locust users, SQLite vs PostgreSQL.

For each database a fresh reference stack (loopback, rate limit raised for load) takes POST /api/email/campaign
(auto approval mode, no DAO: agent approvals run, the campaign is delivered and anchored in the background) from
50 Locust users of load/soak.py's campaign task, with the profile's think time. p50 and p95 are Locust's own,
from its final statistics. The PostgreSQL stack's state directory must be traversable by the postgres user
(tempfile.mkdtemp + chmod 755). Goal: p95 < 50 ms. Prints figures, asserts nothing.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.soak.loadgen import LoadGenerator  # noqa: E402
from launchgate.soak.target import LOAD_STACK_ENV, load_auth, load_plan, shift_ports  # noqa: E402
from launchgate.targets import load_target  # noqa: E402
from reference371os.manager import Stack, StackOptions  # noqa: E402

PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "30640"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
USERS = 50
NAME = "POST /api/email/campaign"


def measure(database: str, port_base: int) -> dict[str, str]:
    state = Path(tempfile.mkdtemp(prefix=f"bench-campaigns-{database}-"))
    state.chmod(0o755)  # PostgreSQL runs as the postgres user, which must reach its data directory
    stack = Stack(state / "stack", StackOptions(port_base=port_base, database=database,
                                                extra_env=dict(LOAD_STACK_ENV)))
    started = time.monotonic()
    stack.up()
    up_s = time.monotonic() - started
    try:
        target = shift_ports(load_target("reference"), port_base)
        plan, _ = load_plan(target)
        plan["routes"] = {"create_campaign": plan["routes"]["create_campaign"]}  # type: ignore[index]
        plan["weights"] = {"campaigns": 1}
        loadgen = LoadGenerator(state / "run", ROOT / "load" / "soak.py", plan, load_auth(target, stack), USERS,
                                25.0, SECONDS)
        loadgen.start()
        while loadgen.alive():  # Locust stops itself after -t and writes its final statistics
            time.sleep(0.5)
        with open(f"{loadgen.prefix}_stats.csv") as fh:
            row = next(r for r in csv.DictReader(fh) if r["Name"] == NAME)
        return {**row, "stack_up_s": f"{up_s:.0f}"}
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    print(f"campaign creation through the gateway: {USERS} Locust users for {SECONDS} s each (goal p95 < 50 ms)")
    for i, database in enumerate(("sqlite", "postgres")):
        row = measure(database, PORT_BASE + 20 * i)
        count, failures = int(row["Request Count"]), int(row["Failure Count"])
        print(f"  {database:<9} p50 {row['50%']:>5} ms  p95 {row['95%']:>5} ms  p99 {row['99%']:>5} ms  "
              f"{float(row['Requests/s']):6.1f} campaigns/s  {count:,} created, {failures:,} failed "
              f"(stack up in {row['stack_up_s']} s)")


if __name__ == "__main__":
    main()
