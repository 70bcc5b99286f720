"""enhanced-mail-conduit over real HTTP: campaign workflow, agent rules, manual approvals, DAO, delivery
to the real SMTP sink with recomputable hashes, access control, single sends, analytics, restarts."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
import yaml
from reference_testkit import Api, Governance, recompute_hash, wait_for

from reference371os.kit.hashing import HEADER_CAMPAIGN, HEADER_EMAIL_ID, HEADER_HASH
from reference371os.paths import FIXTURES

FINAL = ("completed", "rejected", "failed")
VOTERS = {
    v["role"]: v
    for v in yaml.safe_load((FIXTURES / "seed/voters.yml").read_text())["voters"]
}


# ---- helpers ---------------------------------------------------------------------------------------


def conduit(stack: Any, role: str | None, user: str | None = None) -> Api:
    """A client straight to the conduit, as `user` with `role` (anonymous when role is None)."""
    return stack.client(role, user, base=stack.url("conduit"))


def addresses(n: int, tag: str) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{tag}-{run}-{i}@conduit.test" for i in range(1, n + 1)]


def campaign_body(recipients: list[str], **overrides: Any) -> dict[str, Any]:
    requires_dao = overrides.pop("requiresDAOApproval", False)
    mode = overrides.pop("approvalMode", "auto")
    data: dict[str, Any] = {
        "id": f"cmp-{uuid.uuid4().hex[:12]}",
        "name": "Spring product update",
        "description": "Quarterly product news for our community, aligned with the growth plan",
        "template": "product-update",
        "recipients": [{"email": r, "name": r.split("-")[0].title(), "segment": "beta"} for r in recipients],
        "budget": {"maxCost": 50.0, "currency": "USD"},
        "priority": "medium",
    }
    data.update(overrides)
    return {"campaignData": data, "requiresDAOApproval": requires_dao, "approvalMode": mode}


def create(client: Api, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post("/api/email/campaign", json=body, expect=(201,))
    assert reply["success"] is True
    return dict(reply["campaign"])


def get(client: Api, campaign_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/email/campaign/{campaign_id}")["campaign"])


def wait_stage(client: Api, campaign_id: str, done: Any, what: str, timeout: float = 15.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        campaign = get(client, campaign_id)
        return campaign if done(campaign) else None

    return wait_for(probe, timeout=timeout, what=f"campaign {campaign_id} {what}")


def wait_final(client: Api, campaign_id: str) -> dict[str, Any]:
    return wait_stage(client, campaign_id, lambda c: c["status"] in FINAL, "to finish")


def decision_of(campaign: dict[str, Any], agent: str) -> str:
    (item,) = [a for a in campaign["agentApprovals"] if a["agent"] == agent]
    return str(item["decision"])


def mails_of(stack: Any, campaign_id: str, recipient: str) -> list[dict[str, Any]]:
    return [m for m in stack.sink.messages(to=recipient) if m["headers"].get(HEADER_CAMPAIGN) == campaign_id]


def pending_for(client: Api, role: str, campaign_id: str) -> list[dict[str, Any]]:
    approvals = client.get("/api/approvals", params={"status": "pending", "role": role})["approvals"]
    return [a for a in approvals if a["campaignId"] == campaign_id]


# ---- the workflow ----------------------------------------------------------------------------------


def test_campaign_is_optimized_approved_and_delivered_with_recomputable_hashes(stack: Any) -> None:
    alice = conduit(stack, "member", "alice")
    recipients = addresses(3, "auto")
    body = campaign_body(recipients)
    # A duplicate in another case and an invalid address: the optimiser removes both and says so.
    body["campaignData"]["recipients"] += [{"email": recipients[0].upper()}, {"email": "not-an-address"}]
    created = create(alice, body)
    assert created["status"] in ("executing", "completed"), created
    assert created["recipients"] == {"submitted": 5, "deliverable": 3}
    kinds = {o["kind"]: o for o in created["optimizations"]}
    assert kinds["dedupe-recipients"]["applied"] and kinds["drop-invalid-addresses"]["applied"]
    assert kinds["drop-invalid-addresses"]["details"]["removed"] == ["not-an-address"]
    assert {"cost-estimate", "send-window", "subject-length"} <= kinds.keys()
    assert [a["decision"] for a in created["agentApprovals"]] == ["approved"] * 3

    final = wait_final(alice, created["id"])
    assert final["status"] == "completed" and final["stage"] == "completed"
    assert final["execution"]["delivered"] == 3 and final["execution"]["failed"] == 0
    assert final["execution"]["startedAt"] and final["execution"]["completedAt"]
    deliveries = {d["email"]: d for d in final["deliveries"]}
    assert set(deliveries) == set(recipients)
    for recipient in recipients:
        (mail,) = mails_of(stack, created["id"], recipient)
        d = deliveries[recipient]
        assert d["status"] == "delivered" and d["messageId"]
        assert re.fullmatch(r"0x[0-9a-f]{64}", d["anchorTx"]), d  # anchored on chain: tests/test_chain.py
        # The hash from the email alone equals the header's and the API's.
        assert recompute_hash(mail) == mail["headers"][HEADER_HASH] == d["verificationHash"]
        assert mail["headers"][HEADER_EMAIL_ID] == d["emailId"]
        assert "Hello " in mail["body"] and "unsubscribe" in mail["body"]


def test_same_campaign_input_gives_the_same_optimizations(stack: Any) -> None:
    alice = conduit(stack, "member", "alice")
    recipients = addresses(2, "det")
    first, second = campaign_body(recipients), campaign_body(recipients)
    a = create(alice, first)["optimizations"]
    b = create(alice, second)["optimizations"]
    assert a == b


@pytest.mark.parametrize(
    ("agent", "overrides", "issue"),
    [
        ("ceo_mimi", {"priority": "low", "description": ""}, "strategic-alignment-low"),
        ("cfo_maya", {"budget": {"maxCost": 50_000.0, "currency": "USD"}}, "budget-over-limit"),
        ("cfo_maya", {"budget": {"maxCost": 2000.0, "currency": "USD"}}, "cost-per-recipient-too-high"),
        ("cfo_maya", {"budget": {"maxCost": 5.0, "currency": "ETH"}}, "budget-over-limit"),
        ("clo_sage", {"name": "URGENT: guaranteed returns"}, "banned-phrase"),
        ("clo_sage", {"sender": "noreply@conduit.test"}, "sender-not-unsubscribable"),
    ],
)
def test_each_agent_rejects_a_campaign_that_breaks_its_rule(
    stack: Any, agent: str, overrides: dict[str, Any], issue: str
) -> None:
    client = conduit(stack, "member", "rule-breaker")
    recipients = addresses(2, agent)
    created = create(client, campaign_body(recipients, **overrides))
    final = wait_final(client, created["id"])
    assert final["status"] == "rejected", final
    rejecting = [a for a in final["agentApprovals"] if a["decision"] == "rejected"]
    assert [a["agent"] for a in rejecting] == [agent], rejecting
    assert issue in rejecting[0]["issues"] and rejecting[0]["reasons"]
    assert final["execution"] is None and final["error"]
    for recipient in recipients:
        assert not stack.sink.messages(to=recipient)


def test_manual_approvals_wait_for_humans_of_the_matching_role(stack: Any) -> None:
    owner = conduit(stack, "member", "manual-owner")
    ceo, cfo, clo = (conduit(stack, r, f"exec-{r}") for r in ("ceo", "cfo", "clo"))
    recipients = addresses(2, "manual")
    created = create(owner, campaign_body(recipients, approvalMode="manual"))
    assert created["status"] == "pending_approval" and created["stage"] == "agent_review"
    assert {a["decision"] for a in created["agentApprovals"]} == {"pending"}

    (item,) = pending_for(cfo, "cfo", created["id"])
    assert item["agent"] == "cfo_maya" and item["recommendation"] == "approve" and item["reasons"]
    # Another role may neither list nor decide the CFO's item.
    assert ceo.raw("GET", "/api/approvals", params={"role": "cfo"}).status_code == 403
    wrong = ceo.raw("POST", f"/api/approvals/{item['id']}/decision", json={"decision": "approve", "reason": "ok"})
    assert wrong.status_code == 403
    blank = cfo.raw("POST", f"/api/approvals/{item['id']}/decision", json={"decision": "approve", "reason": " "})
    assert blank.status_code == 422 and "reason" in blank.json()["error"]

    for client, role in ((ceo, "ceo"), (cfo, "cfo"), (clo, "clo")):
        (mine,) = pending_for(client, role, created["id"])
        reply = client.post(f"/api/approvals/{mine['id']}/decision", json={"decision": "approve", "reason": "fits"})
        assert reply["approval"]["status"] == "approved" and reply["approval"]["decidedBy"] == f"exec-{role}"
    again = cfo.raw("POST", f"/api/approvals/{item['id']}/decision", json={"decision": "reject", "reason": "late"})
    assert again.status_code == 409

    final = wait_final(owner, created["id"])
    assert final["status"] == "completed", final
    for recipient in recipients:
        assert len(mails_of(stack, created["id"], recipient)) == 1


def test_one_manual_rejection_rejects_the_campaign(stack: Any) -> None:
    owner = conduit(stack, "member", "manual-owner")
    cfo = conduit(stack, "cfo", "exec-cfo")
    recipients = addresses(2, "manual-reject")
    created = create(owner, campaign_body(recipients, approvalMode="manual"))
    (mine,) = pending_for(cfo, "cfo", created["id"])
    cfo.post(f"/api/approvals/{mine['id']}/decision", json={"decision": "reject", "reason": "not this quarter"})
    final = get(owner, created["id"])
    assert final["status"] == "rejected" and "not this quarter" in final["error"]
    assert decision_of(final, "cfo_maya") == "rejected"
    assert decision_of(final, "ceo_mimi") == decision_of(final, "clo_sage") == "cancelled"
    for recipient in recipients:
        assert not stack.sink.messages(to=recipient)


def _vote_through(stack: Any, proposal_id: str, option: str) -> None:
    """Runs a proposal through voting with the seeded CEO voter, then closes the vote."""
    gov = Governance(stack.client("ceo", "exec-ceo", base=stack.url("governance")))
    assert gov.transition(proposal_id, "start-voting").status == 200
    assert gov.vote(proposal_id, VOTERS["ceo"]["private_key"], option).status == 201
    assert gov.transition(proposal_id, "close-voting").status == 200


def test_dao_approval_gates_delivery(stack: Any) -> None:
    owner = conduit(stack, "member", "dao-owner")
    recipients = addresses(2, "dao")
    created = create(owner, campaign_body(recipients, requiresDAOApproval=True))
    voting = wait_stage(owner, created["id"], lambda c: c["stage"] == "dao_vote", "to wait for the DAO vote")
    assert voting["status"] == "pending_approval"
    proposal_id = voting["daoApproval"]["proposalId"]
    assert proposal_id and voting["daoApproval"]["proposalStatus"] == "submitted"
    assert not stack.sink.messages(to=recipients[0])

    listed = owner.get("/api/dao/proposals", params={"status": "all", "limit": 50})["proposals"]
    assert any(p["id"] == proposal_id and p["campaignId"] == created["id"] for p in listed)

    _vote_through(stack, proposal_id, "for")
    gov = Governance(stack.client("ceo", "exec-ceo", base=stack.url("governance")))
    assert gov.transition(proposal_id, "approve", {"approved_by": "ceo_mimi"}).status == 200
    final = wait_final(owner, created["id"])
    assert final["status"] == "completed" and final["daoApproval"]["approved"] is True
    for recipient in recipients:
        assert len(mails_of(stack, created["id"], recipient)) == 1


def test_dao_rejection_rejects_the_campaign(stack: Any) -> None:
    owner = conduit(stack, "member", "dao-owner")
    recipients = addresses(1, "dao-reject")
    created = create(owner, campaign_body(recipients, requiresDAOApproval=True))
    voting = wait_stage(owner, created["id"], lambda c: c["stage"] == "dao_vote", "to wait for the DAO vote")
    _vote_through(stack, voting["daoApproval"]["proposalId"], "against")
    final = wait_final(owner, created["id"])
    assert final["status"] == "rejected" and final["daoApproval"]["approved"] is False
    assert not stack.sink.messages(to=recipients[0])


def test_a_governance_outage_delays_the_proposal_without_failing_the_campaign(stack: Any) -> None:
    owner = conduit(stack, "member", "dao-outage")
    stack.stack.kill("governance")
    try:
        created = create(owner, campaign_body(addresses(1, "dao-outage"), requiresDAOApproval=True))
        waiting = wait_stage(owner, created["id"], lambda c: c["daoApproval"]["error"], "to record the outage")
        assert waiting["stage"] == "dao_submit" and waiting["status"] == "pending_approval"
        assert waiting["daoApproval"]["proposalId"] is None
    finally:
        stack.stack.start_service("governance")
    voting = wait_stage(owner, created["id"], lambda c: c["stage"] == "dao_vote", "to submit after the outage")
    assert voting["daoApproval"]["proposalId"] and voting["daoApproval"]["error"] is None


# ---- access and input ------------------------------------------------------------------------------


def test_campaigns_are_visible_to_their_owner_and_admin_only(stack: Any) -> None:
    alice, bob = conduit(stack, "member", "tenant-alice"), conduit(stack, "member", "tenant-bob")
    admin = conduit(stack, "admin", "tenant-admin")
    created = create(alice, campaign_body(addresses(1, "tenant")))
    missing = bob.raw("GET", f"/api/email/campaign/{created['id']}")
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert created["id"] not in [c["id"] for c in bob.get("/api/email/campaigns")["campaigns"]]
    assert created["id"] in [c["id"] for c in alice.get("/api/email/campaigns")["campaigns"]]
    assert get(admin, created["id"])["owner"] == "tenant-alice"


def test_anonymous_callers_get_401(stack: Any) -> None:
    anonymous = conduit(stack, None)
    body = campaign_body(addresses(1, "anon"))
    assert anonymous.raw("POST", "/api/email/campaign", json=body).status_code == 401
    assert anonymous.raw("GET", "/api/email/campaigns").status_code == 401
    assert anonymous.raw("GET", "/api/email/campaign/whatever").status_code == 401
    assert anonymous.raw("POST", "/api/email/send", json={"emailData": {}}).status_code == 401
    assert anonymous.raw("POST", "/api/approvals/x/decision", json={}).status_code == 401
    assert anonymous.raw("GET", "/api/analytics/dashboard").status_code == 401
    # Catalogues are public.
    assert anonymous.raw("GET", "/api/email/templates").status_code == 200


def test_malformed_bodies_get_422_naming_the_field(stack: Any) -> None:
    client = conduit(stack, "member", "validator")
    body = campaign_body(addresses(1, "bad"))
    del body["campaignData"]["budget"]
    reply = client.raw("POST", "/api/email/campaign", json=body)
    assert reply.status_code == 422 and "campaignData.budget" in reply.json()["error"]
    body = campaign_body(addresses(1, "bad"), priority="whenever")
    reply = client.raw("POST", "/api/email/campaign", json=body)
    assert reply.status_code == 422 and "campaignData.priority" in reply.json()["error"]
    reply = client.raw(
        "POST", "/api/email/send", json={"emailData": {"to": "nobody", "subject": "Hello", "content": "x"}}
    )
    assert reply.status_code == 422 and "emailData.to" in reply.json()["error"]


def test_duplicate_and_unknown_campaign_ids(stack: Any) -> None:
    client = conduit(stack, "member", "dup")
    body = campaign_body(addresses(1, "dup"))
    create(client, body)
    assert client.raw("POST", "/api/email/campaign", json=body).status_code == 409
    unknown = client.raw("GET", "/api/email/campaign/cmp-does-not-exist")
    assert unknown.status_code == 404 and unknown.json() == {
        "success": False,
        "error": "campaign cmp-does-not-exist not found",
    }


# ---- single sends ----------------------------------------------------------------------------------


def send_body(to: str, subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "emailData": {
            "to": to,
            "subject": subject,
            "content": "Hello,\nthis is a single message from the conduit test suite.\n",
            "metadata": {"purpose": "test", "n": 1},
            "privacy": {"maskSender": False, "trackingProtection": True, "blockchainVerification": True},
            **extra,
        },
        "useProxiedDelivery": True,
        "enableCognitiveOptimization": True,
    }


def test_send_email_delivers_a_verifiable_message(stack: Any) -> None:
    client = conduit(stack, "member", "sender")
    (to,) = addresses(1, "single")
    reply = client.post("/api/email/send", json=send_body(to, "Your  monthly   statement"))
    email = reply["email"]
    assert reply["success"] and email["status"] == "delivered" and email["deliveryMethod"] == "proxied"
    validation = email["agentValidation"]
    assert validation["approved"] and validation["overallScore"] == 1.0 and not validation["issues"]
    assert email["optimizations"] and email["estimatedDelivery"]
    (mail,) = stack.sink.messages(to=to)
    assert mail["subject"] == "Your monthly statement"
    assert recompute_hash(mail) == email["verificationHash"] == mail["headers"][HEADER_HASH]
    # The same emailId again is an idempotent retry, not a second email.
    again = client.post("/api/email/send", json=send_body(to, "Your monthly statement", emailId=email["id"]))
    assert again["duplicate"] is True and len(stack.sink.messages(to=to)) == 1


@pytest.mark.parametrize(
    ("subject", "issue"),
    [("Hi", "subject-too-short"), ("URGENT: act on your account", "potentially-spam-subject")],
)
def test_send_email_rejects_a_non_compliant_subject(stack: Any, subject: str, issue: str) -> None:
    client = conduit(stack, "member", "sender")
    (to,) = addresses(1, "single-bad")
    reply = client.raw("POST", "/api/email/send", json=send_body(to, subject))
    assert reply.status_code == 400
    body = reply.json()
    assert body["success"] is False and body["error"] == "Email validation failed" and issue in body["issues"]
    assert not stack.sink.messages(to=to)


# ---- catalogues, coordination, analytics ------------------------------------------------------------


def test_templates_and_agent_profiles_are_seeded(stack: Any) -> None:
    client = conduit(stack, None)
    templates = {t["id"]: t for t in client.get("/api/email/templates")["templates"]}
    assert {"blockchain-verified-welcome", "dao-governance-notification", "product-update"} <= templates.keys()
    assert all(t["blockchainVerified"] and t["cognitiveFeatures"] for t in templates.values())
    agents = {a["agent_name"]: a for a in client.get("/api/agents")["agents"]}
    assert set(agents) == {"ceo_mimi", "cfo_maya", "clo_sage", "chief_of_staff"}
    assert agents["cfo_maya"]["rules"]["max_budget_usd"] == 10000
    assert agents["ceo_mimi"]["rules"]["min_strategic_alignment"] == 0.8


def test_coordination_status_counts_real_approvals(stack: Any) -> None:
    owner = conduit(stack, "member", "coord-owner")
    clo = conduit(stack, "clo", "exec-clo")
    created = create(owner, campaign_body(addresses(1, "coord"), approvalMode="manual"))
    status = clo.get("/api/agent/coordination/status")["coordination"]
    assert set(status["activeAgents"]) == {"ceo_mimi", "cfo_maya", "clo_sage", "chief_of_staff"}
    mine = [a for a in status["pendingApprovals"] if a["campaignId"] == created["id"]]
    assert [a["role"] for a in mine] == ["clo"]
    assert status["performanceMetrics"]["pendingApprovalCount"] == len(status["pendingApprovals"])
    assert status["recentActivity"]


def test_analytics_reconciles_with_the_records(stack: Any) -> None:
    user = f"analyst-{uuid.uuid4().hex[:6]}"
    client = conduit(stack, "member", user)
    done = create(client, campaign_body(addresses(2, "an")))
    rejected = create(client, campaign_body(addresses(1, "an"), priority="low", description=""))
    wait_final(client, done["id"])
    wait_final(client, rejected["id"])
    (to,) = addresses(1, "an-single")
    client.post("/api/email/send", json=send_body(to, "Analytics check message"))

    records = client.get("/api/email/campaigns")["campaigns"]
    analytics = client.get("/api/analytics/dashboard", params={"timeRange": "7d"})["analytics"]
    overview = analytics["overview"]
    assert overview["totalCampaigns"] == len(records) == 2
    assert overview["completedCampaigns"] == sum(c["status"] == "completed" for c in records) == 1
    assert overview["rejectedCampaigns"] == 1
    delivered = sum(d["status"] == "delivered" for c in records for d in c["deliveries"])
    assert overview["campaignEmailsDelivered"] == delivered == 2
    assert overview["emailsDelivered"] == delivered + 1
    assert analytics["agentPerformance"]["agents"]["ceo_mimi"]["rejected"] == 1
    assert analytics["cognitiveOptimizations"]["campaignsOptimized"] == 2
    assert {"costOptimization", "daoGovernance", "spatialVisualization"} <= analytics.keys()
    assert client.raw("GET", "/api/analytics/dashboard", params={"timeRange": "5y"}).status_code == 422


# ---- durability ------------------------------------------------------------------------------------


def test_pending_approvals_and_interrupted_deliveries_survive_a_kill(stack: Any) -> None:
    """kill -9 with work in flight: a manual campaign still waits for its approvals, and a campaign whose
    deliveries could not reach the sink resumes after the restart and sends each email exactly once."""
    owner = conduit(stack, "member", "durable")
    waiting = create(owner, campaign_body(addresses(1, "durable"), approvalMode="manual"))
    recipients = addresses(3, "resume")
    stack.stack.kill("sink")
    try:
        stalled = create(owner, campaign_body(recipients))
        wait_stage(
            owner, stalled["id"], lambda c: any(d["lastError"] for d in c["deliveries"]), "to hit the stopped sink"
        )
        stack.stack.kill("conduit")
    finally:
        stack.stack.start_service("sink")
    stack.stack.start_service("conduit")

    assert get(owner, waiting["id"])["stage"] == "agent_review"
    admin = conduit(stack, "admin", "durable-admin")
    assert len([a for a in admin.get("/api/approvals")["approvals"] if a["campaignId"] == waiting["id"]]) == 3
    final = wait_final(owner, stalled["id"])
    assert final["status"] == "completed"
    for recipient in recipients:
        assert len(mails_of(stack, stalled["id"], recipient)) == 1


def test_a_delivery_backlog_does_not_hold_back_a_campaign_approved_after_it(stack: Any) -> None:
    """No head-of-line blocking: campaigns a mail outage deferred queue behind a campaign approved after the
    outage, across a kill -9 of the conduit, and still each deliver once. Judged by order, not by time: the new
    campaign's email is delivered before most of the backlog's. (Not by which campaigns completed first: those
    delivered within one anchoring window complete together, with their shared anchor.)"""
    owner = conduit(stack, "member", "backlog")
    stack.stack.kill("sink")
    try:
        backlog = [create(owner, campaign_body(addresses(2, "backlog")))["id"] for _ in range(40)]
        for campaign_id in backlog:
            wait_stage(owner, campaign_id, lambda c: (c["execution"] or {}).get("deferredAt"), "to be deferred")
        stack.stack.kill("conduit")
    finally:
        stack.stack.start_service("sink")
    stack.stack.start_service("conduit")
    fresh = wait_final(owner, create(owner, campaign_body(addresses(1, "after-outage")))["id"])
    assert fresh["status"] == "completed"
    (first,) = [datetime.fromisoformat(d["deliveredAt"]) for d in fresh["deliveries"]]
    later = 0
    for campaign_id in backlog:
        campaign = wait_stage(owner, campaign_id, lambda c: c["status"] in FINAL, "to finish", timeout=120)
        assert campaign["status"] == "completed"
        assert campaign["execution"]["delivered"] == 2
        later += sum(datetime.fromisoformat(d["deliveredAt"]) > first for d in campaign["deliveries"])
    assert later > len(backlog), f"only {later} of {2 * len(backlog)} deferred emails were delivered after the new one"


def test_health_reports_each_dependency(stack: Any) -> None:
    body = httpx.get(f"{stack.url('conduit')}/health", timeout=5).json()
    assert body["status"] == "operational"
    assert set(body["dependencies"]) == {"db", "mail", "chain"}


# ---- faults and PostgreSQL (own stacks) ------------------------------------------------------------


@pytest.mark.slow
def test_conduit_fault_switches_misbehave_as_named(make_stack: Any) -> None:
    faulty = make_stack(faults=["agent-rules-ignored", "drop-email", "cross-tenant", "analytics-drift", "no-seed"])
    alice, bob = conduit(faulty, "member", "f-alice"), conduit(faulty, "member", "f-bob")
    recipients = addresses(3, "fault")
    # Breaks the CEO's and the CFO's rules, yet every agent approves (agent-rules-ignored).
    body = campaign_body(recipients, priority="low", description="", budget={"maxCost": 50_000.0, "currency": "USD"})
    created = create(alice, body)
    final = wait_final(alice, created["id"])
    assert final["status"] == "completed"
    assert {a["decision"] for a in final["agentApprovals"]} == {"approved"}
    # drop-email: every delivery says delivered, the last recipient never got the email.
    assert [d["status"] for d in final["deliveries"]] == ["delivered"] * 3
    assert [len(mails_of(faulty, created["id"], r)) for r in recipients] == [1, 1, 0]
    # cross-tenant: another member reads the campaign.
    assert get(bob, created["id"])["owner"] == "f-alice"
    # analytics-drift: the overview is off by one against the records.
    records = alice.get("/api/email/campaigns")["campaigns"]
    overview = alice.get("/api/analytics/dashboard")["analytics"]["overview"]
    assert overview["totalCampaigns"] == len(records) + 1
    # no-seed: no templates, no agent profiles.
    assert alice.get("/api/email/templates")["templates"] == []
    assert alice.get("/api/agents")["agents"] == []


@pytest.mark.slow
@pytest.mark.postgres
def test_workflow_on_postgresql(make_stack: Any) -> None:
    pg = make_stack(database="postgres")
    owner = conduit(pg, "member", "pg-owner")
    recipients = addresses(2, "pg")
    auto = create(owner, campaign_body(recipients))
    manual = create(owner, campaign_body(addresses(1, "pg-manual"), approvalMode="manual"))
    for role in ("ceo", "cfo", "clo"):
        client = conduit(pg, role, f"pg-{role}")
        (mine,) = pending_for(client, role, manual["id"])
        client.post(f"/api/approvals/{mine['id']}/decision", json={"decision": "approve", "reason": "fine"})
    assert wait_final(owner, auto["id"])["status"] == "completed"
    assert wait_final(owner, manual["id"])["status"] == "completed"
    for recipient in recipients:
        (mail,) = mails_of(pg, auto["id"], recipient)
        assert recompute_hash(mail) == mail["headers"][HEADER_HASH]
    overview = owner.get("/api/analytics/dashboard")["analytics"]["overview"]
    assert overview["completedCampaigns"] == overview["totalCampaigns"] == 2
