"""What the managed path does itself, an unmanaged target's profile does through [hooks]: a hard restart of one
named service (`restart`), a dependency taken down and back (`dependency_down`, `dependency_up`). The steps run
here as the gate suite runs them, against the fake 371OS conduit (its /health is operational)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from launchgate.bdd.session import TargetSession
from launchgate.drivers.hooks import HookError
from launchgate.gates.evidence import EvidenceWriter
from launchgate.targets import load_target
from steps.operations import hard_restart, mail_sink_down
from tests import fake_371os


@pytest.fixture(scope="module")
def conduit() -> Iterator[str]:
    with fake_371os.running() as fake:
        yield fake.conduit_url


def _session(tmp_path: Path, conduit: str, hooks: str) -> TargetSession:
    profile = tmp_path / "unmanaged.toml"
    profile.write_text(f'name = "unmanaged"\nenvironment = "mock"\nmanaged = false\n[services.conduit]\n'
                       f'url = "{conduit}"\n[api]\nemail = "{conduit}"\n[hooks]\n{hooks}\n')
    return TargetSession(load_target(str(profile)), tmp_path, EvidenceWriter(tmp_path, "t"))


def test_a_restart_hook_restarts_the_named_service(tmp_path: Path, conduit: str) -> None:
    log = tmp_path / "hook.log"
    hard_restart(_session(tmp_path, conduit, f'restart = "echo restart {{service}} >> {log}"'), "governance service")
    assert log.read_text() == "restart governance\n"


def test_a_failing_restart_hook_names_itself_its_status_and_its_last_lines(tmp_path: Path, conduit: str) -> None:
    session = _session(tmp_path, conduit, 'restart = "echo no such unit {service} >&2; exit 5"')
    with pytest.raises(HookError, match=r"hook restart \(`.*`\) exited with status 5: no such unit conduit"):
        hard_restart(session, "conduit")


def test_the_dependency_hooks_take_mail_down_and_bring_it_back(tmp_path: Path, conduit: str) -> None:
    log = tmp_path / "hook.log"
    session = _session(tmp_path, conduit, f'dependency_down = "echo down {{dependency}} >> {log}"\n'
                                          f'dependency_up = "echo up {{dependency}} >> {log}"')
    finalizers: list[object] = []
    request = type("Request", (), {"addfinalizer": lambda _self, f: finalizers.append(f)})()
    mail_sink_down(session, request)  # type: ignore[arg-type]
    assert log.read_text() == "down mail\n"
    (restore,) = finalizers
    restore()  # type: ignore[operator]
    assert log.read_text() == "down mail\nup mail\n"


def test_without_the_hooks_the_scenario_is_inconclusive_naming_them(tmp_path: Path, conduit: str) -> None:
    session = _session(tmp_path, conduit, "")
    with pytest.raises(pytest.skip.Exception, match=r"names no restart command under \[hooks\]"):
        hard_restart(session, "conduit")
