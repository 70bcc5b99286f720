"""The committed contract artifacts are what the committed sources compile to with the locked vyper."""

from __future__ import annotations

import hashlib

import pytest

from reference371os.contracts import CONTRACT_NAMES, compile_contract, load_artifact, source_path


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_recompiling_gives_the_committed_bytecode(name: str) -> None:
    committed = load_artifact(name)
    fresh = compile_contract(name)
    assert committed.source_sha256 == hashlib.sha256(source_path(name).read_bytes()).hexdigest(), (
        f"{name}.vy changed since its artifact was built: run `python -m reference371os.contracts`"
    )
    assert fresh.compiler == committed.compiler
    assert fresh.bytecode == committed.bytecode, f"{name}: recompiled bytecode differs from the committed artifact"
    assert fresh.abi == committed.abi
