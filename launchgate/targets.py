"""Target profiles (fixtures/targets/*.toml): where a target's parts are and what it can do.

Secrets never live in a profile: it names environment variables, read when needed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from launchgate import paths
from launchgate.contracts import CONTRACT_NAMES
from launchgate.reference import PORT_SPAN

TARGETS_DIR = paths.TARGETS
API_AREAS = ("email", "governance", "identity", "social", "feedback")
SLI_MODES = ("beside", "instead")


class TargetError(Exception):
    """A profile that cannot be used; the message names the file, the line when known, and the field.

    `field` (dotted, e.g. "services.conduit.url") lets load_target, which has the text, add the line.
    """

    def __init__(self, message: str, *, path: Path | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path, self.field, self.message = path, field, message

    def at_line(self, line: int | None) -> TargetError:
        """The same error saying `path:line:` where it said `path:`."""
        prefix = f"{self.path}: "
        if line is None or self.path is None or not self.message.startswith(prefix):
            return self
        return TargetError(f"{self.path}:{line}: {self.message.removeprefix(prefix)}", path=self.path, field=self.field)


def _bad(path: Path, field: str, detail: str) -> TargetError:
    """`path: detail`, remembering which field it is about."""
    return TargetError(f"{path}: {detail}", path=path, field=field)


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    health_path: str = "/health"


@dataclass(frozen=True)
class Chain:
    rpc: str
    chain_id: int
    confirmations: int = 1
    explorer_tx_url: str = ""
    private_key_env: str = ""
    allow_mainnet_writes: bool = False
    # [chain.contracts]: contract name (EmailVerificationRegistry, DaoGovernance) -> address. The managed
    # reference stack leaves it out: its addresses are in the stack's contracts.json.
    contracts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Monitoring:
    """[monitoring]: where the target's Prometheus is, so that SLIs can be read with PromQL."""

    prometheus: str
    selector: str = ""  # label matchers added to every SLI query, e.g. 'stack="reference"'
    service_label: str = "job"  # the label that names a service in `up` and the HTTP metrics
    # beside: Prometheus SLI records sit next to the harness's own probes; instead: they are the ones scored.
    slis: str = "beside"
    scrape_interval: float = 15.0  # seconds; uptime is read at this step


@dataclass(frozen=True)
class BuildSource:
    """Where the target says which build it runs ([build]): a field of a service's /health or /config JSON (`field`
    a dotted path), a header of its /health answer, or a command's first line of output."""

    kind: str  # one of BUILD_KINDS
    service: str = ""
    name: str = ""  # the field or header
    command: str = ""

    def describe(self) -> str:
        if self.kind == "command":
            return f"the command `{self.command}`"
        where = {"health": "field {} of {}'s /health", "config": "field {} of {}'s /config",
                 "header": "header {} of {}'s /health"}[self.kind]
        return where.format(self.name, self.service)


@dataclass(frozen=True)
class LoadRoute:
    """One route of the [load] table: `"METHOD AREA /path/{placeholder}"`, AREA an [api] area or a service."""

    method: str
    area: str
    path: str

    @property
    def name(self) -> str:
        """The label load statistics group by: the template, not each id."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class LoadProfile:
    """What load users do against this target: route templates per task, and the user mix's weights."""

    routes: dict[str, LoadRoute]
    weights: dict[str, int]
    settings: dict[str, Any] = field(default_factory=dict)  # other scalar keys of [load], e.g. wait times


ROLES = ("admin", "ceo", "cfo", "clo", "member")
AUTH_MODES = ("none", "stack-secrets", "env")
CREDENTIAL_KINDS = ("token_env", "api_key_env")  # a bearer token, an API key sent as X-API-Key


