"""Feedback steps: what Closed Beta testers and Public Launch users said, gathered from the target's own
feedback API (answers filed under the phase, `scenario=beta` or `launch`) and from a survey export the profile
names ([files] feedback_beta, feedback_launch). gates.yaml decides how positive is positive enough."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.means import project_file
from launchgate.bdd.session import TargetSession
from launchgate.gates.feedback_import import Answer, FeedbackFileError, parse_feedback, write_answers

PHASES = {"Closed Beta": ("beta", "beta.feedback-positive"), "Public Launch": ("launch", "launch.feedback-positive")}


@dataclass(frozen=True)
class TargetFeedback:
    """What the target's own feedback API held: its answers, and its summary of them (None: no feedback API)."""

    summary: dict[str, Any] | None
    answers: list[Answer]


@when(parsers.parse("the harness gathers the feedback given in the {phase}"), target_fixture="target_feedback")
def gather_feedback(target: TargetSession, request: pytest.FixtureRequest, phase: str) -> TargetFeedback:
    tag, criterion = PHASES[phase]
    answers: list[Answer] = []
    sources: list[str] = []
    held = TargetFeedback(None, [])
    if target.target.can("feedback"):
        reply = target.api("feedback", "admin").get("/api/feedback", params={"scenario": tag})
        rows = list(reply["feedback"])
        from_api = [Answer(i, str(r["tester"]), r.get("rating"), bool(r["positive"]), r.get("comment") or "",
                           r.get("answeredAt")) for i, r in enumerate(rows, 1)]
        answers += from_api
        held = TargetFeedback(dict(reply["summary"]), from_api)
        sources.append(f"the target's feedback API ({len(rows)} answers)")
    named = target.target.files.get(f"feedback_{tag}")
    if named:
        try:
            from_file, rejected = parse_feedback(project_file(named))
        except FeedbackFileError as exc:
            raise AssertionError(str(exc)) from None
        assert not rejected, f"{named}: line {rejected[0].line}: {rejected[0].reason}"
        answers += from_file
        sources.append(f"{named} ({len(from_file)} answers)")
    if not sources:
        inconclusive(f"target {target.name} has no feedback API and its profile names no [files] feedback_{tag}")
    if not answers:
        inconclusive(f"nobody has answered yet ({'; '.join(sources)})")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    write_answers(answers, target.run_dir, f"feedback-{tag}-{worker}", criterion, target.name, "; ".join(sources))
    note(request, "feedback from " + "; ".join(sources))
    return held


@then("the target's own summary agrees with the answers it holds")
def summary_agrees(target_feedback: TargetFeedback) -> None:
    summary = target_feedback.summary
    if summary is None:
        return  # a survey export only: there is no summary of the target's to check
    positive = sum(1 for a in target_feedback.answers if a.positive)
    assert summary["positive"] == positive, (
        f"the target summarizes {summary['positive']} positive answers, it holds {positive}"
    )
