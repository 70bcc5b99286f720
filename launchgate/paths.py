"""Where the harness's suite and data are: the one module that knows.

The root holds gates.yaml, features/, steps/, load/, conftest.py, pyproject.toml (pytest's settings for the gate
suite) and fixtures/ (targets, the contract's OpenAPI documents, the contracts' ABIs, seed data). In a checkout it
is the checkout. An installed wheel carries a copy of them beside its code (launchgate/suite/, see pyproject.toml's
force-include). LAUNCHGATE_ROOT names another root: a checkout, or a fork of the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "LAUNCHGATE_ROOT"
_CHECKOUT = Path(__file__).resolve().parents[1]
_PACKAGED = Path(__file__).resolve().parent / "suite"


def _root() -> Path:
    given = os.environ.get(ROOT_ENV)
    if given:
        return Path(given).resolve()
    return _CHECKOUT if (_CHECKOUT / "gates.yaml").is_file() and (_CHECKOUT / "features").is_dir() else _PACKAGED


ROOT = _root()
GATES_FILE = ROOT / "gates.yaml"
FEATURES = ROOT / "features"
LOAD = ROOT / "load"
PYTEST_CONFIG = ROOT / "pyproject.toml"
ROOT_CONFTEST = ROOT / "conftest.py"
FIXTURES = ROOT / "fixtures"
TARGETS = FIXTURES / "targets"
OPENAPI = FIXTURES / "openapi"
CONTRACT_ARTIFACTS = FIXTURES / "contracts" / "build"
SEED = FIXTURES / "seed"
