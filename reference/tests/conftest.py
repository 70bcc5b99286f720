"""Fixtures for the reference's own tests: real reference stacks over real HTTP, each on its own ports.

The port band per pytest-xdist worker (LAUNCHGATE_TEST_PORT_BASE), the slot counter, the stacks and the warm
service launcher are reference371os.testing's, one of each per process, shared with the harness's tests/ when both
trees run in one session. The clients are reference_testkit's: nothing here imports the harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reference_testkit import RunningStack

from reference371os import testing


@pytest.fixture(scope="session", autouse=True)
def _warm_launcher() -> Iterator[None]:
    """One warm service launcher per test process, which every stack started here uses (testing.warm_launcher)."""
    with testing.warm_launcher():
        yield


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The healthy reference stack on SQLite, shared by the session (testing.shared_stack)."""
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
