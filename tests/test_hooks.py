"""The deploy-hook runner: placeholders, failures that name the command and its exit status, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchgate.drivers.errors import DriverError
from launchgate.drivers.hooks import HookError, Hooks
from launchgate.targets import HOOKS, TargetError, load_target, parse_target
from reference371os.procs import is_alive, wait_until

SECRET = "s3cr3t-deploy-token-value"


def hooks(tmp_path: Path, **commands: str) -> Hooks:
    return Hooks(commands, values={"state_dir": str(tmp_path)}, cwd=tmp_path,
                 environ={"PATH": "/usr/bin:/bin", "DEPLOY_TOKEN": SECRET, "HOME": str(tmp_path)})


def test_placeholders_are_filled_and_shell_quoted(tmp_path: Path) -> None:
    runner = hooks(tmp_path, snapshot="printf '%s|' {name} {state_dir} > out.txt")
    result = runner.run("snapshot", name="a b; touch pwned")
    assert result.exit_status == 0
    assert (tmp_path / "out.txt").read_text() == f"a b; touch pwned|{tmp_path}|"
    assert not (tmp_path / "pwned").exists(), "a value must never be run as shell code"


def test_a_failing_hook_names_its_command_status_and_output(tmp_path: Path) -> None:
    runner = hooks(tmp_path, restore="echo restoring {name}; echo 'no such snapshot' >&2; exit 3")
    with pytest.raises(HookError) as caught:
        runner.run("restore", name="snap1")
    message = str(caught.value)
    assert "hook restore" in message and "echo restoring snap1" in message
    assert "exited with status 3" in message and "no such snapshot" in message
    assert isinstance(caught.value, DriverError)


def test_check_false_returns_the_result(tmp_path: Path) -> None:
    result = hooks(tmp_path, integration="echo partial; exit 1").run("integration", check=False)
    assert (result.exit_status, result.stdout.strip()) == (1, "partial")


def test_secrets_from_the_environment_are_never_echoed(tmp_path: Path) -> None:
    runner = hooks(tmp_path, deploy='echo "using $DEPLOY_TOKEN for {slot}"; exit 1')
    with pytest.raises(HookError) as caught:
        runner.run("deploy", slot="green")
    assert SECRET not in str(caught.value)
    assert "[redacted]" in str(caught.value)
    assert "$DEPLOY_TOKEN" in str(caught.value), "the template shows the variable's name, never its value"
    ok = hooks(tmp_path, deploy='echo "$DEPLOY_TOKEN"').run("deploy")
    assert SECRET not in ok.stdout


def test_a_hook_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    runner = hooks(tmp_path, switch="sleep 30 & echo $! > child.pid; wait")
    with pytest.raises(HookError, match=r"hook switch .* did not finish within 0.5 s"):
        runner.run("switch", timeout=0.5)
    child = int((tmp_path / "child.pid").read_text())
    assert wait_until(lambda: not is_alive(child), 5), "the hook's child process outlived the timeout"


def test_missing_hooks_and_placeholders_are_named(tmp_path: Path) -> None:
    runner = hooks(tmp_path, canary="./canary.sh {slot} {percent}")
    assert runner.has("canary") and not runner.has("rollback")
    with pytest.raises(HookError, match=r"names no `rollback` hook under \[hooks\] \(it names: canary\)"):
        runner.run("rollback")
    with pytest.raises(HookError, match=r"names \{percent\}, which this target cannot fill"):
        runner.run("canary", slot="canary")


def test_a_hook_that_cannot_start_says_so(tmp_path: Path) -> None:
    runner = Hooks({"deploy": "true"}, cwd=tmp_path / "missing-dir", environ={"PATH": "/usr/bin:/bin"})
    with pytest.raises(HookError, match="could not start"):
        runner.run("deploy")


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"hooks": {"snapshots": "./snap.sh"}}, "field hooks.snapshots is not one launchgate reads"),
        ({"hooks": {"deploy": 1}}, "field hooks.deploy must be a string"),
        ({"database": {"url": "postgresql://x"}}, "field database.url is not one launchgate reads"),
        ({"database": {"mode": "postgres"}}, "database.mode can only be \"stack\""),
    ],
)
def test_profiles_name_only_hooks_and_database_keys_launchgate_reads(section: dict, says: str) -> None:
    base = {"name": "x", "environment": "mock", "services": {"a": {"url": "http://127.0.0.1:1"}}, "api": {}}
    with pytest.raises(TargetError, match=says):
        parse_target({**base, **section}, Path("profile.toml"))
    assert set(load_target("reference").hooks) == set(HOOKS)
