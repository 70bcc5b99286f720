"""The app factory every reference-stack service uses: health, metrics, config view, errors, faults."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from reference371os.config import ServiceConfig
from reference371os.faults import fault_number
from reference371os.kit.build import BUILD_ID, VERSION
from reference371os.kit.observability import LATENCY, REQUESTS, setup_logging

DependencyCheck = Callable[[], None]  # raises when the dependency is down


def utcnow() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))})
    return out


def create_service_app(
    config: ServiceConfig,
    *,
    public_name: str | None = None,
    dependencies: dict[str, DependencyCheck] | None = None,
    open_routes: bool = False,
    inject_faults: bool = True,
) -> FastAPI:
    """A FastAPI app with the behaviour every service shares. Routers are added by the caller.

    `inject_faults=False` for the gateway: the services behind it misbehave, so faults are not applied twice.
    """
    log = setup_logging(
        config.service, config.log_level, config.secrets.values(), redact=not config.fault("leak-secret")
    )
    app = FastAPI(title=public_name or config.service, version=VERSION, docs_url=None, redoc_url=None)
    app.state.config = config
    app.state.log = log
    app.state.open_routes = open_routes
    app.state.started = time.monotonic()
    deps = dict(dependencies or {})
    service_label = public_name or config.service
    leak: list[bytes] = []
    rng = random.Random(7)

    if config.fault("leak-secret"):
        log.warning("starting with jwt secret %s", config.secrets.jwt_secret)

    @app.middleware("http")
    async def observe(request: Request, call_next):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        is_api = inject_faults and request.url.path.startswith("/api/")
        status = 500
        try:
            if is_api:
                await _inject_faults(config, app, leak, rng)
            response = await call_next(request)
            status = response.status_code
            return response
        except _InjectedError:
            return JSONResponse({"success": False, "error": "injected fault: internal error"}, 500)
        finally:
            route = request.scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(service_label, request.method, label, str(status)).inc()
            LATENCY.labels(service_label, request.method, label).observe(time.perf_counter() - start)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else None
        if detail is None:
            detail = f"no route {_request.method} {_request.url.path}"
        body: dict[str, Any] = {"success": False, "error": detail}
        return JSONResponse(body, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = field_errors(exc)
        names = ", ".join(f["field"] for f in fields)
        return JSONResponse(
            {"success": False, "error": f"invalid request: {names}", "fields": fields}, status_code=422
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(_request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse({"success": False, "error": "database unavailable, retry later"}, 503)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", _request.method, _request.url.path)
        return JSONResponse({"success": False, "error": "internal error"}, 500)

    @app.get("/health")
    async def health() -> JSONResponse:
        body = await health_body(config, deps, service_label)
        return JSONResponse(body, 200 if body["status"] == "operational" else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        if config.fault("no-metrics"):
            return JSONResponse({"success": False, "error": "no route GET /metrics"}, 404)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/config")
    async def config_view() -> dict[str, Any]:
        return config_body(config, service_label)

    return app


async def health_body(config: ServiceConfig, deps: dict[str, DependencyCheck], service: str) -> dict[str, Any]:
    results: dict[str, dict[str, str]] = {}
    for name, check in deps.items():
        if config.fault("lying-health"):
            results[name] = {"status": "up"}
            continue
        try:
            await asyncio.wait_for(asyncio.to_thread(check), timeout=2.0)
            results[name] = {"status": "up"}
        except Exception as exc:  # a health check reports every failure, whatever its type
            results[name] = {"status": "down", "error": _short_error(exc)}
    ok = all(r["status"] == "up" for r in results.values())
    return {
        "success": ok,
        "service": service,
        "status": "operational" if ok else "degraded",
        "timestamp": utcnow(),
        "version": VERSION,
        "build": BUILD_ID,
        "dependencies": results,
    }


def config_body(config: ServiceConfig, service: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": True,
        "service": service,
        "node_env": config.node_env,
        "chain_id": config.chain_id,
        "key_mode": "sandbox" if config.fault("prod-sandbox-keys") else config.key_mode,
        "database_kind": config.database_kind,
        "log_level": config.log_level,
        "version": VERSION,
        "build": BUILD_ID,
    }
    if config.fault("prod-testnet"):
        body["key_mode"] = "live"
    if config.fault("leak-secret"):
        body["jwt_secret"] = config.secrets.jwt_secret
    return body


def _short_error(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


class _InjectedError(Exception):
    pass


async def _inject_faults(config: ServiceConfig, app: FastAPI, leak: list[bytes], rng: random.Random) -> None:
    if config.fault("memory-leak"):
        leak.append(bytearray(int(fault_number("leak_kb", 256) * 1024)))
    if config.fault("latency-drift"):
        minutes = (time.monotonic() - app.state.started) / 60
        await asyncio.sleep(fault_number("drift_ms", 20) * minutes / 1000)
    if config.fault("error-rate") and rng.random() < fault_number("error_rate", 0.05):
        raise _InjectedError


