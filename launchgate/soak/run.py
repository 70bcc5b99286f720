"""`launchgate soak`: Locust load for a set time, a monitor beside it, and a windowed stability verdict.

A run directory holds everything: run.json (the settings, no secrets), soak.sqlite (the time series),
locust/ (Locust's CSV and logs), pids/, evidence/soak.jsonl, and stack/ when the run started its own stack.
A harness killed mid-run is resumed with `--resume RUN`: what was written stays, the time it was away is a
harness gap (not target downtime), and a Locust still running is adopted, else a new one takes the rest.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from launchgate import paths, procs
from launchgate.evidence import EvidenceWriter
from launchgate.gates.formatting import fmt_duration, fmt_percent
from launchgate.gates.loader import GatesConfigError, load_gates
from launchgate.gates.model import StabilityWindows
from launchgate.reference import ReferenceStack
from launchgate.runner import new_run_dir
from launchgate.soak import analysis, harness
from launchgate.soak.calibrate import Calibration, calibrate
from launchgate.soak.errors import SoakError
from launchgate.soak.failures import failures_by_route, shown
from launchgate.soak.live import Live, WindowSums
from launchgate.soak.loadgen import LoadFeed, LoadGenerator, Watchdog
from launchgate.soak.monitor import Monitor
from launchgate.soak.progress import Progress, line
from launchgate.soak.store import DB_NAME, Recorder, SoakQueries, connect, meta_row, read_meta
from launchgate.soak.target import (
    SOAK_TASKS,
    TargetSession,
    describe,
    load_plan,
    loadable_target,
    open_target,
    reopen,
)
from launchgate.soak.windows import breaches, check_error_rate, judge_p95, window_checks, window_seconds

STABILITY = "alpha.stability"
EXIT_STABLE, EXIT_UNSTABLE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED, EXIT_USAGE = 0, 1, 3, 130, 2
RUN_FILE = "run.json"


@dataclass
class SoakOptions:
    target: str
    duration_s: float
    users: int = 10
    spawn_rate: float = 2.0
    workers: int = 0
    expect_workers: int = 0  # workers on other hosts (`launchgate worker`), joining the master at master_bind
    master_bind: str = "127.0.0.1:0"  # HOST:PORT; port 0: any free one
    worker_wait_s: float = 120.0
    run_dir: Path | None = None
    abort_on_fail: bool = False
    abort_grace_s: float | None = None  # None: alpha.stability.windows.abort_grace in gates.yaml
    allow_production: bool = False
    port_base: int | None = None
    stack_dir: Path | None = None
    interval: float = 1.0
    scrape_interval: float = 5.0
    probe_timeout: float = 5.0  # a slow answer is not an outage; a refused connection fails at once
    gates: Path = paths.GATES_FILE
    locustfile: Path = paths.LOAD / "soak.py"
    calibrate_s: float = 5.0  # 0: no calibration of the load generator before the clock starts
    quiet: bool = False


@dataclass
class RunState:
    """run.json: what a resumed harness needs to carry on. Never a secret."""

    options: dict[str, Any]
    target: dict[str, Any]
    start: float
    end: float
    window_s: float
    services: list[str]
    plan: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    calibration: dict[str, Any] | None = None  # calibrate.Calibration.as_json(), taken before the clock started

    def save(self, run_dir: Path) -> None:
        tmp = run_dir / (RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, default=str))
        tmp.replace(run_dir / RUN_FILE)

    @classmethod
    def load(cls, run_dir: Path) -> RunState:
        return cls(**json.loads((run_dir / RUN_FILE).read_text()))


def load_bounds(path: Path) -> StabilityWindows:
    try:
        config = load_gates(path)
    except GatesConfigError as exc:
        raise SoakError(str(exc)) from exc
    criterion = config.criterion(STABILITY)
    if criterion is None or criterion.windows is None:
        raise SoakError(f"{path}: criterion {STABILITY} has no `windows:` mapping (the soak's bounds)")
    return criterion.windows


def _options_json(options: SoakOptions) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}


def _options_from(data: dict[str, Any]) -> SoakOptions:
    paths = {"run_dir", "stack_dir", "gates", "locustfile"}
    return SoakOptions(**{k: (Path(v) if k in paths and v is not None else v) for k, v in data.items()})


# -- start ------------------------------------------------------------------------------------------------
def start_soak(options: SoakOptions) -> int:
    bounds = load_bounds(options.gates)
    if options.users < 1 or options.spawn_rate <= 0 or options.workers < 0:
        raise SoakError("--users must be at least 1, --spawn-rate above 0 and --workers at least 0")
    if not options.locustfile.is_file():
        raise SoakError(f"no locustfile {options.locustfile}")
    loadable_target(options.target, options.allow_production)  # a bad profile leaves no run directory behind
    run_dir = options.run_dir or new_run_dir(Path("reports").resolve(), f"soak-{Path(options.target).stem}")
    if (run_dir / DB_NAME).exists():
        raise SoakError(f"{run_dir} already holds a soak: resume it with --resume {run_dir}, or pick another --run-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    options.run_dir = run_dir
    with harness.harness_lock(run_dir):
        session = open_target(options.target, port_base=options.port_base, stack_dir=options.stack_dir,
                              allow_production=options.allow_production, run_dir=run_dir)
        try:
            plan, notes = load_plan(session.target, SOAK_TASKS)
            if not any(plan["weights"].values()):
                raise SoakError(f"target {session.target.name!r}: no soak task has its routes ({'; '.join(notes)})")
            provisional = time.time()  # set again when the load starts
            calibration = _calibrate(run_dir, options, plan)
            state = RunState(options=_options_json(options), target=describe(session), start=provisional,
                             end=provisional + options.duration_s,
                             window_s=window_seconds(options.duration_s, bounds),
                             services=[w.name for w in session.watched], plan=plan, notes=notes,
                             calibration=calibration.as_json() if calibration else None)
            state.save(run_dir)
            return _drive(run_dir, state, options, bounds, session, resumed=False)
        finally:
            session.close()


def _calibrate(run_dir: Path, options: SoakOptions, plan: dict[str, Any]) -> Calibration | None:
    if options.calibrate_s <= 0:
        return None
    processes = options.workers + options.expect_workers
    result = calibrate(run_dir, options.locustfile, plan, options.users, processes, options.calibrate_s)
    if not options.quiet:
        print(result.describe(), flush=True)
    return result


# -- resume -----------------------------------------------------------------------------------------------
def _soak_dir(run: Path) -> Path:
    return run if run.is_dir() or run.is_absolute() else Path("reports") / run


def resume_soak(run: Path, *, quiet: bool = False) -> int:
    run_dir = _soak_dir(run)
    with harness.harness_lock(run_dir) if (run_dir / RUN_FILE).is_file() else contextlib.nullcontext():
        return _resume(run, run_dir, quiet)


def _resume(run: Path, run_dir: Path, quiet: bool) -> int:
    if not (run_dir / RUN_FILE).is_file() or not (run_dir / DB_NAME).is_file():
        raise SoakError(f"no soak to resume in {run}: it has no {RUN_FILE} and {DB_NAME}")
    state = RunState.load(run_dir)
    options = _options_from(state.options)
    options.quiet = quiet
    conn = connect(run_dir / DB_NAME, readonly=True)
    try:
        finished = read_meta(conn, "finished")
    finally:
        conn.close()
    if finished:
        raise SoakError(f"the soak in {run_dir} already finished ({finished}): `launchgate report {run_dir}`")
    bounds = load_bounds(options.gates)
    session = reopen(state.target, options.allow_production)
    try:
        return _drive(run_dir, state, options, bounds, session, resumed=True)
    finally:
        session.close()


# -- stop -------------------------------------------------------------------------------------------------
HARNESS_STOP_TIMEOUT_S = 60.0


def stop_soak(run: Path) -> int:
    """Ends a soak that will not be resumed: its harness if it still runs (which then stops the rest itself),
    then, by their PID files, any Locust process it left and the reference stack it started."""
    run_dir = _soak_dir(run)
    try:
        state = RunState.load(run_dir)
    except FileNotFoundError:
        raise SoakError(f"{run} is not a soak run directory (no {RUN_FILE} in {run_dir})") from None
    except (ValueError, TypeError) as exc:
        raise SoakError(f"{run_dir / RUN_FILE} is not a soak's {RUN_FILE}: {exc}") from None
    stopped = []
    pid = harness.holder(run_dir)
    if pid is not None and pid > 0:
        procs.send_signal(pid, signal.SIGTERM, group=False)  # its own stop: Locust first, then its stack
        if not procs.wait_until(lambda: harness.holder(run_dir) is None, HARNESS_STOP_TIMEOUT_S, interval=0.2):
            raise SoakError(f"the soak's harness (pid {pid}) did not stop within {HARNESS_STOP_TIMEOUT_S:.0f} s: "
                            f"`kill -9 {pid}`, then `launchgate soak --stop {run}` again")
        stopped.append(f"its harness (pid {pid}), which stopped what it had started")
    # The load first, then the target: masters before their workers (a master tells its workers to quit).
    pidfiles = sorted((run_dir / "pids").glob("locust-*.pid"), key=lambda f: ("worker" in f.stem, f.stem))
    locust = [f for f in pidfiles if procs.stop(f, timeout=15.0)]
    if locust:
        stopped.append(f"Locust ({len(locust)} process{'es' if len(locust) > 1 else ''})")
    stack_dir = state.target.get("stack_dir")
    notes: list[str] = []
    if state.target.get("own_stack") and stack_dir:
        stack = ReferenceStack(Path(stack_dir))
        names = stack.down()
        notes = stack.notes
        if names:
            stopped.append(f"its reference stack ({', '.join(names)})")
    what = f"stopped {'; '.join(stopped)}" if stopped else "nothing of it was running"
    print(f"soak {run_dir}: {what}{''.join(f' ({n})' for n in notes)}")
    return EXIT_USAGE if notes else 0


def _record_gap(recorder: Recorder, db: Path, state: RunState, interval: float, now: float) -> float:
    """The time the harness was away, and downtime still open when it went (cut at its last probe)."""
    conn = connect(db, readonly=True)
    try:
        q = SoakQueries(conn)
        last = q.last_probe()
        for service in [*state.services, "all"]:
            down = q.still_down(service)
            if down is not None:
                last_up, last_probed = down
                began = last_up + interval if last_up is not None else state.start
                recorder.event(began, "down", service, last_probed, cut_by_harness_gap=True)
    finally:
        conn.close()
    gap_start = (last + interval) if last is not None else state.start
    gap_end = min(now, state.end)
    if gap_end > gap_start:
        recorder.event(gap_start, "harness_gap", "", gap_end)
    return max(0.0, gap_end - gap_start)


# -- the run ----------------------------------------------------------------------------------------------
def _judge(bounds: StabilityWindows) -> Any:
    """The window rule (windows.window_checks) on the live window's sums: what fails it, in words."""
    def judge(w: WindowSums) -> list[str]:
        return breaches(window_checks(w.requests, w.failures, w.histogram, w.probes, w.up, w.restarts, bounds,
                                      open_window=True))

    return judge


