"""The harness's verification-hash oracle against known answers worked out by hand from the contract's formula
with coreutils, not Python:

    h() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
    c=$(h '{"subject":…,"content":…,"sender":…,"recipient":…}')
    x=$(h '{"timestamp":…,"agentValidation":…,"metadata":…}')
    h "$c:$x"
"""

from __future__ import annotations

import pytest

from launchgate.drivers.verification import expected_hash

VECTORS = [
    (  # ASCII; metadata absent, which the formula reads as {}
        {"subject": "Hello", "content": "Body", "sender": "a@x.io", "recipient": "b@y.io",
         "timestamp": "2026-01-01T00:00:00.000Z", "agent_validation": {"approved": True}, "metadata": None},
        "035c4403003d8d6f5c02eb3218827731817e338da69ff0d15f55344f60575d18",
    ),
    (  # non-ASCII stays UTF-8 (JSON.stringify escapes none of it), a newline is \n, keys keep their order
        {"subject": "Grüße", "content": "Zeile 1\nZeile 2 \u2013 €", "sender": "s@x.io", "recipient": "r@y.io",
         "timestamp": "2026-12-03T10:00:00Z",
         "agent_validation": {"approved": False, "overallScore": 0.5, "issues": ["subject-too-short"]},
         "metadata": {"campaign": "c-1", "n": 3}},
        "e9946147607932bb5503f5e456c92f1a313cba3557061c6bf6e3f5c69a6aaa87",
    ),
]


@pytest.mark.parametrize(("parts", "known"), VECTORS)
def test_the_oracle_gives_the_known_answer(parts: dict[str, object], known: str) -> None:
    assert expected_hash(**parts) == known  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["subject", "content", "sender", "recipient", "timestamp"])
def test_every_input_changes_the_hash(field: str) -> None:
    parts = dict(VECTORS[0][0])
    parts[field] = f"{parts[field]}!"
    assert expected_hash(**parts) != VECTORS[0][1]  # type: ignore[arg-type]
