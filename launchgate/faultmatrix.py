"""The fault matrix: which check catches each fault switch, and a runner for the gate suite on a faulted stack.

Every fault is caught somewhere: by the gate suite (features/) for the criteria it decides, or by a
dedicated test where the evidence comes from a soak or the chain. `tests/test_fault_matrix.py` runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from launchgate import paths
from launchgate.evidence import read_evidence
from launchgate.runner import PROJECT_ROOT


@dataclass(frozen=True)
class Trip:
    """The criterion a fault switch of the reference must fail, and those it necessarily takes down as well (they
    fail, or are left without data): a stack that keeps nothing on disk has nothing to restore from a snapshot and
    nothing encrypted at rest to inspect."""

    criterion: str
    also: tuple[str, ...] = ()


# Every fault switch of the reference 371OS (`reference371os faults`) and what must catch it. The reference knows
# its switches by name only: this is the harness's knowledge, from the framework's criteria.
TRIPS: dict[str, Trip] = {
    "state-loss": Trip(
        "data.persistence", also=("data.backup-recovery", "rollback.db-snapshot", "data.encryption-at-rest")
    ),
    "error-rate": Trip("alpha.stability"),
    "latency-drift": Trip("alpha.stability"),
    "memory-leak": Trip("alpha.stability"),
    "open-route": Trip("security.access-control"),
    "cross-tenant": Trip("security.access-control"),
    "prod-testnet": Trip("env.separation"),
    "prod-sandbox-keys": Trip("env.separation"),
    "no-seed": Trip("seeding.initial-data"),
    "lying-health": Trip("monitoring.health"),
    "no-metrics": Trip("monitoring.metrics"),
    "skip-anchor": Trip("chain.verification"),
    "drop-email": Trip("core.campaign-delivery"),
    "plaintext-keys": Trip("data.encryption-at-rest"),
    "leak-secret": Trip("security.secrets"),
    "dao-no-guards": Trip("core.dao-lifecycle"),
    "unsigned-votes": Trip("core.dao-lifecycle"),
    "dao-bypass": Trip("core.e2e-data-flow"),
    "social-unpublished": Trip("core.social-posting"),
    "analytics-drift": Trip("beta.analytics"),
    "agent-rules-ignored": Trip("core.agent-approvals"),
    "broken-restore": Trip("rollback.db-snapshot"),
    "partial-snapshot": Trip("data.backup-recovery"),
    "canary-errors": Trip("rollback.canary"),
    "blue-green-drop": Trip("rollback.blue-green"),
}


# Faults whose criterion comes from measurements rather than scenarios, and the test that proves them.
CAUGHT_ELSEWHERE: dict[str, str] = {
    "error-rate": "tests/test_soak.py (window error rate)",
    "latency-drift": "tests/test_soak.py (p95 drift slope)",
    "memory-leak": "tests/test_soak.py (memory slope)",
    "skip-anchor": "tests/test_chain.py (anchors recomputed from the sink and read on chain)",
}


@dataclass(frozen=True)
class SuiteOutcome:
    fault: str | None
    exit_code: int
    failing: frozenset[str]
    passing: frozenset[str]
    log: str


def affected_features(criteria: Iterable[str], features_dir: Path = paths.FEATURES) -> list[str]:
    """The pytest modules binding the feature files with a scenario tagged for any of `criteria`
    (features/x.feature is bound by features/test_x.py): what a fault's run needs to execute."""
    tags = {f"@criterion.{c}" for c in criteria}
    return sorted(
        str(path.with_name(f"test_{path.stem}.py").relative_to(PROJECT_ROOT))
        for path in features_dir.glob("*.feature")
        if tags & set(path.read_text().split())
    )


def run_suite(
    fault: str | None, run_dir: Path, port_base: int, features: list[str] | None = None, timeout: float = 1200
) -> SuiteOutcome:
    """The gate suite (or the given feature files) against a reference stack with `fault` switched on."""
    env = {**os.environ, "LAUNCHGATE_FAULTS": fault or ""}
    args = [
        sys.executable, "-m", "pytest", *(features or ["features"]), f"--run-dir={run_dir}",
        f"--stack-port-base={port_base}",
        "-q", "--no-header", "-p", "no:cacheprovider",
    ]
    proc = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return read_outcome(fault, run_dir, proc.returncode, proc.stdout[-4000:] + proc.stderr[-2000:])


def read_outcome(fault: str | None, run_dir: Path, exit_code: int, log: str) -> SuiteOutcome:
    """Which criteria the scenarios of the run in `run_dir` failed and passed."""
    records, _bad = read_evidence(run_dir)
    failing = {r.criterion for r in records if r.kind == "scenario" and r.outcome in ("failed", "error")}
    passing = {r.criterion for r in records if r.kind == "scenario" and r.outcome == "passed"}
    return SuiteOutcome(fault, exit_code, frozenset(c for c in failing if c), frozenset(c for c in passing if c), log)


def main_job_outcome(run_dir: Path) -> SuiteOutcome:
    """The healthy outcome from a run of the main job (`launchgate run --target reference`, which CI runs first and
    alone): its pytest exit status from the scenarios' JUnit file, its log from pytest.log."""
    junit = run_dir / "scenarios-junit.xml"
    if not junit.is_file():
        return SuiteOutcome(None, 2, frozenset(), frozenset(), f"{run_dir} holds no scenarios-junit.xml: not a run")
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    broken = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    log = (run_dir / "pytest.log").read_text(errors="replace") if (run_dir / "pytest.log").is_file() else ""
    return read_outcome(None, run_dir, 1 if broken else 0, log[-6000:])


def matrix_rows(
    outcomes: Iterable[SuiteOutcome], expected: dict[str, str], also: dict[str, tuple[str, ...]] | None = None
) -> list[dict[str, object]]:
    """`also`: per fault, the criteria it necessarily takes down as well (Trip.also), allowed to fail."""
    rows = []
    for outcome in outcomes:
        want = expected.get(outcome.fault or "", "")
        allowed = frozenset((also or {}).get(outcome.fault or "", ()))
        ok = (want in outcome.failing and outcome.failing - {want} <= allowed) if want else not outcome.failing
        rows.append({
            "fault": outcome.fault or "(none)",
            "expected": want or "nothing",
            "failed": sorted(outcome.failing),
            "ok": ok,
        })
    return rows


def write_matrix(rows: list[dict[str, object]], path: Path) -> None:
    """The results as JSON and as the Markdown table the README carries."""
    path.write_text(json.dumps(rows, indent=2))
    lines = ["| fault | criterion expected to fail | criteria that failed | as expected |", "|---|---|---|---|"]
    for row in rows:
        failed = ", ".join(f"`{c}`" for c in row["failed"]) or "none"  # type: ignore[attr-defined]
        lines.append(f"| `{row['fault']}` | `{row['expected']}` | {failed} | {'yes' if row['ok'] else '**no**'} |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
