"""A minimal block explorer page for the reference stack's anvil: one transaction and its receipt, read by
JSON-RPC, so transaction links in the console (and the report) lead somewhere a person can read."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from reference371os.console.web import TX_HASH, Web

RPC_TIMEOUT_S = 3.0


class RpcError(Exception):
    pass


async def rpc(url: str, method: str, params: list[Any]) -> Any:
    try:
        async with httpx.AsyncClient(timeout=RPC_TIMEOUT_S) as client:
            reply = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        body = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RpcError(f"the chain node at {url} did not answer {method} ({type(exc).__name__})") from exc
    if not isinstance(body, dict) or "error" in body:
        raise RpcError(f"{method} failed: {body.get('error') if isinstance(body, dict) else body!r}"[:300])
    return body.get("result")


async def tx_states(url: str, txs: list[str]) -> dict[str, str]:
    """What the chain says of each transaction, in words ("confirmed in block 16"), in one batch request.
    A page that links transactions shows this beside them; an unreadable chain leaves it empty."""
    wanted = sorted({t for t in txs if isinstance(t, str) and TX_HASH.match(t)})
    if not wanted:
        return {}
    calls = [{"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []}]
    calls += [{"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [t]}
              for i, t in enumerate(wanted, 1)]
    try:
        async with httpx.AsyncClient(timeout=RPC_TIMEOUT_S) as client:
            replies = (await client.post(url, json=calls)).json()
        by_id = {r.get("id"): r.get("result") for r in replies if isinstance(r, dict)}
    except (httpx.HTTPError, ValueError, AttributeError):
        return {}
    head = _int(by_id.get(0))
    states: dict[str, str] = {}
    for i, tx in enumerate(wanted, 1):
        receipt = by_id.get(i)
        if not isinstance(receipt, dict):
            states[tx] = "not found on chain"
            continue
        block = _int(receipt.get("blockNumber"))
        if _int(receipt.get("status")) != 1:
            states[tx] = f"failed in block {block}"
        elif head is not None and block is not None:
            count = head - block + 1
            states[tx] = f"confirmed in block {block} ({count} confirmation{'' if count == 1 else 's'})"
        else:
            states[tx] = "confirmed"
    return states


def _int(value: Any) -> int | None:
    try:
        return int(str(value), 16)
    except (TypeError, ValueError):
        return None


def add_explorer(router: APIRouter, web: Web) -> None:
    @router.get("/explorer/tx/{tx}")
    async def transaction(request: Request, tx: str) -> Response:
        visit = web.visit(request)
        if not TX_HASH.match(tx):
            return web.error_page(visit, 400, "Not a transaction hash",
                                  "A transaction hash is 0x followed by 64 hexadecimal digits.")
        url = web.config.chain_rpc
        try:
            chain_id = _int(await rpc(url, "eth_chainId", []))
            found = await rpc(url, "eth_getTransactionByHash", [tx])
            receipt = await rpc(url, "eth_getTransactionReceipt", [tx]) if found else None
            head = _int(await rpc(url, "eth_blockNumber", []))
        except RpcError as exc:
            return web.error_page(visit, 502, "The chain cannot be read", str(exc))
        if not found:
            return web.page(visit, "explorer_tx.html.j2", title="Transaction not found", status=404, tx=tx,
                            found=None, receipt=None, chain_id=chain_id, confirmations=None, state="not found")
        block = _int((receipt or {}).get("blockNumber"))
        state = "pending" if receipt is None else "success" if _int(receipt.get("status")) == 1 else "failed"
        confirmations = head - block + 1 if head is not None and block is not None else None
        return web.page(
            visit, "explorer_tx.html.j2", title=f"Transaction {tx[:10]}…", tx=tx, found=found, receipt=receipt,
            chain_id=chain_id, block=block, state=state, confirmations=confirmations,
            logs=(receipt or {}).get("logs") or [],
        )
