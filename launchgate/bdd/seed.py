"""What framework §4 says a target must be seeded with, read from fixtures/ (the data to migrate)."""

from __future__ import annotations

from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def expected_seed_data(fixtures: Path = FIXTURES) -> dict[str, set[str]]:
    templates = {yaml.safe_load(p.read_text())["id"] for p in sorted((fixtures / "templates").glob("*.yml"))}
    agents = {yaml.safe_load(p.read_text())["agent_name"] for p in sorted((fixtures / "agents").glob("*.yml"))}
    proposals = {p["id"] for p in yaml.safe_load((fixtures / "seed" / "proposals.yml").read_text())["proposals"]}
    return {"templates": templates, "agents": agents, "proposals": proposals}
