"""Steps that hold a target to the 371OS contract (fixtures/openapi/): Schemathesis's generated requests, the
reachability of every static route, GET safety and the default send options (contract.conformance), and the
transaction claims of the answers (chain.verification)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_bdd import given, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.session import TargetSession
from launchgate.drivers.chain import TX_HASH
from launchgate.drivers.contract import (
    Change,
    ContractDoc,
    ContractDocError,
    FuzzRun,
    Reach,
    fuzz,
    id_views,
    load_contract,
    reach,
    read_safety,
    tx_claims,
)
from launchgate.drivers.outcomes import Outcome

# Bounds of the generated requests, per document (the documents run side by side): every operation with its
# edge cases (Schemathesis's coverage phase) and a few generated bodies, small enough for a CI gate run.
MAX_EXAMPLES = 5
MAX_TIME_S = 120


@given("the 371OS contract as OpenAPI documents", target_fixture="contract_docs")
def contract_docs(target: TargetSession) -> list[ContractDoc]:
    try:
        docs = load_contract()
    except ContractDocError as exc:
        raise AssertionError(str(exc)) from None
    served = [d for d in docs if d.area in target.target.api]
    if not served:
        inconclusive(f"target {target.name} serves none of the contract's areas "
                     f"({', '.join(sorted({d.area for d in docs}))})")
    return served


@when("requests generated from the contract are sent to each of its services", target_fixture="fuzz_runs")
def generated_requests(target: TargetSession, contract_docs: list[ContractDoc],
                       request: pytest.FixtureRequest) -> list[FuzzRun]:
    credential = target.credential("admin")
    out = target.run_dir / "artifacts" / "contract"

    def run(doc: ContractDoc) -> FuzzRun:
        return fuzz(doc, target.target.api[doc.area], credential, out, max_examples=MAX_EXAMPLES, max_time_s=MAX_TIME_S)

    with ThreadPoolExecutor(len(contract_docs)) as pool:
        runs = list(pool.map(run, contract_docs))
    for done in runs:
        note(request, f"{done.doc.path.name}: {done.cases} operations, {len(done.findings)} findings "
                      f"(log: {done.log.relative_to(target.run_dir)})")
    return runs


@then("no answer is a server error, an undocumented status or a body the contract does not allow")
def no_finding(fuzz_runs: list[FuzzRun]) -> None:
    findings = [f for r in fuzz_runs for f in r.findings]
    assert not findings, f"{len(findings)} answers break the contract: " + " | ".join(f.line() for f in findings[:8])
    broken = [r for r in fuzz_runs if r.cases == 0]
    assert not broken, "; ".join(f"Schemathesis tested nothing of {r.doc.path.name} (exit {r.exit_code}, "
                                 f"log {r.log.name})" for r in broken)


@when("each route of the contract without an id is asked for", target_fixture="reached_routes")
def static_routes(target: TargetSession, contract_docs: list[ContractDoc]) -> list[Reach]:
    return [r for d in contract_docs for r in reach(d, target.api(d.area, "admin"))]


@then("every one of them answers as itself, none taken for an id")
def all_reached(reached_routes: list[Reach]) -> None:
    lost = [r for r in reached_routes if not r.reachable]
    assert not lost, "; ".join(r.line() for r in lost)


@when("each view of the proposal the contract lists is read, and those read before it again",
      target_fixture="view_changes")
def read_views(target: TargetSession, contract_docs: list[ContractDoc], proposal: dict[str, Any]) -> list[Change]:
    views = id_views(contract_docs, "governance")
    if not views:
        inconclusive("the contract lists no view of a proposal")
    return read_safety(target.api("governance", "admin"), views, proposal["id"])


@then("no reading changed what another view answers")
def nothing_changed(view_changes: list[Change]) -> None:
    assert not view_changes, "a GET changed the resource: " + "; ".join(c.line() for c in view_changes)


@then("every transaction the answers claim is a transaction hash that the target's chain confirms")
def claims_confirmed(target: TargetSession, ballots: dict[str, dict[str, Any]]) -> None:
    claims = [(f"the {role.upper()}'s ballot: {field}", value)
              for role, body in ballots.items() for field, value in tx_claims(body)]
    if not claims:
        inconclusive("the answers claimed no transaction")
    fake = [f"{what} = {value!r}" for what, value in claims if not TX_HASH.fullmatch(value)]
    assert not fake, f"not a transaction hash (0x and 64 hex digits): {'; '.join(fake)}"
    if target.chain() is None:
        inconclusive(f"{len(claims)} transaction hashes were claimed, but target {target.name} names no chain "
                     "to look them up in")
    chain = target.chain_driver()
    for what, value in claims:
        chain.wait_confirmed(value, what)  # raises, naming the claim, when the chain has no such transaction


ORDINARY = {"to": "defaults@recipients.test", "subject": "Quarterly community update",
            "content": "Hello, here is what the community built this quarter."}


@dataclass(frozen=True)
class DefaultSend:
    """The answers to one ordinary email sent with the contract's default options, and without optimization."""

    default: Outcome
    plain: Outcome


@when("an ordinary email is sent with the options the contract gives by default", target_fixture="default_send")
def send_with_defaults(target: TargetSession) -> DefaultSend:
    campaigns = target.campaigns("admin")
    return DefaultSend(campaigns.send_email(**ORDINARY), campaigns.send_email(**ORDINARY, optimize=False))


@then("it is accepted, or refused for something in its own content")
def accepted_with_defaults(default_send: DefaultSend) -> None:
    default, plain = default_send.default, default_send.plain
    if default.accepted:
        return
    shown = default.describe()
    if plain.accepted:
        raise AssertionError(f"an ordinary email (subject {ORDINARY['subject']!r}) is refused with the default "
                             f"enableCognitiveOptimization=true: {shown}; the same email is accepted without it, "
                             "so the default option refuses every send whatever its content")
    raise AssertionError(f"an ordinary email (subject {ORDINARY['subject']!r}) is refused with the contract's "
                         f"default options: {shown}")
