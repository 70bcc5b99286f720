"""The campaign state machine. Every transition is one committed transaction, so a restart resumes it.

    received → optimized → agent_review (manual) → approved → dao_submit → dao_vote → delivering → completed
                                    ↘ rejected        ↘ scheduled ↗        ↘ rejected          ↘ failed

Local steps (no network) run under one process-wide lock, from the request that caused them or from the
worker that recovers them after a restart. Steps that talk to governance or SMTP run in the worker only.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference371os.conduit.agents import (
    COORDINATOR,
    REVIEWERS,
    AgentProfile,
    CampaignFacts,
    Verdict,
    approve_all,
    review_campaign,
)
from reference371os.conduit.anchoring import AnchorHook, AnchorRequest, PendingAnchors, no_anchor
from reference371os.conduit.governance import (
    SERVICE_CALLER,
    GovernanceClient,
    GovernanceRefused,
    GovernanceUnavailable,
    ProposalNotFound,
    campaign_marker,
    proposal_payload,
)
from reference371os.conduit.mail import (
    MailServerUnreachable,
    PermanentDeliveryError,
    SmtpConnection,
    TransientDeliveryError,
    VerifiedMail,
    canonical_content,
    canonical_subject,
    make_message_id,
    render,
)
from reference371os.conduit.models import Activity, Approval, Campaign, Delivery, Template, iso, now, summary_of
from reference371os.conduit.optimizer import optimize_campaign
from reference371os.conduit.schemas import CreateCampaign
from reference371os.config import ServiceConfig
from reference371os.kit.auth import Caller
from reference371os.kit.db import Database

RECEIVED, OPTIMIZED, AGENT_REVIEW, APPROVED = "received", "optimized", "agent_review", "approved"
DAO_SUBMIT, DAO_VOTE, SCHEDULED, DELIVERING = "dao_submit", "dao_vote", "scheduled", "delivering"
COMPLETED, REJECTED, FAILED = "completed", "rejected", "failed"
STATUS_OF = {
    RECEIVED: "pending_approval",
    OPTIMIZED: "pending_approval",
    AGENT_REVIEW: "pending_approval",
    APPROVED: "pending_approval",
    DAO_SUBMIT: "pending_approval",
    DAO_VOTE: "pending_approval",
    SCHEDULED: "scheduled",
    DELIVERING: "executing",
    COMPLETED: "completed",
    REJECTED: "rejected",
    FAILED: "failed",
}
LOCAL_STAGES = (RECEIVED, OPTIMIZED, APPROVED, SCHEDULED)
WORK_STAGES = (*LOCAL_STAGES, DAO_SUBMIT, DAO_VOTE, DELIVERING)
DEFAULT_SENDER = "campaigns@conduit.371os.local"
DAO_POLL_S = 0.25
MAX_DAO_POLL_S = 2.0
MAX_BACKOFF_S = 5.0
SENDS_PER_PASS = 200  # per campaign and worker pass, so one big campaign does not starve the others


class CampaignExists(Exception):
    pass


class ApprovalNotFound(Exception):
    pass


class ApprovalForbidden(Exception):
    pass


class ApprovalAlreadyDecided(Exception):
    pass


@dataclass(frozen=True)
class Faults:
    drop_email: bool = False
    ignore_agent_rules: bool = False
    skip_dao_vote: bool = False


def backoff(failures: int) -> float:
    """Seconds before the next try after `failures` in a row: 0.2, 0.4, 0.8 ... up to MAX_BACKOFF_S."""
    return min(MAX_BACKOFF_S, 0.2 * 2 ** (failures - 1))


def utc_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Workflow:
    def __init__(
        self,
        db: Database,
        config: ServiceConfig,
        agents: dict[str, AgentProfile],
        log: logging.Logger,
        governance: GovernanceClient | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.agents = agents
        self.log = log
        self.governance = governance or GovernanceClient(config)
        self.faults = Faults(*(config.fault(f) for f in ("drop-email", "agent-rules-ignored", "dao-bypass")))
        self.smtp_host, self.smtp_port = "127.0.0.1", config.ports.smtp
        # The app installs the chain anchor (anchoring.make_anchor_hook); tests may replace it.
        self.anchor_delivery: AnchorHook = no_anchor
        # Delivered and not yet anchored, and the campaigns to finish once theirs are (flush_anchors). The worker's
        # thread alone touches them.
        self.unanchored = PendingAnchors()
        self._finishing: dict[str, int] = {}
        self.lock = threading.RLock()
        # When a campaign's next network step is due (monotonic), for polling and retry back-off.
        self._due: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._polls: dict[str, int] = {}  # unchanged DAO polls in a row, per campaign
        self._mail_due = 0.0  # monotonic time before which no delivery is tried: the mail server is unreachable
        self._mail_failures = 0

    # ---- creation and local steps ------------------------------------------------------------------

    def create(self, caller: Caller, body: CreateCampaign) -> str:
        data = body.campaignData
        campaign = Campaign(
            id=data.id,
            owner_id=caller.user_id,
            owner_role=caller.role,
            name=data.name,
            description=data.description,
            template=data.template,
            sender=data.sender or DEFAULT_SENDER,
            priority=data.priority,
            budget_max_cost=data.budget.maxCost,
            budget_currency=data.budget.currency,
            agent_requirements=data.agentRequirements.model_dump() if data.agentRequirements else None,
            scheduled_at=_aware(data.scheduledAt),  # a naive time is taken as UTC
            requires_dao=body.requiresDAOApproval,
            approval_mode=body.approvalMode,
            recipients=[r.model_dump(exclude_none=True) for r in data.recipients],
            subject=data.subject,
            stage=RECEIVED,
            status=STATUS_OF[RECEIVED],
        )
        try:
            with self.db.session() as s:
                if s.get(Campaign, data.id) is not None:
                    raise CampaignExists(data.id)
                s.add(campaign)
                s.flush()
                self._activity(s, campaign, "campaign_created", f"Campaign {data.name!r} received")
        except IntegrityError as exc:  # a concurrent create of the same id
            raise CampaignExists(data.id) from exc
        self.advance(data.id)
        return data.id

    def advance(self, campaign_id: str) -> None:
        """Runs local steps until the campaign waits for someone (a human, governance, the worker)."""
        steps: dict[str, Callable[[Session, Campaign], bool]] = {
            RECEIVED: self._optimize,
            OPTIMIZED: self._review,
            APPROVED: self._after_approval,
            SCHEDULED: self._start_if_due,
        }
        with self.lock:
            for _ in range(len(steps) + 1):
                with self.db.session() as s:
                    c = s.get(Campaign, campaign_id)
                    step = steps.get(c.stage) if c is not None else None
                    if c is None or step is None or not step(s, c):
                        return

    def _optimize(self, s: Session, c: Campaign) -> bool:
        template = s.get(Template, c.template)
        if template is not None:
            c.template_id = template.id
            subject, body = c.subject or template.subject, template.body
        else:
            subject, body = c.subject or c.name, c.template
        result = optimize_campaign(
            self.agents,
            recipients=c.recipients,
            subject=subject,
            body=body,
            sender=c.sender,
            priority=c.priority,
            budget_max_cost=c.budget_max_cost,
            budget_currency=c.budget_currency,
        )
        c.final_recipients = result.recipients
        c.subject, c.body = result.subject, result.body
        c.optimizations, c.cost_estimate = result.optimizations, result.cost_estimate
        for column, value in summary_of(result.recipients, result.optimizations, result.cost_estimate).items():
            setattr(c, column, value)
        applied = sum(1 for o in result.optimizations if o["applied"])
        self._set_stage(s, c, OPTIMIZED, f"Cognitive optimisation applied {applied} change(s)")
        return True

    def _review(self, s: Session, c: Campaign) -> bool:
        facts = CampaignFacts(
            name=c.name,
            description=c.description,
            template=c.template,
            subject=c.subject or "",
            body=c.body or "",
            sender=c.sender,
            priority=c.priority,
            budget_max_cost=c.budget_max_cost,
            budget_currency=c.budget_currency,
            deliverable_recipients=len(c.final_recipients or []),
        )
        verdicts = approve_all(self.agents) if self.faults.ignore_agent_rules else review_campaign(self.agents, facts)
        auto = c.approval_mode == "auto"
        decided_at = now()
        for v in verdicts:
            s.add(
                Approval(
                    id=f"apr_{uuid.uuid4().hex[:20]}",
                    campaign_id=c.id,
                    agent=v.agent,
                    role=v.role,
                    recommendation="approve" if v.approved else "reject",
                    reasons=v.reasons,
                    issues=v.issues,
                    scores=v.scores,
                    status=("approved" if v.approved else "rejected") if auto else "pending",
                    decided_by=v.agent if auto else None,
                    decided_by_role="agent" if auto else None,
                    decision_reason="; ".join(v.reasons) if auto else None,
                    decided_at=decided_at if auto else None,
                )
            )
        c.coordination = self._coordination(c, verdicts)
        if not auto:
            self._set_stage(s, c, AGENT_REVIEW, "Agent recommendations recorded; awaiting human decisions")
            return True
        rejected = [v for v in verdicts if not v.approved]
        if rejected:
            reason = "; ".join(f"{v.agent}: {', '.join(v.reasons)}" for v in rejected)
            c.error = f"rejected by agents: {reason}"
            self._set_stage(s, c, REJECTED, f"Campaign rejected by {', '.join(v.agent for v in rejected)}", False)
            return False
        self._set_stage(s, c, APPROVED, "Campaign approved by ceo_mimi, cfo_maya and clo_sage", True)
        return True

    def _coordination(self, c: Campaign, verdicts: list[Verdict]) -> dict[str, Any]:
        """The chief of staff's summary: who reviewed, what they recommend, and what comes next."""
        coordinator = self.agents[COORDINATOR]
        return {
            "agent": coordinator.name,
            "agentType": coordinator.agent_type,
            "mode": c.approval_mode,
            "recommendations": {v.agent: "approve" if v.approved else "reject" for v in verdicts},
            "unanimous": all(v.approved for v in verdicts),
            "rulesEvaluated": not self.faults.ignore_agent_rules,
            "nextStep": "dao_proposal" if c.requires_dao else "delivery",
        }

    def _after_approval(self, s: Session, c: Campaign) -> bool:
        if c.requires_dao:
            self._set_stage(s, c, DAO_SUBMIT, "Creating the DAO proposal")
            return True
        return self._schedule_or_start(s, c)

    def _schedule_or_start(self, s: Session, c: Campaign) -> bool:
        scheduled = _aware(c.scheduled_at)
        if scheduled is not None and scheduled > now():
            self._set_stage(s, c, SCHEDULED, f"Delivery scheduled for {iso(scheduled)}")
            return True
        c.execution_started_at = now()
        self._set_stage(s, c, DELIVERING, f"Delivering to {len(c.final_recipients or [])} recipient(s)")
        return True

    def _start_if_due(self, s: Session, c: Campaign) -> bool:
        scheduled = _aware(c.scheduled_at)
        if scheduled is not None and scheduled > now():
            return False
        c.execution_started_at = now()
        self._set_stage(s, c, DELIVERING, f"Scheduled time reached; delivering to {len(c.final_recipients or [])}")
        return True

    # ---- human decisions ---------------------------------------------------------------------------

    def decide(self, approval_id: str, caller: Caller, decision: str, reason: str) -> str:
        """Records a human decision on a pending approval; returns the campaign id."""
        with self.lock:
            with self.db.session() as s:
                a = s.get(Approval, approval_id)
                if a is None:
                    raise ApprovalNotFound(approval_id)
                c = s.get(Campaign, a.campaign_id)
                assert c is not None
                if not caller.is_admin:
                    if caller.role != a.role:
                        raise ApprovalForbidden(f"approval {approval_id} is for role {a.role}, not {caller.role}")
                    if caller.user_id == c.owner_id:
                        raise ApprovalForbidden("the owner of a campaign may not approve it (separation of duties)")
                if a.status != "pending":
                    raise ApprovalAlreadyDecided(f"approval {approval_id} is already {a.status}")
                a.status = "approved" if decision == "approve" else "rejected"
                a.decided_by, a.decided_by_role = caller.user_id, caller.role
                a.decision_reason, a.decided_at = reason, now()
                self._activity(
                    s,
                    c,
                    "approval_decided",
                    f"{a.agent} ({a.role}) {a.status} by {caller.role}: {reason}",
                    a.status == "approved",
                )
                s.flush()
                self._check_review(s, c)
                campaign_id = c.id
            self.advance(campaign_id)
        return campaign_id

    def _check_review(self, s: Session, c: Campaign) -> None:
        if c.stage != AGENT_REVIEW:
            return
        approvals = s.scalars(select(Approval).where(Approval.campaign_id == c.id)).all()
        rejected = [a for a in approvals if a.status == "rejected"]
        if rejected:
            for a in approvals:
                if a.status == "pending":
                    a.status = "cancelled"
            c.error = "rejected by " + "; ".join(f"{a.role} ({a.decided_by}): {a.decision_reason}" for a in rejected)
            self._set_stage(s, c, REJECTED, f"Campaign rejected by {', '.join(a.role for a in rejected)}", False)
        elif approvals and all(a.status == "approved" for a in approvals):
            self._set_stage(s, c, APPROVED, "All approvals granted", True)

    # ---- worker steps ------------------------------------------------------------------------------

    def pending_work(self) -> list[tuple[str, str]]:
        """Campaigns with work, oldest first, except that deliveries deferred by a mail outage queue behind every
        campaign not deferred (as a mail server's deferred queue does). The mark is committed, so it survives a
        restart: a backlog that piled up while the mail server was away never delays a campaign approved since."""
        with self.db.session() as s:
            rows = s.execute(
                select(Campaign.id, Campaign.stage)
                .where(Campaign.stage.in_(WORK_STAGES))
                .order_by(Campaign.delivery_deferred_at.is_not(None), Campaign.created_at)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def is_due(self, campaign_id: str, stage: str) -> bool:
        if stage == DELIVERING and self._mail_due > time.monotonic():
            return False
        return self._due.get(campaign_id, 0.0) <= time.monotonic()

    def _mail_unreachable(self) -> float:
        """No SMTP session could be opened: every delivery waits (one probe per back-off), rather than each
        campaign of a backlog trying the dead server in turn."""
        self._mail_failures += 1
        delay = backoff(self._mail_failures)
        self._mail_due = time.monotonic() + delay
        with self.db.session() as s:
            s.execute(
                update(Campaign)
                .where(Campaign.stage == DELIVERING, Campaign.delivery_deferred_at.is_(None))
                .values(delivery_deferred_at=now())
            )
        return delay

    def _later(self, campaign_id: str, seconds: float) -> None:
        self._due[campaign_id] = time.monotonic() + seconds

    def defer(self, campaign_id: str) -> float:
        """Backs a campaign's next network step off exponentially; returns the delay."""
        n = self._failures.get(campaign_id, 0) + 1
        self._failures[campaign_id] = n
        delay = backoff(n)
        self._later(campaign_id, delay)
        return delay

    def _recovered(self, campaign_id: str) -> None:
        self._failures.pop(campaign_id, None)

    def submit_dao(self, campaign_id: str) -> None:
        with self.lock, self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is None or c.stage != DAO_SUBMIT:
                return
            c.dao_attempts += 1
            attempts, proposal_id = c.dao_attempts, c.dao_proposal_id
            payload = proposal_payload(
                campaign_id=c.id,
                name=c.name,
                description=c.description,
                owner_id=c.owner_id,
                priority=c.priority,
                recipients=len(c.final_recipients or []),
                budget=f"{c.budget_max_cost:g} {c.budget_currency}",
                approvals=[f"{a}: approved" for a in REVIEWERS],
            )
        try:
            if proposal_id is None:
                # After a crash between create and store, find the proposal instead of creating a second one.
                found = (
                    self.governance.find_by_marker(payload["proposer"], campaign_marker(campaign_id))
                    if attempts > 1
                    else None
                )
                proposal = found or self.governance.create_proposal(payload)
                proposal_id = str(proposal["id"])
                with self.lock, self.db.session() as s:
                    c = s.get(Campaign, campaign_id)
                    assert c is not None
                    c.dao_proposal_id, c.dao_status = proposal_id, str(proposal.get("status"))
                    self._activity(s, c, "dao_proposal_created", f"DAO proposal {proposal_id} created")
            proposal = self.governance.get_proposal(proposal_id)
            if proposal.get("status") == "draft":
                proposal = self.governance.submit(proposal_id, SERVICE_CALLER.user_id)
        except GovernanceUnavailable as exc:
            self._dao_error(campaign_id, f"governance unavailable: {exc}")
            return
        except (GovernanceRefused, ProposalNotFound) as exc:
            self._fail(campaign_id, f"governance refused the campaign proposal: {exc}")
            return
        with self.lock, self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is None or c.stage != DAO_SUBMIT:
                return
            c.dao_status, c.dao_error, c.dao_checked_at = str(proposal.get("status")), None, now()
            if self.faults.skip_dao_vote:  # the dao-bypass fault: delivered while the vote is still open
                self._schedule_or_start(s, c)
            else:
                self._set_stage(s, c, DAO_VOTE, f"DAO proposal {proposal_id} submitted; awaiting the vote")
        self._recovered(campaign_id)
        self._later(campaign_id, DAO_POLL_S)

    def poll_dao(self, campaign_id: str) -> None:
        with self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is None or c.stage != DAO_VOTE or c.dao_proposal_id is None:
                return
            proposal_id = c.dao_proposal_id
        try:
            status = str(self.governance.get_proposal(proposal_id).get("status"))
        except GovernanceUnavailable as exc:
            self._dao_error(campaign_id, f"governance unavailable: {exc}")
            return
        except ProposalNotFound:
            self._fail(campaign_id, f"DAO proposal {proposal_id} no longer exists in dao-governance-service")
            return
        except GovernanceRefused as exc:
            self._dao_error(campaign_id, str(exc))
            return
        self._recovered(campaign_id)
        with self.lock:
            with self.db.session() as s:
                c = s.get(Campaign, campaign_id)
                if c is None or c.stage != DAO_VOTE:
                    return
                changed = c.dao_status != status
                # Poll fast while a vote is fresh, slower as it drags on; write only what changed.
                polls = 0 if changed else self._polls.get(campaign_id, 0) + 1
                self._polls[campaign_id] = polls
                self._later(campaign_id, min(MAX_DAO_POLL_S, DAO_POLL_S * 1.05**polls))
                if not changed and c.dao_error is None:
                    return
                c.dao_status, c.dao_error, c.dao_checked_at = status, None, now()
                if status == "executed":
                    self._activity(s, c, "dao_executed", f"DAO proposal {proposal_id} executed", True)
                    self._schedule_or_start(s, c)
                elif status == "rejected":
                    c.error = f"DAO proposal {proposal_id} was rejected"
                    self._set_stage(s, c, REJECTED, c.error, False)
                elif changed:
                    self._activity(s, c, "dao_status", f"DAO proposal {proposal_id} is {status}")
            self.advance(campaign_id)

    def _dao_error(self, campaign_id: str, message: str) -> None:
        delay = self.defer(campaign_id)
        self.log.warning("campaign %s: %s; retrying in %.1f s", campaign_id, message, delay)
        with self.lock, self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is not None:
                c.dao_error, c.dao_checked_at = message[:500], now()

    def _fail(self, campaign_id: str, message: str) -> None:
        self.log.error("campaign %s failed: %s", campaign_id, message)
        with self.lock, self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is not None and c.stage not in (COMPLETED, REJECTED, FAILED):
                c.error = message[:2000]
                self._set_stage(s, c, FAILED, message[:300], False)

    # ---- delivery ----------------------------------------------------------------------------------

    def deliver(self, campaign_id: str, stop: threading.Event) -> None:
        """One pass over a delivering campaign: each recipient's row is committed as 'sending' before the SMTP
        call and marked 'delivered' after it, so a restart resends exactly the rows not delivered."""
        with self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is None or c.stage != DELIVERING:
                return
            recipients = list(c.final_recipients or [])
            rows = {d.recipient.lower(): d for d in s.scalars(select(Delivery).where(Delivery.campaign_id == c.id))}
            approvals = s.scalars(select(Approval).where(Approval.campaign_id == c.id).order_by(Approval.agent)).all()
            validation = {
                "approved": True,
                "campaignId": c.id,
                "mode": c.approval_mode,
                "agents": [
                    {
                        "agent": a.agent,
                        "role": a.role,
                        "decision": a.status,
                        "by": "agent" if a.decided_by_role == "agent" else "human",
                    }
                    for a in approvals
                ],
                "daoProposalId": c.dao_proposal_id,
            }
            campaign = {
                "id": c.id,
                "name": c.name,
                "sender": c.sender,
                "subject": c.subject or "",
                "body": c.body or "",
                "priority": c.priority,
            }
        sent = 0
        with SmtpConnection(self.smtp_host, self.smtp_port) as conn:
            for position, recipient in enumerate(recipients):
                if stop.is_set() or sent >= SENDS_PER_PASS:
                    return
                row = rows.get(recipient["email"].lower())
                if row is not None and row.status in ("delivered", "failed"):
                    continue
                mail = self._mail_for(row, campaign, position, recipient, validation)
                if row is None:
                    row = self._insert_sending(mail, position)
                dropped = self.faults.drop_email and position == len(recipients) - 1
                if not dropped:
                    try:
                        conn.send(mail)
                    except MailServerUnreachable as exc:
                        self._delivery_error(row.id, str(exc), permanent=False)
                        delay = self._mail_unreachable()
                        self.log.warning("mail server unreachable (%s); every delivery waits %.1f s", exc, delay)
                        return
                    except TransientDeliveryError as exc:
                        self._delivery_error(row.id, str(exc), permanent=False, defer_campaign=True)
                        delay = self.defer(campaign_id)
                        self.log.warning(
                            "campaign %s: delivery to the sink failed (%s); retry in %.1f s", campaign_id, exc, delay
                        )
                        return
                    except PermanentDeliveryError as exc:
                        self._delivery_error(row.id, str(exc), permanent=True)
                        continue
                self._mark_delivered(row.id)
                self._mail_failures = 0
                sent += 1
                self.unanchored.add(
                    AnchorRequest(mail.email_id, mail.campaign_id, mail.verification_hash, mail.message_id)
                )
        self._recovered(campaign_id)
        if self.unanchored.holds(campaign_id):
            self._finishing[campaign_id] = len(recipients)
        else:
            self._finish_if_done(campaign_id, len(recipients))

    def _mail_for(
        self,
        row: Delivery | None,
        campaign: dict[str, Any],
        position: int,
        recipient: dict[str, Any],
        validation: dict[str, Any],
    ) -> VerifiedMail:
        if row is not None:  # a resend carries exactly what the first attempt carried
            return VerifiedMail(
                email_id=row.id,
                message_id=row.message_id,
                sender=row.sender,
                recipient=row.recipient,
                subject=row.subject,
                content=row.content,
                timestamp=row.timestamp,
                agent_validation=row.agent_validation,
                metadata=row.meta,
                campaign_id=row.campaign_id,
            )
        meta = recipient.get("metadata") or {}
        values = {k: v for k, v in meta.items() if isinstance(v, str | int | float)}
        values.update(
            name=recipient.get("name") or "there",
            email=recipient["email"],
            segment=recipient.get("segment") or "",
            campaign=campaign["name"],
            sender=campaign["sender"],
        )
        email_id = f"{campaign['id']}:{position}"
        metadata = {"campaignId": campaign["id"], "position": position, "priority": campaign["priority"]}
        if recipient.get("segment"):
            metadata["segment"] = recipient["segment"]
        return VerifiedMail(
            email_id=email_id,
            message_id=make_message_id(email_id),
            sender=campaign["sender"],
            recipient=recipient["email"],
            subject=canonical_subject(render(campaign["subject"], values)),
            content=canonical_content(render(campaign["body"], values)),
            timestamp=utc_iso(),
            agent_validation=validation,
            metadata=metadata,
            campaign_id=campaign["id"],
        )

    def _insert_sending(self, mail: VerifiedMail, position: int) -> Delivery:
        row = Delivery(
            id=mail.email_id,
            campaign_id=mail.campaign_id,
            position=position,
            recipient=mail.recipient,
            sender=mail.sender,
            subject=mail.subject,
            content=mail.content,
            timestamp=mail.timestamp,
            agent_validation=mail.agent_validation,
            meta=mail.metadata,
            verification_hash=mail.verification_hash,
            message_id=mail.message_id,
            status="sending",
            attempts=1,
        )
        with self.db.session() as s:
            s.add(row)
        return row

    def _delivery_error(self, delivery_id: str, message: str, permanent: bool, defer_campaign: bool = False) -> None:
        with self.db.session() as s:
            d = s.get(Delivery, delivery_id)
            if d is not None:
                d.attempts += 1
                d.last_error = message[:500]
                if permanent:
                    d.status = "failed"
                c = s.get(Campaign, d.campaign_id) if defer_campaign else None
                if c is not None and c.delivery_deferred_at is None:
                    c.delivery_deferred_at = now()

    def _mark_delivered(self, delivery_id: str) -> None:
        with self.db.session() as s:
            d = s.get(Delivery, delivery_id)
            if d is not None:
                d.status, d.delivered_at, d.last_error = "delivered", now(), None

    def flush_anchors(self, force: bool = False) -> None:
        """Anchors the delivered emails together once they are due (the worker calls this after each pass, and
        with force when it stops), then finishes the campaigns they ended: a campaign completes with its anchors
        recorded."""
        requests = self.unanchored.take(force)
        if not requests:
            return
        anchored: dict[str, str] = {}
        try:
            anchored = self.anchor_delivery(requests)
        except Exception:  # anchoring must never undo a delivery; anchorTx stays null, which the harness reports
            self.log.exception("anchoring %d delivered email(s) failed", len(requests))
        if anchored:
            with self.db.session() as s:
                for d in s.scalars(select(Delivery).where(Delivery.id.in_(list(anchored)))):
                    d.anchor_tx = anchored[d.id]
        finishing, self._finishing = self._finishing, {}
        for campaign_id, expected in finishing.items():
            self._finish_if_done(campaign_id, expected)

    def _finish_if_done(self, campaign_id: str, expected: int) -> None:
        with self.lock, self.db.session() as s:
            c = s.get(Campaign, campaign_id)
            if c is None or c.stage != DELIVERING:
                return
            statuses = [d.status for d in s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))]
            if len(statuses) < expected or any(st == "sending" for st in statuses):
                return
            delivered = statuses.count("delivered")
            failed = statuses.count("failed")
            c.completed_at = now()
            if expected and delivered == 0:
                c.error = f"all {failed} deliveries failed"
                self._set_stage(s, c, FAILED, c.error, False)
            else:
                self._set_stage(s, c, COMPLETED, f"Delivered {delivered} email(s), {failed} failed", True)

    # ---- bookkeeping -------------------------------------------------------------------------------

    def _set_stage(self, s: Session, c: Campaign, stage: str, summary: str, approved: bool | None = None) -> None:
        c.stage, c.status, c.updated_at = stage, STATUS_OF[stage], now()
        if stage in (COMPLETED, REJECTED, FAILED):
            self._due.pop(c.id, None)
            self._failures.pop(c.id, None)
            self._polls.pop(c.id, None)
        self._activity(s, c, f"campaign_{stage}", summary, approved)

    def _activity(self, s: Session, c: Campaign, kind: str, summary: str, approved: bool | None = None) -> None:
        s.add(Activity(kind=kind, campaign_id=c.id, owner_id=c.owner_id, approved=approved, summary=summary[:1000]))