class _Abort:
    """Abort-on-fail: a key breach (errors, p95, downtime) lasting `grace` seconds stops the run as failed."""

    def __init__(self, bounds: StabilityWindows, grace: float) -> None:
        self.bounds = bounds
        self.grace = grace
        self.since: float | None = None
        self.what = ""

    def check(self, live: Live, now: float) -> str | None:
        """The window rule's error rate and p95 over the last seconds of load, and the probes' downtime."""
        requests, failures, p95 = live.recent(now)
        snap = live.snapshot()
        checks = [*([check_error_rate(requests, failures, self.bounds)] if requests else []),
                  judge_p95(p95, self.bounds)]
        found = breaches(checks)
        if snap["down_since"] is not None:
            found.append(f"down: {', '.join(snap['down']) or 'a service'}")  # type: ignore[arg-type]
        if not found:
            self.since, self.what = None, ""
            return None
        self.since = self.since if self.since is not None else now
        self.what = "; ".join(found)
        if now - self.since >= self.grace:
            return f"{self.what}, for {fmt_duration(now - self.since)} (grace {fmt_duration(self.grace)})"
        return None


def _drive(run_dir: Path, state: RunState, options: SoakOptions, bounds: StabilityWindows,
           session: TargetSession, *, resumed: bool) -> int:
    db = run_dir / DB_NAME
    recorder = Recorder(db).start()
    conn = connect(db, readonly=True)
    try:
        q = SoakQueries(conn)
        stored_parts = q.load_parts()
        seeds = {svc: q.latest_scrape(svc) for svc in state.services}
    finally:
        conn.close()
    feed: LoadFeed | None = None
    monitor: Monitor | None = None
    loadgen: LoadGenerator | None = None
    watchdog: Watchdog | None = None
    interrupted = False
    aborted: str | None = None
    ended = state.end
    gap = 0.0
    try:
        if resumed:
            gap = _record_gap(recorder, db, state, options.interval, time.time())
            loadgen = _resume_load(run_dir, state, options, session, stored_parts, recorder)
        else:
            loadgen = _load(run_dir, state, options, session, 1, options.duration_s + 60)
            # A resumed soak's master listens where its workers were told to join, not on another free port.
            state.options["master_bind"] = "{}:{}".format(*loadgen.master_bind)
            recorder.event(time.time(), "locust", "", None, action="started", part=1, users=options.users,
                           workers=options.workers)
            # The clock starts when the load does: Locust's start-up is not part of any window.
            state.start = float(math.ceil(time.time()))
            state.end = state.start + options.duration_s
            state.save(run_dir)
            recorder.put_batch([meta_row("start", state.start), meta_row("end", state.end),
                                meta_row("window_s", state.window_s), meta_row("interval", options.interval),
                                meta_row("services", state.services)])
        live = Live(state.start, state.window_s, judge=_judge(bounds))
        feed = LoadFeed(recorder, live, stored_parts)
        if loadgen is not None:
            feed.add_part(loadgen.part, loadgen.stats_source())
        feed.start()
        ended = state.end
        if time.time() < state.end:
            monitor = Monitor(session.watched, recorder, live, interval=options.interval,
                              scrape_interval=options.scrape_interval, timeout=options.probe_timeout)
            for svc, seed in seeds.items():
                if seed is not None:
                    monitor.state[svc].start_time, monitor.state[svc].pid = seed
            monitor.start()
            if loadgen is not None:
                # The hard limit: Locust has its own -t, and this kills it by PID shortly after the end regardless.
                watchdog = Watchdog(loadgen, state.end + 15 + 0.01 * (state.end - state.start)).start()
            aborted, ended = _loop(state, options, bounds, live, recorder, loadgen, feed, resumed, gap)
    except KeyboardInterrupt:
        interrupted = True
        ended = time.time()
    finally:
        if loadgen is not None:
            loadgen.stop()
        if watchdog is not None:
            watchdog.cancel()
        if monitor is not None:
            monitor.stop()
        if feed is not None:
            feed.stop()
        if aborted:
            recorder.event(ended, "abort", "", None, reason=aborted)
        if not interrupted:
            recorder.put_batch([meta_row("finished", time.strftime("%Y-%m-%d %H:%M:%S")), meta_row("ended", ended)])
        recorder.close()
    if recorder.error is not None:
        raise SoakError(f"cannot write {db}: {recorder.error}")
    if interrupted:
        print(f"soak interrupted: resume it with `launchgate soak --resume {run_dir}`")
        return EXIT_INTERRUPTED
    return _finish(run_dir, state, options, bounds, session, min(ended, state.end))


