"""The criteria a gate run reads from evidence gathered elsewhere: a soak's windows and uptime (alpha.stability,
beta.uptime) and the testers' feedback (beta.feedback-positive), each shown to pass, to fail, and to stay
inconclusive without enough evidence. The soaks here are evidence files: real soaks are tests/test_soak.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from launchgate.evidence import Evidence, EvidenceWriter, RunBuild, read_evidence, read_run_build, write_run_build
from launchgate.gates.loader import load_gates
from launchgate.gates.scoring import score
from launchgate.runner import PROJECT_ROOT
from tests.conftest import RunningStack

pytestmark = pytest.mark.unmeasured_subprocesses

PROFILE = "long-run"
TOKEN_ENV = "LG_TEST_ADMIN_TOKEN"


def profile(tmp_path: Path, stack: RunningStack, build: str = "") -> Path:
    """The profile of the running stack; `build`: its [build] section's line, when it should name one."""
    path = tmp_path / f"{PROFILE}.toml"
    path.write_text(f"""name = "{PROFILE}"
environment = "mock"
managed = false
capabilities = ["feedback"]
[services.gateway]
url = "{stack.gateway}"
[api]
email = "{stack.gateway}"
feedback = "{stack.gateway}"
[auth]
mode = "env"
roles.admin = {{ token_env = "{TOKEN_ENV}" }}
""" + (f"[build]\n{build}\n" if build else ""))
    return path


def run_features(stack: RunningStack, profile_path: Path, run_dir: Path, *args: str) -> dict[str, Evidence]:
    env = {**os.environ, TOKEN_ENV: stack.token("admin")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args, f"--target={profile_path}", f"--run-dir={run_dir}", "-q",
         "--no-header", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-2000:]
    records, bad = read_evidence(run_dir)
    assert not bad
    return {r.criterion: r for r in records if r.kind == "scenario" and r.criterion}


def verdicts(run_dir: Path, gates: list[str]) -> dict[str, str]:
    records, _ = read_evidence(run_dir)
    result = score(load_gates(PROJECT_ROOT / "gates.yaml"), records, gates=gates, build=read_run_build(run_dir))
    return {c.id: c.verdict for gate in result.gates for c in gate.criteria}


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fake_soak(run_dir: Path, hours: int, failed_window: int | None = None, down_probes: int = 0,
              build: str | None = None) -> Path:
    """A soak's evidence as `launchgate soak` writes it: hourly windows, their uptime, and the summary, of `build`."""
    if build:
        write_run_build(run_dir, RunBuild(build, "field build of gateway's /health"))
    writer = EvidenceWriter(run_dir, "soak")
    start = datetime.now(UTC) - timedelta(hours=hours)
    probes = 3600
    for i in range(hours):
        a, b = start + timedelta(hours=i), start + timedelta(hours=i + 1)
        failed = i + 1 == failed_window
        writer.write(Evidence(run=run_dir.name, kind="measurement", name=f"soak.window.{i + 1:03d}",
                              outcome="failed" if failed else "passed", criterion="alpha.stability", gate="alpha",
                              started=_iso(a), finished=_iso(b), target=PROFILE,
                              details={"window": i + 1, "failed_checks": ["memory_slope"] if failed else []}))
        up = probes - (down_probes if i == 0 else 0)
        writer.write(Evidence(run=run_dir.name, kind="measurement", name="uptime", outcome="passed",
                              criterion="beta.uptime", value=up / probes, unit="ratio", started=_iso(a),
                              finished=_iso(b), target=PROFILE, details={"probes": probes, "up_probes": up}))
    end = _iso(start + timedelta(hours=hours))
    total = probes * hours
    writer.write(Evidence(run=run_dir.name, kind="measurement", name="soak.summary",
                          outcome="failed" if failed_window else "passed", criterion="alpha.stability",
                          gate="alpha", value=hours * 3600.0, unit="s", started=end, finished=end, target=PROFILE,
                          details={"observed_s": hours * 3600.0, "windows": hours, "probes": total,
                                   "uptime": (total - down_probes) / total}))
    return run_dir


