"""Evidence records: one JSON line each, append-only, under reports/<run>/evidence/*.jsonl.

Every check writes them; the scorer only reads them. The schema is ARCHITECTURE.md's.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Kind = Literal["scenario", "measurement", "chain", "feedback", "incident"]
Outcome = Literal["passed", "failed", "error", "skipped"]
KINDS: tuple[str, ...] = ("scenario", "measurement", "chain", "feedback", "incident")
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "skipped")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Evidence:
    run: str
    kind: Kind
    name: str
    outcome: Outcome
    criterion: str | None = None
    gate: str | None = None
    value: float | None = None
    unit: str | None = None
    started: str = field(default_factory=now_iso)
    finished: str = field(default_factory=now_iso)
    target: str = "reference"
    attachments: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        if data.get("kind") not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, found {data.get('kind')!r}")
        if data.get("outcome") not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, found {data.get('outcome')!r}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class EvidenceWriter:
    """Appends records to one JSONL file; safe across threads, and across processes by O_APPEND lines."""

    def __init__(self, run_dir: Path, stream: str) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "evidence" / f"{stream}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def claim(self) -> bool:
        """Creates the stream if nobody has: True for the one caller (scenario, xdist worker) who should fill it."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            return False
        return True

    def write(self, record: Evidence) -> None:
        line = (record.to_json() + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass
class BadLine:
    path: Path
    line: int
    error: str


def read_evidence(run_dir: Path) -> tuple[list[Evidence], list[BadLine]]:
    """Every record of a run, plus the lines that could not be read (a crash can cut the last one)."""
    records: list[Evidence] = []
    bad: list[BadLine] = []
    for path in sorted((run_dir / "evidence").glob("*.jsonl")):
        for number, text in _lines(path):
            try:
                records.append(Evidence.from_dict(json.loads(text)))
            except (ValueError, TypeError) as exc:
                bad.append(BadLine(path, number, str(exc)))
    return records, bad


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, text in enumerate(fh, 1):
            if text.strip():
                yield number, text
