"""Data readiness steps (framework §6, §7): encryption at rest and in transit, snapshots and restores."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_bdd import given, then, when

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.means import database_url, require_hooks
from launchgate.bdd.session import TargetSession
from launchgate.drivers.database import DatabaseReader
from launchgate.drivers.errors import ApiError
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from launchgate.drivers.hooks import Hooks
from launchgate.drivers.http import ApiClient
from launchgate.drivers.identity import IdentityDriver
from launchgate.drivers.transport import read_transport
from steps.proposals import advance

INTEGRATIONS_TABLE = "platform_integrations"  # [database] integrations_table overrides
USERS_TABLE = "platform_users"  # [database] users_table overrides
SNAPSHOT_TIMEOUT_S = 300.0


@dataclass
class KeyHolder:
    """A member the harness signed up itself, so it knows their password; they store third-party keys."""

    email: str
    password: str
    social: ApiClient

    def connect_key(self) -> tuple[str, dict[str, Any]]:
        key = "sandbox_" + secrets.token_hex(16)
        reply = self.social.post("/api/social/integrations", json={"provider": "postiz", "apiKey": key})
        return key, dict(reply["integration"])

    def connected_key_hint(self) -> str:
        (integration,) = self.social.get("/api/social/integrations")["integrations"]
        return str(integration["apiKey"])


@dataclass(frozen=True)
class ConnectedKey:
    """A third-party key the harness stored through the API, and the integration the target made of it."""

    key: str
    integration: dict[str, Any]


@pytest.fixture(scope="session")
def key_holder(target_session: TargetSession) -> Iterator[KeyHolder]:
    target = target_session
    if "social" not in target.target.api:
        inconclusive(f"target {target.name} has no social API through which to store a third-party key")
    target.require("identity", "the harness must sign a member up to know the password it checks for")
    email = f"keyholder.{target.run_dir.name}.{secrets.token_hex(3)}@members.test".lower()
    password = "pw-" + secrets.token_urlsafe(18)
    token = IdentityDriver(target.api("identity")).onboard(email, password, "Key Holder", target.mail_sink())
    holder = KeyHolder(email, password, ApiClient(target.target.api["social"], token=token))
    yield holder
    holder.social.close()


def _table(target: TargetSession, key: str, default: str) -> str:
    return target.target.database.get(key, default)


def _variants(value: str) -> list[str]:
    """The value, and the encodings that hide nothing (base64, hex): stored that way it is still readable."""
    raw = value.encode()
    return [value, base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            raw.hex()]


# -- encryption at rest ----------------------------------------------------------------------------------
@given("a member has signed up with a password")
def member_signed_up(target: TargetSession, request: pytest.FixtureRequest) -> None:
    database_url(target)  # no database access, no verdict: said before anyone signs up
    request.getfixturevalue("key_holder")


@given("the member has connected a third-party API key", target_fixture="connected_key")
@when("the member connects a third-party API key", target_fixture="connected_key")
def member_connects_key(key_holder: KeyHolder) -> ConnectedKey:
    return ConnectedKey(*key_holder.connect_key())


@then("the stored key cannot be read from the database")
def key_not_readable(target: TargetSession, connected_key: ConnectedKey, request: pytest.FixtureRequest) -> None:
    table = _table(target, "integrations_table", INTEGRATIONS_TABLE)
    integration_id = connected_key.integration["id"]
    with DatabaseReader(database_url(target)) as db:
        if not db.rows(table, where={"id": integration_id}):
            inconclusive(f"integration {integration_id}, stored through the API, is not in table "
                         f"{table} of {db.label}: that is not the database the API writes to, or nothing persists")
        needles = _variants(connected_key.key)
        in_rows = db.scan(table, needles)
        in_files = db.file_contains(needles)
        where = [f"{f.table}.{f.column} of row {f.row}" for f in in_rows] + [f"the raw file {n}" for n, _ in in_files]
        assert not where, f"the third-party key stored through the API is readable at rest in {', '.join(where)}"
        note(request, f"the key stored through the API appears in no column of {table} nor in the raw bytes "
                      f"of {db.label}, neither plain nor base64- or hex-encoded")


@then("no password is stored in plain text")
def passwords_not_plain(target: TargetSession, key_holder: KeyHolder, request: pytest.FixtureRequest) -> None:
    holder = key_holder
    table = _table(target, "users_table", USERS_TABLE)
    known = [holder.password]
    if target.stack is not None:
        known += list(target.stack.secrets.role_passwords.values())
    with DatabaseReader(database_url(target)) as db:
        if not db.scan(table, [holder.email]):
            inconclusive(f"member {holder.email}, signed up through the API, is not in table {table} of {db.label}")
        needles = [v for password in known for v in _variants(password)]
        where = [f"{f.table}.{f.column} of row {f.row}" for f in db.scan(table, needles)]
        where += [f"the raw file {n}" for n, _ in db.file_contains(needles)]
        assert not where, f"a password is stored readably in {', '.join(where)}"
        note(request, f"none of {len(known)} known passwords appears in {table} or the raw bytes of {db.label}")


# -- encryption in transit -------------------------------------------------------------------------------
@then("every endpoint that traffic reaches over the network uses https")
def endpoints_use_https(target: TargetSession, request: pytest.FixtureRequest) -> None:
    profile = target.target
    endpoints = {f"service {n}": s.url for n, s in profile.services.items()}
    endpoints.update({f"{area} API": url for area, url in profile.api.items()})
    if profile.chain is not None:
        endpoints["chain RPC"] = profile.chain.rpc
    if profile.monitoring is not None:
        endpoints["Prometheus"] = profile.monitoring.prometheus
    readings = [read_transport(label, url) for label, url in endpoints.items()]
    local = [r for r in readings if r.verdict == "loopback"]
    if len(local) == len(readings):
        inconclusive(f"all {len(readings)} endpoints are on the loopback interface: no traffic between them crosses "
                     "a network, so encryption in transit cannot be judged here (a profile with the deployment's own "
                     "addresses can)")
    findings = [r.detail for r in readings if r.verdict == "finding"]
    assert not findings, "traffic leaves the host unencrypted: " + "; ".join(findings)
    if local:
        note(request, f"{len(local)} endpoint(s) on loopback are exempt: {', '.join(r.label for r in local)}")
    note(request, "; ".join(f"{r.label}: {r.detail}" for r in readings if r.verdict == "encrypted"))


# -- snapshots and restores ------------------------------------------------------------------------------
@given("the target's database can be snapshotted and restored", target_fixture="snapshot_hooks")
def snapshots_possible(target: TargetSession) -> Hooks:
    return require_hooks(target, "snapshot", "restore", why="the harness cannot snapshot and restore the database")


@when("a database snapshot is taken", target_fixture="snapshot")
def snapshot_taken(snapshot_hooks: Hooks) -> str:
    """The snapshot's name."""
    name = f"lg-{secrets.token_hex(6)}"
    snapshot_hooks.run("snapshot", timeout=SNAPSHOT_TIMEOUT_S, name=name)
    return name


