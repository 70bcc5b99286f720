"""`launchgate onboard`: N new users each sign up, verify their address from the mail, log in and create a
first campaign (load/onboarding.py, under Locust). The result is measurement evidence `onboarding.users`,
which launch.users-onboarded reads ("Successful onboarding of the first 1,000 users").
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from launchgate import paths
from launchgate.evidence import Evidence, EvidenceWriter, iso, now_iso
from launchgate.gates.formatting import fmt_duration
from launchgate.runner import new_run_dir
from launchgate.soak.errors import SoakError
from launchgate.soak.live import Live
from launchgate.soak.loadgen import LoadFeed, LoadGenerator
from launchgate.soak.progress import Progress, clock
from launchgate.soak.store import DB_NAME, Recorder
from launchgate.soak.target import ONBOARDING_ROUTES, load_plan, loadable_target, open_target
from launchgate.soak.windows import histogram_percentile

FLOW = "user onboarded"  # the flow names load/onboarding.py counts
REMOVED = "account removed"


@dataclass
class OnboardOptions:
    target: str
    users: int = 1000
    spawn_rate: float = 20.0
    workers: int = 0
    run_dir: Path | None = None
    timeout_s: float = 1800.0
    allow_production: bool = False
    port_base: int | None = None
    stack_dir: Path | None = None
    locustfile: Path = paths.LOAD / "onboarding.py"


def onboard(options: OnboardOptions) -> int:
    if options.users < 1 or options.spawn_rate <= 0:
        raise SoakError("--users must be at least 1 and --spawn-rate above 0")
    loadable_target(options.target, options.allow_production)  # a bad profile leaves no run directory behind
    run_dir = options.run_dir or new_run_dir(Path("reports").resolve(), f"onboard-{Path(options.target).stem}")
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / DB_NAME).exists():
        raise SoakError(f"{run_dir} already holds a load run: pick another --run-dir")
    session = open_target(options.target, port_base=options.port_base, stack_dir=options.stack_dir,
                          allow_production=options.allow_production, run_dir=run_dir)
    try:
        plan, _ = load_plan(session.target)
        missing = [r for r in ONBOARDING_ROUTES if r not in plan["routes"]]
        if missing:
            raise SoakError(f"target {session.target.name!r} cannot onboard users: its [load] table has no route "
                            f"{', '.join(missing)}")
        return _run(run_dir, options, plan, session.target.name)
    finally:
        session.close()


def _run(run_dir: Path, options: OnboardOptions, plan: dict[str, object], target: str) -> int:
    started = time.time()
    recorder = Recorder(run_dir / DB_NAME).start()
    live = Live(started, options.timeout_s)
    feed = LoadFeed(recorder, live).start()
    # The new users authenticate as themselves: no harness credentials.
    loadgen = LoadGenerator(run_dir, options.locustfile, dict(plan), {}, options.users, options.spawn_rate,
                            options.timeout_s, options.workers, die_with_harness=True)  # no resume: none to adopt it
    stop = threading.Event()
    try:
        loadgen.start()
        feed.add_part(loadgen.part, loadgen.stats_source())
        with Progress(plain_every=10.0, label="onboard") as progress:
            while True:
                attempted, failed = feed.flows().get(FLOW, [0, 0])
                elapsed = time.time() - started
                rate = (attempted - failed) / elapsed if elapsed > 0 else 0.0
                progress.update(f"{clock(elapsed)} | onboarded {attempted - failed:,} of {options.users:,} "
                                f"({failed:,} failed) | {rate:.1f} users/s")
                if attempted >= options.users or elapsed >= options.timeout_s or not loadgen.alive():
                    break
                stop.wait(0.5)
    finally:
        loadgen.stop()
        feed.stop()
        recorder.close()
    finished = time.time()
    attempted, failed = feed.flows().get(FLOW, [0, 0])
    onboarded = attempted - failed
    window = live.snapshot()["window"]
    p95 = histogram_percentile(window.histogram, 0.95)  # type: ignore[attr-defined]
    outcome = "passed" if onboarded >= options.users else "failed"
    tried, not_removed = feed.flows().get(REMOVED, [0, 0])
    if "delete_account" in plan["routes"]:  # type: ignore[operator]
        cleanup = f"{tried - not_removed:,} of the {tried:,} accounts that logged in were closed again"
    else:
        cleanup = ("the profile's [load] table names no delete_account route: the accounts created stay on the "
                   "target")
    record = Evidence(
        run=run_dir.name, kind="measurement", name="onboarding.users", outcome=outcome,
        criterion="launch.users-onboarded", gate="launch", value=float(onboarded), unit="users",
        started=iso(started), finished=now_iso(), target=target, attachments=[DB_NAME],
        details={"requested": options.users, "attempted": attempted, "failed": failed,
                 "not_started": max(0, options.users - attempted), "duration_s": round(finished - started, 3),
                 "users_per_s": round(onboarded / (finished - started), 3), "request_p95_ms": p95,
                 "requests": live.requests, "request_failures": live.failures,
                 "steps": ["signup", "verification mail", "verify", "login", "first campaign"],
                 "accounts_closed": tried - not_removed, "cleanup": cleanup},
    )
    EvidenceWriter(run_dir, "onboarding").write(record)
    print(f"onboarding on {target}: {onboarded:,} of {options.users:,} users onboarded in "
          f"{fmt_duration(finished - started)} ({failed:,} failed, {max(0, options.users - attempted):,} not "
          f"started); {live.requests:,} requests, {live.failures:,} failed")
    print(f"  cleanup: {cleanup}")
    print(f"  evidence: {run_dir / 'evidence' / 'onboarding.jsonl'}")
    return 0 if outcome == "passed" else 1


