"""What the reference's own tests use to talk to a running stack: a small API client over httpx, the mail sink's
reader, a bounded poll, and the verification hash and metric names worked out from their definitions. Nothing of
the harness: reference/tests imports only reference371os, the standard library and third-party libraries
(test_no_harness_imports.py checks it). The stack fixtures are in conftest.py."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from reference371os import testing
from reference371os.config import Secrets
from reference371os.governance.signing import sign_vote
from reference371os.kit.auth import issue_token
from reference371os.kit.hashing import HEADER_METADATA, HEADER_TIMESTAMP, HEADER_VALIDATION
from reference371os.manager import Stack

T = TypeVar("T")
MAX_PAUSE_S = 0.5


class ApiError(AssertionError):
    """An answer whose status the test did not expect."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} answered {status}: {body[:500]}")
        self.status = status


class Api:
    """A JSON API client: `raw` gives the response whatever its status; `get`, `post` and `call` give the JSON
    body (its field `key` when given) of an answer whose status is in `expect`, or raise ApiError."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._client.request(method, path, **kwargs)

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), key: str | None = None,
             **kwargs: Any) -> Any:
        response = self.raw(method, path, **kwargs)
        if response.status_code not in expect:
            raise ApiError(method, str(response.request.url), response.status_code, response.text)
        body = response.json() if response.content else None
        return body if key is None else body[key]

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json, **kwargs)


class Sink:
    """The reference mail sink's HTTP API: what it received."""

    def __init__(self, base_url: str) -> None:
        self._api = Api(base_url)

    def messages(self, to: str | None = None, subject_contains: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"to": to, "subject_contains": subject_contains}.items() if v}
        return list(self._api.get("/messages", params=params, key="messages"))


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.02) -> T:
    """Calls `probe` until it returns a truthy value, at most `timeout` seconds; then fails naming `what` and the
    last value seen. The pause between calls grows half again each time, up to MAX_PAUSE_S."""
    deadline = time.monotonic() + timeout
    pause = interval
    while True:
        last = probe()
        if last:
            return last
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"gave up after {timeout:.1f} s waiting for {what}; last seen: {last!r:.300}")
        time.sleep(min(pause, left))
        pause = min(max(interval, MAX_PAUSE_S), pause * 1.5)


