"""Benchmark: the chain driver against a reference stack on anvil (automine, 1 confirmation).

1. Campaign anchors verified per second: campaigns created through the API and delivered, then every email's
   hash recomputed from the mail sink's copy and confirmed on chain with `confirm_campaign` (state read,
   EmailAnchored log, receipt with status 1, confirmations), as the gate suite does.
2. Time from API call to confirmed receipt: POST a proposal or a signed vote, take the transaction_hash the
   API answers with, and wait for its receipt with 1 confirmation; p50/p95 of the whole span and of the
   confirmation alone, and confirmations per second.
Prints figures, asserts nothing. Goals: >= 100 campaign anchors verified per second; p95 < 50 ms per
confirmation.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from launchgate.drivers.campaigns import CampaignsDriver, campaign_body  # noqa: E402
from launchgate.drivers.chain import ChainDriver  # noqa: E402
from launchgate.drivers.governance import GovernanceDriver, proposal_body  # noqa: E402
from launchgate.drivers.http import ApiClient  # noqa: E402
from launchgate.drivers.mail import MailSink  # noqa: E402
from launchgate.targets import Chain  # noqa: E402
from reference371os.chain_setup import load_deployment  # noqa: E402
from reference371os.kit.auth import issue_token  # noqa: E402
from reference371os.manager import Stack, StackOptions  # noqa: E402

PORT_BASE = int(os.environ.get("LAUNCHGATE_BENCH_PORT_BASE", "27400"))
CAMPAIGNS = 20
RECIPIENTS = 10  # 200 anchors
PROPOSALS = 25  # 25 proposal records + 100 votes
VOTERS = yaml.safe_load((ROOT / "fixtures/seed/voters.yml").read_text())["voters"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {1000 * statistics.median(values):.1f} ms, p95 {1000 * pct(values, 0.95):.1f} ms (n={len(values)})"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lg-bench-chain-") as tmp:
        stack = Stack(Path(tmp), StackOptions(port_base=PORT_BASE, prometheus=False))
        stack.up()
        try:
            run(stack)
        finally:
            stack.down()


def run(stack: Stack) -> None:
    token = issue_token(stack.secrets.jwt_secret, "bench-admin", "admin", "bench@example.test")
    api = ApiClient(stack.url("gateway"), token=token, timeout=30)
    deployment = load_deployment(stack.state_dir)
    assert deployment is not None
    driver = ChainDriver(Chain(rpc=stack.chain_rpc, chain_id=31337, confirmations=1), deployment.contracts)
    driver.connect()

    # -- 1. anchors verified per second ------------------------------------------------------------------
    campaigns = CampaignsDriver(api)
    started = time.monotonic()
    created = [
        campaigns.create(campaign_body([f"bench-{c}-{r}@recipients.test" for r in range(RECIPIENTS)]))
        for c in range(CAMPAIGNS)
    ]
    finals = [campaigns.wait_until_final(c["id"], timeout=120) for c in created]
    delivery_s = time.monotonic() - started
    sink = MailSink(stack.url("sink"))
    mail = {f["id"]: [m for d in f["deliveries"] for m in sink.messages(to=d["email"])] for f in finals}
    anchors = sum(len(f["deliveries"]) for f in finals)
    started = time.monotonic()
    for final in finals:
        driver.confirm_campaign(final, mail[final["id"]], record=False)
    verify_s = time.monotonic() - started
    one_by_one = []
    for message in mail[finals[0]["id"]]:
        t0 = time.monotonic()
        driver.verify_email(message)
        one_by_one.append(time.monotonic() - t0)
    print(f"campaigns: {CAMPAIGNS} x {RECIPIENTS} recipients delivered and anchored through the API in "
          f"{delivery_s:.2f} s ({anchors / delivery_s:.0f} anchors written/s by the conduit)")
    print(f"anchors verified (recomputed from the sink, read on chain, receipt confirmed): {anchors} in "
          f"{verify_s:.2f} s = {anchors / verify_s:.0f}/s (goal >= 100/s)")
    print(f"single email verified on its own: {ms(one_by_one)}")

    # -- 2. API call -> confirmed receipt -----------------------------------------------------------------
    governance = GovernanceDriver(api)
    spans: dict[str, list[float]] = {"proposal": [], "vote": []}
    confirm_only: list[float] = []
    started = time.monotonic()
    for i in range(PROPOSALS):
        t0 = time.monotonic()
        proposal = governance.create(proposal_body(f"Bench proposal {i}", "ceo"))
        t1 = time.monotonic()
        driver.wait_confirmed(proposal["transaction_hash"], "proposal record")
        t2 = time.monotonic()
        spans["proposal"].append(t2 - t0)
        confirm_only.append(t2 - t1)
        for action, body in (("submit", {"submitted_by": "ceo"}), ("start-voting", {})):
            assert governance.transition(proposal["id"], action, body).status_code == 200
        for voter in VOTERS:
            t0 = time.monotonic()
            response = governance.vote(proposal["id"], voter["private_key"], "for")
            t1 = time.monotonic()
            assert response.status_code == 201, response.text
            driver.wait_confirmed(response.json()["data"]["transaction_hash"], "vote")
            t2 = time.monotonic()
            spans["vote"].append(t2 - t0)
            confirm_only.append(t2 - t1)
    total = len(confirm_only)
    wall = time.monotonic() - started
    print(f"API call -> confirmed receipt, proposal created: {ms(spans['proposal'])}")
    print(f"API call -> confirmed receipt, signed vote cast:  {ms(spans['vote'])}")
    print(f"confirmation alone (receipt, status 1, 1 confirmation) after the API answered: {ms(confirm_only)} "
          f"(goal p95 < 50 ms)")
    print(f"confirmations per second, confirmation alone: {total / sum(confirm_only):.0f}/s; "
          f"end to end including the API calls: {total / wall:.1f}/s")
    api.close()


if __name__ == "__main__":
    main()
