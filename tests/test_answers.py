"""The answer journal: a leak scan of every answer with detect-secrets' plugins and the known secrets, and the
run's own request error counts. httpx's MockTransport plays the target; the gate-suite runs (the fault matrix's
`leak-secret`, the fake 371OS) show it on real answers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from launchgate.bdd.answers_evidence import LEAK_SCAN, record_answers
from launchgate.drivers.answers import AnswerJournal, route_of
from launchgate.evidence import EvidenceWriter, read_evidence

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
STRIPE_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # detect-secrets' own example, split so no scanner flags this file


def _client(journal: AnswerJournal, handler: httpx.MockTransport, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(transport=handler, base_url="http://127.0.0.1:9", headers=headers,
                        event_hooks={"request": [journal.on_request], "response": [journal.on_response]})


def _answering(body: object, status: int = 200, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(status, json=body, headers=headers))


@pytest.mark.parametrize(("body", "kind"), [
    ({"config": {"aws": AWS_KEY}}, "AWS Access Key"),
    ({"user": {"email": "a@b.io", "password": "hunter2hunter2"}}, "Secret Keyword"),
    ({"billing": {"stripe": STRIPE_KEY}}, "Stripe Access Key"),
    ({"key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}, "Private Key"),
])
def test_a_secret_shaped_value_in_a_body_is_a_leak_and_is_masked(body: object, kind: str) -> None:
    journal = AnswerJournal(enabled=True)
    with _client(journal, _answering(body)) as client:
        client.get("/api/users/12345678")
    (leak,) = journal.leaks()
    assert (leak.kind, leak.route, leak.where) == (kind, "GET /api/users/{id}", "body")
    assert leak.masked.startswith("a value of ") and leak.masked.endswith(" characters")


def test_a_known_secret_is_found_in_a_header_and_named_by_it() -> None:
    journal = AnswerJournal(enabled=True)
    journal.know(["internal-token-0123456789"])
    with _client(journal, _answering({"ok": True}, headers={"X-Debug": "t=internal-token-0123456789"})) as client:
        client.get("/health")
    assert [(leak.kind, leak.where) for leak in journal.leaks()] == [("known secret", "x-debug")]


def test_ids_hashes_jwts_and_the_callers_own_credential_are_no_leak() -> None:
    """What 371OS returns by design: hex hashes, ids, a login's JWT, an API key handed to its owner who then uses it."""
    own_key = "lgk_" + "a9" * 20
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
    journal = AnswerJournal(enabled=True)
    bodies = {"/api/auth/login": {"token": jwt}, "/api/keys": {"apiKey": own_key},
              "/api/email/campaign/abc": {"verificationHash": "ab" * 32, "txHash": "0x" + "cd" * 32, "id": "abc"}}
    handler = httpx.MockTransport(lambda request: httpx.Response(200, json=bodies[request.url.path]))
    with _client(journal, handler) as client:
        for path in bodies:
            client.get(path)
    with _client(journal, handler, token=own_key) as client:
        client.get("/api/email/campaign/abc")
    assert journal.leaks() == []
    assert journal.answers == 4 and journal.scanned_bytes > 0


def test_server_errors_and_silence_are_counted_per_route() -> None:
    journal = AnswerJournal(enabled=True)
    with _client(journal, httpx.MockTransport(lambda r: httpx.Response(502 if "/login" in r.url.path else 200))) as c:
        for _ in range(3):
            c.post("/api/auth/login")
        c.get("/api/campaigns")
    journal.on_unanswered("GET", "http://127.0.0.1:9/api/campaigns/0f3a9c2e")
    assert journal.error_answers() == {"POST /api/auth/login": 3, "GET /api/campaigns/{id}": 1}
    assert sum(journal.statuses.values()) == 5
    assert set(journal.seconds) == {"POST /api/auth/login", "GET /api/campaigns"}  # the time of each route's answers


def test_route_of_folds_ids_and_keeps_words() -> None:
    assert route_of("GET", "http://h/api/governance/proposals/PROP-17/results?x=1") == \
        "GET /api/governance/proposals/{id}/results"
    assert route_of("GET", "http://h/api/governance/proposals/pending-approval") == \
        "GET /api/governance/proposals/pending-approval"


def test_the_evidence_fails_security_secrets_on_a_leak_and_holds_no_value(tmp_path: Path) -> None:
    journal = AnswerJournal(enabled=True)
    with _client(journal, _answering({"aws": AWS_KEY})) as client:
        client.get("/config")
    writer = EvidenceWriter(tmp_path, "scenarios-main")
    record_answers(journal, writer, "t", "main", "2026-12-03T00:00:00.000Z")
    assert AWS_KEY not in writer.path.read_text()
    records = {r.name: r for r in read_evidence(tmp_path)[0]}
    scan = records[LEAK_SCAN]
    assert (scan.kind, scan.criterion, scan.outcome) == ("scenario", "security.secrets", "failed")
    assert "AWS Access Key in the body of GET /config" in scan.details["error"]
    details = json.loads(json.dumps(records["run.request-errors"].details))
    assert details["requests"] == 1
    assert details["slowest_routes"]["GET /config"]["requests"] == 1
