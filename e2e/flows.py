"""The business flows the browser tests walk through, as named steps over page objects.

The main one is the framework's own: from creating an email campaign to verifying the results on the
blockchain (§5), as internal testers and beta users do it in a browser.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.chain_checks import ChainCheckUnavailable, tx_from_href
from e2e.pages.account import LoginPage, SignupPage, VerifyPage
from e2e.pages.campaigns import ApprovalsInboxPage, CampaignBuilderPage, CampaignDraft, CampaignPage, DeliveryRow
from e2e.pages.dao import ProposalPage
from e2e.pages.explorer import TransactionPage
from e2e.recorder import FlowRecorder
from e2e.target import E2ETarget
from launchgate.drivers.identity import VERIFICATION_HEADER
from launchgate.drivers.mail import recompute_hash

EXECUTIVES = ("ceo", "cfo", "clo")
MEMBER = "new member"
DELIVERY_STEP = "every recipient received exactly one email (checked against the mail sink)"
CHAIN_STEP = "the chain confirms the verification hashes and the proposal tally"


def unique(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(4)}"


def recipients_for(tag: str, n: int = 3) -> list[str]:
    return [f"{tag}-{i}@recipients.test" for i in range(1, n + 1)]


@dataclass
class CampaignFlowResult:
    campaign_id: str = ""
    proposal_id: str = ""
    recipients: list[str] = field(default_factory=list)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    chain: dict[str, Any] = field(default_factory=dict)


def onboard_member(flow: FlowRecorder, env: E2ETarget, tag: str) -> Page:
    """A new user signs up, follows the verification link from the mail sink, and logs in."""
    base, page = env.console_url, flow.actor(MEMBER)
    email, password = f"{tag}@members.test", secrets.token_urlsafe(12)
    with flow.step("a new user signs up in the console"):
        verify = SignupPage(page, base).open().sign_up("Ada Member", email, password)
        verify.expect_heading("Check your email")
    with flow.step("the verification link read from the mail sink verifies the address"):
        (mail, *_) = env.sink.wait_for(email, 1, timeout=15)
        token = mail["headers"].get(VERIFICATION_HEADER)
        assert token, f"the verification email to {email} carries no {VERIFICATION_HEADER} header"
        login = VerifyPage(page, base).follow_link(token).confirm()
    with flow.step("the new user logs in"):
        login.log_in(email, password)
    return page


def executive(flow: FlowRecorder, env: E2ETarget, role: str) -> Page:
    """The executive's own browser, logged in: with the session saved for the run, else through the form."""
    label = role.upper()
    if label in flow.actors:
        return flow.actors[label].page
    if flow.sessions is not None:
        return flow.actor(label, signed_in_as=role)
    page = flow.actor(label)
    LoginPage(page, env.console_url).open().log_in(env.email(role), env.password(role))
    return page


def signed_in_member(flow: FlowRecorder) -> Page:
    """A member who signed up, verified and logged in earlier in the run (the flows above test that path)."""
    return flow.actor(MEMBER, signed_in_as="member")


def saved_session(browser: Browser, env: E2ETarget, role: str) -> dict[str, Any]:
    """Logs `role` in once through the console (a new member signs up first) and returns the browser state."""
    context = browser.new_context()
    try:
        page = context.new_page()
        if role == "member":
            tag, password = unique("member"), secrets.token_urlsafe(12)
            email = f"{tag}@members.test"
            SignupPage(page, env.console_url).open().sign_up("Sam Member", email, password)
            (mail, *_) = env.sink.wait_for(email, 1, timeout=15)
            VerifyPage(page, env.console_url).follow_link(mail["headers"][VERIFICATION_HEADER]).confirm().log_in(
                email, password)
        else:
            LoginPage(page, env.console_url).open().log_in(env.email(role), env.password(role))
        return dict(context.storage_state())
    finally:
        context.close()


def create_campaign(flow: FlowRecorder, env: E2ETarget, page: Page, draft: CampaignDraft) -> CampaignPage:
    needs = [*(["executive"] if draft.manual_approval else []), *(["DAO"] if draft.dao_approval else [])]
    what = f"needing {' and '.join(needs)} approval" if needs else "approved by the agents' rules"
    with flow.step(f"the user builds a campaign {what}"):
        campaign = CampaignBuilderPage(page, env.console_url).open().create(draft)
        expected = ("pending approval",) if draft.manual_approval else ("pending approval", "executing", "completed")
        assert campaign.status in expected, f"a new campaign is {campaign.status!r}, expected {expected}"
    return campaign


