"""Outgoing mail: an outbox in the database, delivered over SMTP to the stack's mail server (the sink).

A mail is written in the same transaction as the signup that causes it, then sent at once; when the SMTP
server is down it stays in the outbox and the retry loop sends it later, so no verification mail is lost.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from reference371os.kit.db import Database
from reference371os.platform.models import OutboxMail, now

SENDER = "noreply@371os.local"
SMTP_TIMEOUT_S = 5.0
CLAIM_S = 30  # longer than one SMTP exchange can take
MAX_BACKOFF_S = 60  # a failed mail is retried after 2, 4, 8 ... seconds, then every minute, never dropped
log = logging.getLogger("reference371os.platform.mail")


def queue_mail(session: Session, to: str, subject: str, body: str, headers: dict[str, str]) -> OutboxMail:
    """Queues a mail claimed by its creator, who sends it with `deliver(id, claimed=True)` after commit;
    if the creator dies first, the claim runs out and the retry loop sends it."""
    created = now()
    row = OutboxMail(
        mail_to=to,
        subject=subject,
        body=body,
        headers=headers,
        attempts=0,
        claimed_until=created + timedelta(seconds=CLAIM_S),
        created_at=created,
    )
    session.add(row)
    session.flush()
    return row


class Mailer:
    def __init__(self, db: Database, smtp_port: int, host: str = "127.0.0.1") -> None:
        self.db = db
        self.host = host
        self.port = smtp_port

    def check(self) -> None:
        """Health check: the SMTP server answers."""
        with smtplib.SMTP(self.host, self.port, timeout=1.5) as smtp:
            smtp.noop()

    def deliver(self, outbox_id: int, *, claimed: bool = False) -> bool:
        """Sends one queued mail if no one else holds it. True when the SMTP server accepted it."""
        if not claimed and not self._claim(outbox_id):
            return False
        with self.db.session() as s:
            row = s.get(OutboxMail, outbox_id)
            if row is None:
                return False
            message = self._message(row)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            with self.db.session() as s:
                attempts = (s.scalar(select(OutboxMail.attempts).where(OutboxMail.id == outbox_id)) or 0) + 1
                retry_at = now() + timedelta(seconds=min(MAX_BACKOFF_S, 2**attempts))
                s.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == outbox_id)
                    .values(attempts=attempts, last_error=error, claimed_until=retry_at)
                )
            log.warning("mail %s not delivered yet: %s", outbox_id, error)
            return False
        # Delivered: the row held a live verification token, so it goes away rather than being marked.
        with self.db.session() as s:
            row = s.get(OutboxMail, outbox_id)
            if row is not None:
                s.delete(row)
        return True

    def pending_ids(self, limit: int = 100) -> list[int]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(OutboxMail.id)
                    .where(or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now()))
                    .order_by(OutboxMail.id)
                    .limit(limit)
                )
            )

    def drain(self) -> int:
        """Retries every unclaimed queued mail once; returns how many were delivered."""
        return sum(1 for outbox_id in self.pending_ids() if self.deliver(outbox_id))

    def _claim(self, outbox_id: int) -> bool:
        current = now()
        with self.db.session() as s:
            result = s.execute(
                update(OutboxMail)
                .where(
                    and_(
                        OutboxMail.id == outbox_id,
                        or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < current),
                    )
                )
                .values(claimed_until=current + timedelta(seconds=CLAIM_S))
            )
            return result.rowcount == 1

    @staticmethod
    def _message(row: OutboxMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = row.mail_to
        message["Subject"] = row.subject
        message["Message-ID"] = f"<outbox-{row.id}-{int(datetime.now().timestamp())}@371os.local>"
        for name, value in (row.headers or {}).items():
            message[name] = value
        message.set_content(row.body)
        return message
