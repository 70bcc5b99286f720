"""The typed model of gates.yaml: gates, criteria, evidence sources, thresholds and waivers.

Thresholds are written as text, `">= 95%"`, `"== 0"`, `"< 250"`: an operator and a number, where `%`
divides by 100 (ratios are fractions 0-1 everywhere). Durations are `"72h"`, `"30d"`, `"90m"`, `"45s"`, `"1w"`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

Aggregate = Literal[
    "ratio_passed", "count", "count_failed", "count_distinct", "positive_share",
    "min", "max", "last", "mean", "sum", "duration",
]
COUNT_AGGREGATES = frozenset({"count", "count_failed", "count_distinct"})
VALUE_AGGREGATES = frozenset({"min", "max", "last", "mean", "sum"})
EvidenceKind = Literal["scenario", "measurement", "chain", "feedback", "incident"]
OutcomeName = Literal["passed", "failed", "error", "skipped"]
Scalar = str | int | float | bool

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$"


class Threshold(BaseModel):
    """`op value`; `percent` only remembers how it was written, for display."""

    model_config = ConfigDict(frozen=True)
    op: str
    value: float
    percent: bool = False

    def holds(self, measured: float) -> bool:
        # Ratios are floats: 0.95 must meet ">= 95%" despite binary rounding.
        if self.op in ("==", "!="):
            equal = abs(measured - self.value) <= 1e-9 * max(1.0, abs(self.value))
            return equal if self.op == "==" else not equal
        return _OPS[self.op](round(measured, 12), round(self.value, 12))

    @property
    def breach_is_final(self) -> bool:
        """For counts that only grow, an upper bound once broken stays broken whatever evidence follows."""
        return self.op in ("==", "<=", "<")

    def text(self) -> str:
        symbol = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}.get(self.op, self.op)
        if self.percent:
            return f"{symbol} {self.value * 100:g}%"
        return f"{symbol} {self.value:g}"


def parse_threshold(raw: Any) -> Any:
    if isinstance(raw, Threshold | dict):
        return raw
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise ValueError(f"a threshold is text such as '>= 95%' or '== 0', found {raw!r}")
    match = _THRESHOLD.match(raw)
    if not match:
        raise ValueError(f"cannot read threshold {raw!r}: write an operator (>=, >, <=, <, ==, !=) and a number")
    op, number, pct = match.groups()
    value = float(number) / (100 if pct else 1)
    return {"op": op, "value": value, "percent": bool(pct)}


def parse_duration(raw: Any) -> Any:
    """Seconds from '72h', '30d', '90m', '1w' or a plain number of seconds."""
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if raw < 0:
            raise ValueError(f"a duration cannot be negative, found {raw}")
        return float(raw)
    match = _DURATION.match(str(raw))
    if not match:
        raise ValueError(f"cannot read duration {raw!r}: write a number and a unit, e.g. '72h', '30d', '15m'")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


ThresholdField = Annotated[Threshold, BeforeValidator(parse_threshold)]
Seconds = Annotated[float, BeforeValidator(parse_duration)]


class Selector(BaseModel):
    """Which evidence records a criterion reads. Every filter given must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: EvidenceKind
    criterion: str | None = None
    name: str | None = Field(None, description="exact name, or a glob such as 'uptime.*'")
    tags: list[str] = Field(default_factory=list, description="details.tags must hold every one")
    exclude_tags: list[str] = Field(default_factory=list)
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="details field equals (any of)")
    outcome: list[OutcomeName] = Field(default_factory=list)
    samples_field: str | None = Field(None, description="details field holding how many samples a record stands for")

    @field_validator("outcome", mode="before")
    @classmethod
    def _one_or_many(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw


class Source(Selector):
    aggregate: Aggregate
    field: str | None = Field(None, description="count_distinct: the details field to count (or 'name')")
    skipped: Literal["inconclusive", "ignore", "failed"] = Field(
        "inconclusive", description="ratio_passed: what a skipped record means"
    )

    @model_validator(mode="after")
    def _field_for_distinct(self) -> Source:
        if self.aggregate == "count_distinct" and not self.field:
            raise ValueError("count_distinct needs `field`: the details field whose distinct values are counted")
        return self


def parse_ratio(raw: Any) -> Any:
    """A fraction from 0.999 or '99.9%'."""
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            return float(raw.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"cannot read ratio {raw!r}: write a fraction (0.999) or a percentage ('99.9%')") from None
    return raw


Ratio = Annotated[float, BeforeValidator(parse_ratio), Field(ge=0, le=1)]


class StabilityWindows(BaseModel):
    """How a soak judges stability window by window (alpha.stability): read by launchgate/soak/, not the scorer.

    Windows last `window` (an hour); a run shorter than `min_windows` windows gets `min_windows` shorter
    ones, never shorter than `min_window`. Drift and leak are least-squares slopes over the run so far
    (after the first, warm-up window); a slope fails only when it is above its bound *and* the change it
    predicts over the observed span is above its floor, so that noise in a short run is not read as a trend.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    window: Seconds = 3600.0
    min_windows: int = Field(12, ge=1)
    min_window: Seconds = 10.0
    max_error_rate: Ratio
    max_p95_ms: float = Field(gt=0)
    max_latency_drift_ms_per_hour: float = Field(ge=0)
    latency_drift_floor_ms: float = Field(0.0, ge=0)
    max_memory_slope_mb_per_hour: float = Field(ge=0)
    memory_growth_floor_mb: float = Field(0.0, ge=0)
    max_restarts: int = Field(0, ge=0)
    min_uptime: Ratio
    abort_grace: Seconds = Field(300.0, description="abort-on-fail: how long a key breach must last")


class CanaryPlan(BaseModel):
    """How a canary release is tried (rollback.canary): the share of traffic it is given and the requests sent; how
    far the share it served may stray from that (percentage points either way), and how many percentage points its
    error rate may exceed the baseline's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    percent: float = Field(gt=0, lt=100)
    requests: int = Field(ge=10)
    share_tolerance: float = Field(ge=0, le=100)
    max_error_excess: float = Field(ge=0, le=100)


def _source_list(raw: Any) -> Any:
    return [raw] if isinstance(raw, dict) else raw


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: str = Field(pattern=ID_PATTERN)
    wording: str = Field(min_length=1)
    source: Annotated[list[Source], BeforeValidator(_source_list)] = Field(min_length=1)
    observe: Selector | None = Field(None, description="evidence that observation happened: samples and duration")
    pass_: ThresholdField = Field(alias="pass")
    warning: ThresholdField | None = None
    weight: float = Field(1.0, gt=0)
    key: bool = False
    min_samples: int = Field(1, ge=0)
    min_duration: Seconds | None = None
    max_gap: Seconds = Field(600.0, description="a longer pause breaks a continuous observation")
    max_age: Seconds | None = Field(None, description="evidence older than this is stale and does not count")
    note: str | None = Field(None, description="why this threshold")
    windows: StabilityWindows | None = Field(None, description="soak window bounds (alpha.stability)")
    canary: CanaryPlan | None = Field(None, description="how a canary release is tried (rollback.canary)")

    @model_validator(mode="after")
    def _sources_combine(self) -> Criterion:
        if len(self.source) > 1 and any(s.aggregate not in COUNT_AGGREGATES for s in self.source):
            raise ValueError("several sources can only be combined when each one counts (count, count_failed, ...)")
        return self

    @property
    def aggregate(self) -> str:
        return self.source[0].aggregate


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    title: str
    description: str | None = None
    pass_: float = Field(alias="pass", ge=0, le=100, description="score (percent) at or above which the gate passes")
    warning: float | None = Field(None, ge=0, le=100)
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands(self) -> Gate:
        if self.warning is not None and self.warning > self.pass_:
            raise ValueError(f"warning ({self.warning:g}) must not be above pass ({self.pass_:g})")
        return self


def parse_expiry(raw: Any) -> Any:
    """A date waives through the whole of that day (UTC); a datetime without a zone is UTC."""
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw) if "T" in raw or " " in raw.strip() else date.fromisoformat(raw)
        except ValueError as exc:
            raise ValueError(f"cannot read date {raw!r}: write YYYY-MM-DD ({exc})") from None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time.max, tzinfo=UTC)
    raise ValueError(f"an expiry is a date such as 2026-01-31, found {raw!r}")


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    criterion: str
    approver: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: Annotated[datetime, BeforeValidator(parse_expiry)]

    def active(self, now: datetime) -> bool:
        return now <= self.expires

    def expires_text(self) -> str:
        if self.expires.time() == time.max:
            return self.expires.date().isoformat()
        return self.expires.isoformat(timespec="minutes")


class GatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = 1
    gates: dict[str, Gate] = Field(min_length=1)
    waivers: list[Waiver] = Field(default_factory=list)

    def criterion(self, criterion_id: str) -> Criterion | None:
        for gate in self.gates.values():
            for crit in gate.criteria:
                if crit.id == criterion_id:
                    return crit
        return None

    def waivers_for(self, criterion_id: str) -> list[Waiver]:
        return [w for w in self.waivers if w.criterion == criterion_id]