def _load(run_dir: Path, state: RunState, options: SoakOptions, session: TargetSession, part: int,
          run_time: float, start: bool = True) -> LoadGenerator:
    host, _, port = options.master_bind.rpartition(":")
    loadgen = LoadGenerator(run_dir, options.locustfile, state.plan, session.auth, options.users,
                            options.spawn_rate, run_time, options.workers, part, remote_workers=options.expect_workers,
                            master_bind=(host, int(port)), worker_wait_s=options.worker_wait_s)
    if start:
        loadgen.start()
    return loadgen


def _resume_load(run_dir: Path, state: RunState, options: SoakOptions, session: TargetSession,
                 stored_parts: dict[str, Any], recorder: Recorder) -> LoadGenerator | None:
    """Adopt a Locust that outlived the harness, else start a new part for the time that is left."""
    on_disk = [int(f.stem.split("-")[1]) for f in (run_dir / "locust").glob("part-*.log") if f.stem.count("-") == 1]
    last = max([*(int(k) for k in stored_parts), *on_disk], default=0)
    if last:
        previous = _load(run_dir, state, options, session, last, 0, start=False)
        if previous.alive():
            recorder.event(time.time(), "locust", "", None, action="adopted", part=last)
            return previous
    remaining = state.end - time.time()
    if remaining < 2:
        return None
    loadgen = _load(run_dir, state, options, session, last + 1, remaining)
    recorder.event(time.time(), "locust", "", None, action="started", part=loadgen.part, users=options.users,
                   workers=options.workers)
    return loadgen


