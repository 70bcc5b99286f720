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


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("state-loss", "data.persistence", "state is held in memory and lost on restart"),
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
        Fault("analytics-drift", "beta.analytics", "the analytics dashboard does not reconcile with the records"),
        Fault("agent-rules-ignored", "core.agent-approvals", "agents approve every campaign whatever the rules say"),
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
