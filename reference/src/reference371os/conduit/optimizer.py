"""Cognitive optimisation of campaigns and single emails: deterministic heuristics, same input → same output.

Each step is recorded as {kind, description, applied, impact}; `applied` says whether it changed the message.
Nothing here changes what a message means, and a valid single email stays valid (unlike 371OS today).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference371os.conduit.agents import COORDINATOR, AgentProfile, send_window, unit_cost_usd, usd
from reference371os.conduit.mail import canonical_subject
from reference371os.conduit.schemas import is_valid_email


@dataclass(frozen=True)
class OptimizedCampaign:
    recipients: list[dict[str, Any]]
    subject: str
    body: str
    optimizations: list[dict[str, Any]]
    cost_estimate: dict[str, Any]


def _step(kind: str, description: str, applied: bool, impact: str, **details: Any) -> dict[str, Any]:
    step = {"kind": kind, "description": description, "applied": applied, "impact": impact}
    if details:
        step["details"] = details
    return step


def shorten_subject(subject: str, limit: int) -> str:
    """Cuts at the last word boundary that fits, so no word is split."""
    if len(subject) <= limit:
        return subject
    cut = subject[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut if cut else subject[:limit]


def optimize_campaign(
    agents: dict[str, AgentProfile],
    *,
    recipients: list[dict[str, Any]],
    subject: str,
    body: str,
    sender: str,
    priority: str,
    budget_max_cost: float,
    budget_currency: str,
) -> OptimizedCampaign:
    rules = agents[COORDINATOR].rules
    steps: list[dict[str, Any]] = []

    # 1. Duplicates, case-insensitively; the first occurrence wins.
    seen: set[str] = set()
    unique, duplicates = [], []
    for r in recipients:
        key = r["email"].strip().lower()
        if key in seen:
            duplicates.append(r["email"])
            continue
        seen.add(key)
        unique.append({**r, "email": r["email"].strip()})
    steps.append(
        _step(
            "dedupe-recipients",
            "Removed recipients listed more than once (addresses compared case-insensitively)",
            bool(duplicates),
            f"-{len(duplicates)} recipients",
            removed=duplicates,
        )
    )

    # 2. Addresses that cannot be delivered to.
    valid = [r for r in unique if is_valid_email(r["email"])]
    invalid = [r["email"] for r in unique if not is_valid_email(r["email"])]
    steps.append(
        _step(
            "drop-invalid-addresses",
            "Dropped syntactically invalid email addresses",
            bool(invalid),
            f"-{len(invalid)} recipients",
            removed=invalid,
        )
    )

    # 3. Subject length: whitespace normalised, long subjects shortened at a word boundary.
    clean = canonical_subject(subject)
    limit, hint = int(rules["max_subject_chars"]), int(rules["short_subject_hint_chars"])
    shortened = shorten_subject(clean, limit)
    if shortened != subject:
        steps.append(
            _step(
                "subject-length",
                f"Normalised whitespace and kept the subject within {limit} characters",
                True,
                f"{len(subject)} -> {len(shortened)} characters",
            )
        )
    elif len(clean) < hint:
        steps.append(
            _step(
                "subject-length",
                f"Subject is shorter than {hint} characters; a more descriptive subject usually reads better",
                False,
                "suggestion only",
            )
        )
    else:
        steps.append(_step("subject-length", f"Subject length {len(clean)} is within {hint}-{limit}", False, "none"))

    # 4. An unsubscribe line, unless the template already has one.
    final_body = body
    has_footer = "unsubscribe" in body.lower()
    if not has_footer:
        footer = str(rules["unsubscribe_footer"]).format(sender=sender)
        final_body = f"{body.rstrip()}\n\n--\n{footer}\n"
    steps.append(
        _step(
            "unsubscribe-footer",
            "Appended an unsubscribe line" if not has_footer else "Template already offers an unsubscribe",
            not has_footer,
            "+1 line" if not has_footer else "none",
        )
    )

    # 5. Send window by priority (advice: delivery starts once approved, or at scheduledAt).
    window = send_window(agents, priority)
    steps.append(_step("send-window", f"Suggested send window for {priority} priority: {window}", False, window))

    # 6. Cost estimate, in USD.
    unit = unit_cost_usd(agents, priority)
    estimated = round(unit * len(valid), 6)
    budget = usd(agents, budget_max_cost, budget_currency)
    cost = {
        "unitCostUsd": unit,
        "recipients": len(valid),
        "estimatedCostUsd": estimated,
        "budgetUsd": budget,
        "budgetPerRecipientUsd": round(budget / len(valid), 6) if valid else None,
        "projectedSavingsUsd": round(max(budget - estimated, 0.0), 6),
    }
    steps.append(
        _step(
            "cost-estimate",
            f"Estimated delivery cost at {unit} USD per recipient",
            False,
            f"{estimated:.4f} USD for {len(valid)} recipients",
        )
    )
    return OptimizedCampaign(valid, shortened, final_body, steps, cost)


def optimize_email(agents: dict[str, AgentProfile], subject: str, priority: str) -> tuple[str, list[dict[str, Any]]]:
    """Whitespace normalisation and advice only: the subject keeps every word, so a valid email stays valid."""
    clean = canonical_subject(subject)
    steps = [
        _step(
            "subject-whitespace",
            "Normalised whitespace in the subject",
            clean != subject,
            f"{len(subject)} -> {len(clean)} characters" if clean != subject else "none",
        ),
        _step("send-window", f"Suggested send window for {priority} priority", False, send_window(agents, priority)),
    ]
    hint = int(agents[COORDINATOR].rules["short_subject_hint_chars"])
    if len(clean) < hint:
        steps.append(_step("subject-length", f"Subject is shorter than {hint} characters", False, "suggestion only"))
    return clean, steps
