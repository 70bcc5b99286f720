"""The stack's own chain client: JSON-RPC over one httpx connection, calls encoded from the contract ABI,
transactions signed locally with the service's key.

It is deliberately not web3.py: the harness confirms on chain with web3 (launchgate/drivers/chain.py), and a
checker that shares no code with what it checks cannot inherit its bugs. It is also light, which keeps a
service's start and each write fast: one process holds one `ChainWriter`, whose nonce it tracks itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

RECEIPT_POLL_S = 0.002  # automine answers at once; a public node gets the same short poll, then backs off
MAX_RECEIPT_POLL_S = 0.5
GAS_MARGIN = 1.2
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class ChainWriteError(Exception):
    """A chain call failed; the message names the method, the contract and the transaction where known."""


class ChainUnavailable(ChainWriteError):
    """The node could not be reached or did not answer in time."""


class Reverted(ChainWriteError):
    """The contract refused the call (estimate or receipt status 0)."""

    def __init__(self, message: str, reason: str, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.tx_hash = reason, tx_hash


class ServiceKey:
    """A private key and its address. Its repr shows only the address: keys never reach a log."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str) -> None:
        self._key = private_key
        self.address: str = Account.from_key(private_key).address

    def sign(self, tx: dict[str, Any]) -> tuple[bytes, str]:
        signed = Account.sign_transaction(tx, self._key)
        return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

    def __repr__(self) -> str:
        return f"ServiceKey({self.address})"

    __str__ = __repr__


def derive_service_private_key(root_key: str, service: str) -> str:
    """Each service signs with its own key, derived from the stack's chain key, so that two processes never
    race for one account's nonce; the deployer funds and authorises these addresses (stack/chain_setup.py)."""
    seed = bytes.fromhex(root_key.removeprefix("0x"))
    counter = 0
    while True:  # a digest outside the curve order is astronomically rare; step past it if it ever happens
        digest = keccak(b"launchgate/service-key/" + service.encode() + counter.to_bytes(4, "big") + seed)
        if 0 < int.from_bytes(digest, "big") < SECP256K1_ORDER:
            return "0x" + digest.hex()
        counter += 1


def derive_service_key(root_key: str, service: str) -> ServiceKey:
    return ServiceKey(derive_service_private_key(root_key, service))


class Abi:
    """Encodes calls to, and decodes results of, the functions of one contract ABI."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._functions = {f["name"]: f for f in abi if f.get("type") == "function"}

    @staticmethod
    def _type(param: dict[str, Any]) -> str:
        if param["type"].startswith("tuple"):
            inner = ",".join(Abi._type(c) for c in param["components"])
            return f"({inner}){param['type'].removeprefix('tuple')}"
        return str(param["type"])

    def encode_call(self, name: str, *args: Any) -> str:
        fn = self._functions[name]
        types = [self._type(p) for p in fn["inputs"]]
        selector = keccak(text=f"{name}({','.join(types)})")[:4]
        return "0x" + (selector + encode(types, list(args))).hex()

    def decode_result(self, name: str, data: str) -> tuple[Any, ...]:
        types = [self._type(p) for p in self._functions[name]["outputs"]]
        return tuple(decode(types, bytes.fromhex(data.removeprefix("0x"))))


class Rpc:
    """JSON-RPC over one keep-alive connection."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout)
        self._ids = 0
        self._lock = threading.Lock()

    def call(self, method: str, *params: Any) -> Any:
        return self.batch((method, list(params)))[0]

    def batch(self, *calls: tuple[str, list[Any]]) -> list[Any]:
        """Several calls in one round trip (a JSON-RPC batch); the results in order, or the first error."""
        with self._lock:
            first = self._ids + 1
            self._ids += len(calls)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        names = "+".join(m for m, _ in calls)
        try:
            reply = self._client.post(self.url, json=payload if len(payload) > 1 else payload[0])
            reply.raise_for_status()
            body = reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChainUnavailable(f"{names} to {self.url} failed: {type(exc).__name__}: {exc}") from exc
        answers = {a.get("id"): a for a in (body if isinstance(body, list) else [body])}
        results = []
        for i, (method, _params) in enumerate(calls):
            answer = answers.get(first + i) or {"error": {"message": "no answer in the batch"}}
            if "error" in answer:
                err = answer["error"]
                message = str(err.get("message", err))
                if err.get("code") == 3 or "revert" in message:
                    raise Reverted(f"{method} reverted: {message}", message.removeprefix("execution reverted: "))
                raise ChainWriteError(f"{method} answered error {err.get('code')}: {message}")
            results.append(answer.get("result"))
        return results

    def close(self) -> None:
        self._client.close()


