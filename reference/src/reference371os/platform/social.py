"""Social posting: each user's Postiz key sealed at rest, posts published through Postiz, their metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from reference371os.config import ServiceConfig
from reference371os.kit.auth import Caller, require_caller
from reference371os.kit.db import Database
from reference371os.platform.crypto import KeyVault
from reference371os.platform.models import Integration, SocialPost, now
from reference371os.platform.postiz_client import PostizClient, PostizError


class IntegrationBody(BaseModel):
    provider: Literal["postiz"]
    apiKey: str = Field(min_length=8, max_length=500)


class PostBody(BaseModel):
    content: str = Field(min_length=1, max_length=2000)
    platforms: list[str] = Field(min_length=1, max_length=20)
    scheduledAt: datetime | None = None

    @field_validator("platforms")
    @classmethod
    def _platform_names(cls, value: list[str]) -> list[str]:
        names = [p.strip().lower() for p in value]
        if any(not n or len(n) > 50 for n in names):
            raise ValueError("each platform is a name of 1 to 50 characters")
        return list(dict.fromkeys(names))


def build_social_router(config: ServiceConfig, db: Database, vault: KeyVault, postiz: PostizClient) -> APIRouter:
    router = APIRouter()
    default_key = config.service_keys.get("postiz", "")
    skip_publish = config.fault("social-unpublished")

    def postiz_key(user_id: str) -> tuple[str, str]:
        """The user's own Postiz key if they connected one, else the stack's key: (key, source)."""
        with db.session() as s:
            row = s.scalar(select(Integration).where(Integration.user_id == user_id, Integration.provider == "postiz"))
        if row is not None:
            return vault.open(row.secret, row.secret_format), "integration"
        if not default_key:
            raise HTTPException(503, "no Postiz key: connect one with POST /api/social/integrations")
        return default_key, "default"

    @router.post("/api/social/integrations", status_code=201)
    def connect(body: IntegrationBody, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        secret, fmt = vault.seal(body.apiKey)
        with db.session() as s:
            row = s.scalar(
                select(Integration).where(Integration.user_id == caller.user_id, Integration.provider == body.provider)
            )
            if row is None:
                row = Integration(
                    id=str(uuid.uuid4()), user_id=caller.user_id, provider=body.provider, created_at=now()
                )
                s.add(row)
            row.secret, row.secret_format, row.key_last4 = secret, fmt, body.apiKey[-4:]
            row.updated_at = now()
            s.flush()
            return {"success": True, "integration": row.as_dict()}

    @router.get("/api/social/integrations")
    def integrations(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            rows = s.scalars(select(Integration).where(Integration.user_id == caller.user_id)).all()
            return {"success": True, "integrations": [r.as_dict() for r in rows]}

    @router.post("/api/social/posts", status_code=201)
    def create_post(body: PostBody, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        key, source = postiz_key(caller.user_id)
        scheduled = body.scheduledAt.isoformat() if body.scheduledAt else None
        post = SocialPost(
            id=str(uuid.uuid4()),
            user_id=caller.user_id,
            content=body.content,
            platforms=body.platforms,
            scheduled_at=scheduled,
            status="pending",
            key_source=source,
            created_at=now(),
        )
        # Recorded before calling out, so a crash mid-call leaves a visible pending post, not nothing.
        with db.session() as s:
            s.add(post)
        try:
            created = postiz.create_post(key, body.content, body.platforms, scheduled)
            postiz_id = str(created.get("id") or "")
            if not postiz_id:
                raise PostizError("POST /posts", 200, "answer has no post id")
            post.postiz_id = postiz_id
            if not skip_publish:  # the social-unpublished fault: left a draft on Postiz, reported published
                postiz.publish(key, postiz_id)
        except PostizError as exc:
            _finish(db, post, "failed", error=str(exc))
            raise HTTPException(502, str(exc)) from exc
        _finish(db, post, "published")
        return {"success": True, "post": post.as_dict()}

    @router.get("/api/social/posts")
    def list_posts(caller: Caller = Depends(require_caller), limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        with db.session() as s:
            rows = s.scalars(
                select(SocialPost)
                .where(SocialPost.user_id == caller.user_id)
                .order_by(SocialPost.created_at.desc())
                .limit(limit)
            ).all()
            return {"success": True, "posts": [r.as_dict() for r in rows]}

    @router.get("/api/social/posts/{post_id}/metrics")
    def post_metrics(post_id: str, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            post = s.get(SocialPost, post_id)
        if post is None or (post.user_id != caller.user_id and not caller.is_admin):
            raise HTTPException(404, f"post {post_id} not found")
        if not post.postiz_id or post.status != "published":
            raise HTTPException(409, f"post {post_id} is {post.status}, not published")
        key, _source = postiz_key(post.user_id)
        try:
            upstream = postiz.metrics(key, post.postiz_id)
        except PostizError as exc:
            raise HTTPException(502, str(exc)) from exc
        return {
            "success": True,
            "postId": post.id,
            "postizId": post.postiz_id,
            "metrics": upstream.get("metrics", []),
            "totals": upstream.get("totals", {}),
        }

    return router


def _finish(db: Database, post: SocialPost, status: str, error: str | None = None) -> None:
    post.status = status
    post.error = error
    if status == "published":
        post.published_at = now()
    with db.session() as s:
        s.merge(post)
