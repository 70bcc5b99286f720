"""The gate run as Cucumber Messages (NDJSON, cucumber-messages), beside cucumber.json, for current Cucumber tooling:
each feature file's source, its Gherkin document and pickles (gherkin-official, as pytest-bdd parses them), then a
test case per scenario the run executed, with each step's status, duration and message.

Built from the run's own records: a scenario's evidence gives its start, end, outcome and each step's status and
error (an inconclusive step's reason is its message); pytest-bdd's cucumber.json gives each step's duration.
Steps carry no step definitions: which Python function ran a step is pytest-bdd's, not in the records.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cucumber_messages import Envelope, message_converter
from gherkin.stream.gherkin_events import GherkinEvents

from launchgate.evidence import Evidence
from launchgate.gates.aggregate import parse_time

MESSAGES_FILE = "cucumber-messages.ndjson"
PROTOCOL = version("cucumber-messages")
STATUS = {"passed": "PASSED", "failed": "FAILED", "error": "FAILED", "skipped": "SKIPPED"}


@dataclass(frozen=True)
class _Executed:
    record: Evidence
    uri: str
    line: int
    steps: list[dict[str, Any]]  # the evidence's steps: keyword, name, line, status, error


def write_messages(run_dir: Path, root: Path, records: list[Evidence]) -> Path | None:
    """Writes run_dir/cucumber-messages.ndjson; None when the run executed no scenario of a feature file under
    `root` (a run that only imported evidence)."""
    executed = [e for e in (_executed(r) for r in records if r.kind == "scenario") if e is not None]
    uris = sorted({e.uri for e in executed if (root / e.uri).is_file()})
    if not uris:
        return None
    durations = _step_durations(run_dir / "cucumber.json")
    envelopes = list(_envelopes(root, uris, executed, durations))
    out = run_dir / MESSAGES_FILE
    temporary = out.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as fh:
        for envelope in envelopes:
            # Through the official dataclasses: a message the schema does not know fails here, not in a reader.
            checked = message_converter.from_dict(envelope, Envelope)
            fh.write(json.dumps(message_converter.to_dict(checked), separators=(",", ":")) + "\n")
    temporary.replace(out)
    return out


def _executed(record: Evidence) -> _Executed | None:
    location = str(record.details.get("location") or "")
    uri, _, line = location.rpartition(":")
    steps = record.details.get("steps")
    if not uri or not line.isdigit() or not isinstance(steps, list):
        return None
    return _Executed(record, uri, int(line), [s for s in steps if isinstance(s, dict)])


def _step_durations(path: Path) -> dict[tuple[str, int, str], list[int]]:
    """Nanoseconds per step from pytest-bdd's cucumber.json, by (feature uri, scenario line, step text), in order."""
    try:
        features = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[tuple[str, int, str], list[int]] = {}
    for feature in features if isinstance(features, list) else []:
        for element in feature.get("elements") or []:
            for step in element.get("steps") or []:
                key = (str(feature.get("uri")), int(element.get("line") or 0), str(step.get("name")))
                found.setdefault(key, []).append(int((step.get("result") or {}).get("duration") or 0))
    return found


def _envelopes(root: Path, uris: list[str], executed: list[_Executed],
               durations: dict[tuple[str, int, str], list[int]]) -> Iterator[dict[str, Any]]:
    yield {"meta": _meta()}
    events = GherkinEvents(GherkinEvents.Options(print_source=True, print_ast=True, print_pickles=True))
    pickles: list[dict[str, Any]] = []
    lines: dict[str, int] = {}  # Gherkin AST node id -> its line, to find a scenario's pickles
    for uri in uris:
        source = {"uri": uri, "data": (root / uri).read_text(encoding="utf-8"),
                  "mediaType": "text/x.cucumber.gherkin+plain"}
        for event in events.enum({"source": source}):  # type: ignore[arg-type]
            if "gherkinDocument" in event:
                lines.update(_node_lines(event["gherkinDocument"]))
            if "pickle" in event:
                pickles.append(event["pickle"])  # type: ignore[arg-type]
            yield dict(event)
    records = [e.record for e in executed]
    started = min((_nanos(r.started) for r in records), default=_nanos(None))
    yield {"testRunStarted": {"id": "run", "timestamp": _stamp(started)}}
    used: set[str] = set()
    for number, run in enumerate(sorted(executed, key=lambda e: e.record.started)):
        pickle = _pickle_of(run, pickles, lines, used)
        if pickle is None:
            continue
        used.add(pickle["id"])
        yield from _test_case(number, run, pickle, durations)
    success = all(r.outcome in ("passed", "skipped") for r in records)
    finished = max((_nanos(r.finished) for r in records), default=_nanos(None))
    yield {"testRunFinished": {"success": success, "timestamp": _stamp(finished), "testRunStartedId": "run"}}


