"""The soak's user mix over the four core features (framework §Phase 1), driven by the target profile.

- campaigns:  an email campaign with agent approvals (auto mode, no DAO, so it runs to completion), then its status
- governance: a DAO proposal through submit and voting, with votes signed by the dev voter keys
- social:     a social post, published through Postiz
- reads:      the analytics dashboard and the campaign and proposal lists

Routes and weights come from the profile's [load] table (see support.py); a task whose routes the target
does not have is left out, and the harness says so. Run it only through `launchgate soak`.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import yaml
from eth_account import Account
from eth_account.messages import encode_defunct
from locust import FastHttpUser, between, task
from support import auth_headers, plan, routes

from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.governance import proposal_body, vote_message

PLAN = plan()
ROUTES = routes(PLAN)
AUTH = auth_headers()
WEIGHTS: dict[str, int] = {k: int(v) for k, v in dict(PLAN.get("weights") or {}).items()}
VOTERS: list[dict[str, Any]] = (
    list(yaml.safe_load(Path(PLAN["voters_file"]).read_text())["voters"]) if PLAN.get("voters_file") else []
)
RECIPIENT_DOMAIN = str(PLAN.get("recipient_domain", "recipients.test"))
_serial = itertools.count(1)


class CoreFeaturesUser(FastHttpUser):
    wait_time = between(*PLAN.get("wait", [0.5, 1.5]))
    host = PLAN.get("host")

    def call(self, key: str, json: Any = None, expect: tuple[int, ...] = (200, 201), **values: str) -> Any:
        """One request of the route `key`; its JSON body when the status is expected, else None (a failure)."""
        route = ROUTES[key]
        with self.client.request(route.method, route.format(**values), name=route.name, json=json,
                                 headers=AUTH, catch_response=True) as response:
            if response.status_code not in expect:
                # A short, id-free message: Locust keys its failure table by it (unique texts would grow it).
                response.failure(f"HTTP {response.status_code}")
                return None
            try:
                return response.json()
            except ValueError:
                response.failure("not JSON")
                return None

    @task(WEIGHTS.get("campaigns", 0))
    def campaigns(self) -> None:
        n = next(_serial)
        body = campaign_body([f"soak-{n % 50}@{RECIPIENT_DOMAIN}", f"soak-{(n + 1) % 50}@{RECIPIENT_DOMAIN}"])
        created = self.call("create_campaign", json=body)
        if created and "get_campaign" in ROUTES:
            self.call("get_campaign", id=str(created["campaign"]["id"]))

    @task(WEIGHTS.get("governance", 0))
    def governance(self) -> None:
        created = self.call("create_proposal", json=proposal_body(f"Soak proposal {uuid.uuid4().hex[:8]}", "soak"))
        if not created:
            return
        pid = str(created["data"]["id"])
        if not self.call("submit_proposal", json={"submitted_by": "soak"}, id=pid):
            return
        if not self.call("start_voting", json={}, id=pid):
            return
        for voter in VOTERS:
            signed = Account.sign_message(encode_defunct(text=vote_message(pid, "for")), voter["private_key"])
            vote = {"proposal_id": pid, "voter_address": voter["address"], "vote_option": "for",
                    "signature": "0x" + signed.signature.hex().removeprefix("0x")}
            self.call("cast_vote", json=vote)
        if "close_voting" in ROUTES:
            self.call("close_voting", json={}, id=pid)

    @task(WEIGHTS.get("social", 0))
    def social(self) -> None:
        self.call("social_post", json={"content": f"Soak update {next(_serial)}", "platforms": ["x"]})

    @task(WEIGHTS.get("reads", 0))
    def reads(self) -> None:
        for key in ("dashboard", "list_campaigns", "list_proposals"):
            if key in ROUTES:
                self.call(key)
