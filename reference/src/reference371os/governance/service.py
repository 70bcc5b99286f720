"""The proposal lifecycle on the database: each operation is one transaction, committed before the answer.

draft -> submitted -> voting_active -> (close) -> pending_human_approval -> executed
                                              \\-> rejected (vote failed)      \\-> rejected (human)
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from typing import Any

from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference371os.config import ServiceConfig
from reference371os.governance import chain
from reference371os.governance.models import (
    Decision,
    Event,
    Proposal,
    Vote,
    Voter,
    VotingResult,
    aware,
    iso,
    now,
)
from reference371os.governance.rules import (
    APPROVER_ROLES,
    OFFICER_ROLES,
    PROPOSAL_TYPES,
    STATUSES,
    VOTE_OPTIONS,
    Tally,
    effective_voting_config,
    policy_for,
    tally,
)
from reference371os.governance.schemas import CastVote, CreateProposal, HumanDecision, RegisterVoter
from reference371os.governance.signing import VOTE_MESSAGE_FORMAT, InvalidSignatureError, recover_voter
from reference371os.governance.views import proposal_view, result_view, vote_view, voter_view
from reference371os.kit.auth import Caller, require_role
from reference371os.kit.db import Database


def proposal_not_found(proposal_id: str) -> HTTPException:
    return HTTPException(404, f"Proposal {proposal_id} not found")


def new_proposal_id() -> str:
    return f"PROP-{_base36(int(time.time() * 1000))}-{secrets.token_hex(3)}".upper()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


class Governance:
    def __init__(self, db: Database, config: ServiceConfig) -> None:
        self.db = db
        self.config = config
        self.policy = policy_for(config.node_env)
        # Fault switches that bring back the 371OS of today.
        self.guards = not config.fault("dao-no-guards")
        self.verify_signatures = not config.fault("unsigned-votes")
        # SQLite ignores FOR UPDATE and pysqlite begins a transaction only at the first write, so a
        # check-then-write could interleave; one writer at a time in this process closes that gap.
        self._serial: AbstractContextManager[Any] = (
            threading.Lock() if db.engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A transaction that changes state: serialised on SQLite, row-locked (FOR UPDATE) on PostgreSQL."""
        with self._serial, self.db.session() as s:
            yield s

    # ---- proposals -------------------------------------------------------------------------------

    def create(self, body: CreateProposal, caller: Caller) -> dict[str, Any]:
        with self._write() as s:
            p = self.add_proposal(s, body, created_by=caller.user_id)
            return proposal_view(p)

    def add_proposal(
        self, s: Session, body: CreateProposal, *, created_by: str, proposal_id: str | None = None,
        seeded: bool = False,
    ) -> Proposal:
        """Stores a draft (used by the API and by seeding)."""
        requested = body.voting_config.model_dump(exclude_none=True) if body.voting_config else None
        details = body.execution_details.model_dump()
        p = Proposal(
            id=proposal_id or new_proposal_id(),
            title=body.title,
            description=body.description,
            type=body.type,
            status="draft",
            proposer=body.proposer,
            execution_details=details,
            timeline=body.timeline.model_dump(),
            budget_request=body.budget_request,
            voting_config=effective_voting_config(
                self.policy, requested, body.emergency_proposal, body.timeline.voting_period_days
            ),
            stakeholders=body.stakeholders,
            impacted_agents=_impacted_agents(details),
            emergency=body.emergency_proposal,
            seeded=seeded,
            created_by=created_by,
        )
        s.add(p)
        s.flush()
        p.transaction_hash = chain.record_on_chain(
            "proposal", p.id, {"title": p.title, "type": p.type, "voting_config": p.voting_config,
                               "emergency": p.emergency}
        )
        self._event(s, p.id, "proposal_created", created_by, {"title": p.title, "type": p.type, "seeded": seeded})
        return p

    def get(self, proposal_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            p = self._proposal(s, proposal_id)
            return self._views(s, [p])[0]

    def query(
        self, *, status: str | None, type_: str | None, proposer: str | None, voting_active: bool | None,
        page: int, limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        q = select(Proposal)
        if status and status != "all":
            q = q.where(Proposal.status == status)
        if type_:
            q = q.where(Proposal.type == type_)
        if proposer:
            q = q.where(Proposal.proposer == proposer)
        if voting_active is True:
            q = q.where(Proposal.status == "voting_active")
        elif voting_active is False:
            q = q.where(Proposal.status != "voting_active")
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(Proposal.seq).offset((page - 1) * limit).limit(limit)).all()
            return self._views(s, list(rows)), total

    def submit(self, proposal_id: str, submitted_by: str, caller: Caller) -> dict[str, Any]:
        with self._write() as s:
            p = self._proposal(s, proposal_id, lock=True)
            self._require_status(p, "submit", "draft")
            p.status = "submitted"
            p.submitted_at = p.updated_at = now()
            p.submitted_by = submitted_by
            self._event(s, p.id, "proposal_submitted", caller.user_id, {"submitted_by": submitted_by})
            return self._views(s, [p])[0]

    def start_voting(self, proposal_id: str, caller: Caller) -> dict[str, Any]:
        require_role(caller, *OFFICER_ROLES)
        with self._write() as s:
            p = self._proposal(s, proposal_id, lock=True)
            self._require_status(p, "start voting on", "submitted")
            self.open_voting(s, p, caller.user_id)
            return self._views(s, [p])[0]

    def open_voting(self, s: Session, p: Proposal, by: str) -> None:
        # Voting power is frozen now: registry changes during the vote do not move its quorum.
        snapshot = {v.address: v.power for v in s.scalars(select(Voter).where(Voter.power > 0))}
        if not snapshot:
            raise HTTPException(409, "the voter registry is empty: register voters before voting starts")
        started = now()
        p.status = "voting_active"
        p.voter_snapshot = snapshot
        p.voting_starts_at = p.updated_at = started
        p.voting_ends_at = started + timedelta(hours=int(p.voting_config.get("voting_period_hours", 168)))
        self._event(s, p.id, "voting_started", by, {"eligible_power": sum(snapshot.values())})

    def close_voting(self, proposal_id: str, caller: Caller) -> dict[str, Any]:
        require_role(caller, *OFFICER_ROLES)
        with self._write() as s:
            p = self._proposal(s, proposal_id, lock=True)
            self._require_status(p, "close voting on", "voting_active")
            t = self._tally(s, p)
            closed = now()
            outcome = "passed" if t.passed else "failed"
            result = s.get(VotingResult, p.id) or VotingResult(proposal_id=p.id)
            result.outcome = outcome
            result.tally = t.as_dict()
            result.execution_authorized = False
            result.closed_by = caller.user_id
            result.closed_at = closed
            s.add(result)
            s.flush()
            result.transaction_hash = chain.record_on_chain("result", p.id, {"outcome": outcome, **result.tally})
            p.status = "pending_human_approval" if t.passed else "rejected"
            p.human_approval_status = "pending" if t.passed else None
            p.voting_closed_at = p.updated_at = closed
            self._event(s, p.id, "voting_ended", caller.user_id, {"outcome": outcome, "reason": t.reason})
            if t.passed:
                self._event(s, p.id, "human_approval_requested", "governance_system", {})
            return self._views(s, [p])[0]

    def results(self, proposal_id: str) -> dict[str, Any]:
        """A pure read: the stored tally after close, a live one while voting is open."""
        with self.db.session() as s:
            p = self._proposal(s, proposal_id)
            stored = s.get(VotingResult, p.id)
            if stored is not None:
                return result_view(stored, p)
            if p.status != "voting_active":
                raise HTTPException(404, f"No voting results available for proposal {p.id}: it is {p.status}")
            t = self._tally(s, p)
            return {
                "proposal_id": p.id,
                "status": p.status,
                "final": False,
                "outcome": "in_progress",
                "projected_outcome": "passed" if t.passed else "failed",
                **t.as_dict(),
                "execution_authorized": False,
                "voting_ends_at": iso(p.voting_ends_at),
            }

    def decide(self, proposal_id: str, decision: str, body: HumanDecision, caller: Caller) -> dict[str, Any]:
        require_role(caller, *APPROVER_ROLES)
        with self._write() as s:
            p = self._proposal(s, proposal_id, lock=True)
            if self.guards and p.status != "pending_human_approval":
                raise HTTPException(
                    409, f"Proposal {p.id} is not pending human approval: it is {p.status}"
                )
            decided = now()
            row = Decision(
                proposal_id=p.id,
                decision=decision,
                approved_by=body.approved_by,
                decided_by_user=caller.user_id,
                decided_by_role=caller.role,
                reasoning=body.reasoning,
                conditions=body.conditions if decision == "approved" else [],
                modifications=body.modifications if decision == "rejected" else [],
                escalation_level=body.escalation_level,
                decided_at=decided,
            )
            s.add(row)
            s.flush()
            row.transaction_hash = chain.record_on_chain(
                "decision", p.id, {"decision": decision, "approved_by": body.approved_by}
            )
            p.human_approval_status = decision
            p.human_decided_at = p.updated_at = decided
            if decision == "approved":
                p.status = "executed"
                p.executed_at = decided
                result = s.get(VotingResult, p.id)
                if result is not None:
                    result.execution_authorized = True
            else:
                p.status = "rejected"
            event = "human_approval_granted" if decision == "approved" else "human_approval_rejected"
            self._event(s, p.id, event, caller.user_id, {"approved_by": body.approved_by, "reasoning": body.reasoning})
            return self._views(s, [p])[0]

    # ---- votes -----------------------------------------------------------------------------------

    def cast_vote(self, body: CastVote, caller: Caller) -> dict[str, Any]:
        with self._write() as s:
            p = self._proposal(s, body.proposal_id, lock=True)
            if p.status != "voting_active":
                raise HTTPException(409, f"Voting is not active for proposal {p.id}: it is {p.status}")
            ends = aware(p.voting_ends_at)
            if ends is not None and now() > ends:
                raise HTTPException(409, f"Voting on proposal {p.id} ended at {iso(ends)}")
            if self.verify_signatures:
                self._check_signature(body)
            voter = s.get(Voter, body.voter_address)
            if voter is None:
                raise HTTPException(403, f"voter {body.voter_address} is not registered")
            power = (p.voter_snapshot or {}).get(voter.address) if p.voter_snapshot is not None else voter.power
            if not power:
                raise HTTPException(
                    403, f"voter {voter.address} holds no voting power on proposal {p.id} (registered after it opened?)"
                )
            duplicate = s.scalar(
                select(Vote.id).where(Vote.proposal_id == p.id, Vote.voter_address == voter.address)
            )
            if duplicate is not None:
                raise HTTPException(400, f"Voter {voter.address} has already voted on proposal {p.id}")
            vote = Vote(
                proposal_id=p.id,
                voter_address=voter.address,
                vote_option=body.vote_option,
                voting_power=int(power),
                reason=body.reason,
                signature=body.signature,
                signature_verified=self.verify_signatures,
                cast_by=caller.user_id,
            )
            s.add(vote)
            try:
                s.flush()
            except IntegrityError as exc:  # a concurrent duplicate lost the race
                raise HTTPException(400, f"Voter {voter.address} has already voted on proposal {p.id}") from exc
            vote.transaction_hash = chain.record_on_chain(
                "vote", f"{p.id}:{voter.address}", {"option": vote.vote_option, "power": vote.voting_power}
            )
            self._event(s, p.id, "vote_cast", voter.address, {"vote_option": vote.vote_option, "power": power})
            return vote_view(vote)

    def votes(self, proposal_id: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            p = self._proposal(s, proposal_id)
            return [vote_view(v) for v in s.scalars(select(Vote).where(Vote.proposal_id == p.id).order_by(Vote.id))]

    # ---- voter registry --------------------------------------------------------------------------

    def register_voter(self, body: RegisterVoter, caller: Caller) -> tuple[dict[str, Any], bool]:
        require_role(caller, "admin")
        with self._write() as s:
            voter = s.get(Voter, body.address)
            created = voter is None
            if voter is None:
                voter = Voter(address=body.address, registered_by=caller.user_id, seeded=False)
                s.add(voter)
            voter.role, voter.power, voter.updated_at = body.role, body.power, now()
            self._event(s, None, "voter_registered", caller.user_id, {"address": body.address, "power": body.power})
            s.flush()
            return voter_view(voter), created

    def voters(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [voter_view(v) for v in s.scalars(select(Voter).order_by(Voter.power.desc(), Voter.address))]

    # ---- overview --------------------------------------------------------------------------------

    def config_view(self) -> dict[str, Any]:
        with self.db.session() as s:
            voters, power = s.execute(
                select(func.count(Voter.address), func.coalesce(func.sum(Voter.power), 0)).where(Voter.power > 0)
            ).one()
        return {
            "node_env": self.policy.node_env,
            "supported_proposal_types": list(PROPOSAL_TYPES),
            "proposal_statuses": list(STATUSES),
            "vote_options": list(VOTE_OPTIONS),
            "voting_mechanisms": ["weighted_voting"],
            "default_voting_period_hours": self.policy.voting_period_hours,
            "default_quorum_percentage": self.policy.quorum_percentage,
            "default_approval_threshold": self.policy.approval_threshold_percentage,
            "review_period_days": self.policy.review_period_days,
            "quorum_basis": "participating power / total registered power when voting opened",
            "threshold_basis": "power for / (for + against + veto); abstentions count towards quorum only",
            "veto_rule": "any veto fails an emergency proposal; elsewhere a veto counts as against",
            "delegation_allowed": False,
            "signature_scheme": "EIP-191 personal_sign",
            "vote_message_format": VOTE_MESSAGE_FORMAT,
            "signature_verification": self.verify_signatures,
            "state_guards": self.guards,
            "approver_roles": ["admin", *APPROVER_ROLES],
            "voting_officer_roles": ["admin", *OFFICER_ROLES],
            "registered_voters": int(voters),
            "total_voting_power": int(power),
            "chain_id": self.config.chain_id,
        }

    def stats(self) -> dict[str, Any]:
        with self.db.session() as s:
            by_status = dict(s.execute(select(Proposal.status, func.count()).group_by(Proposal.status)).all())
            by_type = dict(s.execute(select(Proposal.type, func.count()).group_by(Proposal.type)).all())
            votes_cast = s.scalar(select(func.count(Vote.id))) or 0
            votes_by_option = dict(s.execute(select(Vote.vote_option, func.count()).group_by(Vote.vote_option)).all())
            outcomes = Counter(s.scalars(select(VotingResult.outcome)))
            rates = [float(t.get("participation_rate", 0)) for t in s.scalars(select(VotingResult.tally))]
            seeded = s.scalar(select(func.count()).select_from(Proposal).where(Proposal.seeded.is_(True))) or 0
            voters, power = s.execute(
                select(func.count(Voter.address), func.coalesce(func.sum(Voter.power), 0)).where(Voter.power > 0)
            ).one()
        return {
            "total_proposals": sum(by_status.values()),
            "active_proposals": by_status.get("voting_active", 0),
            "pending_human_approval": by_status.get("pending_human_approval", 0),
            "executed_proposals": by_status.get("executed", 0),
            "rejected_proposals": by_status.get("rejected", 0),
            "completed_proposals": by_status.get("executed", 0) + by_status.get("rejected", 0),
            "seeded_proposals": seeded,
            "total_votes_cast": votes_cast,
            "votes_by_option": {o: votes_by_option.get(o, 0) for o in VOTE_OPTIONS},
            "votes_closed": sum(outcomes.values()),
            "votes_passed": outcomes.get("passed", 0),
            "votes_failed": outcomes.get("failed", 0),
            "average_participation_rate": round(sum(rates) / len(rates), 4) if rates else 0.0,
            "proposals_by_type": {t: by_type.get(t, 0) for t in PROPOSAL_TYPES},
            "proposals_by_status": {st: by_status.get(st, 0) for st in STATUSES},
            "registered_voters": int(voters),
            "total_voting_power": int(power),
        }

    # ---- helpers ---------------------------------------------------------------------------------

    def _proposal(self, s: Session, proposal_id: str, *, lock: bool = False) -> Proposal:
        q = select(Proposal).where(Proposal.id == proposal_id)
        if lock:
            # Serialises concurrent transitions and votes on one proposal (PostgreSQL; SQLite locks the file).
            q = q.with_for_update()
        p = s.scalars(q).first()
        if p is None:
            raise proposal_not_found(proposal_id)
        return p

    def _require_status(self, p: Proposal, action: str, *allowed: str) -> None:
        if self.guards and p.status not in allowed:
            raise HTTPException(
                409, f"cannot {action} proposal {p.id}: it is {p.status}, and must be {' or '.join(allowed)}"
            )

    def _check_signature(self, body: CastVote) -> None:
        try:
            signer = recover_voter(body.proposal_id, body.vote_option, body.signature)
        except InvalidSignatureError as exc:
            raise HTTPException(400, f"invalid vote signature: {exc}") from exc
        if signer != body.voter_address:
            raise HTTPException(
                400, "invalid vote signature: it was not made by voter_address over this proposal and option"
            )

    def _tally(self, s: Session, p: Proposal) -> Tally:
        rows = s.execute(select(Vote.vote_option, Vote.voting_power).where(Vote.proposal_id == p.id)).all()
        if p.voter_snapshot is not None:
            total = sum(p.voter_snapshot.values())
        else:
            total = s.scalar(select(func.coalesce(func.sum(Voter.power), 0))) or 0
        return tally([(o, int(w)) for o, w in rows], int(total), p.voting_config, p.emergency)

    def _views(self, s: Session, proposals: list[Proposal]) -> list[dict[str, Any]]:
        ids = [p.id for p in proposals]
        if not ids:
            return []
        results = {r.proposal_id: r for r in s.scalars(select(VotingResult).where(VotingResult.proposal_id.in_(ids)))}
        decisions: dict[str, Decision] = {}
        for d in s.scalars(select(Decision).where(Decision.proposal_id.in_(ids)).order_by(Decision.id)):
            decisions[d.proposal_id] = d  # the latest decision wins
        return [proposal_view(p, results.get(p.id), decisions.get(p.id)) for p in proposals]

    def _event(self, s: Session, proposal_id: str | None, type_: str, by: str, data: dict[str, Any]) -> None:
        s.add(Event(proposal_id=proposal_id, type=type_, triggered_by=by, data=data))


def _impacted_agents(details: dict[str, Any]) -> list[str]:
    agents: list[str] = []
    for phase in details.get("phases", []):
        for agent in phase.get("responsible_agents", []) if isinstance(phase, dict) else []:
            if isinstance(agent, str) and agent not in agents:
                agents.append(agent)
    return agents
