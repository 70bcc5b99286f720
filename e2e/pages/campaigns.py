"""The campaign builder, one campaign's page, and the executives' approvals inbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from playwright.sync_api import Locator, expect

from e2e.pages.base import ConsolePage

FINAL = ("completed", "rejected", "failed")


@dataclass
class CampaignDraft:
    name: str
    recipients: list[str]
    description: str = "Quarterly product news for our community, aligned with the growth plan"
    template: str = "Product Update"
    budget: str = "250"
    priority: str = "Medium"
    manual_approval: bool = True
    dao_approval: bool = True


class CampaignBuilderPage(ConsolePage):
    path = "/console/campaigns/new"

    def fill(self, draft: CampaignDraft) -> CampaignBuilderPage:
        page = self.page
        page.get_by_label("Campaign name").fill(draft.name)
        page.get_by_label("Description").fill(draft.description)
        self.choose(page.get_by_label("Template"), draft.template)
        page.get_by_label("Recipients").fill("\n".join(draft.recipients))
        page.get_by_label("Budget (maximum cost)").fill(draft.budget)
        page.get_by_label("Priority").select_option(label=draft.priority)
        mode = "manual" if draft.manual_approval else "automatic"
        page.get_by_role("radio", name=re.compile(rf"\({mode}\)")).check()
        dao = page.get_by_role("checkbox", name="Requires DAO approval")
        dao.check() if draft.dao_approval else dao.uncheck()
        return self

    @property
    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name="Create campaign")

    def submit(self) -> CampaignPage:
        self.submit_button.click()
        return CampaignPage(self.page, self.base_url)

    def create(self, draft: CampaignDraft) -> CampaignPage:
        campaign = self.fill(draft).submit()
        expect(campaign.heading, f"campaign page after creating it ({self.url})").to_have_text(
            f"Campaign: {draft.name}"
        )
        return campaign


@dataclass
class DeliveryRow:
    recipient: str
    status: str
    verification_hash: str
    tx_text: str
    tx_href: str | None
    chain_state: str  # what the page says the chain says of the anchor ("confirmed in block 16 (…)")


class CampaignPage(ConsolePage):
    @property
    def campaign_id(self) -> str:
        return self.fact("Campaign ID")

    @property
    def status(self) -> str:
        return self.fact("Status")

    def open_campaign(self, campaign_id: str) -> CampaignPage:
        self.open(f"/console/campaigns/{campaign_id}")
        return self

    def wait_for_status(self, wanted: str | tuple[str, ...], timeout: float = 30.0) -> str:
        wanted = (wanted,) if isinstance(wanted, str) else wanted

        def probe() -> str | None:
            status = self.status
            if status in wanted:
                return status
            if status in FINAL:  # a different final status will not change: fail now, naming it
                raise AssertionError(f"campaign ended {status!r} ({self.fact('Stage')}), expected {wanted}")
            return None

        return self.reload_until(probe, timeout=timeout, what=f"campaign status {' or '.join(wanted)}")

    def dao_proposal_link(self, timeout: float = 20.0) -> Locator:
        """The link to the campaign's DAO proposal, once the conduit has created it."""
        fact = self.page.get_by_label("DAO approval", exact=True)
        self.reload_until(lambda: fact.get_by_role("link").count() > 0, timeout=timeout,
                          what="the campaign's DAO proposal")
        return fact.get_by_role("link")

    def deliveries(self) -> list[DeliveryRow]:
        table = self.page.get_by_role("table", name="Deliveries")
        rows = []
        for row in table.get_by_role("row").all()[1:]:  # the first row holds the column headers
            cells = row.get_by_role("cell")
            link = cells.nth(2).get_by_role("link")
            tx_lines = [line.strip() for line in cells.nth(2).inner_text().splitlines() if line.strip()]
            rows.append(DeliveryRow(
                recipient=row.get_by_role("rowheader").inner_text().strip(),
                status=cells.nth(0).inner_text().split("\n")[0].strip(),
                verification_hash=cells.nth(1).inner_text().strip(),
                tx_text=tx_lines[0] if tx_lines else "",
                tx_href=urljoin(self.url, link.get_attribute("href") or "") if link.count() else None,
                chain_state=" ".join(tx_lines[1:]),
            ))
        return rows

    def delivery_summary(self) -> str:
        return self.page.get_by_role("region", name="Delivery").get_by_role("paragraph").first.inner_text()


class ApprovalsInboxPage(ConsolePage):
    path = "/console/approvals"

    def approval_for(self, campaign_id: str) -> Locator:
        return self.page.get_by_role("region", name=f"Campaign {campaign_id}")

    def wait_for_campaign(self, campaign_id: str, timeout: float = 15.0) -> Locator:
        card = self.approval_for(campaign_id)
        self.reload_until(lambda: card.count() > 0, timeout=timeout,
                          what=f"campaign {campaign_id} in the approvals inbox")
        return card

    def submit_decision(self, campaign_id: str, decision: str, reason: str) -> Locator:
        card = self.wait_for_campaign(campaign_id)
        card.get_by_label("Reason for your decision").fill(reason)
        card.get_by_role("button", name=decision, exact=True).click()
        return self.approval_for(campaign_id)

    def decide(self, campaign_id: str, decision: str, reason: str) -> None:
        self.submit_decision(campaign_id, decision, reason)
        expect(self.notice(), f"decision notice on {self.url}").to_contain_text("Decision recorded")
        expect(self.approval_for(campaign_id), f"campaign {campaign_id} left the inbox").to_have_count(0)

    def approve(self, campaign_id: str, reason: str) -> None:
        self.decide(campaign_id, "Approve", reason)

    def reject(self, campaign_id: str, reason: str) -> None:
        self.decide(campaign_id, "Reject", reason)
