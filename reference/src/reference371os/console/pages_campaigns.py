"""Campaigns: the builder, the list, one campaign with its deliveries and anchors, and the approvals inbox."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.console.explorer import tx_states
from reference371os.console.forms import FieldErrors
from reference371os.console.validation import (
    APPROVAL_MODES,
    CAMPAIGN_FIELDS,
    CURRENCIES,
    PRIORITIES,
    campaign_from_form,
    map_api_fields,
)
from reference371os.console.web import Visit, Web

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
EXECUTIVE_ROLES = ("ceo", "cfo", "clo")
FINAL = ("completed", "rejected", "failed")
SHOWN = 100  # campaigns on the list page, the newest
DEFAULT_VALUES = {"priority": "medium", "currency": "USD", "approval_mode": "manual", "budget": "250"}


def add_campaign_pages(router: APIRouter, web: Web) -> None:
    async def templates(visit: Visit) -> list[dict[str, Any]]:
        reply = await web.api(visit).get("/api/email/templates")
        return list(reply.body.get("templates", [])) if reply.ok else []

    async def builder(visit: Visit, values: dict[str, Any], errors: FieldErrors, status: int = 200) -> Response:
        return web.page(
            visit, "campaign_new.html.j2", title="New email campaign", status=status, errors=errors,
            values=values, templates=await templates(visit), priorities=PRIORITIES, currencies=CURRENCIES,
            approval_modes=APPROVAL_MODES,
        )

    @router.get("/console/campaigns")
    async def campaigns(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        # The newest page of the oldest-first list: its total says where that page starts.
        reply = await web.api(visit).get("/api/email/campaigns", limit=1)
        if reply.ok:
            newest = max(0, int(reply.body.get("total") or 0) - SHOWN)
            reply = await web.api(visit).get("/api/email/campaigns", limit=SHOWN, offset=newest)
        if not reply.ok:
            return web.api_failure(visit, reply, "Listing your campaigns failed")
        rows = sorted(reply.body.get("campaigns", []), key=lambda c: str(c.get("createdAt")), reverse=True)
        return web.page(visit, "campaigns.html.j2", title="Your campaigns", campaigns=rows)

    @router.get("/console/campaigns/new")
    async def new_campaign(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        return await builder(visit, dict(DEFAULT_VALUES), FieldErrors())

    @router.post("/console/campaigns/new")
    async def create_campaign(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        known = [str(t.get("id")) for t in await templates(visit)]
        body, errors = campaign_from_form(form, known)
        values = {k: form.get(k) for k in ("name", "description", "template", "recipients", "budget", "currency",
                                           "priority", "approval_mode")}
        values["requires_dao"] = form.checked("requires_dao")
        if not errors:
            reply = await web.api(visit).post("/api/email/campaign", body)
            if reply.ok:
                campaign_id = body["campaignData"]["id"]
                return web.redirect(visit, f"/console/campaigns/{campaign_id}", notice="created")
            if reply.status == 422:
                map_api_fields(reply.fields, CAMPAIGN_FIELDS, errors)
            else:
                return web.api_failure(visit, reply, "Creating the campaign failed")
        return await builder(visit, values, errors, status=422)

    @router.get("/console/campaigns/{campaign_id}")
    async def campaign(request: Request, campaign_id: str) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        if not ID_RE.match(campaign_id):
            return web.error_page(visit, 404, "Not found", "There is no campaign with this id.")
        reply = await web.api(visit).get(f"/api/email/campaign/{campaign_id}")
        if not reply.ok:
            return web.api_failure(visit, reply, f"Campaign {campaign_id}")
        c = reply.body.get("campaign", {})
        deliveries = c.get("deliveries") or []
        chain = await tx_states(web.config.chain_rpc, [str(d.get("anchorTx")) for d in deliveries])
        return web.page(
            visit, "campaign.html.j2", title=f"Campaign: {c.get('name', campaign_id)}", c=c, deliveries=deliveries,
            final=c.get("status") in FINAL,
            delivered=sum(1 for d in deliveries if d.get("status") == "delivered"),
            anchored=sum(1 for d in deliveries if d.get("anchorTx")),
            chain=chain, confirmed=sum(1 for state in chain.values() if state.startswith("confirmed")),
        )

    # -- approvals inbox ------------------------------------------------------------------------------
    @router.get("/console/approvals")
    async def approvals(request: Request) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        return await inbox(visit, FieldErrors(), {})

    async def inbox(visit: Visit, errors: FieldErrors, reasons: dict[str, str], status: int = 200) -> Response:
        assert visit.user is not None
        role = visit.user.role
        pending: list[dict[str, Any]] = []
        decided: list[dict[str, Any]] = []
        if role in EXECUTIVE_ROLES or visit.user.is_admin:
            api = web.api(visit)
            params = {"role": role} if role in EXECUTIVE_ROLES else {}
            reply = await api.get("/api/approvals", status="pending", **params)
            if not reply.ok:
                return web.api_failure(visit, reply, "Loading your approvals failed")
            pending = list(reply.body.get("approvals", []))
            done = await api.get("/api/approvals", status="all", **params)
            if done.ok:
                decided = [a for a in done.body.get("approvals", []) if a.get("status") != "pending"][-10:][::-1]
        return web.page(visit, "approvals.html.j2", title="Approvals inbox", status=status, errors=errors,
                        role=role, pending=pending, decided=decided, reasons=reasons,
                        executive=role in EXECUTIVE_ROLES or visit.user.is_admin)

    @router.post("/console/approvals/{approval_id}/decision")
    async def decide(request: Request, approval_id: str) -> Response:
        visit = web.visit(request)
        if visit.user is None:
            return web.login_redirect(visit)
        form = await web.form(visit)
        decision, reason = form.text("decision"), form.text(f"reason-{approval_id}")
        errors = FieldErrors()
        field = f"reason-{approval_id}"
        if decision not in ("approve", "reject"):
            errors.add(field, "Choose Approve or Reject")
        if not reason:
            errors.add(field, "Give a reason for your decision: the campaign owner reads it")
        elif len(reason) > 5000:
            errors.add(field, "Keep the reason under 5,000 characters")
        if not ID_RE.match(approval_id):
            return web.error_page(visit, 404, "Not found", "There is no approval with this id.")
        if not errors:
            reply = await web.api(visit).post(f"/api/approvals/{approval_id}/decision",
                                              {"decision": decision, "reason": reason})
            if reply.ok:
                return web.redirect(visit, "/console/approvals", notice="decided")
            if reply.status in (403, 404, 409, 422):
                errors.add(field, reply.error)
            else:
                return web.api_failure(visit, reply, "Recording the decision failed")
        return await inbox(visit, errors, {approval_id: reason}, status=422)
