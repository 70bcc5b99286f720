"""Cross-service checks of a running reference stack, named by LAUNCHGATE_STACK_STATE (its state directory).

Run by the reference profile's integration hook (`python -m pytest --noconftest ... --junitxml=...`); each test
crosses at least one service boundary inside the stack and takes about a second.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.http import ApiClient
from launchgate.drivers.identity import VERIFICATION_HEADER, IdentityDriver
from launchgate.drivers.mail import MailSink
from launchgate.stack.manager import DEFAULT_STATE_DIR, STATE_ENV, Stack
from launchgate.waiting import wait_for


@pytest.fixture(scope="module")
def stack() -> Stack:
    stack = Stack(DEFAULT_STATE_DIR)
    if not stack.secrets_file.exists():
        pytest.fail(f"no reference stack in {stack.state_dir}: set {STATE_ENV} to the state directory of a running "
                    "one")
    return stack


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[ApiClient]:
    with ApiClient(stack.url("gateway")) as anonymous:
        login = {"email": "admin@371os.local", "password": stack.secrets.role_passwords["admin"]}
        token = anonymous.post("/api/auth/login", json=login)["token"]
    with ApiClient(stack.url("gateway"), token=token) as client:
        yield client


def test_gateway_reaches_every_api_service(admin: ApiClient) -> None:
    for path in ("/api/email/templates", "/api/governance/proposals?limit=1", "/api/auth/me"):
        admin.get(path)


def test_conduit_files_a_dao_proposal_with_governance(admin: ApiClient) -> None:
    campaigns = CampaignsDriver(admin)
    body = campaign_body([f"integration-{secrets.token_hex(4)}@recipients.test"], requires_dao=True)
    created = campaigns.create(body)
    campaign = campaigns.wait_until(
        created["id"], lambda c: (c.get("daoApproval") or {}).get("proposalStatus") not in (None, "draft"),
        "a DAO proposal filed and submitted for it",
    )
    # Read straight from governance's API, not the conduit's copy (and without the governance driver's eth_account).
    proposal = admin.get(f"/api/governance/proposals/{campaign['daoApproval']['proposalId']}")["data"]
    assert proposal["status"] != "draft", f"governance holds the campaign's proposal as {proposal['status']}"


def test_platform_mails_the_verification_link_through_the_sink(stack: Stack) -> None:
    email = f"integration-{secrets.token_hex(4)}@members.test"
    with ApiClient(stack.url("gateway")) as anonymous:
        IdentityDriver(anonymous).signup(email, "pw-" + secrets.token_urlsafe(12), "Integration Check")
    (mail, *_) = MailSink(stack.url("sink")).wait_for(email, 1)
    assert mail["headers"].get(VERIFICATION_HEADER), "the verification email carries no token"


def test_gateway_accepts_an_api_key_that_platform_issued(stack: Stack, admin: ApiClient) -> None:
    key = admin.post("/api/auth/tokens", json={"name": f"integration-{secrets.token_hex(3)}"})["token"]["key"]
    with ApiClient(stack.url("gateway"), api_key=key) as keyed:
        me = wait_for(lambda: keyed.get("/api/auth/me")["user"], timeout=5, what="the API key accepted")
    assert me["email"] == "admin@371os.local"
