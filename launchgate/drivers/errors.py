"""Errors raised by drivers, carrying what a reader needs to see where it failed."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

# How servers say "no such route": Express's default page, the 371OS governance service, Starlette/aiohttp.
_NO_ROUTE = re.compile(
    r"^(Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+|Route \S+ not found|Not Found|404: Not Found)$"
)


class DriverError(Exception):
    """A driver call failed; the message names the URL, status or transaction."""


def summarize_body(text: str, limit: int = 300) -> str:
    """What a response body says, in plain words: the `error` or `message` of a JSON body, the text of an HTML
    error page, else the body itself; cut to `limit` characters."""
    text = text.strip()
    said = text
    try:
        body = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("<"):
            pre = re.search(r"<pre>(.*?)</pre>", text, re.S | re.I)
            said = html.unescape(re.sub(r"<[^>]+>", " ", pre.group(1) if pre else text))
            said = re.sub(r"\s+", " ", said).strip()
    else:
        if isinstance(body, dict):
            for key in ("error", "message", "detail"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    said = value
                    break
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    said = value["message"]
                    break
    if not said:
        return "(empty body)"
    return said if len(said) <= limit else said[: limit - 1] + "…"


def split_url(url: str) -> tuple[str, str]:
    """`http://host:port/path?q` -> (`http://host:port`, `/path?q`)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}", path + (f"?{parts.query}" if parts.query else "")


class ApiError(DriverError):
    """The target answered with a status the call does not accept. The message reads
    `POST /api/email/campaign answered 500: Campaign approval failed: … [http://127.0.0.1:3001]`."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        self.summary = summarize_body(body)
        origin, path = split_url(url)
        said = f"no such route ({self.summary})" if self.route_missing else self.summary
        super().__init__(f"{method} {path} answered {status}: {said} [{origin}]")

    @property
    def route_missing(self) -> bool:
        """The target has no route for the call (as opposed to a 404 for a missing record)."""
        return self.status in (404, 405) and bool(_NO_ROUTE.match(self.summary))


class ContractError(DriverError):
    """The target answered with an accepted status but a body the 371OS contract does not allow."""

    def __init__(self, method: str, url: str, status: int, problem: str, body: str) -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        origin, path = split_url(url)
        super().__init__(f"{method} {path} answered {status} {problem}: {summarize_body(body, 200)} [{origin}]")


class UnreachableError(DriverError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"cannot reach {url}: {reason}")


class TimeoutWaitingError(DriverError):
    """A poll gave up: the message says what was awaited and what was last seen."""
