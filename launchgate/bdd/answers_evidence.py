"""Evidence from every answer a gate-suite process received (launchgate/drivers/answers.py), written when its
target session ends: the leak scan, for security.secrets, and the run's own request error rate."""

from __future__ import annotations

from collections import Counter

from launchgate.drivers.answers import AnswerJournal
from launchgate.evidence import Evidence, EvidenceWriter

LEAK_SCAN = "No answer the target gave in this run reveals a secret"


def record_answers(journal: AnswerJournal, writer: EvidenceWriter, target: str, worker: str, started: str) -> None:
    if journal.answers == 0:
        return  # nothing answered (a session that could not start): no evidence either way
    leaks = journal.leaks()
    scanned = {
        "answers": journal.answers,
        "scanned_bytes": journal.scanned_bytes,
        "unscanned_bytes": journal.unscanned_bytes,
        "scan_cpu_s": round(journal.scan_seconds, 2),
        "known_secrets": len(journal.known),
    }
    details: dict[str, object] = {
        "feature": "Access control and secrets",
        "scenario": LEAK_SCAN,
        "tags": ["preconditions", "criterion.security.secrets"],
        "worker": worker,
        **scanned,
        "leaks": [f"{leak.kind} in the {leak.where} of {leak.route}: {leak.masked}" for leak in leaks],
    }
    if leaks:
        details["error"] = (f"{len(leaks)} secret-shaped value(s) in the target's answers, e.g. {details['leaks'][0]}"
                            " (values masked)")
    writer.write(Evidence(
        run=writer.run_id, kind="scenario", name=LEAK_SCAN, outcome="failed" if leaks else "passed",
        criterion="security.secrets", gate="preconditions", value=float(len(leaks)), unit="count",
        started=started, target=target, details=details,
    ))
    errors = journal.error_answers()
    requests = sum(journal.statuses.values())
    per_route: Counter[str] = Counter()
    for (route, _status), n in journal.statuses.items():
        per_route[route] += n
    writer.write(Evidence(
        run=writer.run_id, kind="measurement", name="run.request-errors", outcome="passed",
        value=round(sum(errors.values()) / requests, 4) if requests else None, unit="ratio",
        started=started, target=target,
        details={"worker": worker, "requests": requests, "errors": sum(errors.values()),
                 "by_route": dict(errors.most_common(10)),
                 # where the target spent the run's time: what an operator reads first when a run slows down
                 "slowest_routes": {route: {"requests": per_route[route], "seconds": round(seconds, 2)}
                                    for route, seconds in journal.seconds.most_common(10)}},
    ))
