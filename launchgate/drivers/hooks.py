"""Deploy hooks: the shell commands a target profile names under [hooks] (snapshot, restore, deploy, switch,
rollback, canary, integration), run with a timeout and their output captured.

A hook's template names placeholders in braces: {name} (a snapshot), {slot} (blue, green, canary), {percent},
{junit} (where an integration command writes its JUnit file), {state_dir} (the reference stack's state
directory). Values are shell-quoted before they are put in. Secrets come from the environment, where the
command's shell reads them itself ($VAR): they are never put in the command line, and an error message masks
every secret value it would otherwise echo (what the command printed, included).
"""

from __future__ import annotations

import os
import shlex
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from launchgate.drivers.errors import DriverError
from launchgate.redact import Redactor, sensitive_env

DEFAULT_TIMEOUT_S = 120.0
OUTPUT_TAIL_LINES = 8


class HookError(DriverError):
    """A hook could not run, failed, or timed out; the message names the hook, its command and what happened."""


@dataclass(frozen=True)
class HookResult:
    hook: str
    command: str  # the template with placeholders filled, as shown in messages (secrets masked)
    exit_status: int
    stdout: str
    stderr: str
    seconds: float


class Hooks:
    def __init__(
        self,
        commands: Mapping[str, str],
        *,
        values: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        secrets: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.commands = dict(commands)
        self.values = dict(values or {})
        self.cwd = cwd
        self.environ = dict(os.environ if environ is None else environ)
        env_secrets = [v for k, v in self.environ.items() if sensitive_env(k)]
        self._redactor = Redactor([*secrets, *env_secrets])

    def has(self, hook: str) -> bool:
        return bool(self.commands.get(hook, "").strip())

    def command(self, hook: str, **values: object) -> str:
        """The command line of `hook` with its placeholders filled (shell-quoted)."""
        template = self.commands.get(hook, "").strip()
        if not template:
            known = ", ".join(sorted(self.commands)) or "none"
            raise HookError(f"the profile names no `{hook}` hook under [hooks] (it names: {known})")
        given = {**self.values, **{k: str(v) for k, v in values.items()}}
        wanted = [field for _, field, _, _ in string.Formatter().parse(template) if field]
        missing = sorted({f for f in wanted if f not in given})
        if missing:
            raise HookError(
                f"hook {hook} (`{template}`) names {', '.join('{' + m + '}' for m in missing)}, which this target "
                f"cannot fill (it knows: {', '.join(sorted(given)) or 'nothing'})"
            )
        try:
            return template.format_map({k: shlex.quote(v) for k, v in given.items()})
        except (ValueError, IndexError) as exc:
            raise HookError(f"hook {hook}: `{template}` is not a valid template ({exc})") from exc

    def run(self, hook: str, *, timeout: float = DEFAULT_TIMEOUT_S, check: bool = True, **values: object) -> HookResult:
        """Runs `hook` through the shell; with `check`, a non-zero exit raises HookError naming the command,
        its exit status and the tail of what it printed."""
        command = self.command(hook, **values)
        shown = self._redactor.text(command)
        env = dict(self.environ)
        # The harness's own interpreter first on PATH: `launchgate` and `python` in a hook are this checkout's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                command, shell=True, executable="/bin/bash", cwd=self.cwd, env=env, text=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: a timeout stops the command's children too
            )
        except OSError as exc:
            raise HookError(f"hook {hook} (`{shown}`) could not start: {exc}") from exc
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            stdout, stderr = proc.communicate()
            raise HookError(
                f"hook {hook} (`{shown}`) did not finish within {timeout:g} s and was stopped"
                + self._tail(stdout, stderr)
            ) from None
        except KeyboardInterrupt:  # we are stopping: so does the hook, with its children (its process group)
            _stop_group(proc)
            raise
        result = HookResult(hook, shown, proc.returncode, self._redactor.text(stdout), self._redactor.text(stderr),
                            round(time.monotonic() - started, 3))
        if check and proc.returncode != 0:
            raise HookError(
                f"hook {hook} (`{shown}`) exited with status {_status(proc.returncode)}" + self._tail(stdout, stderr)
            )
        return result

    def _tail(self, stdout: str, stderr: str) -> str:
        lines = [line for line in (stderr or stdout or "").strip().splitlines() if line.strip()]
        if not lines:
            return " (it printed nothing)"
        return ": " + " | ".join(self._redactor.text(line) for line in lines[-OUTPUT_TAIL_LINES:])


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"{code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _stop_group(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    """SIGTERM to the hook's group (a `reference371os ...` hook then stops what it started), SIGKILL after `grace`."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    except subprocess.TimeoutExpired:
        _kill_group(proc)
