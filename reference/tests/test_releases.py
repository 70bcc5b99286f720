"""The reference stack's own deploy hooks: snapshots and restores, blue-green and canary slots behind the gateway.
`launchgate stack`'s commands over them, and the harness's read-only database driver, are tested in
tests/test_stack_releases.py."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reference_testkit import Governance, RunningStack, proposal_body, start_stack

from reference371os import procs
from reference371os.backup import Snapshots, _sqlite_copy, _sqlite_merge
from reference371os.gateway.upstreams import Routing, SlotTable, initial_tables
from reference371os.kit.auth import INTERNAL_HEADER
from reference371os.layout import SLOTS_FILE
from reference371os.slots import Releases

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


def proposal_exists(governance: Governance, proposal_id: str) -> bool:
    return governance.api.raw("GET", f"/api/governance/proposals/{proposal_id}").status_code == 200


def served_by(running: RunningStack, count: int = 1) -> Counter[str]:
    with httpx.Client(base_url=running.gateway, timeout=10) as client:
        return Counter(client.get("/api/email/templates").headers.get(SLOT, "(none)") for _ in range(count))


# -- snapshots --------------------------------------------------------------------------------------------
def test_restore_keeps_earlier_data_and_drops_later_data(own: RunningStack) -> None:
    governance = Governance(own.client("admin"))
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
