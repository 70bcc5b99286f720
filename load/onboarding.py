"""Onboarding of new users (framework §Phase 3: "the first 1,000 users"): each Locust user is one new person.

Signup, the verification token read from the mail the platform sent (header X-371OS-Verification-Token, read
back from the target's mail sink), verification, login, and a first campaign under the new user's own token.
Each user does it once, then idles; a whole flow counts as one onboarded user (support.FLOWS). Routes come from
the profile's [load] table. Run it only through `launchgate onboard`.
A rehearsal must not leave its users on the target: when the table names a `delete_account` route, each user
who logged in closes their account before its flow counts (flow "account removed"; its failure is not an
onboarding failure).
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import gevent
from locust import FastHttpUser, constant, task
from support import FLOWS, plan, routes

from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.identity import VERIFICATION_HEADER

PLAN = plan()
ROUTES = routes(PLAN)
MAIL_TIMEOUT_S = float(PLAN.get("mail_timeout_s", 60))
DOMAIN = str(PLAN.get("user_domain", "onboarding.test"))
FLOW = "user onboarded"
REMOVED = "account removed"


class StepFailed(Exception):
    pass


class NewUser(FastHttpUser):
    wait_time = constant(0)
    host = PLAN.get("host")

    def call(self, key: str, json: Any = None, headers: dict[str, str] | None = None, **values: str) -> Any:
        route = ROUTES[key]
        url = route.format(**{k: quote(v, safe="") for k, v in values.items()})
        with self.client.request(route.method, url, name=route.name, json=json, headers=headers,
                                 catch_response=True) as response:
            if response.status_code not in (200, 201):
                response.failure(f"HTTP {response.status_code}")
                raise StepFailed(f"{route.name}: HTTP {response.status_code}")
            return response.json()

    def verification_token(self, email: str) -> str:
        deadline = time.monotonic() + MAIL_TIMEOUT_S
        while time.monotonic() < deadline:
            for message in self.call("mailbox", email=email).get("messages", []):
                token = (message.get("headers") or {}).get(VERIFICATION_HEADER)
                if token:
                    return str(token)
            gevent.sleep(0.25)
        raise StepFailed(f"no verification mail within {MAIL_TIMEOUT_S:.0f} s")

    @task
    def onboard(self) -> None:
        email = f"user-{uuid.uuid4().hex[:16]}@{DOMAIN}"
        password = uuid.uuid4().hex
        ok = False
        token = None
        try:
            self.call("signup", json={"email": email, "password": password, "name": "New User"})
            self.call("verify", json={"token": self.verification_token(email)})
            token = self.call("login", json={"email": email, "password": password})["token"]
            body = campaign_body([f"friend-{uuid.uuid4().hex[:8]}@recipients.test"], name="My first campaign")
            self.call("create_campaign", json=body, headers={"Authorization": f"Bearer {token}"})
            ok = True
        except (StepFailed, KeyError, ValueError):
            pass
        if token and "delete_account" in ROUTES:
            try:
                self.call("delete_account", headers={"Authorization": f"Bearer {token}"})
                FLOWS.add(REMOVED, True)
            except (StepFailed, ValueError):
                FLOWS.add(REMOVED, False)
        FLOWS.add(FLOW, ok)
        # One flow per person: idle until the harness ends the run (Locust replaces a user that stops).
        while True:
            gevent.sleep(3600)
