"""DAO governance steps: the proposal lifecycle, signed votes, tallies and their guards."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from launchgate.bdd.session import TargetSession
from launchgate.drivers.governance import proposal_body
from steps.proposals import advance, cast

VOTERS = {"the CEO": "ceo", "the CFO": "cfo", "the CLO": "clo", "the CTO": "cto"}


def _voters(who: str) -> list[str]:
    return [VOTERS[w.strip()] for w in who.replace(" and ", ",").split(",") if w.strip()]


@given("a proposal has been drafted")
def drafted(target: TargetSession, context: dict[str, Any]) -> None:
    governance = target.governance()
    context["governance"] = governance
    context["proposal"] = governance.create(proposal_body("Adopt the community newsletter", "ceo"))
    assert context["proposal"]["status"] == "draft", context["proposal"]["status"]


@given("voting on it has started")
@when("it is submitted and voting starts")
def submit_and_start(context: dict[str, Any]) -> None:
    advance(context["governance"], context["proposal"]["id"], "submit", "start-voting")


@when(parsers.parse("{who} vote for it with signed ballots"))
def vote_for(target: TargetSession, context: dict[str, Any], who: str) -> None:
    context["votes"] = {role: cast(target, context["governance"], context["proposal"]["id"], role)
                        for role in _voters(who)}


@when("voting closes")
def close_voting(context: dict[str, Any]) -> None:
    advance(context["governance"], context["proposal"]["id"], "close-voting")


@then("the tally counts every signed vote with its voting power")
def tally_matches(context: dict[str, Any]) -> None:
    results = context["governance"].results(context["proposal"]["id"])
    expected = sum(v["data"]["voting_power"] for v in context["votes"].values())
    assert results["votes_for"] == len(context["votes"]), f"tally counts {results['votes_for']} ballots for"
    assert results["power_for"] == expected, f"tally says {results['power_for']} power for, ballots carry {expected}"


@then(parsers.parse("the proposal is {status}"))
@then(parsers.parse("the proposal awaits {status}"))
def proposal_status(context: dict[str, Any], status: str) -> None:
    wanted = {"human approval": "pending_human_approval", "executed": "executed", "rejected": "rejected"}[status]
    proposal = context["governance"].get(context["proposal"]["id"])
    assert proposal["status"] == wanted, f"the proposal is {proposal['status']}, expected {wanted}"


@when("an administrator approves it")
def admin_approves(context: dict[str, Any]) -> None:
    advance(context["governance"], context["proposal"]["id"], "approve", approved_by="admin",
            reasoning="community supports it")


@when("someone tries to start voting on the draft")
def start_voting_on_draft(context: dict[str, Any]) -> None:
    context["outcome"] = context["governance"].transition(context["proposal"]["id"], "start-voting")


@when(parsers.parse("{who} votes twice"))
def vote_twice(target: TargetSession, context: dict[str, Any], who: str) -> None:
    role = VOTERS[who]
    cast(target, context["governance"], context["proposal"]["id"], role)
    context["outcome"] = context["governance"].vote(context["proposal"]["id"], target.voter_key(role), "against")


@when(parsers.parse("a ballot for {who} arrives with a forged signature"))
def forged_ballot(target: TargetSession, context: dict[str, Any], who: str) -> None:
    forged = "0x" + "11" * 65
    context["outcome"] = context["governance"].vote(
        context["proposal"]["id"], target.voter_key(VOTERS[who]), "for", signature=forged
    )


@then("the request is refused")
def refused(context: dict[str, Any]) -> None:
    outcome = context["outcome"]
    assert outcome.refused, f"expected a refusal, but {outcome.describe()}"
