"""What the UAT sign-off page's forms need: form bodies, CSRF tokens and field errors. No JavaScript anywhere: plain
HTML forms, posted and redirected. (The reference's console has its own: the two programs share no code.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

ASSETS = Path(__file__).parent / "webassets"
FAVICON = ASSETS / "favicon.svg"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 1_000_000
CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "lg_csrf"


class FormError(Exception):
    """A body that is not a form we can read (wrong type, too big, bad encoding): a 4xx page, never a trace."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass
class Form:
    """A parsed urlencoded body. Browsers send every field as text; checkboxes may repeat."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def text(self, name: str) -> str:
        return self.get(name).strip()

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def checked(self, name: str) -> bool:
        return name in self.values


def parse_form(content_type: str | None, body: bytes) -> Form:
    if (content_type or "").split(";")[0].strip().lower() != FORM_TYPE:
        raise FormError(415, "this page accepts HTML form posts only")
    if len(body) > MAX_FORM_BYTES:
        raise FormError(413, f"the form is larger than {MAX_FORM_BYTES // 1000} kB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError(400, "the form is not UTF-8 encoded") from exc
    return Form(parse_qs(text, keep_blank_values=True, max_num_fields=2000))


class CsrfGuard:
    """Synchronizer tokens bound to a random per-browser cookie: the form carries HMAC(key, cookie).

    The cookie is HttpOnly and SameSite=Strict, so another site can neither read it nor make the browser
    send it; the token in the form proves the post came from a page we rendered for this browser.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def derived(cls, secret: str, label: str) -> CsrfGuard:
        # A key of its own, so a leaked CSRF token says nothing about the secret it came from.
        return cls(hmac.new(secret.encode(), f"csrf:{label}".encode(), hashlib.sha256).digest())

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def token(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token(cookie), token)


@dataclass
class FieldErrors:
    """Errors per form field, in the order they were found, for the summary and beside each field."""

    errors: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def get(self, name: str) -> str | None:
        return self.errors.get(name)

    def items(self) -> list[tuple[str, str]]:
        return list(self.errors.items())


def stylesheet(own: Path | None = None) -> bytes:
    """The pages' shared styles (webassets/pages.css), then a page's own rules."""
    shared = (ASSETS / "pages.css").read_bytes()
    return shared if own is None else shared + b"\n" + own.read_bytes()
