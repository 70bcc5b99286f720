"""The gateway over real HTTP: routing, authentication, forged identity, rate limits, upstream failures.

Most tests go through the shared reference stack. Failure modes that would break that stack for
everyone (an upstream down or hung, a tiny rate limit) use a gateway process of their own on its own
ports, with no upstreams behind it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from reference_testkit import RunningStack, wait_for

from reference371os import procs
from reference371os.config import Secrets
from reference371os.gateway.identity import TtlLru
from reference371os.gateway.ratelimit import RateLimiter
from reference371os.gateway.routing import ROUTES, route_for
from reference371os.kit.auth import Caller, issue_token
from reference371os.layout import Ports
from reference371os.secrets import generate_secrets
from reference371os.testing import next_port_base

# One read-only route per prefix of the routing table, and the service that must answer it.
ROUTE_PROBES = [
    ("/api/email/templates", "conduit"),
    ("/api/agent/coordination/status", "conduit"),
    ("/api/agents", "conduit"),
    ("/api/analytics/dashboard", "conduit"),
    ("/api/dao/proposals", "conduit"),
    ("/api/approvals", "conduit"),
    ("/api/governance/proposals", "governance"),
    ("/api/auth/tokens", "platform"),
    ("/api/social/posts", "platform"),
    ("/api/feedback", "platform"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(reply: httpx.Response) -> str:
    body = reply.json()
    assert body["success"] is False, body
    return str(body["error"])


@pytest.fixture(scope="module")
def gateway(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def admin_login(stack: RunningStack, gateway: httpx.Client) -> dict[str, Any]:
    """The seeded admin, logged in through the gateway (an anonymous POST forwarded with its body)."""
    reply = gateway.post(
        "/api/auth/login",
        json={"email": "admin@371os.local", "password": stack.secrets.role_passwords["admin"]},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


# -- routing ------------------------------------------------------------------------------------------


def test_routing_table_is_the_documented_one() -> None:
    assert {r.prefix: r.service for r in ROUTES} == {
        "/api/email": "conduit",
        "/api/agent": "conduit",
        "/api/agents": "conduit",
        "/api/analytics": "conduit",
        "/api/dao": "conduit",
        "/api/approvals": "conduit",
        "/api/governance": "governance",
        "/api/auth": "platform",
        "/api/social": "platform",
        "/api/feedback": "platform",
    }
    assert {r.prefix for r in ROUTES} == {route_for(p).prefix for p, _ in ROUTE_PROBES}  # type: ignore[union-attr]
    assert route_for("/api/agentsx") is None
    assert route_for("/internal/api-keys/verify") is None


@pytest.mark.parametrize(("path", "service"), ROUTE_PROBES)
def test_each_prefix_reaches_its_upstream(stack: RunningStack, gateway: httpx.Client, path: str, service: str) -> None:
    headers = bearer(stack.token("admin", "gw-router"))
    via = gateway.get(path, headers=headers)
    direct = httpx.get(stack.url(service) + path, headers=headers, timeout=15)
    assert direct.status_code == 200, f"{service} {path}: {direct.status_code} {direct.text[:300]}"
    assert via.status_code == 200, f"gateway {path}: {via.status_code} {via.text[:300]}"
    assert via.headers["content-type"] == direct.headers["content-type"]
    assert set(via.json()) == set(direct.json()), f"{path} did not come from {service}"


def test_query_and_body_are_forwarded(stack: RunningStack, gateway: httpx.Client) -> None:
    listed = gateway.get("/api/governance/proposals", params={"limit": 1, "page": 1})
    assert listed.status_code == 200, listed.text
    assert listed.json()["metadata"]["limit"] == 1
    assert len(listed.json()["data"]) <= 1

    user = f"gw-body-{uuid.uuid4().hex[:8]}"
    sent = gateway.post(
        "/api/feedback",
        json={"tester": user, "rating": 5, "comment": "through the gateway"},
        headers=bearer(stack.token("member", user)),
    )
    assert sent.status_code == 201, sent.text
    feedback = sent.json()["feedback"]
    assert (feedback["tester"], feedback["submittedBy"]) == (user, user)


@pytest.mark.parametrize("path", ["/api/nowhere/x", "/api/emailx", "/", "/api"])
def test_unknown_prefix_is_a_json_404(gateway: httpx.Client, path: str) -> None:
    reply = gateway.get(path)
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert error_of(reply).startswith("no route")


@pytest.mark.parametrize(
    ("method", "raw_path"),
    [
        ("POST", "/internal/api-keys/verify"),
        ("POST", "/api/auth/../../internal/api-keys/verify"),
        ("POST", "/api/auth/%2e%2e/%2e%2e/internal/api-keys/verify"),
        ("POST", "/api/auth%2F..%2F..%2Finternal%2Fapi-keys%2Fverify"),
        ("GET", "/api/auth/./me"),
    ],
)
def test_internal_routes_are_never_forwarded(stack: RunningStack, method: str, raw_path: str) -> None:
    # Sent byte for byte (HTTP clients normalise dot segments), with the real internal token: forwarded,
    # the verify call would answer 200 with the admin's identity, and ./me a 401 from platform.
    secrets = stack.secrets
    port = int(stack.gateway.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(
            method,
            raw_path,
            body=json.dumps({"key": secrets.admin_api_key}),
            headers={"X-LG-Internal": secrets.internal_token, "Content-Type": "application/json"},
        )
        reply = conn.getresponse()
        status, body = reply.status, json.loads(reply.read())
    finally:
        conn.close()
    assert status == 404, body
    assert body["success"] is False
    assert body["error"].startswith("no route")
    assert secrets.internal_token not in json.dumps(body)


# -- authentication -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"X-API-Key": "lg_not-a-real-key"},
    ],
    ids=["garbage-token", "basic-auth", "unknown-api-key"],
)
def test_bad_credentials_are_401(gateway: httpx.Client, headers: dict[str, str]) -> None:
    reply = gateway.get("/api/email/templates", headers=headers)
    assert reply.status_code == 401, reply.text
    assert error_of(reply)
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_tokens_signed_elsewhere_or_expired_are_401(stack: RunningStack, gateway: httpx.Client) -> None:
    forged = issue_token("some-other-secret-entirely-000000", "gw-forger", "admin", "x@example.test")
    expired = issue_token(stack.secrets.jwt_secret, "gw-late", "member", "late@example.test", ttl_s=-60)
    for token in (forged, expired):
        reply = gateway.get("/api/auth/me", headers=bearer(token))
        assert reply.status_code == 401, reply.text
        assert "token" in error_of(reply)


def test_admin_api_key_is_accepted(stack: RunningStack, gateway: httpx.Client) -> None:
    for _ in range(2):  # the second answer comes from the gateway's key cache
        reply = gateway.get("/api/auth/me", headers={"X-API-Key": stack.secrets.admin_api_key})
        assert reply.status_code == 200, reply.text
        user = reply.json()["user"]
        assert (user["email"], user["role"]) == ("admin@371os.local", "admin")


def test_user_api_key_is_accepted(gateway: httpx.Client, admin_login: dict[str, Any]) -> None:
    made = gateway.post("/api/auth/tokens", json={"name": "gateway test"}, headers=bearer(admin_login["token"]))
    assert made.status_code == 201, made.text
    key = made.json()["token"]["key"]
    reply = gateway.get("/api/auth/me", headers={"X-API-Key": key})
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["id"] == admin_login["user"]["id"]


def test_anonymous_calls_are_forwarded_without_identity(gateway: httpx.Client) -> None:
    assert gateway.get("/api/email/templates").status_code == 200
    reply = gateway.get("/api/auth/me")
    assert reply.status_code == 401
    assert "authentication required" in error_of(reply)


def test_forged_identity_headers_are_stripped(
    stack: RunningStack, gateway: httpx.Client, admin_login: dict[str, Any]
) -> None:
    admin = admin_login["user"]
    # Headers that would make platform believe the caller is the admin, internal token included.
    forged = {
        "X-LG-Internal": stack.secrets.internal_token,
        "X-LG-User": admin["id"],
        "X-LG-Role": "admin",
        "X-LG-Email": admin["email"],
    }
    direct = httpx.get(stack.url("platform") + "/api/auth/me", headers=forged, timeout=15)
    assert direct.status_code == 200, "the forged headers are valid when sent to platform directly"

    anonymous = gateway.get("/api/auth/me", headers=forged)
    assert anonymous.status_code == 401, anonymous.text
    assert "authentication required" in error_of(anonymous)

    member = gateway.get("/api/auth/users/stats", headers={**forged, **bearer(stack.token("member", "gw-member"))})
    assert member.status_code == 403, member.text
    created = gateway.post("/api/governance/proposals", json={}, headers=forged)
    assert created.status_code == 401, created.text


# -- observability --------------------------------------------------------------------------------------


def test_health_reports_each_upstream(gateway: httpx.Client) -> None:
    reply = gateway.get("/health")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "operational"
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {
        "conduit": "up",
        "governance": "up",
        "platform": "up",
    }


def test_metrics_label_proxied_calls_by_prefix(gateway: httpx.Client) -> None:
    assert gateway.get("/api/email/templates").status_code == 200
    assert gateway.get("/api/email/campaign/does-not-exist").status_code in (401, 404)
    text = gateway.get("/metrics").text
    assert 'route="/api/email/{rest:path}"' in text
    assert 'route="/api/email/templates"' not in text
    assert "/does-not-exist" not in text


# -- failures, on a gateway of its own ------------------------------------------------------------------


@dataclass
class LoneGateway:
    """A gateway on its own ports, nothing behind it, rate limited to 2 requests/s with a burst of 2."""

    url: str
    ports: Ports
    secrets: Secrets

    def as_user(self, user: str) -> dict[str, str]:
        return bearer(issue_token(self.secrets.jwt_secret, user, "member", f"{user}@example.test"))

    def fresh_user(self) -> dict[str, str]:
        """A caller with a full bucket of its own, so the tiny rate limit stays out of the way."""
        return self.as_user(f"lone-{uuid.uuid4().hex[:10]}")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoneGateway]:
    tmp: Path = tmp_path_factory.mktemp("lone-gateway")
    secrets = generate_secrets(tmp / "secrets.json")
    ports = Ports(next_port_base())
    wanted = [ports.service(n) for n in ("gateway", "conduit", "governance", "platform")]
    busy = [p for p in wanted if procs.port_in_use(p)]
    assert not busy, f"ports {busy} are taken; the lone gateway needs them free"
    env = {
        **os.environ,
        "LG_SERVICE": "gateway",
        "LG_STATE_DIR": str(tmp),
        "LG_SECRETS_FILE": str(tmp / "secrets.json"),
        "LG_PORT_BASE": str(ports.base),
        "LG_RATE_LIMIT_RPS": "2",
        "LG_RATE_LIMIT_BURST": "2",
        "LG_GATEWAY_UPSTREAM_TIMEOUT_S": "1",
        "LAUNCHGATE_FAULTS": "",
    }
    pidfile, log = tmp / "gateway.pid", tmp / "gateway.log"
    procs.start([sys.executable, "-m", "reference371os.serve", "gateway"], env=env, log=log, pidfile=pidfile)
    url = ports.url("gateway")
    try:

        def up() -> bool:
            pid = procs.read_pid(pidfile)
            if pid is None or not procs.is_alive(pid):
                raise AssertionError(f"the lone gateway exited:\n{procs.tail(log)}")
            return _answers(url + "/health")

        wait_for(up, timeout=30, what="the lone gateway to answer /health")
        yield LoneGateway(url, ports, secrets)
    finally:
        procs.stop(pidfile)


@pytest.mark.parametrize(
    ("path", "service"),
    [("/api/email/templates", "conduit"), ("/api/governance/proposals", "governance"), ("/api/auth/me", "platform")],
)
def test_upstream_down_is_a_502_naming_it(lone: LoneGateway, path: str, service: str) -> None:
    reply = httpx.get(lone.url + path, headers=lone.fresh_user(), timeout=15)
    assert reply.status_code == 502, reply.text
    assert error_of(reply) == f"upstream {service} unreachable"
    for secret in lone.secrets.values():
        assert secret not in reply.text


def test_api_key_with_platform_down_is_a_502_not_anonymous(lone: LoneGateway) -> None:
    reply = httpx.get(lone.url + "/api/email/templates", headers={"X-API-Key": lone.secrets.admin_api_key}, timeout=15)
    assert reply.status_code == 502, reply.text
    assert "platform" in error_of(reply)
    assert lone.secrets.admin_api_key not in reply.text


def test_health_is_degraded_when_upstreams_are_down(lone: LoneGateway) -> None:
    reply = httpx.get(lone.url + "/health", timeout=15)
    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "degraded"
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {
        "conduit": "down",
        "governance": "down",
        "platform": "down",
    }


def test_hung_upstream_is_a_504(lone: LoneGateway) -> None:
    # A socket that listens but never accepts: the kernel completes the handshake, nobody answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.bind(("127.0.0.1", lone.ports.service("governance")))
        hung.listen(16)
        reply = httpx.get(lone.url + "/api/governance/proposals", headers=lone.fresh_user(), timeout=15)
    assert reply.status_code == 504, reply.text
    assert error_of(reply) == "upstream governance timed out"


def test_rate_limit_is_per_identity_with_retry_after(lone: LoneGateway) -> None:
    first = lone.fresh_user()
    statuses = []
    limited: httpx.Response | None = None
    with httpx.Client(base_url=lone.url, timeout=15) as client:
        for _ in range(10):
            reply = client.get("/api/email/templates", headers=first)
            statuses.append(reply.status_code)
            if reply.status_code == 429:
                limited = reply
                break
        assert statuses[:2] == [502, 502], f"the burst of 2 passes the limiter: {statuses}"
        assert limited is not None, f"no 429 after a burst of 2 at 2/s: {statuses}"
        assert int(limited.headers["retry-after"]) >= 1
        assert "rate limit" in error_of(limited)

        # Another caller has a bucket of its own.
        assert client.get("/api/email/templates", headers=lone.fresh_user()).status_code == 502
        # And the first one is let through again once its bucket refills.
        wait_for(
            lambda: client.get("/api/email/templates", headers=first).status_code == 502,
            timeout=5,
            what="the rate-limited caller's bucket to refill",
            interval=0.25,
        )


def test_repeated_bad_credentials_are_throttled(lone: LoneGateway) -> None:
    statuses = []
    with httpx.Client(base_url=lone.url, timeout=15) as client:
        for n in range(10):
            # A made-up X-Forwarded-For per attempt must not buy a fresh bucket: the gateway is the edge.
            headers = {**bearer(f"guess-{n}"), "X-Forwarded-For": f"203.0.113.{n}"}
            statuses.append(client.get("/api/email/templates", headers=headers).status_code)
            if statuses[-1] == 429:
                break
    assert statuses[0] == 401
    assert statuses[-1] == 429, f"guessing tokens from one address is rate limited: {statuses}"


# -- memory bounds, in process (not observable over HTTP) ----------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_refills_and_stays_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, burst=2, max_keys=100, clock=clock)
    assert [limiter.acquire("a"), limiter.acquire("a")] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0

    for n in range(1000):
        limiter.acquire(f"ip:{n}")
    assert len(limiter) == 100, "past max_keys the least recently used bucket goes"
    clock.now += 2.0  # every bucket has refilled: idle ones are dropped as new callers arrive
    limiter.acquire("newcomer")
    assert len(limiter) == 1


def test_api_key_cache_expires_and_stays_bounded() -> None:
    clock = FakeClock()
    cache = TtlLru(ttl_s=60, size=3, clock=clock)
    caller = Caller("u1", "member")
    for n in range(5):
        cache.put(f"k{n}", caller)
    assert len(cache) == 3
    assert cache.get("k0") is None and cache.get("k4") == caller
    clock.now += 61
    assert cache.get("k4") is None, "a revoked key is trusted for at most the TTL"
