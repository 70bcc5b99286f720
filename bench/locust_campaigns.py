"""Locustfile for bench_campaigns.py: campaign creation through the gateway, nothing else.

Run only by the benchmark, as a Locust subprocess (importing locust in the harness would monkey-patch it).
"""

from __future__ import annotations

import itertools
import os
import uuid

from locust import FastHttpUser, constant, task

from launchgate.drivers.campaigns import campaign_body

HEADERS = {"Authorization": f"Bearer {os.environ['LG_BENCH_TOKEN']}"}
_serial = itertools.count(1)


class CampaignCreator(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_campaign(self) -> None:
        tag = f"{uuid.uuid4().hex[:8]}-{next(_serial)}"
        body = campaign_body([f"bench-{tag}@recipients.test"])
        self.client.post("/api/email/campaign", json=body, headers=HEADERS, name="POST /api/email/campaign")
