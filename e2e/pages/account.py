"""Sign up, verification and log in."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import expect

from e2e.pages.base import ConsolePage


class SignupPage(ConsolePage):
    path = "/console/signup"

    def sign_up(self, name: str, email: str, password: str) -> VerifyPage:
        self.page.get_by_label("Your name").fill(name)
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Create account").click()
        return VerifyPage(self.page, self.base_url)


class VerifyPage(ConsolePage):
    path = "/console/verify"

    def follow_link(self, token: str) -> VerifyPage:
        """Opens the verification link the email carries."""
        self.page.goto(f"{self.base_url}{self.path}?token={quote(token)}")
        return self

    def confirm(self) -> LoginPage:
        self.page.get_by_role("button", name="Verify my email address").click()
        login = LoginPage(self.page, self.base_url)
        expect(login.notice(), f"verification notice on {self.url}").to_contain_text("verified")
        return login


class LoginPage(ConsolePage):
    path = "/console/login"

    def log_in(self, email: str, password: str) -> ConsolePage:
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("button", name="Log out"), f"logged in on {self.url}").to_be_visible()
        return ConsolePage(self.page, self.base_url)
