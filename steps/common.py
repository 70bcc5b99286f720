"""Steps and fixtures every feature shares: the target, its governance API, and the gates' thresholds.

Values pass from one step to the next as fixtures: a step that produces one names it (`target_fixture=`), and
the steps after it ask for it by that name, typed."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import pytest
from pytest_bdd import given

from launchgate import paths
from launchgate.bdd.session import TargetSession
from launchgate.drivers.governance import GovernanceDriver
from launchgate.gates.loader import load_gates
from launchgate.gates.model import Criterion, GatesConfig
from launchgate.runner import GATES_FILE_ENV


@pytest.fixture
def target(target_session: TargetSession) -> TargetSession:
    return target_session


@pytest.fixture
def governance(target: TargetSession) -> GovernanceDriver:
    """The target's governance API as an administrator, shared by a scenario's steps."""
    return target.governance()


@given("the 371OS target is reachable")
def target_is_reachable(target: TargetSession) -> None:
    # The session already refused to start against an unreachable target; this names the precondition.
    assert target.target.services


@functools.cache
def _gates() -> GatesConfig:
    """The run's gates file (`launchgate run --gates-file`, handed down through GATES_FILE_ENV), else gates.yaml."""
    return load_gates(Path(os.environ.get(GATES_FILE_ENV) or paths.GATES_FILE))


def gate_criterion(criterion_id: str) -> Criterion:
    """A criterion of gates.yaml, the only home of thresholds: steps ask it how much is enough."""
    criterion = _gates().criterion(criterion_id)
    assert criterion is not None, f"gates.yaml has no criterion {criterion_id}"
    return criterion


def required(criterion_id: str) -> int:
    """The count a criterion asks for (its pass threshold, rounded up)."""
    return math.ceil(gate_criterion(criterion_id).pass_.value)
