"""The social post composer and the tester feedback form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.console.forms import FieldErrors
from reference371os.console.validation import SOCIAL_PLATFORMS, feedback_from_form, post_from_form
from reference371os.console.web import Visit, Web

API_FIELD_TO_FORM = {"content": "content", "platforms": "platforms", "tester": "tester", "rating": "rating",
                     "comment": "comment", "scenario": "scenario"}


def add_social_pages(router: APIRouter, web: Web) -> None:
    async def composer(visit: Visit, errors: FieldErrors, values: dict[str, object], status: int = 200) -> Response:
        reply = await web.api(visit).get("/api/social/posts", limit=20)
        posts = list(reply.body.get("posts", [])) if reply.ok else []
        return web.page(visit, "social.html.j2", title="Social post composer", status=status, errors=errors,
                        values=values, posts=posts, platforms=SOCIAL_PLATFORMS)

    @router.get("/console/social")
    async def social(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        return await composer(visit, FieldErrors(), {"platforms": []})

    @router.post("/console/social")
    async def publish(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        body, errors = post_from_form(form)
        if not errors:
            reply = await web.api(visit).post("/api/social/posts", body)
            if reply.ok:
                return web.redirect(visit, "/console/social", notice="posted")
            if reply.status == 422:
                for item in reply.fields:
                    errors.add(API_FIELD_TO_FORM.get(item.get("field", ""), "form"), str(item.get("message")))
            elif reply.status in (502, 503):
                errors.add("form", f"Publishing failed: {reply.error}")
            else:
                return web.api_failure(visit, reply, "Publishing the post failed")
        return await composer(visit, errors, {"content": form.get("content"), "platforms": form.all("platforms")},
                              status=422)

    async def feedback_page(visit: Visit, errors: FieldErrors, values: dict[str, str], status: int = 200) -> Response:
        return web.page(visit, "feedback.html.j2", title="Send feedback", status=status, errors=errors, values=values)

    @router.get("/console/feedback")
    async def feedback(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        return await feedback_page(visit, FieldErrors(), {"tester": visit.user.email})

    @router.post("/console/feedback")
    async def send_feedback(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        body, errors = feedback_from_form(form)
        values = {k: form.get(k) for k in ("tester", "scenario", "rating", "comment")}
        if not errors:
            reply = await web.api(visit).post("/api/feedback", body)
            if reply.ok:
                return web.redirect(visit, "/console/feedback", notice="feedback-sent")
            if reply.status == 422:
                for item in reply.fields:
                    errors.add(API_FIELD_TO_FORM.get(item.get("field", ""), "form"), str(item.get("message")))
            else:
                return web.api_failure(visit, reply, "Sending the feedback failed")
        return await feedback_page(visit, errors, values, status=422)
