"""Social posting steps: a post published through the 371OS API, then checked with Postiz itself."""

from __future__ import annotations

import secrets
from typing import Any

from pytest_bdd import parsers, then, when

from launchgate.bdd.session import TargetSession


def _platforms(text: str) -> list[str]:
    return [p.strip() for p in text.replace(" and ", ",").split(",") if p.strip()]


@when(parsers.parse("a member publishes a post to {platforms}"))
def publish_post(target: TargetSession, context: dict[str, Any], platforms: str) -> None:
    social = target.social()
    context["social"] = social
    context["platforms"] = _platforms(platforms)
    context["content"] = f"Our spring update is out ({secrets.token_hex(4)})"
    context["post"] = social.publish(context["content"], context["platforms"])


@then("the API reports the post published")
def api_says_published(context: dict[str, Any]) -> None:
    post = context["post"]
    assert post["status"] == "published", f"the API reports the post {post['status']}: {post.get('error')}"
    listed = [p for p in context["social"].posts() if p["id"] == post["id"]]
    assert listed, f"post {post['id']} is missing from the member's list of posts"


@then(parsers.parse("Postiz holds the post, published, for {platforms}"))
def postiz_holds_it(target: TargetSession, context: dict[str, Any], platforms: str) -> None:
    post = context["post"]
    assert post.get("postizId"), "the API gives no Postiz id for the post"
    held = target.postiz().post(post["postizId"])
    assert held["content"] == context["content"], "Postiz holds other content than the member posted"
    assert sorted(held["platforms"]) == sorted(_platforms(platforms)), f"Postiz has it for {held['platforms']}"
    assert held["status"] == "published", f"Postiz holds the post as {held['status']}, not published"


@then("the post's engagement can be read for each platform")
def engagement_readable(context: dict[str, Any]) -> None:
    metrics = context["social"].metrics(context["post"]["id"])
    shown = sorted(str(m.get("platform")) for m in metrics["metrics"])
    assert shown == sorted(context["platforms"]), f"engagement is reported for {shown}"
