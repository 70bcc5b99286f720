"""POST /api/email/send: one email, validated by the agents, hashed, and delivered to the sink over SMTP."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from reference371os.conduit.agents import EmailFacts, validate_email
from reference371os.conduit.anchoring import AnchorRequest
from reference371os.conduit.mail import (
    PermanentDeliveryError,
    SmtpConnection,
    TransientDeliveryError,
    VerifiedMail,
    canonical_content,
    canonical_subject,
    make_message_id,
)
from reference371os.conduit.models import Activity, SingleEmail, iso, now
from reference371os.conduit.optimizer import optimize_email
from reference371os.conduit.schemas import SendEmail
from reference371os.conduit.workflow import DEFAULT_SENDER, Workflow, utc_iso
from reference371os.kit.auth import Caller

RELAY_DOMAIN = "relay.conduit.371os.local"


@dataclass(frozen=True)
class SendResult:
    status_code: int
    body: dict[str, Any]


def masked_sender(sender: str) -> str:
    """A stable relay alias: the recipient can reply through it but does not learn the sender's address."""
    return f"proxy-{hashlib.sha256(sender.lower().encode()).hexdigest()[:16]}@{RELAY_DOMAIN}"


def email_view(row: SingleEmail) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "verificationHash": row.verification_hash,
        "deliveryMethod": row.delivery_method,
        "agentValidation": row.agent_validation,
        "optimizations": row.optimizations,
        "estimatedDelivery": iso(row.delivered_at),
        "messageId": row.message_id,
        "sender": row.sender,
        "to": row.recipient,
        "timestamp": row.timestamp,
        "anchorTx": row.anchor_tx,
        "error": row.last_error,
    }


class EmailSender:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.db = workflow.db

    def send(self, caller: Caller, body: SendEmail) -> SendResult:
        data = body.emailData
        if data.emailId:
            with self.db.session() as s:
                existing = s.get(SingleEmail, data.emailId)
                if existing is not None:
                    if existing.owner_id != caller.user_id and not caller.is_admin:
                        return SendResult(409, {"success": False, "error": f"email id {data.emailId} is taken"})
                    if existing.status == "delivered":
                        # An idempotent retry: the email went out once, it is not sent again.
                        return SendResult(200, {"success": True, "duplicate": True, "email": email_view(existing)})
                    return self._deliver(existing.id)

        agents = self.workflow.agents
        if body.enableCognitiveOptimization:
            subject, optimizations = optimize_email(agents, data.subject, data.priority)
        else:
            subject, optimizations = canonical_subject(data.subject), []
        real_sender = data.sender or DEFAULT_SENDER
        validated_at = utc_iso()
        validation = validate_email(
            agents,
            EmailFacts(subject, data.content, real_sender, data.priority, data.recipientCount, data.estimatedCost),
            validated_at,
            ignore_rules=self.workflow.faults.ignore_agent_rules,
        )
        with self.db.session() as s:
            s.add(
                Activity(
                    kind="email_validation",
                    owner_id=caller.user_id,
                    approved=validation["approved"],
                    summary=f"Email validation {'passed' if validation['approved'] else 'failed'}"
                    + (f": {', '.join(validation['issues'])}" if validation["issues"] else ""),
                )
            )
        if not validation["approved"]:
            return SendResult(
                400, {"success": False, "error": "Email validation failed", "issues": validation["issues"]}
            )

        proxied = body.useProxiedDelivery
        sender = masked_sender(real_sender) if proxied and data.privacy.maskSender else real_sender
        email_id = data.emailId or f"eml_{uuid.uuid4().hex}"
        mail = VerifiedMail(
            email_id=email_id,
            message_id=make_message_id(email_id),
            sender=sender,
            recipient=data.to,
            subject=subject,
            content=canonical_content(data.content),
            timestamp=data.timestamp or validated_at,
            agent_validation=validation,
            metadata=data.metadata or {},
        )
        try:
            self._insert(caller, mail, optimizations, "proxied" if proxied else "direct")
        except IntegrityError:  # a concurrent send with the same emailId won the race
            return SendResult(409, {"success": False, "error": f"email id {email_id} is being sent"})
        return self._deliver(email_id)

    def _insert(self, caller: Caller, mail: VerifiedMail, optimizations: list[dict[str, Any]], method: str) -> None:
        with self.db.session() as s:
            s.add(
                SingleEmail(
                    id=mail.email_id,
                    owner_id=caller.user_id,
                    recipient=mail.recipient,
                    sender=mail.sender,
                    subject=mail.subject,
                    content=mail.content,
                    timestamp=mail.timestamp,
                    agent_validation=mail.agent_validation,
                    meta=mail.metadata,
                    optimizations=optimizations,
                    delivery_method=method,
                    verification_hash=mail.verification_hash,
                    message_id=mail.message_id,
                    status="sending",
                )
            )

    def _deliver(self, email_id: str) -> SendResult:
        with self.db.session() as s:
            row = s.get(SingleEmail, email_id)
            assert row is not None
            mail = VerifiedMail(
                email_id=row.id,
                message_id=row.message_id,
                sender=row.sender,
                recipient=row.recipient,
                subject=row.subject,
                content=row.content,
                timestamp=row.timestamp,
                agent_validation=row.agent_validation,
                metadata=row.meta,
            )
        error: str | None = None
        try:
            with SmtpConnection(self.workflow.smtp_host, self.workflow.smtp_port) as conn:
                conn.send(mail)
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            error = str(exc)
        with self.db.session() as s:
            row = s.get(SingleEmail, email_id)
            assert row is not None
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now(), None
            else:
                # The row stays: a retry with the same emailId resends exactly this email.
                row.status, row.last_error = "failed", error[:500]
            view = email_view(row)
        if error is not None:
            self.workflow.log.warning("email %s not delivered: %s", email_id, error)
            return SendResult(502, {"success": False, "error": f"delivery failed: {error}", "email": view})
        tx = self._anchor(mail)
        if tx:
            view["anchorTx"] = tx
        return SendResult(200, {"success": True, "email": view})

    def _anchor(self, mail: VerifiedMail) -> str | None:
        try:
            tx = self.workflow.anchor_delivery(
                [AnchorRequest(mail.email_id, None, mail.verification_hash, mail.message_id)]
            ).get(mail.email_id)
        except Exception:  # anchoring never undoes a delivery
            self.workflow.log.exception("anchoring email %s failed", mail.email_id)
            return None
        if tx:
            with self.db.session() as s:
                row = s.get(SingleEmail, mail.email_id)
                if row is not None:
                    row.anchor_tx = tx
        return tx
