"""A small typed JSON-over-HTTP client for the 371OS contract, with errors that carry status and body."""

from __future__ import annotations

import json
from typing import Any

import httpx

from launchgate.drivers.answers import journal
from launchgate.drivers.errors import ApiError, ContractError, UnreachableError, split_url, summarize_body


class Record(dict[str, Any]):
    """A JSON object the target sent. Reading a field it left out raises ContractError, which names the call and
    the field: a target that breaks the contract's shape is a named failure, not a KeyError in a step."""

    def __init__(self, data: dict[str, Any], method: str, url: str, status: int) -> None:
        super().__init__(data)
        self._origin = (method, url, status)

    def __missing__(self, key: str) -> Any:
        method, url, status = self._origin
        raise ContractError(method, url, status, f"with an object that has no '{key}' field", json.dumps(self)[:300])


class ApiClient:
    def __init__(
        self, base_url: str, *, token: str | None = None, api_key: str | None = None, timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        self.base_url = base_url.rstrip("/")
        answers = journal()
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                    event_hooks={"request": [answers.on_request], "response": [answers.on_response]})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def with_token(self, token: str) -> ApiClient:
        return ApiClient(self.base_url, token=token)

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response whatever its status; raises only when the target cannot be reached."""
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            journal().on_unanswered(method, f"{self.base_url}{path}")
            raise UnreachableError(f"{self.base_url}{path}", type(exc).__name__) from exc

    def call(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), key: str | None = None, **kwargs: Any
    ) -> Any:
        """The JSON body of a response whose status is in `expect` (its field `key` when given); ApiError for
        another status, ContractError for a body that is not JSON or lacks `key`."""
        response = self.raw(method, path, **kwargs)
        url = str(response.request.url)
        if response.status_code not in expect:
            raise ApiError(method, url, response.status_code, response.text)
        if not response.content:
            if key is not None:
                raise ContractError(method, url, response.status_code, f"with an empty body, not one with '{key}'", "")
            return None
        try:
            body = json.loads(response.text, object_hook=lambda obj: Record(obj, method, url, response.status_code))
        except ValueError:
            problem = "with a body that is not JSON"
            raise ContractError(method, url, response.status_code, problem, response.text) from None
        if key is None:
            return body
        if not isinstance(body, dict) or key not in body:
            raise ContractError(method, url, response.status_code, f"without the '{key}' field", response.text)
        return body[key]

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json, **kwargs)


def answer(response: httpx.Response) -> str:
    """A response in plain words, for assertion messages: `POST /api/governance/votes answered 201: …`."""
    _origin, path = split_url(str(response.request.url))
    said = f"{response.request.method} {path} answered {response.status_code}"
    if response.is_success:
        return f"{said} (accepted{_id_of(response)})"
    return f"{said}: {summarize_body(response.text, 200)}"


def _id_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    data = body.get("data", body) if isinstance(body, dict) else None
    found = data.get("id") if isinstance(data, dict) else None
    return f", id {found}" if isinstance(found, str | int) else ""
