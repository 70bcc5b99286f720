"""The reference's tests are the reference's own: they import nothing of the harness's (launchgate, its suites and
its tests), only reference371os, the standard library and third-party libraries; and neither does reference371os.
import-linter checks reference371os (.importlinter); this also covers reference/tests, which it does not see."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = ("launchgate", "tests", "steps", "e2e", "features", "load")
REFERENCE = Path(__file__).resolve().parents[1]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_the_reference_or_its_tests_imports_the_harness() -> None:
    files = sorted([*(REFERENCE / "tests").rglob("*.py"), *(REFERENCE / "src").rglob("*.py")])
    assert any(f.name == "conftest.py" for f in files) and any(f.name == "testing.py" for f in files)
    found = {f"{f.relative_to(REFERENCE)}: {name}" for f in files for name in imported(f)
             if name.split(".")[0] in HARNESS}
    assert found == set(), f"the reference imports the harness: {sorted(found)}"
