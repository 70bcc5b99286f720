"""The end-to-end data flow (readiness report §5): one campaign followed across every hand-over, from its
initiation to the chain and the analytics. Each step reads the service that owns that stage of the flow."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from launchgate.bdd.session import TargetSession
from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.chain import ChainDriver
from launchgate.drivers.governance import GovernanceDriver
from steps.campaigns import TrackedCampaign, member_create, recipients_for
from steps.proposals import advance, carry_to_execution

EXECUTIVE_AGENTS = ("ceo", "cfo", "clo")


@pytest.fixture
def dashboard_before(target: TargetSession) -> dict[str, Any]:
    """The analytics overview as it stood when a step first asked for it: analytics are compared before and after a
    campaign, never in absolute numbers (the target may hold any history)."""
    return dict(target.campaigns().dashboard()["overview"])


@when(parsers.parse("a member initiates a campaign for {n:d} recipients that needs a DAO vote"),
      target_fixture="campaign")
def initiate_governed_campaign(target: TargetSession, request: pytest.FixtureRequest, n: int) -> TrackedCampaign:
    target.require("dao-lifecycle", "a campaign cannot be put to a DAO vote")
    request.getfixturevalue("dashboard_before")  # read now, before the campaign exists
    return member_create(target, campaign_body(recipients_for(n, "flow"), requires_dao=True))


@then("the CEO, CFO and CLO agents have each reviewed it")
def agents_reviewed(campaign: TrackedCampaign) -> None:
    record = campaign.driver.get(campaign.id)
    reviewed = {a["role"]: a for a in record["agentApprovals"]}
    missing = [role for role in EXECUTIVE_AGENTS if role not in reviewed]
    assert not missing, f"no review by the {', '.join(r.upper() for r in missing)} agent(s)"
    for role in EXECUTIVE_AGENTS:
        assert reviewed[role]["decision"] == "approved", f"the {role.upper()} agent's review is {reviewed[role]}"


@then("a DAO proposal for the campaign awaits its vote", target_fixture="proposal")
def proposal_awaits(governance: GovernanceDriver, campaign: TrackedCampaign) -> dict[str, Any]:
    record = campaign.driver.wait_until(
        campaign.id, lambda c: c["daoApproval"]["proposalId"] or c["status"] in ("completed", "failed"),
        "to name its DAO proposal")
    proposal_id = record["daoApproval"]["proposalId"]
    assert proposal_id, f"the campaign is {record['status']} and names no DAO proposal"
    proposal = governance.get(proposal_id)
    assert proposal["status"] == "submitted", f"the campaign's proposal is {proposal['status']}, not submitted"
    return proposal


@then("no email has gone out while the vote is open")
def nothing_sent_yet(target: TargetSession, campaign: TrackedCampaign) -> None:
    record = campaign.driver.get(campaign.id)
    assert record["status"] == "pending_approval", f"before the vote the campaign is {record['status']}"
    sink = target.mail_sink()
    sent = [r for r in campaign.recipients if sink.messages(to=r)]
    assert not sent, f"mail went to {sent} before the DAO voted"


@when("the CEO and the CFO vote for the campaign's proposal and an administrator approves the outcome")
def vote_campaign_proposal(target: TargetSession, governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    advance(governance, proposal["id"], "start-voting")
    carry_to_execution(target, governance, proposal["id"], ("ceo", "cfo"))


@then("the DAO contract records the campaign's proposal as executed")
def campaign_proposal_on_chain(chain: ChainDriver, governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    pid = proposal["id"]
    confirmed = chain.confirm_proposal(governance.get(pid), governance.votes(pid))
    assert confirmed.chain.status == "executed", f"the DAO contract says {confirmed.chain.status}"


@then("the analytics dashboard counts the campaign and its emails")
def analytics_count_it(target: TargetSession, campaign: TrackedCampaign, dashboard_before: dict[str, Any]) -> None:
    before, after = dashboard_before, dict(target.campaigns().dashboard()["overview"])
    sent = len(campaign.recipients)
    for field, grew_by in (("completedCampaigns", 1), ("campaignEmailsDelivered", sent)):
        assert after[field] - before[field] >= grew_by, (
            f"the dashboard's {field} went from {before[field]} to {after[field]} over a campaign that completed "
            f"with {sent} email(s)"
        )
