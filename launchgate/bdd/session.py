"""A target under test for one pytest session: the profile, the reference stack when managed, the actors."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

from launchgate import paths
from launchgate.bdd.outcomes import inconclusive
from launchgate.drivers.campaigns import CampaignsDriver
from launchgate.drivers.errors import DriverError, UnreachableError
from launchgate.drivers.governance import GovernanceDriver
from launchgate.drivers.http import ApiClient
from launchgate.drivers.identity import IdentityDriver
from launchgate.drivers.mail import MailSink
from launchgate.drivers.social import PostizReader, SocialDriver
from launchgate.evidence import EvidenceWriter
from launchgate.reference import DEFAULT_STATE_DIR, ReferenceStack
from launchgate.targets import Chain, Target

if TYPE_CHECKING:
    from launchgate.drivers.chain import ChainDriver

VOTERS_FILE = paths.SEED / "voters.yml"
ROLE_EMAILS = {role: f"{role}@371os.local" for role in ("admin", "ceo", "cfo", "clo")}


@dataclass
class TargetSession:
    target: Target
    run_dir: Path
    evidence: EvidenceWriter
    stack: ReferenceStack | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    _clients: list[ApiClient] = field(default_factory=list)
    _chain: Any = None  # the ChainDriver, made on first use (web3 is slow to import)

    @property
    def name(self) -> str:
        return self.target.name

    def service_url(self, name: str) -> str:
        return self.target.services[name].url

    def chain(self) -> Chain | None:
        return self.target.chain

    def require(self, capability: str, why: str) -> None:
        """Ends the scenario inconclusive, naming the capability and why it is needed, unless the target's
        profile claims it. A capability is a means the harness needs (a restart hook, a mailbox to read, members
        to act as): its absence leaves a criterion without data. What a criterion demands of the target itself
        (authentication, /health, /metrics) is never a capability: its absence is a failure."""
        if not self.target.can(capability):
            claimed = ", ".join(sorted(self.target.capabilities)) or "none"
            inconclusive(
                f"target {self.name} does not claim the '{capability}' capability: {why} "
                f"({self.target.path.name} claims: {claimed})"
            )

    # -- actors -----------------------------------------------------------------------------------
    def credential(self, role: str) -> dict[str, str]:
        """The headers that act as `role`: a real login as the seeded user on the reference, the role's own
        credential from [auth.roles] on an unmanaged target, none where the target has no auth. Never another
        role's: a profile without this role's credential leaves the scenario inconclusive, so that separation
        of duties is not "tested" with one key that may do everything."""
        mode = self.target.auth.get("mode", "none")
        if mode == "stack-secrets" and self.stack is not None:
            if role not in self._tokens:
                reply = self.api("identity").post(
                    "/api/auth/login", json={"email": ROLE_EMAILS[role], "password": self.password(role)}
                )
                self._tokens[role] = reply["token"]
            return {"Authorization": f"Bearer {self._tokens[role]}"}
        if mode != "env":
            return {}
        credential = self.target.credentials.get(role)
        if credential is None:
            inconclusive(f"{self.target.path.name} gives the harness no credential for the {role} role "
                         f"([auth.roles] {role} = {{ token_env = \"VAR\" }}): it does not act as {role} with "
                         "another role's")
        return credential.headers()

    def password(self, role: str) -> str:
        """The password of the seeded `role` user: the reference's secrets.json, else the variable
        LAUNCHGATE_PASSWORD_<ROLE> (a deployment's own account, for the browser flows that log in as it)."""
        if self.stack is not None:
            return self.stack.secrets.role_passwords[role]
        variable = f"LAUNCHGATE_PASSWORD_{role.upper()}"
        if not os.environ.get(variable):
            raise UnreachableError("<credentials>", f"set {variable} to the {role} account's password on {self.name}")
        return os.environ[variable]

    def api(self, area: str, role: str | None = None) -> ApiClient:
        base = self.target.api.get(area)
        if base is None:
            raise UnreachableError(f"<{area} API>", f"target {self.name} has no {area} API")
        client = ApiClient(base, headers=self.credential(role) if role else None)
        self._clients.append(client)
        return client

    def campaigns(self, role: str | None = "admin") -> CampaignsDriver:
        return CampaignsDriver(self.api("email", role))

    def governance(self, role: str | None = "admin") -> GovernanceDriver:
        return GovernanceDriver(self.api("governance", role))

    def social(self, role: str | None = "admin") -> SocialDriver:
        # Social posting is a core function the framework demands of 371OS, not a means of the harness: a
        # target without the API fails for it (AssertionError), as one without /metrics does.
        if "social" not in self.target.api:
            raise AssertionError(f"target {self.name} has no social posting API ([api] social in "
                                 f"{self.target.path.name}): members cannot publish through 371OS")
        return SocialDriver(self.api("social", role))

    def postiz(self) -> PostizReader:
        """Postiz's own API, with the key the target posts with: the stack's, else the variable [auth]
        postiz_key_env names. Inconclusive without a Postiz service or a key."""
        if "postiz" not in self.target.services:
            inconclusive(f"target {self.name} names no Postiz service: what it published cannot be checked there")
        key = self.stack.secrets.postiz_api_key if self.stack is not None else self.target.env_secret("postiz_key_env")
        if not key:
            inconclusive(f"no Postiz API key: set the variable that [auth] postiz_key_env names in "
                         f"{self.target.path.name}")
        reader = PostizReader(self.service_url("postiz"), key)
        self._clients.append(reader.api)
        return reader

    def member_campaigns(self, name: str) -> CampaignsDriver:
        """Campaigns as member `name`, who signs up and verifies their email for real on first use."""
        key = f"member:{name}"
        self.require("identity", "the harness cannot sign members up, so it cannot act as two different members")
        if key not in self._tokens:
            email = f"{name}.{self.run_dir.name}@members.test".lower()
            identity = IdentityDriver(self.api("identity"))
            self._tokens[key] = identity.onboard(email, secrets.token_urlsafe(12), name.title(), self.mail_sink())
        client = ApiClient(self.target.api["email"], token=self._tokens[key])
        self._clients.append(client)
        return CampaignsDriver(client)

    def known_secrets(self) -> list[str]:
        """Secret values the harness knows the target holds, to check that none leaks."""
        return [*(self.stack.secrets.values() if self.stack is not None else []), *self.target.known_secrets()]

    def voter_key(self, role: str) -> str:
        """The signing key of a registered voter: the seeded dev keys on the reference target, else the variable
        [auth.roles] <role> voter_key_env names."""
        if not self.target.managed:
            credential = self.target.credentials.get(role)
            if credential is not None and credential.voter_key_env and os.environ.get(credential.voter_key_env):
                return os.environ[credential.voter_key_env]
            if not self.target.can("signed-votes"):
                # The target registers no voters, so any key is as good as another: a fixed one per role.
                return "0x" + hashlib.sha256(f"launchgate unregistered voter {role}".encode()).hexdigest()
            inconclusive(f"target {self.name} registers its voters: name a registered {role} voter's key in "
                         f"[auth.roles] {role} = {{ ..., voter_key_env = \"VAR\" }}")
        voters = yaml.safe_load(VOTERS_FILE.read_text())["voters"]
        return next(str(v["private_key"]) for v in voters if v["role"] == role)

    def chain_driver(self) -> ChainDriver:
        """The target's chain through web3, connected and checked; its confirmations become `chain` evidence."""
        if self._chain is None:
            from launchgate.drivers.chain import ChainDriver, key_for, target_contracts

            if self.target.chain is None:
                raise DriverError(f"target {self.name} names no chain ([chain] in {self.target.path.name}): "
                                  "nothing it reports can be confirmed on a blockchain")
            contracts = target_contracts(self.target, str(self.stack.state_dir) if self.stack else None)
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            driver = ChainDriver(
                self.target.chain, contracts, target=self.name, key=key_for(self.target.chain),
                evidence=EvidenceWriter(self.run_dir, f"chain-{worker}"),
            )
            driver.connect()
            self._chain = driver
        return self._chain  # type: ignore[no-any-return]

    def mail_sink(self) -> MailSink:
        self.require("mail-sink", "the harness has no mailbox to read delivered emails from")
        if "sink" not in self.target.services:
            raise UnreachableError("<mail sink>", f"target {self.name} names no mail sink to read deliveries from")
        return MailSink(self.service_url("sink"))

    def close(self) -> None:
        for client in self._clients:
            client.close()


def check_reachable(target: Target) -> None:
    """Every service answers something, or one clear error naming the first URL that does not."""
    for service in target.services.values():
        url = f"{service.url}{service.health_path}"
        try:
            httpx.get(url, timeout=3)
        except httpx.TransportError as exc:
            raise UnreachableError(url, f"{type(exc).__name__} (is the {target.name} target running?)") from exc


def managed_stack(run_dir: Path, port_base: int, state: str = "stack") -> tuple[ReferenceStack, bool]:
    """The reference stack for a run: the one `reference371os up` left running on these ports if any
    (not ours to stop), else a new one in the run directory's `state` folder (ours)."""
    existing = ReferenceStack(DEFAULT_STATE_DIR)
    if existing.whole() and existing.port_base == port_base:
        return existing, False
    faults = [f for f in os.environ.get("LAUNCHGATE_FAULTS", "").split(",") if f]
    stack = ReferenceStack(run_dir / state)
    stack.up(port_base=port_base, faults=faults)
    return stack, True