def _loop(state: RunState, options: SoakOptions, bounds: StabilityWindows, live: Live, recorder: Recorder,
          loadgen: LoadGenerator | None, feed: LoadFeed, resumed: bool, gap: float) -> tuple[str | None, float]:
    grace = options.abort_grace_s if options.abort_grace_s is not None else bounds.abort_grace
    abort = _Abort(bounds, grace) if options.abort_on_fail else None
    judge = _judge(bounds)
    total = state.end - state.start
    n_windows = math.ceil(total / state.window_s - 1e-9)
    locust_gone = False
    reported_lost = 0
    stop = threading.Event()
    with Progress(plain_every=max(5.0, min(60.0, total / 20))) as progress:
        if resumed:
            progress.update(f"resumed after a harness gap of {fmt_duration(gap)}", force=True)
        while True:
            now = time.time()
            if now >= state.end:
                return None, state.end
            if recorder.error is not None:
                raise SoakError(f"cannot write soak.sqlite: {recorder.error}")
            if loadgen is not None and not locust_gone and not loadgen.alive():
                locust_gone = True
                recorder.event(now, "locust", "", None, action="exited", part=loadgen.part)
                progress.update(f"Locust exited before the end; its last lines: {loadgen.log}", force=True)
            for lost in feed.workers_lost[reported_lost:]:
                reported_lost += 1
                at = time.strftime("%H:%M:%S", time.localtime(lost["ts"]))
                progress.update(f"a Locust worker stopped answering its master at {at}: the load goes on with "
                                f"{lost['workers']:.0f} worker(s) (a harness gap, not downtime)", force=True)
            snap = live.snapshot()
            window: WindowSums = snap["window"]  # type: ignore[assignment]
            failing = judge(window)
            verdict = f"{min(window.index + 1, n_windows)}/{n_windows} " + (
                f"FAILING ({', '.join(failing)})" if failing else "passing")
            if snap["windows_failed"]:
                verdict += f", {snap['windows_failed']} failed so far"
            note = ""
            if abort is not None:
                reason = abort.check(live, now)
                if reason:
                    progress.update(line(now - state.start, total, snap, verdict, f"ABORT: {reason}"), force=True)
                    return reason, now
                if abort.since is not None:
                    note = f"abort in {abort.grace - (now - abort.since):.0f} s unless {abort.what} ends"
            progress.update(line(now - state.start, total, snap, verdict, note))
            stop.wait(max(0.05, 1.0 - (time.time() % 1.0)))


