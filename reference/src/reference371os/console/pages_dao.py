"""DAO proposals: list and create, the lifecycle actions, signed votes and the tally.

Votes are EIP-191 signatures by a registered voter's key. A real voter signs in their own wallet; the
reference console offers only the public development identities (fixtures/seed/voters.yml), and only
when the stack runs NODE_ENV=development.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.console.explorer import tx_states
from reference371os.console.forms import FieldErrors, Form
from reference371os.console.validation import (
    PROPOSAL_FIELDS,
    PROPOSAL_TYPES,
    VOTE_OPTIONS,
    map_api_fields,
    proposal_from_form,
)
from reference371os.console.web import Visit, Web
from reference371os.paths import FIXTURES

PREFIX = "/api/governance"
VOTERS_FILE = FIXTURES / "seed" / "voters.yml"
PROPOSAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
VOTE_MESSAGE = "371OS vote\nproposal: {proposal_id}\noption: {option}"
OFFICERS = ("ceo", "cfo", "clo")
APPROVERS = ("ceo",)
# action -> (API path suffix, allowed from status, who may, label for messages)
ACTIONS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "submit": ("submit", "draft", (), "Submitting the proposal"),
    "start-voting": ("start-voting", "submitted", OFFICERS, "Starting the vote"),
    "close-voting": ("close-voting", "voting_active", OFFICERS, "Closing the vote"),
    "approve": ("approve", "pending_human_approval", APPROVERS, "Approving the result"),
    "reject": ("reject", "pending_human_approval", APPROVERS, "Rejecting the result"),
}


@dataclass(frozen=True)
class DevVoter:
    role: str
    address: str
    power: int
    private_key: str

    @property
    def label(self) -> str:
        return f"{self.role.upper()} development voter {self.address[:8]}…{self.address[-4:]} (power {self.power:,})"


def load_dev_voters(path: Path = VOTERS_FILE) -> list[DevVoter]:
    try:
        entries = yaml.safe_load(path.read_text()).get("voters", [])
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return [DevVoter(str(e["role"]), str(e["address"]), int(e["power"]), str(e["private_key"])) for e in entries]


def sign_vote(private_key: str, proposal_id: str, option: str) -> str:
    # Imported on first vote: eth_account takes seconds to import, and every gateway start would pay for it.
    from eth_account import Account
    from eth_account.messages import encode_defunct

    message = encode_defunct(text=VOTE_MESSAGE.format(proposal_id=proposal_id, option=option))
    return "0x" + Account.sign_message(message, private_key).signature.hex().removeprefix("0x")


def may(visit: Visit, roles: tuple[str, ...]) -> bool:
    return visit.user is not None and (not roles or visit.user.role in roles or visit.user.is_admin)


def add_dao_pages(router: APIRouter, web: Web) -> None:
    voters = load_dev_voters() if web.development else []

    async def listing(visit: Visit, errors: FieldErrors, values: dict[str, str], status: int = 200) -> Response:
        api = web.api(visit)
        first = await api.get(f"{PREFIX}/proposals", status="all", limit=100)
        if not first.ok:
            return web.api_failure(visit, first, "Listing the proposals failed")
        total = int((first.body.get("metadata") or {}).get("total_count", 0))
        proposals = list(first.body.get("data", []))
        last_page = max(1, -(-total // 100))
        if last_page > 1:  # the newest are on the last page
            tail = await api.get(f"{PREFIX}/proposals", status="all", limit=100, page=last_page)
            proposals = list(tail.body.get("data", [])) if tail.ok else proposals
        return web.page(visit, "dao.html.j2", title="DAO proposals", status=status, errors=errors,
                        values=values, proposals=proposals[::-1], types=PROPOSAL_TYPES, total=total)

    @router.get("/console/dao")
    async def dao(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        return await listing(visit, FieldErrors(), {"type": "operational", "voting_days": "3"})

    @router.post("/console/dao")
    async def create(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        body, errors = proposal_from_form(form, visit.user.email or visit.user.user_id)
        values = {k: form.get(k) for k in ("title", "description", "type", "voting_days")}
        if not errors:
            reply = await web.api(visit).post(f"{PREFIX}/proposals", body)
            if reply.ok:
                pid = str((reply.body.get("data") or {}).get("id", ""))
                return web.redirect(visit, f"/console/dao/{pid}", notice="proposal-created")
            if reply.status == 422:
                map_api_fields(reply.fields, PROPOSAL_FIELDS, errors)
            else:
                return web.api_failure(visit, reply, "Creating the proposal failed")
        return await listing(visit, errors, values, status=422)

    async def proposal_page(visit: Visit, pid: str, errors: FieldErrors, status: int = 200,
                            values: dict[str, str] | None = None) -> Response:
        api = web.api(visit)
        reply = await api.get(f"{PREFIX}/proposals/{pid}")
        if not reply.ok:
            return web.api_failure(visit, reply, f"Proposal {pid}")
        p = reply.body.get("data", {})
        votes_reply = await api.get(f"{PREFIX}/proposals/{pid}/votes")
        votes = list(votes_reply.body.get("data", [])) if votes_reply.ok else []
        results: dict[str, Any] | None = None
        if p.get("status") in ("voting_active", "pending_human_approval", "executed", "rejected"):
            found = await api.get(f"{PREFIX}/proposals/{pid}/results")
            results = found.body.get("data") if found.ok else None
        own = next((v for v in voters if visit.user and v.role == visit.user.role), None)
        decision = p.get("humanApprovalDecision") or {}
        txs = [p.get("transaction_hash"), (results or {}).get("transaction_hash"), decision.get("transaction_hash"),
               *(v.get("transaction_hash") for v in votes)]
        chain = await tx_states(web.config.chain_rpc, [str(t) for t in txs if t])
        return web.page(
            visit, "proposal.html.j2", title=f"Proposal: {p.get('title', pid)}", status=status, errors=errors,
            p=p, votes=votes, results=results, voters=voters, vote_options=VOTE_OPTIONS, chain=chain,
            decision=decision,
            values=values or {"voter": own.address if own else "", "option": "for"},
            can_officiate=may(visit, OFFICERS), can_approve=may(visit, APPROVERS),
        )

    @router.get("/console/dao/{pid}")
    async def proposal(request: Request, pid: str) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        if not PROPOSAL_ID.match(pid):
            return web.error_page(visit, 404, "Not found", "There is no proposal with this id.")
        return await proposal_page(visit, pid, FieldErrors())

    @router.post("/console/dao/{pid}/action")
    async def action(request: Request, pid: str) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        if not PROPOSAL_ID.match(pid):
            return web.error_page(visit, 404, "Not found", "There is no proposal with this id.")
        name = form.text("action")
        errors = FieldErrors()
        if name not in ACTIONS:
            errors.add("action", "Choose one of the actions shown")
            return await proposal_page(visit, pid, errors, status=422)
        suffix, _from, roles, label = ACTIONS[name]
        body = _action_body(name, form, visit, errors)
        if not may(visit, roles):
            errors.add("action", f"{label} is for the {', '.join(r.upper() for r in roles)} only")
        if errors:
            return await proposal_page(visit, pid, errors, status=422)
        reply = await web.api(visit).post(f"{PREFIX}/proposals/{pid}/{suffix}", body)
        if reply.ok:
            return web.redirect(visit, f"/console/dao/{pid}", notice="proposal-updated")
        if reply.status in (400, 403, 404, 409, 422):
            errors.add("action", f"{label} was refused: {reply.error}")
            return await proposal_page(visit, pid, errors, status=reply.status)
        return web.api_failure(visit, reply, label)

    @router.post("/console/dao/{pid}/vote")
    async def vote(request: Request, pid: str) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        if not PROPOSAL_ID.match(pid):
            return web.error_page(visit, 404, "Not found", "There is no proposal with this id.")
        errors = FieldErrors()
        values = {"voter": form.text("voter"), "option": form.text("option"), "reason": form.text("reason")}
        if not voters:
            errors.add("voter", "The console signs votes only with development identities, and only when the "
                                "stack runs NODE_ENV=development. Sign your vote in your own wallet instead.")
            return await proposal_page(visit, pid, errors, status=403, values=values)
        voter = next((v for v in voters if v.address == values["voter"]), None)
        if voter is None:
            errors.add("voter", "Choose the identity to vote as")
        if values["option"] not in VOTE_OPTIONS:
            errors.add("option", "Choose For, Against or Abstain")
        if len(values["reason"]) > 5000:
            errors.add("reason", "Keep the reason under 5,000 characters")
        if errors or voter is None:
            return await proposal_page(visit, pid, errors, status=422, values=values)
        body = {
            "proposal_id": pid,
            "voter_address": voter.address,
            "vote_option": values["option"],
            "signature": sign_vote(voter.private_key, pid, values["option"]),
            **({"reason": values["reason"]} if values["reason"] else {}),
        }
        reply = await web.api(visit).post(f"{PREFIX}/votes", body)
        if reply.ok:
            return web.redirect(visit, f"/console/dao/{pid}", notice="voted")
        if reply.status in (400, 403, 404, 409, 422):
            errors.add("voter", f"The vote was refused: {reply.error}")
            return await proposal_page(visit, pid, errors, status=reply.status, values=values)
        return web.api_failure(visit, reply, "Casting the vote")


def _action_body(name: str, form: Form, visit: Visit, errors: FieldErrors) -> dict[str, Any]:
    assert visit.user is not None
    who = visit.user.email or visit.user.user_id
    if name == "submit":
        return {"submitted_by": who}
    if name in ("approve", "reject"):
        reason = form.text("reasoning")
        if not reason:
            errors.add("reasoning", "Give the reason for your decision")
        return {"approved_by": who, "reasoning": reason[:5000]}
    return {}