@when("another proposal is drafted", target_fixture="later_proposal")
def another_proposal(governance: GovernanceDriver) -> dict[str, Any]:
    return governance.create(proposal_body("Sponsor the hackathon", "cfo"))


@when("the proposal is submitted")
def proposal_submitted(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    pid = proposal["id"]
    advance(governance, pid, "submit")
    assert governance.get(pid)["status"] != "draft", "the submitted proposal still reads as a draft"


@when("the member connects another API key")
def member_replaces_key(key_holder: KeyHolder, connected_key: ConnectedKey) -> None:
    key_holder.connect_key()
    assert key_holder.connected_key_hint() != "…" + connected_key.key[-4:], "the key was not replaced"


@when("the database is restored from the snapshot")
def restored(snapshot_hooks: Hooks, snapshot: str) -> None:
    snapshot_hooks.run("restore", timeout=SNAPSHOT_TIMEOUT_S, name=snapshot)


def _exists(governance: GovernanceDriver, proposal_id: str) -> bool:
    try:
        governance.get(proposal_id)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


@then("the first proposal is still there")
def first_still_there(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    pid = proposal["id"]
    assert _exists(governance, pid), f"proposal {pid}, made before the snapshot, is gone after the restore"


@then("the later proposal is gone")
def later_gone(governance: GovernanceDriver, later_proposal: dict[str, Any]) -> None:
    pid = later_proposal["id"]
    assert not _exists(governance, pid), f"proposal {pid}, made after the snapshot, survived the restore"


@then("the submission of the proposal is undone")
def submission_undone(governance: GovernanceDriver, proposal: dict[str, Any]) -> None:
    status = governance.get(proposal["id"])["status"]
    assert status == "draft", f"after the restore the proposal is {status}, not the draft it was at the snapshot"


@then("the member's first key is connected again")
def first_key_back(key_holder: KeyHolder, connected_key: ConnectedKey) -> None:
    hint = key_holder.connected_key_hint()
    first = connected_key.key[-4:]
    assert hint.endswith(first), (
        f"after the restore the member's key ends {hint!r}; the key connected at the snapshot ends {first!r}"
    )
