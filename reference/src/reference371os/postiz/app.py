"""Postiz-compatible sandbox: the routes the 371OS Postiz client calls, with real bearer-key checks and
persistent posts. It stands in for postiz.com the way the SMTP sink stands in for recipients' servers."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import select

from reference371os.config import ServiceConfig
from reference371os.kit.app import create_service_app
from reference371os.kit.db import Database
from reference371os.postiz.metrics import platform_metrics, totals
from reference371os.postiz.models import TABLES, PostizPost, now

MAX_CONTENT = 10_000


class PostFields(BaseModel):
    """Both spellings are accepted: Postiz's own (content, integrations, date) and the 371OS plugin's
    (text, platforms, scheduledTime)."""

    content: str | None = Field(None, max_length=MAX_CONTENT)
    text: str | None = Field(None, max_length=MAX_CONTENT)
    platforms: list[str] | None = Field(None, max_length=50)
    integrations: list[str | dict[str, Any]] | None = Field(None, max_length=50)
    date: str | None = Field(None, max_length=40)
    scheduledTime: str | None = Field(None, max_length=40)
    media: list[Any] | None = None
    metadata: dict[str, Any] | None = None


class PublishBody(PostFields):
    id: str | None = Field(None, max_length=40)


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def _new_post(body: PostFields) -> PostizPost:
    content = (body.content if body.content is not None else body.text) or ""
    if not content.strip():
        raise _invalid("content", "content (or text) is required")
    names = list(body.platforms or [])
    for item in body.integrations or []:
        names.append(str(item.get("id") or item.get("identifier") or "") if isinstance(item, dict) else item)
    platforms = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    date = body.date or body.scheduledTime
    extra: dict[str, Any] = {}
    if body.media:
        extra["media"] = body.media
    if body.metadata:
        extra["metadata"] = body.metadata
    return PostizPost(
        id="pz_" + secrets.token_hex(8),
        content=content,
        platforms=platforms,
        date=date,
        extra=extra,
        status="scheduled" if date else "draft",
        created_at=now(),
    )


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=TABLES)
    db.create_all()
    app = create_service_app(config, dependencies={"db": db.ping})
    expected = config.secrets.postiz_api_key

    def bearer_key(authorization: str | None = Header(None)) -> None:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key or not hmac.compare_digest(key.strip(), expected):
            raise HTTPException(401, "invalid or missing API key", headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(dependencies=[Depends(bearer_key)])

    @router.post("/posts", status_code=201)
    def create_post(body: PostFields) -> dict[str, Any]:
        post = _new_post(body)
        with db.session() as s:
            s.add(post)
        return {"success": True, **post.as_dict()}

    @router.post("/posts/publish")
    def publish(body: PublishBody) -> dict[str, Any]:
        with db.session() as s:
            if body.id:
                post = s.get(PostizPost, body.id)
                if post is None:
                    raise HTTPException(404, f"post {body.id} not found")
            else:
                # The 371OS plugin publishes in one call, sending the post itself.
                post = _new_post(body)
                s.add(post)
            if post.status != "published":
                post.status = "published"
                post.published_at = now()
            s.flush()
            return {"success": True, **post.as_dict()}

    @router.get("/posts")
    def list_posts(
        status: str | None = Query(None, max_length=20), limit: int = Query(100, ge=1, le=1000)
    ) -> dict[str, Any]:
        with db.session() as s:
            query = select(PostizPost).order_by(PostizPost.created_at.desc()).limit(limit)
            if status:
                query = query.where(PostizPost.status == status)
            posts = [p.as_dict() for p in s.scalars(query).all()]
        return {"success": True, "posts": posts}

    @router.get("/posts/{post_id}")
    def get_post(post_id: str) -> dict[str, Any]:
        with db.session() as s:
            post = s.get(PostizPost, post_id)
            if post is None:
                raise HTTPException(404, f"post {post_id} not found")
            return {"success": True, **post.as_dict()}

    @router.get("/posts/{post_id}/metrics")
    def metrics(post_id: str) -> dict[str, Any]:
        with db.session() as s:
            post = s.get(PostizPost, post_id)
            if post is None:
                raise HTTPException(404, f"post {post_id} not found")
        published = post.status == "published"
        per_platform = [platform_metrics(post.id, post.content, p, published) for p in (post.platforms or ["default"])]
        return {"success": True, "id": post.id, "metrics": per_platform, "totals": totals(per_platform)}

    app.include_router(router)
    return app
