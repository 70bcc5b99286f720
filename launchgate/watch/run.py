"""`launchgate watch`: the Closed Beta's and the launch month's evidence, gathered while the period runs.

One long-lived process, bounded by `--for`, in one run directory:
- the soak's monitor probes every service's health each second into soak.sqlite (the soak's own store: WAL,
  committed in batches of half a second; a kill -9 loses at most the batch in flight);
- Alertmanager's webhooks arrive on 127.0.0.1 as incidents (alerts.py);
- on a schedule: the PromQL SLIs of the window since the last read (monitoring/slis.py), the testers' new feedback
  answers, and the evidence of the time observed: an `uptime` record per whole window (beta.uptime), an
  `observation.window` record per cycle (launch.no-incidents' observed month), and an incident per system downtime
  (a major disruption from --major-downtime on);
- the report is rebuilt each cycle; `--serve PORT` shows the latest on 127.0.0.1, refreshing itself.

Started again on the same run directory, it resumes: what it recorded stays, the time it was not running is a
harness gap (neither up nor down), and nothing is written twice. A second watch on the same directory is refused,
naming the first one's PID.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from launchgate.evidence import Evidence, EvidenceWriter, iso, read_evidence
from launchgate.gates.aggregate import finished_ts
from launchgate.gates.feedback_import import Answer, write_answers
from launchgate.monitoring.slis import Window, record_window
from launchgate.report.build import build_report
from launchgate.soak import harness
from launchgate.soak.errors import SoakError
from launchgate.soak.live import Live
from launchgate.soak.monitor import Monitor
from launchgate.soak.store import DB_NAME, Recorder, SoakQueries, connect
from launchgate.soak.target import TargetSession, open_target
from launchgate.watch.alerts import AlertReceiver, seen_alerts
from launchgate.watch.serve import ReportServer

log = logging.getLogger("launchgate.watch")

STATE_FILE = "watch.json"
STREAM = "watch"
GATES = {"beta": "beta", "launch": "launch"}  # the gate watched -> the feedback scenario its testers answer under
MAX_SLEEP_S = 5.0  # the loop wakes at least this often: a stop is never waited on longer
SETTLE_S = 4.0  # a probe's timeout (2 s), its harvest and the recorder's commit


@dataclass
class WatchOptions:
    target: str
    gate: str
    duration_s: float
    gates: Path
    run_dir: Path | None = None
    interval: float = 1.0
    cycle_s: float = 300.0  # evidence and report
    sli_every_s: float = 300.0
    feedback_every_s: float = 600.0
    window_s: float = 3600.0  # an uptime record per window
    major_downtime_s: float = 300.0
    webhook_port: int = 0
    serve_port: int | None = None
    port_base: int | None = None
    stack_dir: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


@dataclass
class Progress:
    """How far each kind of evidence has been written, read back from the evidence on a resume."""

    started: float
    uptime_until: float
    observed_until: float
    downtime_until: float
    sli_until: float
    feedback_at: float = 0.0
    feedback_seen: set[tuple[str, str]] = field(default_factory=set)


def watch(options: WatchOptions, *, clock: Callable[[], float] = time.time) -> int:
    if options.gate not in GATES:
        raise SoakError(f"--gate must be one of {', '.join(GATES)}, found {options.gate!r}")
    run_dir = (options.run_dir or Path("reports") / f"watch-{Path(options.target).stem}-{options.gate}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / STATE_FILE
    resumed = state_path.exists()
    with harness.harness_lock(run_dir, "watch"):
        if resumed:
            stored = json.loads(state_path.read_text())
            if (stored["target"], stored["gate"]) != (options.target, options.gate):
                raise SoakError(f"{run_dir} watches {stored['target']} for {stored['gate']}, not {options.target} "
                                f"for {options.gate}: pick another --run-dir")
        session = open_target(options.target, port_base=options.port_base, stack_dir=options.stack_dir,
                              run_dir=run_dir, load=False)
        try:
            return _watch(options, run_dir, session, resumed, clock)
        finally:
            session.close()


def _watch(options: WatchOptions, run_dir: Path, session: TargetSession, resumed: bool,
           clock: Callable[[], float]) -> int:
    now = clock()
    records = read_evidence(run_dir)[0]
    progress = _progress(run_dir, records, now, resumed)
    state = {**options.to_json(), "started": progress.started}
    recorder = Recorder(run_dir / DB_NAME).start()
    reader = connect(run_dir / DB_NAME, readonly=True)  # the recorder's connection is its thread's alone
    if resumed:
        last = SoakQueries(recorder.conn).last_probe()
        if last is not None and now - last > 2 * options.interval:  # not running meanwhile: neither up nor down
            recorder.event(last, "gap", "all", now, reason="the watch was not running")
    monitor = Monitor(session.watched, recorder, Live(progress.started, options.window_s),
                      interval=options.interval).start()
    receiver = AlertReceiver(EvidenceWriter(run_dir, "alerts"), session.target.name, options.webhook_port,
                             seen_alerts(records)).start()
    server = ReportServer(run_dir, options.serve_port, refresh_s=options.cycle_s).start() \
        if options.serve_port is not None else None
    state["webhook"] = receiver.url
    state["serving"] = server.url if server else None
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=1))
    _say(f"watching {session.target.name} for the {options.gate} gate into {run_dir} "
         f"({'resumed' if resumed else 'started'}); Alertmanager webhook: {receiver.url}"
         + (f"; report: {server.url}" if server else ""))
    deadline = progress.started + options.duration_s
    writer = EvidenceWriter(run_dir, STREAM)
    try:
        next_cycle = now  # the first report at once: the page exists from the start
        while clock() < deadline:
            if clock() >= next_cycle:
                _cycle(options, run_dir, session, SoakQueries(reader), writer, progress, clock())
                next_cycle = clock() + options.cycle_s
            time.sleep(max(0.05, min(MAX_SLEEP_S, next_cycle - clock(), deadline - clock())))
    finally:
        monitor.stop()
        receiver.stop()
        recorder.close()  # everything probed is committed: the last downtime is written before the last report
        _evidence(options, session, SoakQueries(reader), writer, progress, clock())
        reader.close()
        _report(options, run_dir)
        if server is not None:
            server.stop()
    _say(f"watch ended after {options.duration_s:.0f} s: {run_dir / 'index.html'}")
    return 0


def _progress(run_dir: Path, records: list[Evidence], now: float, resumed: bool) -> Progress:
    def last(name: str, default: float) -> float:
        times = [finished_ts(r) for r in records if r.name == name and r.details.get("source") == "watch"]
        return max(times, default=default)

    state = json.loads((run_dir / STATE_FILE).read_text()) if resumed else {}
    started = float(state.get("started") or now)
    progress = Progress(started=started, uptime_until=last("uptime", started),
                        observed_until=now,  # the time it was not running is not observed
                        downtime_until=last("downtime", started), sli_until=last("sli.window", now))
    progress.feedback_seen = {(str(r.details.get("tester")), str(r.details.get("date")))
                              for r in records if r.kind == "feedback"}
    return progress


def _cycle(options: WatchOptions, run_dir: Path, session: TargetSession, queries: SoakQueries,
           writer: EvidenceWriter, progress: Progress, now: float) -> None:
    _evidence(options, session, queries, writer, progress, now)
    if session.target.monitoring is not None and now - progress.sli_until >= options.sli_every_s:
        # An unreachable Prometheus writes each SLI as a failed query, with why (never "no data").
        record_window(session.target, run_dir, Window(datetime.fromtimestamp(progress.sli_until, UTC),
                                                      datetime.fromtimestamp(now, UTC)), stream="prometheus")
        writer.write(_record(writer, session, "sli.window", progress.sli_until, now))
        progress.sli_until = now
    if now - progress.feedback_at >= options.feedback_every_s:
        _poll_feedback(options, run_dir, session, progress)
        _poll_engagement(session, writer, now)
        progress.feedback_at = now
    _report(options, run_dir)


def _evidence(options: WatchOptions, session: TargetSession, queries: SoakQueries,
              writer: EvidenceWriter, progress: Progress, now: float) -> None:
    # Whole uptime windows only, once their last probes are surely committed (a probe's answer may take its
    # timeout, the recorder commits every half second): a window still running is judged when it ends.
    width = options.window_s
    while progress.uptime_until + width <= now - SETTLE_S:
        start, end = progress.uptime_until, progress.uptime_until + width
        probes, up = queries.probes_by_window(start, end, width, 0).get(0, (0, 0))
        if probes:
            writer.write(_record(writer, session, "uptime", start, end, criterion="beta.uptime", value=up / probes,
                                 unit="ratio", probes=probes, up_probes=up))
        progress.uptime_until = end
    for ts, until, _service, _detail in queries.events("down", progress.downtime_until, now, service="all"):
        if until is None:
            continue  # still down: recorded once it ends (or when the watch stops)
        seconds = float(until) - ts
        major = seconds >= options.major_downtime_s
        writer.write(Evidence(
            run=writer.run_id, kind="incident", name="downtime", outcome="failed",
            criterion="launch.no-incidents" if major else None, gate="launch", value=round(seconds, 3), unit="s",
            started=iso(ts), finished=iso(float(until)), target=session.target.name,
            details={"source": "watch", "kind": "disruption", "severity": "major" if major else "minor",
                     "counted": major, "summary": f"the system was down for {seconds:.0f} s (probes every "
                                                  f"{options.interval:g} s)"}))
        progress.downtime_until = ts + 1e-6
    if now > progress.observed_until:
        writer.write(_record(writer, session, "observation.window", progress.observed_until, now,
                             criterion="launch.no-incidents"))
        progress.observed_until = now


def _poll_feedback(options: WatchOptions, run_dir: Path, session: TargetSession, progress: Progress) -> None:
    target = session.target
    base = target.api.get("feedback")
    if base is None or not target.can("feedback"):
        return
    tag = GATES[options.gate]
    try:
        reply = httpx.get(f"{base}/api/feedback", params={"scenario": tag}, headers=session.auth, timeout=10)
        rows = list(reply.json()["feedback"]) if reply.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("feedback poll of %s failed: %s", base, type(exc).__name__)
        return
    new = [Answer(i, str(r["tester"]), r.get("rating"), bool(r["positive"]), r.get("comment") or "",
                  r.get("answeredAt")) for i, r in enumerate(rows, 1)
           if (str(r.get("tester")), str(r.get("answeredAt"))) not in progress.feedback_seen]
    if new:
        write_answers(new, run_dir, "feedback-watch", f"{tag}.feedback-positive", target.name,
                      "the target's feedback API, polled by the watch")
        progress.feedback_seen |= {(a.tester, str(a.date)) for a in new}


def _poll_engagement(session: TargetSession, writer: EvidenceWriter, now: float) -> None:
    """Onboarded and weekly active users, where the profile's [watch] engagement says: the launch month's
    engagement (launch.engagement) and its real onboarding (launch.users-onboarded)."""
    named = session.target.watch.get("engagement")
    if not named:
        return
    area, _, route = named.partition(" ")
    url = f"{session.target.base_url(area)}{route}"
    try:
        reply = httpx.get(url, headers=session.auth, timeout=10)
        body = reply.json() if reply.status_code == 200 else {}
        onboarded, active = int(body["onboarded"]), int(body["weekly_active"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("engagement read from %s failed: %s", url, type(exc).__name__)
        return
    counts = {"onboarded": onboarded, "weekly_active": active, "from": named}
    writer.write(_record(writer, session, "onboarding.users", now, now, value=float(onboarded), unit="users",
                         **counts))
    if onboarded:
        writer.write(_record(writer, session, "engagement.active-ratio", now, now, criterion="launch.engagement",
                             value=round(active / onboarded, 6), unit="ratio", **counts))


def _report(options: WatchOptions, run_dir: Path) -> None:
    try:
        build_report(run_dir, options.gates, run_dir.parent / "history.jsonl", gates=[options.gate])
    except Exception as exc:  # a report that cannot be built this cycle must not end weeks of watching
        log.warning("the report could not be rebuilt: %s", exc)


def _record(writer: EvidenceWriter, session: TargetSession, name: str, start: float, end: float, *,
            criterion: str | None = None, value: float | None = None, unit: str | None = None,
            **details: Any) -> Evidence:
    return Evidence(run=writer.run_id, kind="measurement", name=name, outcome="passed", criterion=criterion,
                    value=value, unit=unit, started=iso(start), finished=iso(end), target=session.target.name,
                    details={"source": "watch", **details})




def _say(text: str) -> None:
    print(f"launchgate: {text}", file=sys.stderr, flush=True)
