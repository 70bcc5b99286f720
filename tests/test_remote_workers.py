"""Load past one machine, through Locust's own distributed mode: `launchgate soak --expect-workers N
--master-bind HOST:PORT` waits for N `launchgate worker` processes before its clock starts; a worker lost mid-run
is a harness gap in the soak's record, not downtime, and the soak goes on with the workers it has. A worker with
no master, or with another locustfile than the master's, exits 2 naming what is wrong. All on loopback."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from launchgate.runner import PROJECT_ROOT
from launchgate.soak.loadgen import free_port
from reference371os import procs
from tests.conftest import RunningStack, command_env
from tests.test_soak import Soak, poll

pytestmark = pytest.mark.unmeasured_subprocesses  # Locust and its workers: measured by tests/test_soak.py


def _target(stack: RunningStack) -> list[str]:
    return ["--target", "reference", "--port-base", str(stack.stack.options.port_base), "--stack-dir",
            str(stack.stack.state_dir)]


def _worker(stack: RunningStack, master: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "launchgate", "worker", "--master", master, *_target(stack),
                             *extra], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=command_env(),
                            start_new_session=True)


def _locust_child(worker: subprocess.Popen[bytes]) -> int:
    """The Locust process a `launchgate worker` runs (its only child)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return int(children[0]) if children else 0


def test_a_soak_goes_on_with_the_workers_it_has_when_one_is_lost(stack: RunningStack, tmp_path: Path) -> None:
    run_dir = tmp_path / "soak"
    # No --master-bind: loopback and a free port, which the soak names and keeps for a --resume.
    soak = Soak(run_dir, [*_target(stack), "--duration", "15s", "--users", "6", "--spawn-rate", "6", "--calibrate", "0",
                          "--expect-workers", "2", "--run-dir", str(run_dir)]).start()
    out = tmp_path / "soak.1.out"
    poll(lambda: "Locust worker(s) at" in out.read_text(), 60, "the soak to wait for its workers")
    master = re.search(r"Locust worker\(s\) at (127\.0\.0\.1:\d+) ", out.read_text()).group(1)  # type: ignore[union-attr]
    # A worker with another locustfile is refused, naming both, and does not count as one of the two.
    other = _worker(stack, master, tmp_path / "other.log", "--locustfile", str(PROJECT_ROOT / "load" / "onboarding.py"))
    assert other.wait(60) == 2
    said = (tmp_path / "other.log").read_text()
    assert "launchgate worker: refused by the master: the master runs locustfile soak.py (" in said, said
    assert "profile reference (" in said and "this worker has locustfile onboarding.py (" in said, said
    workers = [_worker(stack, master, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    try:
        poll(lambda: soak.count("SELECT COUNT(*) FROM samples WHERE metric = 'generator_workers' AND value = 2") >= 3,
             90, "three seconds of load from both workers")
        lost = _locust_child(workers[0])
        assert lost, "the first worker runs no Locust"
        procs.send_signal(lost, signal.SIGKILL, group=False)  # a crash: no goodbye to the master
        rc, text, err = soak.wait(120)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
            worker.wait(15)
    assert "2 Locust worker(s) joined: the load starts" in text, text + err
    assert json.loads((run_dir / "run.json").read_text())["options"]["master_bind"] == master
    assert "a Locust worker stopped answering its master" in text, text
    assert "load generator: 1 Locust worker(s) lost" in text and "a harness gap, not downtime" in text, text
    summary = next(r for r in soak.records() if r.name == "soak.summary")
    (gone,) = summary.details["workers_lost"]
    assert gone["lost"] == 1 and gone["workers"] == 1, gone
    assert summary.details["downtime_s"] == 0 and summary.details["uptime"] == 1.0, summary.details
    # What the load generator gave: its busiest process's CPU and its users' wait overrun, each second.
    generator = summary.details["generator"]
    assert generator["cpu_max"] is not None and generator["lag_ms"] is not None, generator
    assert "load generator: its busiest Locust process at most" in text, text
    assert rc == 0, text + err  # the target was healthy: the lost worker is not charged to it
    after = soak.count("SELECT COUNT(*) FROM load_seconds WHERE ts > (SELECT MIN(ts) FROM events WHERE "
                       "kind = 'worker_lost') AND requests > 0")
    assert after >= 3, "the load went on through the remaining worker"


def test_a_worker_with_no_master_exits_2_naming_the_address(stack: RunningStack, tmp_path: Path) -> None:
    master = f"127.0.0.1:{free_port()}"
    worker = _worker(stack, master, tmp_path / "worker.log", "--wait", "1s")
    assert worker.wait(60) == 2
    said = (tmp_path / "worker.log").read_text()
    assert said.strip() == (f"launchgate: no Locust master answers at {master} (waited 1 s): start "
                            "`launchgate soak --expect-workers N --master-bind HOST:PORT` first"), said
