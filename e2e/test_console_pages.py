"""The console as a person meets it: field errors instead of stack traces, escaped content, CSRF tokens,
labelled controls, a keyboard path to every submit button, and a clean browser console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import FlowFactory
from e2e.flows import MEMBER, executive, signed_in_member, unique
from e2e.pages.account import LoginPage, SignupPage
from e2e.pages.base import ConsolePage
from e2e.pages.campaigns import ApprovalsInboxPage, CampaignBuilderPage, CampaignDraft
from e2e.pages.dao import ProposalsPage
from e2e.pages.social import FeedbackPage, SocialPage
from e2e.target import E2ETarget

pytestmark = pytest.mark.browser
TRACE_WORDS = re.compile(r"Traceback|File \"|line \d+, in |Exception:")


def page_errors(flow_errors: list[str]) -> list[str]:
    """Console errors, less the 4xx status of a page that answers a bad form (422) or a forged post (403):
    the browser logs those statuses, and here they are the expected answer."""
    expected = re.compile(r"Failed to load resource: the server responded with a status of (403|422)")
    return [e for e in flow_errors if not expected.search(e)]


def no_trace(page: ConsolePage) -> None:
    text = page.page.get_by_role("main").inner_text()
    assert not TRACE_WORDS.search(text), f"{page.url} shows what looks like a stack trace: {text[:500]}"


def test_bad_input_shows_field_errors_never_a_trace(make_flow: FlowFactory, e2e_target: E2ETarget) -> None:
    flow = make_flow("Console forms answer bad input with field errors", criterion=None, gate=None)
    base = e2e_target.console_url
    page = flow.actor("visitor")
    with flow.step("a sign-up with a malformed address and a short password is refused, field by field"):
        signup = SignupPage(page, base).open()
        signup.sign_up("", "not-an-address", "short")
        signup.expect_heading("Create your account")
        expect(signup.error_summary()).to_contain_text("Please correct the following")
        signup.expect_field_error("Your name", "Enter your name")
        signup.expect_field_error("Email address", "Enter an email address")
        signup.expect_field_error("Password", "at least 8 characters")
        no_trace(signup)
    with flow.step("a wrong password is refused without saying which half was wrong"):
        login = LoginPage(page, base).open()
        login.page.get_by_label("Email address").fill("nobody@members.test")
        login.page.get_by_label("Password").fill("wrong-password")
        login.page.get_by_role("button", name="Log in").click()
        login.expect_field_error("Password", "email address or the password is wrong")
    page = signed_in_member(flow)
    with flow.step("a campaign with no name, a bad recipient and a budget in words is refused, input kept"):
        builder = CampaignBuilderPage(page, base).open()
        builder.fill(CampaignDraft(name="", recipients=["ada@example.org", "not-an-email"], budget="lots"))
        builder.submit()
        builder.expect_heading("New email campaign")
        builder.expect_field_error("Campaign name", "Enter a campaign name")
        builder.expect_field_error("Recipients", re.compile("Not an email address: line 2"))
        builder.expect_field_error("Budget (maximum cost)", "as a number")
        expect(page.get_by_label("Recipients")).to_have_value("ada@example.org\nnot-an-email")
        no_trace(builder)
        flow.screenshot(MEMBER, "campaign-field-errors.png")
    with flow.step("once corrected, the campaign is created"):
        campaign = builder.create(CampaignDraft(name=f"Corrected {unique('c')}", recipients=["ada@example.org"],
                                                dao_approval=False))
        campaign_id = campaign.campaign_id
    with flow.step("an approval decision without a reason is refused beside the field"):
        ceo = ApprovalsInboxPage(executive(flow, e2e_target, "ceo"), base).open()
        card = ceo.submit_decision(campaign_id, "Approve", "")
        reason = card.get_by_label("Reason for your decision")
        expect(reason).to_have_attribute("aria-invalid", "true")
        expect(reason).to_have_accessible_description(re.compile("Give a reason"))
        no_trace(ceo)
    assert not page_errors(flow.console_errors), page_errors(flow.console_errors)


def test_content_is_escaped_and_forms_need_their_token(make_flow: FlowFactory, e2e_target: E2ETarget) -> None:
    flow = make_flow("Console escapes what users write and refuses forged posts", criterion=None, gate=None)
    base = e2e_target.console_url
    page = signed_in_member(flow)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = "<script>alert('x')</script><b>bold</b> & \"quotes\""
    with flow.step("a campaign named with markup shows the markup as text"):
        campaign = CampaignBuilderPage(page, base).open().create(
            CampaignDraft(name=hostile, recipients=["ada@example.org"], dao_approval=False))
        campaign.expect_heading(f"Campaign: {hostile}")
        assert page.get_by_role("heading", level=1).inner_text() == f"Campaign: {hostile}"
        assert not dialogs, f"a script ran: {dialogs}"
    with flow.step("a post without the form's CSRF token is refused with a plain page"):
        reply = page.request.post(f"{base}/console/campaigns/new", form={"name": "forged", "recipients": "a@b.test"},
                                  max_redirects=0)
        assert reply.status == 403, f"a forged post answered {reply.status}"
        assert "This form has expired" in reply.text() and not TRACE_WORDS.search(reply.text())
        assert "default-src 'none'" in reply.headers.get("content-security-policy", ""), "no strict CSP header"
    with flow.step("the session cookie is HttpOnly and SameSite=Strict"):
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["lg_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict", session
    flow.screenshot(MEMBER, "escaped-campaign.png")
    assert not page_errors(flow.console_errors), page_errors(flow.console_errors)


def test_every_page_is_labelled_and_keyboard_reachable(make_flow: FlowFactory, e2e_target: E2ETarget) -> None:
    flow = make_flow("Console pages have labelled controls and a keyboard path to submit", criterion=None, gate=None)
    base = e2e_target.console_url
    visitor = flow.actor("visitor")
    pages: list[tuple[ConsolePage, str]] = [
        (SignupPage(visitor, base), "Create account"),
        (LoginPage(visitor, base), "Log in"),
    ]
    with flow.step("the sign-up and log-in pages"):
        for page, button in pages:
            check_page(page.open(), button)
    member = signed_in_member(flow)
    with flow.step("the campaign builder, the DAO page, the social composer and the feedback form"):
        for page, button in [
            (CampaignBuilderPage(member, base), "Create campaign"),
            (ProposalsPage(member, base), "Create proposal"),
            (SocialPage(member, base), "Publish post"),
            (FeedbackPage(member, base), "Send feedback"),
        ]:
            check_page(page.open(), button)
    with flow.step("the CEO's approvals inbox"):
        ApprovalsInboxPage(executive(flow, e2e_target, "ceo"), base).open()
        check_page(ApprovalsInboxPage(flow.actors["CEO"].page, base), "Log out")
    assert not flow.console_errors, flow.console_errors


def check_page(page: ConsolePage, submit: str) -> None:
    assert not page.unlabelled_controls(), f"{page.url} has unlabelled controls: {page.unlabelled_controls()}"
    button = page.page.get_by_role("main").get_by_role("button", name=submit, exact=True)
    if not button.count():
        button = page.page.get_by_role("button", name=submit, exact=True)
    assert page.tab_reaches(button.first), f"Tab never reaches the {submit!r} button on {page.url}"
