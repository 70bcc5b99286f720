"""The analytics dashboard and the coordination status, computed from the stored records only.

Both are scoped like the records themselves (an owner sees their own, admin and service see all), so every
number reconciles with what GET /api/email/campaigns shows the same caller.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from launchgate.stack.conduit.models import (
    Activity,
    AgentProfileRow,
    Approval,
    Campaign,
    Delivery,
    SingleEmail,
    iso,
    now,
)
from launchgate.stack.conduit.views import approval_view

TIME_RANGES: dict[str, timedelta | None] = {
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "all": None,
}
EXECUTIVE_ROLES = ("ceo", "cfo", "clo")


def _ratio(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


def dashboard(s: Session, owner: str | None, time_range: str, drift: bool) -> dict[str, Any]:
    """`owner` None means every campaign (admin or service caller)."""
    window = TIME_RANGES[time_range]
    since = now() - window if window else None

    q = select(Campaign)
    if owner is not None:
        q = q.where(Campaign.owner_id == owner)
    if since is not None:
        q = q.where(Campaign.created_at >= since)
    campaigns = s.scalars(q).all()
    ids = [c.id for c in campaigns]
    deliveries = s.scalars(select(Delivery).where(Delivery.campaign_id.in_(ids))).all() if ids else []
    approvals = s.scalars(select(Approval).where(Approval.campaign_id.in_(ids))).all() if ids else []
    eq = select(SingleEmail)
    if owner is not None:
        eq = eq.where(SingleEmail.owner_id == owner)
    if since is not None:
        eq = eq.where(SingleEmail.created_at >= since)
    singles = s.scalars(eq).all()

    statuses = Counter(c.status for c in campaigns)
    campaign_delivered = sum(1 for d in deliveries if d.status == "delivered")
    campaign_failed = sum(1 for d in deliveries if d.status == "failed")
    single_delivered = sum(1 for e in singles if e.status == "delivered")
    single_failed = sum(1 for e in singles if e.status == "failed")
    delivered, failed = campaign_delivered + single_delivered, campaign_failed + single_failed
    overview: dict[str, Any] = {
        "timeRange": time_range,
        "since": iso(since),
        "totalCampaigns": len(campaigns),
        "completedCampaigns": statuses["completed"],
        "executingCampaigns": statuses["executing"],
        "pendingApprovalCampaigns": statuses["pending_approval"],
        "scheduledCampaigns": statuses["scheduled"],
        "rejectedCampaigns": statuses["rejected"],
        "failedCampaigns": statuses["failed"],
        "emailsDelivered": delivered,
        "campaignEmailsDelivered": campaign_delivered,
        "singleEmailsDelivered": single_delivered,
        "emailsFailed": failed,
        "totalEmails": delivered + failed,
        "recipientsTargeted": sum(len(c.final_recipients or []) for c in campaigns),
        "deliveryRate": _ratio(delivered, delivered + failed),
    }
    if drift:  # the analytics-drift fault: the overview no longer matches the records
        for key in ("totalCampaigns", "completedCampaigns", "emailsDelivered"):
            overview[key] += 1

    per_agent: dict[str, dict[str, Any]] = {}
    for a in approvals:
        row = per_agent.setdefault(
            a.agent,
            {
                "role": a.role,
                "reviews": 0,
                "approved": 0,
                "rejected": 0,
                "pending": 0,
                "cancelled": 0,
                "recommendedReject": 0,
                "humanDecisions": 0,
            },
        )
        row["reviews"] += 1
        row[a.status] += 1
        row["recommendedReject"] += a.recommendation == "reject"
        row["humanDecisions"] += a.decided_by_role not in (None, "agent")
    for row in per_agent.values():
        row["approvalRate"] = _ratio(row["approved"], row["approved"] + row["rejected"])

    estimated = sum(float((c.cost_estimate or {}).get("estimatedCostUsd") or 0) for c in campaigns)
    budget = sum(float((c.cost_estimate or {}).get("budgetUsd") or 0) for c in campaigns)
    removed = sum(
        len(o.get("details", {}).get("removed", []))
        for c in campaigns
        for o in (c.optimizations or [])
        if o["kind"] in ("dedupe-recipients", "drop-invalid-addresses")
    )
    applied = Counter(o["kind"] for c in campaigns for o in (c.optimizations or []) if o["applied"])
    dao = [c for c in campaigns if c.requires_dao]
    segments = {r.get("segment") for c in campaigns for r in (c.final_recipients or []) if r.get("segment")}
    return {
        "overview": overview,
        "agentPerformance": {
            "agents": per_agent,
            "ceoApprovals": per_agent.get("ceo_mimi", {}).get("approved", 0),
            "cfoApprovals": per_agent.get("cfo_maya", {}).get("approved", 0),
            "cloApprovals": per_agent.get("clo_sage", {}).get("approved", 0),
        },
        "costOptimization": {
            "estimatedCostUsd": round(estimated, 6),
            "budgetUsd": round(budget, 6),
            "projectedSavingsUsd": round(max(budget - estimated, 0.0), 6),
            "costPerDeliveredEmailUsd": round(estimated / campaign_delivered, 6) if campaign_delivered else None,
            "recipientsRemoved": removed,
        },
        "daoGovernance": {
            "campaignsRequiringDAO": len(dao),
            "proposalsCreated": sum(1 for c in dao if c.dao_proposal_id),
            "proposalsExecuted": sum(1 for c in dao if c.dao_status == "executed"),
            "proposalsRejected": sum(1 for c in dao if c.dao_status == "rejected"),
            "awaitingVote": sum(1 for c in dao if c.stage in ("dao_submit", "dao_vote")),
        },
        "cognitiveOptimizations": {
            "campaignsOptimized": sum(1 for c in campaigns if c.optimizations),
            "appliedByKind": dict(sorted(applied.items())),
            "totalApplied": sum(applied.values()),
        },
        "spatialVisualization": {
            "universeNodes": delivered,
            "engagementClusters": len(segments),
            "agentCoordinationFlows": len(approvals),
            "costOptimizationPaths": sum(
                1 for c in campaigns if float((c.cost_estimate or {}).get("projectedSavingsUsd") or 0) > 0
            ),
        },
    }


def visible_approvals(query: Select[Any], role: str, user_id: str) -> Select[Any]:
    """Executives see their role's approvals, members those of their own campaigns, admin and service all."""
    if role in ("admin", "service"):
        return query
    if role in EXECUTIVE_ROLES:
        return query.where(Approval.role == role)
    return query.join(Campaign, Campaign.id == Approval.campaign_id).where(Campaign.owner_id == user_id)


