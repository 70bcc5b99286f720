"""The chain driver: web3.py over JSON-RPC, trusting only the chain.

It confirms what a 371OS target claims to have written: for every delivered email it recomputes the
verification hash from the mailbox's copy (never from the API), finds that hash anchored in the
EmailVerificationRegistry, waits for the anchoring transaction's receipt (status 1, N confirmations from the
profile) and checks that the API's anchorTx is that transaction. For a DAO proposal it reads the tally and the
outcome the DaoGovernance contract computed from its own votes, and checks the API's against them.
Each confirmation becomes one `chain` evidence record with its transaction hash and explorer link.

Safety, before anything is written:
- chain id 1 (Ethereum mainnet) is refused unless the profile says `allow_mainnet_writes = true` AND the
  operator sets LAUNCHGATE_ALLOW_MAINNET_WRITES=1 (the CLI's --allow-mainnet-writes sets it);
- the ids of shut-down testnets (Ropsten 3, Rinkeby 4, Goerli 5, Kovan 42) are refused with a pointer to the
  live ones; a node whose chain id differs from the profile's is refused;
- private keys live in `ChainKey`, whose repr shows the address only; no message ever carries a key.

`launchgate chain check --target T` runs the read-only checks from the command line (exit 2 on bad input).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from launchgate.contracts import DAO, PROPOSAL_STATUS, REGISTRY, VOTE_OPTION_CODES, load_abi
from launchgate.drivers.errors import DriverError
from launchgate.drivers.mail import recompute_hash
from launchgate.drivers.verification import HEADER_CAMPAIGN, HEADER_EMAIL_ID
from launchgate.evidence import Evidence, EvidenceWriter, now_iso
from launchgate.targets import Chain

MAINNET = 1
DEAD_TESTNETS = {3: "Ropsten", 4: "Rinkeby", 5: "Goerli", 42: "Kovan"}
LIVE_TESTNETS = "Sepolia (11155111), Holesky (17000) or Hoodi (560048)"
MAINNET_OVERRIDE_ENV = "LAUNCHGATE_ALLOW_MAINNET_WRITES"
DEFAULT_TIMEOUT_S = 30.0
POLL_S = 0.005
MAX_POLL_S = 1.0
OPTIONS = ("for", "against", "abstain", "veto")
TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


@functools.cache
def _eth() -> SimpleNamespace:
    """web3 and the eth-* libraries, imported on first use: they take a second, and the CLI loads this module."""
    from eth_abi import decode as abi_decode
    from eth_account import Account
    from eth_utils import keccak, to_checksum_address
    from web3 import Web3
    from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

    return SimpleNamespace(
        abi_decode=abi_decode, Account=Account, keccak=keccak, to_checksum_address=to_checksum_address, Web3=Web3,
        ContractLogicError=ContractLogicError, TransactionNotFound=TransactionNotFound, Web3RPCError=Web3RPCError,
    )


# -- errors ----------------------------------------------------------------------------------------------------
class ChainError(DriverError):
    """A chain check failed; the message names the transaction, address or contract and what was expected."""


class ChainConfigError(ChainError):
    """Bad input: the profile, the node, the key or the contracts cannot be used (the CLI exits 2)."""


class ChainUnreachable(ChainConfigError):
    pass


class ChainIdMismatch(ChainConfigError):
    pass


class DeadTestnet(ChainConfigError):
    pass


class MainnetWriteRefused(ChainConfigError):
    pass


class AccountUnfunded(ChainConfigError):
    pass


class ContractMissing(ChainConfigError):
    pass


class TransactionReverted(ChainError):
    def __init__(self, message: str, tx_hash: str | None, reason: str) -> None:
        super().__init__(message)
        self.tx_hash, self.reason = tx_hash, reason


class ReceiptTimeout(ChainError):
    def __init__(self, message: str, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class ChainMismatch(ChainError):
    """What the target claims differs from what the chain holds."""


# -- keys ------------------------------------------------------------------------------------------------------
class ChainKey:
    """A private key for harness writes. Its repr, str and every error show the address only."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str) -> None:
        try:
            self.address: str = _eth().Account.from_key(private_key).address
        except Exception:  # eth_account raises several types; none may echo the key
            raise ChainConfigError("the chain private key is not a 32-byte hex key") from None
        self._key = private_key

    @classmethod
    def from_env(cls, name: str) -> ChainKey:
        value = os.environ.get(name, "").strip()
        if not value:
            raise ChainConfigError(f"no chain key: set {name} to a funded account's private key")
        try:
            return cls(value)
        except ChainConfigError:
            raise ChainConfigError(f"{name} does not hold a 32-byte hex private key") from None

    def sign(self, tx: dict[str, Any]) -> bytes:
        return bytes(_eth().Account.sign_transaction(tx, self._key).raw_transaction)

    def __repr__(self) -> str:
        return f"ChainKey({self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a ChainKey is not serialisable")


