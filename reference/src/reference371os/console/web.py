"""The console's request plumbing: who is visiting, page rendering, cookies, CSRF and error pages.

The session is the user's API token in an HttpOnly, SameSite=Strict cookie scoped to /console; pages
are rendered by Jinja2 with autoescape on, and no page ever shows a stack trace.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reference371os.config import ServiceConfig
from reference371os.console.api import ApiProblem, ApiReply, GatewayApi
from reference371os.console.forms import CSRF_COOKIE, CSRF_FIELD, CsrfGuard, FieldErrors, Form, FormError, parse_form
from reference371os.kit.auth import TOKEN_TTL_S, Caller, decode_token

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "lg_session"
COOKIE_PATH = "/console"
EXPLORER_ENV = "LG_EXPLORER_TX_URL"
DEFAULT_EXPLORER = "/explorer/tx/{tx}"
TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
# No script at all: the console is plain forms. Styles come from our own stylesheet only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# Notices a redirect may ask for, by code: the query string never carries text into the page.
NOTICES = {
    "verified": "Your email address is verified. Log in to continue.",
    "logged-out": "You are logged out.",
    "session-expired": "Your session has ended. Log in again.",
    "created": "Campaign created. Its approvals and delivery show below as they happen.",
    "decided": "Decision recorded.",
    "proposal-created": "Proposal created as a draft.",
    "proposal-updated": "Proposal updated.",
    "voted": "Your signed vote was cast.",
    "posted": "Post published.",
    "feedback-sent": "Thank you: your feedback was recorded.",
}


@dataclass
class Visit:
    """One request as the console sees it: the user (if logged in), their token and the CSRF cookie."""

    request: Request
    user: Caller | None
    token: str | None
    csrf_cookie: str
    csrf_token: str
    fresh_csrf_cookie: bool

    @property
    def path(self) -> str:
        return self.request.url.path


class Web:
    def __init__(self, config: ServiceConfig, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self.gateway_url = config.ports.url("gateway")
        self.csrf = CsrfGuard.derived(config.secrets.jwt_secret, "console")
        self.explorer_template = os.environ.get(EXPLORER_ENV) or DEFAULT_EXPLORER
        self.development = config.node_env == "development"
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["tx_url"] = self.tx_url
        self.env.filters["short"] = short_hash

    # -- who is visiting ---------------------------------------------------------------------------
    def visit(self, request: Request) -> Visit:
        token = request.cookies.get(SESSION_COOKIE)
        user = decode_token(self.config.secrets.jwt_secret, token) if token else None
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = not cookie or len(cookie) > 100
        if fresh:
            cookie = CsrfGuard.new_cookie()
        assert cookie is not None
        return Visit(request, user, token if user else None, cookie, self.csrf.token(cookie), fresh)

    def api(self, visit: Visit) -> GatewayApi:
        return GatewayApi(self.gateway_url, visit.token)

    async def form(self, visit: Visit) -> Form:
        """The posted form, after its CSRF token is checked."""
        form = parse_form(visit.request.headers.get("content-type"), await visit.request.body())
        if visit.fresh_csrf_cookie or not self.csrf.valid(visit.csrf_cookie, form.get(CSRF_FIELD)):
            raise FormError(
                403, "This form has expired or did not come from this console. Reload the page and try again."
            )
        return form

    # -- responses ---------------------------------------------------------------------------------
    def page(self, visit: Visit, template: str, *, title: str, status: int = 200, **context: Any) -> HTMLResponse:
        notice = NOTICES.get(visit.request.query_params.get("notice", ""))
        html = self.env.get_template(template).render(
            title=title,
            user=visit.user,
            csrf=visit.csrf_token,
            csrf_field=CSRF_FIELD,
            notice=notice,
            development=self.development,
            path=visit.path,
            errors=context.pop("errors", None) or FieldErrors(),
            **context,
        )
        return self.finish(visit, HTMLResponse(html, status_code=status))

    def finish(self, visit: Visit, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if visit.fresh_csrf_cookie:
            self._cookie(visit, response, CSRF_COOKIE, visit.csrf_cookie, None)
        return response

    def redirect(self, visit: Visit, to: str, *, notice: str | None = None) -> Response:
        if notice:
            to = f"{to}{'&' if '?' in to else '?'}notice={notice}"
        return self.finish(visit, RedirectResponse(to, status_code=303))

    def login_redirect(self, visit: Visit, *, expired: bool = False) -> Response:
        target = f"/console/login?next={quote(visit.path)}"
        response = self.redirect(visit, target, notice="session-expired" if expired else None)
        if expired:
            self.end_session(response)
        return response

    def start_session(self, visit: Visit, response: Response, token: str) -> None:
        self._cookie(visit, response, SESSION_COOKIE, token, TOKEN_TTL_S)

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")

    def _cookie(self, visit: Visit, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            # The reference stack is plain HTTP on loopback; behind TLS the cookies become Secure.
            secure=visit.request.url.scheme == "https",
        )

    def error_page(self, visit: Visit, status: int, heading: str, message: str) -> Response:
        return self.page(visit, "error.html.j2", title=heading, status=status, message=message)

    def api_failure(self, visit: Visit, reply: ApiReply, action: str) -> Response:
        """An API refusal the page has no field for: say what was refused and why, in the API's words."""
        if reply.status == 401:
            return self.login_redirect(visit, expired=True)
        heading = {403: "Not allowed", 404: "Not found"}.get(reply.status, "The request failed")
        return self.error_page(visit, reply.status if reply.status >= 400 else 502, heading,
                               f"{action}: {reply.error}")

    # -- helpers for templates ----------------------------------------------------------------------
    def tx_url(self, tx: Any) -> str | None:
        if not isinstance(tx, str) or not TX_HASH.match(tx):
            return None
        return self.explorer_template.replace("{tx}", tx)


def short_hash(value: Any, keep: int = 10) -> str:
    text = str(value or "")
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep + 2:]}"


def safe_next(target: str | None, default: str) -> str:
    """Only a path inside the console: never another host (an open redirect) or a scheme-relative URL."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") or target.startswith("//"):
        return default
    return target


def console_route_class(web: Web) -> type[APIRoute]:
    """Routes whose every failure becomes an HTML page: field-level problems are handled by the pages,
    the rest (API unreachable, a bad form post, a bug) lands here and never shows a stack trace."""

    class ConsoleRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except FormError as exc:
                    return web.error_page(web.visit(request), exc.status, "The form could not be used", str(exc))
                except ApiProblem as exc:
                    web.log.warning("console: API problem: %s", exc)
                    return web.error_page(
                        web.visit(request), exc.status, "The 371OS API is not available",
                        f"The console could not complete this page because {exc.reason} ({exc.url}). "
                        "Try again in a moment.",
                    )
                except Exception:  # any bug: logged with its trace, the person sees a plain page
                    web.log.exception("console: unhandled error on %s %s", request.method, request.url.path)
                    return web.error_page(
                        web.visit(request), 500, "Something went wrong",
                        "The console hit an unexpected error. It has been logged; try again or go back.",
                    )

            return guarded

    return ConsoleRoute
