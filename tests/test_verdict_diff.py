"""Two runs compared criterion by criterion (scripts/gate-reference-unmanaged.sh): a verdict that differs is
named with both reasons, a criterion only one run decided counts as a difference, and a directory without a
verdict is bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from launchgate.runner import PROJECT_ROOT


def _run(tmp_path: Path, name: str, criteria: dict[str, str]) -> Path:
    run_dir = tmp_path / name
    run_dir.mkdir()
    gates = [{"id": "alpha", "criteria": [{"id": c, "verdict": v, "reason": f"{v} because {name}"}
                                          for c, v in criteria.items()]}]
    (run_dir / "verdict.json").write_text(json.dumps({"gates": gates}))
    return run_dir


def _diff(*runs: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate.gates.verdict_diff", *map(str, runs)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)


def test_equal_verdicts_exit_0(tmp_path: Path) -> None:
    criteria = {"alpha.stability": "inconclusive", "core.dao-lifecycle": "pass"}
    done = _diff(_run(tmp_path, "managed", criteria), _run(tmp_path, "unmanaged", criteria))
    assert done.returncode == 0 and "2 of 2 criteria have the same verdict in both runs" in done.stdout


def test_each_difference_is_named_with_both_reasons(tmp_path: Path) -> None:
    managed = _run(tmp_path, "managed", {"data.persistence": "pass", "security.secrets": "pass"})
    unmanaged = _run(tmp_path, "unmanaged", {"data.persistence": "inconclusive"})
    done = _diff(managed, unmanaged)
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    assert f"data.persistence: pass in {managed} (pass because managed), inconclusive in {unmanaged} " \
           "(inconclusive because unmanaged)" in lines
    assert any(line.startswith("security.secrets: pass in") and "absent" in line for line in lines)
    assert lines[-1] == "0 of 2 criteria have the same verdict in both runs"


def test_a_directory_without_a_verdict_is_exit_2(tmp_path: Path) -> None:
    done = _diff(tmp_path, _run(tmp_path, "b", {}))
    assert done.returncode == 2 and "verdict.json: no readable verdict" in done.stderr and not done.stdout
