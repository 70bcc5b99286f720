"""Probes of who may do what: each mutating action of the 371OS contract, sent as a given caller.

Each probe carries a well-formed body, so that a target without authentication shows it plainly: it carries the
action out (or judges it on its content) instead of refusing the caller.
"""

from __future__ import annotations

from typing import Any

from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.governance import proposal_body
from launchgate.drivers.http import ApiClient
from launchgate.drivers.outcomes import Accepted, Refused, outcome_of

# action -> (API area, method, path, body)
MUTATING_ACTIONS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "create a campaign": ("email", "POST", "/api/email/campaign", campaign_body(["probe@recipients.test"])),
    "send an email": ("email", "POST", "/api/email/send", {"emailData": {"to": "probe@recipients.test",
                                                                           "subject": "Hello there",
                                                                           "content": "probe"}}),
    "create a proposal": ("governance", "POST", "/api/governance/proposals",
                          proposal_body("Access probe: an anonymous proposal", "anonymous")),
    "cast a vote": ("governance", "POST", "/api/governance/votes",
                    {"proposal_id": "PROP-access-probe", "voter_address": "0x" + "00" * 20, "vote_option": "for",
                     "signature": "0x" + "00" * 65}),
    "publish a social post": ("social", "POST", "/api/social/posts", {"content": "probe", "platforms": ["x"]}),
    "leave feedback": ("feedback", "POST", "/api/feedback", {"tester": "probe", "rating": 5}),
}


def attempt(client: ApiClient, action: str) -> Accepted | Refused:
    """What the target did with `action`: carried it out, or refused the caller (and why)."""
    _area, method, path, body = MUTATING_ACTIONS[action]
    return outcome_of(client.raw(method, path, json=body))


# What a page reads (routes of 371os-contract.md).
READS = (("email", "/api/email/templates"), ("governance", "/api/governance/proposals"))
FOREIGN_ORIGIN = "https://foreign-origin.invalid"  # .invalid never resolves: no page could really live there


def origins_allowed(client: ApiClient, area: str) -> list[str]:
    """What the target's CORS answers grant a page on a foreign origin, for a read and for each mutating action's
    preflight: `GET /path: Access-Control-Allow-Origin: *`, one line per grant. Empty: the browser refuses."""
    probes = [(method, path) for a, method, path, _ in MUTATING_ACTIONS.values() if a == area]
    probes += [("GET", path) for a, path in READS if a == area]
    grants = []
    for method, path in dict.fromkeys(probes):
        headers = {"Origin": FOREIGN_ORIGIN}
        if method != "GET":  # what a browser sends before a cross-origin POST with a JSON body
            headers |= {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"}
        response = client.raw("GET" if method == "GET" else "OPTIONS", path, headers=headers)
        allowed = response.headers.get("access-control-allow-origin", "")
        if allowed in ("*", FOREIGN_ORIGIN):
            grants.append(f"{method} {path}: Access-Control-Allow-Origin: {allowed}")
    return grants
