"""Tables of the governance service. Every table is prefixed `governance_` (the stack may share one database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from reference371os.kit.db import Base


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC; SQLite hands timestamps back without their zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Proposal(Base):
    __tablename__ = "governance_proposals"
    # seq orders listings stably; id is the public PROP-… identifier.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    proposer: Mapped[str] = mapped_column(String(200), index=True)
    execution_details: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeline: Mapped[dict[str, Any]] = mapped_column(JSON)
    budget_request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    voting_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    stakeholders: Mapped[list[str]] = mapped_column(JSON)
    impacted_agents: Mapped[list[str]] = mapped_column(JSON)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Voting power of each eligible address, frozen when voting starts (address -> power).
    voter_snapshot: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    human_approval_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    voting_starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    voting_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    voting_closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    human_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    transaction_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Vote(Base):
    __tablename__ = "governance_votes"
    __table_args__ = (UniqueConstraint("proposal_id", "voter_address", name="governance_votes_one_per_voter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.id"), index=True)
    voter_address: Mapped[str] = mapped_column(String(42))
    vote_option: Mapped[str] = mapped_column(String(16))
    voting_power: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature: Mapped[str] = mapped_column(String(140))
    signature_verified: Mapped[bool] = mapped_column(Boolean)
    cast_by: Mapped[str] = mapped_column(String(200))
    cast_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    transaction_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Voter(Base):
    """The voter registry: who may vote, and with how much power."""

    __tablename__ = "governance_voters"
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    power: Mapped[int] = mapped_column(Integer)
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class VotingResult(Base):
    """The tally stored when voting closes; GET results reads it and never recomputes it."""

    __tablename__ = "governance_results"
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # passed | failed
    tally: Mapped[dict[str, Any]] = mapped_column(JSON)
    execution_authorized: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    transaction_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Decision(Base):
    """A human approval or rejection after a passed vote."""

    __tablename__ = "governance_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    approved_by: Mapped[str] = mapped_column(String(200))
    decided_by_user: Mapped[str] = mapped_column(String(200))
    decided_by_role: Mapped[str] = mapped_column(String(32))
    reasoning: Mapped[str | None] = mapped_column(Text, nullable=True)
    conditions: Mapped[list[str]] = mapped_column(JSON)
    modifications: Mapped[list[str]] = mapped_column(JSON)
    escalation_level: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    transaction_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Event(Base):
    """Audit trail of every state change, with who caused it."""

    __tablename__ = "governance_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    triggered_by: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


TABLES = [t.__table__ for t in (Proposal, Vote, Voter, VotingResult, Decision, Event)]
