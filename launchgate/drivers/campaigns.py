"""The 371OS email-campaign protocol: campaigns, agent approvals, single sends, analytics."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from launchgate.drivers.http import ApiClient
from launchgate.drivers.outcomes import Accepted, Refused, outcome_of
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

    def read(self, campaign_id: str) -> Accepted | Refused:
        """Whether this caller is given the campaign: accepted (with it), or refused (hidden from them)."""
        return outcome_of(self.api.raw("GET", f"/api/email/campaign/{campaign_id}"))

    def try_decide(self, approval_id: str, decision: str, reason: str) -> Accepted | Refused:
        """An approval decision as this caller, who may not be allowed to make it."""
        return outcome_of(self.api.raw("POST", f"/api/approvals/{approval_id}/decision",
                                       json={"decision": decision, "reason": reason}))

    def pending_approvals(self, role: str | None = None) -> list[dict[str, Any]]:
        params = {"status": "pending", **({"role": role} if role else {})}
        return list(self.api.get("/api/approvals", params=params, key="approvals"))

    def decide(self, approval_id: str, decision: str, reason: str) -> dict[str, Any]:
        return dict(
            self.api.post(f"/api/approvals/{approval_id}/decision", json={"decision": decision, "reason": reason})
        )

    def send_email(self, to: str, subject: str, content: str, optimize: bool = True) -> Accepted | Refused:
        """POST /api/email/send with the contract's default options (`optimize`: enableCognitiveOptimization):
        accepted (the answer's body as data), or refused."""
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
        return outcome_of(self.api.raw("POST", "/api/email/send", json=body))

    def list_all(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/email/campaigns", key="campaigns"))

    def page(
        self, *, status: str | None = None, limit: int, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the list, oldest first, and the total the target reports (None when it reports none)."""
        params = {"limit": str(limit), "offset": str(offset)} | ({"status": status} if status else {})
        body = self.api.get("/api/email/campaigns", params=params)
        records = [c for c in body["campaigns"] if status is None or c["status"] == status]
        total = body.get("total")
        return records, total if isinstance(total, int) else None

    def count(self, status: str | None = None, since: str | None = None) -> int:
        """How many campaigns (of `status`, created at or after `since`) the target holds. From the list's total
        and, for `since`, a binary search of its oldest-first pages: log2(history) reads of one record. A list that
        reports no total is read whole."""
        _, total = self.page(status=status, limit=1)
        if total is None:
            return sum(1 for c in self.list_all() if (status is None or c["status"] == status)
                       and (since is None or _instant(c["createdAt"]) >= _instant(since)))
        if since is None:
            return total
        lo, hi = 0, total  # the first offset created at or after `since`; at most log2(total) + 1 reads
        while lo < hi:
            mid = (lo + hi) // 2
            records, _ = self.page(status=status, limit=1, offset=mid)
            if not records or _instant(records[0]["createdAt"]) >= _instant(since):
                hi = mid
            else:
                lo = mid + 1
        return total - lo

    def newest(self, count: int, status: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """At most `count` of the newest campaigns (of `status`) and how many the target holds, in two reads of
        the paginated list, whatever the target's history. A list that reports no total is read whole."""
        first, total = self.page(status=status, limit=1)
        if total is None:
            records = [c for c in self.list_all() if status is None or c["status"] == status]
            return records[-count:], len(records)
        if total <= 1:
            return first[-count:], total
        records, _ = self.page(status=status, limit=count, offset=max(0, total - count))
        return records[-count:], total  # also from a list that ignores limit and offset

    def dashboard(self) -> dict[str, Any]:
        return self.api.get("/api/analytics/dashboard", params={"timeRange": "7d"}, key="analytics")

    def templates(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/email/templates", key="templates"))

    def agents(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/agents", key="agents"))


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
