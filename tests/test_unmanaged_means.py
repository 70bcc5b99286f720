"""What the managed path does itself, an unmanaged target's profile does through [hooks]: a hard restart of one
named service (`restart`), a dependency taken down and back (`dependency_down`, `dependency_up`). The steps run
here as the gate suite runs them, against the fake 371OS conduit (its /health is operational). And a profile
whose credential the target refuses, or whose hook cannot run, stops `launchgate run` before any work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from launchgate.bdd.session import TargetSession
from launchgate.drivers.hooks import HookError
from launchgate.evidence import EvidenceWriter
from launchgate.targets import load_target
from steps.operations import hard_restart, mail_sink_down
from tests import fake_371os
from tests.test_fail_fast import free_port_base, launchgate, refused_before_work


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


# -- the profile against its deployment, before the run ----------------------------------------------------------
class _Refusing(BaseHTTPRequestHandler):
    """A deployment that answers /health and refuses every credential (401): as one with an expired token would."""

    def do_GET(self) -> None:
        status = 200 if self.path == "/health" else 401
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def refusing() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run_refused(tmp_path: Path, profile: Path) -> str:
    reports, port_base = tmp_path / "reports", free_port_base()
    done = launchgate("run", "--target", str(profile), "--reports-dir", str(reports), "--port-base", str(port_base))
    return refused_before_work(done, reports, port_base)


def test_a_refused_credential_stops_the_run_before_it_starts(tmp_path: Path, refusing: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_T_EXPIRED", "expired-token-value")
    profile = tmp_path / "refusing.toml"
    profile.write_text(f'name = "refusing"\nenvironment = "mock"\nmanaged = false\n[services.gateway]\n'
                       f'url = "{refusing}"\n[api]\nemail = "{refusing}"\n[auth]\nmode = "env"\n'
                       f'[auth.roles]\nadmin = {{ token_env = "LG_T_EXPIRED" }}\n')
    line = _run_refused(tmp_path, profile)
    assert line == (f"launchgate: {profile}: [auth.roles] admin: the target refused the credential in $LG_T_EXPIRED "
                    f"(401 from GET {refusing}/api/email/campaigns): renew it")
    assert "expired-token-value" not in line


def test_a_hook_that_cannot_run_stops_the_run_before_it_starts(tmp_path: Path, conduit: str) -> None:
    script = tmp_path / "restart.sh"
    script.write_text("#!/bin/sh\nexit 0\n")  # not executable
    profile = tmp_path / "hooks.toml"
    profile.write_text(f'name = "hooks"\nenvironment = "mock"\nmanaged = false\n[services.conduit]\nurl = "{conduit}"\n'
                       f'[api]\nemail = "{conduit}"\n[hooks]\nrestart = "{script} {{service}}"\n')
    assert _run_refused(tmp_path, profile) == (f"launchgate: {profile}: [hooks] restart: {script} is not executable: "
                                               f"chmod +x {script}")


def test_doctor_lists_every_problem_of_a_profile_with_its_fix(tmp_path: Path, refusing: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LG_T_UNSET", raising=False)
    profile = tmp_path / "doctor.toml"
    profile.write_text(f'name = "doctor"\nenvironment = "mock"\nmanaged = false\n[services.gateway]\n'
                       f'url = "{refusing}"\n[api]\nemail = "{refusing}"\n[secrets]\nknown_env = ["LG_T_UNSET"]\n'
                       f'[hooks]\nrestart = "no-such-program-anywhere {{service}}"\n')
    done = launchgate("doctor", "--target", str(profile))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  [secrets] known_env: $LG_T_UNSET is not set: export it before the run" in done.stdout
    assert "  [hooks] restart: no program 'no-such-program-anywhere' on PATH: install it or give its path" \
        in done.stdout