@dataclass(frozen=True)
class Credential:
    """A role's credential on an unmanaged target: a bearer token or an API key, read from the environment."""

    role: str
    kind: str  # one of CREDENTIAL_KINDS
    env: str
    voter_key_env: str = ""  # the role's registered voter's signing key, for signed votes

    def headers(self) -> dict[str, str]:
        """The request headers that carry it; empty when its variable is unset."""
        value = os.environ.get(self.env, "")
        if not value:
            return {}
        return {"Authorization": f"Bearer {value}"} if self.kind == "token_env" else {"X-API-Key": value}


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    description: str
    environment: str  # which column of framework §3 the target claims: mock or production
    production: bool  # load and chain writes are refused unless overridden
    managed: bool  # the harness starts it (the reference stack)
    services: dict[str, Service]
    api: dict[str, str]
    chain: Chain | None
    auth: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)
    database: dict[str, str] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    files: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    monitoring: Monitoring | None = None
    load: LoadProfile | None = None
    # [seed]: what framework §4 says a new user finds, by id or name; a kind not named means "at least one".
    seed: dict[str, list[str]] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)  # [auth.roles], for auth mode "env"
    known_secret_envs: list[str] = field(default_factory=list)  # [secrets] known_env: values no answer may hold
    build: BuildSource | None = None  # [build]: where the target names the build it runs
    watch: dict[str, str] = field(default_factory=dict)  # [watch]: engagement = "AREA /path" (launchgate watch)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def unset_variables(self) -> list[str]:
        """The variables the profile names that are not set: `[auth.roles] cfo: $LG_CFO_TOKEN is not set`."""
        named = [(f"[auth.roles] {c.role}", env) for c in self.credentials.values() for env in (c.env, c.voter_key_env)
                 if env and self.auth.get("mode") == "env"]
        named += [("[secrets] known_env", env) for env in self.known_secret_envs]
        return [f"{where}: ${env} is not set" for where, env in named if not os.environ.get(env)]

    def known_secrets(self) -> list[str]:
        """The values of [secrets] known_env: secrets the target holds, which no answer may reveal."""
        return [os.environ[env] for env in self.known_secret_envs if os.environ.get(env)]

    def env_secret(self, key: str) -> str | None:
        """A secret named by the profile's auth section, read from the environment."""
        name = self.auth.get(key)
        return os.environ.get(name) if name else None

    def base_url(self, area: str) -> str | None:
        """The base URL of an [api] area, else of a [services] entry of that name."""
        if area in self.api:
            return self.api[area]
        service = self.services.get(area)
        return service.url if service else None

    def load_url(self, key: str) -> str | None:
        """The absolute URL template of load route `key`, or None when the profile has no such route."""
        route = self.load.routes.get(key) if self.load else None
        base = self.base_url(route.area) if route else None
        return base + route.path if route and base else None


