"""Secrets never reach a report: evidence is redacted as it is read, before scoring and rendering.

Redacted: values of environment variables whose names contain KEY, TOKEN, SECRET, PASSWORD or PRIVATE;
the run's own stack secrets (`<run>/stack/secrets.json`); hex private keys (0x + 64 hex digits);
launchgate API keys (`lg_…`); and string values under detail fields named like a secret (api_key, token...).
Transaction hashes have the same shape as private keys, so the hashes that evidence names as hashes are
kept (an allowlist): the report must link them to the explorer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from launchgate.evidence import Evidence

MASK = "[redacted]"
SENSITIVE_ENV_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PRIVATE")
SENSITIVE_FIELD_WORDS = frozenset({"key", "token", "secret", "password", "passwd", "private", "apikey", "credentials"})
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would mask ordinary words everywhere
# Settings that merely mention a key (PIP_KEYRING_PROVIDER=disabled, SSH_KEY_PATH=/root/.ssh/id) are not secrets;
# masking their values would blank ordinary words and paths all over the report.
NOT_SECRETS = frozenset({"disabled", "enabled", "default", "none", "null", "false", "true", "auto", "import",
                         "keyring", "unset", "changeme"})
HEX_KEY = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9a-fA-F])")
API_KEY = re.compile(r"(?<![0-9A-Za-z])lg_[A-Za-z0-9_\-]{8,}")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def worth_masking(value: object) -> bool:
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
        return False
    return value.lower() not in NOT_SECRETS and not value.startswith(("/", "./", "~/"))


def sensitive_env(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SENSITIVE_ENV_WORDS)


def sensitive_field(name: str) -> bool:
    """`api_key`, `accessToken`, `private_key` are; `keyword` (a Gherkin step's) is not."""
    parts = {p.lower() for p in _WORDS.findall(name)}
    return bool(parts & SENSITIVE_FIELD_WORDS)


class Redactor:
    def __init__(self, secrets: Iterable[str] = (), allow: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if worth_masking(s)}, key=len, reverse=True)
        # One alternation, longest first, so a secret containing another is masked whole.
        self._literal = re.compile("|".join(map(re.escape, values))) if values else None
        self._allow = {a.lower() for a in allow}

    @classmethod
    def for_run(cls, run_dir: Path, records: Iterable[Evidence] = (),
                environ: Mapping[str, str] | None = None) -> Redactor:
        env = os.environ if environ is None else environ
        secrets = [value for name, value in env.items() if sensitive_env(name)]
        secrets += _stack_secrets(run_dir / "stack" / "secrets.json")
        return cls(secrets, allow=known_hashes(records))

    def text(self, text: str) -> str:
        if self._literal is not None:
            text = self._literal.sub(MASK, text)
        text = HEX_KEY.sub(lambda m: m.group(0) if m.group(0).lower() in self._allow else MASK, text)
        return API_KEY.sub(MASK, text)

    def value(self, obj: Any, field: str | None = None) -> Any:
        if isinstance(obj, str):
            return MASK if field is not None and sensitive_field(field) and obj else self.text(obj)
        if isinstance(obj, dict):
            return {k: self.value(v, str(k)) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.value(v, field) for v in obj]
        return obj

    def record(self, rec: Evidence) -> Evidence:
        return dataclasses.replace(
            rec,
            name=self.text(rec.name),
            target=self.text(rec.target),
            attachments=[self.text(a) for a in rec.attachments],
            details=self.value(rec.details),
        )


def known_hashes(records: Iterable[Evidence]) -> set[str]:
    """Transaction and block hashes the evidence declares as such (details keys named *hash* or tx)."""
    found: set[str] = set()
    for rec in records:
        for key, value in rec.details.items():
            lowered = str(key).lower()
            if isinstance(value, str) and ("hash" in lowered or lowered in ("tx", "transaction")):
                found.add(value.lower())
    return found


def _stack_secrets(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return out
