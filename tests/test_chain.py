"""The chain, for real: the reference stack anchors and records on its anvil, and the web3 driver confirms it.

Covers anchoring and confirmation, the DAO tally against the API, a double vote refused on chain, tampering
caught (the skip-anchor fault, an altered email), the mainnet and dead-testnet refusals, key hygiene, and each
bad input the driver and `launchgate chain check` must name: unreachable RPC, wrong chain id, unfunded
account, missing contract, reverted transaction, receipt that never comes.
"""

from __future__ import annotations

import copy
import os
import pickle
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchgate.contracts import DAO, REGISTRY
from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.chain import (
    AccountUnfunded,
    ChainConfigError,
    ChainDriver,
    ChainIdMismatch,
    ChainKey,
    ChainMismatch,
    ChainUnreachable,
    ContractMissing,
    DeadTestnet,
    MainnetWriteRefused,
    ReceiptTimeout,
    TransactionReverted,
)
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from launchgate.drivers.mail import recompute_hash
from launchgate.drivers.outcomes import Accepted
from launchgate.drivers.verification import HEADER_EMAIL_ID
from launchgate.evidence import EvidenceWriter, read_evidence
from launchgate.runner import PROJECT_ROOT
from launchgate.targets import Chain
from reference371os import procs
from reference371os.chain_setup import ensure_contracts, load_deployment
from reference371os.conduit.anchoring import AnchorRequest, ChainAnchor
from reference371os.config import ServiceConfig
from reference371os.kit.chain import ServiceKey, derive_service_private_key
from reference371os.secrets import ANVIL_DEV_KEY_0
from reference371os.tools import anvil_binary
from tests.conftest import next_port_base

EXPLORER = "http://explorer.test/tx/{tx}"
VOTERS = {v["role"]: v for v in yaml.safe_load((PROJECT_ROOT / "fixtures/seed/voters.yml").read_text())["voters"]}
FINAL = ("completed", "rejected", "failed")


# -- helpers ---------------------------------------------------------------------------------------------------
def chain_of(stack: Any, **overrides: Any) -> Chain:
    fields: dict[str, Any] = {"rpc": stack.stack.chain_rpc, "chain_id": 31337, "confirmations": 1,
                              "explorer_tx_url": EXPLORER}
    return Chain(**{**fields, **overrides})


def contracts_of(stack: Any) -> dict[str, str]:
    deployment = load_deployment(stack.stack.state_dir)
    assert deployment is not None, "stack up wrote no contracts.json"
    return deployment.contracts


def driver_for(stack: Any, run_dir: Path | None = None, *, key: ChainKey | None = None, **chain: Any) -> ChainDriver:
    evidence = EvidenceWriter(run_dir, "chain") if run_dir else None
    driver = ChainDriver(chain_of(stack, **chain), contracts_of(stack), evidence=evidence, key=key)
    driver.connect()
    return driver


def run_campaign(stack: Any, recipients: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A campaign created through the API, delivered; its final view and the sink's copies of its emails."""
    campaigns = CampaignsDriver(stack.client("admin"))
    addresses = [f"chain-{secrets.token_hex(4)}-{i}@recipients.test" for i in range(recipients)]
    created = campaigns.create(campaign_body(addresses))
    final = campaigns.wait_until_final(created["id"])
    assert final["status"] == "completed", final
    messages = [m for a in addresses for m in stack.sink.messages(to=a)]
    return final, messages


def open_proposal(stack: Any) -> tuple[GovernanceDriver, dict[str, Any]]:
    governance = GovernanceDriver(stack.client("admin"))
    proposal = governance.create(proposal_body(f"Chain test {secrets.token_hex(3)}", "ceo"))
    for action, body in (("submit", {"submitted_by": "ceo"}), ("start-voting", {})):
        outcome = governance.transition(proposal["id"], action, body)
        assert outcome.accepted, outcome.describe()
    return governance, proposal


def vote(governance: GovernanceDriver, proposal_id: str, role: str, option: str) -> dict[str, Any]:
    outcome = governance.vote(proposal_id, VOTERS[role]["private_key"], option)
    assert isinstance(outcome, Accepted) and outcome.status == 201, outcome.describe()
    return dict(outcome.data["data"])


@pytest.fixture
def anvil_on() -> Iterator[Callable[[int], str]]:
    """Throwaway anvils with a chosen chain id (1 for "mainnet", 5 for "Goerli"), stopped by PID afterwards."""
    pidfiles: list[Path] = []
    dirs: list[Path] = []
    binary = anvil_binary()
    assert binary is not None, "anvil is missing: run make bootstrap"

    def start(chain_id: int) -> str:
        port = next_port_base() + 7
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"lg-anvil-{port}"
        pidfile = tmp / "anvil.pid"
        procs.start([str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id)],
                    env=os.environ, log=tmp / "anvil.log", pidfile=pidfile)
        pidfiles.append(pidfile)
        dirs.append(tmp)
        rpc = f"http://127.0.0.1:{port}"
        assert procs.wait_until(lambda: procs.port_in_use(port), 10), f"anvil on {port} did not start"
        return rpc

    yield start
    for pidfile in pidfiles:
        procs.stop(pidfile)
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)