def _stringify(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recompute_hash(message: dict[str, Any]) -> str:
    """The 371OS verification hash of a delivered email, from the email alone, as the contract defines it
    (sha256 of the message part's and the context part's sha256, JSON as JavaScript's JSON.stringify writes it);
    written here rather than taken from reference371os.kit.hashing, so that the check is not the code it checks."""
    headers = message["headers"]
    parts = {"subject": message["subject"], "content": message["body"].replace("\r\n", "\n").rstrip("\n"),
             "sender": message["mail_from"], "recipient": message["rcpt_to"][0]}
    context = {"timestamp": headers[HEADER_TIMESTAMP], "agentValidation": json.loads(headers[HEADER_VALIDATION]),
               "metadata": json.loads(headers.get(HEADER_METADATA) or "{}") or {}}
    return _digest(f"{_digest(_stringify(parts))}:{_digest(_stringify(context))}".encode())


def metric_families(text: str) -> set[str]:
    """Names of the metric families in a Prometheus text exposition."""
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


FINAL_STATUSES = ("completed", "rejected", "failed")
_ids = itertools.count(1)


def campaign_body(recipients: list[str]) -> dict[str, Any]:
    """A campaign request in the contract's body shape, with a fresh id, that every agent approves."""
    return {
        "campaignData": {
            "id": f"cmp-{int(time.time() * 1000)}-{next(_ids)}",
            "name": "Spring product update",
            "description": "Quarterly product news for our community, aligned with the growth plan",
            "template": "product-update",
            "recipients": [{"email": r, "name": r.split("@")[0].title()} for r in recipients],
            "budget": {"maxCost": 50.0, "currency": "USD"},
            "priority": "medium",
        },
        "requiresDAOApproval": False,
        "approvalMode": "auto",
    }


class Campaigns:
    """Campaigns through the API, as the client's caller."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.api.post("/api/email/campaign", json=body, key="campaign"))

    def get(self, campaign_id: str) -> dict[str, Any]:
        return dict(self.api.get(f"/api/email/campaign/{campaign_id}", key="campaign"))

    def wait_until_final(self, campaign_id: str, timeout: float = 20.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            campaign = self.get(campaign_id)
            return campaign if campaign["status"] in FINAL_STATUSES else None

        return wait_for(probe, timeout=timeout, what=f"campaign {campaign_id} to reach {'/'.join(FINAL_STATUSES)}")


def proposal_body(title: str, proposer: str) -> dict[str, Any]:
    """An operational proposal with one whole execution phase, in the contract's body shape."""
    phase = {"id": "phase-1", "name": "rollout", "description": "Roll the change out to the community",
             "objectives": ["adoption"], "deliverables": ["announcement"], "estimatedDuration": "1 week",
             "responsible_agents": ["chief_of_staff"], "completion_criteria": ["announced"], "dependencies": []}
    return {
        "title": title,
        "description": f"{title}: proposed for community review",
        "type": "operational",
        "proposer": proposer,
        "execution_details": {"phases": [phase], "dependencies": [], "success_criteria": ["adopted by the community"],
                              "risk_mitigation": [{"risk": "low adoption", "mitigation": "staged rollout"}],
                              "resource_requirements": [{"resource": "agent time", "amount": 1}]},
        "timeline": {"review_period_days": 0, "voting_period_days": 3, "key_milestones": []},
        "stakeholders": ["community"],
    }


@dataclass(frozen=True)
class Answer:
    """What a request came back with: its status and its JSON body (None when it had none)."""

    status: int
    data: Any = None


def answer_of(response: httpx.Response) -> Answer:
    return Answer(response.status_code, response.json() if response.content else None)


class Governance:
    """Proposals and signed votes through the governance API, as the client's caller."""

    prefix = "/api/governance"

    def __init__(self, api: Api) -> None:
        self.api = api

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.api.post(f"{self.prefix}/proposals", json=body, key="data"))

    def get(self, proposal_id: str) -> dict[str, Any]:
        return dict(self.api.get(f"{self.prefix}/proposals/{proposal_id}", key="data"))

    def transition(self, proposal_id: str, action: str, body: dict[str, Any] | None = None) -> Answer:
        """submit, start-voting, close-voting, approve or reject."""
        return answer_of(self.api.raw("POST", f"{self.prefix}/proposals/{proposal_id}/{action}", json=body or {}))

    def vote(self, proposal_id: str, private_key: str, option: str) -> Answer:
        """A ballot signed with `private_key`."""
        from eth_account import Account

        body = {"proposal_id": proposal_id, "voter_address": Account.from_key(private_key).address,
                "vote_option": option, "signature": sign_vote(private_key, proposal_id, option)}
        return answer_of(self.api.raw("POST", f"{self.prefix}/votes", json=body))


@dataclass
class RunningStack:
    """A started reference stack and the clients of a test: through the gateway (or a service), as a role."""

    stack: Stack
    _clients: list[Api] = field(default_factory=list)

    def url(self, name: str) -> str:
        return self.stack.url(name)

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway")

    @property
    def secrets(self) -> Secrets:
        return self.stack.secrets

    @property
    def sink(self) -> Sink:
        return Sink(self.url("sink"))

    def token(self, role: str = "member", user_id: str | None = None) -> str:
        user = user_id or f"test-{role}"
        return issue_token(self.secrets.jwt_secret, user, role, f"{user}@example.test")

    def client(self, role: str | None = None, user_id: str | None = None, base: str | None = None) -> Api:
        """An API client through the gateway (or `base`), authenticated as `role` unless None."""
        client = Api(base or self.gateway, token=self.token(role, user_id) if role else None)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


def start_stack(tmp: Path, **options: object) -> RunningStack:
    """A reference stack on the next free ports (testing.start_stack), without Prometheus unless asked."""
    return RunningStack(testing.start_stack(tmp, **options))
