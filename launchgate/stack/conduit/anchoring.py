"""Where delivered emails will be anchored on chain (issue 3). Today nothing is written: anchorTx stays null.

The workflow calls `Workflow.anchor_delivery(request)` once per delivered email, after the delivery is
committed; a returned transaction hash is stored as the delivery's anchorTx. An exception is logged and
leaves anchorTx null, so anchoring can never block or undo a delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AnchorRequest:
    email_id: str
    campaign_id: str | None
    verification_hash: str
    message_id: str


AnchorHook = Callable[[AnchorRequest], "str | None"]


def no_anchor(_request: AnchorRequest) -> str | None:
    """The default hook: no chain write yet."""
    return None
