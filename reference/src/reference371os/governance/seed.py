"""First-start seeding (framework §4): the voter registry and the initial DAO proposals for community engagement.

Idempotent: a voter or proposal already present is left as it is, so an admin's later change survives restarts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reference371os.governance.models import Proposal, Voter, now
from reference371os.governance.schemas import CreateProposal, RegisterVoter
from reference371os.governance.service import Governance
from reference371os.paths import FIXTURES

SEED_DIR = FIXTURES / "seed"
SEED_ACTOR = "seed"
SEEDABLE_STATUSES = ("draft", "submitted", "voting_active")
log = logging.getLogger("reference371os.governance.seed")


def load(name: str, seed_dir: Path = SEED_DIR) -> dict[str, Any]:
    data = yaml.safe_load((seed_dir / name).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{seed_dir / name}: expected a mapping at the top level")
    return data


def seed_voters(gov: Governance, seed_dir: Path = SEED_DIR) -> int:
    entries = load("voters.yml", seed_dir).get("voters", [])
    added = 0
    try:
        with gov.db.session() as s:
            for entry in entries:
                # The YAML also holds each account's public dev key, for clients; the service never reads it.
                voter = RegisterVoter(address=entry["address"], role=entry["role"], power=entry["power"])
                if s.get(Voter, voter.address) is None:
                    s.add(Voter(address=voter.address, role=voter.role, power=voter.power, seeded=True,
                                registered_by=SEED_ACTOR))
                    added += 1
    except IntegrityError:  # another process seeded at the same moment: its rows stand
        return 0
    if added and gov.config.node_env == "production":
        log.warning("seeded the voter registry with public anvil dev accounts while NODE_ENV=production")
    return added


def seed_proposals(gov: Governance, seed_dir: Path = SEED_DIR) -> int:
    entries = load("proposals.yml", seed_dir).get("proposals", [])
    added = 0
    try:
        with gov.db.session() as s:
            for entry in entries:
                entry = dict(entry)
                proposal_id, status = entry.pop("id"), entry.pop("status", "draft")
                if status not in SEEDABLE_STATUSES:
                    raise ValueError(f"seed proposal {proposal_id}: status must be one of {SEEDABLE_STATUSES}")
                if s.scalar(select(Proposal.seq).where(Proposal.id == proposal_id)) is not None:
                    continue
                p = gov.add_proposal(
                    s, CreateProposal(**entry), created_by=SEED_ACTOR, proposal_id=proposal_id, seeded=True
                )
                if status in ("submitted", "voting_active"):
                    p.status, p.submitted_at, p.submitted_by = "submitted", now(), SEED_ACTOR
                if status == "voting_active":
                    s.flush()
                    gov.open_voting(s, p, SEED_ACTOR)
                added += 1
    except IntegrityError:
        return 0
    return added
