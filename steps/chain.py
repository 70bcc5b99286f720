"""Chain steps: the harness confirms on chain what the target says it anchored and decided.

Every chain read goes through the chain driver, which writes a `chain` evidence record per confirmation.
How many campaigns and proposals the Closed Beta needs comes from gates.yaml, the only home of thresholds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_bdd import given, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.session import TargetSession
from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.chain import ChainDriver, ChainError, ProposalConfirmation
from launchgate.drivers.governance import GovernanceDriver
from launchgate.drivers.mail import MailSink
from steps.campaigns import TrackedCampaign, create, recipients_for
from steps.common import required
from steps.proposals import carry_to_execution, cast, open_vote

REHEARSAL_VOTERS = ("ceo", "cfo")
RECIPIENTS_PER_CAMPAIGN = 2  # two, so that a dropped email still leaves one in the mailbox to recompute
# What beta users completed is confirmed on a sample of this many campaigns and as many proposals, the newest: a
# census of everything ever completed took 1.1 s on a fresh stack and over 300 s at ~2,000 campaigns.
CENSUS_SAMPLE = 50


def _sink(target: TargetSession) -> MailSink:
    if "sink" not in target.target.services:
        inconclusive(f"target {target.name} has no mail sink: the harness cannot recompute hashes from delivered mail")
    return target.mail_sink()


def _delivered_messages(target: TargetSession, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    """The mailbox's copies of a campaign's emails (a finished campaign's mail is in the sink already)."""
    sink = _sink(target)
    wanted = {d["emailId"] for d in campaign["deliveries"]}
    messages = []
    for recipient in {d["email"] for d in campaign["deliveries"]}:
        messages += [m for m in sink.messages(to=recipient) if m["headers"].get("X-371OS-Email-Id") in wanted]
    return messages


def _run_campaigns(campaigns: CampaignsDriver, count: int) -> list[TrackedCampaign]:
    created = [create(campaigns, campaign_body(recipients_for(RECIPIENTS_PER_CAMPAIGN, "chain"))) for _ in range(count)]
    finals = [TrackedCampaign(c.driver, c.recipients, c.driver.wait_until_final(c.id)) for c in created]
    for final in finals:
        record = final.record
        assert record["status"] == "completed", f"campaign {final.id} ended {record['status']}: {record.get('error')}"
    return finals


def _carry_to_execution(target: TargetSession, governance: GovernanceDriver, title: str) -> dict[str, Any]:
    final = carry_to_execution(target, governance, open_vote(governance, title)["id"], REHEARSAL_VOTERS)
    assert final["status"] == "executed", f"proposal {final['id']} is {final['status']}, expected executed"
    return final


@dataclass(frozen=True)
class Census:
    """The newest campaigns completed and proposals executed on the target, as the census examines them."""

    completed: list[dict[str, Any]]
    executed: list[dict[str, Any]]


# -- background -----------------------------------------------------------------------------------------------
@given("the target's chain answers with the chain id its profile declares", target_fixture="chain")
def chain_answers(target: TargetSession) -> ChainDriver:
    return target.chain_driver()  # connects: unreachable, wrong or dead chain ids fail here


# -- campaigns --------------------------------------------------------------------------------------------------
@given("a member has run a campaign for 2 recipients that needs no DAO vote", target_fixture="campaign")
def run_one_campaign(target: TargetSession) -> TrackedCampaign:
    return _run_campaigns(target.campaigns(), 1)[0]


@then("each delivered email's hash, recomputed from the mailbox, is anchored on chain",
      target_fixture="anchored_messages")
def emails_anchored(target: TargetSession, chain: ChainDriver, campaign: TrackedCampaign) -> list[dict[str, Any]]:
    messages = _delivered_messages(target, campaign.record)
    assert messages, f"no email of campaign {campaign.id} is in the mailbox to recompute"
    for message in messages:
        chain.verify_email(message)
    return messages


@then("the anchor transactions the API reports are the ones on chain")
def api_anchors_match(chain: ChainDriver, campaign: TrackedCampaign, anchored_messages: list[dict[str, Any]]) -> None:
    confirmed = chain.confirm_campaign(campaign.record, anchored_messages)
    assert confirmed.recomputed == len(anchored_messages)


@when("the content of a delivered email is altered", target_fixture="altered_email")
def alter_email(target: TargetSession, chain: ChainDriver, campaign: TrackedCampaign) -> dict[str, Any]:
    messages = _delivered_messages(target, campaign.record)
    assert messages, f"no email of campaign {campaign.id} is in the mailbox to alter"
    original = messages[0]
    assert chain.find_email_anchor(original) is not None, "the unaltered email is not anchored"
    altered = copy.deepcopy(original)
    altered["body"] = original["body"].replace("\n", "\nP.S. Reply to claim your prize.\n", 1)
    assert altered["body"] != original["body"]
    return altered


@then("the hash recomputed from the altered email is not anchored on chain")
def altered_not_anchored(chain: ChainDriver, altered_email: dict[str, Any]) -> None:
    anchor = chain.find_email_anchor(altered_email)
    assert anchor is None, f"the altered email's hash is anchored in {anchor.confirmation.tx_hash}"


# -- governance -------------------------------------------------------------------------------------------------
@given("a proposal has been voted for by the CEO and the CFO and approved", target_fixture="proposal")
def executed_proposal(target: TargetSession, governance: GovernanceDriver) -> dict[str, Any]:
    return _carry_to_execution(target, governance, "Publish the quarterly transparency report")


@then("the DAO contract's tally and outcome equal the API's", target_fixture="proposal_on_chain")
def tally_on_chain(chain: ChainDriver, governance: GovernanceDriver, proposal: dict[str, Any]) -> ProposalConfirmation:
    pid = proposal["id"]
    return chain.confirm_proposal(governance.get(pid), governance.votes(pid))


@then("the DAO contract records the proposal as executed")
def executed_on_chain(proposal_on_chain: ProposalConfirmation) -> None:
    status = proposal_on_chain.chain.status
    assert status == "executed", f"the DAO contract says {status}"


@given("voting on a proposal has started and the CEO has voted", target_fixture="ceo_vote")
def ceo_voted(target: TargetSession, governance: GovernanceDriver) -> dict[str, Any]:
    proposal = open_vote(governance, "Fund the community translation effort")
    return dict(cast(target, governance, proposal["id"], "ceo")["data"])


@then("the DAO contract refuses a second vote by the CEO")
def second_vote_refused(chain: ChainDriver, ceo_vote: dict[str, Any]) -> None:
    vote = ceo_vote
    assert vote.get("transaction_hash"), "the API gives no transaction for the CEO's vote"
    relay = chain.wait_confirmed(vote["transaction_hash"], "the CEO's vote").sender
    reason = chain.vote_refusal(vote["proposal_id"], vote["voter_address"], "against", vote["voting_power"], relay)
    assert reason and "already voted" in reason, f"the DAO contract would accept a second vote (reason: {reason!r})"


# -- the Closed Beta's counts -----------------------------------------------------------------------------------
@when("the harness runs as many campaigns as the Closed Beta requires", target_fixture="rehearsed_campaigns")
def rehearse_campaigns(target: TargetSession) -> list[TrackedCampaign]:
    return _run_campaigns(target.campaigns(), required("beta.campaigns-confirmed"))


@then("each of those campaigns is confirmed on chain")
def campaigns_confirmed(target: TargetSession, chain: ChainDriver, rehearsed_campaigns: list[TrackedCampaign]) -> None:
    for campaign in rehearsed_campaigns:
        messages = _delivered_messages(target, campaign.record)
        assert messages, f"no email of campaign {campaign.id} is in the mailbox to recompute"
        chain.confirm_campaign(campaign.record, messages)


@when("the harness carries as many DAO proposals to execution as the Closed Beta requires",
      target_fixture="rehearsed_proposals")
def rehearse_proposals(target: TargetSession, governance: GovernanceDriver) -> list[dict[str, Any]]:
    count = required("beta.proposals-confirmed")
    return [_carry_to_execution(target, governance, f"Closed Beta rehearsal proposal {i + 1} of {count}")
            for i in range(count)]


@then("each of those proposals is confirmed on chain")
def proposals_confirmed(chain: ChainDriver, governance: GovernanceDriver,
                        rehearsed_proposals: list[dict[str, Any]]) -> None:
    for proposal in rehearsed_proposals:
        confirmed = chain.confirm_proposal(governance.get(proposal["id"]), governance.votes(proposal["id"]))
        assert confirmed.chain.status == "executed", f"proposal {proposal['id']} is {confirmed.chain.status} on chain"


@when("the harness gathers the campaigns completed and the proposals executed on the target",
      target_fixture="census")
def gather_completed(target: TargetSession, governance: GovernanceDriver, request: pytest.FixtureRequest) -> Census:
    completed, completed_total = target.campaigns().newest(CENSUS_SAMPLE, status="completed")
    executed, executed_total = governance.newest(CENSUS_SAMPLE, status="executed")
    note(request, f"examined the newest {len(completed)} of {completed_total} completed campaigns and "
                  f"{len(executed)} of {executed_total} executed proposals (at most {CENSUS_SAMPLE} of each, read "
                  "page by page: the census's cost must not grow with the target's history)")
    return Census(completed, executed)


@then("each is counted as confirmed only if the chain confirms it")
def census_confirmed(target: TargetSession, chain: ChainDriver, governance: GovernanceDriver, census: Census) -> None:
    has_sink = "sink" in target.target.services
    confirmed = contradicted = 0
    for campaign in census.completed:
        try:
            chain.confirm_campaign(campaign, _delivered_messages(target, campaign) if has_sink else None)
            confirmed += 1
        except ChainError as exc:  # a finding, recorded as such: it does not count towards the beta
            chain.record(campaign["id"], "campaign", None, outcome="failed", criterion="beta.campaigns-confirmed",
                         reason=str(exc)[:1000])
            contradicted += 1
    for proposal in census.executed:
        try:
            chain.confirm_proposal(proposal, governance.votes(proposal["id"]))
            confirmed += 1
        except ChainError as exc:
            chain.record(proposal["id"], "proposal", None, outcome="failed", criterion="beta.proposals-confirmed",
                         reason=str(exc)[:1000])
            contradicted += 1
    total = len(census.completed) + len(census.executed)
    assert confirmed + contradicted == total, f"the census examined {confirmed + contradicted} of {total}"