def coordination_status(s: Session, role: str, user_id: str) -> dict[str, Any]:
    sees_all = role in ("admin", "service", *EXECUTIVE_ROLES)
    active = s.scalars(
        select(AgentProfileRow.agent_name)
        .where(AgentProfileRow.status == "active")
        .order_by(AgentProfileRow.agent_name)
    ).all()
    pending = s.scalars(
        visible_approvals(select(Approval), role, user_id)
        .where(Approval.status == "pending")
        .order_by(Approval.created_at)
    ).all()
    activity_q = select(Activity).order_by(Activity.id.desc()).limit(20)
    count_q = select(func.count(Activity.id))
    if not sees_all:
        activity_q = activity_q.where(Activity.owner_id == user_id)
        count_q = count_q.where(Activity.owner_id == user_id)
    recent = s.scalars(activity_q).all()

    campaign_q = select(Campaign.id, Campaign.stage)
    if not sees_all:
        campaign_q = campaign_q.where(Campaign.owner_id == user_id)
    stages = Counter(stage for _, stage in s.execute(campaign_q).all())
    reviewed = sum(n for st, n in stages.items() if st not in ("received", "optimized", "agent_review"))
    validations_q = select(Activity.approved).where(Activity.kind == "email_validation")
    if not sees_all:
        validations_q = validations_q.where(Activity.owner_id == user_id)
    validations = s.scalars(validations_q).all()
    decided = s.scalars(
        visible_approvals(select(Approval), role, user_id).where(
            Approval.decided_at.is_not(None), Approval.decided_by_role != "agent"
        )
    ).all()
    waits = [
        (a.decided_at - a.created_at).total_seconds()
        for a in decided
        if a.decided_at is not None and a.created_at is not None
    ]
    return {
        "activeAgents": list(active),
        "pendingApprovals": [approval_view(a) for a in pending],
        "recentActivity": [
            {"type": a.kind, "campaignId": a.campaign_id, "summary": a.summary, "timestamp": iso(a.created_at)}
            for a in recent
        ],
        "performanceMetrics": {
            "campaignApprovalRate": _ratio(reviewed - stages["rejected"], reviewed),
            "emailValidationRate": _ratio(sum(1 for v in validations if v), len(validations)),
            "avgHumanDecisionSeconds": round(sum(waits) / len(waits), 3) if waits else None,
            "pendingApprovalCount": len(pending),
            "totalEvents": s.scalar(count_q) or 0,
        },
    }
