"""The reference console and explorer over plain HTTP (no browser): sessions, CSRF, redirects, error pages.

The browser suite (e2e/) walks the flows; these check the edges a browser never shows, quickly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from reference_testkit import RunningStack

from reference371os.console.forms import FieldErrors, Form
from reference371os.console.validation import campaign_from_form, parse_recipients

CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
TRACE = re.compile(r"Traceback|File \"")


@pytest.fixture
def browser_like(stack: RunningStack) -> Iterator[httpx.Client]:
    """A client that keeps cookies and does not follow redirects, like a browser seen from the server."""
    with httpx.Client(base_url=stack.gateway, timeout=15, follow_redirects=False) as client:
        yield client


def csrf_of(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    found = CSRF_INPUT.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: httpx.Client, stack: RunningStack, role: str, next_path: str = "") -> httpx.Response:
    token = csrf_of(client, "/console/login")
    form = {"csrf_token": token, "email": f"{role}@371os.local", "password": stack.secrets.role_passwords[role],
            "next": next_path}
    return client.post("/console/login", data=form)


def test_pages_are_html_with_strict_headers_and_cookies(browser_like: httpx.Client) -> None:
    page = browser_like.get("/console/login")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"]
    assert "lg_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie


def test_a_post_without_its_token_is_refused_with_a_page(browser_like: httpx.Client) -> None:
    refused = browser_like.post("/console/login", data={"email": "ceo@371os.local", "password": "x"})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text and not TRACE.search(refused.text)
    token = csrf_of(browser_like, "/console/login")
    forged = browser_like.post("/console/login", data={"csrf_token": "0" * 64, "email": "a@b.test", "password": "x"})
    assert forged.status_code == 403
    as_json = browser_like.post("/console/login", json={"csrf_token": token})
    assert as_json.status_code == 415 and "HTML form posts only" in as_json.text


def test_login_sets_an_httponly_strict_session_and_goes_to_the_inbox(browser_like: httpx.Client,
                                                                      stack: RunningStack) -> None:
    reply = log_in(browser_like, stack, "ceo")
    assert reply.status_code == 303 and reply.headers["location"] == "/console/approvals"
    session = next(c for c in reply.headers.get_list("set-cookie") if c.startswith("lg_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session
    inbox = browser_like.get("/console/approvals")
    assert inbox.status_code == 200 and "Approvals inbox" in inbox.text
    logout = browser_like.post("/console/logout", data={"csrf_token": csrf_of(browser_like, "/console/approvals")})
    assert logout.status_code == 303 and browser_like.get("/console/approvals").status_code == 303


def test_next_never_leaves_the_console(browser_like: httpx.Client, stack: RunningStack) -> None:
    for hostile in ("https://evil.example/", "//evil.example/x", "/elsewhere"):
        reply = log_in(browser_like, stack, "cfo", next_path=hostile)
        assert reply.status_code == 303 and reply.headers["location"] == "/console/approvals", hostile
    assert log_in(browser_like, stack, "cfo", "/console/dao").headers["location"] == "/console/dao"


def test_anonymous_visitors_are_sent_to_log_in(browser_like: httpx.Client) -> None:
    for path in ("/console/campaigns", "/console/approvals", "/console/dao", "/console/social"):
        reply = browser_like.get(path)
        assert reply.status_code == 303 and reply.headers["location"].startswith(f"/console/login?next={path}")


def test_unknown_pages_and_bad_ids_are_html_pages(browser_like: httpx.Client, stack: RunningStack) -> None:
    missing = browser_like.get("/console/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert browser_like.get("/console/static/nope.css").status_code == 404
    log_in(browser_like, stack, "admin")
    bad_id = browser_like.get("/console/campaigns/..%2f..%2finternal")
    assert bad_id.status_code == 404 and not TRACE.search(bad_id.text)
    unknown = browser_like.get("/console/campaigns/cmp-does-not-exist")
    assert unknown.status_code == 404 and "not found" in unknown.text


def test_the_explorer_reads_transactions_from_the_chain(browser_like: httpx.Client) -> None:
    assert browser_like.get("/explorer/tx/0x1234").status_code == 400
    absent = browser_like.get("/explorer/tx/0x" + "00" * 32)
    assert absent.status_code == 404 and "Transaction not found" in absent.text


# -- form parsing and validation, no server needed ----------------------------------------------------
def test_recipients_accept_names_and_report_bad_lines() -> None:
    errors = FieldErrors()
    found = parse_recipients("Ada Lovelace <ada@example.org>\n\nbob@example.org\nADA@example.org\nnope", errors)
    assert found == [{"email": "ada@example.org", "name": "Ada Lovelace"}, {"email": "bob@example.org"}]
    assert errors.get("recipients") == "Not an email address: line 5 (nope)"


def test_campaign_form_names_each_bad_field() -> None:
    form = Form({"name": [""], "template": ["nope"], "recipients": [""], "budget": ["-3"], "currency": ["EUR"],
                 "priority": ["now"], "approval_mode": ["auto"]})
    _body, errors = campaign_from_form(form, ["product-update"])
    assert [name for name, _ in errors.items()] == ["name", "template", "recipients", "budget", "currency", "priority"]
