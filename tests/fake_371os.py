"""A stand-in for the public 371OS services as ../shared/371os-contract.md documents them today.

Two small HTTP servers on loopback, for tests that cannot run the real TypeScript services (CI has no network
beyond package registries). They answer what the real ones answer, mock behaviour and bugs included:

enhanced-mail-conduit
- `GET /health`: the fixed body; no dependency is checked.
- `POST /api/email/campaign`: 500 on every request (`Campaign approval failed: Cannot read properties of
  undefined (reading 'length')`).
- `POST /api/email/send`: 400 `Email validation failed` / `subject-too-short` with the default cognitive
  optimization; else the CLO's single-email rule (subject under 5 characters or containing URGENT).
- `GET /api/email/templates`, `/api/agent/coordination/status`, `/api/dao/proposals`, `/api/analytics/dashboard`.
- Anything else: Express's 404 page (`Cannot GET /metrics`). No authentication anywhere. CORS open to every origin
  (`cors()`: `Access-Control-Allow-Origin: *`, preflights answered 204).

dao-governance-service, everything under `/api/governance`
- proposals in memory (`PROP-…`, `draft`), submit, start-voting with no check of the prior state, votes with no
  signature check (a duplicate voter gets 400), results that move an approved proposal to
  `pending_human_approval` on the first call, approve and reject, `/config`, `/stats`, `/health`.
- `GET /proposals/pending-approval` is caught by `/proposals/:id`; `GET /health` and `/metrics` answer 404.

Run it by hand with `python -m tests.fake_371os` (ports 3001 and 3000, as the `371os` profile expects).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any]  # status, JSON body (a str is sent as HTML)

CAMPAIGN_ERROR = "Campaign approval failed: Cannot read properties of undefined (reading 'length')"
PROPOSAL_TYPES = ("strategic", "operational", "financial", "governance", "technical", "emergency", "constitutional")
AGENT_POWER = {"ceo": 1000, "cfo": 900, "cto": 800, "clo": 700}
TEMPLATES = [
    {"id": "blockchain-verified-welcome", "name": "Blockchain Verified Welcome",
     "description": "Welcome email with blockchain verification", "category": "onboarding",
     "blockchainVerified": True, "agentOptimized": True,
     "cognitiveFeatures": ["timing-optimization", "content-personalization"]},
    {"id": "dao-governance-notification", "name": "DAO Governance Notification",
     "description": "Email template for DAO voting notifications", "category": "governance",
     "blockchainVerified": True, "agentOptimized": True, "cognitiveFeatures": ["urgency-detection"]},
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def express_404(method: str, path: str) -> Reply:
    """Express's default answer to a route it does not have: an HTML page."""
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
            f"<body>\n<pre>Cannot {method} {path}</pre>\n</body>\n</html>\n")
    return 404, page


# -- enhanced-mail-conduit ---------------------------------------------------------------------------------------
def conduit(method: str, path: str, query: dict[str, str], body: Any) -> Reply:
    if method == "GET" and path == "/health":
        return 200, {"success": True, "service": "enhanced-mail-conduit", "status": "operational",
                     "timestamp": _now(), "version": "1.0.0"}
    if method == "POST" and path == "/api/email/campaign":
        if not isinstance(body, dict) or not isinstance(body.get("campaignData"), dict):
            return 500, {"success": False, "error": "Cannot read properties of undefined (reading 'name')"}
        return 500, {"success": False, "error": CAMPAIGN_ERROR}
    if method == "POST" and path == "/api/email/send":
        return _send(body if isinstance(body, dict) else {})
    if method == "GET" and path == "/api/email/templates":
        return 200, {"success": True, "templates": TEMPLATES}
    if method == "GET" and path == "/api/agent/coordination/status":
        return 200, {"success": True, "coordination": {
            "activeAgents": ["ceo_mimi", "cfo_maya", "clo_sage", "chief_of_staff"], "pendingApprovals": [],
            "recentActivity": [], "performanceMetrics": {"averageApprovalTime": 2.3, "approvalRate": 0.87}}}
    if method == "GET" and path == "/api/dao/proposals":
        return 200, {"success": True, "proposals": [
            {"id": "demo_proposal_1", "title": "Monthly Newsletter Campaign", "status": "active",
             "votesFor": 85, "votesAgainst": 15, "totalVotes": 100, "proposer": "ceo_agent"}]}
    if method == "GET" and path == "/api/analytics/dashboard":
        return 200, {"success": True, "analytics": {
            "overview": {"totalEmails": 15420, "deliveryRate": 0.987, "openRate": 0.245, "clickRate": 0.087,
                         "costSavings": 0.976},
            "agentPerformance": {"ceoApprovals": 142, "cfoOptimizations": 89, "cloCompliance": 156},
            "costOptimization": {"akashSavings": 1250, "agentEfficiency": 0.92, "totalSavings": 1847.3},
            "daoGovernance": {"proposalsCreated": 8, "proposalsApproved": 6, "communityParticipation": 0.73},
            "cognitiveOptimizations": {}, "spatialVisualization": {}}}
    return express_404(method, path)


