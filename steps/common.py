"""Steps and fixtures every feature shares: the target and the scenario's scratch context."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given

from launchgate.bdd.session import TargetSession


@pytest.fixture
def target(target_session: TargetSession) -> TargetSession:
    return target_session


@pytest.fixture
def context() -> dict[str, Any]:
    """What one step hands to the next within a scenario."""
    return {}


@given("the 371OS target is reachable")
def target_is_reachable(target: TargetSession) -> None:
    # The session already refused to start against an unreachable target; this names the precondition.
    assert target.target.services
