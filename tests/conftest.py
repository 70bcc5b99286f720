"""Fixtures for testing launchgate itself: real reference stacks over real HTTP, each on its own ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from launchgate.drivers.http import ApiClient
from launchgate.drivers.mail import MailSink
from reference371os import testing
from reference371os.config import Secrets
from reference371os.kit.auth import issue_token
from reference371os.manager import Stack
from reference371os.testing import next_port_base

# The port band of each xdist worker, the slot of each stack in it and the warm launcher are the reference's test
# support (reference371os/testing.py), shared with reference/tests/ in the same session: imported above, before
# the gate suites these tests start in subprocesses lose our xdist variables (inheriting them would move their
# ports; reference371os.testing has read its worker already).
for _var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_var, None)

__all__ = ["RunningStack", "command_env", "next_port_base", "start_stack"]


@pytest.fixture(scope="module", autouse=True)
def _subprocess_coverage(request: pytest.FixtureRequest) -> Iterator[None]:
    """Coverage hands itself down to subprocesses through COVERAGE_PROCESS_CONFIG, and its tracing costs about a
    third of their CPU: the modules that mostly repeat, in long subprocesses, code that other tests measure (soaks,
    signals, whole gate runs) opt out, which keeps the measured number a lower bound and the job inside its time."""
    config = os.environ.get("COVERAGE_PROCESS_CONFIG")
    if config is None or request.node.get_closest_marker("unmeasured_subprocesses") is None:
        yield
        return
    del os.environ["COVERAGE_PROCESS_CONFIG"]
    try:
        yield
    finally:
        os.environ["COVERAGE_PROCESS_CONFIG"] = config


@pytest.fixture(scope="session", autouse=True)
def _warm_launcher() -> Iterator[None]:
    """One warm service launcher per test process, which every stack started here or in a subprocess of this one
    uses (reference371os.testing.warm_launcher; reference/tests/ shares the same one)."""
    with testing.warm_launcher():
        yield


def command_env() -> dict[str, str]:
    """The environment of a `launchgate` command a test starts: read when it starts, after _subprocess_coverage."""
    return {**os.environ, "CI": "1", "PYTHONUNBUFFERED": "1", "LAUNCHGATE_LOOPBACK_ONLY": "1"}


@dataclass
class RunningStack:
    stack: Stack
    _clients: list[ApiClient] = field(default_factory=list)

    def url(self, name: str) -> str:
        return self.stack.url(name)

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway")

    @property
    def secrets(self) -> Secrets:
        return self.stack.secrets

    @property
    def sink(self) -> MailSink:
        return MailSink(self.url("sink"))

    def token(self, role: str = "member", user_id: str | None = None) -> str:
        user = user_id or f"test-{role}"
        return issue_token(self.secrets.jwt_secret, user, role, f"{user}@example.test")

    def client(self, role: str | None = None, user_id: str | None = None, base: str | None = None) -> ApiClient:
        """An API client through the gateway (or `base`), authenticated as `role` unless None."""
        token = self.token(role, user_id) if role else None
        client = ApiClient(base or self.gateway, token=token)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


def start_stack(tmp: Path, **options: object) -> RunningStack:
    """A reference stack on the next free ports (reference371os.testing.start_stack), with the harness's clients."""
    return RunningStack(testing.start_stack(tmp, **options))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The healthy reference stack on SQLite, shared by the session (with reference/tests/: testing.shared_stack)."""
    with testing.shared_stack(lambda: tmp_path_factory.mktemp("stack")) as shared:
        running = RunningStack(shared)
        try:
            yield running
        finally:
            running.close()


@pytest.fixture
def make_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A factory for extra stacks (faults, PostgreSQL), each stopped at the end of the test (testing.stack_factory)."""
    started: list[RunningStack] = []
    with testing.stack_factory(lambda: tmp_path_factory.mktemp("stack")) as start:

        def factory(state_dir: Path | None = None, **options: object) -> RunningStack:
            running = RunningStack(start(state_dir, **options))
            started.append(running)
            return running

        try:
            yield factory
        finally:
            for running in started:
                running.close()


# The long poles go first, so that under pytest-xdist (scripts/test.sh: --dist loadfile) they start at once and the
# short modules fill the other workers around them.
LONG_MODULES = ("test_fault_matrix.py", "test_soak.py", "test_signals.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)  # stable: every module keeps its own order
