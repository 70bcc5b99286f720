"""`reference371os fill-history`: the past of a long-lived deployment, written straight into the reference's
databases: completed campaigns and executed proposals spread over the last 30 days, and the mail they sent.

It serves tests of what a gate run costs on a target with history (tests/test_history.py). Nothing here happened
on chain: a harness that confirms these records must find them unconfirmed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert

from reference371os.conduit.models import Campaign, summary_of
from reference371os.governance.models import Proposal
from reference371os.manager import Stack
from reference371os.sink.app import SinkMessage, SinkRecipient

SPAN = timedelta(days=30)
BATCH = 500


def fill(stack: Stack, campaigns: int, proposals: int, messages: int) -> dict[str, int]:
    """Writes the records, oldest first, each kind spread evenly over SPAN up to a minute ago."""
    tag = secrets.token_hex(4)
    end = datetime.now(UTC) - timedelta(minutes=1)

    def at(i: int, n: int) -> datetime:
        return end - SPAN + SPAN * (i / max(n, 1))

    _insert(stack, "conduit", Campaign, [_campaign(f"hist-{tag}-{i}", at(i, campaigns)) for i in range(campaigns)])
    _insert(stack, "governance", Proposal,
            [_proposal(f"PROP-HIST-{tag}-{i}", at(i, proposals)) for i in range(proposals)])
    mail = [_message(f"reader-{tag}-{i % 1000}@history.test", f"History {tag}", at(i, messages))
            for i in range(messages)]
    _insert(stack, "sink", SinkMessage, mail)
    ids = _ids(stack, tag)
    mailboxes = [{"address": m["rcpt_to"][0], "message_id": i} for m, i in zip(mail, ids, strict=True)]
    _insert(stack, "sink", SinkRecipient, mailboxes)
    return {"campaigns": campaigns, "proposals": proposals, "messages": messages}


def _insert(stack: Stack, service: str, model: Any, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(stack.database_url(service), connect_args=_connect_args(stack, service))
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(model), rows[start:start + BATCH])
    finally:
        engine.dispose()


def _ids(stack: Stack, tag: str) -> list[int]:
    """The sink's ids of the messages just written, in the order written."""
    engine = create_engine(stack.database_url("sink"), connect_args=_connect_args(stack, "sink"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(SinkMessage.__table__.select().with_only_columns(SinkMessage.id)
                                .where(SinkMessage.subject == f"History {tag}").order_by(SinkMessage.id))
            return [r[0] for r in rows]
    finally:
        engine.dispose()


def _connect_args(stack: Stack, service: str) -> dict[str, Any]:
    return {"timeout": 30} if stack.database_url(service).startswith("sqlite") else {}


def _campaign(campaign_id: str, created: datetime) -> dict[str, Any]:
    recipients = [{"email": f"{campaign_id}@history.test", "name": "Reader"}]
    return {
        "id": campaign_id, "owner_id": "history", "owner_role": "member", "name": "A past campaign",
        "description": "", "template": "product-update", "sender": "news@371os.test", "priority": "medium",
        "budget_max_cost": 10.0, "budget_currency": "USD", "requires_dao": False, "approval_mode": "auto",
        "recipients": recipients, "final_recipients": recipients, "stage": "completed", "status": "completed",
        "dao_attempts": 0, "completed_at": created, "created_at": created, "updated_at": created,
        **summary_of(recipients, None, None),
    }


def _proposal(proposal_id: str, created: datetime) -> dict[str, Any]:
    return {
        "id": proposal_id, "title": "A past proposal", "description": "Decided long ago", "type": "operational",
        "status": "executed", "proposer": "history", "execution_details": {}, "timeline": {}, "voting_config": {},
        "stakeholders": [], "impacted_agents": [], "emergency": False, "seeded": False, "created_by": "history",
        "created_at": created, "updated_at": created, "executed_at": created,
    }


def _message(to: str, subject: str, received: datetime) -> dict[str, Any]:
    return {"mail_from": "news@371os.test", "rcpt_to": [to], "subject": subject, "headers": {"To": to},
            "body": "An email of the past.", "received_at": received}
