"""`launchgate stack` over the reference's deploy hooks (snapshots, slots, restarts): the reference's errors reach
the user in one line with exit 2; and the harness's read-only database driver on a restored PostgreSQL stack.
The reference's own snapshots, restores and slots are tested in reference/tests/test_releases.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from launchgate.cli import main
from launchgate.drivers.database import DatabaseReader
from launchgate.drivers.governance import GovernanceDriver, proposal_body
from reference371os import procs
from reference371os.backup import Snapshots
from tests.conftest import RunningStack, start_stack


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of this module's own: its services are restarted, stopped and started."""
    running = start_stack(tmp_path_factory.mktemp("releases"))
    try:
        yield running
    finally:
        running.close()
        running.stack.down()


def proposal_exists(governance: GovernanceDriver, proposal_id: str) -> bool:
    return governance.api.raw("GET", f"/api/governance/proposals/{proposal_id}").status_code == 200


def test_snapshot_errors_name_what_is_wrong(own: RunningStack, capfd: pytest.CaptureFixture[str]) -> None:
    snapshots = Snapshots(own.stack)
    with pytest.raises(procs.StackError, match=r"no snapshot 'never-taken' in .* \(known: "):
        snapshots.restore("never-taken")
    with pytest.raises(procs.StackError, match="must be 1-64 letters"):
        snapshots.take("../escape")
    assert main(["stack", "restore", "--state-dir", str(own.stack.state_dir), "never-taken"]) == 2
    assert "reference371os: no snapshot 'never-taken'" in capfd.readouterr().err  # `launchgate stack` runs it


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
