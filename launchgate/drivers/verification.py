"""The harness's own oracle for the 371OS email verification hash, written from `371os-contract.md` alone:

    sha256(sha256(JSON{subject,content,sender,recipient}) + ":" + sha256(JSON{timestamp,agentValidation,metadata||{}}))

as lowercase hex, where JSON is JavaScript's JSON.stringify (no spaces, keys in the order written, non-ASCII
kept as UTF-8). It shares no code with any system under test; tests/test_verification_hash.py holds
known-answer vectors worked out with coreutils' sha256sum.

The X-371OS-* mail headers carry the hash's inputs, so a delivered email is enough to recompute it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

HEADER_TIMESTAMP = "X-371OS-Timestamp"
HEADER_VALIDATION = "X-371OS-Agent-Validation"
HEADER_METADATA = "X-371OS-Metadata"
HEADER_CAMPAIGN = "X-371OS-Campaign"
HEADER_EMAIL_ID = "X-371OS-Email-Id"


def _stringify(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_hash(
    *, subject: str, content: str, sender: str, recipient: str, timestamp: str, agent_validation: Any,
    metadata: dict[str, Any] | None,
) -> str:
    """The hash a delivered email must carry, from its parts."""
    message = _digest(_stringify({"subject": subject, "content": content, "sender": sender, "recipient": recipient}))
    context = _digest(_stringify({"timestamp": timestamp, "agentValidation": agent_validation,
                                  "metadata": metadata or {}}))
    return _digest(f"{message}:{context}".encode())
