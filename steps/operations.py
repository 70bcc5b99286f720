"""Operations steps: health, metrics, configuration per environment (§3), seeding (§4), restarts (§7)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from launchgate.bdd.evidence_plugin import note
from launchgate.bdd.means import require_hooks
from launchgate.bdd.session import TargetSession
from launchgate.drivers.errors import DriverError, TimeoutWaitingError
from launchgate.drivers.monitoring import metric_families, read_config, read_health, read_metrics
from launchgate.environments import DEAD_TESTNETS, ENVIRONMENTS
from launchgate.waiting import wait_for

REQUIRED_METRICS = ("http_requests_total", "http_request_duration_seconds", "process_resident_memory_bytes")


def _api_services(target: TargetSession) -> list[str]:
    """The services that are 371OS itself (the sink and the Postiz sandbox stand for the outside world)."""
    return [name for name in target.target.services if name not in ("sink", "postiz")]


@then("every service answers its health check as operational")
def all_healthy(target: TargetSession, request: pytest.FixtureRequest) -> None:
    problems = []
    for name in _api_services(target):
        service = target.target.services[name]
        misses = _health_misses(name, f"{service.url}{service.health_path}")
        if len(misses) >= HEALTH_FAILURE_THRESHOLD:
            problems.append(f"{name}: {misses[-1]} ({len(misses)} readings {HEALTH_PERIOD_S:.0f} s apart)")
        elif misses:
            note(request, f"{name} read not operational {len(misses)}x, then operational: {misses[0]}")
    assert not problems, "not healthy: " + "; ".join(problems)


# A service is unhealthy when its health fails this many readings in a row, as a Kubernetes probe's
# failureThreshold has it: one slow answer on a busy host is not an outage, three in a row are.
HEALTH_FAILURE_THRESHOLD = 3
HEALTH_PERIOD_S = 1.0


def _health_misses(name: str, url: str) -> list[str]:
    """The failed readings before the first operational one, at most HEALTH_FAILURE_THRESHOLD."""
    misses: list[str] = []
    while len(misses) < HEALTH_FAILURE_THRESHOLD:
        if misses:
            time.sleep(HEALTH_PERIOD_S)
        try:
            reading = read_health(name, url)
        except DriverError as exc:
            misses.append(str(exc))
            continue
        if reading.says_operational:
            break
        misses.append(reading.describe())
    return misses


@when("the mail sink goes down")
def mail_sink_down(target: TargetSession, request: pytest.FixtureRequest) -> None:
    """The profile's [hooks] dependency_down takes `mail` down (the reference's: its sink killed by PID)."""
    hooks = require_hooks(target, "dependency_down", "dependency_up",
                          why="the harness has no way to take the conduit's mail dependency down and back")
    hooks.run("dependency_down", dependency="mail")
    back: Callable[[], object] = functools.partial(hooks.run, "dependency_up", dependency="mail")

    def restore() -> None:  # the next scenario must find the target as this one found it
        back()
        await_operational(target, "the mail dependency came back")

    request.addfinalizer(restore)


def await_operational(target: TargetSession, after: str, timeout: float = 60.0) -> None:
    """Waits until every service's health reads operational again, so a scenario that took something down or
    restarted it leaves no outage behind for the next one; the message names what is still not."""

    def unsettled() -> list[str]:
        readings = []
        for name in _api_services(target):
            service = target.target.services[name]
            try:
                reading = read_health(name, f"{service.url}{service.health_path}")
            except DriverError as exc:
                readings.append(f"{name}: {exc}")
                continue
            if not reading.says_operational:
                readings.append(f"{name}: {reading.describe()}")
        return readings

    problems: list[str] = []

    def settled() -> bool:
        problems[:] = unsettled()
        return not problems

    try:
        wait_for(settled, timeout=timeout, what=f"every service operational after {after}")
    except TimeoutWaitingError as exc:
        raise TimeoutWaitingError(f"{exc}; still: {'; '.join(problems)}") from None


@then("the conduit reports itself degraded, naming its mail dependency")
def conduit_degraded(target: TargetSession) -> None:
    service = target.target.services["conduit"]
    reading = read_health("conduit", f"{service.url}{service.health_path}")
    assert reading.says_degraded, f"while the mail sink is down, {reading.describe()}"
    deps = reading.body.get("dependencies", {})
    assert deps.get("mail", {}).get("status") == "down", f"health does not name mail as down: {deps}"


@then("every service exposes request, latency and memory metrics")
def metrics_exposed(target: TargetSession) -> None:
    problems = []
    for name in _api_services(target):
        url = f"{target.service_url(name)}/metrics"
        status, text = read_metrics(url)
        if status != 200:
            problems.append(f"{name} exposes no metrics: GET {url} answered {status}")
            continue
        missing = [m for m in REQUIRED_METRICS if m not in metric_families(text)]
        if missing:
            problems.append(f"{url} lacks {', '.join(missing)}")
    assert not problems, "; ".join(problems)


@then("every service's configuration matches the environment the target claims")
def configuration_matches(target: TargetSession) -> None:
    target.require("config-view", "the harness cannot read the services' configuration to compare it with §3")
    claimed = target.target.environment
    column = ENVIRONMENTS[claimed]
    problems = []
    for name in _api_services(target):
        url = f"{target.service_url(name)}/config"
        config = read_config(url)
        if not config:
            problems.append(f"{url} offers no configuration view")
            continue
        for key in ("node_env", "key_mode", "database_kind", "log_level"):
            if str(config.get(key)) not in column[key]:
                problems.append(f"{name}: {key} is {config.get(key)!r}, {claimed} needs one of {sorted(column[key])}")
        chain_id = int(config.get("chain_id", 0))
        if chain_id in DEAD_TESTNETS:
            dead = DEAD_TESTNETS[chain_id]
            problems.append(f"{name}: chain id {chain_id} is {dead}, shut down; use Sepolia, Holesky or Hoodi")
        elif (chain_id == 1) != column["mainnet"]:
            problems.append(f"{name}: chain id {chain_id} is not the {'mainnet' if column['mainnet'] else 'testnet'}")
    assert not problems, "; ".join(problems)


@then("the default email templates are present")
def templates_present(target: TargetSession) -> None:
    _seeded(target, "templates", "default templates", {t["id"] for t in target.campaigns().templates()})


@then("the pre-configured agent profiles are present")
def agents_present(target: TargetSession) -> None:
    found = {a.get("agent_name") or a.get("id") for a in target.campaigns().agents()}
    _seeded(target, "agents", "agent profiles", found)


@then("the initial DAO proposals are present")
def proposals_present(target: TargetSession) -> None:
    _seeded(target, "proposals", "initial proposals", {p["id"] for p in target.governance().list(limit="100")})


def _seeded(target: TargetSession, kind: str, what: str, found: set[Any]) -> None:
    """The names the profile's [seed] lists must all be there; without a list, framework §4's rule: some are."""
    named = target.target.seed.get(kind)
    if named is None:
        assert found, f"no {what} at all (framework §4 seeds some; [seed] {kind} in the profile can name them)"
        return
    missing = set(named) - found
    assert not missing, f"missing {what}: {', '.join(sorted(missing))} (found: {_names(found)})"


def _names(found: set[Any]) -> str:
    names = sorted(str(n) for n in found)
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") if names else "none"


@given(parsers.parse("the {service} is killed and restarted"))
@when(parsers.parse("the {service} is killed and restarted"))
def hard_restart(target: TargetSession, service: str) -> None:
    """Kill -9 and start again, through the profile's [hooks] restart (the reference's kills it by PID)."""
    name = {"conduit": "conduit", "governance service": "governance", "platform": "platform"}[service]
    hooks = require_hooks(target, "restart", why=f"the harness has no way to kill and restart the {service}")
    hooks.run("restart", service=name)
    await_operational(target, f"the {service} restarted")
