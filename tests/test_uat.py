"""`launchgate uat`: the @uat scenarios read from the feature files, answers checked and written as feedback
evidence, and the sign-off server's edges over plain HTTP (the browser suite drives the page itself)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launchgate.evidence import read_evidence
from launchgate.uat.scenarios import FeatureFileError, uat_scenarios
from launchgate.uat.server import UatSite, make_server, read_answer

ROOT = Path(__file__).resolve().parents[1]
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def test_the_uat_scenarios_are_the_tagged_ones_with_their_text() -> None:
    scenarios = uat_scenarios(ROOT / "features")
    assert len(scenarios) >= 3
    tagged = {s.name for s in scenarios}
    assert "Executives approve a campaign from their inboxes" in tagged
    assert "Voting cannot start on a draft" not in tagged  # not tagged @uat
    first = next(s for s in scenarios if s.name == "Executives approve a campaign from their inboxes")
    assert first.lines[0] == "Background:" and "Given the 371OS target is reachable" in first.text
    assert first.criterion == "core.agent-approvals" and first.gate == "alpha"
    assert first.location.startswith("features/approvals.feature:")


def test_outlines_show_their_examples_and_bad_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "a.feature").write_text(
        "@beta\nFeature: F\n  @uat\n  Scenario Outline: Rate <x>\n    Given a <x>\n\n    Examples:\n"
        "      | x |\n      | 1 |\n      | 22 |\n"
    )
    (only,) = uat_scenarios(tmp_path)
    assert only.lines[-3:] == ("    | x  |", "    | 1  |", "    | 22 |")
    (tmp_path / "b.feature").write_text("Feature: a\n  Scenario: x\n    Given y\nFeature: b\n")
    with pytest.raises(FeatureFileError, match=r"b\.feature"):
        uat_scenarios(tmp_path)
    with pytest.raises(FeatureFileError, match="no such directory"):
        uat_scenarios(tmp_path / "missing")


def test_an_answer_needs_a_name_a_result_and_a_rating() -> None:
    answer, errors = read_answer({"tester": " ", "result": "maybe", "rating": "9"})
    assert answer is None and [n for n, _ in errors.items()] == ["tester", "result", "rating"]
    answer, errors = read_answer({"tester": "Grace", "result": "pass", "rating": "4", "comment": " ok "})
    assert answer is not None and answer.positive and answer.comment == "ok" and not errors
    failed, _ = read_answer({"tester": "Grace", "result": "fail", "rating": "5"})
    assert failed is not None and not failed.positive  # a scenario that did not work is no positive feedback


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[UatSite, str]]:
    site = UatSite(uat_scenarios(ROOT / "features"), tmp_path / "run", "reference")
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_server_writes_one_feedback_record_per_answer(site: tuple[UatSite, str]) -> None:
    uat, url = site
    scenario = uat.scenarios[0]
    with httpx.Client(base_url=url, timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200 and scenario.name in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        token = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]
        form = {"csrf_token": token, "scenario_id": scenario.id, "tester": "Grace <b>", "result": "pass",
                "rating": "5", "comment": "<script>x</script>"}
        saved = client.post("/answer", data=form)
        assert saved.status_code == 303 and saved.headers["location"].startswith(f"/?saved={scenario.id}")
        again = client.get(saved.headers["location"])
        assert "Grace &lt;b&gt;" in again.text and "&lt;script&gt;x&lt;/script&gt;" in again.text
        assert "<script>x</script>" not in again.text
        invalid = client.post("/answer", data={**form, "rating": ""})
        assert invalid.status_code == 422 and "Choose a rating from 1 to 5" in invalid.text
        forged = client.post("/answer", data={**form, "csrf_token": "0" * 64})
        assert forged.status_code == 403 and "expired" in forged.text
        unknown = client.post("/answer", data={**form, "scenario_id": "nope"})
        assert unknown.status_code == 400
        assert client.get("/nothing").status_code == 404
    records, bad = read_evidence(uat.run_dir)
    assert not bad and len(records) == 1
    (record,) = records
    assert record.kind == "feedback" and record.criterion == "beta.feedback-positive" and record.gate == "beta"
    assert record.details["tester"] == "Grace <b>" and record.details["positive"] is True
    assert record.details["scenario_id"] == scenario.id and record.value == 5.0


def test_the_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    for args, message in (
        (["--target", "nope"], "unknown target 'nope'"),
        (["--features", str(tmp_path / "none")], "no such directory"),
        (["--port", "70000"], "--port must be 0-65535"),
    ):
        run = subprocess.run([sys.executable, "-m", "launchgate", "uat", *args, "--run-dir", str(tmp_path / "r")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
