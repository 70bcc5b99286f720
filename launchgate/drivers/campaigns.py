"""The 371OS email-campaign protocol: campaigns, agent approvals, single sends, analytics."""

from __future__ import annotations

import itertools
import time
from typing import Any

from launchgate.drivers.http import ApiClient
from launchgate.waiting import wait_for

FINAL_STATUSES = ("completed", "rejected", "failed")

# Campaign settings that break exactly one executive agent's rule (fixtures/agents/*.yml).
RULE_BREAKERS: dict[str, dict[str, Any]] = {
    "ceo_mimi": {"priority": "low", "description": ""},
    "cfo_maya": {"max_cost": 50_000.0},
    "clo_sage": {"name": "URGENT: guaranteed returns"},
}
_ids = itertools.count(1)


def campaign_body(
    recipients: list[str],
    *,
    name: str = "Spring product update",
    description: str = "Quarterly product news for our community, aligned with the growth plan",
    template: str = "product-update",
    max_cost: float = 50.0,
    priority: str = "medium",
    requires_dao: bool = False,
    approval_mode: str = "auto",
) -> dict[str, Any]:
    """A request in the contract's body shape, with a fresh campaign id."""
    campaign_id = f"cmp-{int(time.time() * 1000)}-{next(_ids)}"
    return {
        "campaignData": {
            "id": campaign_id,
            "name": name,
            "description": description,
            "template": template,
            "recipients": [{"email": r, "name": r.split("@")[0].title()} for r in recipients],
            "budget": {"maxCost": max_cost, "currency": "USD"},
            "priority": priority,
        },
        "requiresDAOApproval": requires_dao,
        "approvalMode": approval_mode,
    }


class CampaignsDriver:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post("/api/email/campaign", json=body, key="campaign")

    def get(self, campaign_id: str) -> dict[str, Any]:
        return self.api.get(f"/api/email/campaign/{campaign_id}", key="campaign")

    def wait_until(self, campaign_id: str, done: Any, what: str, timeout: float = 20.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            campaign = self.get(campaign_id)
            return campaign if done(campaign) else None

        return wait_for(probe, timeout=timeout, what=f"campaign {campaign_id} {what}")

    def wait_until_final(self, campaign_id: str, timeout: float = 20.0) -> dict[str, Any]:
        return self.wait_until(
            campaign_id, lambda c: c["status"] in FINAL_STATUSES, f"to reach {'/'.join(FINAL_STATUSES)}", timeout
        )

    def pending_approvals(self, role: str | None = None) -> list[dict[str, Any]]:
        params = {"status": "pending", **({"role": role} if role else {})}
        return list(self.api.get("/api/approvals", params=params, key="approvals"))

    def decide(self, approval_id: str, decision: str, reason: str) -> dict[str, Any]:
        return dict(
            self.api.post(f"/api/approvals/{approval_id}/decision", json={"decision": decision, "reason": reason})
        )

    def send_email(self, to: str, subject: str, content: str, optimize: bool = True) -> Any:
        """POST /api/email/send with the contract's default options (`optimize`: enableCognitiveOptimization)."""
        body = {
            "emailData": {
                "to": to,
                "subject": subject,
                "content": content,
                "privacy": {"maskSender": False, "trackingProtection": True, "blockchainVerification": True},
            },
            "useProxiedDelivery": True,
            "enableCognitiveOptimization": optimize,
        }
        return self.api.raw("POST", "/api/email/send", json=body)

    def list_all(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/email/campaigns", key="campaigns"))

    def dashboard(self) -> dict[str, Any]:
        return self.api.get("/api/analytics/dashboard", params={"timeRange": "7d"}, key="analytics")

    def templates(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/email/templates", key="templates"))

    def agents(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/agents", key="agents"))
