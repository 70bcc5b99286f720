"""How a step ends a scenario as inconclusive: no data, with its reason, never a silent skip or a pass."""

from __future__ import annotations

from typing import NoReturn

import pytest

INCONCLUSIVE = "inconclusive: "


def inconclusive(reason: str) -> NoReturn:
    """Ends a scenario as inconclusive (no data), with its reason: never a silent skip, never a pass."""
    pytest.skip(INCONCLUSIVE + reason)
