"""The SMTP sink: aiosmtpd on the SMTP port, every message stored in the database, and an HTTP API to read.

It is the outside world of the stack, so it keeps its own tables and a separate process.
"""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from reference371os.config import ServiceConfig
from reference371os.kit.app import create_service_app
from reference371os.kit.auth import Caller, require_caller, require_role
from reference371os.kit.db import Base, Database

MAX_MESSAGE_BYTES = 1_000_000


class SinkMessage(Base):
    __tablename__ = "sink_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(1000), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_to,
            "subject": self.subject,
            "headers": self.headers,
            "body": self.body,
            "received_at": self.received_at.isoformat(),
        }


class SinkRecipient(Base):
    """One row per recipient of a message: a mailbox is read by an index, whatever the sink's history."""

    __tablename__ = "sink_recipients"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    message_id: Mapped[int] = mapped_column(ForeignKey("sink_messages.id"), primary_key=True)


class StoringHandler:
    """aiosmtpd handler: one row per accepted message, committed before the 250 reply."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
        body = part.get_content() if part is not None else ""
        with self.db.session() as s:
            message = SinkMessage(
                mail_from=envelope.mail_from or "",
                rcpt_to=list(envelope.rcpt_tos),
                subject=str(msg.get("Subject", "")),
                headers={k: str(v) for k, v in msg.items()},
                body=body,
                received_at=datetime.now(UTC),
            )
            s.add(message)
            s.flush()
            s.add_all(SinkRecipient(address=a, message_id=message.id) for a in {r.lower() for r in envelope.rcpt_tos})
        return "250 Message accepted for delivery"


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=[SinkMessage.__table__, SinkRecipient.__table__], honour_state_loss=False)
    db.create_all()
    controller = Controller(
        StoringHandler(db), hostname="127.0.0.1", port=config.ports.smtp, data_size_limit=MAX_MESSAGE_BYTES
    )

    def smtp_up() -> None:
        with smtplib.SMTP("127.0.0.1", config.ports.smtp, timeout=1) as smtp:
            smtp.noop()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        controller.start()
        try:
            yield
        finally:
            controller.stop()

    app = create_service_app(config, dependencies={"db": db.ping, "smtp": smtp_up})
    app.router.lifespan_context = lifespan
    router = APIRouter()

    @router.get("/messages")
    def list_messages(
        to: str | None = Query(None, description="recipient address"),
        subject_contains: str | None = None,
        after_id: int = 0,
        limit: int = Query(1000, ge=1, le=10000),
    ) -> dict[str, Any]:
        query = select(SinkMessage).where(SinkMessage.id > after_id).order_by(SinkMessage.id).limit(limit)
        if to:
            mailbox = select(SinkRecipient.message_id).where(SinkRecipient.address == to.lower())
            query = query.where(SinkMessage.id.in_(mailbox))
        if subject_contains:
            query = query.where(SinkMessage.subject.contains(subject_contains))
        with db.session() as s:
            messages = [m.as_dict() for m in s.scalars(query)]
        return {"success": True, "messages": messages, "count": len(messages)}

    @router.get("/messages/{message_id}")
    def get_message(message_id: int) -> dict[str, Any]:
        with db.session() as s:
            row = s.get(SinkMessage, message_id)
            if row is None:
                raise HTTPException(404, f"message {message_id} not found")
            return {"success": True, "message": row.as_dict()}

    @router.delete("/messages")
    def clear(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        require_role(caller, "admin")
        with db.session() as s:
            s.execute(delete(SinkRecipient))
            deleted = s.execute(delete(SinkMessage)).rowcount
        return {"success": True, "deleted": deleted}

    app.include_router(router)
    return app
