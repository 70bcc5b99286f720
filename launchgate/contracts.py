"""The two 371OS contracts as the harness reads them: their names, the 371OS variables that name their addresses,
and their ABIs from the compiled artifacts the reference publishes (fixtures/contracts/build/, built with
`python -m reference371os.contracts`). The harness never compiles or deploys them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchgate import paths

BUILD_DIR = paths.CONTRACT_ARTIFACTS
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
