"""Entry point of the dao-governance-service process: `build_app(config)` for launchgate.stack.serve."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from launchgate.stack.config import ServiceConfig
from launchgate.stack.governance import chain
from launchgate.stack.governance.chain import chain_check
from launchgate.stack.governance.models import TABLES
from launchgate.stack.governance.routes import PUBLIC_NAME, governance_router
from launchgate.stack.governance.seed import seed_proposals, seed_voters
from launchgate.stack.governance.service import Governance
from launchgate.stack.kit.app import create_service_app
from launchgate.stack.kit.db import Database


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=TABLES)
    db.create_all()
    gov = Governance(db, config)
    chain.configure(config, logging.getLogger("launchgate.governance.chain"))
    dependencies = {"db": db.ping, "chain": chain_check(config.chain_rpc, config.chain_id)}
    app = create_service_app(
        config, public_name=PUBLIC_NAME, dependencies=dependencies, open_routes=config.fault("open-route")
    )
    # The registry is governance configuration, not sample data: without it no vote can count, so
    # `no-seed` (which removes the initial data) leaves it in place and skips the proposals only.
    voters = seed_voters(gov)
    proposals = 0 if config.fault("no-seed") else seed_proposals(gov)
    if config.log_level != "DEBUG":
        # httpx logs every chain health probe at INFO: noise, one line per /health.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    app.state.log.info("seeded %d voters and %d proposals", voters, proposals)
    app.include_router(governance_router(gov, dependencies))
    return app
