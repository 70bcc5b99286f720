"""The scenarios human testers sign off: those tagged @uat in features/*.feature, as Gherkin text.

Parsed with the official Gherkin parser (the one pytest-bdd uses), so the text a tester reads is the
specification the automated suite runs, Background and Examples included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gherkin.errors import CompositeParserException, ParserException
from gherkin.parser import Parser

UAT_TAG = "@uat"
GATE_TAGS = ("alpha", "beta", "launch", "preconditions")


class FeatureFileError(Exception):
    """A feature file that cannot be read or parsed; the message names the file."""


@dataclass(frozen=True)
class UatScenario:
    id: str  # stable across runs: feature file stem and scenario slug
    feature: str
    feature_description: str
    name: str
    location: str  # features/x.feature:12
    tags: tuple[str, ...]
    lines: tuple[str, ...] = field(default=())  # the Gherkin text a tester reads

    @property
    def criterion(self) -> str | None:
        return next((t.removeprefix("criterion.") for t in self.tags if t.startswith("criterion.")), None)

    @property
    def gate(self) -> str | None:
        return next((t for t in self.tags if t in GATE_TAGS), None)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _steps(steps: list[dict[str, Any]], indent: str) -> list[str]:
    out = []
    for step in steps:
        out.append(f"{indent}{step['keyword'].strip()} {step['text']}")
        table = step.get("dataTable")
        if table:
            out += _table(table["rows"], indent + "  ")
    return out


def _table(rows: list[dict[str, Any]], indent: str) -> list[str]:
    cells = [[c["value"] for c in row["cells"]] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))] if cells else []
    return [indent + "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells]


def parse_feature(path: Path, root: Path) -> list[UatScenario]:
    try:
        document = Parser().parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FeatureFileError(f"{path}: cannot read: {exc}") from exc
    except (ParserException, CompositeParserException) as exc:
        raise FeatureFileError(f"{path}: not valid Gherkin: {exc}") from exc
    feature = document.get("feature")
    if not feature:
        return []
    feature_tags = [t["name"] for t in feature.get("tags", [])]
    background: list[str] = []
    found: list[UatScenario] = []
    rel = path.relative_to(root.parent) if path.is_relative_to(root.parent) else path
    for child in feature.get("children", []):
        if "background" in child:
            background = ["Background:", *_steps(child["background"]["steps"], "  ")]
            continue
        scenario = child.get("scenario")
        if scenario is None:
            continue
        tags = [*feature_tags, *(t["name"] for t in scenario.get("tags", []))]
        if UAT_TAG not in tags:
            continue
        lines = [*background, f"{scenario['keyword']}: {scenario['name']}", *_steps(scenario["steps"], "  ")]
        for examples in scenario.get("examples", []):
            lines.append(f"  {examples['keyword']}:")
            lines += _table([examples["tableHeader"], *examples.get("tableBody", [])], "    ")
        found.append(UatScenario(
            id=f"{path.stem}-{slug(scenario['name'])}",
            feature=feature["name"],
            feature_description=" ".join(feature.get("description", "").split()),
            name=scenario["name"],
            location=f"{rel}:{scenario['location']['line']}",
            tags=tuple(sorted({t.removeprefix("@") for t in tags})),
            lines=tuple(lines),
        ))
    return found


def uat_scenarios(features_dir: Path) -> list[UatScenario]:
    if not features_dir.is_dir():
        raise FeatureFileError(f"{features_dir}: no such directory of feature files")
    scenarios: list[UatScenario] = []
    for path in sorted(features_dir.glob("*.feature")):
        scenarios += parse_feature(path, features_dir)
    return scenarios
