"""`--provision containers`: the stack's dependencies as Docker containers, end to end, and every way it can
go wrong (no engine, an image that cannot be pulled, a mirror that cannot be reached).

Tests marked `containers` need a Docker engine: scripts/test.sh installs docker.io, starts a private dockerd
by PID and builds the local images before running them; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from docker.errors import APIError, ImageNotFound

from launchgate.drivers.campaigns import CampaignsDriver, campaign_body
from launchgate.drivers.prometheus import PrometheusClient
from launchgate.waiting import wait_for
from reference371os import procs
from reference371os.layout import SERVICE_NAMES, Ports
from reference371os.manager import Stack
from reference371os.provision import containers as containers_mod
from reference371os.provision import engine as engine_mod
from reference371os.provision import images
from reference371os.provision.engine import Engine, EngineError, client_for, find_engine
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


@pytest.mark.containers
def test_the_image_build_steps_import_a_root_and_build_on_it(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build pipeline (import a root file system, build a dependency image on it, skip it when up to date)
    on a tiny root instead of a debootstrap one, and under test tags, so the real images stay as they are."""
    def fake_debootstrap(root: Path, mirror: str, log: Any, timeout: float = 0) -> None:
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "os-release").write_text("ID=launchgate-test\n")

    monkeypatch.setattr(images, "debootstrap", fake_debootstrap)
    monkeypatch.setattr(images, "base_tag", lambda: "launchgate-test/base:t")
    monkeypatch.setitem(images.LOCAL_IMAGES, "prometheus", "launchgate-test/prometheus:t")
    lines: list[str] = []
    client = client_for(engine)
    try:
        assert images.build_images(client, ("prometheus",), log=lines.append) == {
            "prometheus": "launchgate-test/prometheus:t"}
        built = client.images.get("launchgate-test/prometheus:t")
        assert built.labels[images.RECIPE_LABEL] == images.recipe("prometheus")
        assert built.attrs["Config"]["User"] == "nobody"
        assert "images: built launchgate-test/prometheus:t" in lines
        lines.clear()
        images.build_images(client, ("prometheus",), log=lines.append)
        assert lines == ["images: launchgate-test/prometheus:t is up to date"]
        assert not (images.IMAGES_DIR / "rootfs").exists() and not (images.IMAGES_DIR / "rootfs.tar").exists()
    finally:
        for tag in ("launchgate-test/prometheus:t", "launchgate-test/base:t"):
            with contextlib.suppress(ImageNotFound):
                client.images.remove(tag, force=True)
        client.close()


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


# -- the engine ---------------------------------------------------------------------------------------------
def test_find_engine_names_the_place_it_tried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    found = find_engine()
    assert not found.ok and f"{tmp_path}/none.sock" in found.reason
    assert engine_mod.candidate_hosts() == [f"unix://{tmp_path}/none.sock"]
    monkeypatch.delenv("DOCKER_HOST")
    (tmp_path / "docker.sock").touch()
    assert engine_mod.candidate_hosts(tmp_path) == [f"unix://{tmp_path}/docker.sock", "unix:///var/run/docker.sock"]


def test_engine_start_explains_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine_mod.shutil, "which", lambda _name: None)
    with pytest.raises(EngineError, match=re.escape("dockerd is not installed: apt-get install -y docker.io")):
        Engine(tmp_path).start()
    monkeypatch.setattr(engine_mod.shutil, "which", lambda _name: "/usr/sbin/dockerd")
    deep = tmp_path / ("d" * 100)
    with pytest.raises(EngineError, match="too deep for a unix socket"):
        Engine(deep).start()
    assert Engine(tmp_path).stop() is False  # nothing of ours runs there
    assert engine_mod.main(["status", "--root", str(tmp_path)]) in (0, 1)


# -- images -------------------------------------------------------------------------------------------------
class FakeImages:
    def __init__(self, present: set[str], pull_error: Exception | None = None) -> None:
        self.present, self.pull_error, self.pulled = present, pull_error, []  # type: ignore[var-annotated]

    def get(self, ref: str) -> Any:
        if ref not in self.present:
            raise ImageNotFound(f"No such image: {ref}")
        return type("Image", (), {"labels": {}})()

    def pull(self, ref: str) -> None:
        if self.pull_error:
            raise self.pull_error
        self.pulled.append(ref)


