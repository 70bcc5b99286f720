"""The run's Cucumber Messages (cucumber-messages.ndjson): written with the official cucumber-messages package from
the run's scenario evidence and the feature files, and read back by Cucumber's own JavaScript reader and HTML
formatter (scripts/read-cucumber-messages.mjs), as current Cucumber tooling reads a run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from launchgate import paths
from launchgate.evidence import Evidence, EvidenceWriter
from launchgate.report.build import build_report
from launchgate.report.messages import MESSAGES_FILE, write_messages

FEATURE = "features/security.feature"
READER = paths.ROOT / "scripts" / "read-cucumber-messages.mjs"


def line_of(text: str) -> int:
    lines = (paths.ROOT / FEATURE).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def scenario(name: str, outcome: str, steps: list[tuple[str, str, str]], **details: Any) -> Evidence:
    """A scenario record as the evidence plugin writes it; `steps`: (keyword, text, status) of the steps that ran."""
    line = line_of(name)
    return Evidence(run="run", kind="scenario", name=name, outcome=outcome,  # type: ignore[arg-type]
                    started="2026-12-01T10:00:00.000Z", finished="2026-12-01T10:00:02.000Z",
                    details={"location": f"{FEATURE}:{line}", "scenario": name, **details,
                             "steps": [{"keyword": k, "name": t, "line": 0, "status": s} for k, t, s in steps]})


REACHABLE = ("Given", "the 371OS target is reachable", "passed")
RECORDS = [
    scenario("Mutating actions refuse anonymous callers", "passed",
             [REACHABLE, ("When", "an anonymous caller tries to send an email", "passed"),
              ("Then", "the request is refused as unauthenticated", "passed")]),
    scenario("Mutating actions refuse anonymous callers", "failed",
             [REACHABLE, ("When", "an anonymous caller tries to cast a vote", "passed"),
              ("Then", "the request is refused as unauthenticated", "failed")],
             error="AssertionError: an anonymous caller was not refused with 401"),
    scenario("Configuration views reveal no secret", "skipped", [REACHABLE],
             reason="inconclusive: target t gives the harness no secrets to look for"),
]


def messages(tmp_path: Path) -> list[dict[str, Any]]:
    out = write_messages(tmp_path, paths.ROOT, RECORDS)
    assert out == tmp_path / MESSAGES_FILE
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_each_executed_scenario_is_a_test_case_of_its_own_pickle(tmp_path: Path) -> None:
    envelopes = messages(tmp_path)
    kinds = [next(iter(e)) for e in envelopes]
    assert kinds[:3] == ["meta", "source", "gherkinDocument"] and kinds[-1] == "testRunFinished"
    pickles = {e["pickle"]["id"]: e["pickle"] for e in envelopes if "pickle" in e}
    cases = [e["testCase"] for e in envelopes if "testCase" in e]
    ran = [[s["text"] for s in pickles[c["pickleId"]]["steps"]][1] for c in cases]
    assert ran == ["an anonymous caller tries to send an email", "an anonymous caller tries to cast a vote",
                   "no service's configuration view reveals a secret"]  # each outline row its own pickle
    finished = [e["testStepFinished"]["testStepResult"] for e in envelopes if "testStepFinished" in e]
    assert [r["status"] for r in finished] == ["PASSED"] * 5 + ["FAILED", "PASSED", "SKIPPED"]
    assert finished[5]["message"].startswith("AssertionError: an anonymous caller was not refused")
    assert finished[7]["message"] == "inconclusive: target t gives the harness no secrets to look for"
    assert envelopes[-1]["testRunFinished"]["success"] is False


def test_cucumbers_own_reader_and_html_formatter_read_the_run(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs it (scripts/bootstrap.sh)"
    messages(tmp_path)
    html = tmp_path / "cucumber.html"
    done = subprocess.run([node, str(READER), str(tmp_path / MESSAGES_FILE), str(html)], capture_output=True,
                          text=True, timeout=120, cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["testCases"] == 3 and read["pickles"] == 10  # every scenario (and row) of the file, run or not
    assert {k: v for k, v in read["statuses"].items() if v} == {"PASSED": 1, "FAILED": 1, "SKIPPED": 1}
    assert "an anonymous caller tries to cast a vote" in html.read_text()


def test_the_report_writes_them_beside_its_other_outputs(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "run"
    writer = EvidenceWriter(run, "scenarios-main")
    for record in RECORDS:
        writer.write(record)
    build_report(run, paths.GATES_FILE, tmp_path / "reports" / "history.jsonl")
    assert (run / MESSAGES_FILE).is_file()


def test_a_run_without_scenarios_writes_none(tmp_path: Path) -> None:
    assert write_messages(tmp_path, paths.ROOT, []) is None
    lost = scenario("Configuration views reveal no secret", "passed", [REACHABLE])
    lost.details["location"] = "features/gone.feature:3"
    assert write_messages(tmp_path, paths.ROOT, [lost]) is None
    with pytest.raises(StopIteration):
        next(tmp_path.glob(MESSAGES_FILE))