def _send(body: dict[str, Any]) -> Reply:
    email = body.get("emailData")
    if not isinstance(email, dict):
        return 500, {"success": False, "error": "Cannot read properties of undefined (reading 'subject')"}
    subject = str(email.get("subject", ""))
    if body.get("enableCognitiveOptimization", True):
        issues = ["subject-too-short"]  # the optimizer's rewrite always trips the CLO's rule today
    else:
        issues = [i for i, bad in (("subject-too-short", len(subject) < 5), ("urgent-subject", "URGENT" in subject))
                  if bad]
    if issues:
        return 400, {"success": False, "error": "Email validation failed", "issues": issues}
    email_id = f"email_{int(datetime.now(UTC).timestamp() * 1000)}"
    return 200, {"success": True, "email": {
        "id": email_id, "status": "sent", "verificationHash": hashlib.sha256(subject.encode()).hexdigest(),
        "deliveryMethod": "status-network", "agentValidation": {"approved": True, "validations": [], "issues": [],
                                                                 "recommendations": [], "overallScore": 1.0},
        "optimizations": [], "estimatedDelivery": _now()}}


# -- dao-governance-service --------------------------------------------------------------------------------------
@dataclass
class Governance:
    node_env: str = "development"
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    votes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        with self.lock:
            return self.route(method, path, query, body if isinstance(body, dict) else {})

    def route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Reply:
        prefix = "/api/governance"
        sub = path.removeprefix(prefix) if path.startswith(prefix + "/") else None
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", r"/health", self.health),
            ("GET", r"/config", self.config),
            ("GET", r"/stats", self.stats),
            ("POST", r"/proposals", lambda: self.create(body)),
            ("GET", r"/proposals", lambda: self.list(query)),
            ("GET", r"/proposals/([^/]+)", self.get),  # also catches /proposals/pending-approval, as today
            ("POST", r"/proposals/([^/]+)/submit", self.submit),
            ("POST", r"/proposals/([^/]+)/start-voting", self.start_voting),
            ("GET", r"/proposals/([^/]+)/results", self.results),
            ("POST", r"/proposals/([^/]+)/approve", lambda pid: self.decide(pid, "approved", body)),
            ("POST", r"/proposals/([^/]+)/reject", lambda pid: self.decide(pid, "rejected", body)),
            ("POST", r"/votes", lambda: self.vote(body)),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, sub) if sub is not None and verb == method else None
            if match:
                return handler(*match.groups())
        return 404, {"success": False, "error": f"Route {path} not found"}

    def health(self) -> Reply:
        return 200, {"success": True, "data": {"status": "healthy", "service": "dao-governance-service",
                                               "version": "1.0.0", "timestamp": _now(),
                                               "governance_service_operational": True}}

    def config(self) -> Reply:
        quorum, threshold = (10, 51) if self.node_env == "development" else (20, 66)
        return 200, {"success": True, "data": {"supported_proposal_types": list(PROPOSAL_TYPES),
                                               "vote_options": ["for", "against", "abstain", "veto"],
                                               "default_voting_period_hours": 168,
                                               "default_quorum_percentage": quorum,
                                               "default_approval_threshold": threshold}}

    def stats(self) -> Reply:
        return 200, {"success": True, "data": {"total_proposals": 0, "active_proposals": 0,
                                               "completed_proposals": 0, "total_votes_cast": 0}}

    def create(self, body: dict[str, Any]) -> Reply:
        if not all(body.get(k) for k in ("title", "description", "type", "proposer")):
            return 400, {"success": False, "error": "Missing required fields: title, description, type, proposer"}
        if body["type"] not in PROPOSAL_TYPES:
            return 400, {"success": False, "error": f"Invalid proposal type: {body['type']}"}
        details = body.get("execution_details")
        if not isinstance(details, dict) or not isinstance(details.get("phases"), list):
            return 400, {"success": False, "error": "Proposal creation failed: Cannot read properties of undefined "
                                                    "(reading 'phases')"}
        agents: list[str] = []
        for phase in details["phases"]:
            if not isinstance(phase, dict) or not isinstance(phase.get("responsible_agents"), list):
                return 400, {"success": False,
                             "error": "Proposal creation failed: phase.responsible_agents is not iterable"}
            agents += phase["responsible_agents"]
        pid = f"PROP-{next(self._ids):08d}-FAKE"
        quorum, threshold = (10, 51) if self.node_env == "development" else (20, 66)
        proposal = {
            "id": pid, "title": body["title"], "description": body["description"], "proposer": body["proposer"],
            "proposerAddress": body["proposer"], "type": body["type"], "status": "draft",
            "executionDetails": details, "timeline": body.get("timeline", {}),
            "votingConfig": {"quorum_percentage": quorum, "approval_threshold_percentage": threshold},
            "stakeholders": body.get("stakeholders", []), "impactedAgents": sorted(set(agents)),
            "emergencyProposal": bool(body.get("emergency_proposal")), "createdAt": _now(),
        }
        self.proposals[pid] = proposal
        self.votes[pid] = []
        return 201, {"success": True, "data": proposal}

    def list(self, query: dict[str, str]) -> Reply:
        found = [p for p in self.proposals.values() if not query.get("status") or p["status"] == query["status"]]
        page, limit = int(query.get("page", 1)), int(query.get("limit", 10))
        return 200, {"success": True, "data": found[(page - 1) * limit: page * limit],
                     "metadata": {"total_count": len(found), "page": page, "limit": limit}}

    def get(self, pid: str) -> Reply:
        if pid not in self.proposals:
            return 404, {"success": False, "error": f"Proposal {pid} not found"}
        return 200, {"success": True, "data": self.proposals[pid]}

    def submit(self, pid: str) -> Reply:
        proposal = self.proposals.get(pid)
        if proposal is None or proposal["status"] != "draft":
            why = f"Proposal {pid} not found" if proposal is None else f"Proposal {pid} is not in draft status"
            return 400, {"success": False, "error": f"Proposal submission failed: {why}"}
        proposal["status"] = "submitted"
        return 200, {"success": True, "data": proposal}

    def start_voting(self, pid: str) -> Reply:
        proposal = self.proposals.get(pid)
        if proposal is None:
            return 400, {"success": False, "error": f"Voting start failed: Proposal {pid} not found"}
        proposal["status"] = "voting_active"  # today: no check of the prior state
        return 200, {"success": True, "data": proposal}

    def vote(self, body: dict[str, Any]) -> Reply:
        if not all(body.get(k) for k in ("proposal_id", "voter_address", "vote_option")):
            return 400, {"success": False, "error": "Missing required fields: proposal_id, voter_address, vote_option"}
        pid, voter = str(body["proposal_id"]), str(body["voter_address"])
        proposal = self.proposals.get(pid)
        problem = (f"Proposal {pid} not found" if proposal is None
                   else f"Voting is not active for proposal {pid}" if proposal["status"] != "voting_active"
                   else f"Voter {voter} has already voted" if any(v["voter_address"] == voter for v in self.votes[pid])
                   else None)
        if problem:
            return 400, {"success": False, "error": f"Vote submission failed: {problem}"}
        vote = {"voter_id": voter, "voter_address": voter, "proposal_id": pid, "vote_option": body["vote_option"],
                "voting_power": _voting_power(voter), "timestamp": _now(),
                "signature": body.get("signature"),  # today: never verified
                "transaction_hash": "0x" + hashlib.sha256(f"{pid}{voter}".encode()).hexdigest()[:12]}
        self.votes[pid].append(vote)
        return 201, {"success": True, "data": vote}

    def results(self, pid: str) -> Reply:
        proposal = self.proposals.get(pid)
        if proposal is None:
            return 404, {"success": False, "error": f"Proposal {pid} not found"}
        votes = self.votes[pid]
        power = {o: sum(v["voting_power"] for v in votes if v["vote_option"] == o)
                 for o in ("for", "against", "abstain", "veto")}
        total = sum(power.values())
        participation = total / 10000 * 100
        quorum = participation >= proposal["votingConfig"]["quorum_percentage"]
        approval = power["for"] / total * 100 if total else 0
        threshold_met = approval >= proposal["votingConfig"]["approval_threshold_percentage"]
        outcome = "quorum_not_met" if not quorum else "approved" if threshold_met else "rejected"
        if outcome == "approved":
            proposal["status"] = "pending_human_approval"  # today: the first read decides, nothing is stored
        return 200, {"success": True, "data": {
            "proposal_id": pid, "total_votes_cast": len(votes), "total_voting_power": total,
            "quorum_achieved": quorum, "approval_threshold_met": threshold_met,
            **{f"votes_{o}": sum(1 for v in votes if v["vote_option"] == o) for o in power},
            **{f"power_{o}": p for o, p in power.items()},
            "participation_rate": participation, "unique_voters": len(votes), "outcome": outcome,
            "execution_authorized": False}}

    def decide(self, pid: str, decision: str, body: dict[str, Any]) -> Reply:
        proposal = self.proposals.get(pid)
        problem = (f"Proposal {pid} not found" if proposal is None
                   else f"Proposal {pid} is not pending human approval"
                   if proposal["status"] != "pending_human_approval" else None)
        if problem or proposal is None:
            return 400, {"success": False, "error": f"Human approval processing failed: {problem}"}
        proposal["status"] = "executed" if decision == "approved" else "rejected"
        proposal["humanApprovalStatus"] = decision
        by = body.get("approved_by") or body.get("rejected_by") or "unknown"
        return 200, {"success": True, "data": proposal, "message": f"Proposal {pid} {decision} by {by}"}


