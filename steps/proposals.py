"""The proposal lifecycle every step module that needs a DAO vote shares: drafted, submitted, voted on with signed
ballots, closed and decided. Each action must be accepted; a refusal fails the scenario with the target's answer."""

from __future__ import annotations

from typing import Any

from launchgate.bdd.session import TargetSession
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from launchgate.drivers.outcomes import Accepted

# The body each lifecycle action carries (the 371OS contract's fields).
BODIES: dict[str, dict[str, Any]] = {
    "submit": {"submitted_by": "ceo"},
    "start-voting": {},
    "close-voting": {},
    "approve": {"approved_by": "ceo", "reasoning": "the DAO voted for it"},
}


def advance(governance: GovernanceDriver, proposal_id: str, *actions: str, **body: Any) -> None:
    """Each action in turn (submit, start-voting, close-voting, approve), each accepted."""
    for action in actions:
        outcome = governance.transition(proposal_id, action, {**BODIES[action], **body})
        assert outcome.accepted, outcome.describe()


def cast(target: TargetSession, governance: GovernanceDriver, proposal_id: str, role: str,
         option: str = "for") -> dict[str, Any]:
    """A ballot of the registered `role` voter, signed with its key, accepted: the target's answer (the vote's record
    under `data`, as the contract puts it)."""
    outcome = governance.vote(proposal_id, target.voter_key(role), option)
    assert isinstance(outcome, Accepted), f"the {role.upper()}'s vote: {outcome.describe()}"
    return dict(outcome.data or {})


def open_vote(governance: GovernanceDriver, title: str, proposer: str = "ceo") -> dict[str, Any]:
    """A new proposal, submitted and open for votes."""
    proposal = governance.create(proposal_body(title, proposer))
    advance(governance, proposal["id"], "submit", "start-voting")
    return proposal


def carry_to_execution(target: TargetSession, governance: GovernanceDriver, proposal_id: str,
                       voters: tuple[str, ...]) -> dict[str, Any]:
    """An open vote: every voter for it, voting closed, the result approved; the proposal as it then reads."""
    for role in voters:
        cast(target, governance, proposal_id, role)
    advance(governance, proposal_id, "close-voting", "approve")
    return governance.get(proposal_id)
