"""The 371OS HTTP contract as OpenAPI 3.1 documents (fixtures/openapi/), and checks of a target against it.

- Generated requests: Schemathesis runs each document against the base URL of the profile's [api] area that the
  document names (`x-launchgate-area`), bounded in examples and time, in a subprocess of its own (hypothesis and
  its CLI stay out of the gate suite's process). A 5xx, an undocumented status, a wrong content type or a body
  that breaks the schema comes back as a Finding in Schemathesis's own words: the route, the answer, the request.
- Reachability: every static GET route is asked for once. One answered 404 is unreachable; when a parameterised
  route of the same document matches its path, it is named as shadowed by that route.
- GET safety: reading one view of a resource must not change what another view answers.
- Transaction claims: the fields of an answer that claim a transaction, for the chain to confirm.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml

from launchgate import paths
from launchgate.drivers.http import ApiClient, answer

CONTRACT_DIR = paths.OPENAPI
CONTRACT_DIR_ENV = "LAUNCHGATE_CONTRACT_DIR"  # another directory of documents, for a contract of one's own
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# The caller's credential reaches Schemathesis through its config's ${VAR} substitution, never argv.
CREDENTIAL_ENV = "LAUNCHGATE_CONTRACT_HEADER_{}"
METHODS = ("get", "post", "put", "patch", "delete")


class ContractDocError(ValueError):
    """An OpenAPI document of the contract that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class ContractDoc:
    path: Path
    area: str
    paths: dict[str, Any]

    def static_gets(self) -> list[str]:
        return [p for p, item in self.paths.items() if "{" not in p and "get" in item]

    def shadowing(self, path: str) -> str | None:
        """The parameterised route of this document whose template also matches `path`, if any."""
        for template in self.paths:
            if "{" in template and "get" in self.paths[template]:
                pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
                if re.fullmatch(pattern, path):
                    return template
        return None


def load_contract(directory: Path | None = None) -> list[ContractDoc]:
    directory = directory or Path(os.environ.get(CONTRACT_DIR_ENV) or CONTRACT_DIR)
    docs = sorted(directory.glob("*.yaml"))
    if not docs:
        raise ContractDocError(f"{directory}: no OpenAPI document (*.yaml) of the contract")
    return [_load_doc(path) for path in docs]


def _load_doc(path: Path) -> ContractDoc:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ContractDocError(f"{where}: not valid YAML: {exc.problem}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ContractDocError(f"{path}: cannot read it: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("openapi", "")).startswith("3."):
        raise ContractDocError(f"{path}: not an OpenAPI 3 document (no 'openapi: 3.x' at the top)")
    if not isinstance(data.get("paths"), dict) or not data["paths"]:
        raise ContractDocError(f"{path}: 'paths' is missing or empty")
    area = data.get("x-launchgate-area")
    if not isinstance(area, str):
        raise ContractDocError(f"{path}: 'x-launchgate-area' must name the profile's [api] area serving it")
    for route, item in data["paths"].items():
        if not isinstance(item, dict) or not any(m in item for m in METHODS):
            raise ContractDocError(f"{path}: paths.{route}: no operation (get, post, ...)")
    return ContractDoc(path, area, data["paths"])


@dataclass(frozen=True)
class Finding:
    operation: str  # "GET /api/governance/proposals/pending-approval"
    check: str  # Schemathesis's name for what broke, "Undocumented status code"
    detail: str  # the answer and the request, as Schemathesis printed them (its output masks credentials)

    def line(self) -> str:
        return f"{self.operation}: {self.check}: {self.detail}"


@dataclass(frozen=True)
class FuzzRun:
    doc: ContractDoc
    findings: list[Finding]
    cases: int  # operations Schemathesis tested
    exit_code: int
    log: Path


def fuzz(doc: ContractDoc, base_url: str, credential: dict[str, str], out_dir: Path, *, max_examples: int,
         max_time_s: int, seed: int = 371) -> FuzzRun:
    """Schemathesis's coverage and fuzzing phases against `base_url` with valid requests, `max_examples` per
    operation, stopped after `max_time_s` (a finding of its own); the JUnit report and console log go to `out_dir`.
    (Its own --max-time is a budget to spend, not a bound: fuzzing repeats until it runs out.)"""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = doc.path.stem
    junit, log = out_dir / f"{name}-junit.xml", out_dir / f"{name}.log"
    config = out_dir / f"{name}-schemathesis.toml"
    names = {header: CREDENTIAL_ENV.format(i) for i, header in enumerate(credential)}
    config.write_text(("headers = { " + ", ".join(f'"{h}" = "${{{v}}}"' for h, v in names.items()) + " }\n")
                      if credential else "")
    args = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(doc.path),
        "--url", base_url, "--checks", CHECKS, "--mode", "positive", "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(max_examples), "--seed", str(seed), "--no-shrink",
        "--generation-database", "none", "--workers", "1", "--request-timeout", "10", "--no-color",
        "--report", "junit", "--report-junit-path", str(junit),
    ]
    env = {**os.environ, **{names[header]: value for header, value in credential.items()}}
    with log.open("w") as out:
        try:
            code = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=max_time_s,
                                  cwd=out_dir).returncode
        except subprocess.TimeoutExpired:
            slow = f"the answers to {max_examples} requests per operation took over {max_time_s} s"
            return FuzzRun(doc, [Finding(doc.path.name, "Too slow", slow)], 0, -1, log)
    findings, cases = read_junit(junit) if junit.is_file() else ([], 0)
    return FuzzRun(doc, findings, cases, code, log)


