"""Approvals API (our extension): humans of the matching role decide the agents' recommendations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import select

from reference371os.conduit.analytics import EXECUTIVE_ROLES, visible_approvals
from reference371os.conduit.models import Approval, Campaign
from reference371os.conduit.schemas import Decision
from reference371os.conduit.views import approval_view, load_campaign_view
from reference371os.conduit.worker import CampaignWorker
from reference371os.conduit.workflow import (
    ApprovalAlreadyDecided,
    ApprovalForbidden,
    ApprovalNotFound,
    Workflow,
)
from reference371os.kit.auth import Caller, require_caller

APPROVAL_STATUSES = ("pending", "approved", "rejected", "cancelled", "all")


def approvals_router(workflow: Workflow, worker: CampaignWorker) -> APIRouter:
    router = APIRouter(prefix="/api/approvals")
    db = workflow.db

    @router.get("")
    def list_approvals(
        caller: Caller = Depends(require_caller),
        status: str = Query("pending", pattern="^(" + "|".join(APPROVAL_STATUSES) + ")$"),
        role: str | None = Query(None, pattern="^(" + "|".join(EXECUTIVE_ROLES) + ")$"),
        campaignId: str | None = Query(None, max_length=128),
    ) -> dict[str, Any]:
        if role and caller.role in EXECUTIVE_ROLES and role != caller.role:
            raise HTTPException(403, f"role {caller.role!r} may not list approvals of role {role!r}")
        q = visible_approvals(select(Approval), caller.role, caller.user_id)
        if status != "all":
            q = q.where(Approval.status == status)
        if role:
            q = q.where(Approval.role == role)
        if campaignId:
            q = q.where(Approval.campaign_id == campaignId)
        with db.session() as s:
            rows = s.scalars(q.order_by(Approval.created_at, Approval.agent)).all()
            approvals = [approval_view(a) for a in rows]
        return {"success": True, "approvals": approvals, "count": len(approvals)}

    @router.post("/{approval_id}/decision")
    def decide(approval_id: str, body: Decision, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        try:
            workflow.decide(approval_id, caller, body.decision, body.reason)
        except ApprovalNotFound as exc:
            raise HTTPException(404, f"approval {approval_id} not found") from exc
        except ApprovalForbidden as exc:
            raise HTTPException(403, str(exc)) from exc
        except ApprovalAlreadyDecided as exc:
            raise HTTPException(409, str(exc)) from exc
        worker.wake()
        with db.session() as s:
            a = s.get(Approval, approval_id)
            assert a is not None
            c = s.get(Campaign, a.campaign_id)
            assert c is not None
            return {"success": True, "approval": approval_view(a), "campaign": load_campaign_view(s, c)}

    return router
