"""The chain half of the flow: the target session's chain driver (launchgate/drivers/chain.py) confirms, on chain,
what the browser was shown, and writes its confirmations as `chain` evidence into the run directory, like the gate
suite's. Without a chain in the target's profile the chain step cannot run and the flow ends inconclusive, never
passed.
"""

from __future__ import annotations

import re

TX_IN_TEXT = re.compile(r"0x[0-9a-fA-F]{64}")


class ChainCheckUnavailable(Exception):
    """The chain cannot be checked here: the flow is inconclusive, not failed and not passed."""


def tx_from_href(href: str | None) -> str | None:
    """The transaction hash an explorer link points at."""
    found = TX_IN_TEXT.search(href or "")
    return found.group(0) if found else None
