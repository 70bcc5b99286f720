"""The gateway service: one public port in front of conduit, governance and platform.

Per request: refuse unroutable paths, authenticate (JWT locally, API keys via platform), rate
limit per identity, then forward with the caller's identity in X-LG-* headers the client cannot forge.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from reference371os.config import ServiceConfig
from reference371os.console import console_router
from reference371os.gateway.identity import (
    Authenticator,
    AuthError,
    AuthUnavailableError,
    platform_key_verifier,
)
from reference371os.gateway.proxy import UpstreamTimeouts, error_response, forward, new_client
from reference371os.gateway.ratelimit import RateLimiter, retry_after_header
from reference371os.gateway.routing import METHODS, ROUTES, UPSTREAMS, RouteEntry, is_forwardable
from reference371os.gateway.upstreams import SLOT_HEADER, initial_tables, upstreams_router
from reference371os.kit.app import DependencyCheck, create_service_app

UPSTREAM_TIMEOUT_ENV = "LG_GATEWAY_UPSTREAM_TIMEOUT_S"
HEALTH_PROBE_TIMEOUT_S = 1.5


class _ClientHolder:
    """The pooled client lives from lifespan start to shutdown; handlers reach it through here."""

    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        self._client = self._factory()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("gateway HTTP client used outside the app lifespan")
        return self._client


class ProxyRoute(Route):
    """A plain Starlette route: nothing to validate, so FastAPI's per-request work is skipped (measured
    at about a fifth of the gateway's CPU per call). FastAPI records only its own routes in
    scope["route"], where the kit's metrics read the route label; this one records itself."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


def upstream_answers(probe: httpx.Client, url: str) -> DependencyCheck:
    """Up when the upstream's /health answers at all: its own health says why it is degraded."""

    def check() -> None:
        probe.get(url + "/health")

    return check


def build_app(config: ServiceConfig) -> FastAPI:
    timeouts = UpstreamTimeouts(read_s=float(os.environ.get(UPSTREAM_TIMEOUT_ENV, "30")))
    urls = {name: config.ports.url(name) for name in UPSTREAMS}
    # The kit runs health checks in worker threads, hence a sync client, shared and thread safe.
    probe = httpx.Client(timeout=HEALTH_PROBE_TIMEOUT_S)
    app = create_service_app(
        config,
        dependencies={name: upstream_answers(probe, url) for name, url in urls.items()},
        inject_faults=False,
    )
    client = _ClientHolder(lambda: new_client(timeouts))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        client.open()
        try:
            yield
        finally:
            await client.close()
            probe.close()

    app.router.lifespan_context = lifespan
    secrets = config.secrets
    auth = Authenticator(
        secrets.jwt_secret, platform_key_verifier(client, urls["platform"], secrets.internal_token)
    )
    limiter = RateLimiter(config.rate_limit_rps, config.rate_limit_burst)
    # Release slots (blue-green, canary) of the services that have them; switched through /internal/upstreams.
    slot_tables = initial_tables(urls, config.state_dir, drop_on_switch=config.fault("blue-green-drop"))
    log = app.state.log
    if config.log_level != "DEBUG":
        # httpx logs every request at INFO: one line per proxied call is noise and costs throughput.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def proxy_endpoint(entry: RouteEntry) -> Callable[[Request], Awaitable[Response]]:
        base_url = urls[entry.service]

        async def proxy(request: Request) -> Response:
            raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
            if not is_forwardable(raw_path):
                return error_response(404, f"no route {request.method} {request.url.path}")
            client_ip = request.client.host if request.client else "unknown"
            try:
                caller = await auth.authenticate(request.headers)
            except AuthError as exc:
                # Failed attempts spend the address's tokens too, so guessing keys gets throttled.
                wait = limiter.acquire(f"ip:{client_ip}")
                if wait:
                    return _too_many(wait)
                return error_response(401, str(exc), {"WWW-Authenticate": 'Bearer realm="launchgate"'})
            except AuthUnavailableError as exc:
                if exc.timed_out:
                    return error_response(504, "upstream platform timed out verifying the API key")
                return error_response(502, "upstream platform unreachable: cannot verify the API key")
            wait = limiter.acquire(f"user:{caller.user_id}" if caller else f"ip:{client_ip}")
            if wait:
                return _too_many(wait)
            table = slot_tables.get(entry.service)
            if table is None:
                return await forward(client(), entry.service, base_url, request, caller, secrets.internal_token, log)
            picked = table.pick()
            if picked is None:
                return error_response(503, f"upstream {entry.service} is switching slots, retry later")
            slot, slot_url = picked
            with table.serving(slot):
                response = await forward(
                    client(), entry.service, slot_url, request, caller, secrets.internal_token, log
                )
            response.headers[SLOT_HEADER] = slot
            return response

        return proxy

    # The reference console (/console) and its explorer page (/explorer): they call the API through this gateway.
    app.include_router(console_router(config, log))
    app.include_router(upstreams_router(slot_tables, secrets.internal_token))
    for entry in ROUTES:
        endpoint = proxy_endpoint(entry)
        # Two templates per prefix: the metrics route label stays one per prefix, whatever the path.
        for template in (entry.prefix, entry.prefix + "/{rest:path}"):
            app.router.routes.append(ProxyRoute(template, endpoint, methods=METHODS))
    return app


def _too_many(wait_s: float) -> Response:
    return error_response(
        429, "rate limit exceeded, retry later", {"Retry-After": retry_after_header(wait_s)}
    )
