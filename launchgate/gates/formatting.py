"""Plain-language numbers: how values, durations and thresholds read in verdicts and reports."""

from __future__ import annotations

import math

from launchgate.gates.model import Threshold


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "no time"
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 4 * 86400:  # "72 h" reads as the framework says it, not "3 d"
        hours, minutes = divmod(round(s / 60), 60)
        return f"{hours} h" + (f" {minutes} min" if minutes and hours < 10 else "")
    days, rest = divmod(s, 86400)
    hours = round(rest / 3600)
    return f"{days:.0f} d" + (f" {hours} h" if hours and days < 10 else "")


def fmt_percent(ratio: float) -> str:
    """Enough decimals to tell 99.9% from 99.95%, no more."""
    pct = ratio * 100
    if pct == round(pct):
        return f"{pct:.0f}%"
    if 99 <= pct < 100:
        return f"{pct:.3f}".rstrip("0").rstrip(".") + "%"
    return f"{pct:.1f}%"


def fmt_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) >= 1000 else f"{value:.4g}"


def fmt_value(value: float | None, unit: str | None) -> str:
    if value is None:
        return "no data"
    if unit == "ratio":
        return fmt_percent(value)
    if unit == "s":
        return fmt_duration(value)
    if unit in (None, "", "count"):
        return fmt_number(value)
    return f"{fmt_number(value)} {unit}"


def fmt_threshold(threshold: Threshold | None, unit: str | None) -> str:
    if threshold is None:
        return ""
    if unit == "s" and not threshold.percent:
        return f"{threshold.text().split()[0]} {fmt_duration(threshold.value)}"
    return threshold.text()


_WORDS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than", "==": "exactly", "!=": "not"}


def fmt_target(threshold: Threshold | None, unit: str | None) -> str:
    """'at least 95%', 'exactly 0', 'at least 72 h': the threshold in words, for reasons."""
    if threshold is None:
        return ""
    text = fmt_threshold(threshold, unit)
    return f"{_WORDS[threshold.op]} {text.split(' ', 1)[1]}"


def fmt_score(pct: float | None) -> str:
    """Truncated, not rounded: 89.96% must not read as the 90% it failed to reach."""
    if pct is None:
        return "no score"
    return f"{math.floor(pct * 10) / 10:g}%"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
