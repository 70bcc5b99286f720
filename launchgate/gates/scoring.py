"""Scoring: evidence in, verdicts out (Keptn quality gates, with Kayenta's no-data rule).

Per criterion: pass, warning, fail, inconclusive (too little evidence: never a pass) or waived (an active,
time-limited waiver; shown as waived, never as pass). Evidence counts only for the build it measured (the run's
build.json names the build being gated) and only while it is younger than the criterion's max_age: the rest is set
aside, and a criterion left with nothing says why. Per gate: fail when a key criterion fails,
inconclusive when a key criterion is inconclusive, otherwise Σ weight·{pass 1, warning ½, fail 0} / Σ weight
over the scored criteria, against the gate's pass and warning percentages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from launchgate.evidence import Evidence, RunBuild, now_iso
from launchgate.gates.aggregate import (
    FAILED,
    Aggregated,
    aggregate,
    finished_ts,
    matches,
    observed_seconds,
    record_id,
    samples_of,
    select,
)
from launchgate.gates.formatting import (
    fmt_duration,
    fmt_percent,
    fmt_score,
    fmt_target,
    fmt_threshold,
    fmt_value,
    plural,
)
from launchgate.gates.model import COUNT_AGGREGATES, Criterion, Gate, GatesConfig, Waiver
from launchgate.gates.verdicts import (
    SCORE_POINTS,
    CriterionVerdict,
    EvidenceRef,
    GateVerdict,
    ScoreResult,
    Verdict,
    exit_code,
)

MAX_NOTABLE_REFS = 100  # failures are all worth showing, up to a point
MAX_OTHER_REFS = 25
INVITED_NAME = "feedback.invited"  # measurement written at feedback import: how many testers were asked
_FACT_KEYS = ("subject", "subject_kind", "severity", "category", "tester", "rating", "comment", "date",
              "service", "probes", "window", "reason", "source", "block", "feature")


class UnknownGateError(ValueError):
    """A requested gate is not in gates.yaml."""


def score(
    config: GatesConfig,
    records: list[Evidence],
    *,
    gates: Iterable[str] | None = None,
    now: datetime | None = None,
    run: str = "",
    gates_file: str = "gates.yaml",
    build: RunBuild | None = None,
) -> ScoreResult:
    """`build`: the build being gated; when it is known, a record of another build (or of none) does not count."""
    requested = list(gates) if gates else list(config.gates)
    unknown = [g for g in requested if g not in config.gates]
    if unknown:
        raise UnknownGateError(f"unknown gate(s) {', '.join(unknown)}; gates.yaml has {', '.join(config.gates)}")
    moment = now or datetime.now(UTC)
    ids = {id(r): record_id(r) for r in records}
    gated = build.id if build is not None else None
    verdicts = [
        score_gate(gid, config.gates[gid], [score_criterion(c, gid, records, config, moment, ids, gated)
                                             for c in config.gates[gid].criteria])
        for gid in requested
    ]
    targets = Counter(r.target for r in records)
    return ScoreResult(
        run=run,
        target=targets.most_common(1)[0][0] if targets else "",
        generated=now_iso(),
        gates_file=gates_file,
        requested=requested,
        gates=verdicts,
        exit_code=exit_code([g.verdict for g in verdicts]),
        evidence_counts=dict(sorted(Counter(r.kind for r in records).items())),
        waivers=[_waiver_dict(w, moment) for w in config.waivers],
        build={"id": gated, "described": build.describe() if build is not None else "build not recorded by the run"},
    )


# -- criteria -------------------------------------------------------------------------------------------
def score_criterion(
    crit: Criterion,
    gate_id: str,
    records: list[Evidence],
    config: GatesConfig,
    now: datetime,
    ids: dict[int, str] | None = None,
    build: str | None = None,
) -> CriterionVerdict:
    records, set_aside = _admissible(crit, records, build, now)
    agg = _combine(crit, records)
    if crit.observe is not None:
        observed = select(crit.observe, records)
        samples = samples_of(observed, crit.observe.samples_field)
    else:
        observed, samples = agg.records, agg.samples
    duration = observed_seconds(observed, crit.max_gap)
    if crit.aggregate == "duration":
        agg.value, agg.summary = duration, f"observed for {fmt_duration(duration)}"
    measured, reason = _judge(crit, agg, samples, duration)
    feeder = _failed_feeder(crit, records) if measured == "inconclusive" else None
    if feeder is not None:
        # No verdict milder than its evidence: the count is short because the run that produces it failed.
        error = " ".join(str(feeder.details.get("error") or "").split())[:300]
        said = f"The scenario that produces this evidence failed: “{feeder.name}”: {error}."
        measured, reason = "fail", f"{said} {reason}"
    elif measured == "inconclusive":
        reason += _scenario_says(crit.id, records)
    if set_aside:
        reason += _set_aside_says(crit, set_aside, build, no_data=agg.value is None)
    verdict: Verdict = measured
    waiver, reason = _apply_waivers(crit, config.waivers_for(crit.id), now, measured, reason)
    if waiver is not None and waiver["active"]:
        verdict = "waived"
    unit = agg.unit
    result = CriterionVerdict(
        id=crit.id,
        gate=gate_id,
        wording=crit.wording,
        verdict=verdict,
        reason=reason,
        key=crit.key,
        weight=crit.weight,
        value=agg.value,
        unit=unit,
        value_text=fmt_value(agg.value, unit),
        threshold_text=fmt_threshold(crit.pass_, unit),
        warning_text=fmt_threshold(crit.warning, unit),
        samples=samples,
        min_samples=crit.min_samples,
        duration_s=duration,
        min_duration_s=crit.min_duration,
        measured_verdict=measured,
        summary=agg.summary,
        note=crit.note,
        waiver=waiver,
        extra=_extra(crit, agg, records),
    )
    result.evidence, result.evidence_total = _refs(agg, ids or {})
    for rec, why in set_aside[-MAX_OTHER_REFS:]:  # shown, with why they did not count
        result.evidence.append(replace(to_ref(rec, (ids or {}).get(id(rec)) or record_id(rec), full=False),
                                       set_aside=why))
    return result


def _admissible(crit: Criterion, records: list[Evidence], build: str | None,
                now: datetime) -> tuple[list[Evidence], list[tuple[Evidence, str]]]:
    """The records this criterion may count, and those of its own it sets aside with why: another build's (or an
    unknown one's, when the gated build is known), or older than its max_age."""
    oldest = now.timestamp() - crit.max_age if crit.max_age else None
    if build is None and oldest is None:
        return records, []
    kept: list[Evidence] = []
    set_aside: list[tuple[Evidence, str]] = []
    selectors = [*crit.source, *([crit.observe] if crit.observe is not None else [])]
    for rec in records:
        why = ("build" if build is not None and rec.build != build
               else "stale" if oldest is not None and finished_ts(rec) < oldest else "")
        if not why:
            kept.append(rec)
        elif any(matches(sel, rec) for sel in selectors):
            set_aside.append((rec, why))
    return kept, set_aside


