"""Form fields to API bodies. Each function checks what a person can get wrong and says how to fix it;
what only the API can judge comes back as its 422 `fields`, mapped onto the same form fields.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any

from reference371os.console.forms import FieldErrors, Form

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# ASCII addresses, as the conduit accepts them (the delivered headers must read back byte for byte).
EMAIL_RE = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
NAMED_ADDRESS = re.compile(r"^(?P<name>[^<>]*)<(?P<email>[^<>]+)>$")
PRIORITIES = ("low", "medium", "high", "urgent")
CURRENCIES = ("USD", "ETH", "SNT")
APPROVAL_MODES = ("auto", "manual")
PROPOSAL_TYPES = ("operational", "strategic", "financial", "governance", "technical")
VOTE_OPTIONS = ("for", "against", "abstain")
SOCIAL_PLATFORMS = {"x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon", "bluesky": "Bluesky"}
MAX_RECIPIENTS = 1000


def new_campaign_id() -> str:
    return f"cmp-{int(time.time() * 1000)}-{secrets.token_hex(3)}"


def _number(form: Form, name: str, errors: FieldErrors, label: str) -> float | None:
    raw = form.text(name).replace(",", "")
    if not raw:
        errors.add(name, f"Enter {label}, for example 250")
        return None
    try:
        value = float(raw)
    except ValueError:
        errors.add(name, f"Enter {label} as a number, for example 250")
        return None
    if not math.isfinite(value) or value < 0:
        errors.add(name, f"Enter {label} of 0 or more")
        return None
    return value


def _choice(form: Form, name: str, allowed: tuple[str, ...], errors: FieldErrors, message: str) -> str:
    value = form.text(name)
    if value not in allowed:
        errors.add(name, message)
    return value


def parse_recipients(text: str, errors: FieldErrors) -> list[dict[str, str]]:
    """One address a line, either `ada@example.org` or `Ada Lovelace <ada@example.org>`."""
    recipients: list[dict[str, str]] = []
    bad: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip().strip(",;")
        if not line:
            continue
        match = NAMED_ADDRESS.match(line)
        name, email = (match["name"].strip().strip('"'), match["email"].strip()) if match else ("", line)
        if len(email) > 254 or not EMAIL_RE.match(email):
            bad.append(f"line {number} ({line[:60]})")
            continue
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        recipients.append({"email": email, **({"name": name} if name else {})})
    if bad:
        errors.add("recipients", "Not an email address: " + "; ".join(bad[:5]) + (" …" if len(bad) > 5 else ""))
    elif not recipients:
        errors.add("recipients", "Enter at least one recipient, one email address a line")
    elif len(recipients) > MAX_RECIPIENTS:
        errors.add("recipients", f"The console sends to at most {MAX_RECIPIENTS} recipients; use the API for more")
    return recipients


def campaign_from_form(form: Form, templates: list[str]) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    name = form.text("name")
    if not name:
        errors.add("name", "Enter a campaign name")
    elif len(name) > 300:
        errors.add("name", "Keep the campaign name under 300 characters")
    description = form.text("description")
    if len(description) > 20_000:
        errors.add("description", "Keep the description under 20,000 characters")
    template = form.text("template")
    if template not in templates:
        errors.add("template", "Choose one of the templates")
    recipients = parse_recipients(form.get("recipients"), errors)
    budget = _number(form, "budget", errors, "a maximum cost")
    currency = _choice(form, "currency", CURRENCIES, errors, "Choose USD, ETH or SNT")
    priority = _choice(form, "priority", PRIORITIES, errors, "Choose a priority")
    mode = _choice(form, "approval_mode", APPROVAL_MODES, errors, "Choose who approves the campaign")
    body = {
        "campaignData": {
            "id": new_campaign_id(),
            "name": name,
            "description": description,
            "template": template,
            "recipients": recipients,
            "budget": {"maxCost": budget if budget is not None else 0, "currency": currency},
            "priority": priority,
        },
        "requiresDAOApproval": form.checked("requires_dao"),
        "approvalMode": mode,
    }
    return body, errors


# API field paths (from a 422) to the form field that holds them.
CAMPAIGN_FIELDS = {
    "campaignData.name": "name",
    "campaignData.description": "description",
    "campaignData.template": "template",
    "campaignData.recipients": "recipients",
    "campaignData.budget": "budget",
    "campaignData.priority": "priority",
    "approvalMode": "approval_mode",
    "requiresDAOApproval": "requires_dao",
}
PROPOSAL_FIELDS = {"title": "title", "description": "description", "type": "type"}


def map_api_fields(fields: list[dict[str, str]], mapping: dict[str, str], errors: FieldErrors) -> None:
    """Puts the API's field errors beside the form fields they concern; the rest go to the form as a whole."""
    for item in fields:
        path, message = str(item.get("field", "")), str(item.get("message", "invalid"))
        target = next((f for p, f in mapping.items() if path == p or path.startswith(p + ".")), "form")
        errors.add(target, message[:1].upper() + message[1:])


