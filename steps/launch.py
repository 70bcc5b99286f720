"""Public Launch steps that read the launch log the profile names ([files] launch_log): the first month's
disruptions and security findings, and weekly engagement. gates.yaml decides what is enough; too short a
log is inconclusive there, and no log at all is inconclusive here."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from launchgate.bdd.evidence_plugin import inconclusive, note
from launchgate.bdd.means import project_file
from launchgate.bdd.session import TargetSession
from launchgate.gates.launch_log import (
    LaunchLog,
    LaunchLogError,
    counts_for_launch,
    read_launch_log,
    write_launch_evidence,
)


@given("the launch log the profile names", target_fixture="launch_log")
def read_named_launch_log(target: TargetSession, request: pytest.FixtureRequest) -> LaunchLog:
    named = target.target.files.get("launch_log")
    if not named:
        inconclusive(f"the profile {target.target.path.name} names no [files] launch_log: nothing records the "
                     "month after launch yet")
    try:
        log = read_launch_log(project_file(named))
    except LaunchLogError as exc:
        raise AssertionError(str(exc)) from None
    write_launch_evidence(log, target.run_dir, target.name)
    note(request, f"launch log {named}: {log.observed_from:%Y-%m-%d} to {log.observed_to:%Y-%m-%d}")
    return log


@then("no major service disruption or security incident is recorded in it")
def no_incidents(launch_log: LaunchLog) -> None:
    counted = [i for i in launch_log.incidents if counts_for_launch(i)]
    assert not counted, "; ".join(f"{i['id']} ({i['kind']}, {i['severity']}): {i['summary']}" for i in counted[:5])


@then("it records the weekly active users")
def engagement_recorded(launch_log: LaunchLog) -> None:
    weeks = launch_log.weeks
    assert weeks, "the launch log has no engagement entries"
