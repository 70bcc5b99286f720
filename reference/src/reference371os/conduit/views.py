"""JSON views of stored campaigns, approvals and deliveries, in the 371OS field names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reference371os.conduit.models import Approval, Campaign, Delivery, iso


def approval_view(a: Approval) -> dict[str, Any]:
    return {
        "id": a.id,
        "campaignId": a.campaign_id,
        "agent": a.agent,
        "role": a.role,
        "recommendation": a.recommendation,
        "reasons": a.reasons,
        "issues": a.issues,
        "scores": a.scores,
        "status": a.status,
        "decidedBy": a.decided_by,
        "decidedByRole": a.decided_by_role,
        "decisionReason": a.decision_reason,
        "decidedAt": iso(a.decided_at),
        "createdAt": iso(a.created_at),
    }


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "emailId": d.id,
        "email": d.recipient,
        "status": d.status,
        "verificationHash": d.verification_hash,
        "messageId": d.message_id,
        "deliveredAt": iso(d.delivered_at),
        "anchorTx": d.anchor_tx,
        "attempts": d.attempts,
        "lastError": d.last_error,
    }


def agent_approval_item(a: Approval) -> dict[str, Any]:
    """One entry of campaign.agentApprovals: the agent, its recommendation and the decision taken on it."""
    return {
        "agent": a.agent,
        "role": a.role,
        "decision": a.status,  # pending | approved | rejected | cancelled
        "recommendation": a.recommendation,
        "reasons": a.reasons,
        "issues": a.issues,
        "scores": a.scores,
        "approvalId": a.id,
        "decidedBy": a.decided_by,
        "decidedByRole": a.decided_by_role,
        "decisionReason": a.decision_reason,
        "decidedAt": iso(a.decided_at),
    }


def approval_summary(c: Campaign, approvals: Sequence[Approval]) -> dict[str, Any]:
    """The 371OS CampaignApprovalResult view of the same approvals, plus the chief of staff's coordination."""
    by_role = {a.role: a for a in approvals}

    def granted(role: str) -> bool | None:
        a = by_role.get(role)
        return None if a is None or a.status in ("pending", "cancelled") else a.status == "approved"

    rejected = any(a.status == "rejected" for a in approvals)
    decided = rejected or (bool(approvals) and all(a.status == "approved" for a in approvals))
    return {
        "approved": (not rejected) if decided else None,
        "decided": decided,
        "mode": c.approval_mode,
        "strategicApproved": granted("ceo"),
        "budgetApproved": granted("cfo"),
        "complianceApproved": granted("clo"),
        "coordination": c.coordination,
    }


def _dao_approval(c: Campaign) -> dict[str, Any]:
    approved: bool | None = None
    if not c.requires_dao or c.dao_status == "executed":
        approved = True
    elif c.dao_status == "rejected":
        approved = False
    return {
        "required": c.requires_dao,
        "approved": approved,
        "proposalId": c.dao_proposal_id,
        "proposalStatus": c.dao_status,
        "attempts": c.dao_attempts,
        "statusUpdatedAt": iso(c.dao_checked_at),
        "error": c.dao_error,
    }


def _execution(c: Campaign, deliveries: Sequence[Delivery]) -> dict[str, Any] | None:
    if c.execution_started_at is None:
        return None
    total = len(c.final_recipients or [])
    delivered = sum(1 for d in deliveries if d.status == "delivered")
    failed = sum(1 for d in deliveries if d.status == "failed")
    return {
        "total": total,
        "delivered": delivered,
        "failed": failed,
        "pending": total - delivered - failed,
        "startedAt": iso(c.execution_started_at),
        "deferredAt": iso(c.delivery_deferred_at),  # when a mail outage first held it back
        "completedAt": iso(c.completed_at),
    }


def campaign_view(c: Campaign, approvals: Sequence[Approval], deliveries: Sequence[Delivery]) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "status": c.status,
        "stage": c.stage,
        "owner": c.owner_id,
        "priority": c.priority,
        "template": c.template_id or "inline",
        "subject": c.subject,
        "sender": c.sender,
        "budget": {"maxCost": c.budget_max_cost, "currency": c.budget_currency},
        "requiresDAOApproval": c.requires_dao,
        "approvalMode": c.approval_mode,
        "scheduledAt": iso(c.scheduled_at),
        "agentRequirements": c.agent_requirements,
        "recipients": {"submitted": len(c.recipients), "deliverable": len(c.final_recipients or [])},
        "agentApprovals": [agent_approval_item(a) for a in sorted(approvals, key=lambda a: a.agent)],
        "approvalSummary": approval_summary(c, approvals),
        "daoApproval": _dao_approval(c),
        "execution": _execution(c, deliveries),
        "optimizations": c.optimizations or [],
        "costEstimate": c.cost_estimate,
        "deliveries": [delivery_view(d) for d in sorted(deliveries, key=lambda d: d.position)],
        "error": c.error,
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
        "completedAt": iso(c.completed_at),
    }


def load_campaign_view(s: Session, c: Campaign) -> dict[str, Any]:
    approvals = s.scalars(select(Approval).where(Approval.campaign_id == c.id)).all()
    deliveries = s.scalars(select(Delivery).where(Delivery.campaign_id == c.id)).all()
    return campaign_view(c, approvals, deliveries)
