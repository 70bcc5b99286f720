"""The platform process: identity, social posting and tester feedback behind one FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from reference371os.config import ServiceConfig
from reference371os.kit.app import create_service_app
from reference371os.kit.db import Database
from reference371os.platform.crypto import KeyVault
from reference371os.platform.feedback import build_feedback_router
from reference371os.platform.identity import build_identity_router, seed_staff
from reference371os.platform.mailer import Mailer
from reference371os.platform.models import TABLES
from reference371os.platform.postiz_client import PostizClient
from reference371os.platform.social import build_social_router

OUTBOX_RETRY_S = 2.0
log = logging.getLogger("reference371os.platform")


def build_app(config: ServiceConfig) -> FastAPI:
    db = Database(config, tables=TABLES)
    db.create_all()
    # Staff accounts are identity, not business seed data: they are created even under the no-seed fault.
    seed_staff(db, config)
    mailer = Mailer(db, config.ports.smtp)
    postiz = PostizClient(config.ports.url("postiz"))
    vault = KeyVault(config.secrets.fernet_key, plaintext=config.fault("plaintext-keys"))

    app = create_service_app(
        config,
        dependencies={"db": db.ping, "mail": mailer.check, "postiz": postiz.health},
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        retry = asyncio.create_task(_retry_outbox(mailer))
        try:
            yield
        finally:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
            postiz.close()

    app.router.lifespan_context = lifespan
    app.include_router(build_identity_router(config, db, mailer))
    app.include_router(build_social_router(config, db, vault, postiz))
    app.include_router(build_feedback_router(db))
    return app


async def _retry_outbox(mailer: Mailer) -> None:
    """Sends mail the request path could not, e.g. while the SMTP server was down."""
    while True:
        await asyncio.sleep(OUTBOX_RETRY_S)
        try:
            await asyncio.to_thread(mailer.drain)
        except Exception as exc:  # keep retrying whatever went wrong (the database may be down too)
            log.warning("outbox retry failed: %s", type(exc).__name__)
