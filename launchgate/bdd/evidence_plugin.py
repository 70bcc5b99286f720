"""pytest plugin: options, tag markers, the target session, and one `scenario` evidence record per scenario."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from launchgate import signals
from launchgate.bdd.answers_evidence import record_answers
from launchgate.bdd.outcomes import INCONCLUSIVE, inconclusive
from launchgate.bdd.session import TargetSession, check_reachable, managed_stack
from launchgate.drivers.answers import journal
from launchgate.drivers.build import bind_run
from launchgate.drivers.errors import ApiError, DriverError, UnreachableError
from launchgate.evidence import Evidence, EvidenceWriter, now_iso
from launchgate.monitoring.slis import Window, record_window
from launchgate.procs import StackError
from launchgate.profile_check import local_problems
from launchgate.reference import DEFAULT_PORT_BASE
from launchgate.targets import Target, TargetError, load_target, shift_ports

GATE_TAGS = ("alpha", "beta", "launch", "preconditions")
SCENARIO_KEY = pytest.StashKey[dict[str, Any]]()
TARGET_KEY = pytest.StashKey[Target]()
RUN_DIR_KEY = pytest.StashKey[Path]()
UNDEFINED_STEP_KEY = pytest.StashKey[str]()
EXIT_2_PROPERTY = "launchgate.exit-2"  # a report's user property: a line that ends the run with exit 2
# Under pytest-xdist each worker runs its own reference stack, this many ports above the previous worker's: the
# stack's layout uses base+0 to base+11. Scenarios kill and restart services and reconcile global counts, so
# sharing one stack between workers would let them disturb each other.
WORKER_PORT_STRIDE = 20
__all__ = ["INCONCLUSIVE", "inconclusive"]  # steps import them from here


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
    group.addoption("--soak-run", default=os.environ.get("LAUNCHGATE_SOAK_RUN"),
                    help="a finished `launchgate soak` run directory whose evidence the stability scenarios read")


def pytest_configure(config: pytest.Config) -> None:
    for tag in (*GATE_TAGS, "critical", "uat"):
        config.addinivalue_line("markers", f"{tag}: gate-suite tag @{tag}")
    config.addinivalue_line("markers", "criterion(id): the gates.yaml criterion a scenario gives evidence for")
    if not _is_xdist_worker(config):
        config.pluginmanager.register(Exit2Lines(), "launchgate-exit-2-lines")
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (launchgate stopping us, or dying: see runner.py; a CI cancel) takes Ctrl-C's path, so pytest's
        # own teardown runs the session fixtures' finalizers, target_session's among them: it stops the stack.
        config.add_cleanup(signals.install())


def pytest_sessionstart(session: pytest.Session) -> None:
    """Bad input stops the run before any test, with one line and exit 2: an unknown target, a profile with a
    missing or wrong field, an unmanaged target that does not answer. The run directory is chosen here, once:
    xdist workers receive it from the controller (pytest_configure_node)."""
    config = session.config
    if _is_xdist_worker(config):
        inherited = config.workerinput.get("launchgate_run_dir")  # type: ignore[attr-defined]
        if inherited:
            config.stash[RUN_DIR_KEY] = Path(inherited)
        return
    name = config.getoption("--target")
    try:
        target = load_target(name)
    except TargetError as exc:
        pytest.exit(f"launchgate: {exc}", returncode=2)
    problems = local_problems(target)  # an unset variable, a hook that cannot run
    if problems:
        pytest.exit(f"launchgate: {target.path}: {problems[0]}", returncode=2)
    config.stash[TARGET_KEY] = target
    config.stash[RUN_DIR_KEY] = Path(config.getoption("--run-dir") or default_run_dir(target.name)).resolve()
    if not target.managed:
        try:
            check_reachable(target)
        except DriverError as exc:
            pytest.exit(f"launchgate: {exc}", returncode=2)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker writes its evidence into the run directory the controller chose."""
    run_dir = node.config.stash.get(RUN_DIR_KEY, None)
    if run_dir is not None:
        node.workerinput["launchgate_run_dir"] = str(run_dir)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0


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
def target_session(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Iterator[TargetSession]:
    name = pytestconfig.getoption("--target")
    try:
        target = pytestconfig.stash.get(TARGET_KEY, None) or load_target(name)
    except TargetError as exc:
        _cannot_run(request, str(exc))
    run_dir = pytestconfig.stash.get(RUN_DIR_KEY, None)
    if run_dir is None:
        run_dir = Path(pytestconfig.getoption("--run-dir") or default_run_dir(target.name)).resolve()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    stack, owned = None, False
    try:
        if target.managed:
            port_base = pytestconfig.getoption("--stack-port-base") + _worker_index() * WORKER_PORT_STRIDE
            state = "stack" if worker == "main" else f"stack-{worker}"
            stack, owned = managed_stack(run_dir, port_base, state)
            target = shift_ports(target, port_base)
        check_reachable(target)
        bind_run(run_dir, target)  # which build this run measures: every record it writes carries it
    except BaseException as exc:  # an interrupt too: this fixture has no finalizer yet to stop the stack
        if owned and stack is not None:
            stack.down()
        if not isinstance(exc, StackError | DriverError):
            raise
        _cannot_run(request, str(exc))
    session = TargetSession(target, run_dir, EvidenceWriter(run_dir, f"scenarios-{worker}"), stack)
    started = datetime.now(UTC)
    answers = journal()
    answers.enabled = True
    answers.know(session.known_secrets())
    try:
        yield session
    finally:
        session.close()
        record_answers(answers, session.evidence, session.name, worker,
                       started.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        if target.monitoring is not None:  # SLIs read with PromQL over the session, while its Prometheus runs
            record_window(target, run_dir, Window(started, datetime.now(UTC)), stream=f"prometheus-{worker}",
                          scrape_interval=stack.scrape_interval if stack is not None else None)
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
         "type": step.type, "error": f"{type(exception).__name__}: {exception}"[:2000]}
    )