def _voting_power(address: str) -> int:
    for prefix, power in AGENT_POWER.items():
        if address.lower().startswith(prefix):
            return power
    # The public code draws a random stake and reputation; a hash keeps the fake repeatable.
    return 150 + int(hashlib.sha256(address.encode()).hexdigest(), 16) % 1000


# -- HTTP --------------------------------------------------------------------------------------------------------
def _handler(
    app: Callable[[str, str, dict[str, str], Any], Reply], *, cors: bool = False
) -> type[BaseHTTPRequestHandler]:
    """`cors`: the conduit's `app.use(cors())`, open to every origin (a preflight gets 204 and `*`)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                status, payload = 400, {"success": False, "error": "Unexpected token in JSON"}
            else:
                status, payload = app(method, parts.path, query, body)
            is_html = isinstance(payload, str)
            data = (payload if is_html else json.dumps(payload)).encode()
            self.send_response(status)
            kind = "text/html" if is_html else "application/json"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            if cors:
                self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_OPTIONS(self) -> None:
            if not cors:  # Express without cors(): no OPTIONS route
                self._serve("OPTIONS")
                return
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
            self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", ""))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@dataclass
class Fake371OS:
    conduit_url: str
    governance_url: str
    governance: Governance

    def profile(self, name: str = "371os-fake") -> str:
        """The `371os` profile (fixtures/targets/371os.toml) with this fake's URLs."""
        return PROFILE.format(name=name, conduit=self.conduit_url, governance=self.governance_url)


