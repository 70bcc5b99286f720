"""Campaign routes: create (the caller owns it), read one, list. Only the owner, admin or service may read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from reference371os.conduit.models import Campaign
from reference371os.conduit.schemas import CreateCampaign
from reference371os.conduit.views import load_campaign_view
from reference371os.conduit.worker import CampaignWorker
from reference371os.conduit.workflow import STATUS_OF, CampaignExists, Workflow
from reference371os.kit.auth import Caller, require_caller

PAGE_DEFAULT, PAGE_MAX = 100, 1000  # GET /api/email/campaigns: records per answer, unless `limit` says otherwise
CAMPAIGN_STATUSES = tuple(sorted(set(STATUS_OF.values())))


def campaigns_router(workflow: Workflow, worker: CampaignWorker) -> APIRouter:
    router = APIRouter(prefix="/api/email")
    db = workflow.db
    # The cross-tenant fault: ownership is not checked on reads.
    check_owner = not workflow.config.fault("cross-tenant")

    def visible(c: Campaign | None, caller: Caller) -> bool:
        return c is not None and (not check_owner or caller.is_admin or c.owner_id == caller.user_id)

    @router.post("/campaign", status_code=201)
    def create_campaign(body: CreateCampaign, caller: Caller = Depends(require_caller)) -> JSONResponse:
        try:
            campaign_id = workflow.create(caller, body)
        except CampaignExists as exc:
            raise HTTPException(409, f"campaign {exc} already exists") from exc
        worker.wake()
        with db.session() as s:
            c = s.get(Campaign, campaign_id)
            assert c is not None
            view = load_campaign_view(s, c)
        return JSONResponse({"success": True, "campaign": view}, status_code=201)

    @router.get("/campaign/{campaign_id}")
    def get_campaign(campaign_id: str, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            c = s.get(Campaign, campaign_id)
            # Someone else's campaign answers exactly like a missing one: no existence leak.
            if not visible(c, caller):
                raise HTTPException(404, f"campaign {campaign_id} not found")
            assert c is not None
            return {"success": True, "campaign": load_campaign_view(s, c)}

    @router.get("/campaigns")
    def list_campaigns(
        caller: Caller = Depends(require_caller),
        status: str | None = Query(None, pattern="^(" + "|".join(CAMPAIGN_STATUSES) + ")$"),
        limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        q = select(Campaign)
        if check_owner and not caller.is_admin:
            q = q.where(Campaign.owner_id == caller.user_id)
        if status:
            q = q.where(Campaign.status == status)
        with db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            # Paginated, oldest first: an answer's size must not grow with the history (`total` counts it all).
            rows = s.scalars(q.order_by(Campaign.created_at, Campaign.id).offset(offset).limit(limit)).all()
            campaigns = [load_campaign_view(s, c) for c in rows]
        return {"success": True, "campaigns": campaigns, "total": total, "limit": limit, "offset": offset}

    return router
