"""The reference stack's own deploy hooks: snapshots and restores, blue-green and canary slots behind the gateway."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from launchgate.cli import main
from launchgate.drivers.database import DatabaseReader
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from reference371os import procs
from reference371os.backup import Snapshots, _sqlite_copy, _sqlite_merge
from reference371os.gateway.upstreams import Routing, SlotTable, initial_tables
from reference371os.kit.auth import INTERNAL_HEADER
from reference371os.layout import SLOTS_FILE
from reference371os.slots import Releases
from tests.conftest import RunningStack, start_stack

SLOT = "X-LG-Slot"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of this module's own: restores restart its services, deploys add processes."""
    running = start_stack(tmp_path_factory.mktemp("releases"))
    try:
        yield running
    finally:
        running.close()
        running.stack.down()


def proposal_exists(governance: GovernanceDriver, proposal_id: str) -> bool:
    return governance.api.raw("GET", f"/api/governance/proposals/{proposal_id}").status_code == 200


def served_by(running: RunningStack, count: int = 1) -> Counter[str]:
    with httpx.Client(base_url=running.gateway, timeout=10) as client:
        return Counter(client.get("/api/email/templates").headers.get(SLOT, "(none)") for _ in range(count))


# -- snapshots --------------------------------------------------------------------------------------------
def test_restore_keeps_earlier_data_and_drops_later_data(own: RunningStack) -> None:
    governance = GovernanceDriver(own.client("admin"))
    earlier = governance.create(proposal_body("Before the snapshot", "ceo"))
    pids = {s: procs.read_pid(own.stack.pids / f"{s}.pid") for s in ("platform", "governance", "conduit")}
    snapshots = Snapshots(own.stack)
    snapshot = snapshots.take("before-later")
    assert (snapshot.kind, snapshot.services) == ("sqlite", ("platform", "governance", "conduit"))
    assert json.loads((snapshot.path / "manifest.json").read_text())["name"] == "before-later"
    later = governance.create(proposal_body("After the snapshot", "cfo"))
    governance.transition(earlier["id"], "submit", {"submitted_by": "ceo"})

    restarted = snapshots.restore("before-later")

    assert restarted == ["platform", "governance", "conduit"]
    assert all(procs.read_pid(own.stack.pids / f"{s}.pid") != pid for s, pid in pids.items()), "not restarted"
    assert governance.get(earlier["id"])["status"] == "draft"
    assert not proposal_exists(governance, later["id"])
    with pytest.raises(procs.StackError, match="exists already"):
        snapshots.take("before-later")


def test_snapshot_errors_name_what_is_wrong(own: RunningStack, capfd: pytest.CaptureFixture[str]) -> None:
    snapshots = Snapshots(own.stack)
    with pytest.raises(procs.StackError, match=r"no snapshot 'never-taken' in .* \(known: "):
        snapshots.restore("never-taken")
    with pytest.raises(procs.StackError, match="must be 1-64 letters"):
        snapshots.take("../escape")
    assert main(["stack", "restore", "--state-dir", str(own.stack.state_dir), "never-taken"]) == 2
    assert "reference371os: no snapshot 'never-taken'" in capfd.readouterr().err  # `launchgate stack` runs it


def _database(path: Path, rows: list[tuple[int, str]]) -> Path:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("DELETE FROM t")
        conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    conn.close()
    return path


def _rows(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT id, v FROM t ORDER BY id"))
    finally:
        conn.close()


def test_a_restore_replaces_the_database_while_the_broken_one_merges(tmp_path: Path) -> None:
    snap = _database(tmp_path / "snap.db", [(1, "at snapshot")])
    live = _database(tmp_path / "live.db", [(1, "changed later"), (2, "added later")])
    _sqlite_copy(snap, live)
    assert _rows(live) == [(1, "at snapshot")]
    live = _database(tmp_path / "live.db", [(1, "changed later"), (2, "added later")])
    _sqlite_merge(snap, live)  # the broken-restore fault: earlier rows come back, later rows stay
    assert _rows(live) == [(1, "at snapshot"), (2, "added later")]


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_snapshot_and_restore(make_stack) -> None:  # type: ignore[no-untyped-def]
    running: RunningStack = make_stack(database="postgres")
    governance = GovernanceDriver(running.client("admin"))
    earlier = governance.create(proposal_body("Before the dump", "ceo"))
    snapshots = Snapshots(running.stack)
    assert snapshots.take("pg-1").kind == "postgresql"
    later = governance.create(proposal_body("After the dump", "cfo"))
    snapshots.restore("pg-1")
    assert proposal_exists(governance, earlier["id"]) and not proposal_exists(governance, later["id"])
    # The read-only driver of the encryption-at-rest check reads the same database, and cannot write it.
    with DatabaseReader(running.stack.database_url("platform")) as db:
        assert any(r["email"] == "admin@371os.local" for r in db.rows("platform_users"))
        with db.engine.connect() as conn, pytest.raises(Exception, match="read-only transaction"):
            conn.execute(text("DELETE FROM platform_feedback"))


# -- release slots ---------------------------------------------------------------------------------------
def test_blue_green_switch_and_rollback(own: RunningStack) -> None:
    releases = Releases(own.stack)
    assert served_by(own) == {"blue": 1}
    routing = releases.deploy("green")
    assert set(routing["slots"]) == {"blue", "green"} and routing["primary"] == "blue"
    assert served_by(own, 3) == {"blue": 3}, "a deployed slot gets no traffic before the switch"
    releases.switch("green")
    assert served_by(own, 3) == {"green": 3}
    assert json.loads((own.stack.state_dir / SLOTS_FILE).read_text())["conduit"]["primary"] == "green"
    result = releases.rollback()
    assert (result.action, result.serving, result.stopped) == ("switched back", "blue", "green")
    assert served_by(own, 3) == {"blue": 3}
    assert not releases.running("green")
    assert releases.rollback().action == "nothing to roll back"


def test_canary_split_is_exact_and_rollback_ends_it(own: RunningStack) -> None:
    releases = Releases(own.stack)
    releases.deploy("canary")
    releases.canary("canary", 10)
    assert served_by(own, 50) == {"blue": 45, "canary": 5}
    with pytest.raises(procs.StackError, match="slot green is not deployed"):
        releases.canary("green", 10)
    result = releases.rollback()
    assert (result.action, result.stopped) == ("canary ended", "canary")
    assert served_by(own, 5) == {"blue": 5}


def test_the_admin_route_wants_the_internal_token_and_loopback_slots(own: RunningStack) -> None:
    url = f"{own.gateway}/internal/upstreams"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={INTERNAL_HEADER: "wrong"}).status_code == 401
    headers = {INTERNAL_HEADER: own.secrets.internal_token}
    outside = {"service": "conduit", "slots": {"blue": own.url("conduit"), "green": "http://example.com:80"}}
    reply = httpx.post(url, json=outside, headers=headers)
    assert reply.status_code == 422 and "not an http URL on loopback" in reply.text
    assert httpx.post(url, json={"service": "governance", "primary": "x"}, headers=headers).status_code == 404
    # Through the proxied API it is never reachable, even smuggled with dot segments.
    assert httpx.get(f"{own.gateway}/api/email/%2e%2e/%2e%2e/internal/upstreams").status_code == 404


