"""The target a browser run drives: where its console is, how to read its mail, who its executives are.

The reference target is started here, on ports of its own; any other target must already be running,
and is checked before a browser starts, so a stopped target fails at once with the URL that did not answer.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from launchgate.bdd.session import ROLE_EMAILS, check_reachable
from launchgate.drivers.errors import DriverError, UnreachableError
from launchgate.drivers.http import ApiClient
from launchgate.drivers.mail import MailSink
from launchgate.reference import ReferenceStack
from launchgate.targets import Target, shift_ports

CONSOLE_PATH = "/console/login"


@dataclass
class E2ETarget:
    target: Target  # where things are for this run (the reference profile moved to its stack's ports)
    stack: ReferenceStack | None = None  # when the run started it
    profile: Target | None = None  # the profile as written, before any move

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def console_url(self) -> str:
        """The console is served by the target's gateway."""
        service = self.target.services.get("gateway")
        if service is None:
            raise UnreachableError("<console>", f"target {self.name} names no gateway to serve the console")
        return service.url

    @property
    def sink(self) -> MailSink:
        if "sink" not in self.target.services:
            raise UnreachableError("<mail sink>", f"target {self.name} names no mail sink to read deliveries from")
        return MailSink(self.target.services["sink"].url)

    def password(self, role: str) -> str:
        """The seeded executive's password: the stack's secrets, or LAUNCHGATE_PASSWORD_<ROLE> elsewhere."""
        if self.stack is not None:
            return str(self.stack.secrets.role_passwords[role])
        env = f"LAUNCHGATE_PASSWORD_{role.upper()}"
        value = os.environ.get(env)
        if not value:
            raise UnreachableError("<credentials>", f"set {env} to the {role} account's password on {self.name}")
        return value

    @staticmethod
    def email(role: str) -> str:
        return ROLE_EMAILS[role]

    def api(self, role: str) -> ApiClient:
        """A client of the public API through the gateway, logged in as the seeded user of `role`."""
        with ApiClient(self.console_url) as anonymous:
            reply = anonymous.post("/api/auth/login", json={"email": self.email(role), "password": self.password(role)})
        return ApiClient(self.console_url, token=str(reply["token"]))

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.down()


def for_running_stack(target: Target, stack: ReferenceStack) -> E2ETarget:
    """The reference profile moved to the ports of a stack this run started."""
    moved = shift_ports(target, stack.port_base)
    explorer = moved.chain.explorer_tx_url if moved.chain else ""
    if moved.chain and explorer:
        # The explorer page lives on the gateway, which moved with the rest.
        explorer = explorer.replace("http://127.0.0.1:18370", stack.url("gateway"))
        moved = dataclasses.replace(moved, chain=dataclasses.replace(moved.chain, explorer_tx_url=explorer))
    return E2ETarget(moved, stack, target)


def ensure_reachable(target: Target) -> None:
    """Every service answers, and the gateway serves the console: one error naming the URL otherwise."""
    check_reachable(target)
    url = f"{E2ETarget(target).console_url}{CONSOLE_PATH}"
    try:
        status = httpx.get(url, timeout=5).status_code
    except httpx.TransportError as exc:
        raise UnreachableError(url, type(exc).__name__) from exc
    if status != 200:
        raise DriverError(f"{url} answered {status}: target {target.name} serves no console")


def artifacts_root(run_dir: Path) -> Path:
    return run_dir / "artifacts" / "e2e"
