"""An httpx transport on aiohttp's connection pool.

The gateway talks httpx (one AsyncClient, httpx errors and timeouts), but httpcore's pool does
per-request bookkeeping that grows with the square of open connections; measured through this
gateway with 50 concurrent clients on 2 cores, aiohttp underneath roughly doubles throughput.
"""

from __future__ import annotations

import aiohttp
import httpx

# aiohttp would otherwise add its own User-Agent and an application/octet-stream Content-Type.
_SKIP_AUTO_HEADERS = ("Content-Type", "User-Agent")


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, keepalive_s: float = 30.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop that aiohttp binds it to.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=self._keepalive_s
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes, as it would for its own transport
                cookie_jar=aiohttp.DummyCookieJar(),  # a shared jar would hand one user's cookies to the next
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, connect=limits.get("pool"), sock_connect=limits.get("connect"), sock_read=limits.get("read")
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body = await request.aread()
        try:
            async with self._open().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as reply:
                content = await reply.read()
                status, raw_headers = reply.status, list(reply.raw_headers)
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(_why(exc), request=request) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
            raise httpx.ReadTimeout(_why(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(_why(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(_why(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(_why(exc), request=request) from exc
        return httpx.Response(status, headers=raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