class ChainWriter:
    """One account's writes: estimate (a revert is refused before anything is sent), sign, send, await the
    receipt, demand status 1. Thread-safe: one lock orders the nonces."""

    def __init__(self, rpc_url: str, chain_id: int, key: ServiceKey, *, timeout: float = 2.0,
                 receipt_timeout: float = 10.0) -> None:
        self.rpc = Rpc(rpc_url, timeout)
        self.chain_id = chain_id
        self.key = key
        self.receipt_timeout = receipt_timeout
        self._nonce: int | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.key.address

    def call(self, to: str, data: str) -> str:
        return str(self.rpc.call("eth_call", {"to": to, "data": data}, "latest"))

    def code_at(self, address: str) -> str:
        return str(self.rpc.call("eth_getCode", address, "latest"))

    def balance(self, address: str) -> int:
        return int(self.rpc.call("eth_getBalance", address, "latest"), 16)

    def node_chain_id(self) -> int:
        return int(self.rpc.call("eth_chainId"), 16)

    def transact(self, to: str | None, data: str = "0x", value: int = 0, what: str = "transaction") -> dict[str, Any]:
        """Sends one transaction and returns its successful receipt; raises Reverted or ChainWriteError."""
        with self._lock:
            request = {"from": self.address, "data": data, "value": hex(value)}
            if to is not None:
                request["to"] = to
            estimate, price = self.rpc.batch(("eth_estimateGas", [request]), ("eth_gasPrice", []))
            gas, gas_price = int(int(estimate, 16) * GAS_MARGIN), int(price, 16)
            for attempt in (1, 2):
                if self._nonce is None:
                    self._nonce = int(self.rpc.call("eth_getTransactionCount", self.address, "pending"), 16)
                tx: dict[str, Any] = {"nonce": self._nonce, "gas": gas, "gasPrice": gas_price, "value": value,
                                      "data": data, "chainId": self.chain_id}
                if to is not None:
                    tx["to"] = to_checksum_address(to)
                raw, tx_hash = self.key.sign(tx)
                try:
                    self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
                except ChainWriteError as exc:
                    self._nonce = None  # someone else used the account, or the node restarted: ask again
                    if attempt == 2 or "nonce" not in str(exc).lower():
                        raise
                    continue
                self._nonce += 1
                break
        receipt = self.wait_receipt(tx_hash, what)
        if int(receipt["status"], 16) != 1:
            raise Reverted(f"{what} {tx_hash} reverted in block {int(receipt['blockNumber'], 16)}", "", tx_hash)
        return receipt

    def wait_receipt(self, tx_hash: str, what: str = "transaction") -> dict[str, Any]:
        deadline = time.monotonic() + self.receipt_timeout
        pause = RECEIPT_POLL_S
        while True:
            receipt = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None and receipt.get("blockNumber"):
                return dict(receipt)
            if time.monotonic() > deadline:
                raise ChainWriteError(f"no receipt for {what} {tx_hash} within {self.receipt_timeout:.0f} s")
            time.sleep(pause)
            pause = min(MAX_RECEIPT_POLL_S, pause * 2)

    def deploy(self, bytecode: str, what: str) -> str:
        receipt = self.transact(None, bytecode, what=f"deployment of {what}")
        return to_checksum_address(receipt["contractAddress"])

    def close(self) -> None:
        self.rpc.close()
