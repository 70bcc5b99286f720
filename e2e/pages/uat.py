"""The UAT sign-off page: one section per @uat scenario, with its Gherkin text and an answer form."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class UatPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    def open(self) -> UatPage:
        self.page.goto(f"{self.base_url}/")
        return self

    @property
    def url(self) -> str:
        return self.page.url

    def scenario_names(self) -> list[str]:
        nav = self.page.get_by_role("navigation", name="Scenarios")
        return [name.strip() for name in nav.get_by_role("link").all_inner_texts()]

    def scenario(self, name: str) -> Locator:
        return self.page.get_by_role("region", name=name, exact=True)

    def gherkin(self, name: str) -> str:
        return self.scenario(name).get_by_text("Scenario:", exact=False).inner_text()

    def answer(self, name: str, *, tester: str | None, worked: bool | None, rating: int | None,
               comment: str = "") -> None:
        section = self.scenario(name)
        if tester is not None:
            section.get_by_label("Your name").fill(tester)
        if worked is not None:
            section.get_by_role("radio", name="Pass: it worked as written" if worked else "Fail: it did not").check()
        if rating is not None:
            section.get_by_role("group", name="Your rating").get_by_role("radio", name=str(rating)).check()
        if comment:
            section.get_by_label("Comment (optional)").fill(comment)
        section.get_by_role("button", name="Record my answer").click()

    def expect_saved(self, name: str) -> None:
        expect(self.page.get_by_role("status"), f"saved notice on {self.url}").to_contain_text(f"“{name}”")

    def errors_of(self, name: str) -> list[str]:
        return [t.strip() for t in self.scenario(name).get_by_role("alert").get_by_role("listitem").all_inner_texts()]

    def previous_answer(self, name: str) -> str:
        return self.scenario(name).get_by_text("Your answer so far").inner_text()
