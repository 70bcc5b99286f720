"""`launchgate doctor`: what this machine has, what each target needs, and the command that installs the rest; with
`--target T`, also T's profile against its deployment (launchgate/profile_check.py).

Exit codes: 0 when everything the chosen targets need is here (optional things may be missing), 1 when
something needed is missing, 2 for usage errors (an unknown target), as everywhere in launchgate.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from launchgate.profile_check import profile_problems
from launchgate.runner import PROJECT_ROOT
from launchgate.targets import Target, TargetError, available_targets, load_target

EXIT_OK, EXIT_MISSING, EXIT_USAGE = 0, 1, 2
APT = "apt-get install -y"
# Where `make bootstrap` puts what the machine lacks. The doctor looks the way the reference does (LAUNCHGATE_ANVIL,
# LAUNCHGATE_PG_BINDIR, LAUNCHGATE_PROMETHEUS and LAUNCHGATE_PROMTOOL override), with code of its own.
NPM_ANVIL = PROJECT_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
ENGINE_SOCKET = PROJECT_ROOT / ".launchgate" / "docker" / "docker.sock"  # `python -m reference371os.provision.engine`


@dataclass(frozen=True)
class Finding:
    key: str
    what: str
    found: bool
    detail: str  # a path, a version, or why it is missing
    install: str  # the exact command that installs it


@dataclass(frozen=True)
class Need:
    key: str
    needed: bool
    why: str


@dataclass
class TargetReport:
    target: str
    needs: list[Need] = field(default_factory=list)

    def missing(self, findings: dict[str, Finding]) -> list[Need]:
        return [n for n in self.needs if n.needed and not findings[n.key].found]


# -- what the machine has ------------------------------------------------------------------------------
def required_distributions(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    data = tomllib.loads(pyproject.read_text())
    specs = list(data.get("project", {}).get("dependencies", []))
    for group in data.get("dependency-groups", {}).values():
        specs += [s for s in group if isinstance(s, str)]
    names = [re.match(r"[A-Za-z0-9_.-]+", spec) for spec in specs]
    return sorted({m.group(0) for m in names if m})


def check_python(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> Finding:
    wanted = required_distributions(pyproject)
    missing = []
    for name in wanted:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    detail = f"{len(wanted) - len(missing)} of {len(wanted)} installed"
    if missing:
        detail += f"; missing: {', '.join(missing)}"
    return Finding("python", "Python packages (uv.lock)", not missing, detail,
                   f"uv sync --frozen   (in {PROJECT_ROOT}; or `make bootstrap`)")


def _path_finding(key: str, what: str, path: Path | None, install: str) -> Finding:
    return Finding(key, what, path is not None, str(path) if path else "not found", install)


def check_chromium() -> Finding:
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    return _path_finding("chromium", "Chromium (Playwright browser tests)", Path(found) if found else None,
                         f"{APT} chromium")


def _binary(env: str, name: str, shipped: Path | None = None) -> Path | None:
    override = os.environ.get(env)
    if override:
        return Path(override) if Path(override).exists() else None
    if shipped is not None and shipped.exists():
        return shipped
    found = shutil.which(name)
    return Path(found) if found else None


def anvil_binary() -> Path | None:
    return _binary("LAUNCHGATE_ANVIL", "anvil", NPM_ANVIL)


def prometheus_binary() -> Path | None:
    return _binary("LAUNCHGATE_PROMETHEUS", "prometheus")


def promtool_binary() -> Path | None:
    return _binary("LAUNCHGATE_PROMTOOL", "promtool")


def postgres_bindir() -> Path | None:
    """Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin."""
    if os.environ.get("LAUNCHGATE_PG_BINDIR"):
        return Path(os.environ["LAUNCHGATE_PG_BINDIR"])
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def check_anvil() -> Finding:
    return _path_finding("anvil", "anvil (local Ethereum node)", anvil_binary(),
                         f"npm ci   (in {PROJECT_ROOT}; installs @foundry-rs/anvil)")


def check_postgres() -> Finding:
    bindir = postgres_bindir()
    ok = bindir is not None and (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()
    return Finding("postgres", "PostgreSQL server binaries (initdb, pg_ctl)", ok,
                   str(bindir) if ok else "initdb/pg_ctl not found", f"{APT} postgresql")


def check_prometheus() -> Finding:
    return _path_finding("prometheus", "Prometheus", prometheus_binary(), f"{APT} prometheus")


def check_promtool() -> Finding:
    return _path_finding("promtool", "promtool (rule checks)", promtool_binary(), f"{APT} prometheus")


@dataclass(frozen=True)
class EngineProbe:
    host: str  # a DOCKER_HOST value
    ok: bool
    reason: str  # why not, when not ok; the server version when ok


def find_engine() -> EngineProbe:
    """The first Docker engine that answers: DOCKER_HOST alone when it is set, else this checkout's own engine,
    then docker's default socket; else a probe whose reason lists every place tried."""
    import docker  # the docker SDK only when it is asked about
    from docker.errors import DockerException

    hosts = [os.environ["DOCKER_HOST"]] if os.environ.get("DOCKER_HOST") else [
        *([f"unix://{ENGINE_SOCKET}"] if ENGINE_SOCKET.exists() else []), "unix:///var/run/docker.sock"]
    tried = []
    for host in hosts:
        try:
            client = docker.DockerClient(base_url=host, timeout=3)
            try:
                client.ping()
                return EngineProbe(host, True, str(client.version().get("Version", "?")))
            finally:
                client.close()
        except (DockerException, OSError) as exc:
            tried.append(f"{host}: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
    return EngineProbe("", False, "; ".join(tried))


def check_docker() -> Finding:
    engine = find_engine()
    if engine.ok:
        return Finding("docker", "Docker engine", True, f"{engine.host} (engine {engine.reason})", "")
    start = f"{sys.executable} -m reference371os.provision.engine start"
    install = start if shutil.which("dockerd") else f"{APT} docker.io && {start}"
    return Finding("docker", "Docker engine", False, f"none answers: {engine.reason}", install)


def check_debootstrap() -> Finding:
    found = shutil.which("debootstrap")
    return _path_finding("debootstrap", "debootstrap (builds local container images)",
                         Path(found) if found else None, f"{APT} debootstrap")


CHECKS: dict[str, Callable[[], Finding]] = {
    "python": check_python,
    "chromium": check_chromium,
    "anvil": check_anvil,
    "postgres": check_postgres,
    "prometheus": check_prometheus,
    "promtool": check_promtool,
    "docker": check_docker,
    "debootstrap": check_debootstrap,
}


# -- what each target needs ----------------------------------------------------------------------------
def needs_of(target: Target) -> TargetReport:
    report = TargetReport(target.name)
    add = report.needs.append
    add(Need("python", True, "the harness itself"))
    add(Need("chromium", True, "browser flows (e2e/)"))
    if target.managed:
        add(Need("anvil", True, "the reference stack's chain"))
        add(Need("prometheus", True, "the reference stack's Prometheus (`stack up --no-prometheus` skips it)"))
        add(Need("postgres", False, "`stack up --db postgres`"))
        add(Need("docker", False, "`stack up --provision containers`"))
        add(Need("debootstrap", False, "building local images where no registry is reachable"))
    add(Need("promtool", False, "validating fixtures/prometheus rules (make test)"))
    return report


def diagnose(targets: list[Target]) -> tuple[dict[str, Finding], list[TargetReport]]:
    findings = {key: check() for key, check in CHECKS.items()}
    return findings, [needs_of(t) for t in targets]


def render(findings: dict[str, Finding], reports: list[TargetReport]) -> str:
    lines = ["This machine:"]
    for f in findings.values():
        mark = "ok" if f.found else "MISSING"
        lines.append(f"  {mark:<8} {f.what:<52} {f.detail}")
    for report in reports:
        needed = [n.key for n in report.needs if n.needed]
        optional = [f"{n.key} ({n.why})" for n in report.needs if not n.needed]
        lines += ["", f"Target {report.target}: needs {', '.join(needed)}",
                  f"  optional: {'; '.join(optional) or 'nothing'}"]
        missing = report.missing(findings)
        if not missing:
            lines.append("  everything it needs is here")
        for need in missing:
            lines.append(f"  missing {need.key} ({need.why}); install with:\n    {findings[need.key].install}")
        for need in report.needs:
            if not need.needed and not findings[need.key].found:
                lines.append(f"  optional {need.key} is missing ({need.why}); install with:\n"
                             f"    {findings[need.key].install}")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    names = args.target or available_targets()
    try:
        targets = [load_target(n) for n in names]
    except TargetError as exc:
        print(f"launchgate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    findings, reports = diagnose(targets)
    # A profile named on the command line is checked against its deployment too (variables, URLs, credentials,
    # hooks, chain id); all profiles at once would probe deployments nobody asked about.
    problems = {t.name: profile_problems(t) for t in targets} if args.target else {}
    if args.json:
        body = {"findings": {k: asdict(f) for k, f in findings.items()},
                "targets": [{"target": r.target, "needs": [asdict(n) for n in r.needs],
                             "missing": [n.key for n in r.missing(findings)],
                             "profile_problems": problems.get(r.target, [])} for r in reports]}
        print(json.dumps(body, indent=2))
    else:
        print(render(findings, reports))
        for name, found in problems.items():
            print(f"\nProfile {name} against its deployment: " + ("every check passed" if not found else ""))
            for line in found:
                print(f"  {line}")
    failed = any(r.missing(findings) for r in reports) or any(problems.values())
    return EXIT_MISSING if failed else EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    doctor = sub.add_parser("doctor", help="what this machine has and what each target needs (exit 1: missing)")
    doctor.add_argument("--target", action="append", help="a target profile (repeatable; default: all)")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)
