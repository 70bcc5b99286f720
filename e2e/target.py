"""The target a browser run drives: where its console is, how to read its mail, who its executives are.

The reference target is started here, on ports of its own; any other target must already be running,
and is checked before a browser starts, so a stopped target fails at once with the URL that did not answer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from e2e.chain_checks import ChainCheckUnavailable
from launchgate.bdd.session import ROLE_EMAILS, TargetSession, check_reachable
from launchgate.drivers.errors import DriverError, UnreachableError
from launchgate.drivers.http import ApiClient
from launchgate.drivers.mail import MailSink
from launchgate.reference import ReferenceStack
from launchgate.targets import Target, shift_ports

CONSOLE_PATH = "/console/login"


@dataclass
class E2ETarget:
    """The gate suite's own target session (launchgate/bdd/session.py: the same actors, credentials, mail sink and
    chain driver as steps/), and what only a browser needs: where the console is."""

    session: TargetSession

    @property
    def target(self) -> Target:  # where things are for this run (the reference profile moved to its stack's ports)
        return self.session.target

    @property
    def stack(self) -> ReferenceStack | None:  # when the run started it
        return self.session.stack

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def console_url(self) -> str:
        """The console is served by the target's gateway."""
        return console_url(self.target)

    @property
    def sink(self) -> MailSink:
        return self.session.mail_sink()

    def password(self, role: str) -> str:
        return self.session.password(role)

    @staticmethod
    def email(role: str) -> str:
        return ROLE_EMAILS[role]

    def api(self, role: str) -> ApiClient:
        """A client of the public API, acting as the seeded user of `role` (the session's credential)."""
        return self.session.api("identity", role)

    def chain_driver(self) -> Any:
        """The session's chain driver, connected; ChainCheckUnavailable (inconclusive) without a chain."""
        if self.target.chain is None:
            raise ChainCheckUnavailable(f"target {self.name} names no chain in its profile")
        return self.session.chain_driver()

    def stop(self) -> None:
        self.session.close()
        if self.stack is not None:
            self.stack.down()


def console_url(target: Target) -> str:
    service = target.services.get("gateway")
    if service is None:
        raise UnreachableError("<console>", f"target {target.name} names no gateway to serve the console")
    return service.url


def for_running_stack(target: Target, stack: ReferenceStack) -> Target:
    """The reference profile moved to the ports of a stack this run started."""
    moved = shift_ports(target, stack.port_base)
    explorer = moved.chain.explorer_tx_url if moved.chain else ""
    if moved.chain and explorer:
        # The explorer page lives on the gateway, which moved with the rest.
        explorer = explorer.replace("http://127.0.0.1:18370", stack.url("gateway"))
        moved = dataclasses.replace(moved, chain=dataclasses.replace(moved.chain, explorer_tx_url=explorer))
    return moved


def ensure_reachable(target: Target) -> None:
    """Every service answers, and the gateway serves the console: one error naming the URL otherwise."""
    check_reachable(target)
    url = f"{console_url(target)}{CONSOLE_PATH}"
    try:
        status = httpx.get(url, timeout=5).status_code
    except httpx.TransportError as exc:
        raise UnreachableError(url, type(exc).__name__) from exc
    if status != 200:
        raise DriverError(f"{url} answered {status}: target {target.name} serves no console")


def artifacts_root(run_dir: Path) -> Path:
    return run_dir / "artifacts" / "e2e"
