"""A gate run's work does not grow with the target's history. On a reference stack that holds a month of past
campaigns, proposals and mail (`launchgate stack fill-history`), the scenarios whose cost used to grow with it
run as the gate suite runs them, through an unmanaged profile:
- the census of what beta users completed reads a bounded sample, the newest, page by page;
- the dashboard is reconciled with the records of its own window (7 days of a 30-day history), by counts;
- a mailbox read in the sink finds one reader's mail by an index, not by reading every message;
- an email's anchor on chain is confirmed from its own block, on a chain 1,000 blocks longer.
The work is counted in bytes and reads, never timed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchgate.drivers.campaigns import CampaignsDriver
from launchgate.evidence import Evidence, read_evidence
from launchgate.runner import PROJECT_ROOT
from tests.conftest import RunningStack, start_stack
from tests.test_chain import contracts_of, driver_for

pytestmark = pytest.mark.unmeasured_subprocesses

CAMPAIGNS, PROPOSALS, MESSAGES = 3000, 1000, 5000
LATER_BLOCKS = 1_000  # mined after an anchor: a chain of a long-lived target
TOKEN_ENV = "LG_HISTORY_ADMIN_TOKEN"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("history"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "reference371os", "fill-history", "--state-dir",
             str(running.stack.state_dir), "--campaigns", str(CAMPAIGNS), "--proposals", str(PROPOSALS),
             "--messages", str(MESSAGES)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        yield running
    finally:
        running.stack.down()


@pytest.fixture(scope="module")
def run(filled: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Evidence], Path]:
    tmp = tmp_path_factory.mktemp("history-run")
    contracts = "\n".join(f'{name} = "{address}"' for name, address in contracts_of(filled).items())
    profile = tmp / "history.toml"
    profile.write_text(f"""name = "history"
environment = "mock"
managed = false
capabilities = ["campaign-workflow", "dao-lifecycle", "mail-sink", "chain-anchoring"]
[services.gateway]
url = "{filled.gateway}"
[services.sink]
url = "{filled.url('sink')}"
[api]
email = "{filled.gateway}"
governance = "{filled.gateway}"
[auth]
mode = "env"
roles.admin = {{ token_env = "{TOKEN_ENV}" }}
[chain]
rpc = "{filled.stack.chain_rpc}"
chain_id = 31337
confirmations = 1
[chain.contracts]
{contracts}
""")
    run_dir = tmp / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_chain.py", "features/test_analytics.py", "-k",
         "completed_on_the_target or dashboard_reconciles", f"--target={profile}", f"--run-dir={run_dir}", "-q",
         "--no-header", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, TOKEN_ENV: filled.token("admin")})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    records, bad = read_evidence(run_dir)
    assert not bad
    return records, run_dir


def _scenario(records: list[Evidence], words: str) -> Evidence:
    (found,) = [r for r in records if r.kind == "scenario" and words in r.name]
    return found


def test_the_census_examines_the_newest_sample_of_a_long_history(run: tuple[list[Evidence], Path]) -> None:
    records, _ = run
    census = _scenario(records, "completed on the target")
    assert census.outcome == "passed", census.details
    note = " ".join(census.details.get("notes", []))
    found = re.search(r"newest (\d+) of (\d+) completed campaigns and (\d+) of (\d+) executed", note)
    assert found, note
    sampled, completed, executed_sampled, executed = map(int, found.groups())
    assert sampled == executed_sampled == 50 and completed >= CAMPAIGNS and executed >= PROPOSALS
    # The history never happened on chain: what the census sampled of it is recorded unconfirmed, not counted.
    unconfirmed = [r for r in records if r.kind == "chain" and r.outcome == "failed"
                   and "hist" in str(r.details["subject"]).lower()]
    assert len(unconfirmed) == 100, len(unconfirmed)


def test_the_dashboard_is_reconciled_within_its_window_by_counts(run: tuple[list[Evidence], Path]) -> None:
    records, _ = run
    dashboard = _scenario(records, "dashboard reconciles")
    assert dashboard.outcome == "passed", dashboard.details


def test_the_run_read_less_than_one_listing_of_the_history(filled: RunningStack,
                                                           run: tuple[list[Evidence], Path]) -> None:
    records, _ = run
    scan = _scenario(records, "reveals a secret")
    read = scan.details["scanned_bytes"] + scan.details["unscanned_bytes"]
    listed = listing_bytes = 0
    while listed < CAMPAIGNS:  # the list pages (at most 1,000 records an answer): bounded by CAMPAIGNS / 1,000
        page = httpx.get(f"{filled.gateway}/api/email/campaigns", timeout=60, params={"limit": 1000, "offset": listed},
                         headers={"Authorization": f"Bearer {filled.token('admin')}"})
        assert page.status_code == 200 and page.json()["campaigns"], page.text[:200]
        listed, listing_bytes = listed + len(page.json()["campaigns"]), listing_bytes + len(page.content)
    assert read < listing_bytes, (read, listing_bytes)


def test_a_mailbox_is_read_by_an_index(filled: RunningStack) -> None:
    mailbox = filled.sink.messages(to=filled.sink.messages()[0]["rcpt_to"][0])
    assert mailbox and {m["rcpt_to"][0] for m in mailbox} == {mailbox[0]["rcpt_to"][0]}
    assert len(mailbox) < MESSAGES / 100
    conn = sqlite3.connect(f"file:{filled.stack.data / 'sink.db'}?mode=ro", uri=True)
    try:
        plan = json.dumps(conn.execute(
            "EXPLAIN QUERY PLAN SELECT message_id FROM sink_recipients WHERE address = ?", ("x",)).fetchall())
    finally:
        conn.close()
    assert "USING" in plan and "INDEX" in plan, plan


def test_an_anchor_is_looked_up_in_its_own_block_however_long_the_chain(filled: RunningStack) -> None:
    """An email's anchoring event is read from the block the registry names for it: a log query from block 0 would
    scan every block the target's chain ever had."""
    to = f"long-chain-{secrets.token_hex(4)}@recipients.test"
    sent = CampaignsDriver(filled.client("admin")).send_email(to, "Quarterly community update", "Hello there")
    assert sent.accepted, sent.describe()
    (message,) = filled.sink.messages(to=to)
    mined = httpx.post(filled.stack.chain_rpc, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine",
                                                     "params": [hex(LATER_BLOCKS)]}, timeout=60)
    assert "error" not in mined.json(), mined.text
    driver = driver_for(filled)
    asked: list[tuple[str, Any]] = []
    provider = driver.w3.provider
    batch = provider.make_batch_request

    def recording(requests: list[tuple[str, Any]]) -> Any:
        asked.extend(requests)
        return batch(requests)

    provider.make_batch_request = recording  # type: ignore[method-assign]
    anchor = driver.verify_email(message)
    assert anchor.confirmation.confirmations > LATER_BLOCKS
    queries = [params[0] for method, params in asked if method == "eth_getLogs"]
    assert queries and all(int(q["fromBlock"], 16) == int(q["toBlock"], 16) == anchor.confirmation.block
                           for q in queries), queries
