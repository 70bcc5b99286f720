"""DAO proposals: the list with its create form, and one proposal with its lifecycle, votes and tally."""

from __future__ import annotations

from urllib.parse import urljoin

from playwright.sync_api import expect

from e2e.pages.base import ConsolePage


class ProposalsPage(ConsolePage):
    path = "/console/dao"

    def create(self, title: str, description: str, kind: str = "Operational") -> ProposalPage:
        self.page.get_by_label("Proposal title").fill(title)
        self.page.get_by_label("What the DAO is asked to decide").fill(description)
        self.page.get_by_label("Kind of proposal").select_option(label=kind)
        self.page.get_by_role("button", name="Create proposal").click()
        proposal = ProposalPage(self.page, self.base_url)
        expect(proposal.heading, f"proposal page after creating it ({self.url})").to_have_text(f"Proposal: {title}")
        return proposal


class ProposalPage(ConsolePage):
    def open_proposal(self, proposal_id: str) -> ProposalPage:
        self.open(f"/console/dao/{proposal_id}")
        return self

    @property
    def proposal_id(self) -> str:
        return self.fact("Proposal ID")

    @property
    def status(self) -> str:
        return self.fact("Status")

    def _act(self, button: str, expected_status: str) -> None:
        self.page.get_by_role("button", name=button).click()
        expect(self.page.get_by_label("Status", exact=True),
               f"proposal status after '{button}' on {self.url}").to_have_text(expected_status)

    def submit(self) -> None:
        self._act("Submit for review", "submitted")

    def start_voting(self) -> None:
        self._act("Start voting", "voting active")

    def wait_for_status(self, status: str, timeout: float = 15.0) -> None:
        self.reload_until(lambda: self.status == status, timeout=timeout, what=f"proposal status {status!r}")

    def vote(self, identity_role: str, option: str = "For") -> None:
        """Casts a vote signed with the development identity of `identity_role` (ceo, cfo, cto, clo)."""
        form = self.page.get_by_role("form", name="Cast a signed vote")
        self.choose(form.get_by_label("Vote as"), f"{identity_role.upper()} development voter")
        form.get_by_role("radio", name=option, exact=True).check()
        form.get_by_role("button", name="Sign and cast vote").click()
        expect(self.notice(), f"vote notice on {self.url}").to_contain_text("signed vote was cast")

    def close_voting(self) -> None:
        self._act("Close voting and tally", "pending human approval")

    def approve(self, reason: str) -> None:
        form = self.page.get_by_role("form", name="The vote passed: confirm the result")
        form.get_by_label("Reason for your decision").fill(reason)
        form.get_by_role("button", name="Approve and execute").click()
        expect(self.page.get_by_label("Status", exact=True), f"proposal executed on {self.url}").to_have_text(
            "executed")

    def tally(self) -> dict[str, str]:
        terms = ("Outcome", "Votes for", "Votes against", "Abstentions", "Participation", "Quorum reached")
        return {t: self.fact(t) for t in terms}

    def votes(self) -> list[dict[str, str | None]]:
        table = self.page.get_by_role("table", name="Signed votes")
        out = []
        for row in table.get_by_role("row").all()[1:]:
            cells = row.get_by_role("cell")
            link = cells.nth(3).get_by_role("link")
            out.append({
                "voter": row.get_by_role("rowheader").inner_text().strip(),
                "option": cells.nth(0).inner_text().strip(),
                "power": cells.nth(1).inner_text().strip(),
                "signature": cells.nth(2).inner_text().strip(),
                "tx_href": urljoin(self.url, link.get_attribute("href") or "") if link.count() else None,
            })
        return out
