"""The reference's containers path, its parts: the Docker engine it finds or starts (provision/engine.py) and
the images it resolves and builds (provision/images.py, provision/containers.py). A real engine is used only by the
tests marked `containers` (scripts/test-containers.sh starts one); `launchgate stack up --provision containers` end
to end is tested in tests/test_containers.py."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import APIError, ImageNotFound

from reference371os import procs
from reference371os.provision import containers as containers_mod
from reference371os.provision import engine as engine_mod
from reference371os.provision import images
from reference371os.provision.engine import Engine, EngineError, client_for, find_engine


@pytest.fixture(scope="module")
def engine() -> str:
    found = find_engine()
    if not found.ok:
        reason = os.environ.get("LAUNCHGATE_NO_ENGINE") or found.reason
        pytest.skip(f"no Docker engine could be started or reached ({reason}); the containers path is untested here")
    return found.host


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
