"""Probes of who may do what: each mutating action of the 371OS contract, sent as a given caller."""

from __future__ import annotations

from typing import Any

from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.http import ApiClient

# action -> (API area, method, path, body)
MUTATING_ACTIONS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "create a campaign": ("email", "POST", "/api/email/campaign", campaign_body(["probe@recipients.test"])),
    "send an email": ("email", "POST", "/api/email/send", {"emailData": {"to": "probe@recipients.test",
                                                                           "subject": "Hello there",
                                                                           "content": "probe"}}),
    "create a proposal": ("governance", "POST", "/api/governance/proposals", {"title": "probe"}),
    "cast a vote": ("governance", "POST", "/api/governance/votes", {"proposal_id": "PROP-x"}),
    "publish a social post": ("social", "POST", "/api/social/posts", {"content": "probe", "platforms": ["x"]}),
    "leave feedback": ("feedback", "POST", "/api/feedback", {"tester": "probe", "rating": 5}),
}


def attempt(client: ApiClient, action: str) -> int:
    """The status the target answers to `action`."""
    _area, method, path, body = MUTATING_ACTIONS[action]
    return client.raw(method, path, json=body).status_code
