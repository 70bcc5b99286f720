"""The social post composer and the feedback form."""

from __future__ import annotations

from playwright.sync_api import expect

from e2e.pages.base import ConsolePage


class SocialPage(ConsolePage):
    path = "/console/social"

    def publish(self, text: str, platforms: list[str]) -> None:
        self.page.get_by_label("Post", exact=True).fill(text)
        for platform in platforms:
            self.page.get_by_role("checkbox", name=platform, exact=True).check()
        self.page.get_by_role("button", name="Publish post").click()

    def posts(self) -> list[list[str]]:
        table = self.page.get_by_role("table", name="Recent posts")
        return [[row.get_by_role("rowheader").inner_text(), *row.get_by_role("cell").all_inner_texts()]
                for row in table.get_by_role("row").all()[1:]]


class FeedbackPage(ConsolePage):
    path = "/console/feedback"

    def send(self, tester: str, rating: int, comment: str = "", scenario: str = "") -> None:
        self.page.get_by_label("Your name").fill(tester)
        if scenario:
            self.page.get_by_label("What you tried (optional)").fill(scenario)
        self.page.get_by_role("radio", name=f"{rating} —").check()
        if comment:
            self.page.get_by_label("Comment (optional)").fill(comment)
        self.page.get_by_role("button", name="Send feedback").click()

    def expect_thanks(self) -> None:
        expect(self.notice(), f"feedback notice on {self.url}").to_contain_text("feedback was recorded")
