"""The governance service's two touch points with the chain: a health probe, and the write hook.

Every proposal, vote, tally and human decision passes through `record_on_chain` once, inside the transaction
that stores it, and keeps what it returns in its `transaction_hash` column. The hook sends one transaction to
the DaoGovernance contract with the service's own key and waits for its receipt; the contract computes the
tally and the outcome itself from the votes it holds, so the chain can contradict the service.

A chain that refuses (a revert) or cannot be reached leaves transaction_hash null and logs why: the API
answer stands, and the harness's chain driver reports the missing record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import httpx

from reference371os.config import ServiceConfig
from reference371os.contracts import DAO, VOTE_OPTION_CODES, load_artifact
from reference371os.kit.chain import Abi, ChainWriteError, ChainWriter, Reverted, derive_service_key

ChainRecordKind = Literal["proposal", "vote", "result", "decision"]
RPC_TIMEOUT_S = 1.0
WRITE_TIMEOUT_S = 2.0
RECEIPT_TIMEOUT_S = 5.0
SERVICE = "governance"


class DaoRecorder:
    def __init__(self, config: ServiceConfig, address: str, log: logging.Logger) -> None:
        self.address = address
        self.log = log
        self.abi = Abi(load_artifact(DAO).abi)
        key = derive_service_key(config.secrets.chain_private_key, SERVICE)
        self.writer = ChainWriter(
            config.chain_rpc, config.chain_id, key, timeout=WRITE_TIMEOUT_S, receipt_timeout=RECEIPT_TIMEOUT_S
        )

    def call_for(self, kind: ChainRecordKind, record_id: str, payload: dict[str, Any]) -> str:
        """The calldata of the contract call that records this row."""
        if kind == "proposal":
            config = payload.get("voting_config") or {}
            return self.abi.encode_call(
                "recordProposal",
                record_id,
                _bps(config.get("quorum_percentage", 100)),
                _bps(config.get("approval_threshold_percentage", 100)),
                bool(payload.get("emergency", False)),
            )
        if kind == "vote":
            proposal_id, voter = record_id.rsplit(":", 1)
            option = VOTE_OPTION_CODES[str(payload["option"])]
            return self.abi.encode_call("castVote", proposal_id, voter, option, int(payload["power"]))
        if kind == "result":
            return self.abi.encode_call("closeVoting", record_id, int(payload["total_power"]))
        return self.abi.encode_call("recordDecision", record_id, payload["decision"] == "approved")

    def record(self, kind: ChainRecordKind, record_id: str, payload: dict[str, Any]) -> str | None:
        try:
            data = self.call_for(kind, record_id, payload)
            receipt = self.writer.transact(self.address, data, what=f"{kind} {record_id}")
        except Reverted as exc:
            self.log.error("the DAO contract refused %s %s: %s", kind, record_id, exc.reason or exc)
            return None
        except (ChainWriteError, KeyError, ValueError) as exc:
            self.log.error("recording %s %s on chain failed: %s", kind, record_id, exc)
            return None
        return str(receipt["transactionHash"])


def _bps(percentage: Any) -> int:
    return round(float(percentage) * 100)


_recorder: DaoRecorder | None = None


def configure(config: ServiceConfig, log: logging.Logger) -> None:
    """Called once by the app, before seeding: from then on every record goes to the DAO contract."""
    global _recorder
    address = config.contracts.get(DAO)
    if not address:
        log.warning("no EMAIL_DAO_CONTRACT_ADDRESS: proposals, votes and results are not recorded on chain")
        _recorder = None
        return
    _recorder = DaoRecorder(config, address, log)


def record_on_chain(kind: ChainRecordKind, record_id: str, payload: dict[str, Any]) -> str | None:
    """The single chain-write hook. Returns the transaction hash to store, or None when nothing was written."""
    return _recorder.record(kind, record_id, payload) if _recorder is not None else None


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
