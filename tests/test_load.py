"""Load profiles ([load] in fixtures/targets/*.toml) and `launchgate onboard` on a real reference stack.

Locust is never imported here: it runs as a subprocess of the `launchgate onboard` subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from launchgate.evidence import read_evidence
from launchgate.soak.target import SOAK_TASKS, load_plan
from launchgate.targets import TargetError, load_target, parse_target, shift_ports
from tests.conftest import RunningStack

ENV = {**os.environ, "CI": "1", "LAUNCHGATE_LOOPBACK_ONLY": "1"}


def test_reference_profile_routes_every_soak_task_through_the_gateway() -> None:
    target = load_target("reference")
    assert target.load is not None
    assert target.load.weights == {"campaigns": 3, "governance": 1, "social": 2, "reads": 4}
    plan, notes = load_plan(target, SOAK_TASKS)
    assert notes == []
    assert plan["routes"]["create_campaign"] == {"method": "POST", "url": "http://127.0.0.1:18370/api/email/campaign",
                                                 "name": "POST /api/email/campaign"}
    assert plan["routes"]["mailbox"]["url"].startswith("http://127.0.0.1:18375/messages?to={email}")
    assert plan["wait"] == [0.5, 1.5] and Path(plan["voters_file"]).is_file()


def test_the_371os_profile_leaves_out_what_371os_does_not_have() -> None:
    plan, notes = load_plan(load_target("371os"), SOAK_TASKS)
    assert plan["weights"]["social"] == 0 and plan["weights"]["campaigns"] == 3
    assert notes == ["task social is off: the profile has no route social_post"]
    assert plan["routes"]["create_proposal"]["url"] == "http://127.0.0.1:3000/api/governance/proposals"


def test_a_moved_reference_stack_moves_every_route() -> None:
    target = shift_ports(load_target("reference"), 26500)
    assert target.load_url("social_post") == "http://127.0.0.1:26500/api/social/posts"
    assert str(target.load_url("mailbox")).startswith("http://127.0.0.1:26505/")
    assert target.chain is not None and target.chain.rpc == "http://127.0.0.1:26507"
    assert target.chain.explorer_tx_url == "http://127.0.0.1:26500/explorer/tx/{tx}"
    assert target.monitoring is not None and target.monitoring.prometheus == "http://127.0.0.1:26509"


@pytest.mark.parametrize(("routes", "message"), [
    ('bad = "FETCH email /x"', 'field load.routes.bad must read "METHOD AREA /path"'),
    ('bad = "GET email x"', 'field load.routes.bad must read "METHOD AREA /path"'),
    ('bad = "GET nowhere /x"', "field load.routes.bad names 'nowhere', neither an [api] area nor a service"),
])
def test_a_bad_load_route_is_named_with_its_field(tmp_path: Path, routes: str, message: str) -> None:
    import tomllib

    text = textwrap.dedent(f"""
        name = "t"
        environment = "mock"
        [services.api]
        url = "http://127.0.0.1:9"
        [api]
        email = "http://127.0.0.1:9"
        [load.routes]
        {routes}
    """)
    with pytest.raises(TargetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_target(tomllib.loads(text), tmp_path / "t.toml")


def test_onboarding_signs_up_verifies_logs_in_and_creates_a_first_campaign(stack: RunningStack,
                                                                          tmp_path: Path) -> None:
    run_dir = tmp_path / "onboard"
    admin = stack.client("admin")
    accounts_before = admin.get("/api/auth/users/stats")["total"]
    result = subprocess.run(
        [sys.executable, "-m", "launchgate", "onboard", "--target", "reference", "--users", "8", "--spawn-rate", "4",
         "--port-base", str(stack.stack.options.port_base), "--stack-dir", str(stack.stack.state_dir),
         "--run-dir", str(run_dir), "--timeout", "3m"],
        capture_output=True, text=True, timeout=300, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 of 8 users onboarded" in result.stdout
    records, bad = read_evidence(run_dir)
    assert not bad
    (record,) = records
    assert (record.name, record.criterion, record.value, record.outcome) == (
        "onboarding.users", "launch.users-onboarded", 8.0, "passed")
    assert record.details["failed"] == 0 and record.details["attempted"] == 8
    mails = stack.sink.messages(subject_contains="Verify")
    onboarded = {m["rcpt_to"][0] for m in mails if m["rcpt_to"][0].endswith("@onboarding.test")}
    assert len(onboarded) >= 8
    # The rehearsal leaves no account behind (the reference profile names the delete_account route).
    assert "cleanup: 8 of the 8 accounts that logged in were closed again" in result.stdout
    assert record.details["accounts_closed"] == 8
    assert admin.get("/api/auth/users/stats")["total"] == accounts_before
    # Each new user's first campaign is theirs: created under the token they got by logging in.
    owners = {c["owner"] for c in admin.get("/api/email/campaigns", params={"limit": 1000})["campaigns"]
              if c.get("name") == "My first campaign"}
    assert len(owners) >= 8
    lines = (run_dir / "locust" / "part-1_seconds.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["flows"]["user onboarded"] == [8, 0]
