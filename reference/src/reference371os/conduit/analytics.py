"""The analytics dashboard and the coordination status, computed from the stored records only.

Both are scoped like the records themselves (an owner sees their own, admin and service see all), so every
number reconciles with what GET /api/email/campaigns shows the same caller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from reference371os.conduit.models import (
    Activity,
    AgentProfileRow,
    Approval,
    Campaign,
    Delivery,
    SingleEmail,
    iso,
    now,
)
from reference371os.conduit.views import approval_view

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
    """`owner` None means every campaign (admin or service caller).

    Every number comes from SQL aggregates, so neither time nor memory grows with the rows of the window beyond
    the database's own scan: the dashboard is read all through a 72-hour soak and on deployments with months of
    campaigns.
    """
    window = TIME_RANGES[time_range]
    since = now() - window if window else None

    def scoped(query: Select[Any], table: Any) -> Select[Any]:
        if owner is not None:
            query = query.where(table.owner_id == owner)
        return query.where(table.created_at >= since) if since is not None else query

    ids = scoped(select(Campaign.id), Campaign)
    statuses = Counter(dict(s.execute(scoped(select(Campaign.status, func.count()), Campaign)
                                      .group_by(Campaign.status)).all()))
    delivery_counts = Counter(dict(s.execute(select(Delivery.status, func.count())
                                             .where(Delivery.campaign_id.in_(ids)).group_by(Delivery.status)).all()))
    single_counts = Counter(dict(s.execute(scoped(select(SingleEmail.status, func.count()), SingleEmail)
                                           .group_by(SingleEmail.status)).all()))
    campaign_delivered, campaign_failed = delivery_counts["delivered"], delivery_counts["failed"]
    single_delivered, single_failed = single_counts["delivered"], single_counts["failed"]
    delivered, failed = campaign_delivered + single_delivered, campaign_failed + single_failed
    stats = _campaign_stats(s, lambda query: scoped(query, Campaign))
    overview: dict[str, Any] = {
        "timeRange": time_range,
        "since": iso(since),
        "totalCampaigns": sum(statuses.values()),
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
        "recipientsTargeted": stats.recipients,
        "deliveryRate": _ratio(delivered, delivered + failed),
    }
    if drift:  # the analytics-drift fault: the overview no longer matches the records
        for key in ("totalCampaigns", "completedCampaigns", "emailsDelivered"):
            overview[key] += 1

    per_agent, reviews = _agent_performance(s, ids)
    return {
        "overview": overview,
        "agentPerformance": {
            "agents": per_agent,
            "ceoApprovals": per_agent.get("ceo_mimi", {}).get("approved", 0),
            "cfoApprovals": per_agent.get("cfo_maya", {}).get("approved", 0),
            "cloApprovals": per_agent.get("clo_sage", {}).get("approved", 0),
        },
        "costOptimization": {
            "estimatedCostUsd": round(stats.estimated, 6),
            "budgetUsd": round(stats.budget, 6),
            "projectedSavingsUsd": round(max(stats.budget - stats.estimated, 0.0), 6),
            "costPerDeliveredEmailUsd": round(stats.estimated / campaign_delivered, 6) if campaign_delivered else None,
            "recipientsRemoved": stats.removed,
        },
        "daoGovernance": {
            "campaignsRequiringDAO": stats.dao,
            "proposalsCreated": stats.proposals,
            "proposalsExecuted": stats.dao_statuses["executed"],
            "proposalsRejected": stats.dao_statuses["rejected"],
            "awaitingVote": stats.awaiting_vote,
        },
        "cognitiveOptimizations": {
            "campaignsOptimized": stats.optimized,
            "appliedByKind": dict(sorted(stats.applied.items())),
            "totalApplied": sum(stats.applied.values()),
        },
        "spatialVisualization": {
            "universeNodes": delivered,
            "engagementClusters": len(stats.segments),
            "agentCoordinationFlows": reviews,
            "costOptimizationPaths": stats.saving,
        },
    }


@dataclass
class _CampaignStats:
    recipients: int = 0
    estimated: float = 0.0
    budget: float = 0.0
    removed: int = 0
    saving: int = 0
    optimized: int = 0
    dao: int = 0
    proposals: int = 0
    awaiting_vote: int = 0
    dao_statuses: Counter[str | None] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    segments: set[str] = field(default_factory=set)


def _campaign_stats(s: Session, scoped: Callable[[Select[Any]], Select[Any]]) -> _CampaignStats:
    """Sums of the campaigns' summary columns (models.summary_of): a few aggregate queries, whatever the window
    holds. Kinds and segments are grouped by their sorted lists, of which there are few distinct ones."""
    st = _CampaignStats()
    sums = s.execute(scoped(select(
        func.coalesce(func.sum(Campaign.recipient_count), 0), func.coalesce(func.sum(Campaign.estimated_cost_usd), 0.0),
        func.coalesce(func.sum(Campaign.budget_usd), 0.0), func.coalesce(func.sum(Campaign.recipients_removed), 0),
        func.count().filter(Campaign.saves), func.count().filter(Campaign.optimized)))).one()
    st.recipients, st.estimated, st.budget, st.removed, st.saving, st.optimized = sums
    kinds_query = scoped(select(Campaign.applied_kinds, func.count())).group_by(Campaign.applied_kinds)
    for kinds, count in s.execute(kinds_query):
        for kind in filter(None, (kinds or "").split("\n")):
            st.applied[kind] += count
    for (segments,) in s.execute(scoped(select(Campaign.segments).distinct())):
        st.segments.update(filter(None, (segments or "").split("\n")))
    awaiting = func.count().filter(Campaign.stage.in_(("dao_submit", "dao_vote")))
    for status, count, proposals, waiting in s.execute(scoped(
            select(Campaign.dao_status, func.count(), func.count(Campaign.dao_proposal_id), awaiting))
            .where(Campaign.requires_dao.is_(True)).group_by(Campaign.dao_status)):
        st.dao += count
        st.proposals += proposals
        st.dao_statuses[status] += count
        st.awaiting_vote += waiting
    return st


def _agent_performance(s: Session, ids: Any) -> tuple[dict[str, dict[str, Any]], int]:
    """Per agent: reviews by status, rejections it recommended, and decisions taken by a human."""
    columns = (Approval.agent, Approval.role, Approval.status, Approval.recommendation, Approval.decided_by_role)
    rows = s.execute(select(*columns, func.count()).where(Approval.campaign_id.in_(ids)).group_by(*columns)).all()
    per_agent: dict[str, dict[str, Any]] = {}
    for agent, role, status, recommendation, decided_by_role, count in rows:
        row = per_agent.setdefault(agent, {"role": role, "reviews": 0, "approved": 0, "rejected": 0, "pending": 0,
                                           "cancelled": 0, "recommendedReject": 0, "humanDecisions": 0})
        row["reviews"] += count
        row[status] += count
        row["recommendedReject"] += count if recommendation == "reject" else 0
        row["humanDecisions"] += count if decided_by_role not in (None, "agent") else 0
    for row in per_agent.values():
        row["approvalRate"] = _ratio(row["approved"], row["approved"] + row["rejected"])
    return per_agent, sum(r["reviews"] for r in per_agent.values())


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

    campaign_q = select(Campaign.stage, func.count()).group_by(Campaign.stage)
    if not sees_all:
        campaign_q = campaign_q.where(Campaign.owner_id == user_id)
    stages: Counter[str] = Counter(dict(s.execute(campaign_q).all()))
    reviewed = sum(n for st, n in stages.items() if st not in ("received", "optimized", "agent_review"))
    validations_q = select(func.count(), func.count().filter(Activity.approved)).where(
        Activity.kind == "email_validation")
    if not sees_all:
        validations_q = validations_q.where(Activity.owner_id == user_id)
    validations, valid = s.execute(validations_q).one()
    decided = s.execute(
        visible_approvals(select(Approval.created_at, Approval.decided_at), role, user_id).where(
            Approval.decided_at.is_not(None), Approval.decided_by_role != "agent"
        )
    ).all()
    waits = [(decided_at - created_at).total_seconds() for created_at, decided_at in decided
             if decided_at is not None and created_at is not None]
    return {
        "activeAgents": list(active),
        "pendingApprovals": [approval_view(a) for a in pending],
        "recentActivity": [
            {"type": a.kind, "campaignId": a.campaign_id, "summary": a.summary, "timestamp": iso(a.created_at)}
            for a in recent
        ],
        "performanceMetrics": {
            "campaignApprovalRate": _ratio(reviewed - stages["rejected"], reviewed),
            "emailValidationRate": _ratio(valid, validations),
            "avgHumanDecisionSeconds": round(sum(waits) / len(waits), 3) if waits else None,
            "pendingApprovalCount": len(pending),
            "totalEvents": s.scalar(count_q) or 0,
        },
    }
