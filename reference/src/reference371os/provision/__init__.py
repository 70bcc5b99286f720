"""How the reference stack's dependencies run: local processes by PID, or containers by id.

Dependencies are PostgreSQL (with `--db postgres`), anvil and Prometheus. The mail sink is one of the
stack's own Python services, and the stack uses no Redis, so neither is provisioned here.

- `local` (the default): processes on 127.0.0.1, each with a PID file under the state directory.
- `containers`: testcontainers' `DockerContainer` with host networking, each program told to listen on
  127.0.0.1 only; the container id is recorded in <state>/containers/<name>.id (the analogue of a PID file)
  and its main process's host PID in the usual PID file, so `status` and `kill` work the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference371os import procs

if TYPE_CHECKING:
    from reference371os.manager import Stack

PROVISION_KINDS = ("local", "containers")
DEPENDENCY_NAMES = ("postgres", "anvil", "prometheus")


class NoEngineError(procs.StackError):
    """`--provision containers` without a Docker engine to talk to."""


class Provisioner:
    """Starts and stops the dependencies of one stack."""

    kind = "base"

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def preflight(self) -> None:
        """Raises StackError naming what is missing, before anything starts."""

    def start(self, name: str) -> None:
        raise NotImplementedError

    def stop(self, name: str) -> bool:
        """Stops `name` however it was started (a container id file wins): True if it was running."""
        from reference371os.provision.containers import stop_container

        if (self.stack.state_dir / "containers" / f"{name}.id").exists():
            return stop_container(self.stack, name)
        if name == "postgres":
            return self.stack.postgres.stop()
        return procs.stop(self.stack.pids / f"{name}.pid")

    def refresh_log(self, name: str) -> None:
        """A container's output is copied into logs/<name>.log on demand (a process writes there itself)."""
        if self.container_id(name):
            from reference371os.provision.containers import save_logs_by_id

            save_logs_by_id(self.stack, name)

    def container_id(self, name: str) -> str | None:
        try:
            return (self.stack.state_dir / "containers" / f"{name}.id").read_text().strip() or None
        except FileNotFoundError:
            return None


def make_provisioner(stack: Stack) -> Provisioner:
    kind = stack.options.provision
    if kind == "local":
        from reference371os.provision.local import LocalProvisioner

        return LocalProvisioner(stack)
    if kind == "containers":
        from reference371os.provision.containers import ContainersProvisioner

        return ContainersProvisioner(stack)
    raise procs.StackError(f"unknown provisioning {kind!r}: use one of {', '.join(PROVISION_KINDS)}")
