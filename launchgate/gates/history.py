"""reports/history.jsonl: one summary line per run, the comparison with the previous run, and the trend.

Rebuilding a run's report replaces its line instead of adding a second one, so history stays one line per run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from launchgate.gates.verdicts import ScoreResult

RANK = {"fail": 0, "inconclusive": 1, "warning": 2, "pass": 3}  # waived is judged by what was measured
TREND_RUNS = 30


def summary_line(result: ScoreResult) -> dict[str, Any]:
    return {
        "run": result.run,
        "generated": result.generated,
        "target": result.target,
        "kind": run_kind(result.evidence_counts),
        "exit_code": result.exit_code,
        "gates": {g.id: {"verdict": g.verdict, "score": _round(g.score)} for g in result.gates},
        "criteria": {
            c.id: {"gate": g.id, "verdict": c.verdict, "measured": c.measured_verdict, "value": c.value,
                   "value_text": c.value_text}
            for g in result.gates for c in g.criteria
        },
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every readable line, oldest first; a damaged line is skipped, never fatal."""
    if not path.exists():
        return []
    entries = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("run"), str):
            entries.append(entry)
    return entries


def record_run(path: Path, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Adds (or replaces) the run's line; returns the history as it now stands."""
    entries = read_history(path)
    if any(e["run"] == entry["run"] for e in entries):
        entries = [entry if e["run"] == entry["run"] else e for e in entries]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(e, default=str) + "\n" for e in entries), encoding="utf-8")
        tmp.replace(path)
        return entries
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return [*entries, entry]


def run_kind(evidence_counts: dict[str, int]) -> str:
    """A gate run (scenarios) or a run of measurements only (a soak, an onboarding): only like is compared
    with like, or every criterion a soak does not measure would read as a regression."""
    return "gate" if evidence_counts.get("scenario") else "measurements"


def _alike(entries: list[dict[str, Any]], like: dict[str, Any] | None) -> list[dict[str, Any]]:
    if like is None:
        return entries
    return [e for e in entries if e.get("target") == like.get("target") and e.get("kind", "gate") == like["kind"]]


def previous_entry(entries: list[dict[str, Any]], run: str,
                   like: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The run recorded just before `run` (or the last one, when `run` is new); with `like`, the last one of the
    same target and kind."""
    before = entries
    for i, entry in enumerate(entries):
        if entry["run"] == run:
            before = entries[:i]
            break
    before = _alike(before, like)
    return before[-1] if before else None


def compare(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    gates = []
    for gid, now in current["gates"].items():
        was = previous.get("gates", {}).get(gid)
        if was is None:
            gates.append({"id": gid, "before": None, "after": now["verdict"], "score_before": None,
                          "score_after": now["score"], "delta": None, "change": "new"})
            continue
        delta = None if now["score"] is None or was.get("score") is None else round(now["score"] - was["score"], 1)
        gates.append({"id": gid, "before": was.get("verdict"), "after": now["verdict"],
                      "score_before": was.get("score"), "score_after": now["score"], "delta": delta,
                      "change": _change(was.get("verdict"), now["verdict"], delta)})
    improved, regressed, changed, new = [], [], [], []
    for cid, now in current["criteria"].items():
        was = previous.get("criteria", {}).get(cid)
        if was is None:
            new.append({"id": cid, "gate": now["gate"], "after": now["verdict"]})
            continue
        if was.get("verdict") == now["verdict"] and was.get("measured") == now["measured"]:
            continue
        row = {"id": cid, "gate": now["gate"], "before": was.get("verdict"), "after": now["verdict"],
               "value_before": was.get("value_text"), "value_after": now.get("value_text")}
        before_rank = RANK.get(str(was.get("measured") or was.get("verdict")))
        after_rank = RANK.get(str(now["measured"] or now["verdict"]))
        if before_rank is None or after_rank is None or before_rank == after_rank:
            changed.append(row)
        elif after_rank > before_rank:
            improved.append(row)
        else:
            regressed.append(row)
    removed = [cid for cid in previous.get("criteria", {}) if cid not in current["criteria"]]
    return {
        "previous_run": previous["run"],
        "previous_generated": previous.get("generated"),
        "gates": gates,
        "improved": improved,
        "regressed": regressed,
        "changed": changed,
        "new": new,
        "removed": removed,
        "summary": _summary(previous["run"], improved, regressed, changed),
    }


def trend(entries: list[dict[str, Any]], run: str, limit: int = TREND_RUNS,
          like: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Gate scores of the last `limit` runs up to and including `run` (of the same target and kind as `like`,
    when given), oldest first."""
    upto = entries
    for i, entry in enumerate(entries):
        if entry["run"] == run:
            upto = entries[: i + 1]
            break
    upto = _alike(upto, like)
    return [{"run": e["run"], "generated": e.get("generated"), "gates": e.get("gates", {})} for e in upto[-limit:]]


def _change(before: str | None, after: str, delta: float | None) -> str:
    b, a = RANK.get(str(before)), RANK.get(after)
    if b is not None and a is not None and a != b:
        return "improved" if a > b else "regressed"
    if delta:
        return "improved" if delta > 0 else "regressed"
    return "same"


def _summary(previous: str, improved: list[Any], regressed: list[Any], changed: list[Any]) -> str:
    if not (improved or regressed or changed):
        return f"No criterion changed since run {previous}."
    parts = [f"{len(improved)} improved", f"{len(regressed)} regressed"]
    if changed:
        parts.append(f"{len(changed)} changed otherwise")
    return f"Since run {previous}: " + ", ".join(parts) + "."


def _round(score: float | None) -> float | None:
    return None if score is None else round(score, 1)
