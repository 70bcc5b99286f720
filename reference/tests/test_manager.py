"""The reference's stack manager: a service that dies during start is reported and nothing is left running, and a
running conduit names the dependencies its health depends on."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from reference_testkit import RunningStack

from reference371os import procs
from reference371os.testing import next_port_base


def test_service_dies_during_start_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database URL nothing listens on: the conduit cannot start; the error names it and shows its log.
    from reference371os.manager import Stack, StackOptions

    unreachable_db = "postgresql+psycopg://x@127.0.0.1:9/x"
    stack = Stack(tmp_path / "s", StackOptions(port_base=next_port_base(), database=unreachable_db))
    with pytest.raises(procs.StackError, match=r"exited during start|was not healthy"):
        stack.up()
    assert stack.running() == []


def test_health_reports_a_dead_dependency(stack: RunningStack) -> None:
    body = httpx.get(f"{stack.url('conduit')}/health").json()
    assert body["status"] == "operational"
    assert set(body["dependencies"]) >= {"db", "mail", "chain"}
