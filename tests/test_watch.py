"""`launchgate watch`: Alertmanager's webhooks as incidents (a real Prometheus evaluating the reference's own alert
rules, a real Alertmanager), a watch killed with -9 and resumed with nothing recorded lost or written twice, a
second watch on the same run directory refused, and the report it serves."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchgate.drivers.identity import IdentityDriver
from launchgate.evidence import EvidenceWriter, read_evidence
from launchgate.gates.loader import load_gates
from launchgate.gates.scoring import score
from launchgate.runner import PROJECT_ROOT
from launchgate.soak.store import DB_NAME
from launchgate.waiting import wait_for
from launchgate.watch.alerts import AlertError, AlertReceiver, parse_webhook, to_evidence
from reference371os.provision.prometheus import FIXTURES as PROMETHEUS_FIXTURES
from reference371os.provision.prometheus import RULES_FILE, render_config
from tests.conftest import RunningStack, command_env, next_port_base

TOKEN_ENV = "LG_TEST_ADMIN_TOKEN"


def alert(status: str = "firing", severity: str = "critical", **labels: str) -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": "TargetDown", "severity": severity, **labels},
            "annotations": {"summary": "postiz is down"}, "startsAt": "2026-12-01T10:00:00.000Z",
            "endsAt": "2026-12-01T10:05:00.000Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "fingerprint": f"fp-{severity}-{sorted(labels.items())}"}


def body(*alerts: dict[str, Any]) -> bytes:
    return json.dumps({"version": "4", "status": "firing", "receiver": "watch", "alerts": list(alerts)}).encode()


# -- the webhook ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "said"), [
    (b"{not json", "not JSON"),
    (b'{"version": "4"}', 'no list of alerts under "alerts"'),
    (json.dumps({"alerts": [{"status": "firing", "labels": {}}]}).encode(), "alerts[0].labels.alertname is missing"),
    (json.dumps({"alerts": [{**alert(), "status": "pending"}]}).encode(), "alerts[0].status must be firing or"),
    (json.dumps({"alerts": [{**alert(), "startsAt": "yesterday"}]}).encode(), "alerts[0].startsAt is not a time"),
])
def test_a_malformed_webhook_is_refused_saying_what_is_wrong(raw: bytes, said: str) -> None:
    with pytest.raises(AlertError) as info:
        parse_webhook(raw)
    assert said in str(info.value)


def test_severity_and_kind_decide_what_counts_against_the_launch_month() -> None:
    critical, warning, security = parse_webhook(body(alert(), alert(severity="warning"),
                                                     alert(severity="info", category="security")))
    assert (critical.counts_for_launch, warning.counts_for_launch, security.counts_for_launch) == (True, False, True)
    record = to_evidence(security, "run", "t")
    assert record.kind == "incident" and record.criterion == "launch.no-incidents"
    assert record.details["kind"] == "security" and record.started == "2026-12-01T10:00:00.000Z"
    assert to_evidence(warning, "run", "t").criterion is None  # recorded beside the criterion, not counted


def test_the_receiver_records_each_alert_once_and_refuses_bad_bodies_with_a_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    receiver = AlertReceiver(EvidenceWriter(tmp_path, "alerts"), "t").start()
    try:
        with caplog.at_level(logging.WARNING, logger="launchgate.watch"):
            refused = httpx.post(receiver.url, content=b"[1, 2", timeout=5)
        assert refused.status_code == 400 and "not JSON" in refused.text
        assert next(r.getMessage() for r in caplog.records if "refused" in r.getMessage()).startswith(
            "webhook from 127.0.0.1 refused: not JSON")
        for _ in range(2):  # Alertmanager repeats a group until it is resolved: one record
            assert httpx.post(receiver.url, content=body(alert()), timeout=5).status_code == 200
        assert httpx.post(receiver.url, content=body(alert("resolved")), timeout=5).text == "1 new\n"
    finally:
        receiver.stop()
    records = read_evidence(tmp_path)[0]
    assert [(r.name, r.details["status"]) for r in records] == [("alert TargetDown", "firing"),
                                                                ("alert TargetDown", "resolved")]


def test_an_alerts_incident_fails_the_launch_month() -> None:
    (critical,) = parse_webhook(body(alert()))
    result = score(load_gates(PROJECT_ROOT / "gates.yaml"), [to_evidence(critical, "run", "t")], gates=["launch"])
    verdicts = {c.id: c for c in result.gates[0].criteria}
    assert verdicts["launch.no-incidents"].verdict == "fail"
    assert "alert TargetDown" in [e.name for e in verdicts["launch.no-incidents"].evidence]


# -- the watch as a process -----------------------------------------------------------------------------------
def profile(tmp_path: Path, stack: RunningStack, *services: str, extra: str = "") -> Path:
    path = tmp_path / "watched.toml"
    listed = "".join(f'[services.{name}]\nurl = "{stack.url(name)}"\n' for name in services)
    path.write_text(f'name = "watched"\nenvironment = "mock"\ncapabilities = ["feedback"]\n{listed}'
                    f'[api]\nfeedback = "{stack.gateway}"\n'
                    f'[auth]\nmode = "env"\nroles.admin = {{ token_env = "{TOKEN_ENV}" }}\n{extra}')
    return path


def start_watch(stack: RunningStack, target: Path, run_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "launchgate", "watch", "--target", str(target), "--gate", "launch",
         "--run-dir", str(run_dir), "--cycle", "1s", "--window", "3s", "--for", "10m", *args],
        cwd=PROJECT_ROOT, env={**command_env(), TOKEN_ENV: stack.token("admin")}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def samples(run_dir: Path) -> list[float]:
    with sqlite3.connect(f"file:{run_dir / DB_NAME}?mode=ro", uri=True) as conn:
        return [ts for (ts,) in conn.execute("SELECT ts FROM samples WHERE metric = 'up' AND service = 'all' "
                                             "ORDER BY ts")]


def stop(run_dir: Path, proc: subprocess.Popen[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "launchgate", "watch", "--stop", str(run_dir)], cwd=PROJECT_ROOT,
                          env=command_env(), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err, err[-2000:]  # every command's answer to SIGTERM
    return err


@pytest.mark.slow
def test_a_watch_killed_with_9_resumes_losing_nothing_and_a_second_one_is_refused(
        stack: RunningStack, tmp_path: Path) -> None:
    # A Prometheus nobody runs: each SLI read is a failed query, with why. A tester answers before the watch starts.
    # A member onboards (signs up, verifies, logs in): the engagement read counts them.
    target = profile(tmp_path, stack, "gateway", extra='[monitoring]\nprometheus = "http://127.0.0.1:9"\n'
                                                       '[watch]\nengagement = "feedback /api/auth/users/stats"\n')
    run_dir, tester = tmp_path / "watch", f"watch-tester-{time.time_ns()}"
    stack.client("member").post("/api/feedback", json={"tester": tester, "scenario": "launch", "rating": 5})
    IdentityDriver(stack.client()).onboard(f"{tester}@members.test", "pw-" + tester, "Watched Member", stack.sink)
    serve = next_port_base()
    first = start_watch(stack, target, run_dir, "--serve", str(serve), "--sli-every", "1s", "--feedback-every", "1s")
    try:
        wait_for(lambda: (run_dir / "index.html").exists() and len(samples(run_dir)) >= 4, timeout=60,
                 what="the watch's first report and probes")
        second = subprocess.run([sys.executable, "-m", "launchgate", "watch", "--target", str(target), "--gate",
                                 "launch", "--run-dir", str(run_dir)], cwd=PROJECT_ROOT, env=command_env(),
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"the watch in {run_dir.resolve()} is still running (its harness is pid {first.pid})" in second.stderr
        page = httpx.get(f"http://127.0.0.1:{serve}/", timeout=10)
        assert page.status_code == 200 and '<meta http-equiv="refresh" content="5">' in page.text
        assert "Release readiness of watched" in page.text and "<script" not in page.text.split("</head>")[0]
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)
    before = samples(run_dir)
    time.sleep(3)  # the watch is dead for a while: that time is a gap, neither up nor down
    resumed = start_watch(stack, target, run_dir, "--sli-every", "1s", "--feedback-every", "1s")
    try:
        wait_for(lambda: len(samples(run_dir)) >= len(before) + 4, timeout=60, what="probes after the resume")
    finally:
        said = stop(run_dir, resumed)
    assert "(resumed)" in said
    after = samples(run_dir)
    assert after[:len(before)] == before  # every probe recorded before the kill is still there
    assert after[len(before)] - before[-1] >= 3  # and none invented for the time the watch was dead
    with sqlite3.connect(run_dir / DB_NAME) as conn:
        gaps = conn.execute("SELECT ts, until FROM events WHERE kind = 'gap'").fetchall()
    assert len(gaps) == 1 and gaps[0][0] == before[-1]
    records = read_evidence(run_dir)[0]
    windows = [r.started for r in records if r.name == "uptime"]
    assert windows and len(windows) == len(set(windows))  # no window written twice
    gap_start, gap_end = gaps[0]
    observed = [(_ts(r.started), _ts(r.finished)) for r in records if r.name == "observation.window"]
    assert observed and not [w for w in observed if w[0] < gap_start + 1 and w[1] > gap_end - 1]  # not observed
    answers = [r for r in records if r.kind == "feedback" and r.details["tester"] == tester]
    assert len(answers) == 1 and answers[0].criterion == "launch.feedback-positive"  # polled, and once only
    (engagement, *_) = [r for r in records if r.name == "engagement.active-ratio"]
    assert engagement.criterion == "launch.engagement" and engagement.details["weekly_active"] >= 1
    assert engagement.value == round(engagement.details["weekly_active"] / engagement.details["onboarded"], 6)
    failed = [r for r in records if r.name == "uptime.prometheus"]
    assert failed and {r.details["no_data"]["kind"] for r in failed} == {"query-failed"}
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["requested"] == ["launch"]


# -- a real Prometheus and Alertmanager -----------------------------------------------------------------------
def _binary(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: `make test` installs it (scripts/bootstrap.sh)"
    return found


@pytest.fixture
def alerting(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Ports of a Prometheus and an Alertmanager started for the test (by PID) and stopped after it."""
    base = next_port_base()
    yield base, base + 1
    for proc in _started:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)
    _started.clear()


