"""`launchgate stack up --provision containers`: the stack's dependencies as Docker containers, end to end, and
what it says when it cannot (no engine, an image that cannot be pulled, a bad --image option). The reference's
engine and image code alone is tested in reference/tests/test_provision.py.

Tests marked `containers` need a Docker engine: scripts/test-containers.sh installs docker.io, starts a private
dockerd by PID and builds the local images before running them; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.prometheus import PrometheusClient
from launchgate.waiting import wait_for
from reference371os import procs
from reference371os.layout import SERVICE_NAMES, Ports
from reference371os.manager import Stack
from reference371os.provision import containers as containers_mod
from reference371os.provision import images
from reference371os.provision.engine import client_for, find_engine
from tests.conftest import RunningStack, next_port_base

DEPENDENCIES = ("postgres", "anvil", "prometheus")


def launchgate(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def engine() -> str:
    found = find_engine()
    if not found.ok:
        reason = os.environ.get("LAUNCHGATE_NO_ENGINE") or found.reason
        pytest.skip(f"no Docker engine could be started or reached ({reason}); the containers path is untested here")
    return found.host


@pytest.fixture(scope="module")
def local_images(engine: str) -> dict[str, str]:
    """The local stand-in images (cached: built once per engine, minutes; then a no-op)."""
    client = client_for(engine, timeout=900)
    try:
        return images.build_images(client, log=lambda _line: None)
    except images.ImageBuildError as exc:
        pytest.fail(f"the local images could not be built: {exc}")
    finally:
        client.close()


def ours(engine: str, state_dir: Path) -> list[Any]:
    client = client_for(engine)
    try:
        return client.containers.list(all=True, filters={"label": f"{containers_mod.STACK_LABEL}={state_dir}"})
    finally:
        client.close()


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port`, from /proc/net/tcp{,6} (no tool needed)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in list(fh)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


@pytest.mark.containers
@pytest.mark.slow
def test_stack_with_containers_runs_a_campaign_and_down_leaves_no_container(
    engine: str, local_images: dict[str, str], tmp_path: Path
) -> None:
    state = tmp_path / "stack"
    base = next_port_base()
    env = {"DOCKER_HOST": engine}
    up = launchgate("stack", "up", "--provision", "containers", "--db", "postgres", "--state-dir", str(state),
                    "--port-base", str(base), "--scrape-interval", "1", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr

        def all_operational() -> dict[str, Any] | None:
            status = launchgate("stack", "status", "--state-dir", str(state), "--json", env=env)
            rows = {r["name"]: r for r in json.loads(status.stdout)}
            return rows if all(rows[n]["state"] == "operational" for n in SERVICE_NAMES) else None

        rows = wait_for(all_operational, timeout=60, what="every service to report operational", interval=1)
        assert {n for n, r in rows.items() if r.get("container")} == set(DEPENDENCIES)
        assert all(rows[n]["state"] == "running" for n in DEPENDENCIES)

        running = ours(engine, state)
        assert sorted(c.labels[containers_mod.DEPENDENCY_LABEL] for c in running) == sorted(DEPENDENCIES)
        assert {c.attrs["HostConfig"]["NetworkMode"] for c in running} == {"host"}
        assert {c.status for c in running} == {"running"}
        ports = Ports(base)
        for port in (ports.postgres, ports.anvil, ports.prometheus):
            assert listening_addresses(port) == {"127.0.0.1"}, f"port {port} listens beyond 127.0.0.1"

        stack = RunningStack(Stack(state))
        health = httpx.get(f"{stack.url('conduit')}/health", timeout=5)
        assert health.status_code == 200 and health.json()["dependencies"]["db"]["status"] == "up"
        assert stack.stack.database_url("conduit").startswith("postgresql+psycopg://")
        campaigns = CampaignsDriver(stack.client("member", "owner-containers"))
        recipients = ["c1@recipients.test", "c2@recipients.test"]
        final = campaigns.wait_until_final(campaigns.create(campaign_body(recipients))["id"], timeout=60)
        assert final["status"] == "completed", final
        assert sum(len(stack.sink.messages(to=r)) for r in recipients) == 2
        stack.close()
        logs = launchgate("stack", "logs", "postgres", "--state-dir", str(state), env=env)
        assert "database system is ready to accept connections" in logs.stdout, logs.stdout[-2000:]

        with PrometheusClient(stack.stack.prometheus_url) as prometheus:
            wait_for(lambda: len([t for t in prometheus.targets() if t.health == "up"]) == len(SERVICE_NAMES),
                     timeout=30, what="the Prometheus container to scrape every service")
    finally:
        down = launchgate("stack", "down", "--state-dir", str(state), env=env)
    assert down.returncode == 0, down.stderr
    assert {"prometheus", "anvil", "postgres"} <= set(down.stdout.split(":", 1)[1].replace(",", " ").split())
    assert ours(engine, state) == [], "a container of the stack is left after `stack down`"
    assert not list((state / "containers").glob("*.id"))
    assert [p for p in range(base, base + 10) if procs.port_in_use(p)] == []
    assert "Listening on 127.0.0.1" in (state / "logs" / "anvil.log").read_text()  # its output was kept


@pytest.mark.containers
def test_an_image_that_cannot_be_pulled_is_named_with_how_to_build_it(engine: str, tmp_path: Path) -> None:
    missing = "registry.invalid/launchgate/no-such-anvil:1"
    result = launchgate("stack", "up", "--provision", "containers", "--image", f"anvil={missing}", "--state-dir",
                        str(tmp_path / "s"), "--port-base", str(next_port_base()), env={"DOCKER_HOST": engine})
    assert result.returncode == 2, result.stdout
    assert f"image {missing} for anvil is not here and cannot be pulled" in result.stderr
    assert "python -m reference371os.provision.images" in result.stderr and "--image anvil=REF" in result.stderr
    assert "Traceback" not in result.stderr
    assert ours(engine, tmp_path / "s") == [] and not (tmp_path / "s" / "pids").exists()


def test_no_docker_engine_says_so_and_runs_the_local_path(tmp_path: Path) -> None:
    state = tmp_path / "s"
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    up = launchgate("stack", "up", "--provision", "containers", "--no-prometheus", "--state-dir", str(state),
                    "--port-base", str(next_port_base()), env=env)
    try:
        assert up.returncode == 0, up.stderr
        assert "--provision containers needs a Docker engine, and none answers" in up.stderr
        assert "no-engine.sock" in up.stderr and "local processes instead (--provision local)" in up.stderr
        assert json.loads((state / "stack.json").read_text())["provision"] == "local"
        rows = json.loads(launchgate("stack", "status", "--state-dir", str(state), "--json").stdout)
        assert not any(r.get("container") for r in rows) and {r["name"] for r in rows} == {"anvil", *SERVICE_NAMES}
    finally:
        down = launchgate("stack", "down", "--state-dir", str(state), env=env)
    assert down.returncode == 0 and "anvil" in down.stdout


def test_bad_image_option_is_a_usage_error(tmp_path: Path) -> None:
    result = launchgate("stack", "up", "--image", "redis=redis:7", "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2 and "--image takes NAME=REF" in result.stderr