PROFILE = """\
name = "{name}"
description = "A stand-in for the public 371OS services (tests/fake_371os.py)"
environment = "mock"
production = false
managed = false
capabilities = []

[services.conduit]
url = "{conduit}"
[services.governance]
url = "{governance}"

[api]
email = "{conduit}"
governance = "{governance}"

[auth]
mode = "none"

[seed]   # framework §4 seeding; the contract names the agents (templates and proposals: at least one of each)
agents = ["ceo_mimi", "cfo_maya", "clo_sage", "chief_of_staff"]
"""


@contextmanager
def running(conduit_port: int = 0, governance_port: int = 0) -> Iterator[Fake371OS]:
    """Both fake services on 127.0.0.1 (port 0: any free port), stopped on exit."""
    governance = Governance()
    servers = [ThreadingHTTPServer(("127.0.0.1", conduit_port), _handler(conduit, cors=True)),
               ThreadingHTTPServer(("127.0.0.1", governance_port), _handler(governance))]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
        yield Fake371OS(urls[0], urls[1], governance)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conduit-port", type=int, default=3001)
    parser.add_argument("--governance-port", type=int, default=3000)
    args = parser.parse_args()
    with running(args.conduit_port, args.governance_port) as fake:
        print(f"conduit {fake.conduit_url}   governance {fake.governance_url}   (Ctrl-C stops)")
        threading.Event().wait()


if __name__ == "__main__":
    main()
