"""Anchoring delivered emails on chain: one EmailVerificationRegistry.anchor transaction per email.

The workflow calls `Workflow.anchor_delivery(request)` once per delivered email, after the delivery is
committed; the returned transaction hash is stored as the delivery's anchorTx. An exception is logged and
leaves anchorTx null, so anchoring can never block or undo a delivery.

The hash anchored is the email's 371OS verification hash (launchgate/stack/kit/hashing.py), the one its X-371OS headers
let any holder of the email recompute. The `skip-anchor` fault returns a plausible transaction hash and
writes nothing: the lie the harness's chain driver must catch.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import keccak

from launchgate.contracts import REGISTRY, load_artifact
from launchgate.stack.config import ServiceConfig
from launchgate.stack.kit.chain import Abi, ChainWriter, Reverted, derive_service_key

SERVICE = "conduit"
RPC_TIMEOUT_S = 2.0
RECEIPT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class AnchorRequest:
    email_id: str
    campaign_id: str | None
    verification_hash: str
    message_id: str


AnchorHook = Callable[[AnchorRequest], "str | None"]


def no_anchor(_request: AnchorRequest) -> str | None:
    """No chain to write to (no registry address configured): anchorTx stays null."""
    return None


def fake_anchor(_request: AnchorRequest) -> str | None:
    """The skip-anchor fault: a well-formed transaction hash that no chain has ever seen."""
    return "0x" + secrets.token_hex(32)


class ChainAnchor:
    """The real hook: anchors the hash with the conduit's own key and returns the mined transaction's hash."""

    def __init__(self, config: ServiceConfig, registry: str) -> None:
        self.registry = registry
        self.abi = Abi(load_artifact(REGISTRY).abi)
        key = derive_service_key(config.secrets.chain_private_key, SERVICE)
        self.writer = ChainWriter(
            config.chain_rpc, config.chain_id, key, timeout=RPC_TIMEOUT_S, receipt_timeout=RECEIPT_TIMEOUT_S
        )
        self._event_topic = "0x" + keccak(text="EmailAnchored(bytes32,bytes32,address,string,string)").hex()

    def __call__(self, request: AnchorRequest) -> str | None:
        email_hash = bytes.fromhex(request.verification_hash.removeprefix("0x"))
        data = self.abi.encode_call("anchor", email_hash, request.campaign_id or "", request.email_id)
        try:
            receipt = self.writer.transact(self.registry, data, what=f"anchor of email {request.email_id}")
        except Reverted as exc:
            # A resend after a crash carries the same hash: the first anchor stands, and is the answer.
            if "already anchored" in exc.reason:
                earlier = self.anchored_in(request.verification_hash)
                if earlier:
                    return earlier
            raise
        return str(receipt["transactionHash"])

    def anchored_in(self, verification_hash: str) -> str | None:
        """The transaction that anchored this hash, from the registry's EmailAnchored log."""
        logs = self.writer.rpc.call(
            "eth_getLogs",
            {
                "address": self.registry,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": [self._event_topic, "0x" + verification_hash.removeprefix("0x")],
            },
        )
        return str(logs[0]["transactionHash"]) if logs else None


def make_anchor_hook(config: ServiceConfig, log: logging.Logger) -> AnchorHook:
    if config.fault("skip-anchor"):
        log.warning("skip-anchor fault: deliveries get a made-up anchorTx and nothing is written on chain")
        return fake_anchor
    registry = config.contracts.get(REGISTRY)
    if not registry:
        log.warning("no EMAIL_VERIFICATION_CONTRACT: delivered emails are not anchored on chain")
        return no_anchor
    return ChainAnchor(config, registry)
