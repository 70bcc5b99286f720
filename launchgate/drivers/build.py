"""Which build of 371OS a target runs, read where its profile's [build] says: a field of a service's /health or
/config answer, a header of its /health answer, or a command's first line of output. Evidence is bound to it: a
measurement of one build is no evidence about another."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from launchgate.evidence import RunBuild, read_run_build, write_run_build
from launchgate.redact import Redactor, sensitive_env
from launchgate.targets import Target

TIMEOUT_S = 10.0
MAX_BUILD_CHARS = 200  # an identity, not a document


def read_build(target: Target) -> RunBuild:
    """The target's build now; RunBuild(None, ...) with the reason when its profile names no source or the source
    does not say."""
    source = target.build
    if source is None:
        return RunBuild(None)
    described = source.describe()
    try:
        found = _run_command(source.command, target) if source.kind == "command" else _ask_service(target)
    except BuildUnreadable as exc:
        return RunBuild(None, described, f"{described}: {exc}")
    found = " ".join(found.split())
    if not found:
        return RunBuild(None, described, f"{described} is empty")
    return RunBuild(found[:MAX_BUILD_CHARS], described)


class BuildUnreadable(Exception):
    pass


def _ask_service(target: Target) -> str:
    assert target.build is not None
    source = target.build
    service = target.services[source.service]
    url = service.url + (service.health_path if source.kind in ("health", "header") else "/config")
    try:
        response = httpx.get(url, timeout=TIMEOUT_S)
    except httpx.TransportError as exc:
        raise BuildUnreadable(f"{url} did not answer ({type(exc).__name__})") from None
    if source.kind == "header":
        value = response.headers.get(source.name)
        if value is None:
            raise BuildUnreadable(f"{url} answered {response.status_code} without that header")
        return value
    try:
        body: Any = response.json()
    except ValueError:
        raise BuildUnreadable(f"{url} answered {response.status_code}, not JSON") from None
    for part in source.name.split("."):
        if not isinstance(body, dict) or part not in body:
            raise BuildUnreadable(f"{url} answered {response.status_code} without that field")
        body = body[part]
    if not isinstance(body, str | int | float) or isinstance(body, bool):
        raise BuildUnreadable(f"the field holds {type(body).__name__}, not a build identity")
    return str(body)


def _run_command(command: str, target: Target) -> str:
    # Run from the profile's directory, as its hooks are; whatever it prints about failing is shown masked.
    redactor = Redactor([v for k, v in os.environ.items() if sensitive_env(k)])
    try:
        done = subprocess.run(command, shell=True, cwd=target.path.parent, capture_output=True, text=True,
                              timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BuildUnreadable(f"it did not finish within {TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["it printed nothing"]
        raise BuildUnreadable(f"it exited with status {done.returncode}: {redactor.text(said[0])[:300]}")
    lines = done.stdout.strip().splitlines()
    return lines[0] if lines else ""


def bind_run(run_dir: Path, target: Target) -> RunBuild:
    """Reads the target's build and records it as the run's (build.json), which every record the run writes then
    carries. A run that resumes (a soak after a crash) and finds another build than it started with measured two:
    its build becomes unknown, with that reason, so that its evidence counts for neither."""
    found = read_build(target)
    before = read_run_build(run_dir)
    if before is not None and before.id != found.id and before.id is not None:
        found = RunBuild(None, found.source, f"the build changed during the run: {before.id} at its start, "
                                             f"{found.id or 'unknown'} later")
    elif before is not None and before.id is None and before.error:
        found = before  # once unknown, the run stays unknown
    write_run_build(run_dir, found)
    return found
