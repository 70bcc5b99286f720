"""Configuration of one reference-stack process, read from the environment the stack manager sets."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from reference371os.contracts import ADDRESS_ENV
from reference371os.faults import active_faults
from reference371os.layout import DEFAULT_PORT_BASE, Ports

SANDBOX_KEY_PREFIXES = ("sk_test_", "sandbox_", "test_")
LIVE_KEY_PREFIXES = ("sk_live_", "live_")


@dataclass(frozen=True)
class Secrets:
    """Stack secrets, generated once per state directory; never logged or returned."""

    internal_token: str
    jwt_secret: str
    fernet_key: str
    admin_api_key: str
    role_passwords: dict[str, str]
    postiz_api_key: str
    chain_private_key: str

    @classmethod
    def load(cls, path: Path) -> Secrets:
        return cls(**json.loads(path.read_text()))

    def values(self) -> list[str]:
        """Every secret string, for redaction."""
        return [
            self.internal_token,
            self.jwt_secret,
            self.fernet_key,
            self.admin_api_key,
            self.postiz_api_key,
            self.chain_private_key,
            *self.role_passwords.values(),
        ]


@dataclass(frozen=True)
class ServiceConfig:
    service: str
    state_dir: Path
    ports: Ports
    database_url: str
    node_env: str
    log_level: str
    chain_id: int
    secrets: Secrets
    faults: frozenset[str] = field(default_factory=frozenset)
    # Third-party keys (Postiz, Status.network, proxiedmail) the services use.
    service_keys: dict[str, str] = field(default_factory=dict)
    rate_limit_rps: float = 200.0
    rate_limit_burst: int = 400
    # The 371OS contracts (contract name -> address), from EMAIL_VERIFICATION_CONTRACT / EMAIL_DAO_CONTRACT_ADDRESS.
    contracts: dict[str, str] = field(default_factory=dict)

    @property
    def chain_rpc(self) -> str:
        return f"http://127.0.0.1:{self.ports.anvil}"

    @property
    def database_kind(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def key_mode(self) -> str:
        """sandbox, live, or mixed, judged by the key prefixes."""
        modes = set()
        for value in self.service_keys.values():
            if value.startswith(LIVE_KEY_PREFIXES):
                modes.add("live")
            elif value.startswith(SANDBOX_KEY_PREFIXES):
                modes.add("sandbox")
            else:
                modes.add("unknown")
        if not modes:
            return "none"
        return modes.pop() if len(modes) == 1 else "mixed"

    def fault(self, name: str) -> bool:
        return name in self.faults

    @classmethod
    def from_env(cls, service: str | None = None) -> ServiceConfig:
        env = os.environ
        state_dir = Path(env.get("LG_STATE_DIR", ".reference371os/default"))
        faults = active_faults()
        node_env = env.get("NODE_ENV", "development")
        keys = {
            "postiz": env.get("POSTIZ_API_KEY", ""),
            "status_network": env.get("STATUS_NETWORK_API_KEY", ""),
            "proxiedmail": env.get("PROXIEDMAIL_API_KEY", ""),
        }
        if "prod-testnet" in faults or "prod-sandbox-keys" in faults:
            node_env = "production"
        secrets = Secrets.load(Path(env.get("LG_SECRETS_FILE", state_dir / "secrets.json")))
        keys = {k: v or (secrets.postiz_api_key if k == "postiz" else "") for k, v in keys.items()}
        return cls(
            service=service or env.get("LG_SERVICE", "unknown"),
            state_dir=state_dir,
            ports=Ports(int(env.get("LG_PORT_BASE", DEFAULT_PORT_BASE))),
            database_url=env.get("LG_DATABASE_URL", "sqlite://"),
            node_env=node_env,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            chain_id=int(env.get("LG_CHAIN_ID", "31337")),
            secrets=secrets,
            faults=faults,
            service_keys={k: v for k, v in keys.items() if v},
            rate_limit_rps=float(env.get("LG_RATE_LIMIT_RPS", "200")),
            rate_limit_burst=int(env.get("LG_RATE_LIMIT_BURST", "400")),
            contracts={name: env[var] for name, var in ADDRESS_ENV.items() if env.get(var)},
        )