_started: list[subprocess.Popen[bytes]] = []


def _start(args: list[str], log: Path) -> None:
    with log.open("wb") as out:
        _started.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))


@pytest.mark.slow
def test_the_reference_rules_fire_through_alertmanager_into_an_incident_that_fails_the_launch(
        make_stack: Any, tmp_path: Path, alerting: tuple[int, int]) -> None:
    running: RunningStack = make_stack()
    prometheus_port, alertmanager_port = alerting
    webhook = prometheus_port + 2
    run_dir = tmp_path / "watch"
    watcher = start_watch(running, profile(tmp_path, running, "gateway", "postiz"), run_dir,
                          "--webhook-port", str(webhook), "--major-downtime", "1h")
    try:
        (tmp_path / "am").mkdir()
        (tmp_path / "am.yml").write_text(
            "route: {receiver: watch, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\n"
            f"receivers:\n  - name: watch\n    webhook_configs: [{{url: 'http://127.0.0.1:{webhook}/alerts', "
            "send_resolved: true}]\n")
        _start([_binary("prometheus-alertmanager"), f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address="], tmp_path / "alertmanager.log")
        prom = tmp_path / "prometheus"
        prom.mkdir()
        shutil.copyfile(PROMETHEUS_FIXTURES / RULES_FILE, prom / RULES_FILE)  # the reference's own rules, as shipped
        config = render_config(running.stack.ports, 1.0)
        config += ("alerting:\n  alertmanagers:\n    - static_configs:\n"
                   f"        - targets: ['127.0.0.1:{alertmanager_port}']\n")
        (prom / "prometheus.yml").write_text(config)
        _start([_binary("prometheus"), f"--config.file={prom / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom / 'data'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"],
               tmp_path / "prometheus.log")
        url = f"http://127.0.0.1:{prometheus_port}/api/v1/query"

        def scraped() -> bool:
            try:
                found = httpx.get(url, params={"query": 'up{job="postiz"} == 1'}, timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return False
            return bool(found.get("data", {}).get("result"))

        wait_for(scraped, timeout=60, what="Prometheus's first scrape of postiz")
        running.stack.kill("postiz")  # TargetDown: up == 0 for a minute, then Alertmanager tells the watch

        def alerted() -> bool:
            return any(r.name == "alert TargetDown" for r in read_evidence(run_dir)[0])

        wait_for(alerted, timeout=180, what="TargetDown through Alertmanager into the watch")
    finally:
        stop(run_dir, watcher)
    incidents = [r for r in read_evidence(run_dir)[0] if r.name == "alert TargetDown"]
    assert incidents[0].details["severity"] == "critical" and incidents[0].criterion == "launch.no-incidents"
    assert "postiz is down" in incidents[0].details["summary"]
    verdict = json.loads((run_dir / "verdict.json").read_text())
    (launch,) = verdict["gates"]
    criterion = next(c for c in launch["criteria"] if c["id"] == "launch.no-incidents")
    assert launch["verdict"] == "fail" and criterion["verdict"] == "fail"
