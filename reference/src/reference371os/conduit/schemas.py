"""Request bodies in the 371OS field names. A malformed body is a 422 that names the field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Priority = Literal["low", "medium", "high", "urgent"]
Currency = Literal["USD", "ETH", "SNT"]

# ASCII addresses only: the delivered headers must read back byte for byte, or the hash breaks.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"[A-Za-z0-9.!#$%&'*+/?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
MAX_RECIPIENTS = 10_000


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.fullmatch(value) is not None


def _email(value: str) -> str:
    value = value.strip()
    if not is_valid_email(value):
        raise ValueError("not a valid email address")
    return value


class Recipient(BaseModel):
    # Not validated here: the optimiser drops invalid addresses and records that it did.
    email: str = Field(min_length=1, max_length=320)
    name: str | None = Field(None, max_length=200)
    segment: str | None = Field(None, max_length=100)
    metadata: dict[str, Any] | None = None


class Budget(BaseModel):
    maxCost: float = Field(ge=0, allow_inf_nan=False)
    currency: Currency = "USD"


class AgentRequirements(BaseModel):
    # Recorded; every agent still reviews (compliance cannot be opted out of).
    requiresCEOApproval: bool = True
    requiresCFOApproval: bool = True
    requiresCLOApproval: bool = True


class CampaignData(BaseModel):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    # A seeded template id, or the body text itself ({{name}} placeholders).
    template: str = Field(min_length=1, max_length=100_000)
    recipients: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    scheduledAt: datetime | None = None
    budget: Budget
    priority: Priority
    agentRequirements: AgentRequirements | None = None
    # Extensions: the sender address and a subject for a raw-text template.
    sender: str | None = Field(None, max_length=254)
    subject: str | None = Field(None, min_length=1, max_length=300)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)


class CreateCampaign(BaseModel):
    campaignData: CampaignData
    requiresDAOApproval: bool = True
    approvalMode: Literal["auto", "manual"] = "auto"


class Decision(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field(max_length=5_000)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value.strip()


class Privacy(BaseModel):
    maskSender: bool = False
    trackingProtection: bool = True
    blockchainVerification: bool = True
    anonymizeRecipient: bool = False


class EmailData(BaseModel):
    to: str = Field(max_length=254)
    subject: str = Field(max_length=1_000)
    content: str = Field(max_length=1_000_000)
    sender: str | None = Field(None, max_length=254)
    recipient: str | None = Field(None, max_length=254)
    timestamp: str | None = Field(None, max_length=40)
    emailId: str | None = Field(None, pattern=ID_PATTERN)
    priority: Priority = "medium"
    recipientCount: int = Field(1, ge=1, le=10_000_000)
    estimatedCost: float | None = Field(None, ge=0, allow_inf_nan=False)
    metadata: dict[str, Any] | None = None
    privacy: Privacy = Field(default_factory=Privacy)

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: str | None) -> str | None:
        # It travels in a header and enters the hash: an ISO 8601 instant, nothing else.
        if value is None:
            return None
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("not an ISO 8601 timestamp") from exc
        if not value.isascii() or " " in value:
            raise ValueError("not an ISO 8601 timestamp")
        return value

    @field_validator("to", "sender", "recipient")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)


class SendEmail(BaseModel):
    emailData: EmailData
    useProxiedDelivery: bool = True
    enableCognitiveOptimization: bool = True