SOAKS = {
    # name: (hours, failed window, down probes) -> (stability scenario, alpha.stability, uptime scenario, beta.uptime)
    # The uptime scenario records the soak's measurements; only the scorer holds them to gates.yaml's beta.uptime.
    "72h stable": ((72, None, 0), ("passed", "pass", "passed", "pass")),
    "72h, one window leaked": ((72, 40, 0), ("failed", "fail", "passed", "pass")),
    "72h, down 30 minutes": ((72, None, 1800), ("passed", "pass", "passed", "fail")),
    "3h stable": ((3, None, 0), ("skipped", "inconclusive", "passed", "inconclusive")),
}


@pytest.mark.parametrize("case", list(SOAKS))
def test_stability_and_uptime_read_the_named_soak(stack: RunningStack, tmp_path: Path, case: str) -> None:
    (hours, failed_window, down), expected = SOAKS[case]
    soak = fake_soak(tmp_path / "soak", hours, failed_window, down)
    run_dir = tmp_path / "run"
    found = run_features(stack, profile(tmp_path, stack), run_dir, "features/test_load.py", "-k", "stable or up",
                         f"--soak-run={soak}")
    got = verdicts(run_dir, ["alpha", "beta"])
    outcomes = (found["alpha.stability"].outcome, got["alpha.stability"], found["beta.uptime"].outcome,
                got["beta.uptime"])
    assert outcomes == expected, found["alpha.stability"].details.get("error") or found["beta.uptime"].details
    imported = [r for r in read_evidence(run_dir)[0] if r.name == "soak.summary"]
    assert len(imported) == 1 and imported[0].details["imported_from"] == str(soak)  # once, for both scenarios


def test_a_soak_of_another_build_decides_nothing_for_this_one(stack: RunningStack, tmp_path: Path) -> None:
    """The profile names where the target says its build (the reference's /health): a 72-hour soak of that build
    counts, the same soak of another build leaves both criteria inconclusive, naming the two builds."""
    built = profile(tmp_path, stack, 'health = "gateway:build"')
    current = stack.client().get("/health")["build"]
    for soak_build in (current, "0.9.0+older"):
        soak = fake_soak(tmp_path / f"soak-{soak_build}", 72, build=soak_build)
        run_dir = tmp_path / f"run-{soak_build}"
        found = run_features(stack, built, run_dir, "features/test_load.py", "-k", "stable or up",
                             f"--soak-run={soak}")
        assert read_run_build(run_dir) == RunBuild(current, "field build of gateway's /health")
        got = verdicts(run_dir, ["alpha", "beta"])
        if soak_build == current:
            assert (found["alpha.stability"].outcome, got["alpha.stability"], got["beta.uptime"]) == \
                   ("passed", "pass", "pass")
            continue
        assert found["alpha.stability"].outcome == "skipped"
        assert (f"measured build 0.9.0+older, not build {current} that this run gates"
                in found["alpha.stability"].details["reason"])
        assert (got["alpha.stability"], got["beta.uptime"]) == ("inconclusive", "inconclusive")


def test_without_a_soak_stability_and_uptime_are_inconclusive(stack: RunningStack, tmp_path: Path) -> None:
    found = run_features(stack, profile(tmp_path, stack), tmp_path / "run", "features/test_load.py", "-k",
                         "stable or up")
    assert {found[c].outcome for c in ("alpha.stability", "beta.uptime")} == {"skipped"}
    assert "no soak was named" in found["alpha.stability"].details["reason"]


def test_beta_feedback_is_gathered_from_the_targets_feedback_api(stack: RunningStack, tmp_path: Path) -> None:
    """6 of 10 testers positive fails; when the 4 others answer again, positively, their latest answers count."""
    tester = stack.client("member")

    def answer(i: int, rating: int) -> None:
        tester.post("/api/feedback", json={"tester": f"tester-{i}", "scenario": "beta", "rating": rating})

    for i in range(10):
        answer(i, 5 if i < 6 else 2)
    tester.post("/api/feedback", json={"tester": "launch-user", "scenario": "launch", "rating": 1})
    for attempt, verdict in (("first", "fail"), ("second", "pass")):
        run_dir = tmp_path / attempt
        found = run_features(stack, profile(tmp_path, stack), run_dir, "features/test_feedback.py", "-k", "Beta")
        assert found["beta.feedback-positive"].outcome == "passed"
        records = [r for r in read_evidence(run_dir)[0] if r.kind == "feedback"]
        assert {r.details["tester"] for r in records} == {f"tester-{i}" for i in range(10)}  # beta answers only
        assert verdicts(run_dir, ["beta"])["beta.feedback-positive"] == verdict, attempt
        for i in range(6, 10):
            answer(i, 4)