# -- the verdict ------------------------------------------------------------------------------------------
def _finish(run_dir: Path, state: RunState, options: SoakOptions, bounds: StabilityWindows,
            session: TargetSession, end: float) -> int:
    started = time.monotonic()
    result = analysis.analyze(run_dir / DB_NAME, bounds, state.start, end, state.window_s, options.interval,
                              state.services)
    extra = {"users": options.users, "spawn_rate": options.spawn_rate, "workers": options.workers,
             "planned_duration_s": state.end - state.start, "analysis_s": round(time.monotonic() - started, 3),
             "notes": state.notes, "failures_by_route": failures_by_route(run_dir / "locust"),
             "workers_lost": analysis.workers_lost(run_dir / DB_NAME, end - 2.0),
             "generator": {**_generator(result), "calibration": state.calibration}}
    records = analysis.evidence(result, run_dir.name, session.target.name, bounds, extra)
    writer = EvidenceWriter(run_dir, "soak")
    for record in records:
        writer.write(record)
    _print_verdict(run_dir, result, session.target.name, extra["failures_by_route"], extra["workers_lost"],
                   extra["generator"])
    return {"passed": EXIT_STABLE, "failed": EXIT_UNSTABLE}.get(result.outcome, EXIT_INCONCLUSIVE)