def pytest_bdd_step_func_lookup_error(
    request: pytest.FixtureRequest, feature: Any, step: Any, exception: Exception, **_: Any
) -> None:
    where = f"{_shown_path(feature.filename)}:{step.line_number}"
    line = f"no step definition for '{step.keyword} {step.name}' at {where}"
    _steps(request).append(
        {"keyword": step.keyword, "name": step.name, "line": step.line_number, "status": "undefined", "error": line}
    )
    request.node.stash[UNDEFINED_STEP_KEY] = line


def _shown_path(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class SessionUnusable(Exception):
    """The target session could not start in an xdist worker (its stack, say): the run ends with exit 2."""


def _cannot_run(request: pytest.FixtureRequest, message: str) -> NoReturn:
    """Ends the run with exit 2 and `launchgate: message`. An xdist worker cannot pytest.exit() (its exit status
    2 reads as an interrupt and the line is lost): it stops taking tests and fails this one, whose report carries
    the line to the controller."""
    if not _is_xdist_worker(request.config):
        pytest.exit(f"launchgate: {message}", returncode=2)
    request.session.shouldstop = f"launchgate: {message}"
    raise SessionUnusable(message)


class Exit2Lines:
    """Faults of the suite or of its setup, not of the target, end the run with exit 2 and one line each: a step
    with no definition (naming its feature file and line), a worker's target session that could not start. Lives
    in the controller under xdist (the workers' reports carry the lines in `user_properties`), since a worker's
    exit status 2 means an interrupt."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == EXIT_2_PROPERTY and value not in self.lines:
                self.lines.append(str(value))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.lines:
            session.exitstatus = 2

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for line in self.lines:
            sys.stderr.write(f"launchgate: {line}\n")


def _steps(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return request.node.stash.setdefault(SCENARIO_KEY, {"steps": []}).setdefault("steps", [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    undefined = item.stash.get(UNDEFINED_STEP_KEY, None)
    if undefined and report.when == "call":
        report.user_properties.append((EXIT_2_PROPERTY, undefined))
    if call.excinfo is not None and isinstance(call.excinfo.value, SessionUnusable):
        report.user_properties.append((EXIT_2_PROPERTY, str(call.excinfo.value)))
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
    if item.stash.get(NOTES_KEY, None):
        details["notes"] = list(item.stash[NOTES_KEY])
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
        details["error"] = _error_text(excinfo.value) if excinfo is not None else report.longreprtext[-2000:]
        setup = _target_broke_setup(details["steps"], excinfo.value if excinfo is not None else None)
        if setup:
            # A 502 while creating the campaign to approve says nothing of approvals: no verdict on the criterion.
            outcome, details["target_error"] = "error", True
            details["reason"] = f"the target failed while setting up ({setup}): {details['error']}"
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
NOTES_KEY = pytest.StashKey[list[str]]()


def note(request: pytest.FixtureRequest, text: str) -> None:
    """Puts `text` in the scenario's evidence (details.notes): what a passing check relied on, for the reader."""
    request.node.stash.setdefault(NOTES_KEY, []).append(text)


def _target_broke_setup(steps: list[dict[str, Any]], exc: BaseException | None) -> str | None:
    """The Given step in which the target answered 5xx or not at all, if that is how the scenario failed."""
    failed = next((step for step in reversed(steps) if step["status"] == "failed"), None)
    server_fault = isinstance(exc, UnreachableError) or (isinstance(exc, ApiError) and exc.status >= 500)
    if failed is None or failed.get("type") != "given" or not server_fault:
        return None
    return f"{failed['keyword']} {failed['name']}"


def _error_text(exc: BaseException) -> str:
    """The failure in the step's own words: pytest's `assert ...` explanation is cut when there is a message."""
    text = str(exc)
    if isinstance(exc, AssertionError) and "\nassert " in text and not text.startswith("assert "):
        text = text.split("\nassert ", 1)[0]
    return text[:2000]


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
