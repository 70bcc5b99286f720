"""`launchgate stack` end to end: processes by PID, clean teardown, and clear errors with exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from launchgate.faultmatrix import TRIPS
from reference371os import procs
from reference371os.layout import SERVICE_NAMES
from tests.conftest import next_port_base


def launchgate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launchgate", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_up_status_logs_down_leave_nothing_behind(tmp_path: Path) -> None:
    base = next_port_base()
    state = str(tmp_path / "stack")
    up = launchgate("stack", "up", "--state-dir", state, "--port-base", str(base))
    assert up.returncode == 0, up.stderr
    assert "gateway" in up.stdout
    secrets_file = tmp_path / "stack" / "secrets.json"
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    assert secrets_file.read_text() not in up.stdout  # no secret is printed

    pids = {name: procs.read_pid(tmp_path / "stack" / "pids" / f"{name}.pid") for name in ["anvil", *SERVICE_NAMES]}
    assert all(pid and procs.is_alive(pid) for pid in pids.values()), pids

    status = launchgate("stack", "status", "--state-dir", state)
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("operational") == len(SERVICE_NAMES)

    again = launchgate("stack", "up", "--state-dir", state, "--port-base", str(base))
    assert again.returncode == 0, "a second `up` on a running stack is a no-op"

    logs = launchgate("stack", "logs", "conduit", "--state-dir", state)
    assert logs.returncode == 0 and "==> conduit" in logs.stdout

    down = launchgate("stack", "down", "--state-dir", state)
    assert down.returncode == 0, down.stderr
    assert all(not procs.is_alive(pid) for pid in pids.values() if pid)
    ports = [base + offset for offset in range(8)]
    assert [p for p in ports if procs.port_in_use(p)] == [], "a port is still held after down"
    assert not list((tmp_path / "stack" / "pids").glob("*.pid"))

    stopped = launchgate("stack", "status", "--state-dir", state)
    assert stopped.returncode == 3 and "stopped" in stopped.stdout


def test_busy_port_is_named_and_exits_2(tmp_path: Path) -> None:
    base = next_port_base()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # binds even over an earlier TIME_WAIT
        holder.bind(("127.0.0.1", base + 1))
        holder.listen()
        result = launchgate("stack", "up", "--state-dir", str(tmp_path / "s"), "--port-base", str(base))
    assert result.returncode == 2
    assert f"port {base + 1} (conduit)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_fault_exits_2_before_starting(tmp_path: Path) -> None:
    result = launchgate("stack", "up", "--state-dir", str(tmp_path / "s"), "--faults", "no-such-fault")
    assert result.returncode == 2
    assert "unknown fault switch no-such-fault" in result.stderr
    assert not (tmp_path / "s" / "pids").exists()


def test_missing_tool_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHGATE_ANVIL", str(tmp_path / "no-anvil"))
    result = launchgate("stack", "up", "--state-dir", str(tmp_path / "s"), "--port-base", str(next_port_base()))
    assert result.returncode == 2
    assert "anvil not found" in result.stderr and "make bootstrap" in result.stderr


def test_faults_lists_every_switch_with_its_criterion() -> None:
    result = launchgate("faults")
    assert result.returncode == 0
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    switches = json.loads(subprocess.run([sys.executable, "-m", "reference371os", "faults", "--json"],
                                         capture_output=True, text=True, check=True).stdout)
    assert sorted(switches) == sorted(TRIPS), "the harness's fault matrix and the reference's switches differ"
    for name, effect in switches.items():
        assert f"{name:<20} {TRIPS[name].criterion:<26} {effect}" in result.stdout
        assert f"| `{name}` |" in readme and f"`{TRIPS[name].criterion}`" in readme, f"README misses {name}"
