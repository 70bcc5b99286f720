"""Request bodies of the governance API, in the 371OS field names. Invalid input is a 422 naming the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from reference371os.governance.rules import ProposalType, VoteOption
from reference371os.governance.signing import normalize_address

Name = Field(min_length=1, max_length=200)


class ExecutionDetails(BaseModel):
    phases: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    dependencies: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    success_criteria: list[str] = Field(default_factory=list, max_length=100)
    risk_mitigation: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    resource_requirements: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class Timeline(BaseModel):
    review_period_days: int = Field(0, ge=0, le=365)
    voting_period_days: int = Field(7, ge=0, le=90)  # 0: the policy's default (7 days)
    key_milestones: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class VotingConfigRequest(BaseModel):
    # Only a stricter quorum or threshold than the policy's is honoured.
    quorum_percentage: float | None = Field(None, ge=0, le=100)
    approval_threshold_percentage: float | None = Field(None, ge=0, le=100)


class CreateProposal(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    type: ProposalType
    proposer: str = Name
    execution_details: ExecutionDetails = Field(default_factory=ExecutionDetails)
    timeline: Timeline = Field(default_factory=Timeline)
    stakeholders: list[str] = Field(default_factory=list, max_length=100)
    budget_request: dict[str, Any] | None = None
    voting_config: VotingConfigRequest | None = None
    emergency_proposal: bool = False


class SubmitProposal(BaseModel):
    submitted_by: str = Name


class CastVote(BaseModel):
    proposal_id: str = Field(min_length=1, max_length=64)
    voter_address: str
    vote_option: VoteOption
    signature: str = Field(min_length=1, max_length=140)
    reason: str | None = Field(None, max_length=5_000)
    # Delegation is not enabled in this DAO: a non-empty list is refused rather than silently ignored.
    delegated_votes: list[dict[str, Any]] | None = None

    @field_validator("delegated_votes")
    @classmethod
    def _no_delegation(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value:
            raise ValueError("vote delegation is not enabled in this DAO")
        return value

    @field_validator("voter_address")
    @classmethod
    def _address(cls, value: str) -> str:
        return normalize_address(value)


class HumanDecision(BaseModel):
    approved_by: str = Name
    reasoning: str | None = Field(None, max_length=5_000)
    conditions: list[str] = Field(default_factory=list, max_length=100)
    modifications: list[str] = Field(default_factory=list, max_length=100)
    escalation_level: Literal["standard", "high_priority", "emergency"] = "standard"


class RegisterVoter(BaseModel):
    address: str
    role: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    # Power 0 keeps the voter on record without a say in proposals that start voting afterwards.
    power: int = Field(ge=0, le=1_000_000_000)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return normalize_address(value)