def campaign_to_chain(flow: FlowRecorder, env: E2ETarget, *, governed: bool = True) -> CampaignFlowResult:
    """Sign up → campaign → CEO, CFO, CLO approve → DAO vote → delivery → hashes → chain.

    `governed=False` leaves the approvals to the agents and skips the DAO: the same flow, shorter, for runs
    whose point is what happens at delivery."""
    result = CampaignFlowResult()
    tag = unique("e2e")
    member = onboard_member(flow, env, tag)
    result.recipients = recipients_for(tag)
    draft = CampaignDraft(name=f"Spring product update {tag}", recipients=result.recipients,
                          manual_approval=governed, dao_approval=governed)
    campaign = create_campaign(flow, env, member, draft)
    result.campaign_id = campaign_id = campaign.campaign_id
    if governed:
        govern(flow, env, campaign, result)
    with flow.step("the campaign executes and completes"):
        campaign.open_campaign(campaign_id).wait_for_status("completed", timeout=30)
    with flow.step(DELIVERY_STEP):
        result.deliveries = rows = campaign.deliveries()
        shown = sorted(r.recipient for r in rows)
        assert shown == sorted(result.recipients), f"the page lists {shown}, the campaign went to {result.recipients}"
        not_delivered = [r.recipient for r in rows if r.status != "delivered"]
        assert not not_delivered, f"the page shows these deliveries not delivered: {not_delivered}"
        for recipient in result.recipients:
            mails = [m for m in env.sink.messages(to=recipient) if campaign_id in str(m["headers"])]
            assert len(mails) == 1, (
                f"{recipient} is shown delivered, but the mail sink holds {len(mails)} email(s) for campaign "
                f"{campaign_id}"
            )
    with flow.step("the page shows each email's verification hash, and it matches the delivered email"):
        for row in rows:
            (mail,) = [m for m in env.sink.messages(to=row.recipient) if campaign_id in str(m["headers"])]
            assert row.verification_hash == recompute_hash(mail), (
                f"the hash shown for {row.recipient} is not the one its delivered email recomputes to"
            )
    if governed:
        with flow.step(CHAIN_STEP):
            result.chain = confirm_on_chain(flow, env, result)
    flow.screenshot(MEMBER, "campaign-verified.png")  # the finished campaign with its confirmed transaction links
    return result


def govern(flow: FlowRecorder, env: E2ETarget, campaign: CampaignPage, result: CampaignFlowResult) -> None:
    """The executives approve in their inboxes; the campaign's DAO proposal is voted, tallied and approved."""
    base, campaign_id = env.console_url, result.campaign_id
    for role in EXECUTIVES:
        with flow.step(f"the {role.upper()} approves it in the approvals inbox, with a reason"):
            inbox = ApprovalsInboxPage(executive(flow, env, role), base).open()
            inbox.approve(campaign_id, f"{role.upper()}: fits the plan and the budget")

    with flow.step("the campaign's DAO proposal is created and the CEO opens the vote"):
        campaign.open_campaign(campaign_id)
        result.proposal_id = proposal_id = campaign.dao_proposal_link().inner_text().strip()
        ceo = ProposalPage(executive(flow, env, "ceo"), base).open_proposal(proposal_id)
        ceo.wait_for_status("submitted")
        ceo.start_voting()
    with flow.step("the CEO, the CFO and the CLO each cast a signed vote for it"):
        for role in EXECUTIVES:
            ProposalPage(executive(flow, env, role), base).open_proposal(proposal_id).vote(role, "For")
    with flow.step("voting closes and the tally counts every vote with its voting power"):
        ceo.open_proposal(proposal_id).close_voting()
        tally = ceo.tally()
        assert tally["Outcome"].startswith("passed"), f"the tally says {tally}"
        assert tally["Votes for"] == "3 (power 2600)", f"the tally says {tally['Votes for']} for, expected 3 (2600)"
        assert len(ceo.votes()) == 3 and all(v["signature"] == "verified" for v in ceo.votes())
    with flow.step("the CEO approves the result and the proposal is executed"):
        ceo.approve("The DAO voted for it; executing")


