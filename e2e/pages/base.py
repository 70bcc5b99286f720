"""What every console page has: a main heading, the navigation, notices, field errors and the facts list."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from playwright.sync_api import Locator, Page, expect

from launchgate.drivers.errors import TimeoutWaitingError

T = TypeVar("T")


class ConsolePage:
    path = "/console"

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    def open(self, path: str | None = None) -> ConsolePage:
        self.page.goto(f"{self.base_url}{path or self.path}")
        return self

    @property
    def url(self) -> str:
        return self.page.url

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def expect_heading(self, text: str | re.Pattern[str]) -> None:
        expect(self.heading, f"main heading on {self.url}").to_have_text(text)

    def notice(self) -> Locator:
        return self.page.get_by_role("status")

    def error_summary(self) -> Locator:
        return self.page.get_by_role("alert")

    def expect_field_error(self, label: str, message: str | re.Pattern[str]) -> None:
        """The control labelled `label` is marked invalid and describes the error (beside the field)."""
        control = self.page.get_by_label(label, exact=True)
        expect(control, f"field {label!r} on {self.url}").to_have_attribute("aria-invalid", "true")
        pattern = message if isinstance(message, re.Pattern) else re.compile(re.escape(message))
        expect(control, f"error of field {label!r} on {self.url}").to_have_accessible_description(pattern)

    def choose(self, select: Locator, starting_with: str) -> str:
        """Selects the option whose text starts with `starting_with`; returns that text."""
        labels = [t.strip() for t in select.get_by_role("option").all_inner_texts()]
        chosen = next((t for t in labels if t.startswith(starting_with)), None)
        assert chosen, f"no option starting {starting_with!r} on {self.url}; offered: {labels}"
        select.select_option(label=chosen)
        return chosen

    def fact(self, term: str) -> str:
        """The value of a term in a facts list (each value is labelled by its term)."""
        return self.page.get_by_label(term, exact=True).inner_text().strip()

    def nav(self, link: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Log out").click()

    def reload_until(self, probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.3) -> T:
        """Reloads the page until `probe` reads what is awaited; names it and the last reading on time-out."""
        deadline = time.monotonic() + timeout
        last: T | None = None
        while True:
            last = probe()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise TimeoutWaitingError(
                    f"gave up after {timeout:.0f} s waiting for {what} on {self.url}; last seen: {last!r:.300}"
                )
            self.page.wait_for_timeout(interval * 1000)  # the browser idles; the poll itself is the condition
            self.page.reload()

    def tab_reaches(self, control: Locator, max_tabs: int = 80) -> bool:
        """True when pressing Tab from the top of the page moves the focus to `control`."""
        self.page.goto(self.page.url)  # a fresh load: focus starts at the document
        for _ in range(max_tabs):
            self.page.keyboard.press("Tab")
            if control.evaluate("el => el === document.activeElement"):
                return True
        return False

    def unlabelled_controls(self) -> list[str]:
        """Form controls the accessibility tree shows without a name, in the header and the main content."""
        unnamed = re.compile(r"^\s*- (textbox|combobox|checkbox|radio|spinbutton|listbox|slider)\b(?! \")")
        found: list[str] = []
        for landmark in ("banner", "main"):
            region = self.page.get_by_role(landmark)
            if region.count():
                found += [line.strip() for line in region.aria_snapshot().splitlines() if unnamed.match(line)]
        return found
