"""The two 371OS contracts as the harness reads them: their names, the 371OS variables that name their addresses,
and their ABIs from the compiled artifacts the reference publishes (fixtures/contracts/build/, built with
`python -m reference371os.contracts`). The harness never compiles or deploys them.
"""

from __future__ import annotations

import json
from typing import Any

from launchgate import paths

BUILD_DIR = paths.CONTRACT_ARTIFACTS
REGISTRY = "EmailVerificationRegistry"
DAO = "DaoGovernance"
CONTRACT_NAMES = (REGISTRY, DAO)

# DaoGovernance.outcomeOf / proposalOf().status
PROPOSAL_STATUS = {0: "unknown", 1: "recorded", 2: "passed", 3: "failed", 4: "executed", 5: "rejected"}
VOTE_OPTION_CODES = {"for": 0, "against": 1, "abstain": 2, "veto": 3}


class ArtifactError(Exception):
    """A missing or unreadable compiled artifact."""


def load_abi(name: str) -> list[dict[str, Any]]:
    """The contract's ABI from its published artifact: all the harness reads of it."""
    path = BUILD_DIR / f"{name}.json"
    try:
        return list(json.loads(path.read_text())["abi"])
    except FileNotFoundError as exc:
        raise ArtifactError(f"no compiled artifact {path}: run `python -m reference371os.contracts`") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is not a contract artifact with an ABI: {exc}") from exc
