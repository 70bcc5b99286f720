"""The chain half of the flow: launchgate/drivers/chain.py confirms, on chain, what the browser was shown.

Its confirmations are written as `chain` evidence into the run directory, like the gate suite's. Without
that driver, or a chain in the target's profile, the chain step cannot run and the flow ends inconclusive,
never passed.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from launchgate.evidence import EvidenceWriter
from launchgate.targets import Target

CHAIN_MODULE = "launchgate.drivers.chain"
TX_IN_TEXT = re.compile(r"0x[0-9a-fA-F]{64}")


class ChainCheckUnavailable(Exception):
    """The chain cannot be checked here: the flow is inconclusive, not failed and not passed."""


def chain_driver(target: Target, run_dir: Path, stack_state_dir: Path | None) -> Any:
    """The target's chain driver, connected (node answers, chain id as declared); writes `chain` evidence."""
    try:
        chain = importlib.import_module(CHAIN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != CHAIN_MODULE:
            raise  # the driver exists but something it imports is missing: a real error
        raise ChainCheckUnavailable(f"{CHAIN_MODULE} is not there: the chain checks cannot run") from exc
    if target.chain is None:
        raise ChainCheckUnavailable(f"target {target.name} names no chain in its profile")
    contracts = chain.target_contracts(target, str(stack_state_dir) if stack_state_dir else None)
    driver = chain.ChainDriver(
        target.chain, contracts, target=target.name, key=chain.key_for(target.chain),
        evidence=EvidenceWriter(run_dir, "chain-e2e"),
    )
    driver.connect()
    return driver


def tx_from_href(href: str | None) -> str | None:
    """The transaction hash an explorer link points at."""
    found = TX_IN_TEXT.search(href or "")
    return found.group(0) if found else None