# -- results ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Confirmation:
    tx_hash: str
    block: int
    confirmations: int
    sender: str
    explorer_url: str


@dataclass(frozen=True)
class EmailAnchor:
    email_id: str
    verification_hash: str
    campaign_id: str
    anchorer: str
    confirmation: Confirmation


@dataclass(frozen=True)
class CampaignConfirmation:
    campaign_id: str
    emails: list[EmailAnchor]
    recomputed: int  # how many hashes were recomputed from delivered emails (the rest: API claims read on chain)


@dataclass(frozen=True)
class ChainProposal:
    proposal_id: str
    status: str
    quorum_percentage: float
    threshold_percentage: float
    emergency: bool
    total_power: int
    counts: dict[str, int]
    power: dict[str, int]


@dataclass(frozen=True)
class ProposalConfirmation:
    proposal_id: str
    chain: ChainProposal
    transactions: dict[str, Confirmation] = field(default_factory=dict)  # "record", "vote:<addr>", "result", ...


def tx_hex(value: Any) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def dead_testnet_error(chain_id: int, where: str) -> DeadTestnet:
    return DeadTestnet(
        f"{where} is chain id {chain_id}, {DEAD_TESTNETS[chain_id]}, a testnet that has been shut down: "
        f"use {LIVE_TESTNETS}"
    )


