"""Framework §3, "Environment Configuration": what each environment column allows, as data.

One table for every check that compares a configuration with §3: the gate suite's configuration scenario
(steps/operations.py, reading each service's /config) and `launchgate check-env` (reading a dotenv file).
"""

from __future__ import annotations

from typing import Any

# Chain ids: 1 is Ethereum mainnet. Ropsten, Rinkeby, Goerli and Kovan, the testnets of §3's day, are shut down.
MAINNET_CHAIN_ID = 1
DEAD_TESTNETS: dict[int, str] = {3: "Ropsten", 4: "Rinkeby", 5: "Goerli", 42: "Kovan"}
LIVE_TESTNETS: dict[int, str] = {11155111: "Sepolia", 17000: "Holesky", 560048: "Hoodi", 31337: "a local anvil"}

ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "mock": {
        "node_env": {"development", "test"},  # §3: NODE_ENV=development
        "key_mode": {"sandbox", "none"},  # sandbox/test keys for all external services
        "database_kind": {"sqlite", "postgresql"},  # a local or staging database instance
        "log_level": {"DEBUG", "INFO"},
        "mainnet": False,  # a testnet for all blockchain interactions
    },
    "production": {
        "node_env": {"production"},
        "key_mode": {"live"},  # production keys for all external services
        "database_kind": {"postgresql"},  # a dedicated, highly available production database
        "log_level": {"WARN", "WARNING", "ERROR"},
        "mainnet": True,
    },
}