def available_targets(directory: Path = TARGETS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_target(name_or_path: str, directory: Path = TARGETS_DIR) -> Target:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = directory / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(available_targets(directory)) or "none"
        raise TargetError(f"unknown target {name_or_path!r}: no {path} (known targets: {known})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TargetError(f"{path}: cannot read the profile: {reason or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    try:
        return parse_target(data, path)
    except TargetError as exc:
        raise exc.at_line(field_line(text, exc.field)) from None


_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> TargetError:
    """`path:line: not valid TOML: what` (tomllib gives the line only at the end of its message)."""
    message = str(exc)
    found = _TOML_AT.search(message)
    where = f"{path}:{found.group(1)}" if found else str(path)
    return TargetError(f"{where}: not valid TOML: {_TOML_AT.sub('', message)}", path=path)


_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_HEADER = re.compile(rf"^\s*\[\[?\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
_PART = re.compile(_BARE_OR_QUOTED)
_MULTILINE_QUOTES = ('"""', "'''")


def _dotted(key: str) -> str:
    return ".".join(part.strip("\"'") for part in _PART.findall(key))


def field_lines(text: str) -> dict[str, int]:
    """The line of each table header and key of a TOML text, by dotted name (the first one wins).

    A line scan, not a parser: the text has already parsed, so only headers and keys need recognising;
    lines inside multi-line strings are skipped.
    """
    lines: dict[str, int] = {}
    table = ""
    open_quote: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if open_quote:
            if line.count(open_quote) % 2:
                open_quote = None
            continue
        header, key = _HEADER.match(line), _KEY.match(line)
        if header:
            table = _dotted(header.group(1))
            lines.setdefault(table, number)
        elif key:
            name = _dotted(key.group(1))
            lines.setdefault(f"{table}.{name}" if table else name, number)
        open_quote = next((q for q in _MULTILINE_QUOTES if line.count(q) % 2), None)
    return lines


def field_line(text: str, field: str | None) -> int | None:
    """The line of `field`, else of the nearest table or key that holds it (a missing key: its table's header)."""
    if not field:
        return None
    lines = field_lines(text)
    parts = field.split(".")
    for end in range(len(parts), 0, -1):
        found = lines.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


# The top-level keys a profile may have: a misspelt one (`managd = true`) would be ignored without a word.
TOP_LEVEL_KEYS = ("name", "description", "environment", "production", "managed", "capabilities", "services", "api",
                  "auth", "chain", "monitoring", "load", "database", "hooks", "files", "seed", "secrets", "build",
                  "watch")


# Keys of the sections read field by field: a misspelt one is refused, as in every other section.
SERVICE_KEYS = ("url", "health_path")
CHAIN_KEYS = ("rpc", "chain_id", "confirmations", "explorer_tx_url", "private_key_env", "allow_mainnet_writes",
              "contracts")
MONITORING_KEYS = ("prometheus", "selector", "service_label", "slis", "scrape_interval")
BUILD_KINDS = ("health", "config", "header", "command")  # [build]: exactly one, where the build identity is read


def parse_target(data: dict[str, Any], path: Path) -> Target:
    reader = _Fields(data, path)
    _known_top_level(data, path)
    services_raw = reader.table("services")
    services = {}
    for name in services_raw:
        svc = _Fields(services_raw[name], path, f"services.{name}", SERVICE_KEYS)
        services[name] = Service(name, svc.url("url"), svc.text("health_path", "/health"))
    if not services:
        raise _bad(path, "services", "field [services] must name at least one service")
    api_raw = reader.table("api")
    api = {area: _Fields(api_raw, path, "api").url(area) for area in API_AREAS if area in api_raw}
    chain = None
    if "chain" in data:
        c = _Fields(reader.table("chain"), path, "chain", CHAIN_KEYS)
        chain = Chain(
            rpc=c.url("rpc"),
            chain_id=c.integer("chain_id"),
            confirmations=c.integer("confirmations", 1),
            explorer_tx_url=c.text("explorer_tx_url", ""),
            private_key_env=c.text("private_key_env", ""),
            allow_mainnet_writes=c.flag("allow_mainnet_writes", False),
            contracts=_contract_addresses(c.table("contracts", required=False), path),
        )
    monitoring = None
    if "monitoring" in data:
        m = _Fields(reader.table("monitoring"), path, "monitoring", MONITORING_KEYS)
        monitoring = Monitoring(
            prometheus=m.url("prometheus"),
            selector=m.text("selector", ""),
            service_label=m.text("service_label", "job"),
            slis=m.text("slis", "beside"),
            scrape_interval=float(m._get("scrape_interval", 15.0, (int, float), "a number of seconds")),
        )
        if monitoring.slis not in SLI_MODES:
            raise _bad(path, "monitoring.slis",
                       f"field monitoring.slis must be 'beside' or 'instead', found {monitoring.slis!r}")
    auth, credentials = _auth(reader.table("auth", required=False), path)
    environment = reader.text("environment")
    if environment not in ("mock", "production"):
        raise _bad(path, "environment", f"field environment must be 'mock' or 'production', found {environment!r}")
    return Target(
        name=reader.text("name"),
        path=path,
        description=reader.text("description", ""),
        environment=environment,
        production=reader.flag("production", False),
        managed=reader.flag("managed", False),
        services=services,
        api=api,
        chain=chain,
        auth=auth,
        hooks=_known_keys(reader.table("hooks", required=False), HOOKS, "hooks", path),
        database=_known_keys(reader.table("database", required=False), DATABASE_KEYS, "database", path),
        capabilities=frozenset(reader.strings("capabilities", [])),
        files={k: str(v) for k, v in reader.table("files", required=False).items()},
        raw=data,
        monitoring=monitoring,
        load=_load_profile(reader.table("load"), path, api, services) if "load" in data else None,
        seed=_seed(reader.table("seed", required=False), path),
        credentials=credentials,
        known_secret_envs=_known_secret_envs(reader.table("secrets", required=False), path),
        build=_build_source(reader.table("build"), path, services) if "build" in data else None,
        watch=_watch(reader.table("watch", required=False), path, api, services),
    )


def _watch(table: dict[str, Any], path: Path, api: dict[str, str], services: dict[str, Service]) -> dict[str, str]:
    """[watch]: `engagement = "AREA /path"`, a GET whose JSON answer holds `onboarded` and `weekly_active` users."""
    known = _known_keys(table, ("engagement",), "watch", path)
    for key, value in known.items():
        area, _, route = value.partition(" ")
        if (area not in api and area not in services) or not route.startswith("/"):
            raise _bad(path, f"watch.{key}", f"field watch.{key} must be \"AREA /path\" with AREA an [api] area or "
                                             f"a service ({', '.join(sorted({*api, *services}))}), found {value!r}")
    return known


def _build_source(table: dict[str, Any], path: Path, services: dict[str, Service]) -> BuildSource:
    """[build]: one of `health = "SERVICE:FIELD"`, `config = "SERVICE:FIELD"`, `header = "SERVICE:HEADER"` or
    `command = "..."`."""
    fields = _Fields(table, path, "build", BUILD_KINDS)
    given = [k for k in BUILD_KINDS if k in table]
    if len(given) != 1:
        raise _bad(path, "build", f"section [build] must give exactly one of {', '.join(BUILD_KINDS)}, "
                                  f"found {', '.join(given) or 'none'}")
    kind = given[0]
    value = fields.text(kind)
    if kind == "command":
        if not value.strip():
            raise _bad(path, "build.command", "field build.command is empty")
        return BuildSource("command", command=value)
    service, _, name = value.partition(":")
    if not name or service not in services:
        shape = f"SERVICE:{'HEADER' if kind == 'header' else 'FIELD'}"
        raise _bad(path, f"build.{kind}", f"field build.{kind} must be \"{shape}\" with a service of [services] "
                                          f"({', '.join(services)}), found {value!r}")
    return BuildSource(kind, service, name)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# [hooks] and [database] keys (fixtures/targets/staging.example.toml documents them): a misspelt one would
# leave its criteria inconclusive without a word, so it is refused.
HOOKS = ("snapshot", "restore", "deploy", "switch", "canary", "rollback", "integration", "restart", "dependency_down",
         "dependency_up")
DATABASE_KEYS = ("mode", "url_env", "integrations_table", "users_table")


def _auth(table: dict[str, Any], path: Path) -> tuple[dict[str, str], dict[str, Credential]]:
    """[auth]: `mode` (none, stack-secrets, env), `postiz_key_env`, and for mode env one credential per role under
    [auth.roles]: `admin = { token_env = "VAR" }` or `{ api_key_env = "VAR" }`."""
    roles = table.get("roles", {})
    scalars = {k: v for k, v in table.items() if k != "roles"}
    for key in ("token_env", "api_key_env"):
        if key in scalars:
            raise _bad(path, f"auth.{key}", f"field auth.{key} is gone: name each role's credential under "
                       f"[auth.roles], e.g. admin = {{ {key} = \"{scalars[key]}\" }}")
    auth = _known_keys(scalars, ("mode", "postiz_key_env"), "auth", path)
    mode = auth.get("mode", "none")
    if mode not in AUTH_MODES:
        raise _bad(path, "auth.mode", f"field auth.mode must be one of {', '.join(AUTH_MODES)}, found {mode!r}")
    if not isinstance(roles, dict):
        raise _bad(path, "auth.roles", f"field auth.roles must be a table, found {roles!r}")
    credentials = {}
    for role, entry in roles.items():
        where = f"auth.roles.{role}"
        if role not in ROLES:
            raise _bad(path, where, f"field {where} is not a role launchgate acts as; known: {', '.join(ROLES)}")
        kinds = [k for k in CREDENTIAL_KINDS if isinstance(entry, dict) and k in entry]
        if (not isinstance(entry, dict) or len(kinds) != 1
                or set(entry) - {*CREDENTIAL_KINDS, "voter_key_env"}):
            raise _bad(path, where, f"field {where} must be {{ token_env = \"VAR\" }} or "
                       f"{{ api_key_env = \"VAR\" }} (and may add voter_key_env), found {entry!r}")
        for key, env in entry.items():
            if not isinstance(env, str) or not env:
                raise _bad(path, where, f"field {where}.{key} must name an environment variable, found {env!r}")
        credentials[role] = Credential(role, kinds[0], entry[kinds[0]], entry.get("voter_key_env", ""))
    if mode == "env" and "admin" not in credentials:
        raise _bad(path, "auth.mode", "auth mode \"env\" needs at least [auth.roles] admin = { token_env = "
                   "\"VAR\" } (or api_key_env)")
    return auth, credentials


def _known_secret_envs(table: dict[str, Any], path: Path) -> list[str]:
    for key in table:
        if key != "known_env":
            raise _bad(path, f"secrets.{key}", f"field secrets.{key} is not one launchgate reads; known: known_env")
    names = table.get("known_env", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise _bad(path, "secrets.known_env",
                   f"field secrets.known_env must be a list of variable names, found {names!r}")
    return names


SEED_KINDS = ("templates", "agents", "proposals")


def _seed(table: dict[str, Any], path: Path) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for kind, listed in table.items():
        if kind not in SEED_KINDS:
            raise _bad(path, f"seed.{kind}", f"field seed.{kind} is not one launchgate reads; known: "
                       f"{', '.join(SEED_KINDS)}")
        if not isinstance(listed, list) or not all(isinstance(n, str) and n for n in listed):
            raise _bad(path, f"seed.{kind}", f"field seed.{kind} must be a list of names, found {listed!r}")
        names[kind] = listed
    return names


def _known_keys(table: dict[str, Any], known: tuple[str, ...], section: str, path: Path,
                strings_only: bool = True) -> dict[str, str]:
    for key, value in table.items():
        if key not in known:
            raise _bad(path, f"{section}.{key}",
                       f"field {section}.{key} is not one launchgate reads; known: {', '.join(known)}")
        if strings_only and not isinstance(value, str):
            raise _bad(path, f"{section}.{key}", f"field {section}.{key} must be a string, found {value!r}")
    if section == "database" and table.get("mode", "stack") != "stack":
        raise _bad(path, "database.mode",
                   "field database.mode can only be \"stack\" (the reference stack's own databases)")
    return dict(table)


def _known_top_level(data: dict[str, Any], path: Path) -> None:
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(TOP_LEVEL_KEYS)}"
            raise _bad(path, key, f"field {key} is not one launchgate reads ({hint})")


def _contract_addresses(table: dict[str, Any], path: Path) -> dict[str, str]:
    out = {}
    for name, address in table.items():
        if name not in CONTRACT_NAMES:
            known = ", ".join(CONTRACT_NAMES)
            raise _bad(path, f"chain.contracts.{name}",
                       f"field chain.contracts.{name} names no contract; known: {known}")
        if not isinstance(address, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
            raise _bad(path, f"chain.contracts.{name}",
                       f"field chain.contracts.{name} must be a 0x address of 40 hex digits, found {address!r}")
        out[name] = address
    return out


def _load_profile(table: dict[str, Any], path: Path, api: dict[str, str], services: dict[str, Service]) -> LoadProfile:
    """[load]: `routes` (task step -> "METHOD AREA /path"), `weights` (task -> whole number), other settings."""
    reader = _Fields(table, path, "load")
    routes = {}
    for key, spec in reader.table("routes").items():
        parts = spec.split(None, 2) if isinstance(spec, str) else []
        if len(parts) != 3 or parts[0] not in _METHODS or not parts[2].startswith("/"):
            raise _bad(path, f"load.routes.{key}",
                       f'field load.routes.{key} must read "METHOD AREA /path", found {spec!r}')
        method, area, route_path = parts
        if area not in api and area not in services:
            known = ", ".join(sorted({*api, *services}))
            raise _bad(path, f"load.routes.{key}", f"field load.routes.{key} names {area!r}, neither an [api] area "
                                                   f"nor a service (known: {known})")
        routes[key] = LoadRoute(method, area, route_path)
    weights = {}
    for task, weight in reader.table("weights", required=False).items():
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise _bad(path, f"load.weights.{task}",
                       f"field load.weights.{task} must be a whole number >= 0, found {weight!r}")
        weights[task] = weight
    settings = {k: v for k, v in table.items() if k not in ("routes", "weights")}
    return LoadProfile(routes, weights, settings)


class _Fields:
    """Typed field access that names the file and the dotted field in every error."""

    def __init__(self, data: Any, path: Path, prefix: str = "", known: tuple[str, ...] | None = None) -> None:
        if not isinstance(data, dict):
            raise _bad(path, prefix, f"field {prefix or '(top level)'} must be a table")
        self.data, self.path, self.prefix = data, path, prefix
        if known is not None:
            _known_keys(data, known, prefix, path, strings_only=False)

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _get(self, key: str, default: Any, kind: type | tuple[type, ...], label: str) -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                raise _bad(self.path, self._name(key), f"missing field {self._name(key)} ({label})")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _bad(self.path, self._name(key), f"field {self._name(key)} must be {label}, found {value!r}")
        return value

    def text(self, key: str, default: Any = None) -> str:
        return self._get(key, _REQUIRED if default is None else default, str, "a string")

    def integer(self, key: str, default: Any = None) -> int:
        return self._get(key, _REQUIRED if default is None else default, int, "an integer")

    def flag(self, key: str, default: bool) -> bool:
        return self._get(key, default, bool, "true or false")

    def strings(self, key: str, default: list[str]) -> list[str]:
        return list(self._get(key, default, list, "a list of strings"))

    def table(self, key: str, required: bool = True) -> dict[str, Any]:
        return self._get(key, _REQUIRED if required else {}, dict, "a table")

    def url(self, key: str) -> str:
        value = self.text(key)
        if not value.startswith(("http://", "https://")):
            raise _bad(self.path, self._name(key), f"field {self._name(key)} must be an http(s) URL, found {value!r}")
        return value.rstrip("/")


_REQUIRED = object()


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def shift_ports(target: Target, port_base: int, span: int = PORT_SPAN) -> Target:
    """A profile of a stack moved to another port base: every loopback URL on the profile's base + 0 .. span - 1
    (the gateway's port is the base) moves to port_base + the same offset: services, APIs, the chain's RPC and
    explorer links, Prometheus. Anything else stays where it is."""
    gateway = target.services.get("gateway") or next(iter(target.services.values()))
    old = urlsplit(gateway.url).port or 80

    def move(url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname in LOOPBACK and parts.port is not None and old <= parts.port < old + span:
            return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port_base + parts.port - old}"))
        return url

    services = {k: Service(s.name, move(s.url), s.health_path) for k, s in target.services.items()}
    api = {k: move(v) for k, v in target.api.items()}
    chain = target.chain and dataclasses.replace(target.chain, rpc=move(target.chain.rpc),
                                                 explorer_tx_url=move(target.chain.explorer_tx_url))
    monitoring = target.monitoring and dataclasses.replace(target.monitoring,
                                                           prometheus=move(target.monitoring.prometheus))
    return dataclasses.replace(target, services=services, api=api, chain=chain, monitoring=monitoring)
