"""The framework's end-to-end flow in a real browser: from creating an email campaign to verifying the
results on the blockchain, with the executives and the DAO in between; and a rejection on the way."""

from __future__ import annotations

import pytest

from e2e.conftest import FlowFactory
from e2e.flows import campaign_rejected_by_cfo, campaign_to_chain
from e2e.target import E2ETarget

pytestmark = pytest.mark.browser


def test_campaign_from_signup_to_chain(make_flow: FlowFactory, e2e_target: E2ETarget) -> None:
    flow = make_flow("A new user's campaign goes from sign-up to verified on chain", tags=("critical",))
    result = campaign_to_chain(flow, e2e_target)
    assert result.chain, "the chain checks returned nothing"
    assert not flow.console_errors, f"the browser console reported errors: {flow.console_errors}"


def test_a_cfo_rejection_stops_the_campaign(make_flow: FlowFactory, e2e_target: E2ETarget) -> None:
    flow = make_flow("The CFO rejects a campaign in the inbox and nothing is sent",
                     criterion="core.agent-approvals")
    campaign_rejected_by_cfo(flow, e2e_target)
    assert not flow.console_errors, f"the browser console reported errors: {flow.console_errors}"
