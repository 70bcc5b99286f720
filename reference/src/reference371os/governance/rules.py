"""Governance rules with no I/O: the vocabularies, the policy per NODE_ENV, and the tally of a vote."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

ProposalType = Literal[
    "strategic", "operational", "financial", "governance", "technical", "emergency", "constitutional"
]
VoteOption = Literal["for", "against", "abstain", "veto"]
ProposalStatus = Literal["draft", "submitted", "voting_active", "pending_human_approval", "executed", "rejected"]
PROPOSAL_TYPES: tuple[str, ...] = get_args(ProposalType)
VOTE_OPTIONS: tuple[str, ...] = get_args(VoteOption)
STATUSES: tuple[str, ...] = get_args(ProposalStatus)

# Who may move a proposal into and out of voting, and who may decide after the vote (human in the loop).
OFFICER_ROLES = ("ceo", "cfo", "clo")
APPROVER_ROLES = ("ceo",)


@dataclass(frozen=True)
class Policy:
    """Quorum and threshold of the 371OS config, chosen by NODE_ENV as 371OS does."""

    node_env: str
    quorum_percentage: int
    approval_threshold_percentage: int
    review_period_days: int
    voting_period_hours: int = 168


def policy_for(node_env: str) -> Policy:
    if node_env == "development":
        return Policy(node_env, quorum_percentage=10, approval_threshold_percentage=51, review_period_days=0)
    return Policy(node_env, quorum_percentage=20, approval_threshold_percentage=66, review_period_days=3)


def effective_voting_config(
    policy: Policy, requested: dict[str, Any] | None, emergency: bool, voting_period_days: int = 0
) -> dict[str, Any]:
    """The proposal's voting config: a proposer may ask for a stricter quorum or threshold, never a laxer one,
    and sets the length of the vote through its timeline (0 keeps the policy's default)."""
    requested = requested or {}
    quorum = max(policy.quorum_percentage, _percentage(requested.get("quorum_percentage")))
    threshold = max(policy.approval_threshold_percentage, _percentage(requested.get("approval_threshold_percentage")))
    return {
        "voting_mechanism": "weighted_voting",
        "quorum_percentage": quorum,
        "approval_threshold_percentage": threshold,
        "voting_power_calculation": {"base_mechanism": "registry_weighted"},
        "delegation_allowed": False,
        "voting_period_hours": voting_period_days * 24 or policy.voting_period_hours,
        "veto_enabled": emergency,
        "signature_scheme": "eip191_personal_sign",
    }


def _percentage(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(number, 0.0), 100.0)


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]
    power: dict[str, int]
    total_power: int
    quorum_percentage: float
    threshold_percentage: float
    emergency: bool

    @property
    def participating_power(self) -> int:
        return sum(self.power.values())

    @property
    def decisive_power(self) -> int:
        # Abstentions count towards quorum but not towards approval; a veto counts as a vote against.
        return self.power["for"] + self.power["against"] + self.power["veto"]

    @property
    def quorum_reached(self) -> bool:
        return self.total_power > 0 and self.participating_power * 100 >= self.quorum_percentage * self.total_power

    @property
    def threshold_met(self) -> bool:
        return self.decisive_power > 0 and self.power["for"] * 100 >= self.threshold_percentage * self.decisive_power

    @property
    def vetoed(self) -> bool:
        # As in 371OS: a veto only binds emergency proposals.
        return self.emergency and self.power["veto"] > 0

    @property
    def reason(self) -> str:
        if self.vetoed:
            return "vetoed"
        if not self.quorum_reached:
            return "quorum_not_met"
        if not self.threshold_met:
            return "threshold_not_met"
        return "approved"

    @property
    def passed(self) -> bool:
        return self.reason == "approved"

    def as_dict(self) -> dict[str, Any]:
        participation = self.participating_power / self.total_power if self.total_power else 0.0
        approval = self.power["for"] / self.decisive_power if self.decisive_power else 0.0
        return {
            "total_votes_cast": sum(self.counts.values()),
            "unique_voters": sum(self.counts.values()),
            "votes_for": self.counts["for"],
            "votes_against": self.counts["against"],
            "votes_abstain": self.counts["abstain"],
            "votes_veto": self.counts["veto"],
            "power_for": self.power["for"],
            "power_against": self.power["against"],
            "power_abstain": self.power["abstain"],
            "power_veto": self.power["veto"],
            "participating_power": self.participating_power,
            "total_power": self.total_power,
            "total_voting_power": self.participating_power,
            "participation": round(participation, 6),
            "participation_rate": round(participation * 100, 4),
            "approval_ratio": round(approval, 6),
            "quorum": self.quorum_percentage / 100,
            "quorum_percentage": self.quorum_percentage,
            "threshold": self.threshold_percentage / 100,
            "approval_threshold_percentage": self.threshold_percentage,
            "quorum_reached": self.quorum_reached,
            "quorum_achieved": self.quorum_reached,
            "approval_threshold_met": self.threshold_met,
            "vetoed": self.vetoed,
            "outcome_reason": self.reason,
            "delegated_votes_count": 0,
        }


def tally(
    votes: Iterable[tuple[str, int]], total_power: int, voting_config: dict[str, Any], emergency: bool
) -> Tally:
    counts = dict.fromkeys(VOTE_OPTIONS, 0)
    power = dict.fromkeys(VOTE_OPTIONS, 0)
    for option, weight in votes:
        counts[option] += 1
        power[option] += weight
    return Tally(
        counts=counts,
        power=power,
        total_power=total_power,
        quorum_percentage=float(voting_config.get("quorum_percentage", 100)),
        threshold_percentage=float(voting_config.get("approval_threshold_percentage", 100)),
        emergency=emergency,
    )