def test_slot_commands_exit_2_with_one_line(own: RunningStack, capfd: pytest.CaptureFixture[str]) -> None:
    state = ["--state-dir", str(own.stack.state_dir)]
    assert main(["stack", "switch", *state, "green"]) == 2
    assert "slot green is not deployed" in capfd.readouterr().err
    assert main(["stack", "rollback", "--state-dir", "/nonexistent/stack"]) == 2
    assert "no reference stack in /nonexistent/stack" in capfd.readouterr().err


def test_restart_stop_and_start_hooks_act_on_one_process(own: RunningStack) -> None:
    """The reference profile's restart and dependency hooks: a new conduit process, the sink (mail) down and back."""
    state = ["--state-dir", str(own.stack.state_dir)]
    before = procs.read_pid(own.stack.pids / "conduit.pid")
    assert main(["stack", "restart", *state, "conduit"]) == 0
    after = procs.read_pid(own.stack.pids / "conduit.pid")
    assert after is not None and after != before and "conduit" in own.stack.running()
    assert main(["stack", "stop", *state, "mail"]) == 0
    assert httpx.get(f"{own.stack.url('conduit')}/health", timeout=5).status_code == 503  # says its mail is down
    assert main(["stack", "start", *state, "mail"]) == 0
    assert httpx.get(f"{own.stack.url('sink')}/health", timeout=5).status_code == 200


# -- the gateway's slot table, without processes ----------------------------------------------------------
def test_the_split_is_smooth_for_any_share() -> None:
    table = SlotTable(Routing({"blue": "http://127.0.0.1:1", "canary": "http://127.0.0.1:2"}, canary="canary",
                              percent=25))
    picks = [table.pick() for _ in range(100)]
    assert Counter(p[0] for p in picks if p) == {"blue": 75, "canary": 25}
    assert all(sum(p[0] == "canary" for p in picks[i:i + 4] if p) == 1 for i in range(0, 100, 4))


def test_the_faulty_switch_closes_the_service_for_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("reference371os.gateway.upstreams.time.monotonic", lambda: clock[0])
    slots = {"blue": "http://127.0.0.1:1", "green": "http://127.0.0.1:2"}
    faulty = SlotTable(Routing(slots), drop_on_switch=True)
    faulty.update(Routing(slots, primary="green"))
    assert faulty.pick() is None
    clock[0] += 2
    assert faulty.pick() == ("green", slots["green"])
    healthy = SlotTable(Routing(slots))
    healthy.update(Routing(slots, primary="green"))
    assert healthy.pick() == ("green", slots["green"])


def test_routing_is_checked_and_a_damaged_slots_file_is_ignored(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="primary slot 'green' is not one of"):
        Routing({"blue": "http://127.0.0.1:1"}, primary="green").check()
    with pytest.raises(ValueError, match="must be a slot other than the primary"):
        Routing({"blue": "http://127.0.0.1:1"}, canary="blue", percent=5).check()
    urls = {"conduit": "http://127.0.0.1:1"}
    (tmp_path / SLOTS_FILE).write_text('{"conduit": {"slots": {"blue": "http://127.0.0.1:1",'
                                       ' "green": "http://127.0.0.1:2"}, "primary": "green"}}')
    assert initial_tables(urls, tmp_path, drop_on_switch=False)["conduit"].routing.primary == "green"
    (tmp_path / SLOTS_FILE).write_text('{"conduit": {"slots": {}, "primary": "green"}}')
    assert initial_tables(urls, tmp_path, drop_on_switch=False)["conduit"].routing.primary == "blue"
