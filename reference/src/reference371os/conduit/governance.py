"""The conduit's client of dao-governance-service: campaign proposals over HTTP, as the service caller."""

from __future__ import annotations

from typing import Any

import httpx

from reference371os.config import ServiceConfig
from reference371os.kit.auth import Caller, internal_headers

SERVICE_CALLER = Caller("svc-conduit", "service")
PROPOSER_PREFIX = "enhanced-mail-conduit"
VOTING_DAYS = {"urgent": 1, "high": 2, "medium": 3, "low": 7}


class GovernanceUnavailable(Exception):
    """The governance service could not answer now: retry later, do not fail the campaign."""


class ProposalNotFound(Exception):
    pass


class GovernanceRefused(Exception):
    """The governance service answered 4xx to a well-formed call: retrying the same call will not help."""


class GovernanceClient:
    def __init__(self, config: ServiceConfig, timeout: float = 2.0) -> None:
        self.base = f"{config.ports.url('governance')}/api/governance"
        self._client = httpx.Client(
            timeout=timeout, headers=internal_headers(config.secrets.internal_token, SERVICE_CALLER)
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, f"{self.base}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise GovernanceUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise ProposalNotFound(f"{method} {path}: 404")
        if response.status_code >= 500 or response.status_code == 429:
            raise GovernanceUnavailable(f"{method} {path}: {response.status_code}")
        if response.status_code >= 400:
            raise GovernanceRefused(f"{method} {path}: {response.status_code} {response.text[:300]}")
        try:
            return dict(response.json())
        except ValueError as exc:
            raise GovernanceUnavailable(f"{method} {path}: answer is not JSON") from exc

    def create_proposal(self, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/proposals", json=payload)["data"])

    def get_proposal(self, proposal_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/proposals/{proposal_id}")["data"])

    def submit(self, proposal_id: str, submitted_by: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/proposals/{proposal_id}/submit", json={"submitted_by": submitted_by})["data"])

    def find_by_marker(self, proposer: str, marker: str) -> dict[str, Any] | None:
        """A proposal this conduit already created for a campaign (after a crash between create and store)."""
        page = 1
        while True:
            body = self._call("GET", "/proposals", params={"proposer": proposer, "page": page, "limit": 100})
            for proposal in body.get("data", []):
                if marker in str(proposal.get("title", "")):
                    return dict(proposal)
            total = int(body.get("metadata", {}).get("total_count", 0))
            if page * 100 >= total:
                return None
            page += 1

    def list_proposals(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": min(limit, 100), "page": 1}
        if status:
            params["status"] = status
        return list(self._call("GET", "/proposals", params=params).get("data", []))


def proposer_for(owner_id: str) -> str:
    return f"{PROPOSER_PREFIX}:{owner_id}"[:200]


def campaign_marker(campaign_id: str) -> str:
    return f"[campaign {campaign_id}]"


def proposal_payload(
    *,
    campaign_id: str,
    name: str,
    description: str,
    owner_id: str,
    priority: str,
    recipients: int,
    budget: str,
    approvals: list[str],
) -> dict[str, Any]:
    """A CreateProposal body in the 371OS shapes (ExecutionPhase, RiskMitigation, ResourceRequirement)."""
    summary = description.strip() or "(no description)"
    return {
        "title": f"Email Campaign: {name} {campaign_marker(campaign_id)}"[:300],
        "description": (
            f"{summary}\n\nCampaign: {campaign_id}\nBudget: {budget}\nRecipients: {recipients}\n"
            f"Priority: {priority}\nAgent approvals: {', '.join(approvals)}"
        )[:20_000],
        "type": "operational",
        "proposer": proposer_for(owner_id),
        "execution_details": {
            "phases": [
                {
                    "id": "delivery",
                    "name": "Email delivery",
                    "description": f"Deliver campaign {campaign_id} to {recipients} recipients",
                    "objectives": ["every approved recipient receives one verifiable email"],
                    "deliverables": ["one SMTP delivery per recipient, with its verification hash"],
                    "estimatedDuration": "1 day",
                    "responsible_agents": ["chief_of_staff"],
                    "completion_criteria": ["all deliveries recorded as delivered"],
                    "dependencies": [],
                }
            ],
            "dependencies": [],
            "success_criteria": ["all recipients delivered"],
            "risk_mitigation": [
                {
                    "risk_id": "compliance",
                    "description": "non-compliant content reaches recipients",
                    "severity": "medium",
                    "mitigation_strategy": "CLO review before the proposal",
                    "contingency_plan": "stop the campaign",
                    "responsible_party": "clo_sage",
                }
            ],
            "resource_requirements": [
                {
                    "type": "financial",
                    "description": f"campaign budget {budget}",
                    "quantity": 1,
                    "unit": "campaign",
                    "priority": "required",
                    "availability_timeline": "on approval",
                }
            ],
        },
        "timeline": {"review_period_days": 0, "voting_period_days": VOTING_DAYS[priority], "key_milestones": []},
        "stakeholders": ["ceo_mimi", "cfo_maya", "clo_sage", "chief_of_staff"],
    }
