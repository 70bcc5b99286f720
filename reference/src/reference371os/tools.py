"""Finding the external programs the stack runs: anvil from npm, PostgreSQL from Debian."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from reference371os.paths import PROJECT_ROOT

BOOTSTRAP_HINT = "run `make bootstrap` (or `make test` / `make report`, which bootstrap first)"


def anvil_binary() -> Path | None:
    """The anvil binary shipped inside the npm package, else one on PATH."""
    override = os.environ.get("LAUNCHGATE_ANVIL")
    if override:
        return Path(override) if Path(override).exists() else None
    shipped = PROJECT_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if shipped.exists():
        return shipped
    found = shutil.which("anvil")
    return Path(found) if found else None


def postgres_bindir() -> Path | None:
    """Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin."""
    override = os.environ.get("LAUNCHGATE_PG_BINDIR")
    if override:
        return Path(override)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None
