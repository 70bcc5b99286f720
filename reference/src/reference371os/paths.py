"""Where the reference finds the data it runs on: the repository's fixtures (seed data, templates, agent profiles,
the compiled contracts, Prometheus's configuration) and node_modules' anvil. The one module that knows.

REFERENCE371OS_ROOT names another checkout; by default, the one this package sits in (reference/src/...).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "REFERENCE371OS_ROOT"
PROJECT_ROOT = Path(os.environ.get(ROOT_ENV) or Path(__file__).resolve().parents[3])
FIXTURES = PROJECT_ROOT / "fixtures"