def launch_log(tmp_path: Path, days: int, incidents: str = "[]", active: int = 400) -> Path:
    path = tmp_path / "launch-log.yaml"
    start = datetime(2026, 3, 1, tzinfo=UTC)
    weeks = "\n".join(f"  - {{week_ending: {(start + timedelta(days=7 * (w + 1))).date()}, onboarded: 1000, "
                      f"weekly_active: {active}}}" for w in range(days // 7))
    path.write_text(f"observed: {{from: {_iso(start)}, to: {_iso(start + timedelta(days=days))}}}\n"
                    f"incidents: {incidents}\nengagement:\n{weeks or '  []'}\n")
    return path


LAUNCH_LOGS = {
    # name: (days, incidents, weekly active of 1000) -> (no-incidents scenario, its verdict, engagement verdict)
    "a quiet month": (31, "[{id: INC-1, kind: outage, severity: minor, started: 2026-03-03T10:00:00Z}]", 400,
                      ("passed", "pass", "pass")),
    "a low security finding": (31, "[{id: SEC-1, kind: security, severity: low, started: 2026-03-09T08:00:00Z, "
                               "summary: verbose error page}]", 150, ("failed", "fail", "fail")),
    "ten days so far": (10, "[]", 400, ("passed", "inconclusive", "pass")),
}


@pytest.mark.parametrize("case", list(LAUNCH_LOGS))
def test_incidents_and_engagement_read_the_launch_log(stack: RunningStack, tmp_path: Path, case: str) -> None:
    days, incidents, active, expected = LAUNCH_LOGS[case]
    path = profile(tmp_path, stack)
    path.write_text(path.read_text() + f'[files]\nlaunch_log = "{launch_log(tmp_path, days, incidents, active)}"\n')
    run_dir = tmp_path / "run"
    found = run_features(stack, path, run_dir, "features/test_launch.py")
    got = verdicts(run_dir, ["launch"])
    assert (found["launch.no-incidents"].outcome, got["launch.no-incidents"], got["launch.engagement"]) == expected
    if case == "a low security finding":
        assert "SEC-1 (security, low): verbose error page" in found["launch.no-incidents"].details["error"]


def test_a_malformed_launch_log_fails_naming_the_entry(stack: RunningStack, tmp_path: Path) -> None:
    bad = launch_log(tmp_path, 31, "[{id: X, kind: outage, severity: catastrophic, started: 2026-03-03}]")
    path = profile(tmp_path, stack)
    path.write_text(path.read_text() + f'[files]\nlaunch_log = "{bad}"\n')
    found = run_features(stack, path, tmp_path / "run", "features/test_launch.py")
    error = found["launch.no-incidents"].details["error"]
    assert f"{bad}: incidents[0]: severity must be one of" in error and "'catastrophic'" in error


def test_without_a_launch_log_incidents_and_engagement_are_inconclusive(stack: RunningStack, tmp_path: Path) -> None:
    found = run_features(stack, profile(tmp_path, stack), tmp_path / "run", "features/test_launch.py")
    assert {found[c].outcome for c in ("launch.no-incidents", "launch.engagement")} == {"skipped"}
    assert "names no [files] launch_log" in found["launch.engagement"].details["reason"]


def test_run_with_a_soak_that_is_not_a_finished_run_exits_2(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    for soak in (tmp_path / "missing", tmp_path / "half"):
        proc = subprocess.run([sys.executable, "-m", "launchgate", "run", "--soak", str(soak), "--reports-dir",
                               str(tmp_path / "reports")], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert f"--soak {soak}: not a finished soak run directory" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()  # refused before a run directory was made