def _set_aside_says(crit: Criterion, set_aside: list[tuple[Evidence, str]], build: str | None, no_data: bool) -> str:
    """What the criterion did not count, in words: evidence binds to its build and ages out."""
    said = []
    foreign = Counter(rec.build or "unknown" for rec, why in set_aside if why == "build")
    if foreign:
        builds = ", ".join(f"{b} ({n})" for b, n in foreign.most_common(3))
        said.append(f"{plural(sum(foreign.values()), 'record')} of it measured another build than {build}, the "
                    f"build gated here ({builds}): evidence counts only for the build it measured")
    stale = [rec for rec, why in set_aside if why == "stale"]
    if stale:
        newest = max(stale, key=finished_ts).finished
        said.append(f"{plural(len(stale), 'record')} of it are older than its max_age of "
                    f"{fmt_duration(crit.max_age)} (the newest finished {newest}): stale evidence does not count")
    lead = " Set aside" if no_data else " Not counted"
    return f"{lead}: {'; '.join(said)}."


def _failed_feeder(crit: Criterion, records: list[Evidence]) -> Evidence | None:
    """For a criterion measured from other evidence (chain records, measurements), a scenario tagged with it that
    failed: the scenario that should have produced that evidence."""
    if any(src.kind == "scenario" for src in crit.source):
        return None
    return next((r for r in records if r.kind == "scenario" and r.criterion == crit.id
                 and r.outcome in ("failed", "error")), None)


