"""Verifiable mail: canonical forms, the X-371OS headers, and SMTP delivery to the sink.

The hash covers the message as the recipient reads it back, so anyone holding the email can recompute it:
- subject: whitespace collapsed (mail readers unfold and strip it anyway);
- content: LF line endings and no trailing newline (the body a parser returns, CRLF → LF, end stripped);
- sender / recipient: the bare From / To addresses;
- timestamp, agent validation and metadata: JSON in headers, ASCII-escaped and with '=' escaped, so that
  header folding and encoded-word decoding cannot alter them.
"""

from __future__ import annotations

import email.policy
import json
import re
import smtplib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from reference371os.kit.hashing import (
    HEADER_CAMPAIGN,
    HEADER_EMAIL_ID,
    HEADER_HASH,
    HEADER_METADATA,
    HEADER_TIMESTAMP,
    HEADER_VALIDATION,
    verification_hash,
)

# RFC 5322 allows 998-character lines; folding only at whitespace keeps headers intact on the way back.
POLICY = email.policy.SMTP.clone(max_line_length=998, mangle_from_=False)
MESSAGE_ID_DOMAIN = "conduit.371os.local"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class PermanentDeliveryError(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


class TransientDeliveryError(Exception):
    """The server could not be reached or asked us to retry (4xx)."""


class MailServerUnreachable(TransientDeliveryError):
    """No SMTP session at all: every campaign would fail the same way, so the worker backs off as a whole."""


def canonical_subject(subject: str) -> str:
    return " ".join(subject.split())


def canonical_content(content: str) -> str:
    """The body as a reader gets it back: set_content ends every line with CRLF and adds a final one, the
    reader turns CRLF into LF and strips trailing newlines (launchgate.drivers.mail.recompute_hash)."""
    # bytes.splitlines splits on \r, \n and \r\n only, exactly as EmailMessage.set_content does.
    lines = content.encode("utf-8").splitlines()
    return "\n".join(line.decode("utf-8") for line in lines).rstrip("\n")


def header_json(value: Any) -> str:
    """JSON for a header: ASCII only, and no '=' (JSON allows it escaped), so no encoded-word can appear."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("=", "\\u003d")


def render(text: str, values: Mapping[str, Any]) -> str:
    """Replaces {{key}} placeholders; unknown keys stay visible rather than silently vanishing."""

    def sub(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return PLACEHOLDER.sub(sub, text)


@dataclass(frozen=True)
class VerifiedMail:
    """Everything the hash covers, plus the ids the headers carry."""

    email_id: str
    message_id: str
    sender: str
    recipient: str
    subject: str
    content: str
    timestamp: str
    agent_validation: Any
    metadata: dict[str, Any]
    campaign_id: str | None = None

    @property
    def verification_hash(self) -> str:
        return verification_hash(
            subject=self.subject,
            content=self.content,
            sender=self.sender,
            recipient=self.recipient,
            timestamp=self.timestamp,
            agent_validation=self.agent_validation,
            metadata=self.metadata,
        )

    def to_message(self) -> EmailMessage:
        msg = EmailMessage(policy=POLICY)
        msg["From"] = self.sender
        msg["To"] = self.recipient
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(_parse_iso(self.timestamp))
        msg["Message-ID"] = self.message_id
        msg["List-Unsubscribe"] = f"<mailto:{self.sender}?subject=unsubscribe>"
        msg[HEADER_TIMESTAMP] = self.timestamp
        msg[HEADER_VALIDATION] = header_json(self.agent_validation)
        msg[HEADER_METADATA] = header_json(self.metadata)
        msg[HEADER_HASH] = self.verification_hash
        if self.campaign_id:
            msg[HEADER_CAMPAIGN] = self.campaign_id
        msg[HEADER_EMAIL_ID] = self.email_id
        msg.set_content(self.content)
        return msg


def make_message_id(email_id: str) -> str:
    # Email ids may hold ':' which a Message-ID may not; a name-based UUID is stable and always valid.
    return f"<{uuid.uuid5(uuid.NAMESPACE_URL, f'371os-email:{email_id}').hex}@{MESSAGE_ID_DOMAIN}>"


def _parse_iso(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SmtpConnection:
    """One SMTP session to the sink for a batch of messages; reopened after a failure."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: VerifiedMail) -> None:
        data = mail.to_message().as_bytes(policy=POLICY)
        try:
            if self._smtp is None:
                self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            refused = self._smtp.sendmail(mail.sender, [mail.recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise _classify(exc.recipients.get(mail.recipient, (550, b"refused"))[0], str(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _classify(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise MailServerUnreachable(f"{type(exc).__name__}: {exc}") from exc
        except smtplib.SMTPException as exc:
            self.close()
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise PermanentDeliveryError(f"recipient refused: {refused}")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _classify(code: int, text: str) -> Exception:
    if 500 <= code < 600:
        return PermanentDeliveryError(text[:300])
    return TransientDeliveryError(text[:300])


def smtp_check(host: str, port: int) -> None:
    """Health check: connect and NOOP."""
    with smtplib.SMTP(host, port, timeout=1) as smtp:
        code, _ = smtp.noop()
        if code != 250:
            raise RuntimeError(f"SMTP NOOP answered {code}")
