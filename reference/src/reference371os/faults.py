"""Fault switches: `LAUNCHGATE_FAULTS=a,b` makes the stack misbehave on purpose, one known defect per switch.

The reference knows its switches by name and effect only. Which gate criterion must catch each one is the
harness's knowledge (launchgate/faultmatrix.py), not the system under test's.
"""

from __future__ import annotations

import os

FAULTS: dict[str, str] = {  # switch name -> what it breaks
    "state-loss": "state is held in memory and lost on restart",
    "error-rate": "a share of API requests answer 500 (LAUNCHGATE_FAULT_ERROR_RATE)",
    "latency-drift": "latency grows with uptime (LAUNCHGATE_FAULT_DRIFT_MS per minute)",
    "memory-leak": "every request retains memory (LAUNCHGATE_FAULT_LEAK_KB, 256)",
    "open-route": "dao-governance mutating routes accept anonymous callers",
    "cross-tenant": "a user can read another user's campaigns",
    "prod-testnet": "the production profile runs against a testnet chain",
    "prod-sandbox-keys": "the production profile runs with sandbox keys",
    "no-seed": "templates, agent profiles and initial proposals are not seeded",
    "lying-health": "/health says operational while a dependency is down",
    "no-metrics": "/metrics is not exposed",
    "skip-anchor": "delivered emails are reported anchored but never reach the chain",
    "drop-email": "one recipient per campaign is marked delivered but never sent",
    "plaintext-keys": "stored third-party keys are written in plain text",
    "leak-secret": "the config view and logs expose a secret",
    "dao-no-guards": "proposal state guards are off, as in 371OS today",
    "unsigned-votes": "vote signatures are not verified, as in 371OS today",
    "dao-bypass": "a campaign that needs a DAO vote is delivered as soon as its proposal is submitted",
    "social-unpublished": "posts are reported published, but Postiz is never asked to publish them",
    "analytics-drift": "the analytics dashboard does not reconcile with the records",
    "agent-rules-ignored": "agents approve every campaign whatever the rules say",
    "broken-restore": "a restore replays the snapshot over the live data, so data written after the snapshot stays",
    "partial-snapshot": "snapshots leave out the platform's database",
    "canary-errors": "the canary slot answers its API requests with 500s",
    "blue-green-drop": "a slot switch is not atomic: the gateway refuses the conduit's requests while it switches",
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
