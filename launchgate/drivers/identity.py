"""The identity protocol: signup, email verification read from the mail sink, login, API keys."""

from __future__ import annotations

from typing import Any

from launchgate.drivers.errors import DriverError
from launchgate.drivers.http import ApiClient
from launchgate.drivers.mail import MailSink

VERIFICATION_HEADER = "X-371OS-Verification-Token"


class IdentityDriver:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def signup(self, email: str, password: str, name: str) -> dict[str, Any]:
        return dict(self.api.post("/api/auth/signup", json={"email": email, "password": password, "name": name}))

    def verify(self, token: str) -> None:
        self.api.post("/api/auth/verify", json={"token": token})

    def login(self, email: str, password: str) -> str:
        return str(self.api.post("/api/auth/login", json={"email": email, "password": password}, key="token"))

    def onboard(self, email: str, password: str, name: str, sink: MailSink) -> str:
        """Signup, the verification link from the delivered email, login: the new user's token."""
        self.signup(email, password, name)
        (mail, *_) = sink.wait_for(email, 1)
        token = mail["headers"].get(VERIFICATION_HEADER)
        if not token:
            raise DriverError(f"the verification email to {email} carries no {VERIFICATION_HEADER} header")
        self.verify(token)
        return self.login(email, password)
