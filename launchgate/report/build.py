"""`launchgate report RUN`: stored evidence -> verdicts -> verdict.json, junit.xml, index.html, history, and the run's
scenarios as Cucumber Messages (cucumber-messages.ndjson).

Evidence is read and redacted once; scoring decides; verdict.json is written; the HTML and JUnit outputs
are rendered from verdict.json as written, so the report never computes a verdict of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from launchgate import paths
from launchgate.evidence import BadLine, read_evidence, read_run_build
from launchgate.gates.history import compare, previous_entry, read_history, record_run, summary_line, trend
from launchgate.gates.loader import GatesConfigError, check_gate_names, load_gates
from launchgate.gates.scoring import score
from launchgate.gates.verdicts import CriterionVerdict, GateVerdict, ScoreResult
from launchgate.redact import Redactor
from launchgate.report.html import EXIT_MEANING, render_html
from launchgate.report.junit import write_junit
from launchgate.report.messages import write_messages
from launchgate.report.series import soak_series

__all__ = ["GatesConfigError", "ReportError", "ReportResult", "build_report", "report_command"]


class ReportError(Exception):
    """The run directory cannot be reported on (missing, not a directory). Exit 2, like a config error."""


@dataclass
class ReportResult:
    run_id: str
    run_dir: Path
    index_html: Path
    verdict_json: Path
    junit_xml: Path
    gates: list[GateVerdict]
    exit_code: int
    bad_lines: list[BadLine]
    comparison: dict[str, Any] | None
    score: ScoreResult


def build_report(
    run_dir: Path,
    gates_file: Path,
    history_file: Path,
    *,
    gates: list[str] | None = None,
    now: datetime | None = None,
    environ: dict[str, str] | None = None,
) -> ReportResult:
    """Scores the run's evidence against `gates_file` and writes every output into `run_dir`.

    Raises GatesConfigError for a malformed gates file or an unknown requested gate, ReportError when
    `run_dir` is not a run directory.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"no run directory at {run_dir}")
    config = load_gates(Path(gates_file))
    check_gate_names(config, gates, gates_file)
    raw, bad = read_evidence(run_dir)
    redactor = Redactor.for_run(run_dir, raw, environ)
    records = [redactor.record(r) for r in raw]
    result = score(config, records, gates=gates, now=now, run=run_dir.name, gates_file=str(gates_file),
                   build=read_run_build(run_dir))
    result.bad_lines = [
        {"file": _rel(b.path, run_dir), "line": b.line, "error": redactor.text(b.error)[:500]} for b in bad
    ]

    entries = read_history(history_file)
    entry = summary_line(result)
    result.comparison = compare(entry, previous_entry(entries, result.run, like=entry))
    entries = record_run(history_file, entry)
    result.trend = trend(entries, result.run, like=entry)

    verdict_path = run_dir / "verdict.json"
    result.write(verdict_path)
    verdict = json.loads(verdict_path.read_text(encoding="utf-8"))  # render what was written, nothing else
    junit_path = run_dir / "junit.xml"
    write_junit(verdict, junit_path)
    write_messages(run_dir, paths.ROOT, records)  # beside cucumber.json, for Cucumber's own tooling
    index_path = run_dir / "index.html"
    soak = soak_series(run_dir, records, redactor.text)
    _write_text(index_path, render_html(verdict, run_dir, soak))
    _point_latest(run_dir)
    return ReportResult(
        run_id=result.run, run_dir=run_dir, index_html=index_path, verdict_json=verdict_path,
        junit_xml=junit_path, gates=result.gates, exit_code=result.exit_code, bad_lines=bad,
        comparison=result.comparison, score=result,
    )


def report_command(run_dir: Path, gates_file: Path, gates: list[str] | None = None, *, exit_zero: bool = False) -> int:
    """Builds the report, prints a short plain-text summary ending in the verdict in words, returns the exit code.

    `exit_zero` (`--exit-zero`, what `make report` uses) returns 0 whatever the verdict: a newcomer's failed or
    inconclusive gate is a result, not a crash. CI leaves it off and gets 1 or 3. History goes to
    `<run_dir>/../history.jsonl` (reports/history.jsonl). Raises GatesConfigError or ReportError (exit 2) for
    the CLI to print as one message.
    """
    run_dir = Path(run_dir)
    result = build_report(run_dir, gates_file, run_dir.parent / "history.jsonl", gates=gates)
    print(f"run {result.run_id} (target {result.score.target or 'unknown'})")
    print(f"  {'gating ' if result.score.build['id'] else ''}{result.score.build['described']}")
    for gate in result.gates:
        score_text = "no score" if gate.score is None else f"score {gate.score:.0f}%"
        reason = gate.reason if len(gate.reason) <= 110 else gate.reason[:109] + "…"
        print(f"  {gate.id:<14} {gate.verdict.upper():<13} {score_text:<10} {reason}")
        for crit in gate.criteria:
            if crit.verdict == "fail":
                print(f"      ✗ {crit.id}: {_one_line(crit)}")
    if result.bad_lines:
        print(f"  ({len(result.bad_lines)} unreadable evidence line(s) skipped; see the report's engineering details)")
    if result.comparison:
        print(f"  {result.comparison['summary']}")
    meaning = EXIT_MEANING.get(result.exit_code, "")
    if exit_zero:
        print(f"exit code 0 (--exit-zero; the verdict's own exit code is {result.exit_code}: {meaning})")
    else:
        print(f"exit code {result.exit_code}: {meaning}")
    print(verdict_line(result.gates, result.index_html))
    return 0 if exit_zero else result.exit_code


def _one_line(crit: CriterionVerdict, width: int = 150) -> str:
    """A failing criterion's evidence in one line: its first failed record and why, else the verdict's reason."""
    failed = next((e for e in crit.evidence if e.outcome in ("failed", "error")), None)
    text = f"{failed.name}: {failed.error}" if failed is not None and failed.error else crit.reason
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def verdict_line(gates: list[GateVerdict], index_html: Path) -> str:
    """`Verdict: Internal Alpha FAIL, Closed Beta INCONCLUSIVE; report: reports/…/index.html`, the last line."""
    words = ", ".join(f"{_short_title(g)} {g.verdict.upper()}" for g in gates) or "no gate decided"
    return f"Verdict: {words}; report: {_shown_path(index_html)}"


def _short_title(gate: GateVerdict) -> str:
    # "Preconditions (framework §3-§7)" reads as "Preconditions" in a line that names every gate.
    return gate.title.split(" (")[0].strip() or gate.id


def _shown_path(path: Path) -> str:
    """Relative to the working directory when under it (reports/…), so the line stays short; else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rel(path: Path, run_dir: Path) -> str:
    try:
        return str(path.relative_to(run_dir))
    except ValueError:
        return path.name


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _point_latest(run_dir: Path) -> None:
    """reports/latest -> the run just reported (a relative link, so the reports directory can move)."""
    latest = run_dir.parent / "latest"
    if latest.exists() and not latest.is_symlink():
        return  # someone's real directory: leave it alone
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        tmp.replace(latest)
    except OSError:
        tmp.unlink(missing_ok=True)

