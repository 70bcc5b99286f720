"""Fixtures of the browser suite (its own pytest process: Playwright's sync API leaves an event loop behind).

The run starts its own reference stack on a port band of its own (LAUNCHGATE_E2E_PORT_BASE), or checks
that the named target answers before any browser starts. Each flow writes a `scenario` evidence record
into the run directory (--run-dir, else reports/<stamp>-<target>-e2e) with its screenshots, and on
failure its traces and videos, as attachments relative to that directory.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from e2e.browser import PROJECT_ROOT, BrowserSetup, prepare
from e2e.flows import saved_session
from e2e.recorder import FlowRecorder
from e2e.target import E2ETarget, ensure_reachable, for_running_stack
from launchgate.bdd.session import TargetSession
from launchgate.drivers.errors import DriverError
from launchgate.evidence import EvidenceWriter
from launchgate.procs import StackError, port_in_use
from launchgate.reference import PORT_SPAN, ReferenceStack
from launchgate.targets import TargetError, load_target

# Decided before Playwright starts: it reads the browser registry path from the environment.
BROWSER: BrowserSetup = prepare()
_E2E_BASE = int(os.environ.get("LAUNCHGATE_E2E_PORT_BASE", "16000"))
_SLOTS = itertools.count(0)
REPORT_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
FAULTED_TESTS = "needs_faulted_stack"
EARLY_PROBE = "early_probe"  # early_probe(name, start): start() -> a probe with .result(timeout) and .stop()
PROBES_KEY = pytest.StashKey[dict[str, Any]]()


def e2e_port_base() -> int:
    """Its own band, since runs may overlap: below the gate suite's 18370 and tests/' 20000+, and below
    32768, where the kernel's ephemeral ports begin. A slot whose ports another process holds is passed over."""
    for _ in range(50):
        base = _E2E_BASE + next(_SLOTS) * PORT_SPAN
        if not any(port_in_use(port) for port in range(base, base + PORT_SPAN)):
            return base
    raise StackError(f"no free block of {PORT_SPAN} ports from {_E2E_BASE} up: set LAUNCHGATE_E2E_PORT_BASE")


def start_e2e_stack(state_dir: Path) -> ReferenceStack:
    stack = ReferenceStack(state_dir)
    stack.up(port_base=e2e_port_base())
    return stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{FAULTED_TESTS}(faults, services=[...]): runs against the stack with those services faulted"
    )
    config.addinivalue_line("markers", f"{EARLY_PROBE}(name, start): a subprocess probe started at collection")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Flows against a faulted stack go last (the faults stay on), grouped by fault set.
    faulted = sorted((i for i in items if i.get_closest_marker(FAULTED_TESTS)),
                     key=lambda i: sorted(i.get_closest_marker(FAULTED_TESTS).args[0]))  # type: ignore[union-attr]
    items[:] = [i for i in items if i not in faulted] + faulted


def pytest_collection_finish(session: pytest.Session) -> None:
    # Probes that run a whole pytest process of their own start now, beside the stacks, and are read later.
    probes = session.config.stash.setdefault(PROBES_KEY, {})
    for item in [] if session.config.option.collectonly else session.items:
        marker = item.get_closest_marker(EARLY_PROBE)
        if marker is not None and marker.args[0] not in probes:
            probes[marker.args[0]] = marker.args[1]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    for probe in session.config.stash.get(PROBES_KEY, {}).values():
        probe.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(REPORT_KEY, {})[report.when] = report


# -- the target ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def e2e_run_dir(pytestconfig: pytest.Config) -> Path:
    given = pytestconfig.getoption("--run-dir")
    if given:
        path = Path(given)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = PROJECT_ROOT / "reports" / f"{stamp}-{pytestconfig.getoption('--target')}-e2e"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def e2e_evidence(e2e_run_dir: Path) -> EvidenceWriter:
    return EvidenceWriter(e2e_run_dir, "e2e")