# -- anchoring and confirmation ----------------------------------------------------------------------------------
def test_stack_up_deploys_the_contracts_and_hands_their_addresses_to_the_services(stack: Any) -> None:
    deployment = load_deployment(stack.stack.state_dir)
    assert deployment is not None and set(deployment.contracts) == {REGISTRY, DAO}
    env = stack.stack.service_env("conduit")
    assert env["EMAIL_VERIFICATION_CONTRACT"] == deployment.contracts[REGISTRY]
    assert env["EMAIL_DAO_CONTRACT_ADDRESS"] == deployment.contracts[DAO]
    driver = driver_for(stack)
    for name in (REGISTRY, DAO):
        contract = driver.contract(name)  # raises if no code is there
        assert contract.functions.owner().call() == deployment.deployer
    registry, dao = driver.contract(REGISTRY), driver.contract(DAO)
    assert registry.functions.isWriter(deployment.writers["conduit"]).call()
    assert dao.functions.isWriter(deployment.writers["governance"]).call()
    assert not registry.functions.isWriter(deployment.writers["governance"]).call()


def test_a_campaign_is_anchored_and_confirmed_from_the_delivered_emails(stack: Any, tmp_path: Path) -> None:
    campaign, messages = run_campaign(stack, 3)  # how fast: bench/bench_chain.py (tests assert no timings)
    assert len(messages) == 3
    driver = driver_for(stack, tmp_path)
    confirmed = driver.confirm_campaign(campaign, messages)
    assert confirmed.recomputed == 3
    claims = {d["emailId"]: d for d in campaign["deliveries"]}
    assert len({d["anchorTx"] for d in claims.values()}) == 1, claims  # one transaction for the pass, not per email
    registry = driver.contract(REGISTRY)
    for message in messages:
        anchor = driver.verify_email(message)
        email_id = message["headers"][HEADER_EMAIL_ID]
        assert anchor.verification_hash == recompute_hash(message) == claims[email_id]["verificationHash"]
        assert anchor.confirmation.tx_hash == claims[email_id]["anchorTx"]
        assert anchor.confirmation.confirmations >= 1
        block, timestamp = registry.functions.anchoredAt(bytes.fromhex(anchor.verification_hash)).call()
        assert (block, anchor.campaign_id) == (anchor.confirmation.block, campaign["id"]) and timestamp > 0
        assert registry.functions.anchorOf(bytes.fromhex(anchor.verification_hash)).call() == (
            block, timestamp, anchor.anchorer
        )
    records, bad = read_evidence(tmp_path)
    assert not bad
    by_kind = {(r.details["subject_kind"], r.details["subject"]): r for r in records}
    record = by_kind[("campaign", campaign["id"])]
    assert record.kind == "chain" and record.outcome == "passed"
    assert record.details["tx_hash"] in {d["anchorTx"] for d in campaign["deliveries"]}
    assert record.details["explorer_url"] == EXPLORER.replace("{tx}", record.details["tx_hash"])
    assert record.details["block"] >= 1 and record.details["confirmations"] >= 1
    assert {("email", d["emailId"]) for d in campaign["deliveries"]} <= by_kind.keys()


