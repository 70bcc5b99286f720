"""Fixtures for testing launchgate itself: real reference stacks over real HTTP, each on its own ports."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from launchgate.drivers.http import ApiClient
from launchgate.drivers.mail import MailSink
from reference371os.config import Secrets
from reference371os.kit.auth import issue_token
from reference371os.launch_socket import LAUNCH_SERVER_ENV
from reference371os.layout import PORT_SPAN
from reference371os.manager import Stack, StackOptions, sut_environ

# Each xdist worker gets its own band of ports, each stack in a worker the next PORT_SPAN-port slot in it. Bands stay
# below 32768, where the kernel's ephemeral ports begin: a client socket must never hold a service port.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
# The gate suites these tests start in subprocesses are no xdist workers: inheriting ours would move their ports.
for _var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_var, None)
_PORT_SLOTS = itertools.count(0)
_BASE = int(os.environ.get("LAUNCHGATE_TEST_PORT_BASE", "20000"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "containers: provisions the stack's dependencies as Docker containers (scripts/test.sh starts a Docker "
        "engine for them; skipped, with the reason, where none can start)",
    )


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
    """One warm service launcher per test process (reference371os/launcher.py --serve), which every stack started
    here or in a subprocess of this one uses: its imports, about 1.5 s of CPU, are then paid once rather than for
    each of the fifty-odd stacks. Until it listens, and if it ever stops, stacks start their own launcher."""
    with tempfile.TemporaryDirectory(prefix="lg-launch-") as directory:
        socket_path = Path(directory) / "launcher.sock"
        server = subprocess.Popen(
            [sys.executable, "-m", "reference371os.launcher", "--serve", str(socket_path)],
            env=sut_environ(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )
        os.environ[LAUNCH_SERVER_ENV] = str(socket_path)
        try:
            yield
        finally:
            del os.environ[LAUNCH_SERVER_ENV]
            server.terminate()
            server.wait(10)


def command_env() -> dict[str, str]:
    """The environment of a `launchgate` command a test starts: read when it starts, after _subprocess_coverage."""
    return {**os.environ, "CI": "1", "PYTHONUNBUFFERED": "1", "LAUNCHGATE_LOOPBACK_ONLY": "1"}


def next_port_base() -> int:
    return _BASE + _WORKER * 2000 + next(_PORT_SLOTS) * PORT_SPAN


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
    """A reference stack on the next free ports. Without Prometheus unless asked (`prometheus=True`): only the
    Prometheus tests read it, and its scrapes of every service are CPU the host lacks while tests/ runs."""
    options.setdefault("prometheus", False)
    stack = Stack(tmp, StackOptions(port_base=next_port_base(), **options))  # type: ignore[arg-type]
    stack.up()
    return RunningStack(stack)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The healthy reference stack on SQLite, shared by the session."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield running
    finally:
        running.close()
        running.stack.down()


@pytest.fixture
def make_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A factory for extra stacks (faults, PostgreSQL), each stopped at the end of the test. A PostgreSQL stack gets
    a traversable state directory (its server runs as `postgres`, which cannot enter pytest's 0700 temp dirs),
    removed once that stack is down."""
    started: list[RunningStack] = []
    own_dirs: list[Path] = []

    def factory(state_dir: Path | None = None, **options: object) -> RunningStack:
        if state_dir is None and options.get("database") == "postgres":
            state_dir = Path(tempfile.mkdtemp(prefix="lg-pg-"))
            state_dir.chmod(0o755)
            own_dirs.append(state_dir)
        running = start_stack(state_dir or tmp_path_factory.mktemp("stack"), **options)
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.close()
            running.stack.down()
        for directory in own_dirs:
            shutil.rmtree(directory, ignore_errors=True)


# The long poles go first, so that under pytest-xdist (scripts/test.sh: --dist loadfile) they start at once and the
# short modules fill the other workers around them.
LONG_MODULES = ("test_fault_matrix.py", "test_soak.py", "test_signals.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)  # stable: every module keeps its own order
