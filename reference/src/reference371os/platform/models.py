"""The platform's tables. Every name starts with `platform_` because services may share one database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference371os.kit.db import Base


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; every stored one is UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class User(Base):
    __tablename__ = "platform_users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="member")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Only the sha256 of the emailed token is kept, so a database read cannot verify accounts.
    verification_hash: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    verification_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "verified": self.verified,
            "created_at": iso(self.created_at),
        }


class Activity(Base):
    """When each user last logged in: weekly active users are those seen in the last seven days. A table of its own,
    so that a database made before it existed gains it (create_all adds tables, not columns)."""

    __tablename__ = "platform_activity"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_login_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class ApiKey(Base):
    __tablename__ = "platform_api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("platform_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; the key is shown once
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": iso(self.created_at),
            "revoked": self.revoked_at is not None,
        }


class OutboxMail(Base):
    """A mail to send. Written in the same transaction as its cause, deleted once the SMTP server took it."""

    __tablename__ = "platform_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mail_to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # A sender claims a row until this time, so the request thread and the retry loop never both send it;
    # after a failure it holds the time of the next retry.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Integration(Base):
    __tablename__ = "platform_integrations"
    __table_args__ = (UniqueConstraint("user_id", "provider", name="uq_platform_integration_user_provider"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    # Fernet token (secret_format 'fernet'), or the key itself under the plaintext-keys fault ('plain').
    secret: Mapped[str] = mapped_column(Text)
    secret_format: Mapped[str] = mapped_column(String(10))
    key_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "apiKey": f"…{self.key_last4}",
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


class SocialPost(Base):
    __tablename__ = "platform_social_posts"
    __table_args__ = (Index("ix_platform_social_posts_user_created", "user_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    platforms: Mapped[list[str]] = mapped_column(JSON)
    scheduled_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # pending, published, failed
    key_source: Mapped[str] = mapped_column(String(20))  # integration or default
    postiz_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "postizId": self.postiz_id,
            "content": self.content,
            "platforms": self.platforms,
            "scheduledAt": self.scheduled_at,
            "status": self.status,
            "keySource": self.key_source,
            "error": self.error,
            "createdAt": iso(self.created_at),
            "publishedAt": iso(self.published_at),
        }


class Feedback(Base):
    __tablename__ = "platform_feedback"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    tester: Mapped[str] = mapped_column(String(200), index=True)
    scenario: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    positive_given: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    positive: Mapped[bool] = mapped_column(Boolean)  # as given, or rating >= 4 when not given
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tester": self.tester,
            "scenario": self.scenario,
            "rating": self.rating,
            "positive": self.positive,
            "comment": self.comment,
            "answeredAt": iso(self.answered_at),
            "submittedBy": self.submitted_by,
            "createdAt": iso(self.created_at),
        }


TABLES = [
    User.__table__,
    ApiKey.__table__,
    Activity.__table__,
    OutboxMail.__table__,
    Integration.__table__,
    SocialPost.__table__,
    Feedback.__table__,
]