def confirm_on_chain(flow: FlowRecorder, env: E2ETarget, result: CampaignFlowResult) -> dict[str, Any]:
    """The page's transaction links are the API's anchors; the chain driver confirms those anchors against
    the delivered emails, and the proposal's record, votes, tally and decision; an anchor link opens."""
    try:
        driver = env.chain_driver()
    except ChainCheckUnavailable as exc:  # no chain driver or no chain: no data, never a pass
        pytest.skip(f"inconclusive: {exc}")
    page = flow.actors[MEMBER].page
    shown = CampaignPage(page, env.console_url)

    def all_confirmed() -> list[DeliveryRow] | None:
        rows = shown.deliveries()
        return rows if rows and all(r.chain_state.startswith("confirmed") for r in rows) else None

    # Anchoring may trail delivery: wait until the page shows every anchor confirmed.
    result.deliveries = shown.reload_until(all_confirmed, timeout=30, what="every anchor shown confirmed")
    admin = env.api("admin")
    try:
        campaign = admin.get(f"/api/email/campaign/{result.campaign_id}")["campaign"]
        proposal = admin.get(f"/api/governance/proposals/{result.proposal_id}")["data"]
        votes = admin.get(f"/api/governance/proposals/{result.proposal_id}/votes")["data"]
    finally:
        admin.close()
    anchors = {d["email"]: d.get("anchorTx") for d in campaign["deliveries"]}
    template = env.target.chain.explorer_tx_url if env.target.chain else ""
    for row in result.deliveries:
        tx = tx_from_href(row.tx_href)
        assert tx, f"the page shows no transaction link for {row.recipient}"
        assert tx.lower() == str(anchors[row.recipient]).lower(), f"the link for {row.recipient} is not its anchor"
        if template:
            assert row.tx_href == template.replace("{tx}", tx), f"{row.tx_href} does not follow {template}"
    messages = [m for r in result.recipients for m in env.sink.messages(to=r)
                if result.campaign_id in str(m["headers"])]
    campaign_ok = driver.confirm_campaign(campaign, messages)
    proposal_ok = driver.confirm_proposal(proposal, votes)
    assert campaign_ok.recomputed == len(result.recipients), (
        f"only {campaign_ok.recomputed} of {len(result.recipients)} anchors were checked against delivered emails"
    )
    first = result.deliveries[0]
    # The link in this recipient's row: the emails of one delivery pass share their anchoring transaction.
    row = page.get_by_role("table", name="Deliveries").get_by_role("row", name=first.recipient)
    row.get_by_role("link", name=f"Transaction {tx_from_href(first.tx_href)}").click()
    explorer = TransactionPage(page, env.console_url)
    expect(explorer.heading, f"explorer page for {first.recipient}'s anchor").to_have_text(re.compile("^Transaction"))
    assert explorer.state == "success", f"the explorer says the anchor transaction is {explorer.state}"
    flow.screenshot(MEMBER, "anchor-transaction.png")
    page.go_back()
    return {
        "anchors": {a.email_id: a.confirmation.tx_hash for a in campaign_ok.emails},
        "proposal": {k: c.tx_hash for k, c in proposal_ok.transactions.items()},
        "tally_on_chain": proposal_ok.chain.power,
    }


def campaign_rejected_by_cfo(flow: FlowRecorder, env: E2ETarget) -> str:
    """The CEO approves, the CFO rejects with a reason: the campaign stops and no email leaves."""
    base, tag = env.console_url, unique("reject")
    member = onboard_member(flow, env, tag)
    recipients = recipients_for(tag, 2)
    draft = CampaignDraft(name=f"Summer promotion {tag}", recipients=recipients, dao_approval=False)
    campaign = create_campaign(flow, env, member, draft)
    campaign_id = campaign.campaign_id
    with flow.step("the CEO approves it in the approvals inbox"):
        ApprovalsInboxPage(executive(flow, env, "ceo"), base).open().approve(campaign_id, "Strategic fit")
    reason = "Budget already committed to the spring campaign"
    with flow.step("the CFO rejects it with a reason"):
        ApprovalsInboxPage(executive(flow, env, "cfo"), base).open().reject(campaign_id, reason)
    with flow.step("the campaign page shows it rejected, with the CFO's reason"):
        campaign.open_campaign(campaign_id).wait_for_status("rejected", timeout=15)
        table = member.get_by_role("table", name="Agent recommendations and executive decisions")
        expect(table.get_by_role("row", name=re.compile("^cfo_maya")), "the CFO's row").to_contain_text(reason)
    with flow.step("no email was sent for it"):
        for recipient in recipients:
            assert not env.sink.messages(to=recipient), f"{recipient} received mail for a rejected campaign"
    flow.screenshot(MEMBER, "campaign-rejected.png")
    return campaign_id
