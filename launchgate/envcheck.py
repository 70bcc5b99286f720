"""`launchgate check-env --profile production|mock FILE`: a dotenv file (such as a 371OS `.env`) against §3.

One line per finding, `FILE:LINE: NAME: problem`. A secret's value is never printed: a finding names the variable
and the kind of value it holds ("a sandbox key of 32 characters", "PostgreSQL on a loopback host"). Only the
settings that are not secrets (NODE_ENV, LOG_LEVEL, the network id, the email service mode) are quoted.
Exit 0 without findings, 1 with findings, 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from launchgate.environments import DEAD_TESTNETS, ENVIRONMENTS, MAINNET_CHAIN_ID

EXIT_FINDINGS, EXIT_UNREADABLE = 1, 2
QUOTABLE = frozenset({"NODE_ENV", "LOG_LEVEL", "LOGLEVEL", "BLOCKCHAIN_NETWORK_ID", "CHAIN_ID", "EMAIL_SERVICE_MODE"})
# The external services of 371os-contract.md's Environment list, and Postiz (social posting).
SERVICE_KEYS = ("STATUS_NETWORK_API_KEY", "PROXIEDMAIL_API_KEY", "POSTIZ_API_KEY")
DATABASE_URLS = ("DATABASE_URL", "POSTGRES_URL", "POSTGRESQL_URL", "DB_URL")
DATABASE_HOSTS = ("DB_HOST", "POSTGRES_HOST", "PGHOST")
NETWORK_IDS = ("BLOCKCHAIN_NETWORK_ID", "CHAIN_ID")
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PRIVATE", "CREDENTIAL")
SANDBOX_MARKERS = ("sk_test_", "sandbox", "test", "demo", "mock", "dummy", "fake")
LIVE_PREFIXES = ("sk_live_", "live_", "pk_live_")
PLACEHOLDER = re.compile(r"^(<.*>|your[_-].*|.*[_-]here|changeme|change[_-]me|placeholder|todo|x{3,}|\*+|\.\.\.)$",
                         re.IGNORECASE)
# Private keys every Ethereum developer has: anvil's and hardhat's first accounts.
WELL_KNOWN_KEYS = frozenset({
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
})
TESTNET_WORDS = ("testnet", "sepolia", "holesky", "hoodi", "goerli", "ropsten", "rinkeby", "kovan", "localhost",
                 "127.0.0.1", "anvil", "hardhat", "ganache", "devnet")
MAINNET_NAMES = ("mainnet", "ethereum", "ethereum-mainnet", "homestead", "status-mainnet")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


class EnvFileError(Exception):
    """The file cannot be read at all (exit 2)."""


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    line: int


@dataclass(frozen=True)
class Finding:
    name: str
    problem: str
    line: int | None = None

    def render(self, path: Path) -> str:
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.name}: {self.problem}"


# -- reading ---------------------------------------------------------------------------------------------
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def read_dotenv(path: Path) -> tuple[list[Entry], list[Finding]]:
    """KEY=VALUE lines (optional `export`, quotes, # comments); a malformed line is a finding, not a crash."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise EnvFileError(f"{path} is a directory, not a dotenv file") from None
    except OSError as exc:
        raise EnvFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if b"\0" in raw:
        raise EnvFileError(f"{path} is a binary file, not a dotenv file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EnvFileError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    entries: list[Entry] = []
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            findings.append(Finding(f"line {number}", "is not NAME=VALUE (it is not shown: it may hold a secret)",
                                    number))
            continue
        name, value = match.group(1), _unquote(match.group(2))
        if name in seen:
            findings.append(Finding(name, f"is set twice (lines {seen[name]} and {number}); the last one wins",
                                    number))
        seen[name] = number
        entries.append(Entry(name, value, number))
    return entries, findings


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return re.sub(r"\s+#.*$", "", value)  # an unquoted value ends at an inline comment


# -- what a value is, without saying it ----------------------------------------------------------------
def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) or upper.endswith(("_URL", "_DSN", "_ENDPOINT", "_URI"))


def key_kind(value: str) -> str:
    """empty, placeholder, sandbox, live, well-known or opaque."""
    stripped = value.strip()
    if not stripped:
        return "empty"
    if PLACEHOLDER.match(stripped):
        return "placeholder"
    if stripped.lower().removeprefix("0x") in WELL_KNOWN_KEYS:
        return "well-known"
    lowered = stripped.lower()
    if lowered.startswith(LIVE_PREFIXES):
        return "live"
    if any(marker in lowered for marker in SANDBOX_MARKERS):
        return "sandbox"
    return "opaque"


_KIND_WORDS = {
    "empty": "empty",
    "placeholder": "a placeholder",
    "well-known": "a well-known development key (anvil/hardhat account), public to everyone",
    "live": "a live key",
    "sandbox": "a sandbox/test key",
}


def describe(name: str, value: str) -> str:
    """The value if the variable is not a secret, else what kind of value it is."""
    if name.upper() in QUOTABLE:
        return repr(value)
    kind = key_kind(value)
    if kind == "opaque":
        return f"an opaque value of {len(value)} characters"
    return _KIND_WORDS[kind] + (f" of {len(value)} characters" if kind in ("live", "sandbox") else "")


def database_kind(url: str) -> tuple[str, str]:
    """(kind, description): kind is sqlite, postgresql-local, postgresql-remote, other or malformed."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme == "sqlite" or (url.endswith((".db", ".sqlite", ".sqlite3")) and "://" not in url):
        return "sqlite", "a SQLite file"
    if scheme in ("postgres", "postgresql"):
        if parts.hostname in LOOPBACK or not parts.hostname:
            return "postgresql-local", "PostgreSQL on a loopback host"
        return "postgresql-remote", "PostgreSQL on a remote host"
    if not scheme:
        return "malformed", "not a database URL"
    return "other", f"a {scheme} database"


def network(value: str) -> tuple[str, str]:
    """(kind, words): kind is mainnet, testnet, dead or unknown."""
    lowered = value.strip().lower()
    if lowered.isdigit():
        chain_id = int(lowered)
        if chain_id in DEAD_TESTNETS:
            return "dead", f"chain id {chain_id} is {DEAD_TESTNETS[chain_id]}, shut down"
        return ("mainnet", "Ethereum mainnet") if chain_id == MAINNET_CHAIN_ID else ("testnet", f"chain id {chain_id}")
    for dead in DEAD_TESTNETS.values():
        if dead.lower() in lowered:
            return "dead", f"{dead} is shut down"
    if any(word in lowered for word in TESTNET_WORDS):
        return "testnet", "a testnet"
    if lowered in MAINNET_NAMES:
        return "mainnet", "mainnet"
    return "unknown", "not a network launchgate recognises"


# -- checking ------------------------------------------------------------------------------------------
def check(entries: list[Entry], profile: str) -> list[Finding]:
    column = ENVIRONMENTS[profile]
    env = {e.name: e for e in entries}
    production = profile == "production"
    findings: list[Finding] = []

    def add(entry: Entry | None, name: str, problem: str) -> None:
        findings.append(Finding(name, problem, entry.line if entry else None))

    # NODE_ENV
    node_env = env.get("NODE_ENV")
    wanted = " or ".join(f"NODE_ENV={v}" for v in sorted(column["node_env"]))
    if node_env is None:
        add(None, "NODE_ENV", f"not set; the {profile} environment needs {wanted}")
    elif node_env.value not in column["node_env"]:
        add(node_env, "NODE_ENV", f"is {node_env.value!r}; the {profile} environment needs {wanted}")

    # Logging level
    level = env.get("LOG_LEVEL") or env.get("LOGLEVEL")
    levels = " or ".join(sorted(column["log_level"]))
    if level is None:
        if production:
            add(None, "LOG_LEVEL", f"not set, so services log at their default (INFO); production needs {levels}")
    elif level.value.upper() not in column["log_level"]:
        add(level, level.name, f"is {level.value!r}; the {profile} environment needs {levels}")

    # API keys of the external services, and every other secret
    for name in SERVICE_KEYS:
        if name not in env and production and name != "POSTIZ_API_KEY":
            add(None, name, "not set; production needs production keys for all external services")
    for entry in entries:
        if not any(w in entry.name.upper() for w in SECRET_WORDS):
            continue
        kind = key_kind(entry.value)
        is_service_key = entry.name in SERVICE_KEYS or entry.name.upper().endswith("_API_KEY")
        if production and kind == "well-known":
            add(entry, entry.name, f"holds {_KIND_WORDS[kind]}")
        elif production and kind in ("empty", "placeholder"):
            add(entry, entry.name, f"is {describe(entry.name, entry.value)}; production needs a real value")
        elif production and is_service_key and kind == "sandbox":
            add(entry, entry.name, f"holds {describe(entry.name, entry.value)}; production needs a production key")
        elif not production and is_service_key and kind == "live":
            add(entry, entry.name, f"holds {describe(entry.name, entry.value)}; the mock environment uses sandbox "
                                   "or test keys only")

    # Database connection
    url = next((env[n] for n in DATABASE_URLS if n in env), None)
    host = next((env[n] for n in DATABASE_HOSTS if n in env), None)
    if url is not None:
        kind, words = database_kind(url.value)
        if kind == "malformed":
            add(url, url.name, "is not a database URL")
        elif production and kind != "postgresql-remote":
            add(url, url.name, f"is {words}; production needs a dedicated, highly available PostgreSQL")
    elif host is not None:
        if production and host.value.strip() in LOOPBACK:
            add(host, host.name, "is a loopback host; production needs a dedicated, highly available database")
    elif production:
        add(None, "DATABASE_URL", "not set: production needs a dedicated, highly available database (§3, §7)")

    # Blockchain network
    net = next((env[n] for n in NETWORK_IDS if n in env), None)
    if net is None:
        if production:
            add(None, "BLOCKCHAIN_NETWORK_ID",
                "not set, so 371OS defaults to 'status-testnet'; production uses mainnet")
    else:
        kind, words = network(net.value)
        if kind == "dead":
            add(net, net.name, f"is {net.value!r}: {words}; use Sepolia, Holesky or Hoodi for tests")
        elif kind == "unknown":
            add(net, net.name, f"is {net.value!r}: {words}")
        elif kind == "testnet" and column["mainnet"]:
            add(net, net.name, f"is {net.value!r}, {words}; production uses mainnet")
        elif kind == "mainnet" and not column["mainnet"]:
            add(net, net.name, f"is {net.value!r}, mainnet; the mock environment uses a testnet")
    for entry in entries:
        if entry.name.upper().endswith(("_ENDPOINT", "_RPC_URL", "_RPC")):
            kind, _ = network(entry.value)
            if production and kind in ("testnet", "dead"):
                add(entry, entry.name, "points at a testnet or a local node; production uses mainnet services")
            elif not production and "mainnet" in entry.value.lower():
                add(entry, entry.name, "points at a mainnet service; the mock environment uses testnets")

    mode = env.get("EMAIL_SERVICE_MODE")
    if production and mode is not None and mode.value.lower() in ("demo", "mock", "test", "sandbox"):
        add(mode, mode.name, f"is {mode.value!r}: real delivery is off; production needs it on")
    return findings


def check_file(path: Path, profile: str) -> list[Finding]:
    entries, findings = read_dotenv(path)
    return findings + check(entries, profile)


def check_env_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        findings = check_file(path, args.profile)
    except EnvFileError as exc:
        print(f"launchgate: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    findings.sort(key=lambda f: (f.line or 0, f.name))
    for finding in findings:
        print(finding.render(path))
    if findings:
        print(f"{len(findings)} finding(s) against the {args.profile} column of framework §3", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{path}: matches the {args.profile} column of framework §3")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("check-env", help="check a dotenv file against framework §3 (production or mock)")
    parser.add_argument("--profile", choices=sorted(ENVIRONMENTS), default="production",
                        help="which column of §3 the file must match (default: production)")
    parser.add_argument("file", help="a dotenv file, e.g. a 371OS .env")
    parser.set_defaults(func=check_env_command)
