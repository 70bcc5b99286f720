"""pytest plugin: options, tag markers, the target session, and one `scenario` evidence record per scenario."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from launchgate.bdd.session import TargetSession, check_reachable, managed_stack, shift_ports
from launchgate.drivers.errors import DriverError
from launchgate.gates.evidence import Evidence, EvidenceWriter, now_iso
from launchgate.stack.layout import DEFAULT_PORT_BASE
from launchgate.stack.procs import StackError
from launchgate.targets import TargetError, load_target

GATE_TAGS = ("alpha", "beta", "launch", "preconditions")
SCENARIO_KEY = pytest.StashKey[dict[str, Any]]()
INCONCLUSIVE = "inconclusive: "


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("launchgate")
    group.addoption("--target", default=os.environ.get("LAUNCHGATE_TARGET", "reference"), help="target profile")
    group.addoption("--run-dir", default=os.environ.get("LAUNCHGATE_RUN_DIR"), help="where evidence goes")
    group.addoption(
        "--stack-port-base",
        type=int,
        default=int(os.environ.get("LAUNCHGATE_PORT_BASE", DEFAULT_PORT_BASE)),
        help="port base of the reference stack the session starts",
    )


def pytest_configure(config: pytest.Config) -> None:
    for tag in (*GATE_TAGS, "critical", "uat"):
        config.addinivalue_line("markers", f"{tag}: gate-suite tag @{tag}")
    config.addinivalue_line("markers", "criterion(id): the gates.yaml criterion a scenario gives evidence for")


def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    """`@criterion.<id>` becomes `criterion("<id>")`, so ids with dots need no marker of their own."""
    if tag.startswith("criterion."):
        pytest.mark.criterion(tag.removeprefix("criterion."))(function)
        return True
    return None


def default_run_dir(target: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("reports") / f"{stamp}-{target}"


@pytest.fixture(scope="session")
def target_session(pytestconfig: pytest.Config) -> Iterator[TargetSession]:
    name = pytestconfig.getoption("--target")
    run_dir = Path(pytestconfig.getoption("--run-dir") or default_run_dir(name)).resolve()
    try:
        target = load_target(name)
    except TargetError as exc:
        pytest.exit(f"launchgate: {exc}", returncode=2)
    stack, owned = None, False
    try:
        if target.managed:
            port_base = pytestconfig.getoption("--stack-port-base")
            stack, owned = managed_stack(run_dir, port_base)
            target = shift_ports(target, port_base)
        check_reachable(target)
    except (StackError, DriverError) as exc:
        if owned and stack is not None:
            stack.down()
        pytest.exit(f"launchgate: {exc}", returncode=2)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    session = TargetSession(target, run_dir, EvidenceWriter(run_dir, f"scenarios-{worker}"), stack)
    try:
        yield session
    finally:
        session.close()
        if owned and stack is not None:
            stack.down()


# -- scenario evidence ---------------------------------------------------------------------------------
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    request.node.stash[SCENARIO_KEY] = {
        "feature": feature.name,
        "file": feature.rel_filename,
        "scenario": scenario.name,
        "line": scenario.line_number,
        "tags": sorted(scenario.tags | feature.tags),
        "steps": [],
        "started": now_iso(),
        "t0": time.monotonic(),
    }


def pytest_bdd_after_step(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    _steps(request).append({"keyword": step.keyword, "name": step.name, "line": step.line_number, "status": "passed"})


def pytest_bdd_step_error(request: pytest.FixtureRequest, step: Any, exception: Exception, **_: Any) -> None:
    _steps(request).append(
        {"keyword": step.keyword, "name": step.name, "line": step.line_number, "status": "failed",
         "error": f"{type(exception).__name__}: {exception}"[:2000]}
    )


def pytest_bdd_step_func_lookup_error(
    request: pytest.FixtureRequest, feature: Any, step: Any, exception: Exception, **_: Any
) -> None:
    _steps(request).append(
        {"keyword": step.keyword, "name": step.name, "line": step.line_number, "status": "undefined",
         "error": f"no step definition for '{step.keyword} {step.name}' at {feature.rel_filename}:{step.line_number}"}
    )


def _steps(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return request.node.stash.setdefault(SCENARIO_KEY, {"steps": []}).setdefault("steps", [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    info = item.stash.get(SCENARIO_KEY, None)
    if info is None or info.get("written"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        info["written"] = True
        _write_scenario_evidence(item, report, call, info)


def _write_scenario_evidence(item: pytest.Item, report: pytest.TestReport, call: Any, info: dict[str, Any]) -> None:
    session = _session_of(item)
    if session is None:
        return
    tags = info["tags"]
    criterion = next((t.removeprefix("criterion.") for t in tags if t.startswith("criterion.")), None)
    gate = next((t for t in tags if t in GATE_TAGS), None)
    details: dict[str, Any] = {
        "feature": info.get("feature"),
        "scenario": info.get("scenario"),
        "location": f"{info.get('file')}:{info.get('line')}",
        "tags": tags,
        "critical": "critical" in tags,
        "steps": info.get("steps", []),
        "nodeid": item.nodeid,
    }
    if report.skipped:
        outcome, reason = "skipped", _skip_reason(report)
        details["reason"] = reason
        details["inconclusive"] = reason.startswith(INCONCLUSIVE)
    elif report.passed:
        outcome = "passed"
    else:
        excinfo = call.excinfo
        harness_bug = excinfo is not None and not isinstance(excinfo.value, AssertionError | DriverError)
        outcome = "error" if harness_bug else "failed"
        details["error"] = str(excinfo.value)[:2000] if excinfo is not None else report.longreprtext[-2000:]
    session.evidence.write(
        Evidence(
            run=session.run_dir.name,
            kind="scenario",
            name=info.get("scenario") or item.name,
            outcome=outcome,  # type: ignore[arg-type]
            criterion=criterion,
            gate=gate,
            value=round(time.monotonic() - info.get("t0", time.monotonic()), 3),
            unit="s",
            started=info.get("started", now_iso()),
            target=session.name,
            attachments=list(item.stash.get(ATTACHMENTS_KEY, [])),
            details=details,
        )
    )


ATTACHMENTS_KEY = pytest.StashKey[list[str]]()


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _session_of(item: pytest.Item) -> TargetSession | None:
    # pytest-bdd asks for step fixtures on the fly, so `target_session` is not in item.fixturenames.
    request = getattr(item, "_request", None)
    if request is None:
        return None
    try:
        return request.getfixturevalue("target_session")
    except Exception:  # the session fixture itself failed: nothing to write to
        return None


def inconclusive(reason: str) -> None:
    """Ends a scenario as inconclusive (no data), with its reason: never a silent skip, never a pass."""
    pytest.skip(INCONCLUSIVE + reason)
