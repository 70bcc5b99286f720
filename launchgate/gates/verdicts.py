"""What scoring produces: verdicts with their measured values, thresholds, reasons and evidence references.

`verdict.json` is `ScoreResult.to_dict()`; the report renders it and computes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["pass", "warning", "fail", "inconclusive", "waived"]
VERDICTS: tuple[str, ...] = ("pass", "warning", "fail", "inconclusive", "waived")
SCORE_POINTS = {"pass": 1.0, "warning": 0.5, "fail": 0.0}

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_CONFIG = 2
EXIT_INCONCLUSIVE = 3
VERDICT_SCHEMA = 1


@dataclass
class EvidenceRef:
    """One evidence record as a report shows it: enough to find it, see why, and open its attachments."""

    id: str
    kind: str
    name: str
    outcome: str
    criterion: str | None = None
    value: float | None = None
    unit: str | None = None
    started: str = ""
    finished: str = ""
    location: str | None = None
    error: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    tx_hash: str | None = None
    explorer_url: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    build: str | None = None  # the build the record measured
    set_aside: str | None = None  # why the criterion did not count it: "build" (another build's) or "stale"


@dataclass
class CriterionVerdict:
    id: str
    gate: str
    wording: str
    verdict: Verdict
    reason: str
    key: bool
    weight: float
    value: float | None
    unit: str | None
    value_text: str
    threshold_text: str
    warning_text: str
    samples: int
    min_samples: int
    duration_s: float | None = None
    min_duration_s: float | None = None
    measured_verdict: Verdict | None = None  # what the evidence alone says (differs when waived)
    summary: str = ""
    note: str | None = None
    waiver: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    evidence: list[EvidenceRef] = field(default_factory=list)
    evidence_total: int = 0


@dataclass
class GateVerdict:
    id: str
    title: str
    verdict: Verdict
    reason: str
    score: float | None  # percent over the scored criteria, None when nothing could be scored
    pass_pct: float
    warning_pct: float | None
    criteria: list[CriterionVerdict]
    counts: dict[str, int] = field(default_factory=dict)
    detail: str = ""  # the first deciding criterion's own reason


@dataclass
class ScoreResult:
    run: str
    target: str
    generated: str
    gates_file: str
    requested: list[str]
    gates: list[GateVerdict]
    exit_code: int
    evidence_counts: dict[str, int] = field(default_factory=dict)
    bad_lines: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    comparison: dict[str, Any] | None = None
    trend: list[dict[str, Any]] = field(default_factory=list)  # gate scores of recent runs, oldest first
    build: dict[str, Any] = field(default_factory=dict)  # the build gated: id (None: unknown) and in words

    def to_dict(self) -> dict[str, Any]:
        return {"schema": VERDICT_SCHEMA, **asdict(self)}

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(path)


def exit_code(verdicts: list[str]) -> int:
    """0 when every requested gate passes (a warning passes), 1 when one fails, 3 when one is inconclusive.

    Fail wins over inconclusive: a known failure is the more useful thing to stop a pipeline for.
    """
    if any(v == "fail" for v in verdicts):
        return EXIT_FAIL
    if any(v == "inconclusive" for v in verdicts):
        return EXIT_INCONCLUSIVE
    return EXIT_PASS
