"""What a target did with a request, in the domain's words: Accepted (with what it answered) or Refused (with its
status and reason). Drivers return these where a refusal is an answer a step judges (a guard, a forged ballot,
an anonymous caller), so that steps speak of acceptance and refusal, never of HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from launchgate.drivers.http import answer


@dataclass(frozen=True)
class Outcome:
    status: int
    said: str  # the answer in words: `POST /api/governance/votes answered 201 (accepted, id 7)`

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        """Refused the caller's request (4xx): a decision, as a guard makes it, not a failure of the target."""
        return 400 <= self.status < 500

    @property
    def unauthenticated(self) -> bool:
        """Refused because the caller did not say who they are (401)."""
        return self.status == 401

    @property
    def lacks_role(self) -> bool:
        """Refused because the caller, known, may not do this (403)."""
        return self.status == 403

    @property
    def withheld(self) -> bool:
        """Not given to this caller: refused for their role (403), or hidden as if it did not exist (404)."""
        return self.status in (403, 404)

    def describe(self) -> str:
        return self.said


@dataclass(frozen=True)
class Accepted(Outcome):
    data: Any = None  # the answer's JSON body (None when it had none)


@dataclass(frozen=True)
class Refused(Outcome):
    reason: str = ""  # the target's error text, shortened


def outcome_of(response: httpx.Response) -> Accepted | Refused:
    said = answer(response)
    if response.is_success:
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return Accepted(response.status_code, said, data)
    return Refused(response.status_code, said, said.split(": ", 1)[-1])
