"""The C-suite agents: profiles from fixtures/agents/*.yml and the rules they judge by (no I/O after loading).

Every threshold comes from the `rules:` section of the agent's YAML file, so changing a rule is a data change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reference371os.paths import FIXTURES

AGENTS_DIR = FIXTURES / "agents"
REVIEWERS = ("ceo_mimi", "cfo_maya", "clo_sage")
COORDINATOR = "chief_of_staff"
PROFILE_KEYS = (
    "agent_name",
    "agent_type",
    "role",
    "core_instructions",
    "personality_traits",
    "required_tools",
    "escalation_criteria",
    "performance_targets",
    "rules",
)


class AgentConfigError(ValueError):
    """An agent file is missing or lacks a key the rules need."""


@dataclass(frozen=True)
class AgentProfile:
    name: str
    agent_type: str
    role: str
    status: str
    rules: dict[str, Any]
    profile: dict[str, Any]


def load_agents(directory: Path = AGENTS_DIR) -> dict[str, AgentProfile]:
    agents: dict[str, AgentProfile] = {}
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        missing = [k for k in PROFILE_KEYS if k not in data]
        if missing:
            raise AgentConfigError(f"{path.name}: missing {', '.join(missing)}")
        agents[data["agent_name"]] = AgentProfile(
            name=data["agent_name"],
            agent_type=data["agent_type"],
            role=data["role"],
            status=data.get("status", "active"),
            rules=data["rules"],
            profile=data,
        )
    absent = [n for n in (*REVIEWERS, COORDINATOR) if n not in agents]
    if absent:
        raise AgentConfigError(f"no agent file for {', '.join(absent)} in {directory}")
    return agents


@dataclass(frozen=True)
class CampaignFacts:
    """What the agents look at: the campaign after cognitive optimisation."""

    name: str
    description: str
    template: str
    subject: str
    body: str
    sender: str
    priority: str
    budget_max_cost: float
    budget_currency: str
    deliverable_recipients: int


@dataclass
class Verdict:
    agent: str
    agent_type: str
    role: str
    approved: bool
    reasons: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def _score(value: float) -> float:
    # Rounded so that 0.55 + 0.15 compares equal to 0.7.
    return round(value, 4)


def usd(agents: dict[str, AgentProfile], amount: float, currency: str) -> float:
    rates = agents["cfo_maya"].rules["usd_rates"]
    if currency not in rates:
        raise AgentConfigError(f"cfo_maya.yml has no USD rate for {currency}")
    return round(amount * float(rates[currency]), 6)


def unit_cost_usd(agents: dict[str, AgentProfile], priority: str) -> float:
    return float(agents["cfo_maya"].rules["unit_cost_usd"][priority])


def find_phrases(text: str, phrases: list[str]) -> list[str]:
    """Banned phrases present in `text`, matched case-insensitively as whole words."""
    found = []
    for phrase in phrases:
        if re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text, flags=re.IGNORECASE):
            found.append(phrase)
    return found


# ---- campaign reviews -------------------------------------------------------------------------------


def review_ceo(agent: AgentProfile, c: CampaignFacts) -> Verdict:
    r = agent.rules
    a, g = r["alignment"], r["growth"]
    alignment = float(a["base"])
    if len(c.description.strip()) >= int(a["min_description_chars"]):
        alignment += float(a["description_bonus"])
    if c.body.strip():
        alignment += float(a["template_bonus"])
    if len(c.name.strip()) >= int(a["min_name_chars"]):
        alignment += float(a["name_bonus"])
    reach = min(float(g["reach_bonus_cap"]), c.deliverable_recipients * float(g["reach_bonus_per_recipient"]))
    growth = float(g["priority_base"][c.priority]) + reach
    alignment, growth = _score(min(alignment, 1.0)), _score(min(growth, 1.0))
    v = Verdict(
        agent.name, agent.agent_type, agent.role, True, scores={"strategicAlignment": alignment, "growth": growth}
    )
    min_alignment, min_growth = float(r["min_strategic_alignment"]), float(r["min_growth"])
    if alignment < min_alignment:
        v.issues.append("strategic-alignment-low")
        v.reasons.append(
            f"strategic alignment {alignment:.2f} is below {min_alignment:.2f}"
            f" (a description of at least {a['min_description_chars']} characters raises it)"
        )
    if growth < min_growth:
        v.issues.append("growth-potential-insufficient")
        v.reasons.append(f"growth potential {growth:.2f} is below {min_growth:.2f} for priority {c.priority}")
    v.approved = not v.issues
    if v.approved:
        v.reasons.append(f"strategic alignment {alignment:.2f} and growth {growth:.2f} meet the thresholds")
    return v


def review_cfo(agent: AgentProfile, agents: dict[str, AgentProfile], c: CampaignFacts) -> Verdict:
    r = agent.rules
    budget = usd(agents, c.budget_max_cost, c.budget_currency)
    unit = unit_cost_usd(agents, c.priority)
    estimated = round(unit * c.deliverable_recipients, 6)
    per_recipient = round(budget / c.deliverable_recipients, 6) if c.deliverable_recipients else None
    v = Verdict(
        agent.name,
        agent.agent_type,
        agent.role,
        True,
        scores={"budgetUsd": budget, "estimatedCostUsd": estimated, "budgetPerRecipientUsd": per_recipient or 0.0},
    )
    max_budget, max_per = float(r["max_budget_usd"]), float(r["max_budget_per_recipient_usd"])
    if budget > max_budget:
        v.issues.append("budget-over-limit")
        v.reasons.append(f"budget {budget:.2f} USD exceeds the limit of {max_budget:.2f} USD")
    if per_recipient is None:
        v.issues.append("no-deliverable-recipients")
        v.reasons.append("no deliverable recipient remains, so no cost per recipient can be justified")
    elif per_recipient > max_per:
        v.issues.append("cost-per-recipient-too-high")
        v.reasons.append(f"budget per recipient {per_recipient:.2f} USD exceeds {max_per:.2f} USD")
    if estimated > budget:
        v.issues.append("budget-below-estimated-cost")
        v.reasons.append(f"estimated cost {estimated:.4f} USD exceeds the budget of {budget:.4f} USD")
    v.approved = not v.issues
    if v.approved:
        v.reasons.append(
            f"budget {budget:.2f} USD within {max_budget:.2f}; {per_recipient:.4f} USD per recipient"
            f" within {max_per:.2f}; estimated cost {estimated:.4f} USD"
        )
    return v


def _sender_issue(rules: dict[str, Any], sender: str) -> str | None:
    local = sender.split("@", 1)[0].lower()
    if local in {p.lower() for p in rules["blocked_sender_local_parts"]}:
        return f"sender {sender} cannot receive an unsubscribe request"
    return None


def _subject_issues(rules: dict[str, Any], subject: str) -> list[tuple[str, str]]:
    issues = []
    if len(subject.strip()) < int(rules["min_subject_chars"]):
        issues.append(("subject-too-short", f"subject is shorter than {rules['min_subject_chars']} characters"))
    if len(subject) > int(rules["max_subject_chars"]):
        issues.append(("subject-too-long", f"subject is longer than {rules['max_subject_chars']} characters"))
    if rules.get("forbid_encoded_word_syntax") and "=?" in subject:
        issues.append(("encoded-word-in-subject", "subject contains MIME encoded-word syntax '=?'"))
    return issues


def review_clo(agent: AgentProfile, c: CampaignFacts) -> Verdict:
    r = agent.rules
    v = Verdict(agent.name, agent.agent_type, agent.role, True)
    for where, text in (("name", c.name), ("subject", c.subject), ("template", c.body)):
        for phrase in find_phrases(text, r["banned_phrases"]):
            v.issues.append("banned-phrase")
            v.reasons.append(f"banned phrase {phrase!r} in the campaign {where}")
    sender_problem = _sender_issue(r, c.sender)
    if sender_problem:
        v.issues.append("sender-not-unsubscribable")
        v.reasons.append(sender_problem)
    for code, reason in _subject_issues(r, c.subject):
        v.issues.append(code)
        v.reasons.append(reason)
    v.approved = not v.issues
    v.scores = {"compliance": 1.0 if v.approved else 0.0}
    if v.approved:
        v.reasons.append("no banned phrase, sender accepts unsubscribe requests, subject compliant")
    return v


def review_campaign(agents: dict[str, AgentProfile], c: CampaignFacts) -> list[Verdict]:
    return [
        review_ceo(agents["ceo_mimi"], c),
        review_cfo(agents["cfo_maya"], agents, c),
        review_clo(agents["clo_sage"], c),
    ]


def approve_all(agents: dict[str, AgentProfile]) -> list[Verdict]:
    """The agent-rules-ignored fault: every reviewer approves without looking."""
    return [
        Verdict(a.name, a.agent_type, a.role, True, reasons=["approved without evaluating the rules"])
        for a in (agents[n] for n in REVIEWERS)
    ]


def send_window(agents: dict[str, AgentProfile], priority: str) -> str:
    return str(agents[COORDINATOR].rules["send_windows"][priority])


# ---- single-email validation ------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailFacts:
    subject: str
    content: str
    sender: str
    priority: str
    recipient_count: int
    estimated_cost: float | None


def _validation(agent: AgentProfile, approved: bool, comments: str, issues: list[str], at: str) -> dict[str, Any]:
    return {
        "approved": approved,
        "agentId": agent.name,
        "agentType": agent.agent_type,
        "validationTime": at,
        "comments": comments,
        "issues": issues,
    }


def validate_email(agents: dict[str, AgentProfile], e: EmailFacts, at: str, ignore_rules: bool) -> dict[str, Any]:
    """agentValidation of POST /api/email/send: the CLO always, the CFO and CEO when the email calls for them."""
    validations: list[dict[str, Any]] = []
    issues: list[str] = []
    recommendations: list[str] = []

    clo = agents["clo_sage"]
    clo_issues = [code for code, _ in _subject_issues(clo.rules, e.subject)]
    if find_phrases(e.subject, clo.rules["banned_phrases"]):
        clo_issues.append("potentially-spam-subject")
    if _sender_issue(clo.rules, e.sender):
        clo_issues.append("sender-not-unsubscribable")
    if ignore_rules:
        clo_issues = []
    validations.append(
        _validation(
            clo, not clo_issues, "Compliance verified" if not clo_issues else "Compliance issues found", clo_issues, at
        )
    )
    issues.extend(clo_issues)

    cfo = agents["cfo_maya"]
    single = cfo.rules["single_email"]
    cost = e.estimated_cost if e.estimated_cost is not None else unit_cost_usd(agents, e.priority) * e.recipient_count
    if e.recipient_count > int(single["review_above_recipients"]) or cost > float(single["review_above_cost_usd"]):
        per = cost / e.recipient_count
        ok = ignore_rules or per <= float(single["max_cost_per_recipient_usd"])
        cfo_issues = [] if ok else ["cost-inefficient"]
        validations.append(_validation(cfo, ok, f"Cost per recipient: ${per:.4f}", cfo_issues, at))
        recommendations.append(f"Cost per recipient: ${per:.4f}")
        issues.extend(cfo_issues)

    ceo = agents["ceo_mimi"]
    single = ceo.rules["single_email"]
    if e.priority in single["review_priorities"]:
        value = float(single["base"])
        if len(e.subject.strip()) >= int(single["min_subject_chars"]):
            value += float(single["subject_bonus"])
        if len(e.content.strip()) >= int(single["min_content_chars"]):
            value += float(single["content_bonus"])
        value = _score(min(value, 1.0))
        ok = ignore_rules or value >= float(single["min_strategic_value"])
        ceo_issues = [] if ok else ["strategic-value-low"]
        validations.append(_validation(ceo, ok, f"Strategic value: {value:.2f}", ceo_issues, at))
        recommendations.append(f"Strategic value: {value:.2f}")
        issues.extend(ceo_issues)

    score = _score(sum(1 for v in validations if v["approved"]) / len(validations))
    min_score = float(agents[COORDINATOR].rules["min_overall_score"])
    approved = all(v["approved"] for v in validations) and score >= min_score
    return {
        "approved": approved,
        "validations": validations,
        "issues": issues,
        "recommendations": recommendations,
        "overallScore": score,
    }
