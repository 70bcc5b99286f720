"""Engagement numbers for a post, derived from its id, content and platform: the same post always has the
same numbers, so a test can compare what the platform relays with what the sandbox computes."""

from __future__ import annotations

import hashlib
from typing import Any


def platform_metrics(post_id: str, content: str, platform: str, published: bool) -> dict[str, Any]:
    if not published:
        # A draft has been seen by nobody.
        return {
            "platform": platform,
            "impressions": 0,
            "likes": 0,
            "shares": 0,
            "comments": 0,
            "clicks": 0,
            "engagementRate": 0.0,
        }
    digest = hashlib.sha256(f"{post_id}|{platform}|{content}".encode()).digest()

    def pick(index: int, low: int, high: int) -> int:
        return low + int.from_bytes(digest[index * 4 : index * 4 + 4], "big") % (high - low + 1)

    impressions = pick(0, 200, 5000)
    likes = pick(1, 0, impressions // 10)
    shares = pick(2, 0, max(1, likes // 4))
    comments = pick(3, 0, max(1, likes // 5))
    clicks = pick(4, 0, impressions // 20)
    engaged = likes + shares + comments + clicks
    return {
        "platform": platform,
        "impressions": impressions,
        "likes": likes,
        "shares": shares,
        "comments": comments,
        "clicks": clicks,
        "engagementRate": round(engaged / impressions, 4),
    }


def totals(per_platform: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("impressions", "likes", "shares", "comments", "clicks")
    out: dict[str, Any] = {k: sum(m[k] for m in per_platform) for k in keys}
    engaged = out["likes"] + out["shares"] + out["comments"] + out["clicks"]
    out["engagementRate"] = round(engaged / out["impressions"], 4) if out["impressions"] else 0.0
    return out
