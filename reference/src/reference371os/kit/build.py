"""The build this reference 371OS runs: its version plus a hash of its own source, so that a changed service is a
different build whatever its version says. /health and /config answer it; REFERENCE371OS_BUILD overrides it (a
release pipeline's own identity, or a test that needs two builds)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

VERSION = "1.0.0"
BUILD_ENV = "REFERENCE371OS_BUILD"
_PACKAGE = Path(__file__).resolve().parents[1]


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


BUILD_ID = os.environ.get(BUILD_ENV) or f"{VERSION}+{_source_hash()}"
