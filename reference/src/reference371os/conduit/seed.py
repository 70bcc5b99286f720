"""Initial data (transition framework §4): default templates and agent profiles, seeded once, idempotently."""

from __future__ import annotations

from pathlib import Path

import yaml

from reference371os.conduit.agents import AgentProfile
from reference371os.conduit.models import AgentProfileRow, Template
from reference371os.kit.db import Database
from reference371os.paths import FIXTURES

TEMPLATES_DIR = FIXTURES / "templates"
TEMPLATE_KEYS = ("id", "name", "description", "category", "subject", "body")


def load_templates(directory: Path = TEMPLATES_DIR) -> list[dict]:
    templates = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        missing = [k for k in TEMPLATE_KEYS if k not in data]
        if missing:
            raise ValueError(f"{path.name}: missing {', '.join(missing)}")
        templates.append(data)
    return templates


def seed(db: Database, agents: dict[str, AgentProfile], templates: list[dict]) -> tuple[int, int]:
    """Adds what is missing and leaves existing rows alone (an operator may have edited them)."""
    added_templates = added_agents = 0
    with db.session() as s:
        for t in templates:
            if s.get(Template, t["id"]) is None:
                s.add(
                    Template(
                        id=t["id"],
                        name=t["name"],
                        description=t["description"],
                        category=t["category"],
                        subject=t["subject"],
                        body=t["body"],
                        blockchain_verified=bool(t.get("blockchainVerified", True)),
                        agent_optimized=bool(t.get("agentOptimized", True)),
                        cognitive_features=list(t.get("cognitiveFeatures", [])),
                    )
                )
                added_templates += 1
        for agent in agents.values():
            if s.get(AgentProfileRow, agent.name) is None:
                s.add(
                    AgentProfileRow(
                        agent_name=agent.name,
                        agent_type=agent.agent_type,
                        role=agent.role,
                        status=agent.status,
                        profile=agent.profile,
                    )
                )
                added_agents += 1
    return added_templates, added_agents
