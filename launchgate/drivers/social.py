"""Social posting through the 371OS API, and Postiz's own record of each post, read with its API key."""

from __future__ import annotations

from typing import Any

from launchgate.drivers.http import ApiClient


class SocialDriver:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def publish(self, content: str, platforms: list[str]) -> dict[str, Any]:
        return self.api.post("/api/social/posts", json={"content": content, "platforms": platforms}, key="post")

    def posts(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/social/posts", key="posts"))

    def metrics(self, post_id: str) -> dict[str, Any]:
        return self.api.get(f"/api/social/posts/{post_id}/metrics")


class PostizReader:
    """What Postiz itself holds: the harness does not take the 371OS API's word that a post went out."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.api = ApiClient(base_url, token=api_key)

    def post(self, postiz_id: str) -> dict[str, Any]:
        return self.api.get(f"/posts/{postiz_id}")

    def close(self) -> None:
        self.api.close()