# -- the driver ------------------------------------------------------------------------------------------------
class ChainDriver:
    """One target's chain. Reads need no key; writes (`transact`) need `key` and pass the safety checks."""

    def __init__(
        self,
        chain: Chain,
        contracts: Mapping[str, str] | None = None,
        *,
        target: str = "reference",
        evidence: EvidenceWriter | None = None,
        key: ChainKey | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if chain.chain_id in DEAD_TESTNETS:
            raise dead_testnet_error(chain.chain_id, f"target {target}'s profile ([chain] chain_id)")
        self.chain = chain
        self.target = target
        self.evidence = evidence
        self.key = key
        self.timeout = timeout
        self.contract_addresses = {name: _eth().to_checksum_address(a) for name, a in (contracts or {}).items()}
        # One provider per driver; chain id and other static answers are cached, not asked per call.
        web3 = _eth().Web3
        self.w3 = web3(web3.HTTPProvider(chain.rpc, request_kwargs={"timeout": 5}, cache_allowed_requests=True))
        self._contracts: dict[str, Any] = {}
        self._connected = False

    def __repr__(self) -> str:
        return f"ChainDriver({self.chain.rpc}, chain {self.chain.chain_id}, key={self.key!r})"

    # -- connection and configuration checks ---------------------------------------------------------------
    def connect(self) -> int:
        """Checks the node answers with the declared chain id; returns the latest block number."""
        try:
            node_chain = int(self.w3.provider.make_request("eth_chainId", [])["result"], 16)  # type: ignore[arg-type]
            block = self.w3.eth.block_number
        except Exception as exc:
            raise ChainUnreachable(
                f"cannot reach the chain RPC {self.chain.rpc} of target {self.target}: {type(exc).__name__}: "
                f"{str(exc)[:200]} (expected a JSON-RPC node answering eth_chainId)"
            ) from exc
        if node_chain in DEAD_TESTNETS:
            raise dead_testnet_error(node_chain, f"the node at {self.chain.rpc}")
        if node_chain != self.chain.chain_id:
            raise ChainIdMismatch(
                f"target {self.target} declares chain id {self.chain.chain_id}, but the node at {self.chain.rpc} "
                f"is chain {node_chain}: fix [chain] chain_id or rpc in the profile"
            )
        self._connected = True
        return block

    def _ensure(self) -> None:
        if not self._connected:
            self.connect()

    def contract(self, name: str) -> Any:
        """The deployed contract, after checking that code is at its configured address."""
        if name in self._contracts:
            return self._contracts[name]
        self._ensure()
        address = self.contract_addresses.get(name)
        if address is None:
            raise ContractMissing(
                f"target {self.target} names no address for {name}: set [chain.contracts] in its profile"
            )
        code = self.w3.eth.get_code(address)  # type: ignore[arg-type]
        if not code:
            raise ContractMissing(
                f"no contract code at {address} on chain {self.chain.chain_id} ({self.chain.rpc}): expected the "
                f"{name} contract there; found an empty account (wrong address, or the chain was reset)"
            )
        contract = self.w3.eth.contract(address=address, abi=load_abi(name))  # type: ignore[call-overload]
        self._contracts[name] = contract
        return contract

    def explorer_url(self, tx_hash: str) -> str:
        template = self.chain.explorer_tx_url
        return template.replace("{tx}", tx_hash) if template else ""

    # -- receipts ------------------------------------------------------------------------------------------
    def wait_confirmed(self, tx_hash: str, what: str, timeout: float | None = None) -> Confirmation:
        """Waits until `tx_hash` is mined with status 1 and has the profile's confirmations."""
        if not isinstance(tx_hash, str) or not TX_HASH.fullmatch(tx_hash):
            raise ChainMismatch(f"{what}: {tx_hash!r} is not a transaction hash (0x and 64 hex digits)")
        self._ensure()
        wanted = max(1, self.chain.confirmations)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        pause = POLL_S
        receipt: Any = None
        latest = -1
        while True:
            if receipt is None:
                try:  # the receipt and the chain head in one round trip
                    with self.w3.batch_requests() as batch:
                        batch.add(self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
                        batch.add(self.w3.eth.get_block_number())
                        receipt, latest = batch.execute()
                except _eth().TransactionNotFound:
                    receipt = None
                except (ValueError, _eth().Web3RPCError) as exc:
                    raise ChainMismatch(f"{what}: {tx_hash} is not a transaction hash the node accepts: {exc}") from exc
            else:
                latest = self.w3.eth.block_number
            if receipt is not None:
                if receipt["status"] != 1:
                    reason = self._revert_reason(receipt)
                    raise TransactionReverted(
                        f"{what}: transaction {tx_hash} reverted in block {receipt['blockNumber']}"
                        f"{': ' + reason if reason else ''} (expected status 1)",
                        tx_hash,
                        reason,
                    )
                got = latest - receipt["blockNumber"] + 1
                if got >= wanted and wanted > 1 and not self._still_in(receipt):
                    receipt = None  # reorganised out of its block while we waited: look for it again
                elif got >= wanted:
                    return Confirmation(tx_hash, receipt["blockNumber"], got, receipt["from"],
                                        self.explorer_url(tx_hash))
            if time.monotonic() > deadline:
                seen = (
                    f"mined in block {receipt['blockNumber']} with {latest - receipt['blockNumber'] + 1} of "
                    f"{wanted} confirmations"
                    if receipt is not None
                    else "no receipt: the chain has no such transaction (never sent, dropped, or still pending)"
                )
                raise ReceiptTimeout(
                    f"{what}: transaction {tx_hash} not confirmed within {limit:g} s on chain "
                    f"{self.chain.chain_id}: {seen}",
                    tx_hash,
                )
            time.sleep(pause)
            pause = min(MAX_POLL_S, pause * 1.5)

    def _still_in(self, receipt: Any) -> bool:
        try:
            fresh = self.w3.eth.get_transaction_receipt(receipt["transactionHash"])
        except _eth().TransactionNotFound:
            return False
        return bool(fresh["blockHash"] == receipt["blockHash"])

    def _revert_reason(self, receipt: Any) -> str:
        """Replays a reverted transaction as a call at its block to read the reason."""
        try:
            tx = self.w3.eth.get_transaction(receipt["transactionHash"])
            self.w3.eth.call(
                {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]},
                receipt["blockNumber"] - 1,
            )
        except _eth().ContractLogicError as exc:
            return str(exc.message or exc).removeprefix("execution reverted: ")
        except Exception:  # the reason is a courtesy; the revert itself is the finding
            return ""
        return ""

    # -- writes --------------------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """The safety rules for any write: a key, not mainnet without both overrides."""
        if self.key is None:
            env = self.chain.private_key_env or "the profile's [chain] private_key_env"
            raise ChainConfigError(f"writing to chain {self.chain.chain_id} needs a funded key: set {env}")
        self._ensure()  # the node's chain id is the declared one from here on
        if self.chain.chain_id == MAINNET:
            override = os.environ.get(MAINNET_OVERRIDE_ENV, "") in ("1", "true", "yes")
            if not (self.chain.allow_mainnet_writes and override):
                raise MainnetWriteRefused(
                    f"refusing to write to Ethereum mainnet (chain id 1) from target {self.target}: it needs both "
                    f"allow_mainnet_writes = true in the profile's [chain] (found "
                    f"{str(self.chain.allow_mainnet_writes).lower()}) and {MAINNET_OVERRIDE_ENV}=1 or "
                    f"--allow-mainnet-writes (found {'set' if override else 'unset'})"
                )

    def balance(self, address: str) -> int:
        self._ensure()
        return int(self.w3.eth.get_balance(_eth().to_checksum_address(address)))

    def transact(self, contract_name: str, function: str, *args: Any, gas: int | None = None) -> Confirmation:
        """Sends one contract call from the harness's key and waits for its confirmation.

        Without `gas` the call is estimated first: a revert is reported before anything is sent. With `gas`
        it is sent as is, so that a revert is mined and its receipt (status 0) is what reports it."""
        self.check_writable()
        assert self.key is not None
        contract = self.contract(contract_name)
        call = getattr(contract.functions, function)(*args)
        what = f"{function} on {contract_name} {contract.address}"
        sender = self.key.address
        if gas is None:
            try:
                gas = int(call.estimate_gas({"from": sender}) * 1.2)
            except _eth().ContractLogicError as exc:
                reason = str(exc.message or exc).removeprefix("execution reverted: ")
                raise TransactionReverted(f"{what} would revert, nothing was sent: {reason}", None, reason) from exc
        gas_price = self.w3.eth.gas_price
        balance = self.balance(sender)
        if balance < gas * gas_price:
            raise AccountUnfunded(
                f"account {sender} holds {balance} wei on chain {self.chain.chain_id}; {what} needs up to "
                f"{gas * gas_price} wei ({gas} gas at {gas_price} wei): fund it, or use a funded key"
            )
        tx = call.build_transaction({
            "from": sender, "gas": gas, "gasPrice": gas_price, "chainId": self.chain.chain_id,
            "nonce": self.w3.eth.get_transaction_count(sender, "pending"),  # type: ignore[arg-type]
        })
        tx_hash = tx_hex(self.w3.eth.send_raw_transaction(self.key.sign(tx)))
        return self.wait_confirmed(tx_hash, what)

    def simulate(self, contract_name: str, function: str, *args: Any, sender: str) -> str | None:
        """Runs a call as `sender` would send it, without sending; the revert reason, or None if it would pass.
        Needs no key: it shows what the chain would do with a transaction nobody signs."""
        call = getattr(self.contract(contract_name).functions, function)(*args)
        try:
            call.call({"from": _eth().to_checksum_address(sender)})
        except _eth().ContractLogicError as exc:
            return str(exc.message or exc).removeprefix("execution reverted: ")
        return None

    def vote_refusal(self, proposal_id: str, voter: str, option: str, power: int, sender: str) -> str | None:
        """Why the DAO contract would refuse this vote from `sender` (an authorised relay), or None."""
        voter = _eth().to_checksum_address(voter)
        return self.simulate(DAO, "castVote", proposal_id, voter, VOTE_OPTION_CODES[option], power, sender=sender)

    # -- evidence ------------------------------------------------------------------------------------------
    def record(
        self,
        subject: str,
        subject_kind: str,
        confirmation: Confirmation | None,
        *,
        outcome: str = "passed",
        criterion: str | None = None,
        name: str | None = None,
        **details: Any,
    ) -> None:
        if self.evidence is None:
            return
        body: dict[str, Any] = {
            "subject": subject,
            "subject_kind": subject_kind,
            "chain_id": self.chain.chain_id,
            "tx_hash": confirmation.tx_hash if confirmation else details.pop("tx_hash", None),
            "block": confirmation.block if confirmation else None,
            "confirmations": confirmation.confirmations if confirmation else 0,
            "required_confirmations": max(1, self.chain.confirmations),
            "explorer_url": confirmation.explorer_url if confirmation else "",
            **details,
        }
        self.evidence.write(
            Evidence(
                run=self.evidence.run_id,
                kind="chain",
                name=name or f"{subject_kind} {subject} {'' if outcome == 'passed' else 'not '}confirmed on chain",
                outcome=outcome,  # type: ignore[arg-type]
                criterion=criterion,
                gate="beta",  # chain.verification and the confirmed counts are Closed Beta criteria
                value=float(body["confirmations"]),
                unit="confirmations",
                started=now_iso(),
                target=self.target,
                details=body,
            )
        )

    # -- email anchors -------------------------------------------------------------------------------------
    def anchors_of(self, hashes: Iterable[str]) -> dict[str, EmailAnchor | None]:
        """What the registry holds for each hash, each anchoring transaction confirmed: block and anchorer from its
        state, campaign and email ids from the EmailAnchored event of that block."""
        registry = self.contract(REGISTRY)
        wanted = [h.removeprefix("0x").lower() for h in hashes]
        if not wanted:
            return {}
        with self.w3.batch_requests() as batch:
            for h in wanted:
                batch.add(registry.functions.anchorOf(bytes.fromhex(h)))
            states = batch.execute()
        found: dict[str, EmailAnchor | None] = {}
        logs = self._anchor_logs({h: state[0] for h, state in zip(wanted, states, strict=True) if state[0] > 0})
        receipts = self._receipts({log_["transactionHash"] for log_ in logs.values()})
        latest = self.w3.eth.block_number
        for h, state in zip(wanted, states, strict=True):
            block, _timestamp, anchorer = state
            if block == 0:
                found[h] = None
                continue
            log_ = logs.get(h)
            if log_ is None:
                raise ChainMismatch(
                    f"hash {h} is anchored in registry {registry.address} at block {block}, but no EmailAnchored "
                    f"event of that block carries it"
                )
            tx, campaign_id, email_id = log_["transactionHash"], log_["campaignId"], log_["emailId"]
            confirmation = self._confirm_receipt(receipts.get(tx), tx, f"anchor of email {email_id}", latest)
            if confirmation.block != block:
                raise ChainMismatch(
                    f"anchor of {h}: the registry says block {block}, its event is in block {confirmation.block}"
                )
            found[h] = EmailAnchor(email_id, h, campaign_id, anchorer, confirmation)
        return found

    def _anchor_logs(self, blocks: dict[str, int]) -> dict[str, dict[str, Any]]:
        """The EmailAnchored events of the hashes, each looked for in the block the registry names: the chain's
        length does not matter (a log query from block 0 scans all of it). An event elsewhere is not found."""
        if not blocks:
            return {}
        registry = self.contract(REGISTRY)
        topic0 = "0x" + _eth().keccak(text="EmailAnchored(bytes32,bytes32,address,string,string)").hex()
        by_block: dict[int, list[str]] = {}
        for h, block in blocks.items():
            by_block.setdefault(block, []).append("0x" + h)
        with self.w3.batch_requests() as batch:
            for block, hashes in sorted(by_block.items()):
                batch.add(self.w3.eth.get_logs({"address": registry.address, "fromBlock": block, "toBlock": block,
                                                "topics": [topic0, hashes]}))
            replies = batch.execute()
        out: dict[str, dict[str, Any]] = {}
        for entry in (entry for reply in replies for entry in reply):
            h = bytes(entry["topics"][1]).hex()
            campaign_id, email_id = _eth().abi_decode(["string", "string"], bytes(entry["data"]))
            out.setdefault(h, {
                "transactionHash": tx_hex(entry["transactionHash"]),
                "blockNumber": entry["blockNumber"],
                "campaignId": campaign_id,
                "emailId": email_id,
            })
        return out

    def _receipts(self, tx_hashes: set[str]) -> dict[str, Any]:
        if not tx_hashes:
            return {}
        ordered = sorted(tx_hashes)
        with self.w3.batch_requests() as batch:
            for h in ordered:
                batch.add(self.w3.eth.get_transaction_receipt(h))  # type: ignore[arg-type]
            replies = batch.execute()
        return dict(zip(ordered, replies, strict=True))

    def _confirm_receipt(self, receipt: Any, tx_hash: str, what: str, latest: int) -> Confirmation:
        if receipt is None or receipt["status"] != 1:
            return self.wait_confirmed(tx_hash, what)  # reports the revert, or waits for the receipt
        got = latest - receipt["blockNumber"] + 1
        if got < max(1, self.chain.confirmations):
            return self.wait_confirmed(tx_hash, what)
        return Confirmation(tx_hash, receipt["blockNumber"], got, receipt["from"], self.explorer_url(tx_hash))

    def find_email_anchor(self, message: dict[str, Any]) -> EmailAnchor | None:
        """The anchor of the hash recomputed from this email as it is now, or None if the chain has none."""
        recomputed = recompute_hash(message)
        return self.anchors_of([recomputed])[recomputed]

    def verify_email(self, message: dict[str, Any], claimed_tx: str | None = None) -> EmailAnchor:
        """One delivered email: its hash recomputed from the email itself must be anchored on chain."""
        email_id = message["headers"].get(HEADER_EMAIL_ID, "?")
        recomputed = recompute_hash(message)
        anchor = self.anchors_of([recomputed])[recomputed]
        if anchor is None:
            claim = f"; the API claims it was anchored in {claimed_tx}" if claimed_tx else ""
            raise ChainMismatch(
                f"email {email_id} to {message['rcpt_to'][0]} recomputes to {recomputed}, which registry "
                f"{self.contract(REGISTRY).address} never anchored{claim}"
            )
        self._check_anchor(anchor, email_id, message["headers"].get(HEADER_CAMPAIGN, ""), claimed_tx)
        return anchor

    def _check_anchor(self, anchor: EmailAnchor, email_id: str, campaign_id: str, claimed_tx: str | None) -> None:
        if anchor.email_id != email_id or anchor.campaign_id != campaign_id:
            raise ChainMismatch(
                f"hash {anchor.verification_hash} is anchored for email {anchor.email_id!r} of campaign "
                f"{anchor.campaign_id!r}, expected email {email_id!r} of campaign {campaign_id!r}"
            )
        if claimed_tx is not None and claimed_tx.lower() != anchor.confirmation.tx_hash.lower():
            raise ChainMismatch(
                f"email {email_id}: the API says anchorTx {claimed_tx}, the chain anchored its hash in "
                f"{anchor.confirmation.tx_hash}"
            )

    def confirm_campaign(
        self, campaign: dict[str, Any], messages: list[dict[str, Any]] | None, *, record: bool = True
    ) -> CampaignConfirmation:
        """A campaign the API reports: every delivered email's hash recomputed from the mailbox copy (when
        `messages` are given) must equal the API's claim and be anchored, in the anchorTx the API names; a
        delivery the mailbox lacks is still checked as claimed (whether it arrived is the delivery check's job)."""
        campaign_id = str(campaign["id"])
        delivered = [d for d in campaign.get("deliveries", []) if d.get("status") == "delivered"]
        if not delivered:
            raise ChainMismatch(f"campaign {campaign_id} has no delivered email to confirm")
        by_id = {str(m["headers"].get(HEADER_EMAIL_ID)): m for m in messages or []}
        expected: dict[str, tuple[str, str | None, str]] = {}  # hash -> (email id, claimed tx, source)
        for d in delivered:
            email_id, claimed_hash = str(d["emailId"]), str(d.get("verificationHash") or "").lower()
            message = by_id.get(email_id)
            if message is not None:
                recomputed = recompute_hash(message)
                if recomputed != claimed_hash:
                    raise ChainMismatch(
                        f"campaign {campaign_id}, email {email_id}: the delivered email recomputes to {recomputed}, "
                        f"the API claims {claimed_hash or 'no hash'}"
                    )
            if not d.get("anchorTx"):
                raise ChainMismatch(f"campaign {campaign_id}, email {email_id}: the API reports no anchorTx")
            expected[claimed_hash] = (email_id, d.get("anchorTx"), "mailbox" if message is not None else "api")
        anchors = self.anchors_of(expected)
        emails = []
        for h, (email_id, claimed_tx, _source) in expected.items():
            anchor = anchors.get(h)
            if anchor is None:
                raise ChainMismatch(
                    f"campaign {campaign_id}, email {email_id}: hash {h} is not anchored in registry "
                    f"{self.contract(REGISTRY).address}; the API claims anchorTx {claimed_tx}, "
                    f"{self._describe_tx(claimed_tx)}"
                )
            self._check_anchor(anchor, email_id, campaign_id, claimed_tx)
            emails.append(anchor)
        result = CampaignConfirmation(campaign_id, emails, sum(1 for v in expected.values() if v[2] == "mailbox"))
        if record:
            for anchor in emails:
                self.record(anchor.email_id, "email", anchor.confirmation, criterion="chain.verification",
                            hash=anchor.verification_hash, campaign=campaign_id, contract=REGISTRY,
                            recomputed_from_email=expected[anchor.verification_hash][2] == "mailbox")
            if campaign.get("status") == "completed":
                last = max(emails, key=lambda a: a.confirmation.block).confirmation
                self.record(campaign_id, "campaign", last, criterion="beta.campaigns-confirmed",
                            emails=len(emails), recomputed_from_email=result.recomputed,
                            tx_hashes=[a.confirmation.tx_hash for a in emails], contract=REGISTRY)
        return result

    def _describe_tx(self, tx_hash: str | None) -> str:
        if not tx_hash:
            return "which is empty"
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except _eth().TransactionNotFound:
            return "a transaction the chain does not have"
        except (ValueError, _eth().Web3RPCError):
            return "which is not a transaction hash"
        return f"mined in block {receipt['blockNumber']} with status {receipt['status']} but anchoring nothing of it"

    # -- DAO -----------------------------------------------------------------------------------------------
    def proposal(self, proposal_id: str) -> ChainProposal:
        dao = self.contract(DAO)
        with self.w3.batch_requests() as batch:
            batch.add(dao.functions.proposalOf(proposal_id))
            batch.add(dao.functions.tallyOf(proposal_id))
            (status, quorum, threshold, emergency, total, _block), (counts, power) = batch.execute()
        return ChainProposal(
            proposal_id,
            PROPOSAL_STATUS.get(status, f"status {status}"),
            quorum / 100,
            threshold / 100,
            bool(emergency),
            int(total),
            dict(zip(OPTIONS, (int(c) for c in counts), strict=True)),
            dict(zip(OPTIONS, (int(p) for p in power), strict=True)),
        )

    def _event(self, contract_name: str, event: str, confirmation: Confirmation) -> list[dict[str, Any]]:
        receipt = self.w3.eth.get_transaction_receipt(confirmation.tx_hash)  # type: ignore[arg-type]
        contract = self.contract(contract_name)
        events = getattr(contract.events, event)().process_receipt(receipt)
        return [dict(e["args"]) for e in events if e["address"] == contract.address]

    def confirm_proposal(
        self, proposal: dict[str, Any], votes: list[dict[str, Any]], *, record: bool = True
    ) -> ProposalConfirmation:
        """A proposal the API reports: its record, each vote, the tally, the outcome and the decision, each a
        confirmed transaction whose event says what the API says; the contract's own tally equals the API's."""
        pid = str(proposal["id"])
        txs: dict[str, Confirmation] = {}

        def confirmed(key: str, tx: str | None, what: str) -> Confirmation:
            if not tx:
                raise ChainMismatch(f"proposal {pid}: the API gives no transaction_hash for its {what}")
            txs[key] = self.wait_confirmed(tx, f"proposal {pid} {what}")
            return txs[key]

        chain = self.proposal(pid)
        if chain.status == "unknown":
            raise ChainMismatch(
                f"proposal {pid} is not recorded in DAO contract {self.contract(DAO).address}; the API claims "
                f"transaction {proposal.get('transaction_hash')}, {self._describe_tx(proposal.get('transaction_hash'))}"
            )
        recorded = self._event(DAO, "ProposalRecorded", confirmed("record", proposal.get("transaction_hash"),
                                                                  "record"))
        if not recorded or recorded[0]["proposalId"] != pid:
            raise ChainMismatch(f"proposal {pid}: transaction {txs['record'].tx_hash} records no such proposal")
        for vote in votes:
            voter = _eth().to_checksum_address(vote["voter_address"])
            events = self._event(DAO, "VoteCast", confirmed(f"vote:{voter}", vote.get("transaction_hash"),
                                                            f"vote by {voter}"))
            want = (voter, VOTE_OPTION_CODES[vote["vote_option"]], int(vote["voting_power"]))
            got = [(e["voter"], e["option"], e["power"]) for e in events]
            if want not in got:
                raise ChainMismatch(
                    f"proposal {pid}: the vote by {voter} ({vote['vote_option']}, power {vote['voting_power']}) "
                    f"is not what its transaction {txs[f'vote:{voter}'].tx_hash} cast on chain: {got}"
                )
        api_counts = {o: sum(1 for v in votes if v["vote_option"] == o) for o in OPTIONS}
        api_power = {o: sum(int(v["voting_power"]) for v in votes if v["vote_option"] == o) for o in OPTIONS}
        if (api_counts, api_power) != (chain.counts, chain.power):
            raise ChainMismatch(
                f"proposal {pid}: the API's votes tally {api_counts} (power {api_power}); the DAO contract "
                f"{self.contract(DAO).address} holds {chain.counts} (power {chain.power})"
            )
        results = proposal.get("votingResults")
        if results:
            confirmed("result", results.get("transaction_hash"), "tally")
            api_tally = {o: results[f"power_{o}"] for o in OPTIONS}
            if api_tally != chain.power or results.get("total_power") != chain.total_power:
                raise ChainMismatch(
                    f"proposal {pid}: the API's tally is {api_tally} of {results.get('total_power')}, the chain's "
                    f"{chain.power} of {chain.total_power}"
                )
            api_outcome = results.get("outcome")
            chain_vote = {"passed": "passed", "executed": "passed", "rejected": "passed", "failed": "failed"}
            if chain_vote.get(chain.status) != api_outcome:
                raise ChainMismatch(
                    f"proposal {pid}: the API says the vote {api_outcome}, the DAO contract computed "
                    f"{chain.status} from its own votes"
                )
        decision = proposal.get("humanApprovalDecision")
        status = proposal.get("status")
        if status in ("executed", "rejected") and results and results.get("outcome") == "passed":
            if decision is None:  # a passed vote ends only by a human decision, and that decision is on chain
                raise ChainMismatch(f"proposal {pid} is {status} in the API with no decision recorded")
            confirmed("decision", decision.get("transaction_hash"), "decision")
            if chain.status != status:
                raise ChainMismatch(f"proposal {pid}: the API says {status}, the DAO contract says {chain.status}")
        confirmation = ProposalConfirmation(pid, chain, txs)
        if record:
            for key, tx in txs.items():
                kind = key.split(":")[0]
                self.record(f"{pid}:{key}", f"proposal-{kind}", tx, criterion="chain.verification",
                            proposal=pid, contract=DAO)
            if chain.status == "executed":
                self.record(pid, "proposal", txs.get("decision"), criterion="beta.proposals-confirmed",
                            outcome_on_chain=chain.status, votes=sum(chain.counts.values()),
                            power=chain.power, total_power=chain.total_power, contract=DAO,
                            tx_hashes={k: t.tx_hash for k, t in txs.items()})
        return confirmation


# -- building a driver from a target -----------------------------------------------------------------------------
def key_for(chain: Chain) -> ChainKey | None:
    """The profile's write key, if its environment variable is set."""
    if chain.private_key_env and os.environ.get(chain.private_key_env):
        return ChainKey.from_env(chain.private_key_env)
    return None


# -- CLI -----------------------------------------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    """`launchgate chain check --target T`: the read-only checks, one line each; exit 2 on bad input."""
    chain = subparsers.add_parser("chain", help="check a target's chain: node, chain id, contracts, key")
    sub = chain.add_subparsers(dest="chain_command", required=True)
    check = sub.add_parser("check", help="reachability, chain id, contract code and (if a key is set) its funds")
    check.add_argument("--target", default="reference", help="target profile name or path")
    check.add_argument("--state-dir", default=None, help="reference stack state dir (its contracts.json)")
    check.add_argument("--allow-mainnet-writes", action="store_true",
                       help=f"the operator's half of the mainnet override (sets {MAINNET_OVERRIDE_ENV}=1)")
    check.set_defaults(func=cmd_chain_check)


def cmd_chain_check(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    from launchgate.targets import load_target  # the CLI's own imports stay light for other subcommands

    if args.allow_mainnet_writes:
        os.environ[MAINNET_OVERRIDE_ENV] = "1"
    target = load_target(args.target)
    if target.chain is None:
        raise ChainConfigError(f"target {target.name} has no [chain] section")
    if target.managed:  # the reference stack may run on another port base than the profile's default
        from pathlib import Path

        from launchgate.reference import DEFAULT_STATE_DIR, ReferenceStack
        from launchgate.targets import shift_ports

        stack = ReferenceStack(Path(args.state_dir) if args.state_dir else DEFAULT_STATE_DIR)
        target = shift_ports(target, stack.port_base)
    assert target.chain is not None
    contracts = target_contracts(target, args.state_dir)
    driver = ChainDriver(target.chain, contracts, target=target.name, key=key_for(target.chain))
    block = driver.connect()
    out(f"chain {target.chain.chain_id} at {target.chain.rpc}: reachable, block {block}")
    for name in (REGISTRY, DAO):
        if name in driver.contract_addresses:
            out(f"{name} at {driver.contract(name).address}: code present")
        else:
            out(f"{name}: no address configured")
    if driver.key is not None:
        balance = driver.balance(driver.key.address)
        if balance == 0:
            raise AccountUnfunded(
                f"account {driver.key.address} (from {target.chain.private_key_env}) holds 0 wei on chain "
                f"{target.chain.chain_id}: fund it before any write"
            )
        writable = "writes allowed"
        try:
            driver.check_writable()
        except MainnetWriteRefused as exc:
            writable = f"writes refused: {exc}"
        out(f"key {driver.key.address}: {balance} wei; {writable}")
    return 0


def target_contracts(target: Any, state_dir: str | None = None) -> dict[str, str]:
    """Contract addresses: the profile's [chain.contracts], or the managed reference stack's contracts.json."""
    declared = dict(getattr(target.chain, "contracts", {}) or {})
    if declared or not target.managed:
        return declared
    from pathlib import Path

    from launchgate.reference import DEFAULT_STATE_DIR, ReferenceStack

    stack = ReferenceStack(Path(state_dir) if state_dir else DEFAULT_STATE_DIR)
    return stack.contracts() if stack.published else {}