def _generator(result: analysis.Analysis) -> dict[str, Any]:
    """What the load generator gave over the run: its busiest process's highest CPU, its users' wait overrun (the
    worst window's mean), and the windows whose latency it made unjudgeable."""
    def worst(key: str) -> float | None:
        seen = [w.details[key] for w in result.windows if w.details.get(key) is not None]
        return max(seen) if seen else None

    saturated = [w.index + 1 for w in result.windows
                 if any(c.name == "p95_latency" and c.no_data for c in w.checks)]  # only a saturated generator
    return {"cpu_max": worst("generator_cpu_max"), "lag_ms": worst("generator_lag_ms_mean"),
            "saturated_windows": saturated}


def _print_verdict(run_dir: Path, result: analysis.Analysis, target: str, failures: list[dict[str, object]],
                   workers_lost: list[dict[str, Any]], generator: dict[str, Any]) -> None:
    word = {"passed": "STABLE", "failed": "NOT STABLE", "skipped": "INCONCLUSIVE"}[result.outcome]
    passed = sum(1 for w in result.windows if w.outcome == "passed")
    print(f"soak of {target} over {fmt_duration(result.end - result.start)} "
          f"(windows of {fmt_duration(result.window_s)}): {word}, {passed} of {len(result.windows)} windows passed")
    if result.aborted:
        print(f"  aborted: {result.aborted}")
    errors = fmt_percent(result.failures / result.requests) if result.requests else "-"
    uptime = fmt_percent(result.uptime) if result.uptime is not None else "-"
    print(f"  {result.requests:,} requests, {result.failures:,} failed ({errors}); uptime {uptime} over "
          f"{result.probes:,} probes; {len(result.restarts)} restart(s); downtime "
          f"{sum(d.seconds for d in result.downtime):.0f} s; harness gaps {sum(g.seconds for g in result.gaps):.0f} s")
    if failures:
        print(f"  failed requests by route: {shown(failures)}")
    if generator["cpu_max"] is not None:
        lag = f", its users' waits overran by {generator['lag_ms']:.0f} ms on average at worst" \
            if generator["lag_ms"] is not None else ""
        saturated = (f"; saturated in window(s) {', '.join(map(str, generator['saturated_windows']))}, whose "
                     "latency is not judged" if generator["saturated_windows"] else "")
        print(f"  load generator: its busiest Locust process at most {generator['cpu_max']:.0f}% CPU{lag}{saturated}")
    calibration = generator.get("calibration")
    if calibration:
        room = f"headroom {calibration['headroom']:.1f}x" if calibration["headroom"] else "ample headroom"
        print(f"  load generator, calibrated before the clock: {calibration['rps']:.0f} req/s asked at "
              f"{calibration['cpu_percent']:.0f}% of one Locust process's CPU against a null target, {room}")
    if workers_lost:
        first = workers_lost[0]
        print(f"  load generator: {sum(w['lost'] for w in workers_lost)} Locust worker(s) lost, the first "
              f"at {first['at']} ({first['workers']} left): a harness gap, not downtime")
    for name, count in analysis.failed_checks(result).items():
        print(f"  {name}: failed in {count} window(s)")
    for w in result.windows:
        if w.outcome != "passed":
            checks = "; ".join(f"{c.name} {_shown(c.value, c.unit)} (bound {c.bound:g}{_unit(c.unit)})"
                               for c in w.checks if c.passed is False or c.no_data)
            print(f"  window {w.index + 1}: {w.outcome}: {checks}")
    print(f"  evidence: {run_dir / 'evidence' / 'soak.jsonl'}   series: {run_dir / DB_NAME}")


def _unit(unit: str) -> str:
    return "" if unit in ("ratio", "count") else f" {unit}"


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return fmt_percent(value)
    return f"{value:.1f}{_unit(unit)}"
