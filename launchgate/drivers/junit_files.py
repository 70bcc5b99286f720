"""Test results read from a JUnit XML file (pytest --junitxml, jest-junit, `bun nx test` reporters).

Both shapes are read: a <testsuites> root holding <testsuite> elements, or a lone <testsuite>. Counts come
from the <testcase> elements themselves, not from the suites' summary attributes, which tools fill unevenly.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from launchgate.drivers.errors import DriverError


class JunitFileError(DriverError):
    """A JUnit file that cannot be read; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class CaseResult:
    suite: str
    name: str
    outcome: str  # passed, failed, error, skipped
    message: str = ""


@dataclass(frozen=True)
class JunitResults:
    path: Path
    cases: list[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def not_passed(self) -> list[CaseResult]:
        return [c for c in self.cases if c.outcome in ("failed", "error")]

    def summary(self) -> str:
        return (f"{len(self.cases)} tests: {self.count('passed')} passed, {self.count('failed')} failed, "
                f"{self.count('error')} errors, {self.count('skipped')} skipped")


def read_junit(path: Path) -> JunitResults:
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise JunitFileError(f"{path}: no such JUnit file") from None
    except ET.ParseError as exc:
        raise JunitFileError(f"{path}: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise JunitFileError(f"{path}: cannot be read ({exc})") from None
    if root.tag == "testsuite":
        suites = [root]
    elif root.tag == "testsuites":
        suites = list(root.iter("testsuite"))
    else:
        raise JunitFileError(f"{path}: the root element is <{root.tag}>, not <testsuites> or <testsuite>")
    cases = []
    for suite in suites:
        for case in suite.findall("testcase"):
            name = case.get("name")
            if not name:
                raise JunitFileError(f"{path}: a <testcase> in suite {suite.get('name')!r} has no name")
            label = case.get("classname") or suite.get("name") or ""
            cases.append(CaseResult(label, name, *_outcome(case)))
    return JunitResults(path, cases)


def _outcome(case: ET.Element) -> tuple[str, str]:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        element = case.find(tag)
        if element is not None:
            message = element.get("message") or (element.text or "").strip()
            return outcome, message.splitlines()[0][:300] if message else ""
    return "passed", ""
