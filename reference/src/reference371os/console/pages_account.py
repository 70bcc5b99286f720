"""Sign up, verify the email address, log in and out: the identity API behind plain forms."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.console.forms import FieldErrors
from reference371os.console.validation import EMAIL_RE, signup_from_form
from reference371os.console.web import Web, safe_next

EXECUTIVES = ("ceo", "cfo", "clo")


def add_account_pages(router: APIRouter, web: Web) -> None:
    @router.get("/console")
    @router.get("/console/")
    async def home(request: Request) -> Response:
        visit = web.visit(request)
        return web.redirect(visit, "/console/campaigns" if visit.user else "/console/login")

    @router.get("/console/signup")
    async def signup_page(request: Request) -> Response:
        visit = web.visit(request)
        return web.page(visit, "signup.html.j2", title="Create your account", values={})

    @router.post("/console/signup")
    async def signup(request: Request) -> Response:
        visit = web.visit(request)
        form = await web.form(visit)
        body, errors = signup_from_form(form)
        values = {"name": form.text("name"), "email": form.text("email")}
        if not errors:
            reply = await web.api(visit).post("/api/auth/signup", body)
            if reply.status == 409:
                errors.add("email", "An account with this email address already exists: log in instead")
            elif reply.status == 422:
                for item in reply.fields:
                    errors.add(item.get("field", "form") if item.get("field") in values else "form",
                               str(item.get("message", "invalid")))
            elif not reply.ok:
                return web.api_failure(visit, reply, "Signing up failed")
            else:
                return web.page(visit, "verify.html.j2", title="Check your email", sent_to=body["email"], token="")
        return web.page(visit, "signup.html.j2", title="Create your account", status=422, errors=errors,
                        values=values)

    @router.get("/console/verify")
    async def verify_page(request: Request) -> Response:
        # Opening the link only shows the form: a GET never changes state (mail scanners follow links).
        visit = web.visit(request)
        token = request.query_params.get("token", "")[:200]
        return web.page(visit, "verify.html.j2", title="Verify your email address", sent_to=None, token=token)

    @router.post("/console/verify")
    async def verify(request: Request) -> Response:
        visit = web.visit(request)
        form = await web.form(visit)
        token = form.text("token")
        errors = FieldErrors()
        if len(token) < 10:
            errors.add("token", "Paste the verification code from the email we sent you")
        else:
            reply = await web.api(visit).post("/api/auth/verify", {"token": token})
            if reply.ok:
                return web.redirect(visit, "/console/login", notice="verified")
            if reply.status in (400, 422):
                errors.add("token", "This verification code is invalid or has expired")
            else:
                return web.api_failure(visit, reply, "Verifying the email address failed")
        return web.page(visit, "verify.html.j2", title="Verify your email address", status=422, errors=errors,
                        sent_to=None, token=token)

    @router.get("/console/login")
    async def login_page(request: Request) -> Response:
        visit = web.visit(request)
        next_path = safe_next(request.query_params.get("next"), "")
        return web.page(visit, "login.html.j2", title="Log in", values={}, next=next_path)

    @router.post("/console/login")
    async def login(request: Request) -> Response:
        visit = web.visit(request)
        form = await web.form(visit)
        email, password = form.text("email"), form.get("password")
        errors = FieldErrors()
        if not EMAIL_RE.match(email):
            errors.add("email", "Enter the email address you signed up with")
        if not password:
            errors.add("password", "Enter your password")
        if not errors:
            reply = await web.api(visit).post("/api/auth/login", {"email": email, "password": password})
            if reply.ok and isinstance(reply.body.get("token"), str):
                role = str((reply.body.get("user") or {}).get("role", "member"))
                default = "/console/approvals" if role in EXECUTIVES else "/console/campaigns"
                response = web.redirect(visit, safe_next(form.text("next"), default))
                web.start_session(visit, response, reply.body["token"])
                return response
            if reply.status == 401:
                errors.add("password", "The email address or the password is wrong")
            elif reply.status == 403:
                errors.add("email", "This email address is not verified yet: follow the link in the email we sent")
            elif reply.status == 429:
                errors.add("form", "Too many attempts: wait a moment and try again")
            else:
                return web.api_failure(visit, reply, "Logging in failed")
        return web.page(visit, "login.html.j2", title="Log in", status=422, errors=errors,
                        values={"email": email}, next=safe_next(form.text("next"), ""))

    @router.post("/console/logout")
    async def logout(request: Request) -> Response:
        visit = web.visit(request)
        await web.form(visit)
        response = web.redirect(visit, "/console/login", notice="logged-out")
        web.end_session(response)
        return response
