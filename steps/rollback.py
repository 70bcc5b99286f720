"""Rollback steps (framework §6): blue-green switches under light traffic, and canary releases.

Every deploy action is one of the profile's [hooks] (deploy, switch, rollback, canary). Which slot served an
answer is read from its X-LG-Slot header. A scenario that deployed something rolls it back at its end,
whatever happened.
"""

from __future__ import annotations

import time
from typing import Any

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


def _rollback_at_end(hooks: Hooks, context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """Whatever happens, the scenario leaves the target as it found it: rolled back, unless a step did so."""
    context["rolled_back"] = False

    def undo() -> None:
        if context["rolled_back"]:
            return
        try:
            hooks.run("rollback", timeout=DEPLOY_TIMEOUT_S)
        except HookError as exc:  # a teardown must not hide the scenario's own outcome
            request.node.warn(pytest.PytestWarning(f"rolling back after the scenario failed: {exc}"))

    request.addfinalizer(undo)


def _live_slot(target: TargetSession) -> str:
    slot = serving_slot(target.api("email"), PROBE_PATH)
    if not slot:
        inconclusive(f"answers of {target.name} name no release slot ({SLOT_HEADER} header): the harness "
                     "cannot tell which version served a request")
    return slot


# -- blue-green ------------------------------------------------------------------------------------------
@given("a new version is deployed beside the live one")
def deployed_beside(target: TargetSession, context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    hooks = require_hooks(target, "deploy", "switch", "rollback", why="blue-green switches need all three")
    live = _live_slot(target)
    new = "green" if live == "blue" else "blue"
    _rollback_at_end(hooks, context, request)
    hooks.run("deploy", timeout=DEPLOY_TIMEOUT_S, slot=new)
    context.update(hooks=hooks, live=live, new=new)


@given("light traffic flows through the gateway")
def light_traffic(target: TargetSession, context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    client = target.api("email", "admin")
    if not is_loopback(client.base_url):
        inconclusive(f"the gate suite sends background traffic to loopback targets only; {client.base_url} is not "
                     "(switch under your own load and record it, or run the soak)")
    traffic = SteadyTraffic(client, PROBE_PATH, rate=TRAFFIC_RATE).start()
    request.addfinalizer(traffic.stop)
    wait_for(lambda: len(traffic.log.answers) >= 3, timeout=10, what="the first answers to the background traffic")
    context["traffic"] = traffic


def _switch_and_settle(context: dict[str, Any], hook: str, **values: object) -> None:
    traffic: SteadyTraffic = context["traffic"]
    context["hooks"].run(hook, timeout=DEPLOY_TIMEOUT_S, **values)
    switched = time.monotonic()
    wait_for(lambda: traffic.log.since(switched + SETTLE_S), timeout=SETTLE_S + 15,
             what=f"traffic answered more than {SETTLE_S:g} s after the {hook}")


@when("traffic is switched to the new version")
def switch_to_new(context: dict[str, Any]) -> None:
    _switch_and_settle(context, "switch", slot=context["new"])


@when("traffic is rolled back to the previous version")
def roll_back(context: dict[str, Any]) -> None:
    _switch_and_settle(context, "rollback")
    context["rolled_back"] = True


def _serving(context: dict[str, Any], slot: str) -> None:
    traffic: SteadyTraffic = context["traffic"]

    def last_three() -> bool:
        recent = traffic.log.answers[-3:]
        return len(recent) == 3 and all(a.slot == slot and not a.failed for a in recent)

    wait_for(last_three, timeout=10, what=f"three answers in a row served by slot {slot}")


@then("the new version serves the traffic")
def new_serves(context: dict[str, Any]) -> None:
    _serving(context, context["new"])


@then("the previous version serves the traffic")
def previous_serves(context: dict[str, Any]) -> None:
    _serving(context, context["live"])


@then("no request failed during the switches")
def no_failures(context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    log: TrafficLog = context["traffic"].stop()
    assert not log.failures(), log.describe_failures()
    note(request, f"{len(log.answers)} requests at {TRAFFIC_RATE:g}/s during the switches, served by "
                  + ", ".join(f"{slot} {n}" for slot, n in sorted(log.slots().items())))


# -- canary ----------------------------------------------------------------------------------------------
@given("a new version is deployed as a canary")
def deployed_canary(target: TargetSession, context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    hooks = require_hooks(target, "deploy", "canary", "rollback", why="a canary release needs all three")
    context["baseline"] = _live_slot(target)
    _rollback_at_end(hooks, context, request)
    hooks.run("deploy", timeout=DEPLOY_TIMEOUT_S, slot="canary")
    context["hooks"] = hooks


def _plan() -> CanaryPlan:
    plan = gate_criterion("rollback.canary").canary
    assert plan is not None, "gates.yaml gives rollback.canary no canary: {percent, requests, ...} to try it with"
    return plan


@when("the canary is given its share of the traffic")
def canary_share(context: dict[str, Any]) -> None:
    context["hooks"].run("canary", timeout=DEPLOY_TIMEOUT_S, slot="canary", percent=f"{_plan().percent:g}")


@when("requests go through the gateway")
def requests_through(target: TargetSession, context: dict[str, Any]) -> None:
    context["requests"] = send_requests(target.api("email", "admin"), PROBE_PATH, _plan().requests)


@then("the canary served close to its share of them")
def canary_served(context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    plan, log = _plan(), context["requests"]
    low, high = max(0.0, plan.percent - plan.share_tolerance), min(100.0, plan.percent + plan.share_tolerance)
    slots = log.slots()
    share = slots.get("canary", 0) / len(log.answers)
    note(request, f"{len(log.answers)} requests: " + ", ".join(f"{s} {n}" for s, n in sorted(slots.items())))
    assert low / 100 <= share <= high / 100, (
        f"the canary served {share:.0%} of {len(log.answers)} requests, outside {low:g}% to {high:g}% "
        f"(by slot: {dict(slots)})"
    )


@then("the canary's error rate is not above the baseline's by more than the gate allows")
def canary_errors(context: dict[str, Any], request: pytest.FixtureRequest) -> None:
    points, log = _plan().max_error_excess, context["requests"]
    canary, baseline = log.error_rate("canary"), log.error_rate(context["baseline"])
    note(request, f"error rate: canary {canary:.1%}, baseline ({context['baseline']}) {baseline:.1%}")
    assert canary <= baseline + points / 100, (
        f"the canary's error rate is {canary:.1%} against the baseline's {baseline:.1%} "
        f"(at most {points:g} point(s) above it allowed)"
    )
