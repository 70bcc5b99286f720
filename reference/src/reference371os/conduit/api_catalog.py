"""Single emails, templates, agents, coordination status, DAO proposals and the analytics dashboard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from reference371os.conduit.analytics import TIME_RANGES, coordination_status, dashboard
from reference371os.conduit.emails import EmailSender
from reference371os.conduit.governance import GovernanceRefused, GovernanceUnavailable
from reference371os.conduit.models import AgentProfileRow, Campaign, Template
from reference371os.conduit.schemas import SendEmail
from reference371os.conduit.workflow import Workflow
from reference371os.kit.auth import Caller, optional_caller, require_caller

PROPOSAL_STATUSES = ("all", "draft", "submitted", "voting_active", "pending_human_approval", "executed", "rejected")


def template_view(t: Template) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "category": t.category,
        "subject": t.subject,
        "body": t.body,
        "blockchainVerified": t.blockchain_verified,
        "agentOptimized": t.agent_optimized,
        "cognitiveFeatures": t.cognitive_features,
    }


def agent_view(a: AgentProfileRow) -> dict[str, Any]:
    keys = (
        "core_instructions",
        "personality_traits",
        "required_tools",
        "escalation_criteria",
        "performance_targets",
        "rules",
        "display_name",
    )
    return {
        "agent_name": a.agent_name,
        "agent_type": a.agent_type,
        "role": a.role,
        "status": a.status,
        **{k: a.profile.get(k) for k in keys},
    }


def catalog_router(workflow: Workflow) -> APIRouter:
    router = APIRouter(prefix="/api")
    db = workflow.db
    sender = EmailSender(workflow)
    drift = workflow.config.fault("analytics-drift")

    @router.post("/email/send")
    def send_email(body: SendEmail, caller: Caller = Depends(require_caller)) -> JSONResponse:
        result = sender.send(caller, body)
        return JSONResponse(result.body, status_code=result.status_code)

    @router.get("/email/templates")
    def templates(_caller: Caller | None = Depends(optional_caller)) -> dict[str, Any]:
        with db.session() as s:
            rows = s.scalars(select(Template).order_by(Template.id)).all()
            return {"success": True, "templates": [template_view(t) for t in rows]}

    @router.get("/agents")
    def agents(_caller: Caller | None = Depends(optional_caller)) -> dict[str, Any]:
        with db.session() as s:
            rows = s.scalars(select(AgentProfileRow).order_by(AgentProfileRow.agent_name)).all()
            return {"success": True, "agents": [agent_view(a) for a in rows]}

    @router.get("/agent/coordination/status")
    def coordination(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            return {"success": True, "coordination": coordination_status(s, caller.role, caller.user_id)}

    @router.get("/dao/proposals")
    def dao_proposals(
        caller: Caller | None = Depends(optional_caller),
        status: str = Query("all", pattern="^(" + "|".join(PROPOSAL_STATUSES) + ")$"),
        limit: int = Query(50, ge=1, le=100),
    ) -> dict[str, Any]:
        try:
            proposals = workflow.governance.list_proposals(None if status == "all" else status, limit)
        except (GovernanceUnavailable, GovernanceRefused) as exc:
            raise HTTPException(503, f"dao-governance-service unavailable: {exc}") from exc
        # Link each proposal to its campaign, where the caller may see that campaign.
        ids = [str(p.get("id")) for p in proposals]
        linked: dict[str, str] = {}
        if caller is not None and ids:
            q = select(Campaign.dao_proposal_id, Campaign.id).where(Campaign.dao_proposal_id.in_(ids))
            if not caller.is_admin:
                q = q.where(Campaign.owner_id == caller.user_id)
            with db.session() as s:
                linked = {str(pid): cid for pid, cid in s.execute(q).all()}
        for p in proposals:
            p["campaignId"] = linked.get(str(p.get("id")))
        return {"success": True, "proposals": proposals, "count": len(proposals)}

    @router.get("/analytics/dashboard")
    def analytics(
        caller: Caller = Depends(require_caller),
        timeRange: str = Query("7d", pattern="^(" + "|".join(TIME_RANGES) + ")$"),
    ) -> dict[str, Any]:
        owner = None if caller.is_admin else caller.user_id
        with db.session() as s:
            return {"success": True, "analytics": dashboard(s, owner, timeRange, drift)}

    return router
