"""The conduit's tables. Every workflow step is a committed row change, so a restart resumes where it stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference371os.kit.db import Base


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class Campaign(Base):
    __tablename__ = "conduit_campaigns"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(Text)
    template_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sender: Mapped[str] = mapped_column(String(320))
    priority: Mapped[str] = mapped_column(String(10))
    budget_max_cost: Mapped[float] = mapped_column(Float)
    budget_currency: Mapped[str] = mapped_column(String(8))
    agent_requirements: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    requires_dao: Mapped[bool] = mapped_column(Boolean)
    approval_mode: Mapped[str] = mapped_column(String(10))
    # What the caller sent, and what the optimiser kept (deduplicated, valid addresses only).
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    final_recipients: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    optimizations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    cost_estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # What the analytics dashboard sums, kept beside the JSON it comes from (summary_of, written with it): the
    # dashboard aggregates these in SQL instead of decoding every campaign of its window on each read.
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[str] = mapped_column(Text, default="")  # the recipients' segments, sorted, one per line
    applied_kinds: Mapped[str] = mapped_column(Text, default="")  # the applied optimizations' kinds, sorted
    recipients_removed: Mapped[int] = mapped_column(Integer, default=0)
    estimated_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    budget_usd: Mapped[float] = mapped_column(Float, default=0.0)
    saves: Mapped[bool] = mapped_column(Boolean, default=False)
    optimized: Mapped[bool] = mapped_column(Boolean, default=False)
    coordination: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Workflow state: `stage` is the fine state machine, `status` the contract's coarse view of it.
    stage: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    dao_proposal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dao_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    dao_attempts: Mapped[int] = mapped_column(Integer, default=0)
    dao_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    dao_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    execution_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when a delivery attempt failed for want of the mail server: deferred campaigns queue behind new ones.
    delivery_deferred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    # A listing by status, newest first, and the dashboard's count by status read the first index alone; the
    # dashboard's other window queries the second, never the rows and their large JSON.
    __table_args__ = (Index("ix_conduit_campaigns_status", "status", "created_at", "owner_id"),
                      Index("ix_conduit_campaigns_dashboard", "created_at", "owner_id", "id", "status", "stage",
                            "requires_dao", "dao_status", "dao_proposal_id", "recipient_count", "segments",
                            "applied_kinds", "recipients_removed", "estimated_cost_usd", "budget_usd", "saves",
                            "optimized"))


class Approval(Base):
    """One agent's review of one campaign: decided by the agent (auto) or by a human of its role (manual)."""

    __tablename__ = "conduit_approvals"
    __table_args__ = (UniqueConstraint("campaign_id", "agent", name="uq_conduit_approval_agent"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("conduit_campaigns.id"), index=True)
    agent: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20), index=True)
    recommendation: Mapped[str] = mapped_column(String(10))  # approve | reject
    reasons: Mapped[list[str]] = mapped_column(JSON)
    issues: Mapped[list[str]] = mapped_column(JSON)
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending | approved | rejected | cancelled
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Delivery(Base):
    """One recipient's email of a campaign. Written as 'sending' before the SMTP call, so a restart resends it."""

    __tablename__ = "conduit_deliveries"
    __table_args__ = (UniqueConstraint("campaign_id", "recipient", name="uq_conduit_delivery_recipient"),)

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("conduit_campaigns.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(40))
    agent_validation: Mapped[dict[str, Any]] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    verification_hash: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)  # sending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    anchor_tx: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SingleEmail(Base):
    """An email sent through POST /api/email/send."""

    __tablename__ = "conduit_emails"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(40))
    agent_validation: Mapped[dict[str, Any]] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    optimizations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    delivery_method: Mapped[str] = mapped_column(String(10))
    verification_hash: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)  # sending | delivered | failed
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    anchor_tx: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class Template(Base):
    __tablename__ = "conduit_templates"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    blockchain_verified: Mapped[bool] = mapped_column(Boolean)
    agent_optimized: Mapped[bool] = mapped_column(Boolean)
    cognitive_features: Mapped[list[str]] = mapped_column(JSON)
    seeded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class AgentProfileRow(Base):
    __tablename__ = "conduit_agent_profiles"

    agent_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(30))
    role: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    seeded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Activity(Base):
    """The coordination log behind /api/agent/coordination/status (recent activity, validation rates)."""

    __tablename__ = "conduit_activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    owner_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


TABLES = [
    Campaign.__table__,
    Approval.__table__,
    Delivery.__table__,
    SingleEmail.__table__,
    Template.__table__,
    AgentProfileRow.__table__,
    Activity.__table__,
]


REMOVING_STEPS = ("dedupe-recipients", "drop-invalid-addresses")


def summary_of(final_recipients: list[dict[str, Any]] | None, optimizations: list[dict[str, Any]] | None,
               cost_estimate: dict[str, Any] | None) -> dict[str, Any]:
    """The dashboard's columns of a campaign, from its final recipients, optimizations and cost estimate."""
    recipients, steps, cost = final_recipients or [], optimizations or [], cost_estimate or {}
    return {
        "recipient_count": len(recipients),
        "segments": "\n".join(sorted({r["segment"] for r in recipients if r.get("segment")})),
        "applied_kinds": "\n".join(sorted(o["kind"] for o in steps if o["applied"])),
        "recipients_removed": sum(len(o.get("details", {}).get("removed", [])) for o in steps
                                  if o["kind"] in REMOVING_STEPS),
        "estimated_cost_usd": float(cost.get("estimatedCostUsd") or 0),
        "budget_usd": float(cost.get("budgetUsd") or 0),
        "saves": float(cost.get("projectedSavingsUsd") or 0) > 0,
        "optimized": bool(steps),
    }
