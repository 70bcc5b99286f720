"""Rollback steps (framework §6): blue-green switches under light traffic, and canary releases.

Every deploy action is one of the profile's [hooks] (deploy, switch, rollback, canary). Which slot served an
answer is read from its X-LG-Slot header. A scenario that deployed something rolls it back at its end,
whatever happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from pytest_bdd import given, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.means import require_hooks
from launchgate.bdd.session import TargetSession
from launchgate.drivers.hooks import HookError, Hooks
from launchgate.drivers.traffic import SLOT_HEADER, SteadyTraffic, TrafficLog, is_loopback, send_requests, serving_slot
from launchgate.gates.model import CanaryPlan
from launchgate.waiting import wait_for
from steps.common import gate_criterion

PROBE_PATH = "/api/email/templates"  # a cheap read the 371OS conduit serves
DEPLOY_TIMEOUT_S = 180.0
SETTLE_S = 1.0  # traffic keeps flowing this long after a switch, so that a switch's after-effects are seen
TRAFFIC_RATE = 8.0  # requests per second: light load


@dataclass
class Release:
    """A new version deployed in slot `new` beside the version that was live (slot `live`), through the profile's
    hooks; rolled back at the end of the scenario unless a step did so already."""

    hooks: Hooks
    live: str
    new: str
    rolled_back: bool = False


def _deploy(target: TargetSession, request: pytest.FixtureRequest, hooks: Hooks, new: str | None) -> Release:
    """Deploys beside the live version (in the other blue-green slot, or in `new`). Whatever happens then, the
    scenario leaves the target as it found it: rolled back, unless a step did so."""
    live = _live_slot(target)
    release = Release(hooks, live, new or ("green" if live == "blue" else "blue"))

    def undo() -> None:
        if release.rolled_back:
            return
        try:
            hooks.run("rollback", timeout=DEPLOY_TIMEOUT_S)
        except HookError as exc:  # a teardown must not hide the scenario's own outcome
            request.node.warn(pytest.PytestWarning(f"rolling back after the scenario failed: {exc}"))

    request.addfinalizer(undo)
    hooks.run("deploy", timeout=DEPLOY_TIMEOUT_S, slot=release.new)
    return release


def _live_slot(target: TargetSession) -> str:
    slot = serving_slot(target.api("email"), PROBE_PATH)
    if not slot:
        inconclusive(f"answers of {target.name} name no release slot ({SLOT_HEADER} header): the harness "
                     "cannot tell which version served a request")
    return slot


# -- blue-green ------------------------------------------------------------------------------------------
@given("a new version is deployed beside the live one", target_fixture="release")
def deployed_beside(target: TargetSession, request: pytest.FixtureRequest) -> Release:
    hooks = require_hooks(target, "deploy", "switch", "rollback", why="blue-green switches need all three")
    return _deploy(target, request, hooks, None)


@given("light traffic flows through the gateway", target_fixture="traffic")
def light_traffic(target: TargetSession, request: pytest.FixtureRequest) -> SteadyTraffic:
    client = target.api("email", "admin")
    if not is_loopback(client.base_url):
        inconclusive(f"the gate suite sends background traffic to loopback targets only; {client.base_url} is not "
                     "(switch under your own load and record it, or run the soak)")
    traffic = SteadyTraffic(client, PROBE_PATH, rate=TRAFFIC_RATE).start()
    request.addfinalizer(traffic.stop)
    wait_for(lambda: len(traffic.log.answers) >= 3, timeout=10, what="the first answers to the background traffic")
    return traffic


def _switch_and_settle(release: Release, traffic: SteadyTraffic, hook: str, **values: object) -> None:
    release.hooks.run(hook, timeout=DEPLOY_TIMEOUT_S, **values)
    switched = time.monotonic()
    wait_for(lambda: traffic.log.since(switched + SETTLE_S), timeout=SETTLE_S + 15,
             what=f"traffic answered more than {SETTLE_S:g} s after the {hook}")


@when("traffic is switched to the new version")
def switch_to_new(release: Release, traffic: SteadyTraffic) -> None:
    _switch_and_settle(release, traffic, "switch", slot=release.new)


@when("traffic is rolled back to the previous version")
def roll_back(release: Release, traffic: SteadyTraffic) -> None:
    _switch_and_settle(release, traffic, "rollback")
    release.rolled_back = True


def _serving(traffic: SteadyTraffic, slot: str) -> None:
    def last_three() -> bool:
        recent = traffic.log.answers[-3:]
        return len(recent) == 3 and all(a.slot == slot and not a.failed for a in recent)

    wait_for(last_three, timeout=10, what=f"three answers in a row served by slot {slot}")


@then("the new version serves the traffic")
def new_serves(release: Release, traffic: SteadyTraffic) -> None:
    _serving(traffic, release.new)


@then("the previous version serves the traffic")
def previous_serves(release: Release, traffic: SteadyTraffic) -> None:
    _serving(traffic, release.live)


@then("no request failed during the switches")
def no_failures(traffic: SteadyTraffic, request: pytest.FixtureRequest) -> None:
    log: TrafficLog = traffic.stop()
    assert not log.failures(), log.describe_failures()
    note(request, f"{len(log.answers)} requests at {TRAFFIC_RATE:g}/s during the switches, served by "
                  + ", ".join(f"{slot} {n}" for slot, n in sorted(log.slots().items())))


# -- canary ----------------------------------------------------------------------------------------------
@given("a new version is deployed as a canary", target_fixture="release")
def deployed_canary(target: TargetSession, request: pytest.FixtureRequest) -> Release:
    hooks = require_hooks(target, "deploy", "canary", "rollback", why="a canary release needs all three")
    return _deploy(target, request, hooks, "canary")


def _plan() -> CanaryPlan:
    plan = gate_criterion("rollback.canary").canary
    assert plan is not None, "gates.yaml gives rollback.canary no canary: {percent, requests, ...} to try it with"
    return plan


@when("the canary is given its share of the traffic")
def canary_share(release: Release) -> None:
    release.hooks.run("canary", timeout=DEPLOY_TIMEOUT_S, slot=release.new, percent=f"{_plan().percent:g}")


@when("requests go through the gateway", target_fixture="canary_requests")
def requests_through(target: TargetSession) -> TrafficLog:
    return send_requests(target.api("email", "admin"), PROBE_PATH, _plan().requests)


@then("the canary served close to its share of them")
def canary_served(canary_requests: TrafficLog, request: pytest.FixtureRequest) -> None:
    plan, log = _plan(), canary_requests
    low, high = max(0.0, plan.percent - plan.share_tolerance), min(100.0, plan.percent + plan.share_tolerance)
    slots = log.slots()
    share = slots.get("canary", 0) / len(log.answers)
    note(request, f"{len(log.answers)} requests: " + ", ".join(f"{s} {n}" for s, n in sorted(slots.items())))
    assert low / 100 <= share <= high / 100, (
        f"the canary served {share:.0%} of {len(log.answers)} requests, outside {low:g}% to {high:g}% "
        f"(by slot: {dict(slots)})"
    )


@then("the canary's error rate is not above the baseline's by more than the gate allows")
def canary_errors(release: Release, canary_requests: TrafficLog, request: pytest.FixtureRequest) -> None:
    points, log = _plan().max_error_excess, canary_requests
    canary, baseline = log.error_rate(release.new), log.error_rate(release.live)
    note(request, f"error rate: canary {canary:.1%}, baseline ({release.live}) {baseline:.1%}")
    assert canary <= baseline + points / 100, (
        f"the canary's error rate is {canary:.1%} against the baseline's {baseline:.1%} "
        f"(at most {points:g} point(s) above it allowed)"
    )
