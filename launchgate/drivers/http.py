"""A small typed JSON-over-HTTP client for the 371OS contract, with errors that carry status and body."""

from __future__ import annotations

from typing import Any

import httpx

from launchgate.drivers.errors import ApiError, UnreachableError


class ApiClient:
    def __init__(
        self, base_url: str, *, token: str | None = None, api_key: str | None = None, timeout: float = 10.0
    ) -> None:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

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
            raise UnreachableError(f"{self.base_url}{path}", type(exc).__name__) from exc

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        """The JSON body of a response whose status is in `expect`; ApiError otherwise."""
        response = self.raw(method, path, **kwargs)
        if response.status_code not in expect:
            raise ApiError(method, str(response.request.url), response.status_code, response.text)
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json, **kwargs)
