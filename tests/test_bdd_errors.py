"""Bad input of the gate suite: one clear line and exit 2, from `launchgate run` and from `pytest features/`.

An unknown target, a profile missing a field, an unreachable service, a step with no definition. Nothing here
starts the reference stack: the targets are profiles written for the test, or the fake 371OS.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchgate.runner import PROJECT_ROOT, root_plugins
from tests import fake_371os


def launchgate_run(*args: str, reports: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launchgate", "run", "--reports-dir", str(reports), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )


def pytest_features(*args: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-q", f"--run-dir={run_dir}", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )


def the_line(stream: str, prefix: str = "launchgate: ") -> str:
    """The one line of `stream` that says what is wrong."""
    lines = [line for line in stream.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"expected one {prefix!r} line, got {lines}\n{stream[-2000:]}"
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def fake() -> Iterator[fake_371os.Fake371OS]:
    with fake_371os.running() as running:
        yield running


@pytest.fixture
def profile_of(tmp_path: Path) -> object:
    def write(text: str, name: str = "profile.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# -- an unknown target ----------------------------------------------------------------------------------------
def test_run_with_an_unknown_target(tmp_path: Path) -> None:
    done = launchgate_run("--target", "nowhere", reports=tmp_path / "reports")
    assert done.returncode == 2, done.stdout + done.stderr
    line = the_line(done.stderr)
    assert line.startswith("launchgate: unknown target 'nowhere': no ") and "known targets: " in line
    assert "371os" in line and "reference" in line
    assert not (tmp_path / "reports").exists(), "a run directory was made for a run that cannot start"


def test_pytest_with_an_unknown_target(tmp_path: Path) -> None:
    done = pytest_features("--target=nowhere", run_dir=tmp_path / "run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_line(done.stderr, "Exit: launchgate: ").startswith("Exit: launchgate: unknown target 'nowhere'")
    assert "Traceback" not in done.stdout + done.stderr


# -- a profile missing a field -----------------------------------------------------------------------------------
def test_run_with_a_profile_missing_a_field(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object) -> None:
    text = "\n".join(line for line in fake.profile().splitlines() if not line.startswith("environment"))
    path = profile_of(text)  # type: ignore[operator]
    done = launchgate_run("--target", str(path), reports=tmp_path / "reports")
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_line(done.stderr) == f"launchgate: {path}: missing field environment (a string)"


def test_pytest_with_a_profile_missing_a_field(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object) -> None:
    text = re.sub(r'(\[services\.conduit\]\n)url = "[^"]*"\n', lambda m: m[1] + 'health_path = "/health"\n',
                  fake.profile())
    path = profile_of(text)  # type: ignore[operator]
    done = pytest_features(f"--target={path}", run_dir=tmp_path / "run")
    assert done.returncode == 2, done.stdout + done.stderr
    line = text.splitlines().index("[services.conduit]") + 1  # a missing key is placed at its table's header
    expected = f"Exit: launchgate: {path}:{line}: missing field services.conduit.url (a string)"
    assert the_line(done.stderr, "Exit: ") == expected


# -- an unreachable service ---------------------------------------------------------------------------------------
def test_run_against_an_unreachable_service(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    path = profile_of(fake.profile().replace(fake.governance_url, dead))  # type: ignore[operator]
    done = launchgate_run("--target", str(path), reports=tmp_path / "reports")
    assert done.returncode == 2, done.stdout + done.stderr
    line = the_line(done.stderr)
    assert line.startswith(f"launchgate: cannot reach {dead}/health: Connect"), line
    assert "371os-fake target running" in line
    assert not (tmp_path / "reports").exists()


def test_pytest_against_an_unreachable_service(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    path = profile_of(fake.profile().replace(fake.conduit_url, dead))  # type: ignore[operator]
    done = pytest_features(f"--target={path}", run_dir=tmp_path / "run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert the_line(done.stderr, "Exit: ").startswith(f"Exit: launchgate: cannot reach {dead}/health: Connect")


# -- a step with no definition ------------------------------------------------------------------------------------
UNDEFINED = """\
@alpha
Feature: A feature with a step nobody wrote

  Scenario: The moon
    Given the 371OS target is reachable
    When the moon turns blue
    Then every service answers its health check as operational
"""


@pytest.fixture
def features_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "moon.feature").write_text(UNDEFINED)
    (folder / "test_moon.py").write_text('from pytest_bdd import scenarios\n\nscenarios("moon.feature")\n')
    return folder


def test_run_with_an_undefined_step(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object,
                                    features_dir: Path) -> None:
    path = profile_of(fake.profile())  # type: ignore[operator]
    done = launchgate_run("--target", str(path), "--features-dir", str(features_dir), reports=tmp_path / "reports")
    assert done.returncode == 2, done.stdout + done.stderr
    where = features_dir / "moon.feature"
    assert the_line(done.stderr) == f"launchgate: no step definition for 'When the moon turns blue' at {where}:6"


def test_pytest_under_xdist_with_an_undefined_step(tmp_path: Path, fake: fake_371os.Fake371OS, profile_of: object,
                                                   features_dir: Path) -> None:
    """The workers find the undefined step; the controller ends the run with exit 2 and the line."""
    path = profile_of(fake.profile())  # type: ignore[operator]
    plugins = [arg for name in root_plugins() for arg in ("-p", name)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(features_dir), "-c", str(PROJECT_ROOT / "pyproject.toml"),
         f"--rootdir={PROJECT_ROOT}", *plugins, "-p", "no:cacheprovider", "-q", "-n", "2",
         f"--target={path}", f"--run-dir={tmp_path / 'run'}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    where = features_dir / "moon.feature"
    assert the_line(done.stderr) == f"launchgate: no step definition for 'When the moon turns blue' at {where}:6"
    assert list((tmp_path / "run" / "evidence").glob("scenarios-gw*.jsonl")), "the worker wrote no evidence"


def test_features_dir_that_does_not_exist(tmp_path: Path) -> None:
    done = launchgate_run("--target", "371os", "--features-dir", str(tmp_path / "missing"), reports=tmp_path / "r")
    assert done.returncode == 2
    assert the_line(done.stderr) == f"launchgate: --features-dir {tmp_path / 'missing'}: no such directory"
