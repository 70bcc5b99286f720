"""Forwarding one request to an upstream service over the gateway's pooled HTTP client."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference371os.gateway.transport import AiohttpTransport
from reference371os.kit.auth import Caller, internal_headers

# Never copied from the client: hop-by-hop headers, what the client recomputes, the caller's credentials
# (the gateway has turned them into X-LG-* identity), and X-Forwarded-* which we set ourselves.
DROP_REQUEST_HEADERS = frozenset(
    {
        "host", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "accept-encoding", "authorization", "x-api-key",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded",
    }
)
# Never copied back: hop-by-hop headers, and what our own server sets (length, date, server).
# httpx has already decoded the body, so its content-encoding no longer applies.
DROP_RESPONSE_HEADERS = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length", "content-encoding", "date", "server",
    }
)
DROP_REQUEST_HEADERS_B = frozenset(h.encode() for h in DROP_REQUEST_HEADERS)
DROP_RESPONSE_HEADERS_B = frozenset(h.encode() for h in DROP_RESPONSE_HEADERS)
IDENTITY_PREFIX = b"x-lg-"


@dataclass(frozen=True)
class UpstreamTimeouts:
    connect_s: float = 2.0
    read_s: float = 30.0
    pool_s: float = 5.0  # waiting for a free pooled connection, connecting included

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_s, connect=self.connect_s, pool=self.pool_s)


def new_client(timeouts: UpstreamTimeouts, max_connections: int = 200) -> httpx.AsyncClient:
    """The one pooled client of the process; keep-alive connections are reused across requests."""
    return httpx.AsyncClient(
        transport=AiohttpTransport(max_connections), timeout=timeouts.httpx(), follow_redirects=False
    )


def upstream_headers(request: Request, caller: Caller | None, internal_token: str) -> list[tuple[bytes, bytes]]:
    """The client's headers minus credentials and any forged X-LG-*, plus identity for a known caller."""
    out = [
        (name, value)
        for name, value in request.scope["headers"]
        if name not in DROP_REQUEST_HEADERS_B and not name.startswith(IDENTITY_PREFIX)
    ]
    if request.client is not None:
        out.append((b"x-forwarded-for", request.client.host.encode()))
    if caller is not None:
        out.extend((k.lower().encode(), v.encode()) for k, v in internal_headers(internal_token, caller).items())
    return out


async def forward(
    client: httpx.AsyncClient,
    service: str,
    base_url: str,
    request: Request,
    caller: Caller | None,
    internal_token: str,
    log: logging.Logger,
) -> Response:
    scope = request.scope
    target = base_url + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    body = await request.body()
    try:
        reply = await client.request(
            request.method,
            target,
            content=body or None,
            headers=upstream_headers(request, caller, internal_token),
        )
    except httpx.TimeoutException as exc:
        log.warning("upstream %s timed out on %s %s: %s", service, request.method, scope["path"], type(exc).__name__)
        return error_response(504, f"upstream {service} timed out")
    except httpx.TransportError as exc:
        log.warning("upstream %s failed on %s %s: %s", service, request.method, scope["path"], type(exc).__name__)
        down = isinstance(exc, httpx.ConnectError)
        return error_response(502, f"upstream {service} {'unreachable' if down else 'failed to answer'}")
    response = Response(content=reply.content, status_code=reply.status_code)
    # Response set content-length for the body we hold; the upstream's other headers follow as sent.
    response.raw_headers.extend(
        (name.lower(), value)
        for name, value in reply.headers.raw
        if name.lower() not in DROP_RESPONSE_HEADERS_B
    )
    return response


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status, headers=headers)
