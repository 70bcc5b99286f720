"""Tester feedback for the Closed Beta: one answer per record, and the share of positive answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import select

from reference371os.kit.auth import Caller, require_caller, require_role
from reference371os.kit.db import Database
from reference371os.platform.models import Feedback, now

POSITIVE_RATING = 4  # a rating of 4 or 5 out of 5 counts as positive when `positive` is not given


class FeedbackBody(BaseModel):
    tester: str = Field(min_length=1, max_length=200)
    scenario: str | None = Field(None, max_length=200)
    rating: int | None = Field(None, ge=1, le=5)
    positive: bool | None = None
    comment: str | None = Field(None, max_length=5000)
    answeredAt: datetime | None = None


def build_feedback_router(db: Database) -> APIRouter:
    router = APIRouter()

    @router.post("/api/feedback", status_code=201)
    def submit(body: FeedbackBody, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        if body.rating is None and body.positive is None:
            raise RequestValidationError(
                [{"loc": ("body", "rating"), "msg": "give a rating (1-5) or positive", "type": "value_error"}]
            )
        positive = body.positive if body.positive is not None else (body.rating or 0) >= POSITIVE_RATING
        answered = body.answeredAt or now()
        if answered.tzinfo is None:
            answered = answered.replace(tzinfo=UTC)
        row = Feedback(
            id=str(uuid.uuid4()),
            submitted_by=caller.user_id,
            tester=body.tester.strip(),
            scenario=body.scenario,
            rating=body.rating,
            positive_given=body.positive,
            positive=positive,
            comment=body.comment,
            answered_at=answered,
            created_at=now(),
        )
        with db.session() as s:
            s.add(row)
        return {"success": True, "feedback": row.as_dict()}

    @router.get("/api/feedback")
    def list_feedback(
        caller: Caller = Depends(require_caller),
        scenario: str | None = Query(None, max_length=200),
    ) -> dict[str, Any]:
        require_role(caller, "admin")
        with db.session() as s:
            query = select(Feedback).order_by(Feedback.answered_at, Feedback.id)
            if scenario is not None:
                query = query.where(Feedback.scenario == scenario)
            rows = s.scalars(query).all()
        responses = len(rows)
        positive = sum(1 for r in rows if r.positive)
        return {
            "success": True,
            "feedback": [r.as_dict() for r in rows],
            "summary": {
                "responses": responses,
                "positive": positive,
                # None, not 0, when nobody answered: no data is not the same as all negative.
                "positive_share": round(positive / responses, 4) if responses else None,
                "testers": len({r.tester for r in rows}),
            },
        }

    return router
