"""index.html: one self-contained file (inline CSS and SVG, no script, no external URL), from verdict.json.

Everything that came from the target is escaped by Jinja's autoescape; links are only emitted for http(s)
explorer URLs and for relative paths inside the run directory, so evidence cannot smuggle a `javascript:` URL.
A Content-Security-Policy that allows no script at all backs this up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from launchgate.gates.formatting import fmt_duration, fmt_score
from launchgate.report.charts import Chart, Series, render
from launchgate.report.series import SoakSeries

TEMPLATES = Path(__file__).parent / "templates"
VERDICT_WORDS = {"pass": "PASSED", "warning": "PASSED WITH WARNINGS", "fail": "FAILED",
                 "inconclusive": "INCONCLUSIVE", "waived": "WAIVED"}
SHORT_WORDS = {"pass": "pass", "warning": "warning", "fail": "fail", "inconclusive": "inconclusive",
               "waived": "waived"}
EXIT_MEANING = {0: "every requested gate passed", 1: "a gate failed", 2: "configuration error",
                3: "a gate is inconclusive (too little evidence)"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


def external_href(url: Any) -> str | None:
    """Only plain http(s) URLs become links; anything else is shown as text."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def attachment_link(path: Any, run_dir: Path) -> dict[str, Any] | None:
    """A relative link to an attachment inside the run directory, or None when the path points elsewhere."""
    if not isinstance(path, str) or not path or any(ord(ch) < 32 for ch in path):
        return None
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(run_dir.resolve())
        except (ValueError, OSError):
            return None
    rel = PurePosixPath(candidate.as_posix())
    if ".." in rel.parts or urlsplit(str(rel)).scheme:
        return None
    kind = "screenshot" if rel.suffix.lower() in IMAGE_SUFFIXES else {
        ".zip": "trace", ".csv": "CSV", ".html": "page", ".log": "log", ".json": "JSON", ".har": "HAR",
    }.get(rel.suffix.lower(), "file")
    return {"href": quote(str(rel)), "label": rel.name, "path": str(rel), "kind": kind,
            "exists": (run_dir / rel).exists()}


def when(iso: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def trend_chart(trend: list[dict[str, Any]], gates: list[dict[str, Any]]) -> Markup | None:
    if len(trend) < 2:
        return None
    series = []
    for gate in gates:
        points = [(float(i), float(run["gates"][gate["id"]]["score"])) for i, run in enumerate(trend)
                  if run["gates"].get(gate["id"], {}).get("score") is not None]
        if points:
            series.append(Series(gate["title"], points))
    step = max(1, len(trend) // 8)
    ticks = [(float(i), _short_run(run["run"])) for i, run in enumerate(trend) if i % step == 0 or i == len(trend) - 1]
    marks = sorted({g["pass_pct"] for g in gates})
    chart = Chart(title="Gate scores over runs", unit="%", series=series, y_min=0, y_max=100, x_ticks=ticks,
                  guides=[(m, f"pass {m:g}%") for m in marks])
    return render(chart)


def _short_run(run: str) -> str:
    return run if len(run) <= 18 else run[:17] + "…"


def environment(run_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        external_href=external_href,
        attachment=lambda p: attachment_link(p, run_dir),
        when=when,
        duration=fmt_duration,
        score=fmt_score,
        pct=lambda n: f"{n:g}%",
        verdict_word=lambda v: VERDICT_WORDS.get(v, str(v).upper()),
        short_word=lambda v: SHORT_WORDS.get(v, str(v)),
    )
    return env


def render_html(verdict: dict[str, Any], run_dir: Path, soak: SoakSeries) -> str:
    template = environment(run_dir).get_template("index.html.j2")
    charts = [(chart, render(chart)) for chart in soak.charts]
    return template.render(
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),  # ours; read as-is, not as a template
        v=verdict,
        charts=charts,
        soak=soak,
        trend_svg=trend_chart(verdict.get("trend") or [], verdict["gates"]),
        exit_meaning=EXIT_MEANING.get(verdict["exit_code"], ""),
    )
