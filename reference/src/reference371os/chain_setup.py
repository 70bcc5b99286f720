"""Deploys the 371OS contracts on the stack's anvil once, and reuses them while anvil's state keeps them.

`stack up` calls `ensure_contracts` right after anvil answers. The addresses go to `<state dir>/contracts.json`
and, through the 371OS variables EMAIL_VERIFICATION_CONTRACT and EMAIL_DAO_CONTRACT_ADDRESS, to the services.
Anvil's state persists across `stack down`/`up`, so a stored address is kept when code is still at it; after
a lost state (kill -9 before a dump) the contracts are deployed again. Each service writes with its own key
(derived from secrets.json's chain key); the deployer funds it and makes it a writer of its contract.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reference371os.contracts import ADDRESS_ENV, DAO, REGISTRY, load_artifact
from reference371os.procs import StackError

if TYPE_CHECKING:
    from reference371os.kit.chain import ChainWriter, ServiceKey

CONTRACTS_FILE = "contracts.json"
# Which service writes to which contract.
WRITERS = {"conduit": REGISTRY, "governance": DAO}
WRITER_FLOAT_WEI = 10 * 10**18  # topped up when a writer falls under a tenth of it
DEPLOY_TIMEOUT_S = 10.0


class ChainSetupError(StackError):
    """The contracts could not be deployed or checked; `stack up` reports it as one line."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    contracts: dict[str, str]  # contract name -> checksummed address
    deployer: str
    writers: dict[str, str]  # service -> address

    def env(self) -> dict[str, str]:
        """The services' view: one 371OS variable per contract."""
        return {ADDRESS_ENV[name]: address for name, address in self.contracts.items()}


def service_key(root_key: str, service: str) -> ServiceKey:
    from reference371os.kit.chain import derive_service_key

    return derive_service_key(root_key, service)


def load_deployment(state_dir: Path) -> Deployment | None:
    try:
        return Deployment(**json.loads((state_dir / CONTRACTS_FILE).read_text()))
    except FileNotFoundError:
        return None


def ensure_contracts(rpc_url: str, chain_id: int, deployer_key: str, state_dir: Path) -> Deployment:
    # Imported here: eth-account is slow to import, and the CLI loads this module for every command.
    from reference371os.kit.chain import ChainWriteError

    try:
        return _ensure_contracts(rpc_url, chain_id, deployer_key, state_dir)
    except ChainWriteError as exc:
        raise ChainSetupError(f"deploying the 371OS contracts on {rpc_url} failed: {exc}") from exc


def _ensure_contracts(rpc_url: str, chain_id: int, deployer_key: str, state_dir: Path) -> Deployment:
    from reference371os.kit.chain import ChainWriter, ServiceKey

    writer = ChainWriter(rpc_url, chain_id, ServiceKey(deployer_key), receipt_timeout=DEPLOY_TIMEOUT_S)
    try:
        node_chain = writer.node_chain_id()
        if node_chain != chain_id:
            raise ChainSetupError(f"the node at {rpc_url} is chain {node_chain}, expected {chain_id}")
        stored = load_deployment(state_dir)
        contracts: dict[str, str] = {}
        for name in (REGISTRY, DAO):
            address = stored.contracts.get(name) if stored and stored.chain_id == chain_id else None
            if address is None or writer.code_at(address) in ("0x", "0x0", None):
                address = writer.deploy(load_artifact(name).bytecode, name)
            contracts[name] = address
        writers = {}
        for service, contract in WRITERS.items():
            account = service_key(deployer_key, service).address
            _authorise(writer, contracts[contract], contract, account)
            if writer.balance(account) < WRITER_FLOAT_WEI // 10:
                writer.transact(account, value=WRITER_FLOAT_WEI, what=f"funding of the {service} writer")
            writers[service] = account
        deployment = Deployment(chain_id, contracts, writer.address, writers)
        (state_dir / CONTRACTS_FILE).write_text(json.dumps(asdict(deployment), indent=2))
        return deployment
    finally:
        writer.close()


def _authorise(writer: ChainWriter, address: str, contract: str, account: str) -> None:
    from reference371os.kit.chain import Abi

    abi = Abi(load_artifact(contract).abi)
    (allowed,) = abi.decode_result("isWriter", writer.call(address, abi.encode_call("isWriter", account)))
    if not allowed:
        writer.transact(address, abi.encode_call("setWriter", account, True), what=f"setWriter on {contract}")