def _meta() -> dict[str, Any]:
    return {"protocolVersion": PROTOCOL,
            "implementation": {"name": "launchgate", "version": version("launchgate")},
            "runtime": {"name": "python", "version": platform.python_version()},
            "os": {"name": sys.platform, "version": platform.release()},
            "cpu": {"name": platform.machine() or "unknown"},
            **({"ci": {"name": "CI"}} if os.environ.get("CI") else {})}


def _node_lines(document: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("location"), dict):
                found[node["id"]] = int(node["location"].get("line") or 0)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def _pickle_of(run: _Executed, pickles: list[dict[str, Any]], lines: dict[str, int],
               used: set[str]) -> dict[str, Any] | None:
    """The pickle the scenario record ran: same file, same scenario line, and (an outline's rows differ only there)
    the steps the record names."""
    texts = [str(s.get("name")) for s in run.steps]
    candidates = [p for p in pickles if p["uri"] == run.uri and p["id"] not in used
                  and lines.get(p["astNodeIds"][0]) == run.line]
    for pickle in candidates:
        if [s["text"] for s in pickle["steps"]][:len(texts)] == texts:
            return pickle
    return candidates[0] if len(candidates) == 1 else None


def _test_case(number: int, run: _Executed, pickle: dict[str, Any],
               durations: dict[tuple[str, int, str], list[int]]) -> Iterator[dict[str, Any]]:
    case, started = f"tc{number}", f"tcs{number}"
    steps = [{"id": f"{case}-s{i}", "pickleStepId": s["id"], "stepDefinitionIds": [], "stepMatchArgumentsLists": []}
             for i, s in enumerate(pickle["steps"])]
    yield {"testCase": {"id": case, "pickleId": pickle["id"], "testSteps": steps, "testRunStartedId": "run"}}
    clock = _nanos(run.record.started)
    yield {"testCaseStarted": {"id": started, "testCaseId": case, "attempt": 0, "timestamp": _stamp(clock)}}
    said = str(run.record.details.get("reason") or run.record.details.get("error") or "")
    ended_early = run.record.outcome != "passed" and len(run.steps) < len(steps)
    for i, step in enumerate(steps):
        ran = run.steps[i] if i < len(run.steps) else None
        if ran is not None:
            status, message = STATUS.get(str(ran.get("status")), "UNKNOWN"), str(ran.get("error") or "")
            if not message and status != "PASSED":
                message = said
        elif ended_early and i == len(run.steps):  # the step that stopped the scenario: failed, or inconclusive
            status, message = STATUS.get(run.record.outcome, "UNKNOWN"), said
        else:
            status, message = "SKIPPED", ""
        spent = _duration_of(run, ran, durations) if ran else 0
        yield {"testStepStarted": {"testCaseStartedId": started, "testStepId": step["id"], "timestamp": _stamp(clock)}}
        clock += spent
        result: dict[str, Any] = {"status": status, "duration": {"seconds": spent // 10**9, "nanos": spent % 10**9}}
        if message:
            result["message"] = message
        yield {"testStepFinished": {"testCaseStartedId": started, "testStepId": step["id"],
                                    "testStepResult": result, "timestamp": _stamp(clock)}}
    ended = max(clock, _nanos(run.record.finished))
    yield {"testCaseFinished": {"testCaseStartedId": started, "timestamp": _stamp(ended), "willBeRetried": False}}


def _duration_of(run: _Executed, step: dict[str, Any], durations: dict[tuple[str, int, str], list[int]]) -> int:
    spent = durations.get((run.uri, run.line, str(step.get("name")))) or [0]
    return spent.pop(0) if len(spent) > 1 else spent[0]


def _nanos(text: str | None) -> int:
    moment = parse_time(text or "") or datetime.now(UTC)
    return int(moment.timestamp() * 10**9)


def _stamp(nanos: int) -> dict[str, int]:
    return {"seconds": nanos // 10**9, "nanos": nanos % 10**9}
