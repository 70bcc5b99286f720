"""The end-to-end data flow (readiness report §5): one campaign followed across every hand-over, from its
initiation to the chain and the analytics. Each step reads the service that owns that stage of the flow."""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then, when

from launchgate.bdd.session import TargetSession
from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.governance import GovernanceDriver
from steps.campaigns import _create, recipients_for
from steps.proposals import advance, carry_to_execution

EXECUTIVE_AGENTS = ("ceo", "cfo", "clo")


def _overview(target: TargetSession) -> dict[str, Any]:
    return dict(target.campaigns().dashboard()["overview"])


@when(parsers.parse("a member initiates a campaign for {n:d} recipients that needs a DAO vote"))
def initiate_governed_campaign(target: TargetSession, context: dict[str, Any], n: int) -> None:
    target.require("dao-lifecycle", "a campaign cannot be put to a DAO vote")
    context["overview_before"] = _overview(target)  # analytics are compared before and after, never in absolute
    _create(target, context, campaign_body(recipients_for(n, "flow"), requires_dao=True))


@then("the CEO, CFO and CLO agents have each reviewed it")
def agents_reviewed(context: dict[str, Any]) -> None:
    campaign = context["campaigns"].get(context["campaign"]["id"])
    reviewed = {a["role"]: a for a in campaign["agentApprovals"]}
    missing = [role for role in EXECUTIVE_AGENTS if role not in reviewed]
    assert not missing, f"no review by the {', '.join(r.upper() for r in missing)} agent(s)"
    for role in EXECUTIVE_AGENTS:
        assert reviewed[role]["decision"] == "approved", f"the {role.upper()} agent's review is {reviewed[role]}"


@then("a DAO proposal for the campaign awaits its vote")
def proposal_awaits(target: TargetSession, context: dict[str, Any]) -> None:
    campaigns = context["campaigns"]
    campaign = campaigns.wait_until(
        context["campaign"]["id"], lambda c: c["daoApproval"]["proposalId"] or c["status"] in ("completed", "failed"),
        "to name its DAO proposal")
    proposal_id = campaign["daoApproval"]["proposalId"]
    assert proposal_id, f"the campaign is {campaign['status']} and names no DAO proposal"
    governance = target.governance()
    proposal = governance.get(proposal_id)
    assert proposal["status"] == "submitted", f"the campaign's proposal is {proposal['status']}, not submitted"
    context.update(governance=governance, proposal_id=proposal_id)


@then("no email has gone out while the vote is open")
def nothing_sent_yet(target: TargetSession, context: dict[str, Any]) -> None:
    campaign = context["campaigns"].get(context["campaign"]["id"])
    assert campaign["status"] == "pending_approval", f"before the vote the campaign is {campaign['status']}"
    sink = target.mail_sink()
    sent = [r for r in context["recipients"] if sink.messages(to=r)]
    assert not sent, f"mail went to {sent} before the DAO voted"


@when("the CEO and the CFO vote for the campaign's proposal and an administrator approves the outcome")
def vote_campaign_proposal(target: TargetSession, context: dict[str, Any]) -> None:
    governance: GovernanceDriver = context["governance"]
    advance(governance, context["proposal_id"], "start-voting")
    carry_to_execution(target, governance, context["proposal_id"], ("ceo", "cfo"))


@then("the DAO contract records the campaign's proposal as executed")
def campaign_proposal_on_chain(context: dict[str, Any]) -> None:
    governance: GovernanceDriver = context["governance"]
    pid = context["proposal_id"]
    confirmed = context["chain"].confirm_proposal(governance.get(pid), governance.votes(pid))
    assert confirmed.chain.status == "executed", f"the DAO contract says {confirmed.chain.status}"


@then("the analytics dashboard counts the campaign and its emails")
def analytics_count_it(target: TargetSession, context: dict[str, Any]) -> None:
    before, after = context["overview_before"], _overview(target)
    sent = len(context["recipients"])
    for field, grew_by in (("completedCampaigns", 1), ("campaignEmailsDelivered", sent)):
        assert after[field] - before[field] >= grew_by, (
            f"the dashboard's {field} went from {before[field]} to {after[field]} over a campaign that completed "
            f"with {sent} email(s)"
        )
