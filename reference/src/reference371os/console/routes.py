"""Assembles the console's pages, its stylesheet and the explorer into one router the gateway includes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.config import ServiceConfig
from reference371os.console.explorer import add_explorer
from reference371os.console.forms import FAVICON, stylesheet
from reference371os.console.pages_account import add_account_pages
from reference371os.console.pages_campaigns import add_campaign_pages
from reference371os.console.pages_dao import add_dao_pages
from reference371os.console.pages_social import add_social_pages
from reference371os.console.web import Web, console_route_class


def console_router(config: ServiceConfig, log: logging.Logger | None = None) -> APIRouter:
    web = Web(config, log or logging.getLogger("reference371os.console"))
    router = APIRouter(route_class=console_route_class(web), include_in_schema=False)
    static = {"console.css": (stylesheet(), "text/css"), "favicon.svg": (FAVICON.read_bytes(), "image/svg+xml")}

    @router.get("/console/static/{name}")
    async def static_file(request: Request, name: str) -> Response:
        if name not in static:
            return web.error_page(web.visit(request), 404, "Page not found", "There is no such file.")
        body, kind = static[name]
        return Response(body, media_type=kind, headers={"Cache-Control": "max-age=300"})

    add_account_pages(router, web)
    add_campaign_pages(router, web)
    add_dao_pages(router, web)
    add_social_pages(router, web)
    add_explorer(router, web)

    @router.get("/console/{rest:path}")
    async def not_found(request: Request, rest: str) -> Response:
        return web.error_page(web.visit(request), 404, "Page not found",
                              "There is no console page at this address.")

    return router
