"""The reference's analytics dashboard sums per-campaign summary columns (conduit/models.py: summary_of) in SQL:
its numbers must equal those read from each campaign's own JSON, and its queries over the campaigns must read a
covering index only, never the rows, so a read costs the same on a fresh stack and on months of campaigns.
No services: a SQLite database of the conduit's tables, written as the workflow writes them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from reference371os.conduit.agents import load_agents
from reference371os.conduit.analytics import dashboard
from reference371os.conduit.models import Campaign, summary_of
from reference371os.conduit.optimizer import optimize_campaign
from reference371os.history import _campaign
from reference371os.kit.db import Base

DAO_STAGES = ("dao_submit", "dao_vote", "completed")
PRIMARY_KEY = "sqlite_autoindex_conduit_campaigns_1"  # SQLite's name for the index of a non-integer primary key


def _campaigns(n: int) -> list[dict[str, Any]]:
    agents, now, rows = load_agents(), datetime.now(UTC), []
    for i in range(n):
        recipients = [{"email": f"r{i}@dash.test", "name": "R", "segment": f"seg-{i % 3}"},
                      {"email": f"R{i}@dash.test", "name": "R"}, {"email": "not-an-address", "name": "X"}][: 1 + i % 3]
        result = optimize_campaign(agents, recipients=recipients, subject="A subject " * (1 + i % 9), body="Hi",
                                   sender="news@371os.test", priority=("low", "medium", "high")[i % 3],
                                   budget_max_cost=float(i % 4), budget_currency="USD")
        row = _campaign(f"dash-{i}", now - timedelta(hours=i))
        dao = i % 3 == 0
        row.update(recipients=recipients, final_recipients=result.recipients, optimizations=result.optimizations,
                   cost_estimate=result.cost_estimate, owner_id=f"owner-{i % 2}", requires_dao=dao,
                   stage=DAO_STAGES[i // 3 % 3] if dao else "completed",
                   dao_status="executed" if dao and i % 2 else None,
                   dao_proposal_id=f"PROP-{i}" if dao and i % 5 else None,
                   **summary_of(result.recipients, result.optimizations, result.cost_estimate))
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = create_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('dash')) / 'conduit.db'}")
    Base.metadata.create_all(engine, tables=[t for n, t in Base.metadata.tables.items() if n.startswith("conduit_")])
    with engine.begin() as conn:
        conn.execute(insert(Campaign), _campaigns(60))
    return engine


def _from_json(rows: list[Campaign]) -> dict[str, Any]:
    """The dashboard's campaign numbers, read from each campaign's JSON as a reader of the records would."""
    applied: Counter[str] = Counter()
    for c in rows:
        applied.update(o["kind"] for o in c.optimizations or [] if o["applied"])
    dao = [c for c in rows if c.requires_dao]
    return {
        "recipientsTargeted": sum(len(c.final_recipients or []) for c in rows),
        "estimatedCostUsd": round(sum(float((c.cost_estimate or {}).get("estimatedCostUsd") or 0) for c in rows), 6),
        "budgetUsd": round(sum(float((c.cost_estimate or {}).get("budgetUsd") or 0) for c in rows), 6),
        "recipientsRemoved": sum(len(o.get("details", {}).get("removed", [])) for c in rows
                                 for o in c.optimizations or []
                                 if o["kind"] in ("dedupe-recipients", "drop-invalid-addresses")),
        "campaignsOptimized": sum(bool(c.optimizations) for c in rows),
        "appliedByKind": dict(sorted(applied.items())),
        "engagementClusters": len({r["segment"] for c in rows for r in c.final_recipients or [] if r.get("segment")}),
        "costOptimizationPaths": sum(float((c.cost_estimate or {}).get("projectedSavingsUsd") or 0) > 0 for c in rows),
        "campaignsRequiringDAO": len(dao),
        "proposalsCreated": sum(c.dao_proposal_id is not None for c in dao),
        "proposalsExecuted": sum(c.dao_status == "executed" for c in dao),
        "awaitingVote": sum(c.stage in ("dao_submit", "dao_vote") for c in dao),
    }


def _from_dashboard(d: dict[str, Any]) -> dict[str, Any]:
    cost, dao, cog, spatial = d["costOptimization"], d["daoGovernance"], d["cognitiveOptimizations"], \
        d["spatialVisualization"]
    return {
        "recipientsTargeted": d["overview"]["recipientsTargeted"], "estimatedCostUsd": cost["estimatedCostUsd"],
        "budgetUsd": cost["budgetUsd"], "recipientsRemoved": cost["recipientsRemoved"],
        "campaignsOptimized": cog["campaignsOptimized"], "appliedByKind": cog["appliedByKind"],
        "engagementClusters": spatial["engagementClusters"], "costOptimizationPaths": spatial["costOptimizationPaths"],
        "campaignsRequiringDAO": dao["campaignsRequiringDAO"], "proposalsCreated": dao["proposalsCreated"],
        "proposalsExecuted": dao["proposalsExecuted"], "awaitingVote": dao["awaitingVote"],
    }


@pytest.mark.parametrize(("owner", "time_range", "since"), [(None, "all", None), (None, "24h", timedelta(days=1)),
                                                            ("owner-1", "7d", timedelta(days=7))])
def test_the_sums_equal_the_campaigns_own_json(engine: Engine, owner: str | None, time_range: str,
                                               since: timedelta | None) -> None:
    with Session(engine) as s:
        rows = [c for c in s.query(Campaign).all() if owner in (None, c.owner_id) and
                (since is None or c.created_at.replace(tzinfo=UTC) >= datetime.now(UTC) - since)]
        assert rows and any(c.requires_dao for c in rows)
        assert _from_dashboard(dashboard(s, owner, time_range, False)) == _from_json(rows)


def test_a_summary_left_unwritten_shows_in_the_sums(engine: Engine) -> None:
    """The comparison above can fail: a campaign whose summary columns were never written is missed."""
    with Session(engine) as s:
        before = dashboard(s, None, "all", False)["overview"]["recipientsTargeted"]
        row = _campaigns(1)[0] | {"id": "dash-unsummarised", "recipient_count": 0}
        s.execute(insert(Campaign), [row])
        after = dashboard(s, None, "all", False)["overview"]["recipientsTargeted"]
        s.rollback()
    assert after == before != before + len(row["final_recipients"])


def test_the_campaign_queries_read_a_covering_index_only(engine: Engine) -> None:
    """Every campaign of the target, as an admin or the service reads them (an owner's reads go through the owner
    index and grow with that owner's own campaigns only)."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with Session(engine) as s:
            dashboard(s, None, "30d", False)
            dashboard(s, None, "all", False)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        plans = {statement: [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                 for statement, parameters in statements if "FROM conduit_campaigns" in statement}
    assert plans
    for statement, plan in plans.items():
        campaign_steps = [step for step in plan if "conduit_campaigns" in step]
        # A set of ids for an IN may come from the primary key's index: it holds the id, all the IN needs.
        assert campaign_steps and all("COVERING INDEX" in step or step.endswith(f"{PRIMARY_KEY} FOR IN-OPERATOR")
                                      for step in campaign_steps), (statement, plan)
