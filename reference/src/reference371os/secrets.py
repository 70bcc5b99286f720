"""Stack secrets: generated once per state directory, kept in a 0600 file, never printed."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from reference371os.config import Secrets

# The deployer key is anvil's well-known dev account 0 (public knowledge, testnet only):
# the stack must write on the anvil chain it starts, which funds exactly these accounts.
ANVIL_DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def generate_secrets(path: Path) -> Secrets:
    """Returns the secrets at `path`, creating them on first use (idempotent)."""
    if path.exists():
        return Secrets.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "internal_token": secrets.token_urlsafe(32),
        "jwt_secret": secrets.token_urlsafe(48),
        "fernet_key": Fernet.generate_key().decode(),
        "admin_api_key": "lg_" + secrets.token_urlsafe(32),
        "role_passwords": {role: secrets.token_urlsafe(18) for role in ("admin", "ceo", "cfo", "clo")},
        "postiz_api_key": "sandbox_" + secrets.token_urlsafe(24),
        "chain_private_key": ANVIL_DEV_KEY_0,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return Secrets(**data)