@pytest.fixture(scope="session")
def e2e_target(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory, e2e_run_dir: Path,
               e2e_evidence: EvidenceWriter) -> Iterator[E2ETarget]:
    """The target under test, reachable, before any browser starts; else the run stops with the URL."""
    name = pytestconfig.getoption("--target")
    try:
        profile = load_target(name)
    except TargetError as exc:
        pytest.exit(f"launchgate: {exc}", returncode=2)
    stack: ReferenceStack | None = None
    try:
        target = profile
        if profile.managed:
            stack = start_e2e_stack(tmp_path_factory.mktemp("e2e-stack"))
            target = for_running_stack(profile, stack)
        ensure_reachable(target)
    except (StackError, DriverError) as exc:
        if stack is not None:
            stack.down()
        pytest.exit(f"launchgate: e2e target {name} is not usable: {exc}", returncode=2)
    env = E2ETarget(TargetSession(target, e2e_run_dir, e2e_evidence, stack))
    try:
        yield env
    finally:
        env.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config, e2e_target: E2ETarget) -> dict[str, Any]:
    """Debian's Chromium when present, with flags for a quiet, offline, sandbox-less container run.
    Depends on the target, so an unusable target stops the run before a browser is launched."""
    args: dict[str, Any] = {**BROWSER.launch_args()}
    if pytestconfig.getoption("--headed"):
        args["headless"] = False
    return args


@pytest.fixture
def early_probe(request: pytest.FixtureRequest) -> Any:
    """The probe this test's early_probe marker started at collection time."""
    marker = request.node.get_closest_marker(EARLY_PROBE)
    assert marker is not None, f"mark the test with @pytest.mark.{EARLY_PROBE}(name, start)"
    return request.config.stash[PROBES_KEY][marker.args[0]]


@pytest.fixture
def faulted_target(request: pytest.FixtureRequest, e2e_target: E2ETarget) -> E2ETarget:
    """The run's own reference stack with fault switches on in the services that own them.

    Those services are restarted with LAUNCHGATE_FAULTS set, which costs seconds where a second stack costs
    a minute of CPU. The faults stay on until the stack stops, which is why faulted tests run last."""
    marker = request.node.get_closest_marker(FAULTED_TESTS)
    assert marker is not None, f"mark the test with @pytest.mark.{FAULTED_TESTS}(faults, services=[...])"
    faults, services = sorted(marker.args[0]), list(marker.kwargs["services"])
    if e2e_target.stack is None:
        pytest.skip("inconclusive: fault switches exist only on the reference stack this run starts")
    if sorted(e2e_target.stack.faults) != faults:  # restarted by the reference, which returns once /health answers
        e2e_target.stack.restart(services, faults=faults, term=True)
    ensure_reachable(e2e_target.target)
    return e2e_target


# -- flows --------------------------------------------------------------------------------------------
FlowFactory = Callable[..., FlowRecorder]


@pytest.fixture(scope="session")
def saved_sessions(browser: Browser, e2e_target: E2ETarget) -> Callable[[str], dict[str, Any]]:
    """Browser sessions per role, each logged in once per run: flows that are not about logging in start
    from them instead of spending a login (and a password hash) per actor."""
    cache: dict[str, dict[str, Any]] = {}

    def session(role: str) -> dict[str, Any]:
        if role not in cache:
            cache[role] = saved_session(browser, e2e_target, role)
        return cache[role]

    return session


@pytest.fixture
def make_flow(request: pytest.FixtureRequest, browser: Browser, e2e_target: E2ETarget, e2e_run_dir: Path,
              e2e_evidence: EvidenceWriter, saved_sessions: Callable[[str], dict[str, Any]]) -> Iterator[FlowFactory]:
    """Flow recorders for this test; at teardown each is closed and writes its `scenario` evidence record."""
    made: list[tuple[FlowRecorder, EvidenceWriter]] = []

    def factory(title: str, *, criterion: str | None = "core.e2e-data-flow", gate: str | None = "alpha",
                tags: tuple[str, ...] = (), run_dir: Path | None = None, target: str | None = None) -> FlowRecorder:
        directory = (run_dir or e2e_run_dir).resolve()
        recorder = FlowRecorder(title, browser, BROWSER, directory, criterion=criterion, gate=gate,
                                target=target or e2e_target.name, tags=list(tags), sessions=saved_sessions)
        writer = e2e_evidence if run_dir is None else EvidenceWriter(directory, "e2e")
        made.append((recorder, writer))
        return recorder

    yield factory
    reports = request.node.stash.get(REPORT_KEY, {})
    call = reports.get("call")
    for recorder, writer in made:
        failed = call is None or call.failed
        recorder.close(test_failed=failed)
        if call is not None and call.skipped:
            reason = _skip_reason(call)
            recorder.write(writer, outcome="skipped", nodeid=request.node.nodeid, reason=reason)
        else:
            recorder.write(writer, outcome="failed" if failed or recorder.failed_step else "passed",
                           nodeid=request.node.nodeid)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
