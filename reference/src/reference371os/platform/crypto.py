"""Password hashing, one-way token digests, and the vault that encrypts third-party keys at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

# scrypt cost: 4 MiB and a few milliseconds per hash, so a 1,000-user signup load stays fast
# while an offline guess still costs the same memory-hard work.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**12, 8, 1, 32
API_KEY_PREFIX = "lg_"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_verification_token() -> str:
    return secrets.token_urlsafe(32)


class KeyVault:
    """Seals third-party API keys with Fernet. `plaintext` is the plaintext-keys fault: keys stored as given.

    Reading accepts both formats, so rows written while the fault was on stay readable after it is off.
    """

    def __init__(self, fernet_key: str, *, plaintext: bool = False) -> None:
        self._fernet = Fernet(fernet_key.encode())
        self._plaintext = plaintext

    def seal(self, value: str) -> tuple[str, str]:
        """(stored text, format)"""
        if self._plaintext:
            return value, "plain"
        return self._fernet.encrypt(value.encode()).decode(), "fernet"

    def open(self, stored: str, fmt: str) -> str:
        if fmt == "plain":
            return stored
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored key cannot be decrypted with the current Fernet key") from exc
