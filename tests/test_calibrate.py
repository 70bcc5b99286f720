"""Before a soak judges the target, it measures what the soak's users cost its load generator, against a null target
on 127.0.0.1 (launchgate/soak/calibrate.py): ample headroom for the reference plan's users, and a warning for a
locustfile whose users would saturate their Locust process. No stack is needed, and none is touched."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from launchgate.soak.calibrate import TIGHT_HEADROOM, calibrate, null_target
from launchgate.soak.run import SOAK_TASKS
from launchgate.soak.target import load_plan
from launchgate.targets import load_target

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BURN_S = 0.05
# Every task burns BURN_S of CPU after its request: ten such users keep one process busy all the time.
HUNGRY = f"""
import sys, time
sys.path.insert(0, {str(PROJECT_ROOT / "load")!r})
import support  # noqa: F401  (the per-second statistics the harness reads)
from locust import FastHttpUser, constant, task
from support import plan, routes

ROUTES = routes(plan())

class Hungry(FastHttpUser):
    wait_time = constant(0)
    host = plan()["host"]

    @task
    def read(self):
        self.client.get(ROUTES["dashboard"].url, name="dashboard")
        end = time.process_time() + {BURN_S}
        while time.process_time() < end:
            pass
"""


def test_the_null_target_answers_every_request_of_a_kept_alive_connection() -> None:
    with null_target() as (base, counter), httpx.Client(base_url=base) as client:
        created = client.post("/api/email/campaign", json={"campaignData": {"name": "x" * 5000}})
        assert created.status_code == 200 and created.json()["campaign"]["id"] == "calibration"
        assert client.get("/api/governance/proposals?limit=10").json()["data"]["id"] == "calibration"
        assert client.delete("/api/auth/account").status_code == 200
        assert counter[0] == 3


def test_the_reference_soak_plan_leaves_its_generator_ample_headroom(tmp_path: Path) -> None:
    plan, _ = load_plan(load_target("reference"), SOAK_TASKS)
    result = calibrate(tmp_path, PROJECT_ROOT / "load" / "soak.py", plan, users=10, processes=1, seconds=2)
    assert result.rps > 5 and 0 < result.cpu_percent < 50, result
    assert result.headroom is None or result.headroom > TIGHT_HEADROOM
    assert "warning" not in result.describe()
    assert "against a null target on 127.0.0.1: the soak's 10 user(s), answered at once, ask" in result.describe()


def test_users_that_would_saturate_their_locust_process_are_warned_of(tmp_path: Path) -> None:
    hungry = tmp_path / "hungry.py"
    hungry.write_text(HUNGRY)
    plan, _ = load_plan(load_target("reference"), SOAK_TASKS)
    one = calibrate(tmp_path / "one", hungry, plan, users=10, processes=1, seconds=2)
    # Its users never wait, so the process computes all the time it gets: whatever share of a busy host that is,
    # the calibration accounts each request's 50 ms of CPU to it.
    assert one.rps > 0 and one.cpu_percent / 100 >= 0.8 * one.rps * BURN_S, one
    # On a quiet host it gets a whole core, past the saturation level: the soak is warned.
    alone = replace(one, cpu_percent=100.0)
    assert alone.headroom is not None and alone.headroom < TIGHT_HEADROOM, alone
    assert "warning: the generator is near its limit" in alone.describe()
    assert "warning" not in replace(one, cpu_percent=10.0).describe()
    # Spread over four Locust processes, each carries a quarter of the users.
    four = replace(one, processes=4)
    assert four.cpu_per_process == one.cpu_percent / 4 and "in each of 4" in four.describe()
