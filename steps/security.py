"""Security steps: authentication, tenant isolation, roles, and secrets kept out of sight (§7)."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from launchgate.bdd.evidence_plugin import inconclusive
from launchgate.bdd.session import TargetSession
from launchgate.drivers.access import FOREIGN_ORIGIN, MUTATING_ACTIONS, attempt, origins_allowed
from launchgate.drivers.campaigns import campaign_body
from launchgate.drivers.monitoring import read_config
from launchgate.drivers.outcomes import Outcome
from steps.campaigns import TrackedCampaign, create


@when(parsers.parse("an anonymous caller tries to {action}"), target_fixture="outcome")
def anonymous_attempt(target: TargetSession, action: str) -> Outcome:
    area = MUTATING_ACTIONS[action][0]
    if area not in target.target.api:
        inconclusive(f"target {target.name} has no {area} API to probe")
    return attempt(target.api(area), action)


@then("the request is refused as unauthenticated")
def refused_unauthenticated(outcome: Outcome) -> None:
    if outcome.unauthenticated:
        return
    if outcome.accepted:
        what = "the action was carried out: nothing asks who the caller is"
    elif outcome.lacks_role:
        what = "refused for lack of a role, not for lack of authentication"
    else:
        what = "judged on its content, so no authentication stood in the way"
    raise AssertionError(f"an anonymous caller was not refused with 401: {outcome.describe()} ({what})")


@given(parsers.parse("member {owner} has created a campaign"), target_fixture="campaign")
def member_created(target: TargetSession, owner: str) -> TrackedCampaign:
    return create(target.member_campaigns(owner), campaign_body([f"{owner}-reader@recipients.test"]))


@when(parsers.parse("member {other} asks for that campaign"), target_fixture="outcome")
def other_member_reads(target: TargetSession, campaign: TrackedCampaign, other: str) -> Outcome:
    return target.member_campaigns(other).read(campaign.id)


@then("the campaign is not shown to them")
def not_shown(outcome: Outcome) -> None:
    assert outcome.withheld, f"another member was not refused the campaign: {outcome.describe()}"


@when("a member tries to decide an approval meant for the CFO", target_fixture="outcome")
def member_decides(target: TargetSession, campaign: TrackedCampaign) -> Outcome:
    target.require("manual-approvals", "executives have no approval inboxes whose decisions could be refused")
    pending = [a for a in target.campaigns().pending_approvals("cfo") if a["campaignId"] == campaign.id]
    assert pending, f"no CFO approval is pending for campaign {campaign.id}"
    return target.member_campaigns("mallory").try_decide(pending[0]["id"], "approve", "me")


@then("the decision is refused for lack of the role")
def refused_role(outcome: Outcome) -> None:
    assert outcome.lacks_role, f"a member deciding for the CFO was not refused for lack of the role: " \
                               f"{outcome.describe()}"


@then("no service's configuration view reveals a secret")
def no_secret_in_config(target: TargetSession) -> None:
    target.require("config-view", "the harness cannot read the services' configuration views")
    secrets = target.known_secrets()
    if not secrets:
        inconclusive(f"target {target.name} gives the harness no secrets to look for ([secrets] known_env in "
                     f"{target.target.path.name})")
    leaks = []
    for name in target.target.services:
        body = str(read_config(f"{target.service_url(name)}/config"))
        if any(secret in body for secret in secrets):
            leaks.append(name)
    assert not leaks, f"the configuration view of {', '.join(leaks)} contains a secret"


@then("a page on a foreign origin may neither read from nor write to any API")
def no_foreign_origin(target: TargetSession) -> None:
    grants = [grant for area in ("email", "governance") if area in target.target.api
              for grant in origins_allowed(target.api(area), area)]
    assert not grants, f"CORS lets {FOREIGN_ORIGIN} call the API on a user's behalf: " + "; ".join(grants)
