"""Cross-service checks of a running reference stack, named by LAUNCHGATE_STACK_STATE (its state directory).

Run by the reference profile's integration hook (`python -m pytest --noconftest ... --junitxml=...`); each test
crosses at least one service boundary inside the stack and takes about a second. Plain httpx: the reference's own
tests use none of the harness's code.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from reference371os.manager import DEFAULT_STATE_DIR, STATE_ENV, Stack

T = TypeVar("T")
VERIFICATION_HEADER = "X-371OS-Verification-Token"


def poll(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def ok(reply: httpx.Response) -> Any:
    request = reply.request
    assert reply.is_success, f"{request.method} {request.url.path} answered {reply.status_code}: {reply.text}"
    return reply.json()


@pytest.fixture(scope="module")
def stack() -> Stack:
    stack = Stack(DEFAULT_STATE_DIR)
    if not stack.secrets_file.exists():
        pytest.fail(f"no reference stack in {stack.state_dir}: set {STATE_ENV} to the state directory of a running "
                    "one")
    return stack


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[httpx.Client]:
    login = {"email": "admin@371os.local", "password": stack.secrets.role_passwords["admin"]}
    token = ok(httpx.post(f"{stack.url('gateway')}/api/auth/login", json=login))["token"]
    with httpx.Client(base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_gateway_reaches_every_api_service(admin: httpx.Client) -> None:
    for path in ("/api/email/templates", "/api/governance/proposals?limit=1", "/api/auth/me"):
        ok(admin.get(path))


def test_conduit_files_a_dao_proposal_with_governance(admin: httpx.Client) -> None:
    campaign_id = f"cmp-integration-{secrets.token_hex(4)}"
    recipient = f"integration-{secrets.token_hex(4)}@recipients.test"
    ok(admin.post("/api/email/campaign", json={
        "campaignData": {
            "id": campaign_id, "name": "Integration check", "description": "A campaign that needs a DAO vote",
            "template": "product-update", "recipients": [{"email": recipient, "name": "Integration"}],
            "budget": {"maxCost": 50.0, "currency": "USD"}, "priority": "medium",
        },
        "requiresDAOApproval": True, "approvalMode": "auto",
    }))

    def filed() -> dict[str, Any] | None:
        campaign = ok(admin.get(f"/api/email/campaign/{campaign_id}"))["campaign"]
        approval = campaign.get("daoApproval") or {}
        return approval if approval.get("proposalStatus") not in (None, "draft") else None

    approval = poll(filed, f"campaign {campaign_id}'s DAO proposal filed and submitted")
    # Read straight from governance's API, not the conduit's copy.
    proposal = ok(admin.get(f"/api/governance/proposals/{approval['proposalId']}"))["data"]
    assert proposal["status"] != "draft", f"governance holds the campaign's proposal as {proposal['status']}"


def test_platform_mails_the_verification_link_through_the_sink(stack: Stack) -> None:
    email = f"integration-{secrets.token_hex(4)}@members.test"
    signup = {"email": email, "password": "pw-" + secrets.token_urlsafe(12), "name": "Integration Check"}
    ok(httpx.post(f"{stack.url('gateway')}/api/auth/signup", json=signup))
    mail = poll(lambda: ok(httpx.get(f"{stack.url('sink')}/messages", params={"to": email}))["messages"],
                f"the verification email to {email}", timeout=10)[0]
    assert mail["headers"].get(VERIFICATION_HEADER), "the verification email carries no token"


def test_gateway_accepts_an_api_key_that_platform_issued(stack: Stack, admin: httpx.Client) -> None:
    key = ok(admin.post("/api/auth/tokens", json={"name": f"integration-{secrets.token_hex(3)}"}))["token"]["key"]

    def me() -> dict[str, Any] | None:
        reply = httpx.get(f"{stack.url('gateway')}/api/auth/me", headers={"X-API-Key": key})
        return reply.json()["user"] if reply.is_success else None

    assert poll(me, "the API key accepted", timeout=5)["email"] == "admin@371os.local"
