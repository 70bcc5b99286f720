"""`launchgate doctor`: what the machine has, what each target needs, the exact install command, exit 0/1/2."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launchgate import doctor
from launchgate.doctor import EngineProbe
from launchgate.targets import load_target


def launchgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_everything_needed_is_here_exits_0() -> None:
    result = launchgate("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("This machine:", "Target reference: needs python, chromium, anvil, prometheus",
                 "Target 371os: needs python, chromium", "Target reference-unmanaged: needs python, chromium"):
        assert line in result.stdout
    assert result.stdout.count("everything it needs is here") == 4  # this machine, and the three runnable targets


def test_a_missing_needed_tool_is_named_with_its_install_command_and_exits_1(tmp_path: Path) -> None:
    result = launchgate("doctor", "--target", "reference", env={"LAUNCHGATE_PROMETHEUS": str(tmp_path / "none")})
    assert result.returncode == 1, result.stdout
    assert "MISSING  Prometheus" in result.stdout
    assert "missing prometheus" in result.stdout and "apt-get install -y prometheus" in result.stdout
    # The public 371OS target runs no Prometheus of ours: this machine satisfies it. Its services are not running
    # here, which the profile check says (and that alone makes the exit 1).
    done = launchgate("doctor", "--target", "371os", "--json", env={"LAUNCHGATE_PROMETHEUS": str(tmp_path / "none")})
    (target,) = json.loads(done.stdout)["targets"]
    assert target["missing"] == [] and done.returncode == (1 if target["profile_problems"] else 0)


def test_missing_anvil_says_npm_ci(tmp_path: Path) -> None:
    result = launchgate("doctor", "--target", "reference", "--json", env={"LAUNCHGATE_ANVIL": str(tmp_path / "no")})
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["targets"][0]["missing"] == ["anvil"]
    assert body["findings"]["anvil"]["found"] is False and body["findings"]["anvil"]["install"].startswith("npm ci")


def test_unknown_target_is_a_usage_error() -> None:
    result = launchgate("doctor", "--target", "no-such-target")
    assert result.returncode == 2 and "unknown target 'no-such-target'" in result.stderr


def test_optional_docker_missing_still_passes_and_says_how(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(doctor, "find_engine", lambda: EngineProbe("", False, "unix:///var/run/docker.sock: refused"))
    code = doctor.cmd_doctor(argparse.Namespace(target=["reference"], json=False))
    out = capsys.readouterr().out
    assert code == 0
    assert "MISSING  Docker engine" in out and "optional docker is missing" in out
    assert "-m reference371os.provision.engine start" in out


def test_missing_python_packages_say_uv_sync(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["httpx>=0.27", "no-such-dist-xyz>=1"]\n'
                         '[dependency-groups]\ndev = ["pytest>=8", {include-group = "x"}]\n')
    assert doctor.required_distributions(pyproject) == ["httpx", "no-such-dist-xyz", "pytest"]
    finding = doctor.check_python(pyproject)
    assert not finding.found and "missing: no-such-dist-xyz" in finding.detail
    assert finding.install.startswith("uv sync --frozen")


def test_postgres_and_chromium_findings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHGATE_PG_BINDIR", str(tmp_path))
    finding = doctor.check_postgres()
    assert not finding.found and finding.install == "apt-get install -y postgresql"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert doctor.check_chromium().install == "apt-get install -y chromium"
    assert not doctor.check_chromium().found and not doctor.check_debootstrap().found


def test_what_each_target_needs() -> None:
    reference = {n.key: n.needed for n in doctor.needs_of(load_target("reference")).needs}
    assert reference == {"python": True, "chromium": True, "anvil": True, "prometheus": True, "postgres": False,
                         "docker": False, "debootstrap": False, "promtool": False}
    staging = {n.key: n.needed for n in doctor.needs_of(load_target("staging.example")).needs}
    assert staging == {"python": True, "chromium": True, "promtool": False}
