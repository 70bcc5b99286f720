"""The service launcher: warm (one interpreter serving many stacks) and cold (one per stack), and what the
reference's processes inherit from the harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reference_testkit import start_stack

from reference371os import procs
from reference371os.launch_socket import LAUNCH_SERVER_ENV, NoWarmLauncher, launch_via
from reference371os.manager import sut_environ


def test_the_reference_inherits_no_coverage_instrumentation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERAGE_PROCESS_CONFIG", "{}")
    monkeypatch.setenv("LG_KEEP_ME", "1")
    env = sut_environ()
    assert "COVERAGE_PROCESS_CONFIG" not in env and env["LG_KEEP_ME"] == "1"


def test_stacks_start_through_the_warm_launcher_and_without_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert os.environ.get(LAUNCH_SERVER_ENV), "reference/tests/conftest.py starts a warm launcher for the session"
    warm = start_stack(tmp_path / "warm")
    monkeypatch.setenv(LAUNCH_SERVER_ENV, str(tmp_path / "nobody-listens.sock"))
    cold = start_stack(tmp_path / "cold")  # no warm launcher answers: the stack starts one of its own
    try:
        for running in (warm, cold):
            assert sorted(running.stack.running()) == sorted(running.stack.process_names())
            pids = [procs.read_pid(p) for p in running.stack.pids.glob("*.pid")]
            assert all(pid and procs.is_alive(pid) for pid in pids)
    finally:
        for running in (warm, cold):
            running.stack.down()
    assert not warm.stack.running() and not cold.stack.running()


def test_a_warm_launch_that_fails_says_why(tmp_path: Path) -> None:
    specs = [{"name": "sink", "env": {}, "log": str(tmp_path / "missing-dir" / "sink.log"),
              "pidfile": str(tmp_path / "missing-dir" / "sink.pid")}]
    failure = launch_via(os.environ[LAUNCH_SERVER_ENV], specs, tmp_path / "launcher.log", 30)
    assert failure and "missing-dir" in failure
    with pytest.raises(NoWarmLauncher):
        launch_via(str(tmp_path / "none.sock"), specs, tmp_path / "launcher.log", 5)
