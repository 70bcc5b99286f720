"""The reference 371OS's email verification hash, as `371os-contract.md` defines it, and the mail headers that carry
its inputs so that anyone holding a delivered email can recompute it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

HEADER_TIMESTAMP = "X-371OS-Timestamp"
HEADER_VALIDATION = "X-371OS-Agent-Validation"
HEADER_METADATA = "X-371OS-Metadata"
HEADER_HASH = "X-371OS-Verification-Hash"
HEADER_CAMPAIGN = "X-371OS-Campaign"
HEADER_EMAIL_ID = "X-371OS-Email-Id"


def js_json(value: Any) -> str:
    """JSON as JavaScript's JSON.stringify writes it: no spaces, keys in insertion order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def verification_hash(
    *,
    subject: str,
    content: str,
    sender: str,
    recipient: str,
    timestamp: str,
    agent_validation: Any,
    metadata: dict[str, Any] | None,
) -> str:
    message = js_json({"subject": subject, "content": content, "sender": sender, "recipient": recipient})
    content_hash = sha256_hex(message)
    context_hash = sha256_hex(
        js_json({"timestamp": timestamp, "agentValidation": agent_validation, "metadata": metadata or {}})
    )
    return sha256_hex(f"{content_hash}:{context_hash}")
