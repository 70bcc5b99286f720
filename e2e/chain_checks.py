"""The chain half of the flow, behind the interface the chain driver offers.

`launchgate/drivers/chain.py` (issue 3, landing separately) provides `ChainDriver(target)` with
`verify_campaign(campaign, sink_messages)` and `verify_proposal_tally(proposal_id, api_results)`. Until that
file exists the chain step cannot run, and the flow ends inconclusive, never passed.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from launchgate.targets import Target

CHAIN_MODULE = "launchgate.drivers.chain"
TX_IN_TEXT = re.compile(r"0x[0-9a-fA-F]{64}")


class ChainCheckUnavailable(Exception):
    """The chain driver is not there (yet): the flow cannot verify on chain, so it is inconclusive."""


def chain_driver(target: Target) -> Any:
    try:
        module = importlib.import_module(CHAIN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != CHAIN_MODULE:
            raise  # the driver exists but something it imports is missing: a real error
        raise ChainCheckUnavailable(f"{CHAIN_MODULE} is not there yet: the chain checks cannot run") from exc
    if target.chain is None:
        raise ChainCheckUnavailable(f"target {target.name} names no chain")
    return module.ChainDriver(target)


def tx_from_href(href: str | None) -> str | None:
    """The transaction hash an explorer link points at."""
    found = TX_IN_TEXT.search(href or "")
    return found.group(0) if found else None
