"""The two 371OS contracts (fixtures/contracts/*.vy) and their compiled artifacts (fixtures/contracts/build/).

The artifacts are committed: deploying needs no compiler, and `tests/test_contracts.py` proves that compiling
the sources again with the locked vyper gives the same bytecode. After changing a source, rebuild them:

    .venv/bin/python -m reference371os.contracts
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference371os.paths import FIXTURES

CONTRACTS_DIR = FIXTURES / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
REGISTRY = "EmailVerificationRegistry"
DAO = "DaoGovernance"
CONTRACT_NAMES = (REGISTRY, DAO)
# The 371OS environment variable that names each contract's address (371os-contract.md).
ADDRESS_ENV = {REGISTRY: "EMAIL_VERIFICATION_CONTRACT", DAO: "EMAIL_DAO_CONTRACT_ADDRESS"}

# DaoGovernance.outcomeOf / proposalOf().status
PROPOSAL_STATUS = {0: "unknown", 1: "recorded", 2: "passed", 3: "failed", 4: "executed", 5: "rejected"}
VOTE_OPTION_CODES = {"for": 0, "against": 1, "abstain": 2, "veto": 3}


class ArtifactError(Exception):
    """A missing or unreadable compiled artifact."""


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-hex creation code
    compiler: str
    source_sha256: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "contractName": self.name,
                "compiler": self.compiler,
                "sourceSha256": self.source_sha256,
                "abi": self.abi,
                "bytecode": self.bytecode,
            },
            indent=2,
        ) + "\n"


def source_path(name: str) -> Path:
    return CONTRACTS_DIR / f"{name}.vy"


def artifact_path(name: str) -> Path:
    return BUILD_DIR / f"{name}.json"


def load_artifact(name: str) -> Artifact:
    path = artifact_path(name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ArtifactError(f"no compiled artifact {path}: run `python -m reference371os.contracts`") from exc
    except ValueError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    return Artifact(name, data["abi"], data["bytecode"], data["compiler"], data["sourceSha256"])


def compile_contract(name: str) -> Artifact:
    """Compiles one source with the vyper of this environment (imported here only: it is slow to import)."""
    import vyper

    path = source_path(name)
    source = path.read_text()
    out = vyper.compile_code(source, contract_path=path.name, output_formats=["abi", "bytecode"])
    return Artifact(
        name,
        out["abi"],
        out["bytecode"],
        f"vyper {vyper.__version__}",
        hashlib.sha256(source.encode()).hexdigest(),
    )


def build_all() -> list[Path]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CONTRACT_NAMES:
        path = artifact_path(name)
        path.write_text(compile_contract(name).to_json())
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in build_all():
        print(f"wrote {written_path}", file=sys.stderr)
