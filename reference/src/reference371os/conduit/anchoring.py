"""Anchoring delivered emails on chain: EmailVerificationRegistry.anchorMany, one transaction per batch of emails.

The campaign worker holds the emails it delivers for up to ANCHOR_WINDOW_S (PendingAnchors) and anchors them
together (`Workflow.flush_anchors`): one transaction and one block for many emails, where one each made 1,000
blocks of a gate run's 1,000 onboarded users and their first campaigns. (What kept a long-lived chain's writes
growing was the state each anchor held: the registry now keeps one storage slot per email.) A single email sent
through the API is a batch of one. The returned transaction hash is stored as each delivery's anchorTx. An
exception is logged and leaves anchorTx null, so anchoring can never block or undo a delivery.

The hash anchored is the email's 371OS verification hash (reference371os/kit/hashing.py), the one its X-371OS headers
let any holder of the email recompute. The `skip-anchor` fault returns plausible transaction hashes and
writes nothing: the lie the harness's chain driver must catch.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_utils import keccak

from reference371os.config import ServiceConfig
from reference371os.contracts import REGISTRY, load_artifact
from reference371os.kit.chain import Abi, ChainWriter, derive_service_key

SERVICE = "conduit"
RPC_TIMEOUT_S = 2.0
RECEIPT_TIMEOUT_S = 5.0
MAX_BATCH = 50  # emails per transaction: about 9 M gas, under the registry's MAX_BATCH and a block's 30 M
# How long a delivered email may wait for others to share its transaction; its campaign completes after that, so
# each campaign a scenario waits for can take this much longer (with 1 s a gate run took 117 s, with 0.25 s 115 s).
ANCHOR_WINDOW_S = 0.25


@dataclass(frozen=True)
class AnchorRequest:
    email_id: str
    campaign_id: str | None
    verification_hash: str
    message_id: str


class PendingAnchors:
    """Delivered emails not yet anchored. Due when the oldest has waited ANCHOR_WINDOW_S or MAX_BATCH are waiting."""

    def __init__(self, window: float = ANCHOR_WINDOW_S) -> None:
        self.window = window
        self._requests: list[AnchorRequest] = []
        self._since = 0.0  # monotonic time the oldest was added

    def add(self, request: AnchorRequest) -> None:
        if not self._requests:
            self._since = time.monotonic()
        self._requests.append(request)

    def holds(self, campaign_id: str) -> bool:
        return any(r.campaign_id == campaign_id for r in self._requests)

    def due_in(self) -> float | None:
        """Seconds until a flush is due (0: now); None with nothing pending."""
        if not self._requests:
            return None
        if len(self._requests) >= MAX_BATCH:
            return 0.0
        return max(0.0, self._since + self.window - time.monotonic())

    def take(self, force: bool = False) -> list[AnchorRequest]:
        """The pending requests if a flush is due (or forced), which are then no longer pending; else []."""
        if not force and self.due_in() != 0.0:
            return []
        requests, self._requests = self._requests, []
        return requests


# Anchors a batch; answers the anchoring transaction of each email id it anchored (an email left out: not anchored).
AnchorHook = Callable[[Sequence[AnchorRequest]], dict[str, str]]


def no_anchor(_requests: Sequence[AnchorRequest]) -> dict[str, str]:
    """No chain to write to (no registry address configured): anchorTx stays null."""
    return {}


def fake_anchor(requests: Sequence[AnchorRequest]) -> dict[str, str]:
    """The skip-anchor fault: well-formed transaction hashes that no chain has ever seen."""
    return {r.email_id: "0x" + secrets.token_hex(32) for r in requests}


class ChainAnchor:
    """The real hook: anchors the hashes with the conduit's own key, MAX_BATCH per transaction."""

    def __init__(self, config: ServiceConfig, registry: str) -> None:
        self.registry = registry
        self.abi = Abi(load_artifact(REGISTRY).abi)
        key = derive_service_key(config.secrets.chain_private_key, SERVICE)
        self.writer = ChainWriter(
            config.chain_rpc, config.chain_id, key, timeout=RPC_TIMEOUT_S, receipt_timeout=RECEIPT_TIMEOUT_S
        )
        self._event_topic = "0x" + keccak(text="EmailAnchored(bytes32,bytes32,address,string,string)").hex()

    def __call__(self, requests: Sequence[AnchorRequest]) -> dict[str, str]:
        anchored: dict[str, str] = {}
        for start in range(0, len(requests), MAX_BATCH):
            anchored.update(self._anchor_batch(requests[start : start + MAX_BATCH]))
        return anchored

    def _anchor_batch(self, batch: Sequence[AnchorRequest]) -> dict[str, str]:
        entries = [(_hash_bytes(r.verification_hash), r.campaign_id or "", r.email_id) for r in batch]
        data = self.abi.encode_call("anchorMany", entries)
        receipt = self.writer.transact(self.registry, data, what=f"anchor of {len(batch)} email(s)")
        tx = str(receipt["transactionHash"])
        logged = {
            entry["topics"][1].lower()
            for entry in receipt.get("logs", [])
            if entry["topics"] and entry["topics"][0].lower() == self._event_topic
        }
        anchored: dict[str, str] = {}
        for r in batch:
            topic = "0x" + _hash_bytes(r.verification_hash).hex()
            # Not logged here: anchored before (a resend after a crash carries the same hash); the first anchor
            # stands, and is the answer.
            earlier = tx if topic in logged else self.anchored_in(r.verification_hash)
            if earlier:
                anchored[r.email_id] = earlier
        return anchored

    def anchored_in(self, verification_hash: str) -> str | None:
        """The transaction that anchored this hash: the registry names its block, whose EmailAnchored log names it."""
        key = _hash_bytes(verification_hash)
        state = self.writer.call(self.registry, self.abi.encode_call("anchorOf", key))
        ((block, _timestamp, _anchorer),) = self.abi.decode_result("anchorOf", state)
        if not block:
            return None
        logs = self.writer.rpc.call(
            "eth_getLogs",
            {
                "address": self.registry,
                "fromBlock": hex(block),
                "toBlock": hex(block),
                "topics": [self._event_topic, "0x" + key.hex()],
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


def _hash_bytes(verification_hash: str) -> bytes:
    return bytes.fromhex(verification_hash.removeprefix("0x"))
