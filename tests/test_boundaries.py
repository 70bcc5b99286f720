"""The import contracts of shared/ARCHITECTURE.md (.importlinter), held by the repository and shown to bite.

`make test` runs `lint-imports` itself (scripts/test.sh); these tests also prove that each contract fails on a
tree that breaks it, so that a contract that no longer checks anything (a renamed module, a typo) cannot pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The modules the contracts name, as empty stand-ins: a tree of them breaks nothing until a test adds an import.
MODULES = ("launchgate/evidence.py", "launchgate/redact.py", "launchgate/report/build.py",
           "launchgate/report/html.py", "launchgate/drivers/http.py", "launchgate/bdd/session.py",
           "launchgate/gates/scoring.py", "launchgate/gates/aggregate.py", "launchgate/gates/loader.py",
           "launchgate/soak/run.py", "launchgate/cli.py", "launchgate/runner.py", "launchgate/uat/server.py",
           "launchgate/monitoring/slis.py", "launchgate/targets.py", "reference371os/manager.py",
           "steps/campaigns.py", "httpx/__init__.py", "requests/__init__.py", "aiohttp/__init__.py",
           "sqlalchemy/__init__.py", "psycopg/__init__.py", "web3/__init__.py", "eth_account/__init__.py",
           "playwright/__init__.py")


def lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(LINT_IMPORTS.parent), **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(ROOT / ".importlinter")], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_repository_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for module in MODULES:
        path = tmp_path / module
        path.parent.mkdir(parents=True, exist_ok=True)
        for package in [p for p in path.parents if p != tmp_path and tmp_path in p.parents]:
            (package / "__init__.py").touch()
        path.touch()
    return tmp_path


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("launchgate/bdd/session.py", "import reference371os.manager", "share no code"),
    ("reference371os/manager.py", "from launchgate import cli", "share no code"),
    ("steps/campaigns.py", "import httpx", "Steps import no HTTP"),
    ("steps/campaigns.py", "from web3 import Web3", "Steps import no HTTP"),
    ("launchgate/report/html.py", "from launchgate.drivers import http", "report imports nothing from the drivers"),
    ("launchgate/evidence.py", "import launchgate.gates.scoring", "Evidence and redaction sit at the bottom"),
])
def test_each_contract_fails_on_a_tree_that_breaks_it(tree: Path, module: str, line: str, contract: str) -> None:
    assert lint(tree, tree).returncode == 0, "the stand-in tree alone must keep every contract"
    (tree / module).write_text(line + "\n")
    result = lint(tree, tree)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in " ".join(broken.split()), result.stdout