def read_junit(path: Path) -> tuple[list[Finding], int]:
    """Findings from Schemathesis's JUnit report: one per failed check of an operation."""
    root = ElementTree.parse(path).getroot()
    findings: list[Finding] = []
    cases = 0
    for case in root.iter("testcase"):
        cases += 1
        for failure in [*case.findall("failure"), *case.findall("error")]:
            findings += _findings(case.get("name", "?"), failure.text or failure.get("message", ""))
    # A 5xx is also an undocumented status: named once, as the server error it is.
    errors = {f.operation for f in findings if f.check.endswith("Server error")}
    findings = [f for f in findings if not (f.operation in errors and f.check.endswith("Undocumented status code")
                                            and f.detail.startswith("Received: 5"))]
    return findings, cases


def _findings(operation: str, text: str) -> list[Finding]:
    """Schemathesis writes each failed check as `- <check title>` followed by what it saw, then the answer and a
    curl line reproducing the request; each check becomes a Finding with the answer and the request."""
    blocks = re.split(r"\n- ", "\n" + text)
    tail = blocks[-1]
    answer_lines = [ln.strip() for ln in tail.splitlines()[1:] if ln.strip()]
    context = " ".join(ln for ln in answer_lines if not ln.startswith("Reproduce"))[:600]
    found = []
    for block in blocks[1:]:
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines:
            title = lines[0]
            said = " ".join(lines[1:3]) if block is not tail else ""
            found.append(Finding(operation, title, " ".join(x for x in (said, context) if x)[:800]))
    return found or [Finding(operation, "failed", " ".join(text.split())[:800])]


@dataclass(frozen=True)
class Reach:
    path: str
    status: int
    answer: str
    shadowed_by: str | None

    @property
    def reachable(self) -> bool:
        return self.status != 404

    def line(self) -> str:
        why = f": shadowed by {self.shadowed_by}, which takes it for an id" if self.shadowed_by else ""
        return f"GET {self.path} cannot be reached ({self.answer}){why}"


def reach(doc: ContractDoc, client: ApiClient) -> list[Reach]:
    """Each static GET route of `doc`, asked for once."""
    found = []
    for path in doc.static_gets():
        response = client.raw("GET", path)
        found.append(Reach(path, response.status_code, answer(response), doc.shadowing(path)))
    return found


# -- GET safety --------------------------------------------------------------------------------------------------
_CLOCK = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")


@dataclass(frozen=True)
class Change:
    reader: str  # the GET whose reading changed another view
    changed: str
    difference: str

    def line(self) -> str:
        return f"reading {self.reader} changed what {self.changed} answers: {self.difference}"


def id_views(docs: list[ContractDoc], area: str) -> list[str]:
    """The GET routes of `area` that take one id and nothing else (`/proposals/{id}`, `/proposals/{id}/results`)."""
    return [p for d in docs if d.area == area for p, item in d.paths.items()
            if "get" in item and len(re.findall(r"\{[^/]+\}", p)) == 1]


def read_safety(client: ApiClient, views: list[str], resource_id: str) -> list[Change]:
    """Reads each view of one resource in turn, and after each read re-reads the views read before it: a view
    whose answer changed was changed by that read (a GET must not change what the next GET returns)."""
    def read(view: str) -> tuple[int, Any]:
        response = client.raw("GET", re.sub(r"\{[^/]+\}", resource_id, view))
        try:
            body: Any = _without_clock(response.json())
        except ValueError:
            body = response.text
        return response.status_code, body

    seen: dict[str, tuple[int, Any]] = {}
    changes = []
    for view in views:
        seen[view] = read(view)
        for earlier in [v for v in seen if v != view]:
            now = read(earlier)
            if now != seen[earlier]:
                changes.append(Change(view, earlier, _difference(seen[earlier], now)))
                seen[earlier] = now
    return changes


def _without_clock(body: Any) -> Any:
    """The body with its clock readings (ISO timestamps) blanked: a reading's time is not state."""
    if isinstance(body, dict):
        return {k: _without_clock(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_without_clock(v) for v in body]
    return "<time>" if isinstance(body, str) and _CLOCK.fullmatch(body) else body


def _difference(before: tuple[int, Any], after: tuple[int, Any]) -> str:
    if before[0] != after[0]:
        return f"status {before[0]} → {after[0]}"
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        elif a != b:
            found.append(f"{where or 'body'}: {str(a)[:60]!s} → {str(b)[:60]!s}")

    walk(before[1], after[1], "")
    return "; ".join(found[:4]) or "the body changed"


# -- transaction claims ------------------------------------------------------------------------------------------
_TX_FIELD = re.compile(r"(?i)^(tx|transaction)(_?(hash|id))?$|(tx|transaction)_?(hash|id)$")


def tx_claims(body: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (field path, value) of an answer that claims a transaction: a field named like `transaction_hash`,
    `txHash`, `tx_id` or `transactionId` holding a string."""
    found: list[tuple[str, str]] = []
    if isinstance(body, dict):
        for key, value in body.items():
            path = f"{where}.{key}" if where else key
            if isinstance(value, str) and _TX_FIELD.search(key):
                found.append((path, value))
            else:
                found += tx_claims(value, path)
    elif isinstance(body, list):
        for i, value in enumerate(body):
            found += tx_claims(value, f"{where}[{i}]")
    return found
