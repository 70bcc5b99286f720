"""`--provision containers`: anvil, PostgreSQL and Prometheus as containers, through testcontainers.

Host networking only (`network_mode="host"`), and every program is told to listen on 127.0.0.1 and on the
stack's port, so a container is reachable exactly where the local process would be. Ryuk (testcontainers'
reaper) stays off: these containers outlive the `reference371os up` process on purpose, and `stack down`
stops them by the id recorded in <state>/containers/<name>.id.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import psycopg
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from reference371os import procs
from reference371os.manager import CHAIN_ID
from reference371os.postgres import DATABASE
from reference371os.provision import NoEngineError, Provisioner
from reference371os.provision.engine import client_for, find_engine
from reference371os.provision.images import BUILD_HINT, DEFAULT_IMAGES, LOCAL_IMAGES, configured_image, image_exists
from reference371os.provision.local import ANVIL_STATE_FLAGS, prometheus_ready
from reference371os.provision.prometheus import write_config

if TYPE_CHECKING:
    from reference371os.manager import Stack

START_TIMEOUT_S = 60.0
STACK_LABEL = "org.reference371os.stack"
DEPENDENCY_LABEL = "org.launchgate.dependency"
PG_CONTAINER_DATA = "/var/lib/postgresql/data"
PROMETHEUS_CONFIG_DIR = "/etc/launchgate-prometheus"


@dataclass
class ContainerSpec:
    command: str | list[str]
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[tuple[str, str, str]] = field(default_factory=list)  # host path, container path, mode
    stop_signal: str = "SIGTERM"


class ContainersProvisioner(Provisioner):
    kind = "containers"

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self.host = ""
        self.images: dict[str, str] = {}

    # -- before anything starts --------------------------------------------------------------------------
    def preflight(self) -> None:
        engine = find_engine()
        if not engine.ok:
            raise NoEngineError(f"--provision containers needs a Docker engine, and none answers ({engine.reason})")
        self.host = engine.host
        client = client_for(self.host)
        try:
            for name in self.needed():
                self.images[name] = resolve_image(client, name, self.stack.options.images)
        finally:
            client.close()

    def needed(self) -> list[str]:
        names = ["anvil"]
        if self.stack.options.database == "postgres":
            names.insert(0, "postgres")
        if self.stack.options.prometheus:
            names.append("prometheus")
        return names

    # -- start -------------------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        stack = self.stack
        if not self.host:
            self.preflight()
        image = self.images[name]
        spec = self._spec(name)
        _use_engine(self.host)
        directory = stack.state_dir / "containers"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "engine").write_text(self.host)
        self._remove_leftover(name)
        container = DockerContainer(
            image,
            command=spec.command,  # type: ignore[arg-type]  # a list is passed on to docker as is
            env=spec.env,
            name=container_name(stack, name),
            volumes=spec.volumes,
            network_mode="host",
            labels={STACK_LABEL: str(stack.state_dir), DEPENDENCY_LABEL: name},
            stop_signal=spec.stop_signal,
        )
        try:
            container.start()
        except (APIError, DockerException) as exc:
            if container._container is not None:  # created, not started: on record, so `down` removes it
                (directory / f"{name}.id").write_text(container._container.id or "")
            raise procs.StackError(f"{name}: the container of image {image} did not start: {exc}") from exc
        wrapped = container.get_wrapped_container()
        (directory / f"{name}.id").write_text(wrapped.id or "")
        wrapped.reload()
        stack.pids.mkdir(parents=True, exist_ok=True)
        (stack.pids / f"{name}.pid").write_text(str(wrapped.attrs["State"]["Pid"]))
        try:
            self._await(name, wrapped)
        finally:
            container.get_docker_client().client.close()

    def _await(self, name: str, container: Any) -> None:
        ready = {"postgres": self._postgres_ready, "anvil": self.stack._anvil_ready,
                 "prometheus": lambda: prometheus_ready(self.stack.prometheus_url)}[name]

        def done() -> bool:
            container.reload()
            if container.status not in ("created", "running"):
                _save_logs(self.stack, name, container)
                raise procs.StackError(
                    f"{name} container ({container.short_id}, image {self.images[name]}) exited during start; "
                    f"last log lines:\n{procs.tail(self.stack.logs / f'{name}.log')}"
                )
            return bool(ready())

        if not procs.wait_until(done, START_TIMEOUT_S, interval=0.2):
            _save_logs(self.stack, name, container)
            raise procs.StackError(
                f"{name} container was not ready within {START_TIMEOUT_S:.0f} s; last log lines:\n"
                f"{procs.tail(self.stack.logs / f'{name}.log')}"
            )

    def _postgres_ready(self) -> bool:
        """Answers on 127.0.0.1, and the harness's database exists (created here, whatever the image)."""
        try:
            with psycopg.connect(host="127.0.0.1", port=self.stack.ports.postgres, user="postgres",
                                 dbname="postgres", connect_timeout=2, autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
                if found is None:
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
            return True
        except psycopg.Error:
            return False

    def _spec(self, name: str) -> ContainerSpec:
        stack = self.stack
        if name == "postgres":
            data = _directory(stack.state_dir / "postgres-container" / "data", 0o700)
            return ContainerSpec(
                command=["postgres", "-c", "listen_addresses=127.0.0.1", "-p", str(stack.ports.postgres),
                         "-c", "fsync=on"],
                env={"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_USER": "postgres", "POSTGRES_DB": DATABASE,
                     "PGDATA": PG_CONTAINER_DATA, "PGPORT": str(stack.ports.postgres),
                     "POSTGRES_INITDB_ARGS": "--encoding=UTF8 --locale=C.UTF-8"},
                volumes=[(str(data), PG_CONTAINER_DATA, "rw")],
                stop_signal="SIGINT",  # PostgreSQL's fast shutdown
            )
        if name == "anvil":
            # Writable by the official image's non-root user; it holds nothing but the chain state.
            data = _directory(stack.data / "anvil-container", 0o777)
            return ContainerSpec(
                # The foundry image runs its command through `sh -c`: one argument (a plain string would be
                # split into words by docker-py, and `sh -c` would run the first word alone).
                command=[f"exec anvil --host 127.0.0.1 --port {stack.ports.anvil} --chain-id {CHAIN_ID} "
                         f"{' '.join(ANVIL_STATE_FLAGS)} /data/anvil-state.json"],
                volumes=[(str(data), "/data", "rw")],
            )
        if name == "prometheus":
            root = stack.state_dir / "prometheus"
            write_config(root / "config", stack.ports, stack.options.scrape_interval)
            data = _directory(root / "container-data", 0o777)  # the official image runs as nobody
            return ContainerSpec(
                command=[f"--config.file={PROMETHEUS_CONFIG_DIR}/prometheus.yml", "--storage.tsdb.path=/prometheus",
                         f"--web.listen-address=127.0.0.1:{stack.ports.prometheus}", "--log.level=warn"],
                volumes=[(str(root / "config"), PROMETHEUS_CONFIG_DIR, "ro"), (str(data), "/prometheus", "rw")],
            )
        raise procs.StackError(f"no dependency {name!r}")

    def _remove_leftover(self, name: str) -> None:
        """A container of ours left by a run that died before recording its id: removed by its id."""
        client = client_for(self.host)
        try:
            old = client.containers.get(container_name(self.stack, name))
        except NotFound:
            return
        finally:
            client.close()
        if old.labels.get(STACK_LABEL) != str(self.stack.state_dir):
            raise procs.StackError(f"a container named {old.name} exists and is not this stack's: remove it")
        old.remove(force=True, v=True)


def container_name(stack: Stack, name: str) -> str:
    return f"launchgate-{hashlib.sha1(str(stack.state_dir).encode()).hexdigest()[:10]}-{name}"


def resolve_image(client: docker.DockerClient, name: str, images: dict[str, str]) -> str:
    """The configured image, else the official one if present, else the local stand-in if built, else the
    official one pulled. An image that cannot be had raises, naming it and how to build or replace it."""
    hint = BUILD_HINT.format(name=name, upper=name.upper())
    wanted = configured_image(name, images)
    candidates = [wanted] if wanted else [DEFAULT_IMAGES[name], LOCAL_IMAGES[name]]
    for ref in candidates:
        if image_exists(client, ref):
            return ref
    ref = candidates[0]
    try:
        client.images.pull(ref)
    except (APIError, DockerException, ImageNotFound) as exc:
        reason = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:300]
        raise procs.StackError(f"image {ref} for {name} is not here and cannot be pulled ({reason}): {hint}") from exc
    return ref


