"""Evidence records: one JSON line each, append-only, under reports/<run>/evidence/*.jsonl.

Every check writes them; the scorer only reads them. The schema is ARCHITECTURE.md's, plus `build`: the identity
of the target's build the record measured. A run directory's build.json names the build its run found on the
target, and every record written into that run carries it; a record copied from another run keeps its own.
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


def iso(moment: datetime | float) -> str:
    """A moment (or Unix seconds) as every record's times are written: UTC, milliseconds, Z."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


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
    build: str | None = None  # the target's build the record measured; None: unknown
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


# Why a measurement has no value, in `details.no_data = {"kind": ..., "detail": ...}`: the three cases a reader
# must tell apart (Argo Rollouts and Flagger report all three as "no data").
NoDataKind = Literal["query-failed", "no-events", "no-traffic"]


def no_data(kind: NoDataKind, detail: str) -> dict[str, str]:
    return {"kind": kind, "detail": detail}


BUILD_FILE = "build.json"


@dataclass(frozen=True)
class RunBuild:
    """The build of the target a run measured, as the profile's [build] says to read it; `id` None when the profile
    names no source (`source` empty) or reading it failed (`error`)."""

    id: str | None
    source: str = ""
    error: str = ""

    def describe(self) -> str:
        if self.id:
            return f"build {self.id} (from {self.source})"
        if self.error:
            return f"build unknown: {self.error}"
        return "build unknown: the target's profile names no [build] source"


def write_run_build(run_dir: Path, build: RunBuild) -> None:
    """Records which build the run measures; every process writing into the run reads the same answer."""
    run_dir.mkdir(parents=True, exist_ok=True)
    temporary = run_dir / f".{BUILD_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(asdict(build)), encoding="utf-8")
    temporary.replace(run_dir / BUILD_FILE)


def read_run_build(run_dir: Path) -> RunBuild | None:
    """The run's build.json; None for a run that recorded none (older runs, or a run directory made by hand)."""
    try:
        data = json.loads((run_dir / BUILD_FILE).read_text(encoding="utf-8"))
        return RunBuild(data.get("id") or None, str(data.get("source") or ""), str(data.get("error") or ""))
    except (OSError, ValueError, AttributeError):
        return None


class EvidenceWriter:
    """Appends records to one JSONL file; safe across threads, and across processes by O_APPEND lines. A record
    without a build gets the run's (build.json, read at the first write: runs bind their build before they write),
    unless `stamp` is off: records copied from another run keep what they measured, an unknown build included."""

    def __init__(self, run_dir: Path, stream: str, *, stamp: bool = True) -> None:
        self.run_dir = run_dir
        self.stamp = stamp
        self.path = run_dir / "evidence" / f"{stream}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._build: RunBuild | None = None
        self._build_read = False

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
        if record.build is None and self.stamp:
            if not self._build_read:
                self._build, self._build_read = read_run_build(self.run_dir), True
            if self._build is not None:
                record.build = self._build.id
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
