"""Campaign steps: creation, agent review, manual approvals, delivery and its verification."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from launchgate.bdd.evidence_plugin import note
from launchgate.bdd.session import TargetSession
from launchgate.drivers.campaigns import RULE_BREAKERS, CampaignsDriver, campaign_body
from launchgate.drivers.mail import recompute_hash

EXECUTIVES = {"the CEO": "ceo", "the CFO": "cfo", "the CLO": "clo"}


@dataclass(frozen=True)
class TrackedCampaign:
    """The scenario's campaign (the `campaign` fixture): the driver that created it, whom it mails, and the record
    as last read."""

    driver: CampaignsDriver
    recipients: list[str]
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.record["id"])


def recipients_for(n: int, tag: str) -> list[str]:
    """Addresses no other scenario uses, so the mail sink's view of them belongs to this scenario alone."""
    unique = secrets.token_hex(4)
    return [f"{tag}-{unique}-{i}@recipients.test" for i in range(1, n + 1)]


def create(driver: CampaignsDriver, body: dict[str, Any]) -> TrackedCampaign:
    recipients = [r["email"] for r in body["campaignData"]["recipients"]]
    return TrackedCampaign(driver, recipients, driver.create(body))


def member_create(target: TargetSession, body: dict[str, Any]) -> TrackedCampaign:
    """Created as the campaign manager the target knows: admin, or anyone on a target without authentication."""
    return create(target.campaigns(role=None if target.target.auth.get("mode") == "none" else "admin"), body)


@when(parsers.parse("a member creates a campaign for {n:d} recipients"), target_fixture="campaign")
@given(parsers.parse("a member has created a campaign for {n:d} recipients that needs no DAO vote"),
       target_fixture="campaign")
def create_campaign(target: TargetSession, n: int) -> TrackedCampaign:
    return member_create(target, campaign_body(recipients_for(n, "auto")))


@given("a member has created a campaign that waits for manual approval", target_fixture="campaign")
def create_manual_campaign(target: TargetSession) -> TrackedCampaign:
    return member_create(target, campaign_body(recipients_for(2, "manual"), approval_mode="manual"))


@when(parsers.parse("a member creates a campaign that breaks the rule of {agent}"), target_fixture="campaign")
def create_rule_breaking_campaign(target: TargetSession, agent: str) -> TrackedCampaign:
    return member_create(target, campaign_body(recipients_for(2, agent), **RULE_BREAKERS[agent]))


@then("the campaign is accepted for review")
def campaign_accepted(campaign: TrackedCampaign) -> None:
    record = campaign.record
    assert record["status"] in ("pending_approval", "executing", "completed"), record["status"]
    assert record["agentApprovals"], "the response names no agent approvals"


@then("the cognitive engine has recorded its optimizations")
def optimizations_recorded(campaign: TrackedCampaign) -> None:
    stored = campaign.driver.get(campaign.id)
    assert stored["optimizations"], "no cognitive optimization was recorded for the campaign"
    assert all("kind" in o and "applied" in o for o in stored["optimizations"])


@then("the campaign completes", target_fixture="campaign")
def campaign_completes(campaign: TrackedCampaign) -> TrackedCampaign:
    final = campaign.driver.wait_until_final(campaign.id)
    assert final["status"] == "completed", f"campaign ended {final['status']}: {final.get('stage')}"
    return replace(campaign, record=final)


@then("every recipient has received exactly one email")
def every_recipient_received(target: TargetSession, campaign: TrackedCampaign) -> None:
    sink = target.mail_sink()
    for recipient in campaign.recipients:
        mails = [m for m in sink.messages(to=recipient) if campaign.id in str(m["headers"])]
        assert len(mails) == 1, f"{recipient} received {len(mails)} email(s) for campaign {campaign.id}"


@then("each delivered email carries a verification hash that anyone can recompute")
def hashes_recompute(target: TargetSession, campaign: TrackedCampaign) -> None:
    sink = target.mail_sink()
    deliveries = {d["email"]: d for d in campaign.record["deliveries"]}
    for recipient in campaign.recipients:
        (mail,) = sink.messages(to=recipient)
        recomputed = recompute_hash(mail)
        assert recomputed == deliveries[recipient]["verificationHash"], (
            f"the hash the API reports for {recipient} does not match the delivered email"
        )


@then(parsers.parse("the campaign is rejected by {agent}"))
def rejected_by(campaign: TrackedCampaign, agent: str) -> None:
    final = campaign.driver.wait_until_final(campaign.id)
    assert final["status"] == "rejected", f"campaign ended {final['status']}, expected a rejection by {agent}"
    rejecting = [a.get("agent") for a in final["agentApprovals"] if a.get("decision") == "rejected"]
    assert agent in rejecting, f"rejected by {rejecting or 'nobody'}, expected {agent}"


