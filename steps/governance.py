"""DAO governance steps: the proposal lifecycle, signed votes, tallies and their guards."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from launchgate.bdd.session import TargetSession
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from launchgate.drivers.outcomes import Outcome
from steps.proposals import advance, cast

VOTERS = {"the CEO": "ceo", "the CFO": "cfo", "the CLO": "clo", "the CTO": "cto"}


def _voters(who: str) -> list[str]:
    return [VOTERS[w.strip()] for w in who.replace(" and ", ",").split(",") if w.strip()]


@given("a proposal has been drafted", target_fixture="proposal")
def drafted(governance: GovernanceDriver) -> dict[str, Any]:
    proposal = governance.create(proposal_body("Adopt the community newsletter", "ceo"))
    assert proposal["status"] == "draft", proposal["status"]
    return proposal


@given("voting on it has started")
@when("it is submitted and voting starts")
def submit_and_start(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    advance(governance, proposal["id"], "submit", "start-voting")


@when(parsers.parse("{who} vote for it with signed ballots"), target_fixture="ballots")
def vote_for(target: TargetSession, governance: GovernanceDriver, proposal: dict[str, Any],
             who: str) -> dict[str, dict[str, Any]]:
    """The target's answer to each voter's ballot, by role."""
    return {role: cast(target, governance, proposal["id"], role) for role in _voters(who)}


@when("voting closes")
def close_voting(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    advance(governance, proposal["id"], "close-voting")


@then("the tally counts every signed vote with its voting power")
def tally_matches(governance: GovernanceDriver, proposal: dict[str, Any], ballots: dict[str, dict[str, Any]]) -> None:
    results = governance.results(proposal["id"])
    expected = sum(v["data"]["voting_power"] for v in ballots.values())
    assert results["votes_for"] == len(ballots), f"tally counts {results['votes_for']} ballots for"
    assert results["power_for"] == expected, f"tally says {results['power_for']} power for, ballots carry {expected}"


@then(parsers.parse("the proposal is {status}"))
@then(parsers.parse("the proposal awaits {status}"))
def proposal_status(governance: GovernanceDriver, proposal: dict[str, Any], status: str) -> None:
    wanted = {"human approval": "pending_human_approval", "executed": "executed", "rejected": "rejected"}[status]
    now = governance.get(proposal["id"])
    assert now["status"] == wanted, f"the proposal is {now['status']}, expected {wanted}"


@when("an administrator approves it")
def admin_approves(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    advance(governance, proposal["id"], "approve", approved_by="admin", reasoning="community supports it")


@when("someone tries to start voting on the draft", target_fixture="outcome")
def start_voting_on_draft(governance: GovernanceDriver, proposal: dict[str, Any]) -> Outcome:
    return governance.transition(proposal["id"], "start-voting")


@when(parsers.parse("{who} votes twice"), target_fixture="outcome")
def vote_twice(target: TargetSession, governance: GovernanceDriver, proposal: dict[str, Any], who: str) -> Outcome:
    role = VOTERS[who]
    cast(target, governance, proposal["id"], role)
    return governance.vote(proposal["id"], target.voter_key(role), "against")


@when(parsers.parse("a ballot for {who} arrives with a forged signature"), target_fixture="outcome")
def forged_ballot(target: TargetSession, governance: GovernanceDriver, proposal: dict[str, Any], who: str) -> Outcome:
    forged = "0x" + "11" * 65
    return governance.vote(proposal["id"], target.voter_key(VOTERS[who]), "for", signature=forged)


@then("the request is refused")
def refused(outcome: Outcome) -> None:
    assert outcome.refused, f"expected a refusal, but {outcome.describe()}"
