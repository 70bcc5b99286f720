"""The UAT sign-off page: a small local web server (127.0.0.1 only) where testers read each @uat scenario and
record pass or fail, a 1-5 rating and a comment. Each answer is one `feedback` evidence record
(criterion beta.feedback-positive) in the run directory, written before the page says it was saved.

Plain HTML forms, no script; the standard library's threading HTTP server, so no event loop is involved.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from launchgate.evidence import Evidence, EvidenceWriter, read_evidence
from launchgate.uat.scenarios import UatScenario
from launchgate.webforms import CSRF_FIELD, FAVICON, CsrfGuard, FieldErrors, FormError, parse_form, stylesheet

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = stylesheet(TEMPLATES / "uat.css")
CRITERION = "beta.feedback-positive"
CSRF_COOKIE = "lg_uat_csrf"
TESTER_COOKIE = "lg_uat_tester"
POSITIVE_RATING = 4
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
log = logging.getLogger("launchgate.uat")


@dataclass
class Answer:
    tester: str
    result: str  # pass | fail
    rating: int
    comment: str

    @property
    def positive(self) -> bool:
        """Positive feedback: the scenario worked for the tester and they rate it 4 or 5 out of 5."""
        return self.result == "pass" and self.rating >= POSITIVE_RATING


def read_answer(values: dict[str, str]) -> tuple[Answer | None, FieldErrors]:
    errors = FieldErrors()
    tester = values.get("tester", "").strip()
    if not tester:
        errors.add("tester", "Enter your name, so each tester's answers are counted once")
    elif len(tester) > 200:
        errors.add("tester", "Keep your name under 200 characters")
    result = values.get("result", "")
    if result not in ("pass", "fail"):
        errors.add("result", "Say whether the scenario worked for you")
    rating = values.get("rating", "")
    if rating not in ("1", "2", "3", "4", "5"):
        errors.add("rating", "Choose a rating from 1 to 5")
    comment = values.get("comment", "").strip()
    if len(comment) > 5000:
        errors.add("comment", "Keep the comment under 5,000 characters")
    if errors:
        return None, errors
    return Answer(tester, result, int(rating), comment), errors


@dataclass
class UatSite:
    """What the server serves and where answers go; independent of HTTP, so it is easy to test."""

    scenarios: list[UatScenario]
    run_dir: Path
    target: str
    csrf: CsrfGuard = field(default_factory=lambda: CsrfGuard(secrets.token_bytes(32)))

    def __post_init__(self) -> None:
        self.writer = EvidenceWriter(self.run_dir, "uat-feedback")
        self.by_id = {s.id: s for s in self.scenarios}
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def record(self, scenario: UatScenario, answer: Answer) -> Evidence:
        when = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        evidence = Evidence(
            run=self.run_dir.name, kind="feedback", name=f"UAT: {scenario.name} ({answer.tester})",
            outcome="passed" if answer.positive else "failed", criterion=CRITERION, gate="beta",
            value=float(answer.rating), unit="rating 1-5", started=when, finished=when, target=self.target,
            details={
                "tester": answer.tester, "rating": answer.rating, "positive": answer.positive,
                "result": answer.result, "comment": answer.comment, "date": when, "source": "uat",
                "scenario": scenario.name, "scenario_id": scenario.id, "feature": scenario.feature,
                "location": scenario.location, "tags": list(scenario.tags),
                "scenario_criterion": scenario.criterion,
            },
        )
        self.writer.write(evidence)
        return evidence

    def answers_of(self, tester: str) -> dict[str, dict[str, Any]]:
        """The latest answer of `tester` per scenario id, from the evidence written so far."""
        records, _bad = read_evidence(self.run_dir)
        latest: dict[str, dict[str, Any]] = {}
        for rec in records:
            if rec.kind == "feedback" and rec.details.get("source") == "uat" and rec.details.get("tester") == tester:
                latest[str(rec.details.get("scenario_id"))] = rec.details
        return latest

    def render(self, *, csrf: str, tester: str, saved: str | None, errors: dict[str, FieldErrors],
               values: dict[str, dict[str, str]]) -> str:
        return self.env.get_template("uat.html.j2").render(
            scenarios=self.scenarios, target=self.target, run_dir=self.run_dir, csrf=csrf, csrf_field=CSRF_FIELD,
            tester=tester, saved=self.by_id.get(saved or ""), errors=errors, values=values,
            answered=self.answers_of(tester) if tester else {},
        )


class UatHandler(BaseHTTPRequestHandler):
    site: UatSite  # set on the subclass the server makes
    server_version = "launchgate-uat"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- plumbing ----------------------------------------------------------------------------------
    def _cookies(self) -> SimpleCookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except Exception:  # a malformed cookie header is treated as no cookies
            return SimpleCookie()
        return jar

    def _cookie(self, name: str) -> str | None:
        morsel = self._cookies().get(name)
        return morsel.value if morsel is not None else None

    def _send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        for name, value in (cookies or {}).items():
            self.send_header("Set-Cookie", f"{name}={quote(value)}; Path=/; HttpOnly; SameSite=Strict")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _csrf_cookie(self) -> tuple[str, bool]:
        cookie = self._cookie(CSRF_COOKIE)
        if cookie and len(cookie) <= 100:
            return cookie, False
        return CsrfGuard.new_cookie(), True

    def _page(self, status: int, *, saved: str | None = None, errors: dict[str, FieldErrors] | None = None,
              values: dict[str, dict[str, str]] | None = None) -> None:
        cookie, fresh = self._csrf_cookie()
        tester = unquote(self._cookie(TESTER_COOKIE) or "")
        html = self.site.render(csrf=self.site.csrf.token(cookie), tester=tester, saved=saved, errors=errors or {},
                                values=values or {})
        self._send(status, html.encode(), cookies={CSRF_COOKIE: cookie} if fresh else None)

    def _problem(self, status: int, message: str) -> None:
        html = self.site.env.get_template("problem.html.j2").render(status=status, message=message)
        self._send(status, html.encode())

    def _guard(self, handler: Callable[[], None]) -> None:
        try:
            handler()
        except FormError as exc:
            self._problem(exc.status, str(exc))
        except Exception:  # any bug: logged with its trace; the tester sees a plain page
            log.exception("UAT page: unhandled error on %s %s", self.command, self.path)
            self._problem(500, "Something went wrong while saving or showing answers. It has been logged.")

    # -- routes ------------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/":
            saved = parse_qs(url.query).get("saved", [None])[0]
            self._page(200, saved=saved)
        elif url.path == "/uat.css":
            self._send(200, STYLESHEET, "text/css", {"Cache-Control": "max-age=300"})
        elif url.path == "/favicon.svg":
            self._send(200, FAVICON.read_bytes(), "image/svg+xml")
        elif url.path == "/health":
            self._send(200, b'{"status":"operational"}', "application/json")
        else:
            self._problem(404, "There is no page at this address.")

    def _post(self) -> None:
        if urlsplit(self.path).path != "/answer":
            self._problem(404, "There is no page at this address.")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            raise FormError(413, "The form is too large.")
        form = parse_form(self.headers.get("Content-Type"), self.rfile.read(length))
        cookie = self._cookie(CSRF_COOKIE)
        if not self.site.csrf.valid(cookie, form.get(CSRF_FIELD)):
            raise FormError(
                403, "This form has expired or did not come from this page. Reload the page and try again."
            )
        scenario = self.site.by_id.get(form.text("scenario_id"))
        if scenario is None:
            raise FormError(400, "This scenario is not one of those offered for sign-off. Reload the page.")
        values = {k: form.get(k) for k in ("tester", "result", "rating", "comment")}
        answer, errors = read_answer(values)
        if answer is None:
            self._page(422, errors={scenario.id: errors}, values={scenario.id: values})
            return
        self.site.record(scenario, answer)
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/?saved={quote(scenario.id)}#{quote(scenario.id)}")
        self.send_header("Set-Cookie", f"{TESTER_COOKIE}={quote(answer.tester)}; Path=/; HttpOnly; SameSite=Strict")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def make_server(site: UatSite, port: int) -> ThreadingHTTPServer:
    """The server on 127.0.0.1 only: testers on this machine, nobody else."""
    handler = type("BoundUatHandler", (UatHandler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server
