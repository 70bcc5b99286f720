"""The console's client of the public 371OS API: over HTTP through the gateway, as the logged-in user.

The console holds no privilege of its own: every call carries the user's token, so the gateway and the
services decide exactly as they would for any other client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT_S = 15.0


@dataclass
class ApiReply:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        return str(self.body.get("error") or f"the API answered {self.status}")

    @property
    def fields(self) -> list[dict[str, str]]:
        found = self.body.get("fields")
        return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


@dataclass
class ApiProblem(Exception):
    """The API could not be used for this page (unreachable, or an answer that is not JSON)."""

    url: str
    reason: str
    status: int = 502
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


class GatewayApi:
    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    async def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> ApiReply:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.base_url}{path}"
        try:
            # A client per call: the console's traffic is a person clicking, not worth a pool's lifecycle.
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
                response = await client.request(method, url, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise ApiProblem(url, "the API did not answer in time", 504) from exc
        except httpx.TransportError as exc:
            raise ApiProblem(url, f"the API cannot be reached ({type(exc).__name__})", 502) from exc
        try:
            body = response.json() if response.content else {}
        except ValueError as exc:
            raise ApiProblem(url, f"the API answered {response.status_code} with something that is not JSON") from exc
        return ApiReply(response.status_code, body if isinstance(body, dict) else {"data": body})

    async def get(self, path: str, **params: Any) -> ApiReply:
        return await self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def post(self, path: str, json: Any) -> ApiReply:
        return await self.call("POST", path, json=json)