def _scenario_says(criterion_id: str, records: list[Evidence]) -> str:
    """Why the scenario of an inconclusive criterion had no data (a soak not named, a file missing): what to do
    next, beside what is missing. Empty when no scenario of it was inconclusive."""
    reasons = dict.fromkeys(str(r.details.get("reason", "")).removeprefix("inconclusive: ") for r in records
                            if r.kind == "scenario" and r.criterion == criterion_id and r.details.get("inconclusive"))
    return "".join(f" The scenario says: {text}" for text in reasons if text)


def _combine(crit: Criterion, records: list[Evidence]) -> Aggregated:
    parts = [aggregate(src, records) for src in crit.source]
    if len(parts) == 1:
        return parts[0]
    # Several counting sources: the counts add up (e.g. failed critical scenarios + critical incidents).
    return Aggregated(
        value=sum(p.value or 0.0 for p in parts),
        unit="count",
        samples=sum(p.samples for p in parts),
        records=[r for p in parts for r in p.records],
        summary="; ".join(p.summary for p in parts),
        notable=[r for p in parts for r in p.notable],
    )


def _classify(crit: Criterion, value: float) -> Verdict:
    if crit.pass_.holds(value):
        return "pass"
    if crit.warning is not None and crit.warning.holds(value):
        return "warning"
    return "fail"


def _judge(crit: Criterion, agg: Aggregated, samples: int, duration: float | None) -> tuple[Verdict, str]:
    """The verdict the evidence supports, and why, in plain words."""
    unit = agg.unit
    target = fmt_target(crit.pass_, unit)
    if agg.value is None:
        return "inconclusive", f"No evidence: {_no_data(crit, agg)}. It cannot pass without evidence."
    measured = _classify(crit, agg.value)
    shown = fmt_value(agg.value, unit)
    said = f"{agg.summary[:1].upper()}{agg.summary[1:]}" if agg.summary else f"Measured {shown}"
    # An upper bound on a count that only grows stays broken whatever evidence follows: decide now.
    final_breach = measured == "fail" and crit.aggregate in COUNT_AGGREGATES and crit.pass_.breach_is_final
    if final_breach:
        return "fail", f"{said}; target {target} not met, and more evidence cannot change that."
    if samples < crit.min_samples:
        return "inconclusive", (
            f"{said}. Only {plural(samples, 'sample')}; at least {crit.min_samples:,} are needed before "
            f"this can pass or fail{_so_far(measured)}."
        )
    if crit.min_duration and (duration or 0.0) < crit.min_duration:
        return "inconclusive", (
            f"{said}. Observed for {fmt_duration(duration)} continuously; {fmt_duration(crit.min_duration)} are "
            f"needed before this can pass{_so_far(measured)}."
        )
    if agg.skipped and measured != "fail":
        first = str(agg.skipped[0].details.get("reason") or "no reason given")
        return "inconclusive", (
            f"{said}. {plural(len(agg.skipped), 'scenario')} could not decide (e.g. “{first[:200]}”), "
            f"so this cannot pass yet."
        )
    if measured == "pass":
        return "pass", f"{said}; target {target} met."
    if measured == "warning":
        band = fmt_target(crit.warning, unit)
        return "warning", f"{said}; target {target} not met, but within the warning band ({band})."
    return "fail", f"{said}; target {target} not met."