def proposal_from_form(form: Form, proposer: str) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    title = form.text("title")
    if not title:
        errors.add("title", "Enter a title")
    elif len(title) > 300:
        errors.add("title", "Keep the title under 300 characters")
    description = form.text("description")
    if not description:
        errors.add("description", "Describe what the DAO is asked to decide")
    type_ = _choice(form, "type", PROPOSAL_TYPES, errors, "Choose the kind of proposal")
    days = form.text("voting_days") or "3"
    if not days.isdigit() or not 1 <= int(days) <= 90:
        errors.add("voting_days", "Enter a voting period from 1 to 90 days")
        days = "3"
    body = {
        "title": title,
        "description": description,
        "type": type_,
        "proposer": proposer,
        "execution_details": {
            "phases": [{"name": "rollout", "description": description[:500]}],
            "dependencies": [],
            "success_criteria": [],
            "risk_mitigation": [],
            "resource_requirements": [],
        },
        "timeline": {"review_period_days": 0, "voting_period_days": int(days), "key_milestones": []},
        "stakeholders": ["community"],
    }
    return body, errors


def post_from_form(form: Form) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    content = form.text("content")
    if not content:
        errors.add("content", "Write the post")
    elif len(content) > 2000:
        errors.add("content", f"Keep the post under 2,000 characters (it has {len(content):,})")
    platforms = [p for p in form.all("platforms") if p in SOCIAL_PLATFORMS]
    if not platforms:
        errors.add("platforms", "Choose at least one platform")
    return {"content": content, "platforms": platforms}, errors


def feedback_from_form(form: Form) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    tester = form.text("tester")
    if not tester:
        errors.add("tester", "Enter your name")
    rating = form.text("rating")
    if rating not in ("1", "2", "3", "4", "5"):
        errors.add("rating", "Choose a rating from 1 to 5")
    comment = form.text("comment")
    if len(comment) > 5000:
        errors.add("comment", "Keep the comment under 5,000 characters")
    body: dict[str, Any] = {"tester": tester[:200], "rating": int(rating) if rating.isdigit() else None,
                            "comment": comment or None}
    scenario = form.text("scenario")
    if scenario:
        body["scenario"] = scenario[:200]
    return body, errors


def signup_from_form(form: Form) -> tuple[dict[str, Any], FieldErrors]:
    errors = FieldErrors()
    name = form.text("name")
    if not name:
        errors.add("name", "Enter your name")
    email = form.text("email")
    if not EMAIL_RE.match(email):
        errors.add("email", "Enter an email address like ada@example.org")
    password = form.get("password")
    if len(password) < 8:
        errors.add("password", "Choose a password of at least 8 characters")
    return {"name": name[:200], "email": email, "password": password[:256]}, errors
