"""Selecting evidence records for a criterion and aggregating them into one measured value.

Records are read, never changed. Values with unit "%" are read as ratios (0-1), so that thresholds
written as percentages compare right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from launchgate.evidence import Evidence
from launchgate.gates.formatting import fmt_percent, fmt_value, plural
from launchgate.gates.model import Selector, Source

FAILED = ("failed", "error")
_NOUN = {"scenario": "scenario", "measurement": "measurement", "chain": "chain record",
         "feedback": "answer", "incident": "incident"}


def record_id(record: Evidence) -> str:
    """A stable id for a record (records carry none): the same record gets the same id on every rebuild."""
    return hashlib.sha1(record.to_json().encode()).hexdigest()[:12]


def matches(sel: Selector, rec: Evidence) -> bool:
    if rec.kind != sel.kind:
        return False
    if sel.criterion is not None and rec.criterion != sel.criterion:
        return False
    if sel.name is not None and rec.name != sel.name and not fnmatchcase(rec.name, sel.name):
        return False
    if sel.outcome and rec.outcome not in sel.outcome:
        return False
    if sel.tags or sel.exclude_tags:
        tags = rec.details.get("tags") or []
        tags = set(tags) if isinstance(tags, list) else set()
        if not set(sel.tags) <= tags or tags & set(sel.exclude_tags):
            return False
    for key, wanted in sel.where.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if rec.details.get(key) not in allowed:
            return False
    return True


def select(sel: Selector, records: Iterable[Evidence]) -> list[Evidence]:
    return [r for r in records if matches(sel, r)]


def samples_of(records: list[Evidence], samples_field: str | None) -> int:
    if not samples_field:
        return len(records)
    total = 0
    for rec in records:
        raw = rec.details.get(samples_field)
        total += int(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0 else 0
    return total


def ratio_value(rec: Evidence) -> tuple[float | None, str | None]:
    if rec.value is None or isinstance(rec.value, bool):
        return None, rec.unit
    try:
        value = float(rec.value)
    except (TypeError, ValueError):
        return None, rec.unit
    if rec.unit == "%":
        return value / 100, "ratio"
    return value, rec.unit


@dataclass
class Aggregated:
    value: float | None
    unit: str | None
    samples: int
    records: list[Evidence]
    summary: str
    notable: list[Evidence] = field(default_factory=list)  # shown first: failures, negatives, incidents
    skipped: list[Evidence] = field(default_factory=list)  # ratio_passed: records that could not decide
    extra: dict[str, Any] = field(default_factory=dict)


def aggregate(src: Source, records: list[Evidence]) -> Aggregated:
    matched = select(src, records)
    noun = _NOUN[src.kind]
    agg = src.aggregate
    if agg == "ratio_passed":
        return _ratio_passed(src, matched, noun)
    if agg == "count":
        return Aggregated(float(len(matched)), "count", len(matched), matched, plural(len(matched), noun), matched)
    if agg == "count_failed":
        failed = [r for r in matched if r.outcome in FAILED]
        summary = f"{len(failed):,} of {plural(len(matched), noun)} failed"
        return Aggregated(float(len(failed)), "count", len(matched), matched, summary, failed)
    if agg == "count_distinct":
        return _count_distinct(src, matched)
    if agg == "positive_share":
        return _positive_share(matched)
    if agg == "duration":
        return Aggregated(None, "s", len(matched), matched, "")  # the scorer fills in the observed duration
    return _values(src, matched, noun)


def _ratio_passed(src: Source, matched: list[Evidence], noun: str) -> Aggregated:
    passed = [r for r in matched if r.outcome == "passed"]
    # A scenario whose setup the target broke (5xx, no answer) decides nothing about its criterion, like a
    # skipped one; where skips are ignored or count against (alpha.tests-passed), it is a test that did not pass.
    undecided = src.skipped == "inconclusive"
    skipped = [r for r in matched if r.outcome == "skipped" or (undecided and r.details.get("target_error"))]
    failed = [r for r in matched if r.outcome in FAILED and not (undecided and r.details.get("target_error"))]
    counted = len(passed) + len(failed) + (len(skipped) if src.skipped == "failed" else 0)
    value = len(passed) / counted if counted else None
    summary = f"{len(passed):,} of {plural(counted, noun)} passed"
    if value is not None:
        summary += f" ({fmt_percent(value)})"
    if skipped:
        what = "counted as not passed" if src.skipped == "failed" else "could not run"
        summary += f"; {len(skipped):,} {what}"
    notable = failed + skipped
    return Aggregated(value, "ratio", counted, matched, summary, notable,
                      skipped if src.skipped == "inconclusive" else [])


def _count_distinct(src: Source, matched: list[Evidence]) -> Aggregated:
    assert src.field is not None
    seen: dict[str, Evidence] = {}
    for rec in matched:
        key = rec.name if src.field == "name" else rec.details.get(src.field)
        if key is not None and str(key) not in seen:
            seen[str(key)] = rec
    kind = src.where.get("subject_kind")
    noun = kind if isinstance(kind, str) else src.field
    summary = f"{plural(len(seen), 'distinct ' + noun)} in {plural(len(matched), _NOUN[src.kind])}"
    return Aggregated(float(len(seen)), "count", len(matched), list(seen.values()), summary)


def _positive_share(matched: list[Evidence]) -> Aggregated:
    # One voice per tester: the latest answer counts (a re-import or a changed mind must not count twice).
    latest: dict[str, Evidence] = {}
    for rec in sorted(matched, key=lambda r: (str(r.details.get("date") or ""), finished_ts(r))):
        tester = str(rec.details.get("tester") or rec.name)
        latest[tester] = rec
    answers = list(latest.values())
    positive = [r for r in answers if _is_positive(r)]
    value = len(positive) / len(answers) if answers else None
    summary = f"{len(positive):,} of {plural(len(answers), 'tester')} positive"
    if value is not None:
        summary += f" ({fmt_percent(value)})"
    negative = [r for r in answers if not _is_positive(r)]
    return Aggregated(value, "ratio", len(answers), answers, summary, negative, extra={"responses": len(answers)})


def _is_positive(rec: Evidence) -> bool:
    flag = rec.details.get("positive")
    return flag if isinstance(flag, bool) else rec.outcome == "passed"


def _values(src: Source, matched: list[Evidence], noun: str) -> Aggregated:
    pairs = [(rec, *ratio_value(rec)) for rec in matched]
    valued = [(rec, v, u) for rec, v, u in pairs if v is not None]
    unit = valued[-1][2] if valued else None
    samples = samples_of([rec for rec, _, _ in valued], src.samples_field)
    notable = [rec for rec in matched if rec.outcome in FAILED]
    if not valued:
        return Aggregated(None, unit, 0, matched, f"no values in {plural(len(matched), noun)}", notable)
    values = [v for _, v, _ in valued]
    agg = src.aggregate
    if agg == "min":
        value = min(values)
    elif agg == "max":
        value = max(values)
    elif agg == "sum":
        value = sum(values)
    elif agg == "last":
        value = max(valued, key=lambda t: finished_ts(t[0]))[1]
    else:  # mean, weighted by samples when records stand for several (uptime probes)
        weights = [samples_of([rec], src.samples_field) if src.samples_field else 1 for rec, _, _ in valued]
        total = sum(weights)
        value = sum(v * w for v, w in zip(values, weights, strict=True)) / total if total else None
    shown = fmt_value(value, unit)
    basis = plural(samples, src.samples_field.rstrip("s")) if src.samples_field else plural(len(valued), noun)
    return Aggregated(value, unit, samples, matched, f"{agg} {shown} over {basis}", notable)


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finished_ts(rec: Evidence) -> float:
    moment = parse_time(rec.finished)
    return moment.timestamp() if moment else float("-inf")


def observed_seconds(records: list[Evidence], max_gap: float) -> float | None:
    """The longest continuous stretch the records cover, where pauses up to `max_gap` do not break it.

    "Stable for a continuous 72 hours" is not met by two 36-hour soaks a week apart.
    """
    spans = []
    for rec in records:
        start, end = parse_time(rec.started), parse_time(rec.finished)
        if start and end and end >= start:
            spans.append((start.timestamp(), end.timestamp()))
    if not spans:
        return None
    spans.sort()
    best = 0.0
    run_start, run_end = spans[0]
    for start, end in spans[1:]:
        if start - run_end > max_gap:
            best = max(best, run_end - run_start)
            run_start, run_end = start, end
        else:
            run_end = max(run_end, end)
    return max(best, run_end - run_start)