def _so_far(measured: Verdict) -> str:
    return " (so far it would fail)" if measured == "fail" else ""


NO_DATA_SAYS = {"query-failed": "the query failed", "no-events": "the query returned no events",
                "no-traffic": "the harness sent no load or probes"}


def _no_data(crit: Criterion, agg: Aggregated) -> str:
    src = crit.source[0]
    typed = _typed_no_data(agg.records)
    if typed:
        return typed
    if agg.records and agg.skipped and len(agg.skipped) == len(agg.records):
        first = str(agg.skipped[0].details.get("reason") or "no reason given")
        return f"all {plural(len(agg.skipped), 'scenario')} could not run (e.g. “{first[:200]}”)"
    if agg.records:
        return agg.summary
    what = f"{src.kind} records"
    filters = [f"criterion {src.criterion}" if src.criterion else "", f"named {src.name}" if src.name else ""]
    filters += [f"tagged @{t}" for t in src.tags]
    filters += [f"{k} = {'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in src.where.items()]
    more = ", ".join(f for f in filters if f)
    said = f"no {what}{' (' + more + ')' if more else ''} in this run"
    # A measurement nobody took: not a query that failed, nor one that found nothing.
    return f"{NO_DATA_SAYS['no-traffic']}: {said}" if src.kind == "measurement" else said


def _typed_no_data(records: list[Evidence]) -> str:
    """The records' own account of why they hold no value (details.no_data), the most telling kind first."""
    typed = [d for d in (r.details.get("no_data") for r in records if r.value is None) if isinstance(d, dict)]
    for kind, says in NO_DATA_SAYS.items():
        found = [d for d in typed if d.get("kind") == kind]
        if found:
            detail = " ".join(str(found[0].get("detail") or "").split())[:300]
            times = f" ({len(found)} times)" if len(found) > 1 else ""
            return f"{says}{times}: {detail}" if detail else f"{says}{times}"
    return ""


def _apply_waivers(
    crit: Criterion, waivers: list[Waiver], now: datetime, measured: Verdict, reason: str
) -> tuple[dict[str, Any] | None, str]:
    if not waivers:
        return None, reason
    active = [w for w in waivers if w.active(now)]
    if active:
        w = max(active, key=lambda w: w.expires)
        text = (f"Waived by {w.approver} until {w.expires_text()}: {w.reason}. "
                f"The evidence alone says {measured}: {reason}")
        return _waiver_dict(w, now), text
    w = max(waivers, key=lambda w: w.expires)
    return _waiver_dict(w, now), f"{reason} (A waiver by {w.approver} expired on {w.expires_text()} and is ignored.)"


def _waiver_dict(w: Waiver, now: datetime) -> dict[str, Any]:
    return {"criterion": w.criterion, "approver": w.approver, "reason": w.reason,
            "expires": w.expires_text(), "active": w.active(now)}


def _extra(crit: Criterion, agg: Aggregated, records: list[Evidence]) -> dict[str, Any]:
    extra = dict(agg.extra)
    if crit.aggregate == "positive_share":
        # The response rate sits beside the positive share: 90% positive of 3 answers out of 40 invited is thin.
        src = crit.source[0]
        invited = [r for r in records if r.kind == "measurement" and r.name == INVITED_NAME
                   and r.criterion == src.criterion and r.value]
        if invited:
            count = int(max(invited, key=finished_ts).value or 0)
            extra["invited"] = count
            if count:
                rate = extra.get("responses", 0) / count
                extra["response_rate"] = rate
                answered = extra.get("responses", 0)
                extra["response_text"] = f"{answered:,} of {count:,} invited answered ({fmt_percent(rate)})"
    return extra


def _refs(agg: Aggregated, ids: dict[int, str]) -> tuple[list[EvidenceRef], int]:
    notable_ids = {id(r) for r in agg.notable}
    notable = agg.notable[:MAX_NOTABLE_REFS]
    others = [r for r in agg.records if id(r) not in notable_ids][-MAX_OTHER_REFS:]
    total = len({id(r) for r in agg.records} | notable_ids)
    return [to_ref(r, ids.get(id(r)) or record_id(r), full=id(r) in notable_ids) for r in notable + others], total


def to_ref(rec: Evidence, rid: str, full: bool) -> EvidenceRef:
    d = rec.details
    error = d.get("error") or (d.get("reason") if rec.outcome in (*FAILED, "skipped") else None)
    steps = d.get("steps") if full and isinstance(d.get("steps"), list) else []
    facts = {k: _short(d[k]) for k in _FACT_KEYS if k in d and isinstance(d[k], str | int | float | bool)}
    return EvidenceRef(
        id=rid,
        kind=rec.kind,
        name=rec.name,
        outcome=rec.outcome,
        criterion=rec.criterion,
        value=rec.value,
        unit=rec.unit,
        started=rec.started,
        finished=rec.finished,
        location=_str_or_none(d.get("location")),
        error=_short(error, 2000) if error else None,
        steps=[_step(s) for s in steps if isinstance(s, dict)],
        attachments=[str(a) for a in rec.attachments],
        tx_hash=_str_or_none(d.get("tx_hash") or d.get("tx")),
        explorer_url=_str_or_none(d.get("explorer_url")),
        facts=facts,
        build=rec.build,
    )


def _step(step: dict[str, Any]) -> dict[str, Any]:
    return {k: _short(step[k], 2000) for k in ("keyword", "name", "line", "status", "error") if k in step}


def _short(value: Any, limit: int = 300) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# -- gates ----------------------------------------------------------------------------------------------
def score_gate(gate_id: str, gate: Gate, criteria: list[CriterionVerdict]) -> GateVerdict:
    counts = dict(Counter(c.verdict for c in criteria))
    active = [c for c in criteria if c.verdict != "waived"]
    scored = [c for c in active if c.verdict in SCORE_POINTS]
    total_weight = sum(c.weight for c in scored)
    score_pct = (100 * sum(c.weight * SCORE_POINTS[c.verdict] for c in scored) / total_weight
                 if total_weight else None)
    base = dict(id=gate_id, title=gate.title, score=score_pct, pass_pct=gate.pass_, warning_pct=gate.warning,
                criteria=criteria, counts=counts)
    key_failed = [c for c in active if c.key and c.verdict == "fail"]
    if key_failed:
        names = ", ".join(c.id for c in key_failed)
        word = "criterion" if len(key_failed) == 1 else "criteria"
        return GateVerdict(verdict="fail", reason=f"Key {word} failed: {names}.",
                           detail=f"{key_failed[0].id}: {key_failed[0].reason}", **base)
    key_unknown = [c for c in active if c.key and c.verdict == "inconclusive"]
    if key_unknown:
        names = ", ".join(c.id for c in key_unknown)
        word = "criterion" if len(key_unknown) == 1 else "criteria"
        return GateVerdict(verdict="inconclusive", reason=f"Too little evidence for key {word} {names}.",
                           detail=f"{key_unknown[0].id}: {key_unknown[0].reason}", **base)
    if score_pct is None:
        return GateVerdict(verdict="inconclusive", reason="No criterion of this gate could be scored.", **base)
    left_out = len(active) - len(scored)
    tail = f" ({plural(left_out, 'criterion', 'criteria')} inconclusive, not scored)" if left_out else ""
    band = f"pass at {gate.pass_:g}%" + (f", warning at {gate.warning:g}%" if gate.warning is not None else "")
    shown = fmt_score(score_pct)
    if score_pct >= gate.pass_:
        return GateVerdict(verdict="pass", reason=f"Score {shown} ({band}){tail}.", **base)
    if gate.warning is not None and score_pct >= gate.warning:
        return GateVerdict(verdict="warning", reason=f"Score {shown} is in the warning band ({band}){tail}.", **base)
    return GateVerdict(verdict="fail", reason=f"Score {shown} is below the pass mark ({band}){tail}.", **base)
