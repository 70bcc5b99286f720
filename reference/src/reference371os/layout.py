"""Where each process of the reference stack lives: names, start order and ports."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PORT_BASE = 18370


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    offset: int
    # The 371OS name, where the service stands for one of the public services.
    public_name: str | None = None
    health_path: str = "/health"


# Start order: dependencies first. The two 371OS services stay separate processes.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("sink", 5),
    ServiceSpec("postiz", 4),
    ServiceSpec("platform", 3),
    ServiceSpec("governance", 2, "dao-governance-service"),
    ServiceSpec("conduit", 1, "enhanced-mail-conduit"),
    ServiceSpec("gateway", 0),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)

# Ports of the dependencies, relative to the same base.
SMTP_OFFSET = 6
ANVIL_OFFSET = 7
POSTGRES_OFFSET = 8
PROMETHEUS_OFFSET = 9
# Extra conduit processes for blue-green and canary releases (`reference371os deploy --slot`). The original
# conduit process is the blue slot, on its own port. A stack owns base + 0 .. PORT_SPAN - 1: two stacks side by
# side must sit PORT_SPAN ports apart.
SLOT_OFFSETS: dict[str, int] = {"green": 10, "canary": 11}
PORT_SPAN = 20
SLOTS_FILE = "slots.json"  # in the state directory: the gateway's slot table, kept across gateway restarts


@dataclass(frozen=True)
class Ports:
    base: int = DEFAULT_PORT_BASE

    def service(self, name: str) -> int:
        for spec in SERVICES:
            if spec.name == name:
                return self.base + spec.offset
        raise KeyError(name)

    @property
    def smtp(self) -> int:
        return self.base + SMTP_OFFSET

    @property
    def anvil(self) -> int:
        return self.base + ANVIL_OFFSET

    @property
    def postgres(self) -> int:
        return self.base + POSTGRES_OFFSET

    @property
    def prometheus(self) -> int:
        return self.base + PROMETHEUS_OFFSET

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service(name)}"

    def slot(self, name: str) -> int:
        """The port of a release slot's conduit process (green, canary); blue is the conduit's own port."""
        if name == "blue":
            return self.service("conduit")
        return self.base + SLOT_OFFSETS[name]

    def all(self) -> dict[str, int]:
        ports = {s.name: self.service(s.name) for s in SERVICES}
        ports.update(smtp=self.smtp, anvil=self.anvil)
        return ports
