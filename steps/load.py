"""Steps that read what load produced: a soak's windowed verdicts and uptime (alpha.stability, beta.uptime)
and the onboarding rehearsal (launch.users-onboarded).

A soak lasts hours on staging, so a gate run does not start one: it reads a finished soak named with
`--soak-run` (`launchgate run --soak RUN`, or LAUNCHGATE_SOAK_RUN) and brings its evidence into this run.
Onboarding 1,000 users takes about a minute on the reference stack, so the gate run does it itself, through
`launchgate onboard` (Locust runs in a subprocess: it must never be imported into pytest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd import given, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.session import TargetSession
from launchgate.evidence import Evidence, read_run_build
from launchgate.gates.evidence_import import EvidenceImportError, Imported, import_run
from launchgate.gates.formatting import fmt_duration
from launchgate.runner import PROJECT_ROOT
from launchgate.signals import die_with_parent
from steps.common import gate_criterion, required

ONBOARD_TIMEOUT_S = 900  # the hard bound of one rehearsal, stack start excluded


def _one(records: list[Evidence], name: str) -> Evidence | None:
    return next((r for r in reversed(records) if r.name == name), None)


@dataclass(frozen=True)
class SoakReading:
    """A finished soak brought into this run: every record it wrote, and its summary."""

    imported: Imported
    summary: Evidence


@dataclass(frozen=True)
class Onboarding:
    """What the onboarding rehearsal recorded (None: nothing), and how many users it was asked to onboard."""

    record: Evidence | None
    users: int


# -- the soak ------------------------------------------------------------------------------------------------
@given("the soak run the harness was pointed to", target_fixture="soak")
def soak_run(target: TargetSession, pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> SoakReading:
    named = pytestconfig.getoption("--soak-run")
    if not named:
        inconclusive("no soak was named: run `launchgate soak --target T --duration 72h`, then pass its run "
                     "directory with `launchgate run --soak RUN` (or LAUNCHGATE_SOAK_RUN)")
    source = Path(named).expanduser().resolve()
    try:
        imported = import_run(source, target.run_dir, "soak-import")
    except EvidenceImportError as exc:
        raise AssertionError(str(exc)) from None
    summary = _one(imported.records, "soak.summary")
    assert summary is not None, f"{source} has no soak.summary record: the soak did not finish its analysis"
    if summary.target != target.name:
        inconclusive(f"the soak in {source} ran against {summary.target}, not {target.name}")
    gated = read_run_build(target.run_dir)
    if gated is not None and gated.id is not None and summary.build != gated.id:
        inconclusive(f"the soak in {source} measured build {summary.build or '(unknown)'}, not build {gated.id} "
                     "that this run gates: a soak counts only for the build it measured")
    note(request, f"soak {source.name}: {summary.details.get('windows')} windows over "
                  f"{fmt_duration(summary.details.get('observed_s'))} observed")
    if imported.bad:
        note(request, f"{len(imported.bad)} unreadable evidence line(s) in the soak, first "
                      f"{imported.bad[0].path.name}:{imported.bad[0].line}")
    return SoakReading(imported, summary)


def _long_enough(soak: SoakReading, criterion_id: str) -> None:
    """A soak shorter than the criterion's min_duration decides nothing: inconclusive, however good it was."""
    needed = gate_criterion(criterion_id).min_duration
    observed = float(soak.summary.details.get("observed_s") or 0.0)
    if needed and observed < needed:
        inconclusive(f"the soak observed {fmt_duration(observed)} of the {fmt_duration(needed)} "
                     f"{criterion_id} asks for")


@then("every analysis window of the soak passed its checks")
def every_window_passed(soak: SoakReading) -> None:
    windows = [r for r in soak.imported.records if r.name.startswith("soak.window.")]
    assert windows, "the soak recorded no analysis window"
    failed = [f"window {w.details.get('window')} ({', '.join(w.details.get('failed_checks') or [])})"
              for w in windows if w.outcome == "failed"]
    assert not failed, f"{len(failed)} of {len(windows)} windows failed: {'; '.join(failed[:5])}"
    summary = soak.summary
    assert summary.outcome == "passed", f"the soak ended {summary.outcome}: {summary.details.get('aborted') or ''}"


@then("the soak lasted as long as the Internal Alpha asks")
def soak_long_enough(soak: SoakReading) -> None:
    _long_enough(soak, "alpha.stability")


@then("the soak's probes measured how much of the time every service was up")
def uptime_measured(soak: SoakReading, request: pytest.FixtureRequest) -> None:
    """The soak's `uptime` measurements are the evidence; the scorer alone holds them to beta.uptime's bar, sample
    count and duration (gates.yaml). A soak whose probes measured nothing has nothing to judge."""
    summary = soak.summary
    uptime, probes = summary.details.get("uptime"), summary.details.get("probes")
    assert uptime is not None and probes, "the soak's probes measured no uptime"
    note(request, f"the probes found the system up {float(uptime):.4%} of {probes:,} probes over "
                  f"{fmt_duration(summary.details.get('observed_s'))}")


# -- the onboarding rehearsal ------------------------------------------------------------------------------------
@when("the harness onboards as many new users as the Public Launch requires", target_fixture="onboarding")
def onboard_users(target: TargetSession, request: pytest.FixtureRequest) -> Onboarding:
    target.require("identity", "new users cannot sign up")
    users = required("launch.users-onboarded")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run_dir = target.run_dir / "artifacts" / f"onboarding-{worker}"
    args = [sys.executable, "-m", "launchgate", "onboard", "--target", str(target.target.path),
            "--users", str(users), "--run-dir", str(run_dir), "--timeout", f"{ONBOARD_TIMEOUT_S}s"]
    if target.stack is not None:
        args += ["--port-base", str(target.stack.port_base), "--stack-dir", str(target.stack.state_dir)]
    # Tied to this pytest: if it dies, even by kill -9, the onboarding gets SIGTERM and stops its Locust.
    proc = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=ONBOARD_TIMEOUT_S + 120,
                          env={**os.environ, "CI": "1"}, preexec_fn=die_with_parent())
    said = [line.removeprefix("launchgate: ") for line in proc.stderr.splitlines() if line.startswith("launchgate: ")]
    if proc.returncode == 2 and said and "cannot onboard users" in said[-1]:
        inconclusive(said[-1])
    assert proc.returncode in (0, 1), f"launchgate onboard exited {proc.returncode}: {said[-1] if said else ''}" \
                                      f"{proc.stderr[-600:] if not said else ''}"
    imported = import_run(run_dir, target.run_dir, f"onboarding-{worker}")
    note(request, f"onboarding run: {run_dir.relative_to(target.run_dir)}")
    return Onboarding(_one(imported.records, "onboarding.users"), users)


@then("each of them signed up, verified their address from the mail, logged in and created a first campaign")
def all_onboarded(onboarding: Onboarding) -> None:
    record, users = onboarding.record, onboarding.users
    assert record is not None, "the onboarding run wrote no onboarding.users record"
    d = record.details
    assert record.value is not None and record.value >= users, (
        f"{record.value:.0f} of {users} users were onboarded ({d.get('failed')} failed, "
        f"{d.get('not_started')} not started)"
    )
