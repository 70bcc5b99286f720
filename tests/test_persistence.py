"""Durability of the reference stack: kill -9 and restart, the state-loss fault, and a database outage."""

from __future__ import annotations

import httpx
import pytest

from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from launchgate.waiting import wait_for
from tests.conftest import RunningStack

pytestmark = pytest.mark.unmeasured_subprocesses


def pending_for(campaigns: CampaignsDriver, campaign_id: str) -> list[dict]:
    return [a for a in campaigns.pending_approvals() if a["campaignId"] == campaign_id]


def restart(running: RunningStack, name: str) -> None:
    running.stack.kill(name)  # SIGKILL: no shutdown hook runs
    running.stack.start_service(name)


def test_three_recipient_campaign_completes_with_three_emails(stack: RunningStack) -> None:
    campaigns = CampaignsDriver(stack.client("member", "owner-3r"))
    recipients = [f"three-{i}@recipients.test" for i in range(3)]
    created = campaigns.create(campaign_body(recipients))
    final = campaigns.wait_until_final(created["id"])
    assert final["status"] == "completed"
    assert sum(len(stack.sink.messages(to=r)) for r in recipients) == 3
    assert {d["status"] for d in final["deliveries"]} == {"delivered"}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_kill_9_keeps_pending_approvals_and_proposals(make_stack, database: str) -> None:  # type: ignore[no-untyped-def]
    running: RunningStack = make_stack(database=database)
    admin = running.client("admin")
    campaigns, governance = CampaignsDriver(admin), GovernanceDriver(admin)
    campaign = campaigns.create(campaign_body(["kept@recipients.test"], approval_mode="manual"))
    before = pending_for(campaigns, campaign["id"])
    assert len(before) == 3
    proposal = governance.create(proposal_body("Survive a crash", "ceo"))

    restart(running, "conduit")
    restart(running, "governance")

    assert pending_for(campaigns, campaign["id"]) == before
    assert campaigns.get(campaign["id"])["status"] == "pending_approval"
    assert governance.get(proposal["id"])["status"] == "draft"
    # The workflow resumes: decisions after the restart take the campaign to delivery.
    for role in ("ceo", "cfo", "clo"):
        approval = next(a for a in before if a["role"] == role)
        CampaignsDriver(running.client(role)).decide(approval["id"], "approve", f"{role} ok after restart")
    assert campaigns.wait_until_final(campaign["id"])["status"] == "completed"


def test_state_loss_fault_loses_pending_approvals(make_stack) -> None:  # type: ignore[no-untyped-def]
    running: RunningStack = make_stack(faults=["state-loss"])
    campaigns = CampaignsDriver(running.client("admin"))
    campaign = campaigns.create(campaign_body(["lost@recipients.test"], approval_mode="manual"))
    assert pending_for(campaigns, campaign["id"])
    restart(running, "conduit")
    assert pending_for(campaigns, campaign["id"]) == []
    assert campaigns.api.raw("GET", f"/api/email/campaign/{campaign['id']}").status_code == 404


@pytest.mark.postgres
def test_database_outage_answers_503_and_loses_nothing(make_stack) -> None:  # type: ignore[no-untyped-def]
    running: RunningStack = make_stack(database="postgres")
    campaigns = CampaignsDriver(running.client("admin"))
    before = campaigns.create(campaign_body(["before-outage@recipients.test"], approval_mode="manual"))

    running.stack.kill("postgres")
    health = httpx.get(f"{running.url('conduit')}/health", timeout=5)
    assert health.status_code == 503
    assert health.json()["dependencies"]["db"]["status"] == "down"
    refused = campaigns.api.raw("POST", "/api/email/campaign", json=campaign_body(["during@recipients.test"]))
    assert refused.status_code == 503, refused.text
    assert "database unavailable" in refused.json()["error"]

    running.stack.postgres.start()
    wait_for(
        lambda: httpx.get(f"{running.url('conduit')}/health", timeout=5).status_code == 200,
        timeout=30,
        what="the conduit to report healthy after PostgreSQL came back",
    )
    assert campaigns.get(before["id"])["status"] == "pending_approval"
    after = campaigns.create(campaign_body(["after-outage@recipients.test"]))
    assert campaigns.wait_until_final(after["id"])["status"] == "completed"

