"""Testing steps (framework §5): line coverage from the target's test report, and its integration tests.

Coverage is a measurement: the step records it as evidence and gates.yaml judges it (80% is a threshold,
and thresholds live there). Integration results come from a JUnit file the profile names, or one that the
profile's integration command writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import then, when

from launchgate.bdd.evidence_plugin import ATTACHMENTS_KEY, inconclusive, note
from launchgate.bdd.means import hooks_for, project_file
from launchgate.bdd.session import TargetSession
from launchgate.coverage_import import coverage_evidence
from launchgate.drivers.coverage_files import read_coverage
from launchgate.drivers.hooks import HookError
from launchgate.drivers.junit_files import JunitResults, read_junit

INTEGRATION_TIMEOUT_S = 900.0


@then("the line coverage of the target's tests is measured")
def coverage_measured(target: TargetSession, request: pytest.FixtureRequest) -> None:
    name = target.target.files.get("coverage")
    if not name:
        inconclusive(f"the profile {target.target.path.name} names no coverage report ([files] coverage)")
    path = project_file(name)
    if not path.exists():
        inconclusive(f"no coverage report at {path}: run the target's tests first (for the reference: make test)")
    reading = read_coverage(path)
    target.evidence.write(coverage_evidence(reading, target.run_dir.name, target.name))
    note(request, f"line coverage {reading.describe()}, written {reading.modified}")


@when("the target's integration tests run", target_fixture="integration_results")
def integration_runs(target: TargetSession, request: pytest.FixtureRequest) -> JunitResults:
    hooks = hooks_for(target)
    named = target.target.files.get("integration_junit")
    if hooks.has("integration"):
        out = target.run_dir / "artifacts" / "integration-junit.xml"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        result = hooks.run("integration", timeout=INTEGRATION_TIMEOUT_S, check=False, junit=out)
        if not out.exists():
            said = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise HookError(f"hook integration (`{result.command}`) exited with status {result.exit_status} and "
                            f"wrote no JUnit file at {out}: {' | '.join(said) or 'it printed nothing'}")
        request.node.stash.setdefault(ATTACHMENTS_KEY, []).append(str(out.relative_to(target.run_dir)))
        path: Path = out
    elif named:
        path = project_file(named)
        if not path.exists():
            inconclusive(f"no integration results at {path} ([files] integration_junit): run the integration "
                         "tests first")
    else:
        inconclusive(f"the profile {target.target.path.name} names neither an integration command ([hooks] "
                     "integration) nor its results ([files] integration_junit)")
    return read_junit(path)


@then("every integration test passes")
def integration_passes(integration_results: JunitResults, request: pytest.FixtureRequest) -> None:
    results = integration_results
    if not results.cases:
        inconclusive(f"{results.path} reports no test case")
    failed = results.not_passed
    shown = "; ".join(f"{c.suite}::{c.name} {c.outcome}: {c.message or '(no message)'}" for c in failed[:5])
    assert not failed, f"{len(failed)} of {len(results.cases)} integration tests did not pass: {shown}"
    suites = sorted({c.suite for c in results.cases})
    note(request, f"{results.summary()} in {len(suites)} suite(s): {', '.join(suites)[:500]}")