@when(parsers.parse("{who} each approve it with a reason"))
def executives_approve(target: TargetSession, campaign: TrackedCampaign, who: str) -> None:
    for label in [w.strip() for w in who.replace(" and ", ",").split(",") if w.strip()]:
        _decide(target, campaign, EXECUTIVES[label], "approve")


@when(parsers.parse("{who} rejects it with a reason"))
def executive_rejects(target: TargetSession, campaign: TrackedCampaign, who: str) -> None:
    _decide(target, campaign, EXECUTIVES[who], "reject")


def _decide(target: TargetSession, campaign: TrackedCampaign, role: str, decision: str) -> None:
    target.require("manual-approvals", "executives have no approval inboxes to decide campaigns from")
    inbox = target.campaigns(role)
    mine = [a for a in inbox.pending_approvals(role) if a["campaignId"] == campaign.id]
    assert mine, f"the {role.upper()} inbox has no pending approval for campaign {campaign.id}"
    inbox.decide(mine[0]["id"], decision, f"{role} {decision}s after review")


@then("the campaign is rejected")
def campaign_rejected(campaign: TrackedCampaign) -> None:
    final = campaign.driver.wait_until_final(campaign.id)
    assert final["status"] == "rejected", f"campaign ended {final['status']}"


@then("no email was sent for it")
def no_email_sent(target: TargetSession, campaign: TrackedCampaign) -> None:
    sink = target.mail_sink()
    for recipient in campaign.recipients:
        assert not sink.messages(to=recipient), f"{recipient} received mail for a rejected campaign"


@then("the campaign still waits for the same approvals")
def still_waiting(target: TargetSession, campaign: TrackedCampaign, pending_before: list[dict[str, Any]]) -> None:
    target.require("manual-approvals", "there are no approval inboxes to compare before and after the restart")
    record = target.campaigns().get(campaign.id)
    assert record["status"] == "pending_approval", f"after the restart the campaign is {record['status']}"
    pending = [a for a in target.campaigns().pending_approvals() if a["campaignId"] == campaign.id]
    assert len(pending) == len(pending_before), (
        f"{len(pending_before)} approvals were pending before the restart, {len(pending)} after"
    )


@given("its approvals are pending", target_fixture="pending_before")
def approvals_pending(target: TargetSession, campaign: TrackedCampaign) -> list[dict[str, Any]]:
    target.require("manual-approvals", "executives have no approval inboxes in which approvals could wait")
    pending = [a for a in target.campaigns().pending_approvals() if a["campaignId"] == campaign.id]
    assert pending, "the campaign has no pending approval to keep"
    return pending


@then("the analytics dashboard agrees with the campaign records")
def dashboard_reconciles(target: TargetSession, request: pytest.FixtureRequest) -> None:
    campaigns = target.campaigns()
    # A live target's records move while they are read, but only one way: a campaign is created once and
    # completes once. So a dashboard read before the records were counted may show no more than they hold, and
    # one read after may show no fewer. These bounds decide on a busy target as on a quiet one (where they meet).
    # Counted in the window the dashboard reports (`since`; every record when it names none); the second read's
    # window starts a moment later, so the records created in between are taken off its lower bound.
    before = campaigns.dashboard()["overview"]
    since = before.get("since")
    counted = campaigns.count(since=since), campaigns.count(status="completed", since=since)
    after = campaigns.dashboard()["overview"]
    later = after.get("since")
    aged = [0, 0]
    if since and later and later != since:
        for i, status in enumerate((None, "completed")):
            # Created between the two windows' starts: counted from the later start first, so that a record
            # created meanwhile can only make this larger, and the lower bound looser, never wrongly tight.
            from_later = campaigns.count(status=status, since=later)
            aged[i] = campaigns.count(status=status, since=since) - from_later
    window = f" created since {since}" if since else ""
    for i, (key, what) in enumerate((("totalCampaigns", "campaigns"), ("completedCampaigns", "completed"))):
        assert before[key] <= counted[i], (
            f"the dashboard said {before[key]} {what} before the records held {counted[i]}{window}")
        assert after[key] >= counted[i] - aged[i], (
            f"the dashboard said {after[key]} {what} after the records held {counted[i] - aged[i]}{window}")
    if (before["totalCampaigns"], before["completedCampaigns"]) != counted:
        note(request, f"the target was busy: the dashboard showed {before['completedCampaigns']} then "
                      f"{after['completedCampaigns']} completed campaigns around a count of {counted[1]}; judged "
                      "by those bounds")