class FakeClient:
    def __init__(self, present: set[str], pull_error: Exception | None = None) -> None:
        self.images = FakeImages(present, pull_error)


def test_image_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAUNCHGATE_IMAGE_ANVIL", raising=False)
    resolve = containers_mod.resolve_image
    official, local = images.DEFAULT_IMAGES["anvil"], images.LOCAL_IMAGES["anvil"]
    assert resolve(FakeClient({official, local}), "anvil", {}) == official  # type: ignore[arg-type]
    assert resolve(FakeClient({local}), "anvil", {}) == local  # type: ignore[arg-type]
    client = FakeClient(set())
    assert resolve(client, "anvil", {}) == official and client.images.pulled == [official]  # type: ignore[arg-type]
    assert resolve(FakeClient({"mine:1"}), "anvil", {"anvil": "mine:1"}) == "mine:1"  # type: ignore[arg-type]
    monkeypatch.setenv("LAUNCHGATE_IMAGE_ANVIL", "env:2")
    assert resolve(FakeClient({"env:2"}), "anvil", {}) == "env:2"  # type: ignore[arg-type]
    refused = FakeClient(set(), APIError("Get https://registry-1.docker.io/v2/: no such host"))
    with pytest.raises(procs.StackError) as caught:
        resolve(refused, "prometheus", {})  # type: ignore[arg-type]
    message = str(caught.value)
    assert "image prom/prometheus for prometheus is not here and cannot be pulled" in message
    assert "no such host" in message and "LAUNCHGATE_IMAGE_PROMETHEUS" in message


def test_unreachable_mirror_fails_fast_and_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = "http://127.0.0.1:9/debian"
    started = time.monotonic()
    with pytest.raises(images.ImageBuildError, match=r"cannot reach the Debian mirror http://127\.0\.0\.1:9/debian"):
        images.check_mirror(mirror, timeout=5)
    if os.geteuid() == 0 and images.shutil.which("debootstrap"):
        with pytest.raises(images.ImageBuildError, match="LAUNCHGATE_DEBIAN_MIRROR"):
            images.debootstrap(tmp_path / "rootfs", mirror, log=lambda _line: None)
    assert time.monotonic() - started < 30, "an unreachable mirror must not hang the build"
    monkeypatch.setenv("LAUNCHGATE_DEBIAN_MIRROR", "http://mirror.example/debian/")
    assert images.apt_mirror() == "http://mirror.example/debian"


def test_apt_mirror_reads_deb822_and_one_line_sources() -> None:
    stanza = "Types: deb\n# a comment\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\n"
    assert images._deb822(stanza)["uris"] == "http://deb.example/debian"
    mirror = images.apt_mirror()
    assert mirror.startswith(("http://", "https://")) and not mirror.endswith("/")


def test_rootfs_is_slimmed_and_removed_without_crossing_mounts(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    for path in ("var/cache/apt/archives/x.deb", "usr/share/doc/pkg/README", "var/lib/postgresql/15/main/PG_VERSION",
                 "usr/bin/prometheus"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")
    images._slim(root)
    assert not (root / "var/cache/apt/archives/x.deb").exists() and not (root / "usr/share/doc/pkg").exists()
    assert not (root / "var/lib/postgresql/15/main").exists() and (root / "usr/bin/prometheus").exists()
    assert engine_mod.mounts_under(root) == []
    images._remove_rootfs(root)
    assert not root.exists()


def test_recipes_change_with_what_goes_into_an_image(monkeypatch: pytest.MonkeyPatch) -> None:
    before = images.recipe("prometheus")
    assert before == images.recipe("prometheus") and before != images.recipe("postgres")
    monkeypatch.setitem(images.DOCKERFILES, "prometheus", images.DOCKERFILES["prometheus"] + "LABEL x=y\n")
    assert images.recipe("prometheus") != before
    assert images.base_tag().startswith("launchgate/bookworm-base:bookworm-")


def test_images_command_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        images.main(["redis"])
    assert caught.value.code == 2 and "unknown image redis" in capsys.readouterr().err


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    yield


def test_images_command_without_engine_says_so(no_engine: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert images.main([]) == 1
    assert "images: no Docker engine" in capsys.readouterr().err
