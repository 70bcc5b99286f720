"""Reads what the SMTP sink received: the harness's view of delivered mail, independent of the API."""

from __future__ import annotations

import json
import time
from typing import Any

from launchgate.drivers.errors import TimeoutWaitingError
from launchgate.drivers.http import ApiClient
from launchgate.drivers.verification import HEADER_METADATA, HEADER_TIMESTAMP, HEADER_VALIDATION, expected_hash


def recompute_hash(message: dict[str, Any]) -> str:
    """The 371OS verification hash of a delivered email, from the email alone (never from the API)."""
    headers = message["headers"]
    return expected_hash(
        subject=message["subject"],
        content=message["body"].replace("\r\n", "\n").rstrip("\n"),
        sender=message["mail_from"],
        recipient=message["rcpt_to"][0],
        timestamp=headers[HEADER_TIMESTAMP],
        agent_validation=json.loads(headers[HEADER_VALIDATION]),
        metadata=json.loads(headers.get(HEADER_METADATA) or "{}"),
    )


class MailSink:
    def __init__(self, base_url: str) -> None:
        self._api = ApiClient(base_url)

    def messages(self, to: str | None = None, subject_contains: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"to": to, "subject_contains": subject_contains}.items() if v}
        return list(self._api.get("/messages", params=params, key="messages"))

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0, **filters: str) -> list[dict[str, Any]]:
        """Polls until `to` has received at least `count` messages."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = self.messages(to=to, **filters)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutWaitingError(f"waited {timeout:.0f} s for {count} message(s) to {to}; the sink has {len(found)}")