def stop_container(stack: Stack, name: str) -> bool:
    """Stops and removes the container recorded for `name`; True if it was running."""
    directory = stack.state_dir / "containers"
    cid = (directory / f"{name}.id").read_text().strip()
    try:
        host = (directory / "engine").read_text().strip()
    except FileNotFoundError:
        host = ""
    client = client_for(host, timeout=60)
    try:
        container = client.containers.get(cid)
    except NotFound:
        _forget(stack, name)
        return False
    except (DockerException, OSError) as exc:
        # Kept on record, so that a later `stack down` can stop it once the engine answers again.
        raise procs.StackError(
            f"cannot reach the Docker engine {host or '(default)'} to stop {name} (container {cid[:12]}): {exc}"
        ) from exc
    finally:
        client.close()
    was_running = container.status == "running"
    try:
        container.stop(timeout=20)
        _save_logs(stack, name, container)
        container.remove(v=True, force=True)
    except NotFound:
        pass
    _forget(stack, name)
    return was_running


def save_logs_by_id(stack: Stack, name: str) -> None:
    directory = stack.state_dir / "containers"
    try:
        cid = (directory / f"{name}.id").read_text().strip()
        host = (directory / "engine").read_text().strip()
    except FileNotFoundError:
        return
    client = client_for(host, timeout=10)
    try:
        _save_logs(stack, name, client.containers.get(cid))
    except (DockerException, OSError):
        pass  # the engine is gone: the log file keeps what was saved last
    finally:
        client.close()


def _forget(stack: Stack, name: str) -> None:
    (stack.state_dir / "containers" / f"{name}.id").unlink(missing_ok=True)
    (stack.pids / f"{name}.pid").unlink(missing_ok=True)


def _save_logs(stack: Stack, name: str, container: Any) -> None:
    """The container's output into logs/<name>.log, where `stack logs` reads every process's log."""
    try:
        output = container.logs(stdout=True, stderr=True)
    except (DockerException, OSError):
        return
    stack.logs.mkdir(parents=True, exist_ok=True)
    (stack.logs / f"{name}.log").write_bytes(output)


def _directory(path: Path, mode: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path


def _use_engine(host: str) -> None:
    """testcontainers reads the engine from the environment; Ryuk would reap our long-lived containers the
    moment this process exits, and its image cannot be pulled where no registry is reachable anyway."""
    if host:
        os.environ["DOCKER_HOST"] = host
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    testcontainers_config.ryuk_disabled = True
