"""The governance service's two touch points with the chain: a health probe, and the write hook.

Nothing is written on chain yet. Every proposal, vote, tally and human decision passes through
`record_on_chain` once, inside the transaction that stores it, and keeps what it returns in its
`transaction_hash` column; issue 3 makes that hook send a real transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import httpx

ChainRecordKind = Literal["proposal", "vote", "result", "decision"]
RPC_TIMEOUT_S = 1.0


def record_on_chain(kind: ChainRecordKind, record_id: str, payload: dict[str, Any]) -> str | None:
    """The single chain-write hook. Returns the transaction hash to store, or None while nothing is written."""
    del kind, record_id, payload  # issue 3: send the transaction and return its hash
    return None


def chain_check(rpc_url: str, expected_chain_id: int) -> Callable[[], None]:
    """A dependency check for /health: eth_chainId answers, and with the chain id this stack expects."""

    def check() -> None:
        response = httpx.post(
            rpc_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=RPC_TIMEOUT_S,
        )
        response.raise_for_status()
        body = response.json()
        if "result" not in body:
            raise RuntimeError(f"eth_chainId failed: {body.get('error')}")
        chain_id = int(body["result"], 16)
        if chain_id != expected_chain_id:
            raise RuntimeError(f"chain id {chain_id}, expected {expected_chain_id}")

    return check
