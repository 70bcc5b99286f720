"""The launch log: what operators record of the first month after a launch, read into evidence.

A YAML (or JSON) file the profile names ([files] launch_log):

    observed: {from: 2026-03-01T00:00:00Z, to: 2026-03-31T00:00:00Z}   # the span it covers
    incidents:                                                           # disruptions and security findings
      - {id: INC-7, kind: outage, severity: major, started: 2026-03-04T10:00:00Z, summary: mail queue stalled}
      - {id: SEC-2, kind: security, severity: low, started: 2026-03-09T08:00:00Z, summary: verbose error page}
    engagement:                                                          # one line per week
      - {week_ending: 2026-03-08, onboarded: 1000, weekly_active: 410}

launch.no-incidents counts major and critical disruptions and every security incident; minor disruptions are
recorded, not counted. launch.engagement is the latest week's active share of the users onboarded by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from launchgate.evidence import Evidence, EvidenceWriter, iso

KINDS = ("outage", "security")
SEVERITIES = ("minor", "low", "major", "high", "critical", "blocking")
MAJOR = ("major", "high", "critical", "blocking")


class LaunchLogError(Exception):
    """The launch log cannot be read; the message names the file and the entry."""


@dataclass
class LaunchLog:
    source: Path
    observed_from: datetime
    observed_to: datetime
    incidents: list[dict[str, Any]]
    weeks: list[dict[str, Any]]


def read_launch_log(path: Path) -> LaunchLog:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LaunchLogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LaunchLogError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise LaunchLogError(f"{path}: expected a mapping with observed, incidents and engagement")
    observed = data.get("observed")
    if not isinstance(observed, dict):
        raise LaunchLogError(f"{path}: observed: expected {{from: TIME, to: TIME}}")
    start = _time(observed.get("from"), f"{path}: observed.from")
    end = _time(observed.get("to"), f"{path}: observed.to")
    if end <= start:
        raise LaunchLogError(f"{path}: observed.to must come after observed.from")
    incidents = [_incident(item, f"{path}: incidents[{i}]") for i, item in enumerate(data.get("incidents") or [])]
    weeks = [_week(item, f"{path}: engagement[{i}]") for i, item in enumerate(data.get("engagement") or [])]
    return LaunchLog(path, start, end, incidents, sorted(weeks, key=lambda w: w["week_ending"]))


def _time(raw: Any, where: str) -> datetime:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        raw = datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise LaunchLogError(f"{where}: {raw!r} is not an ISO 8601 time") from None
    if not isinstance(raw, datetime):
        raise LaunchLogError(f"{where}: expected an ISO 8601 time, found {raw!r}")
    return raw if raw.tzinfo else raw.replace(tzinfo=UTC)


def _incident(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise LaunchLogError(f"{where}: expected a mapping")
    kind, severity = str(item.get("kind", "")).lower(), str(item.get("severity", "")).lower()
    if kind not in KINDS:
        raise LaunchLogError(f"{where}: kind must be one of {', '.join(KINDS)}, found {item.get('kind')!r}")
    if severity not in SEVERITIES:
        raise LaunchLogError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, "
                             f"found {item.get('severity')!r}")
    return {"id": str(item.get("id") or where.rsplit(": ", 1)[-1]), "kind": kind, "severity": severity,
            "started": _time(item.get("started"), f"{where}.started"), "summary": str(item.get("summary") or "")}


def _week(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise LaunchLogError(f"{where}: expected a mapping")
    numbers = {}
    for key in ("onboarded", "weekly_active"):
        value = item.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise LaunchLogError(f"{where}.{key}: expected a whole number of users, found {value!r}")
        numbers[key] = value
    if numbers["weekly_active"] > numbers["onboarded"]:
        raise LaunchLogError(f"{where}: weekly_active ({numbers['weekly_active']}) exceeds onboarded "
                             f"({numbers['onboarded']})")
    return {"week_ending": _time(item.get("week_ending"), f"{where}.week_ending"), **numbers}


def counts_for_launch(incident: dict[str, Any]) -> bool:
    """"No major service disruptions or security incidents": every security incident, major disruptions."""
    return incident["kind"] == "security" or incident["severity"] in MAJOR


def write_launch_evidence(log: LaunchLog, run_dir: Path, target: str) -> list[Evidence]:
    """The log's evidence, written into the run once however many scenarios read it."""
    writer = EvidenceWriter(run_dir, "launch-log")
    source = {"source": log.source.name}
    records = [Evidence(run=writer.run_id, kind="measurement", name="observation.window", outcome="passed",
                        criterion="launch.no-incidents", gate="launch", started=iso(log.observed_from),
                        finished=iso(log.observed_to), target=target, details=source)]
    for inc in log.incidents:
        records.append(Evidence(
            run=writer.run_id, kind="incident", name=f"{inc['kind']} {inc['id']}", outcome="failed",
            criterion="launch.no-incidents" if counts_for_launch(inc) else None, gate="launch",
            started=iso(inc["started"]), finished=iso(inc["started"]), target=target,
            details={**source, "id": inc["id"], "kind": inc["kind"], "severity": inc["severity"],
                     "summary": inc["summary"], "counted": counts_for_launch(inc)}))
    if log.weeks:
        last = log.weeks[-1]
        ratio = last["weekly_active"] / last["onboarded"] if last["onboarded"] else 0.0
        first = log.weeks[0]["week_ending"] - timedelta(days=7)
        records.append(Evidence(
            run=writer.run_id, kind="measurement", name="engagement.active-ratio", outcome="passed",
            criterion="launch.engagement", gate="launch", value=round(ratio, 6), unit="ratio",
            started=iso(first), finished=iso(last["week_ending"]), target=target,
            details={**source, "weeks": len(log.weeks), "weekly_active": last["weekly_active"],
                     "onboarded": last["onboarded"]}))
    if writer.claim():
        for record in records:
            writer.write(record)
    return records


