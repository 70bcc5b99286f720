"""Entry point of the dao-governance-service process: `build_app(config)` for reference371os.serve."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from reference371os.config import ServiceConfig
from reference371os.governance import chain
from reference371os.governance.chain import chain_check
from reference371os.governance.models import TABLES
from reference371os.governance.routes import PUBLIC_NAME, governance_router
from reference371os.governance.seed import seed_proposals, seed_voters
from reference371os.governance.service import Governance
from reference371os.kit.app import create_service_app
from reference371os.kit.db import Database


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=TABLES)
    db.create_all()
    gov = Governance(db, config)
    chain.configure(config, logging.getLogger("reference371os.governance.chain"))
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
