"""The reference's chain setup: `stack up` deploys the contracts once and redeploys only what lost its code, and
the services write with keys derived from the stack's chain key. The anchoring and tallies read back with the
harness's web3 driver are tested in tests/test_chain.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reference371os.chain_setup import WRITERS, ensure_contracts, load_deployment
from reference371os.contracts import DAO, REGISTRY
from reference371os.kit.chain import ServiceKey, derive_service_private_key
from reference371os.secrets import ANVIL_DEV_KEY_0


def test_deployment_is_reused_while_code_is_there_and_redone_when_it_is_gone(stack: Any, tmp_path: Path) -> None:
    rpc = stack.stack.chain_rpc
    first = ensure_contracts(rpc, 31337, ANVIL_DEV_KEY_0, tmp_path)
    again = ensure_contracts(rpc, 31337, ANVIL_DEV_KEY_0, tmp_path)
    assert again.contracts == first.contracts  # reused: code is present at the stored addresses
    stored = json.loads((tmp_path / "contracts.json").read_text())
    stored["contracts"][REGISTRY] = "0x" + "11" * 20  # an address with no code, as after a lost anvil state
    (tmp_path / "contracts.json").write_text(json.dumps(stored))
    redone = ensure_contracts(rpc, 31337, ANVIL_DEV_KEY_0, tmp_path)
    assert redone.contracts[DAO] == first.contracts[DAO]
    assert redone.contracts[REGISTRY] not in (first.contracts[REGISTRY], stored["contracts"][REGISTRY])


def test_service_writers_are_the_derived_keys(stack: Any) -> None:
    deployment = load_deployment(stack.stack.state_dir)
    assert deployment is not None
    for service in WRITERS:
        derived = ServiceKey(derive_service_private_key(stack.secrets.chain_private_key, service))
        assert deployment.writers[service] == derived.address
