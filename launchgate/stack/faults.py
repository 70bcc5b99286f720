"""Fault switches: `LAUNCHGATE_FAULTS=a,b` makes the stack misbehave on purpose, one switch per criterion.

Each switch names the gate criterion that must catch it; the fault matrix checks exactly that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    criterion: str
    effect: str
    # Criteria the fault necessarily takes down as well (they fail, or are left without data): a stack that
    # keeps nothing on disk has nothing to restore from a snapshot and nothing encrypted at rest to inspect.
    also: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "state-loss", "data.persistence", "state is held in memory and lost on restart",
            also=("data.backup-recovery", "rollback.db-snapshot", "data.encryption-at-rest"),
        ),
        Fault("error-rate", "alpha.stability", "a share of API requests answer 500 (LAUNCHGATE_FAULT_ERROR_RATE)"),
        Fault("latency-drift", "alpha.stability", "latency grows with uptime (LAUNCHGATE_FAULT_DRIFT_MS per minute)"),
        Fault("memory-leak", "alpha.stability", "every request retains memory (LAUNCHGATE_FAULT_LEAK_KB, 256)"),
        Fault("open-route", "security.access-control", "dao-governance mutating routes accept anonymous callers"),
        Fault("cross-tenant", "security.access-control", "a user can read another user's campaigns"),
        Fault("prod-testnet", "env.separation", "the production profile runs against a testnet chain"),
        Fault("prod-sandbox-keys", "env.separation", "the production profile runs with sandbox keys"),
        Fault("no-seed", "seeding.initial-data", "templates, agent profiles and initial proposals are not seeded"),
        Fault("lying-health", "monitoring.health", "/health says operational while a dependency is down"),
        Fault("no-metrics", "monitoring.metrics", "/metrics is not exposed"),
        Fault("skip-anchor", "chain.verification", "delivered emails are reported anchored but never reach the chain"),
        Fault("drop-email", "core.campaign-delivery", "one recipient per campaign is marked delivered but never sent"),
        Fault("plaintext-keys", "data.encryption-at-rest", "stored third-party keys are written in plain text"),
        Fault("leak-secret", "security.secrets", "the config view and logs expose a secret"),
        Fault("dao-no-guards", "core.dao-lifecycle", "proposal state guards are off, as in 371OS today"),
        Fault("unsigned-votes", "core.dao-lifecycle", "vote signatures are not verified, as in 371OS today"),
        Fault("dao-bypass", "core.e2e-data-flow",
              "a campaign that needs a DAO vote is delivered as soon as its proposal is submitted"),
        Fault("social-unpublished", "core.social-posting",
              "posts are reported published, but Postiz is never asked to publish them"),
        Fault("analytics-drift", "beta.analytics", "the analytics dashboard does not reconcile with the records"),
        Fault("agent-rules-ignored", "core.agent-approvals", "agents approve every campaign whatever the rules say"),
        Fault("broken-restore", "rollback.db-snapshot",
              "a restore replays the snapshot over the live data, so data written after the snapshot stays"),
        Fault("partial-snapshot", "data.backup-recovery", "snapshots leave out the platform's database"),
        Fault("canary-errors", "rollback.canary", "the canary slot answers its API requests with 500s"),
        Fault("blue-green-drop", "rollback.blue-green",
              "a slot switch is not atomic: the gateway refuses the conduit's requests while it switches"),
    )
}


class UnknownFaultError(ValueError):
    pass


def parse_faults(text: str | None) -> frozenset[str]:
    names = frozenset(p.strip() for p in (text or "").split(",") if p.strip())
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(
            f"unknown fault switch {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}"
        )
    return names


def active_faults() -> frozenset[str]:
    return parse_faults(os.environ.get("LAUNCHGATE_FAULTS"))


def fault_number(name: str, default: float) -> float:
    """A tunable of a fault, from LAUNCHGATE_FAULT_<NAME>."""
    raw = os.environ.get(f"LAUNCHGATE_FAULT_{name.upper()}")
    return float(raw) if raw else default
