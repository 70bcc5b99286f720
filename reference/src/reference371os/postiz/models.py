"""The sandbox's one table, prefixed `postiz_` like every table of this service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reference371os.kit.db import Base


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class PostizPost(Base):
    __tablename__ = "postiz_posts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    platforms: Mapped[list[str]] = mapped_column(JSON)
    date: Mapped[str | None] = mapped_column(String(40), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # media and metadata, kept as given
    status: Mapped[str] = mapped_column(String(20))  # draft, scheduled, published
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "content": self.content,
            "platforms": self.platforms,
            "date": self.date,
            "status": self.status,
            "createdAt": iso(self.created_at),
            "publishedAt": iso(self.published_at),
            **self.extra,
        }


TABLES = [PostizPost.__table__]
