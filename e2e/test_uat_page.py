"""The UAT sign-off page (`launchgate uat`), driven as a tester uses it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from e2e.conftest import FlowFactory, e2e_port_base
from e2e.pages.base import ConsolePage
from e2e.pages.uat import UatPage
from launchgate import paths
from launchgate.evidence import read_evidence
from launchgate.uat.scenarios import uat_scenarios
from launchgate.waiting import wait_for

pytestmark = pytest.mark.browser
PROJECT_ROOT = paths.ROOT


@dataclass
class UatServer:
    url: str
    run_dir: Path
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def uat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UatServer]:
    base = tmp_path_factory.mktemp("uat")
    run_dir, log = base / "run", base / "uat.log"
    port = e2e_port_base()  # a slot of the e2e band no stack uses
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "launchgate", "uat", "--target", "reference", "--port", str(port),
             "--run-dir", str(run_dir)],
            cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"launchgate uat exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, timeout=20, what=f"the UAT page at {url}")
        yield UatServer(url, run_dir, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def feedback_records(run_dir: Path) -> list[dict[str, object]]:
    records, bad = read_evidence(run_dir)
    assert not bad, bad
    return [{"outcome": r.outcome, "criterion": r.criterion, **r.details} for r in records if r.kind == "feedback"]


def test_testers_read_each_uat_scenario_and_record_answers(make_flow: FlowFactory, uat_server: UatServer) -> None:
    flow = make_flow("A tester signs off UAT scenarios on the sign-off page", criterion=None, gate=None)
    page = UatPage(flow.actor("tester"), uat_server.url)
    expected = uat_scenarios(PROJECT_ROOT / "features")
    first, second = expected[0], expected[1]
    with flow.step("the page lists every @uat scenario with its Gherkin text"):
        page.open()
        assert page.scenario_names() == [s.name for s in expected]
        shown = page.scenario(first.name).get_by_text(f"Scenario: {first.name}").inner_text()
        assert all(line.strip() in shown for line in first.lines), shown
    with flow.step("an answer with no name and no rating is refused, field by field, and nothing is saved"):
        page.answer(first.name, tester="", worked=True, rating=None)
        errors = page.errors_of(first.name)
        assert any("Enter your name" in e for e in errors) and any("rating from 1 to 5" in e for e in errors), errors
        assert not feedback_records(uat_server.run_dir)
    with flow.step("a pass rated 5 is saved as positive feedback"):
        page.answer(first.name, tester="Grace Tester", worked=True, rating=5, comment="Clear & quick <b>really</b>")
        page.expect_saved(first.name)
        assert "pass" in page.previous_answer(first.name)
    with flow.step("a fail rated 2 is saved as negative feedback, the name remembered"):
        page.answer(second.name, tester=None, worked=False, rating=2, comment="The approval took too long")
        page.expect_saved(second.name)
    with flow.step("each answer is one feedback record for beta.feedback-positive"):
        records = {r["scenario_id"]: r for r in feedback_records(uat_server.run_dir)}
        assert set(records) == {first.id, second.id}, records
        good, bad = records[first.id], records[second.id]
        assert good["criterion"] == "beta.feedback-positive" and good["positive"] is True and good["rating"] == 5
        assert good["comment"] == "Clear & quick <b>really</b>" and good["tester"] == "Grace Tester"
        assert bad["positive"] is False and bad["result"] == "fail" and bad["tester"] == "Grace Tester"
    flow.screenshot("tester", "uat-page.png")


def test_the_uat_page_is_labelled_and_keyboard_reachable(make_flow: FlowFactory, uat_server: UatServer) -> None:
    flow = make_flow("The UAT sign-off page has labelled controls and a keyboard path", criterion=None, gate=None)
    browser_page = flow.actor("tester")
    page = UatPage(browser_page, uat_server.url).open()
    with flow.step("every control has a label"):
        audit = ConsolePage(browser_page, uat_server.url)
        assert not audit.unlabelled_controls(), audit.unlabelled_controls()
    with flow.step("Tab reaches the first scenario's submit button"):
        first = page.scenario(page.scenario_names()[0]).get_by_role("button", name="Record my answer")
        assert audit.tab_reaches(first), "Tab never reaches 'Record my answer'"
    assert not flow.console_errors, flow.console_errors
