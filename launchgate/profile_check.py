"""A profile checked against its deployment before a run: every variable set, every URL answering, each role's
credential accepted, each hook's program present and executable, the chain id matching. One line per problem,
each with its fix. `launchgate doctor --target T` prints them all; `launchgate run` stops at them (exit 2)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import httpx

from launchgate import paths
from launchgate.targets import Target

PROJECT_ROOT = paths.ROOT  # hooks run from here (launchgate/bdd/means.py)
TIMEOUT_S = 5.0
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def profile_problems(target: Target, *, network: bool = True) -> list[str]:
    """What stops this profile from working against its deployment; empty when nothing does. Without
    `network`, only what the machine itself can tell (variables, hooks)."""
    problems = local_problems(target)
    if network and not target.managed:
        problems += _unanswered(target)
        if not problems:  # credentials and the chain only make sense once the services answer
            problems += answered_problems(target)
    return problems


def local_problems(target: Target) -> list[str]:
    """Unset variables and hooks that cannot run: no traffic needed."""
    problems = [f"{unset}: export it before the run" for unset in target.unset_variables()]
    return problems + [p for name, command in target.hooks.items() if (p := _hook_problem(name, command))]


def answered_problems(target: Target) -> list[str]:
    """Of a deployment whose services answer: refused credentials, a chain id mismatch."""
    return _refused_credentials(target) + _chain_problem(target)


def _on_hook_path(program: str) -> bool:
    """Found on the PATH a hook runs with: the harness's interpreter's directory first (drivers/hooks.py), where
    `launchgate`, `python` and the programs installed beside them are."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(program, path=path) is not None


def _hook_problem(name: str, command: str) -> str | None:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"[hooks] {name}: `{command}` is not a valid shell command ({exc}): fix its quoting"
    while words and _ASSIGNMENT.match(words[0]):  # `VAR=value cmd`: the program is cmd
        words = words[1:]
    program = words[0] if words else ""
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else PROJECT_ROOT / program
        if not path.is_file():
            return f"[hooks] {name}: {program} does not exist (relative paths start at {PROJECT_ROOT})"
        if not os.access(path, os.X_OK):
            return f"[hooks] {name}: {program} is not executable: chmod +x {path}"
    elif program and not _on_hook_path(program) and program not in ("python", "cd", "exec", "env"):
        return f"[hooks] {name}: no program {program!r} on PATH: install it or give its path"
    return None


def _unanswered(target: Target) -> list[str]:
    problems = []
    for service in target.services.values():
        url = f"{service.url}{service.health_path}"
        try:
            httpx.get(url, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            problems.append(f"[services.{service.name}] {url} does not answer ({type(exc).__name__}): start it, "
                            "or correct its url")
    return problems


def _refused_credentials(target: Target) -> list[str]:
    """Each role's credential against a read that needs one: 401 or 403 means the target refused it."""
    probe = target.load_url("list_campaigns") or (f"{target.api['email']}/api/email/campaigns"
                                                   if "email" in target.api else None)
    if probe is None or target.auth.get("mode") != "env":
        return []
    problems = []
    for credential in target.credentials.values():
        headers = credential.headers()
        if not headers:
            continue  # unset: reported already
        try:
            status = httpx.get(probe.format(), headers=headers, timeout=TIMEOUT_S).status_code
        except httpx.HTTPError:
            continue  # unreachable: reported by _unanswered
        if status in (401, 403):
            problems.append(f"[auth.roles] {credential.role}: the target refused the credential in ${credential.env} "
                            f"({status} from GET {probe.format()}): renew it")
    return problems


def _chain_problem(target: Target) -> list[str]:
    chain = target.chain
    if chain is None:
        return []
    try:
        reply = httpx.post(chain.rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                           timeout=TIMEOUT_S).json()
        found = int(reply["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return [f"[chain] rpc {chain.rpc} gives no chain id ({type(exc).__name__}): check the node and the url"]
    if found != chain.chain_id:
        return [f"[chain] chain_id is {chain.chain_id}, but the node at {chain.rpc} is chain {found}: correct one"]
    return []
