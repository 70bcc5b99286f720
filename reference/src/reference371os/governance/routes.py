"""HTTP routes under /api/governance: the 371OS contract, plus close-voting, votes and the voter registry."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from reference371os.governance.rules import ProposalStatus, ProposalType
from reference371os.governance.schemas import (
    CastVote,
    CreateProposal,
    HumanDecision,
    RegisterVoter,
    SubmitProposal,
)
from reference371os.governance.service import Governance
from reference371os.kit.app import DependencyCheck, health_body
from reference371os.kit.auth import Caller, require_caller

PUBLIC_NAME = "dao-governance-service"
PageNo = Query(1, ge=1, le=1_000_000)
PageSize = Query(10, ge=1, le=100)


def governance_router(gov: Governance, dependencies: dict[str, DependencyCheck]) -> APIRouter:
    router = APIRouter(prefix="/api/governance")

    @router.get("/health")
    async def health() -> JSONResponse:
        # The 371OS shape, answered from the same dependency checks as the root /health.
        body = await health_body(gov.config, dependencies, PUBLIC_NAME)
        healthy = body["status"] == "operational"
        data = {
            "status": "healthy" if healthy else "degraded",
            "service": PUBLIC_NAME,
            "version": body["version"],
            "timestamp": body["timestamp"],
            "governance_service_operational": healthy,
            "dependencies": body["dependencies"],
        }
        return JSONResponse({"success": healthy, "data": data}, 200 if healthy else 503)

    # ---- proposals -------------------------------------------------------------------------------

    @router.post("/proposals", status_code=201)
    def create_proposal(body: CreateProposal, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        return {"success": True, "data": gov.create(body, caller)}

    @router.get("/proposals")
    def list_proposals(
        status: ProposalStatus | Literal["all"] | None = None,
        type_: ProposalType | None = Query(None, alias="type"),
        proposer: str | None = Query(None, max_length=200),
        voting_active: bool | None = None,
        page: int = PageNo,
        limit: int = PageSize,
    ) -> dict[str, Any]:
        data, total = gov.query(
            status=status, type_=type_, proposer=proposer, voting_active=voting_active, page=page, limit=limit
        )
        return {"success": True, "data": data, "metadata": {"total_count": total, "page": page, "limit": limit}}

    # Declared before /proposals/{proposal_id}, which would otherwise catch it (the 371OS bug).
    @router.get("/proposals/pending-approval")
    def pending_approval(page: int = PageNo, limit: int = PageSize) -> dict[str, Any]:
        data, total = gov.query(
            status="pending_human_approval", type_=None, proposer=None, voting_active=None, page=page, limit=limit
        )
        return {"success": True, "data": data, "metadata": {"total_count": total, "page": page, "limit": limit}}

    @router.get("/proposals/{proposal_id}")
    def get_proposal(proposal_id: str) -> dict[str, Any]:
        return {"success": True, "data": gov.get(proposal_id)}

    @router.post("/proposals/{proposal_id}/submit")
    def submit_proposal(
        proposal_id: str, body: SubmitProposal, caller: Caller = Depends(require_caller)
    ) -> dict[str, Any]:
        return {"success": True, "data": gov.submit(proposal_id, body.submitted_by, caller)}

    @router.post("/proposals/{proposal_id}/start-voting")
    def start_voting(proposal_id: str, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        return {"success": True, "data": gov.start_voting(proposal_id, caller)}

    @router.post("/proposals/{proposal_id}/close-voting")
    def close_voting(proposal_id: str, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        data = gov.close_voting(proposal_id, caller)
        return {"success": True, "data": data, "results": data["votingResults"]}

    @router.get("/proposals/{proposal_id}/results")
    def results(proposal_id: str) -> dict[str, Any]:
        return {"success": True, "data": gov.results(proposal_id)}

    @router.get("/proposals/{proposal_id}/votes")
    def proposal_votes(proposal_id: str) -> dict[str, Any]:
        votes = gov.votes(proposal_id)
        return {"success": True, "data": votes, "metadata": {"total_count": len(votes)}}

    @router.post("/proposals/{proposal_id}/approve")
    def approve(proposal_id: str, body: HumanDecision, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        data = gov.decide(proposal_id, "approved", body, caller)
        return {
            "success": True,
            "data": data,
            "message": f"Proposal {proposal_id} approved by {body.approved_by}",
            "event_emitted": "PROPOSAL_HUMAN_APPROVED",
            "workflow_triggered": False,
        }

    @router.post("/proposals/{proposal_id}/reject")
    def reject(proposal_id: str, body: HumanDecision, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        data = gov.decide(proposal_id, "rejected", body, caller)
        return {"success": True, "data": data, "message": f"Proposal {proposal_id} rejected by {body.approved_by}"}

    # ---- votes and voters --------------------------------------------------------------------------

    @router.post("/votes", status_code=201)
    def cast_vote(body: CastVote, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        return {"success": True, "data": gov.cast_vote(body, caller)}

    @router.get("/voters")
    def voters() -> dict[str, Any]:
        data = gov.voters()
        return {"success": True, "data": data, "metadata": {"total_count": len(data)}}

    @router.post("/voters")
    def register_voter(body: RegisterVoter, caller: Caller = Depends(require_caller)) -> JSONResponse:
        data, created = gov.register_voter(body, caller)
        return JSONResponse({"success": True, "data": data}, 201 if created else 200)

    # ---- overview ----------------------------------------------------------------------------------

    @router.get("/config")
    def config() -> dict[str, Any]:
        return {"success": True, "data": gov.config_view()}

    @router.get("/stats")
    def stats() -> dict[str, Any]:
        return {"success": True, "data": gov.stats()}

    return router
