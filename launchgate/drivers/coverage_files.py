"""Line coverage read from the report a target's test run wrote: Cobertura XML, lcov, or coverage.py JSON.

A broken file raises CoverageFileError naming the file, its format and what is wrong; nothing is guessed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchgate.drivers.errors import DriverError

FORMATS = ("cobertura", "lcov", "coverage.py")


class CoverageFileError(DriverError):
    """A coverage file that cannot be read; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class CoverageReading:
    path: Path
    format: str
    covered: int
    total: int
    modified: str  # the file's modification time (UTC, ISO 8601): how fresh the measurement is

    @property
    def ratio(self) -> float:
        return self.covered / self.total if self.total else 0.0

    def describe(self) -> str:
        return f"{self.ratio:.1%} of lines ({self.covered}/{self.total}) from {self.path} ({self.format})"


def read_coverage(path: Path) -> CoverageReading:
    """The line coverage in `path`, its format told by the name and, failing that, by the content."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoverageFileError(f"{path}: no such coverage file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CoverageFileError(f"{path}: cannot be read as text ({exc})") from None
    fmt = detect_format(path, text)
    parse = {"cobertura": _cobertura, "lcov": _lcov, "coverage.py": _coverage_py}[fmt]
    covered, total = parse(path, text)
    if total <= 0:
        raise CoverageFileError(f"{path}: {fmt}: the report counts no lines at all")
    if not 0 <= covered <= total:
        raise CoverageFileError(f"{path}: {fmt}: {covered} lines covered out of {total} is impossible")
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return CoverageReading(path, fmt, covered, total, modified.replace("+00:00", "Z"))


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    head = text.lstrip()[:200]
    if suffix == ".xml" or head.startswith("<"):
        return "cobertura"
    if suffix == ".json" or head.startswith("{"):
        return "coverage.py"
    if suffix in (".info", ".lcov") or head.startswith(("TN:", "SF:")):
        return "lcov"
    raise CoverageFileError(
        f"{path}: not a coverage format launchgate reads (Cobertura XML, lcov .info, coverage.py JSON)"
    )


def _cobertura(path: Path, text: str) -> tuple[int, int]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CoverageFileError(f"{path}: cobertura: not well-formed XML ({exc})") from None
    if root.tag != "coverage":
        raise CoverageFileError(f"{path}: cobertura: the root element is <{root.tag}>, not <coverage>")
    covered, valid = root.get("lines-covered"), root.get("lines-valid")
    if covered is None or valid is None:
        raise CoverageFileError(f"{path}: cobertura: <coverage> lacks the lines-covered and lines-valid attributes")
    return _whole(path, "cobertura", "lines-covered", covered), _whole(path, "cobertura", "lines-valid", valid)


def _lcov(path: Path, text: str) -> tuple[int, int]:
    found = hit = 0
    records = 0
    for number, line in enumerate(text.splitlines(), 1):
        key, sep, value = line.strip().partition(":")
        if key == "LF" and sep:
            found += _whole(path, "lcov", f"LF on line {number}", value)
            records += 1
        elif key == "LH" and sep:
            hit += _whole(path, "lcov", f"LH on line {number}", value)
    if not records:
        raise CoverageFileError(f"{path}: lcov: no LF (lines found) record in the file")
    return hit, found


def _coverage_py(path: Path, text: str) -> tuple[int, int]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise CoverageFileError(f"{path}: coverage.py: not valid JSON ({exc})") from None
    totals = data.get("totals") if isinstance(data, dict) else None
    if not isinstance(totals, dict):
        raise CoverageFileError(f"{path}: coverage.py: no \"totals\" object (write it with `coverage json`)")
    covered, statements = totals.get("covered_lines"), totals.get("num_statements")
    if covered is None or statements is None:
        raise CoverageFileError(f"{path}: coverage.py: totals lack covered_lines and num_statements")
    return (_whole(path, "coverage.py", "totals.covered_lines", covered),
            _whole(path, "coverage.py", "totals.num_statements", statements))


def _whole(path: Path, fmt: str, what: str, value: object) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CoverageFileError(f"{path}: {fmt}: {what} is {value!r}, not a whole number") from None
    if number < 0:
        raise CoverageFileError(f"{path}: {fmt}: {what} is negative ({number})")
    return number
