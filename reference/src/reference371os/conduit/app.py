"""Entry point of the enhanced-mail-conduit process: `build_app(config)` for reference371os.serve."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from reference371os.conduit.agents import load_agents
from reference371os.conduit.anchoring import make_anchor_hook
from reference371os.conduit.api_approvals import approvals_router
from reference371os.conduit.api_campaigns import campaigns_router
from reference371os.conduit.api_catalog import catalog_router
from reference371os.conduit.mail import smtp_check
from reference371os.conduit.models import TABLES
from reference371os.conduit.seed import load_templates, seed
from reference371os.conduit.worker import CampaignWorker
from reference371os.conduit.workflow import Workflow
from reference371os.config import ServiceConfig
from reference371os.kit.app import create_service_app
from reference371os.kit.db import Database

PUBLIC_NAME = "enhanced-mail-conduit"


def chain_check(rpc_url: str, chain_id: int) -> Callable[[], None]:
    def check() -> None:
        reply = httpx.post(
            rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1.0
        )
        reply.raise_for_status()
        result = reply.json().get("result")
        if result is None or int(str(result), 16) != chain_id:
            raise RuntimeError(f"chain id {result!r}, expected {chain_id}")

    return check


def serialize_sessions(db: Database) -> None:
    """An in-memory SQLite database is a single shared connection (the state-loss fault, or no URL):
    sessions from the worker and request threads must take turns on it."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:"):
        return
    lock = threading.RLock()
    plain = db.session

    @contextmanager
    def session() -> Iterator[Session]:
        with lock, plain() as s:
            yield s

    db.session = session  # type: ignore[method-assign]


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=TABLES)
    serialize_sessions(db)
    db.create_all()
    agents = load_agents()
    templates = load_templates()
    smtp_port = config.ports.smtp
    dependencies = {
        "db": db.ping,
        "mail": lambda: smtp_check("127.0.0.1", smtp_port),
        "chain": chain_check(config.chain_rpc, config.chain_id),
    }
    app = create_service_app(config, public_name=PUBLIC_NAME, dependencies=dependencies)
    log = app.state.log
    # A release slot (launchgate stack deploy --slot): an extra conduit process on the same database. It serves
    # requests; the campaign worker stays with the original (blue) process, because it coordinates in process.
    slot = os.environ.get("LG_SLOT", "blue")
    if slot == "canary" and config.fault("canary-errors"):

        @app.middleware("http")
        async def failing_canary(request: Request, call_next):  # type: ignore[no-untyped-def]
            if request.url.path.startswith("/api/"):
                return JSONResponse({"success": False, "error": "canary-errors fault: internal error"}, 500)
            return await call_next(request)

    # The worker polls governance several times a second; one INFO line per request would drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if config.fault("no-seed"):
        log.warning("no-seed fault: templates and agent profiles are not seeded")
    else:
        added_templates, added_agents = seed(db, agents, templates)
        log.info("seeded %d template(s) and %d agent profile(s)", added_templates, added_agents)

    workflow = Workflow(db, config, agents, log)
    workflow.anchor_delivery = make_anchor_hook(config, log)
    worker = CampaignWorker(workflow)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if slot == "blue":
            worker.start()  # resumes whatever the database says is in flight
        try:
            yield
        finally:
            worker.stop()
            workflow.governance.close()

    app.router.lifespan_context = lifespan
    app.state.workflow = workflow
    app.state.worker = worker
    app.include_router(campaigns_router(workflow, worker))
    app.include_router(approvals_router(workflow, worker))
    app.include_router(catalog_router(workflow))
    return app