def test_a_batch_resent_after_a_crash_keeps_each_first_anchor(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in stack.stack.service_env("conduit").items():
        monkeypatch.setenv(name, value)
    anchor = ChainAnchor(ServiceConfig.from_env("conduit"), contracts_of(stack)[REGISTRY])

    def request(tag: str) -> AnchorRequest:
        return AnchorRequest(f"resend-{tag}", "resend-campaign", "0x" + secrets.token_hex(32), f"<{tag}@test>")

    first, second, fresh = request("a"), request("b"), request("c")
    earlier = anchor([first, second])
    assert earlier[first.email_id] == earlier[second.email_id]  # one transaction
    again = anchor([second, fresh])  # `second` was anchored before the "crash"
    assert again[second.email_id] == earlier[second.email_id]
    assert again[fresh.email_id] not in (None, earlier[second.email_id])
    stored = driver_for(stack).anchors_of([second.verification_hash.removeprefix("0x")])
    assert stored[second.verification_hash.removeprefix("0x")].confirmation.tx_hash == earlier[second.email_id]


def test_a_single_email_send_is_anchored(stack: Any) -> None:
    to = f"single-{secrets.token_hex(4)}@recipients.test"
    sent = CampaignsDriver(stack.client("admin")).send_email(to, "Quarterly community update", "Hello there")
    if not isinstance(sent, Accepted):
        pytest.skip(f"single send refused by the agents: {sent.describe()}")
    email = sent.data["email"]
    (message,) = stack.sink.messages(to=to)
    anchor = driver_for(stack).verify_email(message, email["anchorTx"])
    assert anchor.campaign_id == "" and anchor.confirmation.tx_hash == email["anchorTx"]


# -- governance --------------------------------------------------------------------------------------------------
def test_the_chain_tally_and_outcome_equal_the_api(stack: Any, tmp_path: Path) -> None:
    governance, proposal = open_proposal(stack)
    pid = proposal["id"]
    vote(governance, pid, "ceo", "for")
    vote(governance, pid, "cfo", "against")
    vote(governance, pid, "clo", "abstain")
    for action, body in (("close-voting", {}), ("approve", {"approved_by": "ceo", "reasoning": "passed"})):
        outcome = governance.transition(pid, action, body)
        assert outcome.status == 200, outcome.describe()
    final = governance.get(pid)
    driver = driver_for(stack, tmp_path)
    confirmed = driver.confirm_proposal(final, governance.votes(pid))
    results = final["votingResults"]
    assert confirmed.chain.status == "executed" == final["status"]
    assert confirmed.chain.counts == {"for": 1, "against": 1, "abstain": 1, "veto": 0}
    assert confirmed.chain.power == {o: results[f"power_{o}"] for o in ("for", "against", "abstain", "veto")}
    assert confirmed.chain.total_power == results["total_power"]
    assert (confirmed.chain.quorum_percentage, confirmed.chain.threshold_percentage) == (
        results["quorum_percentage"], results["approval_threshold_percentage"])
    assert set(confirmed.transactions) == {"record", "result", "decision"} | {
        f"vote:{VOTERS[r]['address']}" for r in ("ceo", "cfo", "clo")}
    records, _ = read_evidence(tmp_path)
    summary = [r for r in records if r.details["subject_kind"] == "proposal"]
    assert [r.details["subject"] for r in summary] == [pid]
    assert summary[0].details["tx_hash"] == final["humanApprovalDecision"]["transaction_hash"]


def test_a_failed_vote_is_failed_on_chain_too(stack: Any) -> None:
    governance, proposal = open_proposal(stack)
    pid = proposal["id"]
    vote(governance, pid, "ceo", "against")
    assert governance.transition(pid, "close-voting").status == 200
    final = governance.get(pid)
    assert final["votingResults"]["outcome"] == "failed"
    confirmed = driver_for(stack).confirm_proposal(final, governance.votes(pid))
    assert confirmed.chain.status == "failed"


def test_a_double_vote_reverts_on_chain(stack: Any) -> None:
    governance, proposal = open_proposal(stack)
    pid = proposal["id"]
    first = vote(governance, pid, "ceo", "for")
    assert governance.vote(pid, VOTERS["ceo"]["private_key"], "against").status == 400  # the API refuses
    relay_key = ChainKey(derive_service_private_key(stack.secrets.chain_private_key, "governance"))
    driver = driver_for(stack, key=relay_key)
    assert driver.wait_confirmed(first["transaction_hash"], "first vote").sender == relay_key.address
    # Even the authorised relay cannot cast it again: estimated, it is refused before sending...
    with pytest.raises(TransactionReverted, match="already voted") as estimated:
        driver.transact(DAO, "castVote", pid, VOTERS["ceo"]["address"], 1, 1000)
    assert estimated.value.tx_hash is None
    # ...and sent anyway, it is mined as a revert whose receipt says so.
    with pytest.raises(TransactionReverted, match="already voted") as mined:
        driver.transact(DAO, "castVote", pid, VOTERS["ceo"]["address"], 1, 1000, gas=200_000)
    assert mined.value.tx_hash and mined.value.tx_hash in str(mined.value) and "status 1" in str(mined.value)
    assert driver.proposal(pid).counts == {"for": 1, "against": 0, "abstain": 0, "veto": 0}
    assert "already voted" in (driver.vote_refusal(pid, VOTERS["ceo"]["address"], "for", 1000, relay_key.address)
                               or "")


def test_an_api_tally_that_differs_from_the_chain_is_caught(stack: Any) -> None:
    governance, proposal = open_proposal(stack)
    pid = proposal["id"]
    vote(governance, pid, "ceo", "for")
    votes = governance.votes(pid)
    lied = copy.deepcopy(votes)
    lied[0]["voting_power"] = 9999
    with pytest.raises(ChainMismatch, match="not what its transaction"):
        driver_for(stack).confirm_proposal(governance.get(pid), lied)


# -- tampering ----------------------------------------------------------------------------------------------------
def test_skip_anchor_fault_is_caught(make_stack: Any) -> None:
    faulty = make_stack(faults=["skip-anchor"])
    campaign, messages = run_campaign(faulty, 2)
    claimed = [d["anchorTx"] for d in campaign["deliveries"]]
    assert all(tx and tx.startswith("0x") and len(tx) == 66 for tx in claimed), claimed  # it looks anchored
    driver = driver_for(faulty)
    with pytest.raises(ChainMismatch) as caught:
        driver.confirm_campaign(campaign, messages)
    message = str(caught.value)
    assert "is not anchored" in message and "a transaction the chain does not have" in message
    assert any(tx in message for tx in claimed)
    with pytest.raises(ChainMismatch, match="never anchored"):
        driver.verify_email(messages[0], claimed[0])
    with pytest.raises(ReceiptTimeout, match="no such transaction") as timeout:
        driver.wait_confirmed(claimed[0], "the claimed anchor", timeout=0.3)
    assert timeout.value.tx_hash == claimed[0]


def test_an_email_altered_after_delivery_fails_the_check(stack: Any) -> None:
    campaign, messages = run_campaign(stack, 2)
    driver = driver_for(stack)
    altered = copy.deepcopy(messages[0])
    altered["body"] = altered["body"].replace("Hello", "Hello, send your password to", 1)
    assert altered["body"] != messages[0]["body"]
    assert driver.find_email_anchor(altered) is None
    with pytest.raises(ChainMismatch, match="never anchored"):
        driver.verify_email(altered)
    with pytest.raises(ChainMismatch, match=r"recomputes to .* the API claims"):
        driver.confirm_campaign(campaign, [altered, messages[1]])
    driver.confirm_campaign(campaign, messages, record=False)  # the genuine emails still verify


# -- safety ---------------------------------------------------------------------------------------------------------
def test_writes_to_mainnet_are_refused_without_both_overrides(
    anvil_on: Callable[[int], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rpc = anvil_on(1)  # an anvil that says it is chain 1: the refusal is judged on the chain id alone
    deployment = ensure_contracts(rpc, 1, ANVIL_DEV_KEY_0, tmp_path)
    key = ChainKey(ANVIL_DEV_KEY_0)
    writer = deployment.writers["conduit"]
    monkeypatch.delenv("LAUNCHGATE_ALLOW_MAINNET_WRITES", raising=False)
    for allowed, override in ((False, None), (True, None), (False, "1")):
        if override:
            monkeypatch.setenv("LAUNCHGATE_ALLOW_MAINNET_WRITES", override)
        driver = ChainDriver(Chain(rpc=rpc, chain_id=1, allow_mainnet_writes=allowed), deployment.contracts, key=key)
        with pytest.raises(MainnetWriteRefused, match=r"allow_mainnet_writes = true .*LAUNCHGATE_ALLOW_MAINNET_WRITES"):
            driver.transact(REGISTRY, "setWriter", writer, True)
    monkeypatch.setenv("LAUNCHGATE_ALLOW_MAINNET_WRITES", "1")
    driver = ChainDriver(Chain(rpc=rpc, chain_id=1, allow_mainnet_writes=True), deployment.contracts, key=key)
    assert driver.transact(REGISTRY, "setWriter", writer, True).confirmations >= 1  # both halves: allowed


def test_dead_testnets_are_refused_with_the_live_ones_named(anvil_on: Callable[[int], str]) -> None:
    with pytest.raises(DeadTestnet, match=r"Goerli.*shut down.*Sepolia \(11155111\), Holesky \(17000\) or Hoodi"):
        ChainDriver(Chain(rpc="http://127.0.0.1:9", chain_id=5))
    for chain_id, name in ((3, "Ropsten"), (4, "Rinkeby")):
        with pytest.raises(DeadTestnet, match=name):
            ChainDriver(Chain(rpc="http://127.0.0.1:9", chain_id=chain_id))
    goerli = anvil_on(5)  # a node that turns out to be Goerli, whatever the profile declared
    with pytest.raises(DeadTestnet, match=r"the node at .* chain id 5, Goerli"):
        ChainDriver(Chain(rpc=goerli, chain_id=11155111)).connect()


def test_keys_never_show(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key_hex = VOTERS["cto"]["private_key"]
    bare = key_hex.removeprefix("0x")
    key = ChainKey(key_hex)
    driver = ChainDriver(chain_of(stack), contracts_of(stack), key=key)
    service = ServiceKey(key_hex)
    for shown in (repr(key), str(key), f"{key}", repr(driver), repr(service), str(service), repr([key, service])):
        assert bare not in shown.lower(), shown
        assert VOTERS["cto"]["address"] in shown or "ChainDriver" in shown
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert not hasattr(key, "__dict__") and not hasattr(service, "__dict__")
    monkeypatch.setenv("LG_TEST_BAD_KEY", "0x" + "zz" * 32)
    with pytest.raises(ChainConfigError) as bad:
        ChainKey.from_env("LG_TEST_BAD_KEY")
    assert "zz" not in str(bad.value) and "LG_TEST_BAD_KEY" in str(bad.value)
    with pytest.raises(ChainConfigError, match="set LG_TEST_UNSET_KEY"):
        ChainKey.from_env("LG_TEST_UNSET_KEY")


# -- bad input --------------------------------------------------------------------------------------------------------
def test_an_unreachable_rpc_is_named() -> None:
    port = next_port_base() + 7  # nothing listens there
    with pytest.raises(ChainUnreachable, match=rf"cannot reach the chain RPC http://127.0.0.1:{port}"):
        ChainDriver(Chain(rpc=f"http://127.0.0.1:{port}", chain_id=31337)).connect()


def test_a_wrong_chain_id_is_refused(stack: Any) -> None:
    with pytest.raises(ChainIdMismatch, match=r"declares chain id 11155111, but the node at .* is chain 31337"):
        ChainDriver(chain_of(stack, chain_id=11155111), contracts_of(stack)).connect()


def test_an_unfunded_account_is_named(stack: Any) -> None:
    empty = ChainKey("0x" + secrets.token_hex(32))
    driver = driver_for(stack, key=empty)
    with pytest.raises(AccountUnfunded, match=rf"account {empty.address} holds 0 wei on chain 31337"):
        driver.transact(REGISTRY, "setWriter", empty.address, True, gas=100_000)


def test_a_missing_contract_is_named(stack: Any) -> None:
    nowhere = "0x" + secrets.token_hex(20)
    driver = ChainDriver(chain_of(stack), {REGISTRY: nowhere})
    with pytest.raises(ContractMissing, match=r"no contract code at 0x[0-9a-fA-F]{40} on chain 31337") as missing:
        driver.contract(REGISTRY)
    assert nowhere.lower() in str(missing.value).lower()
    with pytest.raises(ContractMissing, match="names no address for DaoGovernance"):
        driver.contract(DAO)


def test_a_reverted_transaction_is_named(stack: Any) -> None:
    relay = ChainKey(derive_service_private_key(stack.secrets.chain_private_key, "governance"))
    driver = driver_for(stack, key=relay)  # an authorised, funded writer: only the contract's rule refuses
    refusal = r"reverted in block \d+: only a proposal whose vote passed"
    with pytest.raises(TransactionReverted, match=refusal) as reverted:
        driver.transact(DAO, "recordDecision", "PROP-NEVER-RECORDED", True, gas=100_000)
    assert reverted.value.tx_hash and reverted.value.tx_hash in str(reverted.value)
    assert reverted.value.reason == "only a proposal whose vote passed awaits a decision"
    stranger = driver_for(stack, key=ChainKey(ANVIL_DEV_KEY_0))  # the deployer owns, but does not write
    with pytest.raises(TransactionReverted, match="would revert, nothing was sent: not an authorised writer"):
        stranger.transact(DAO, "recordDecision", "PROP-NEVER-RECORDED", True)


def test_a_receipt_that_does_not_arrive_in_time_is_named(stack: Any) -> None:
    ghost = "0x" + secrets.token_hex(32)
    driver = driver_for(stack)
    with pytest.raises(ReceiptTimeout, match=rf"{ghost} not confirmed within 0.2 s on chain 31337: no receipt"):
        driver.wait_confirmed(ghost, "a ghost transaction", timeout=0.2)
    campaign, _ = run_campaign(stack, 1)
    mined = campaign["deliveries"][0]["anchorTx"]
    patient = driver_for(stack, confirmations=10_000)  # anvil mines only on demand: these never come
    with pytest.raises(ReceiptTimeout, match=r"mined in block \d+ with \d+ of 10000 confirmations"):
        patient.wait_confirmed(mined, "an anchor", timeout=0.2)


# -- the CLI ----------------------------------------------------------------------------------------------------------
def _profile(tmp_path: Path, chain: str) -> Path:
    path = tmp_path / "probe.toml"
    path.write_text(
        'name = "probe"\nenvironment = "mock"\n[services.gateway]\nurl = "http://127.0.0.1:9"\n'
        '[api]\nemail = "http://127.0.0.1:9"\n[chain]\n' + chain
    )
    return path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate", "chain", "check", *args], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}, timeout=60)


def _in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`launchgate chain check ARGS` through the CLI's own main, in this process (web3 is imported already): its
    exit code and what it printed to stderr."""
    from launchgate.cli import main

    capsys.readouterr()
    code = main(["chain", "check", *args])
    return code, capsys.readouterr().err


def test_chain_check_cli(stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    contracts = contracts_of(stack)
    table = "\n".join(f'{name} = "{address}"' for name, address in contracts.items())
    good = _profile(tmp_path, f'rpc = "{stack.stack.chain_rpc}"\nchain_id = 31337\nprivate_key_env = "LG_PROBE_KEY"\n'
                              f"[chain.contracts]\n{table}\n")
    # The command as a user runs it, once; the refusals below through the same main, in this process.
    ok = _cli("--target", str(good), env={"LG_PROBE_KEY": ANVIL_DEV_KEY_0})
    assert ok.returncode == 0, ok.stderr
    assert "reachable" in ok.stdout and "code present" in ok.stdout and "writes allowed" in ok.stdout
    assert ANVIL_DEV_KEY_0.removeprefix("0x") not in ok.stdout + ok.stderr

    monkeypatch.setenv("LG_PROBE_KEY", "0x" + secrets.token_hex(32))
    code, err = _in_process(capsys, "--target", str(good))
    assert code == 2 and "holds 0 wei" in err, err

    wrong = _profile(tmp_path, f'rpc = "{stack.stack.chain_rpc}"\nchain_id = 17000\n')
    code, err = _in_process(capsys, "--target", str(wrong))
    assert code == 2 and "declares chain id 17000" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    down = _profile(tmp_path, f'rpc = "http://127.0.0.1:{next_port_base() + 7}"\nchain_id = 31337\n')
    code, err = _in_process(capsys, "--target", str(down))
    assert code == 2 and "cannot reach the chain RPC" in err

    dead = _profile(tmp_path, 'rpc = "http://127.0.0.1:9"\nchain_id = 4\n')
    code, err = _in_process(capsys, "--target", str(dead))
    assert code == 2 and "Rinkeby" in err and "Sepolia" in err

    gone = _profile(tmp_path, f'rpc = "{stack.stack.chain_rpc}"\nchain_id = 31337\n[chain.contracts]\n'
                              f'DaoGovernance = "0x{secrets.token_hex(20)}"\n')
    code, err = _in_process(capsys, "--target", str(gone))
    assert code == 2 and "no contract code at" in err
