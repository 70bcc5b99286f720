"""The Docker engine the containers provisioner talks to: found, or started by PID for CI.

`python -m reference371os.provision.engine start|stop|status` runs a private dockerd for this checkout, with
its own data root, exec root, socket and PID file under .launchgate/docker/. It uses host networking only
(`--bridge=none --iptables=false`): the default bridge's private range is not ours to take, and every
container of the stack listens on 127.0.0.1 of the host anyway.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from reference371os import procs
from reference371os.paths import PROJECT_ROOT

ENGINE_ROOT = PROJECT_ROOT / ".launchgate" / "docker"
PING_TIMEOUT_S = 3
START_TIMEOUT_S = 60.0
INSTALL_HINT = "apt-get install -y docker.io, then `python -m reference371os.provision.engine start`"


class EngineError(Exception):
    """No Docker engine could be reached or started; the message says why and what to do."""


@dataclass(frozen=True)
class EngineProbe:
    host: str  # a DOCKER_HOST value; "" is docker's own default
    ok: bool
    reason: str  # why not, when not ok; the server version when ok


def probe(host: str) -> EngineProbe:
    try:
        client = docker.DockerClient(base_url=host or None, timeout=PING_TIMEOUT_S) if host else \
            docker.from_env(timeout=PING_TIMEOUT_S)
    except DockerException as exc:
        return EngineProbe(host, False, _first_line(exc))
    try:
        client.ping()
        return EngineProbe(host, True, str(client.version().get("Version", "?")))
    except (DockerException, OSError) as exc:
        return EngineProbe(host, False, _first_line(exc))
    finally:
        client.close()


def candidate_hosts(root: Path = ENGINE_ROOT) -> list[str]:
    """DOCKER_HOST alone when it is set (the user chose); else this checkout's own engine, then docker's
    default socket."""
    if os.environ.get("DOCKER_HOST"):
        return [os.environ["DOCKER_HOST"]]
    hosts = []
    own = root / "docker.sock"
    if own.exists():
        hosts.append(f"unix://{own}")
    hosts.append("unix:///var/run/docker.sock")
    return hosts


def find_engine(root: Path = ENGINE_ROOT) -> EngineProbe:
    """The first engine that answers, else a probe whose reason lists every place tried."""
    tried = []
    for host in candidate_hosts(root):
        found = probe(host)
        if found.ok:
            return found
        tried.append(f"{host}: {found.reason}")
    return EngineProbe("", False, "; ".join(tried))


def client_for(host: str, timeout: int = 120) -> docker.DockerClient:
    return docker.DockerClient(base_url=host, timeout=timeout) if host else docker.from_env(timeout=timeout)


class Engine:
    """A private dockerd, started and stopped by PID."""

    def __init__(self, root: Path = ENGINE_ROOT) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.pidfile = root / "dockerd.pid"  # ours, written by procs.start
        self.log = root / "dockerd.log"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def running(self) -> bool:
        pid = procs.read_pid(self.pidfile)
        return pid is not None and procs.is_alive(pid)

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Starts dockerd unless ours already runs; returns its DOCKER_HOST."""
        if self.running() and probe(self.host).ok:
            return self.host
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise EngineError(f"dockerd is not installed: {INSTALL_HINT}")
        if os.geteuid() != 0:
            raise EngineError("dockerd needs root; run as root or point DOCKER_HOST at a running engine")
        if len(str(self.socket)) > 100:  # unix socket paths are limited to 108 bytes
            raise EngineError(f"engine root {self.root} is too deep for a unix socket path")
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        cmd = [
            dockerd, "--bridge=none", "--iptables=false", "--ip6tables=false", "--userland-proxy=false",
            f"--data-root={self.root / 'data'}", f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.root / 'dockerd.own.pid'}", f"--host={self.host}", "--log-level=warn",
        ]
        procs.start(cmd, env=os.environ, log=self.log, pidfile=self.pidfile)
        pid = procs.read_pid(self.pidfile)

        def up() -> bool:
            if pid is not None and not procs.is_alive(pid):
                raise EngineError(f"dockerd exited during start; last log lines:\n{procs.tail(self.log)}")
            return self.socket.exists() and probe(self.host).ok

        if not procs.wait_until(up, timeout, interval=0.2):
            self.stop()
            raise EngineError(f"dockerd did not answer within {timeout:.0f} s; log: {self.log}")
        return self.host

    def stop(self) -> bool:
        """SIGTERM to dockerd alone (it stops its containers and its containerd), SIGKILL after 30 s; then
        what it left mounted under its root (its netns handle) is unmounted, so the root can be deleted."""
        stopped = procs.stop(self.pidfile, sig=signal.SIGTERM, timeout=30, group=False)
        self.socket.unlink(missing_ok=True)
        for point in sorted(mounts_under(self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        return stopped


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    with open("/proc/self/mounts") as fh:
        points = [line.split()[1].replace("\\040", " ") for line in fh]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference371os.provision.engine", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--root", type=Path, default=ENGINE_ROOT)
    args = parser.parse_args(argv)
    engine = Engine(args.root)
    if args.action == "start":
        try:
            print(f"DOCKER_HOST={engine.start()}")
        except EngineError as exc:
            print(f"engine: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.action == "stop":
        print("dockerd stopped" if engine.stop() else "dockerd was not running")
        return 0
    found = find_engine(args.root)
    print(f"DOCKER_HOST={found.host} (engine {found.reason})" if found.ok else f"no engine: {found.reason}")
    return 0 if found.ok else 1


if __name__ == "__main__":
    sys.exit(main())
