"""JSON views of stored rows, in the shapes 371OS answers with (GovernanceProposal, Vote, VotingResults)."""

from __future__ import annotations

from typing import Any

from reference371os.governance.models import Decision, Proposal, Vote, Voter, VotingResult, iso


def result_view(result: VotingResult, proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal_id": result.proposal_id,
        "status": proposal.status,
        "final": True,
        "outcome": result.outcome,
        **result.tally,
        "execution_authorized": result.execution_authorized,
        "voting_ended_at": iso(result.closed_at),
        "results_finalized_at": iso(result.closed_at),
        "closed_by": result.closed_by,
        "transaction_hash": result.transaction_hash,
    }


def decision_view(decision: Decision) -> dict[str, Any]:
    return {
        "status": decision.decision,
        "approvedBy": decision.approved_by,
        "decidedByUser": decision.decided_by_user,
        "decidedByRole": decision.decided_by_role,
        "timestamp": iso(decision.decided_at),
        "reasoning": decision.reasoning,
        "conditions": decision.conditions,
        "modifications": decision.modifications,
        "escalationLevel": decision.escalation_level,
        "transaction_hash": decision.transaction_hash,
    }


def proposal_view(
    p: Proposal, result: VotingResult | None = None, decision: Decision | None = None
) -> dict[str, Any]:
    return {
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "proposer": p.proposer,
        "proposerAddress": p.proposer,
        "type": p.type,
        "status": p.status,
        "executionDetails": p.execution_details,
        "budgetRequest": p.budget_request,
        "timeline": p.timeline,
        "votingConfig": p.voting_config,
        "votingResults": result_view(result, p) if result is not None else None,
        "humanApprovalStatus": p.human_approval_status,
        "humanApprovalDecision": decision_view(decision) if decision is not None else None,
        "stakeholders": p.stakeholders,
        "impactedAgents": p.impacted_agents,
        "emergencyProposal": p.emergency,
        "seeded": p.seeded,
        "createdBy": p.created_by,
        "createdAt": iso(p.created_at),
        "updatedAt": iso(p.updated_at),
        "submittedAt": iso(p.submitted_at),
        "submittedBy": p.submitted_by,
        "votingStartsAt": iso(p.voting_starts_at),
        "votingEndsAt": iso(p.voting_ends_at),
        "votingClosedAt": iso(p.voting_closed_at),
        "humanApprovedAt": iso(p.human_decided_at) if p.human_approval_status == "approved" else None,
        "humanDecidedAt": iso(p.human_decided_at),
        "executedAt": iso(p.executed_at),
        "eligibleVoters": len(p.voter_snapshot or {}),
        "eligibleVotingPower": sum((p.voter_snapshot or {}).values()),
        "transaction_hash": p.transaction_hash,
    }


def vote_view(v: Vote) -> dict[str, Any]:
    return {
        "id": v.id,
        "voter_id": v.voter_address,
        "voter_address": v.voter_address,
        "proposal_id": v.proposal_id,
        "vote_option": v.vote_option,
        "voting_power": v.voting_power,
        "reason": v.reason,
        "delegated_votes": [],
        "timestamp": iso(v.cast_at),
        "signature": v.signature,
        "signature_verified": v.signature_verified,
        "transaction_hash": v.transaction_hash,
    }


def voter_view(v: Voter) -> dict[str, Any]:
    return {
        "address": v.address,
        "role": v.role,
        "power": v.power,
        "seeded": v.seeded,
        "registered_by": v.registered_by,
        "registered_at": iso(v.registered_at),
        "updated_at": iso(v.updated_at),
    }
