"""Social posting steps: a post published through the 371OS API, then checked with Postiz itself."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from pytest_bdd import parsers, then, when

from launchgate.bdd.session import TargetSession
from launchgate.drivers.social import SocialDriver


def _platforms(text: str) -> list[str]:
    return [p.strip() for p in text.replace(" and ", ",").split(",") if p.strip()]


@dataclass(frozen=True)
class PublishedPost:
    """A post a member published through the API: what they wrote, where to, and the API's record of it."""

    social: SocialDriver
    content: str
    platforms: list[str]
    record: dict[str, Any]


@when(parsers.parse("a member publishes a post to {platforms}"), target_fixture="published")
def publish_post(target: TargetSession, platforms: str) -> PublishedPost:
    social = target.social()
    content, named = f"Our spring update is out ({secrets.token_hex(4)})", _platforms(platforms)
    return PublishedPost(social, content, named, social.publish(content, named))


@then("the API reports the post published")
def api_says_published(published: PublishedPost) -> None:
    post = published.record
    assert post["status"] == "published", f"the API reports the post {post['status']}: {post.get('error')}"
    listed = [p for p in published.social.posts() if p["id"] == post["id"]]
    assert listed, f"post {post['id']} is missing from the member's list of posts"


@then(parsers.parse("Postiz holds the post, published, for {platforms}"))
def postiz_holds_it(target: TargetSession, published: PublishedPost, platforms: str) -> None:
    post = published.record
    assert post.get("postizId"), "the API gives no Postiz id for the post"
    held = target.postiz().post(post["postizId"])
    assert held["content"] == published.content, "Postiz holds other content than the member posted"
    assert sorted(held["platforms"]) == sorted(_platforms(platforms)), f"Postiz has it for {held['platforms']}"
    assert held["status"] == "published", f"Postiz holds the post as {held['status']}, not published"


@then("the post's engagement can be read for each platform")
def engagement_readable(published: PublishedPost) -> None:
    metrics = published.social.metrics(published.record["id"])
    shown = sorted(str(m.get("platform")) for m in metrics["metrics"])
    assert shown == sorted(published.platforms), f"engagement is reported for {shown}"
