"""The means a target's profile gives the harness beyond its APIs: deploy hooks, database access, result files.

Each is optional in a profile; a step that needs a missing one ends inconclusive, naming what to add.
"""

from __future__ import annotations

import os
from pathlib import Path

from launchgate import paths
from launchgate.bdd.outcomes import inconclusive
from launchgate.bdd.session import TargetSession
from launchgate.drivers.hooks import Hooks

PROJECT_ROOT = paths.ROOT
STACK_DATABASE = "stack"  # [database] mode = "stack": the reference stack's own databases, known to the harness


def hooks_for(target: TargetSession) -> Hooks:
    """The profile's [hooks]; {state_dir} is the reference stack's state directory when the harness runs it."""
    values = {"state_dir": str(target.stack.state_dir)} if target.stack is not None else {}
    return Hooks(target.target.hooks, values=values, cwd=PROJECT_ROOT, secrets=target.known_secrets())


def require_hooks(target: TargetSession, *names: str, why: str) -> Hooks:
    hooks = hooks_for(target)
    missing = [n for n in names if not hooks.has(n)]
    if missing:
        inconclusive(
            f"the profile {target.target.path.name} names no {' or '.join(missing)} command under [hooks]: {why}"
        )
    return hooks


def database_url(target: TargetSession, service: str = "platform") -> str:
    """Read access to the database holding `service`'s tables: [database] url_env names a variable holding a
    (read-only) URL; mode = "stack" is the reference stack's own database. Inconclusive without either."""
    database = target.target.database
    if database.get("mode") == STACK_DATABASE:
        if target.stack is None:
            inconclusive(f"the profile {target.target.path.name} says mode = \"stack\" under [database], but the "
                         "harness does not run this target's stack")
        return target.stack.database_url(service)
    variable = database.get("url_env")
    if variable:
        url = os.environ.get(variable)
        if not url:
            inconclusive(f"[database] url_env names {variable}, which is not set: the harness cannot read the database")
        return url
    inconclusive(f"the profile {target.target.path.name} gives no database access ([database] url_env): what is "
                 "stored cannot be inspected")


def project_file(name: str) -> Path:
    """A file the profile names under [files]: absolute, or relative to the launchgate checkout."""
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else PROJECT_ROOT / path
