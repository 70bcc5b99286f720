"""A small typed client of the Postiz API (the stack's sandbox, or a real Postiz at the same routes)."""

from __future__ import annotations

from typing import Any

import httpx


class PostizError(Exception):
    """Postiz failed or answered an error. `status` is the upstream HTTP status, None when unreachable."""

    def __init__(self, operation: str, status: int | None, detail: str) -> None:
        self.operation = operation
        self.status = status
        self.detail = detail
        where = f"answered {status}" if status is not None else "was unreachable"
        super().__init__(f"Postiz {where} on {operation}: {detail}"[:300])


class PostizClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def health(self) -> None:
        response = self._http.get("/health", timeout=1.5)
        if response.status_code != 200:
            raise RuntimeError(f"Postiz /health answered {response.status_code}")

    def create_post(self, key: str, content: str, platforms: list[str], date: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"content": content, "platforms": platforms}
        if date:
            body["date"] = date
        return self._call("POST", "/posts", key, json=body)

    def publish(self, key: str, postiz_id: str) -> dict[str, Any]:
        return self._call("POST", "/posts/publish", key, json={"id": postiz_id})

    def metrics(self, key: str, postiz_id: str) -> dict[str, Any]:
        return self._call("GET", f"/posts/{postiz_id}/metrics", key)

    def _call(self, method: str, path: str, key: str, **kwargs: Any) -> dict[str, Any]:
        operation = f"{method} {path}"
        try:
            response = self._http.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)
        except httpx.HTTPError as exc:
            raise PostizError(operation, None, type(exc).__name__) from exc
        if response.status_code >= 400:
            raise PostizError(operation, response.status_code, _error_text(response))
        try:
            data = response.json()
        except ValueError as exc:
            raise PostizError(operation, response.status_code, "answer is not JSON") from exc
        if not isinstance(data, dict):
            raise PostizError(operation, response.status_code, "answer is not a JSON object")
        return data


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)[:200]
    return str(data)[:200]
