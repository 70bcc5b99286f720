"""Alertmanager's webhooks, received on 127.0.0.1 as `incident` evidence.

Alertmanager POSTs a JSON body (webhook version 4) with a list of alerts, each with labels (alertname, severity,
...), annotations (summary), startsAt, endsAt, status (firing or resolved) and a fingerprint. Each alert becomes
one incident record per (fingerprint, startsAt, status): firing once, resolved once, however often Alertmanager
repeats it. The framework's words decide what counts against the launch month (launch.no-incidents): a "major
disruption" (severity critical, major, high, page) or a "security incident" (an alert labelled category, kind
or type "security"). Other alerts are recorded beside the criterion, not counted.

A malformed body gets 400 and one log line, and changes nothing else.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from launchgate.evidence import Evidence, EvidenceWriter, iso
from launchgate.gates.aggregate import parse_time
from launchgate.watch.loopback import LoopbackServer

log = logging.getLogger("launchgate.watch")

MAJOR_SEVERITIES = frozenset({"critical", "major", "high", "page", "blocking"})
SECURITY_LABELS = ("category", "kind", "type")
MAX_BODY_BYTES = 1_000_000  # Alertmanager batches alerts; a megabyte is far beyond any real group


class AlertError(ValueError):
    """The body is not an Alertmanager webhook: what is wrong, and where."""


@dataclass(frozen=True)
class Alert:
    name: str
    status: str  # firing | resolved
    severity: str
    security: bool
    summary: str
    starts: str
    ends: str
    fingerprint: str
    labels: dict[str, str]

    @property
    def counts_for_launch(self) -> bool:
        return self.security or self.severity in MAJOR_SEVERITIES

    @property
    def kind(self) -> str:
        return "security" if self.security else "disruption"


def parse_webhook(raw: bytes) -> list[Alert]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise AlertError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise AlertError("no list of alerts under \"alerts\" (an Alertmanager webhook body has one)")
    return [_alert(i, a) for i, a in enumerate(body["alerts"])]


def _alert(index: int, raw: Any) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(raw, dict):
        raise AlertError(f"{where} is not an object")
    labels, annotations = raw.get("labels"), raw.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(labels.get("alertname"), str):
        raise AlertError(f"{where}.labels.alertname is missing")
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        raise AlertError(f"{where}.status must be firing or resolved, found {status!r}")
    starts = raw.get("startsAt")
    if not isinstance(starts, str) or parse_time(starts) is None:
        raise AlertError(f"{where}.startsAt is not a time: {starts!r}")
    clean = {str(k): str(v) for k, v in labels.items()}
    return Alert(
        name=clean["alertname"], status=status, severity=clean.get("severity", "").lower(),
        security=any(clean.get(label, "").lower() == "security" for label in SECURITY_LABELS),
        summary=str(annotations.get("summary") or annotations.get("description") or "")[:500] if isinstance(
            annotations, dict) else "",
        starts=starts, ends=str(raw.get("endsAt") or ""), fingerprint=str(raw.get("fingerprint") or ""),
        labels=clean)


def _iso(text: str) -> str:
    moment = parse_time(text)
    if moment is None or moment.year < 2000:  # Alertmanager's "0001-01-01T00:00:00Z": not ended
        return ""
    return iso(moment)


def to_evidence(alert: Alert, run: str, target: str) -> Evidence:
    started = _iso(alert.starts)
    ended = _iso(alert.ends) if alert.status == "resolved" else ""
    return Evidence(
        run=run, kind="incident", name=f"alert {alert.name}", outcome="failed",
        criterion="launch.no-incidents" if alert.counts_for_launch else None, gate="launch",
        started=started, finished=ended or started, target=target,
        details={"source": "alertmanager", "kind": alert.kind, "severity": alert.severity or "none",
                 "status": alert.status, "summary": alert.summary, "fingerprint": alert.fingerprint,
                 "counted": alert.counts_for_launch, "labels": alert.labels})


def alert_key(fingerprint: str, started: str, status: str) -> tuple[str, str, str]:
    return fingerprint, started, status


def seen_alerts(records: list[Evidence]) -> set[tuple[str, str, str]]:
    """The alerts a run has recorded already (a resumed watch must not record them twice)."""
    return {alert_key(str(r.details.get("fingerprint") or r.name.removeprefix("alert ")), r.started,
                      str(r.details.get("status")))
            for r in records if r.kind == "incident" and r.details.get("source") == "alertmanager"}


class AlertReceiver:
    """An HTTP server on 127.0.0.1 that turns each webhook's new alerts into incident records."""

    def __init__(self, writer: EvidenceWriter, target: str, port: int = 0,
                 seen: set[tuple[str, str, str]] | None = None) -> None:
        self.writer, self.target = writer, target
        self.seen = seen if seen is not None else set()
        self.received = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY_BYTES:
                    self._answer(400, f"a body of 1 to {MAX_BODY_BYTES} bytes is needed, found {length}")
                    return
                try:
                    alerts = parse_webhook(self.rfile.read(length))
                except AlertError as exc:
                    log.warning("webhook from %s refused: %s", self.client_address[0], exc)
                    self._answer(400, str(exc))
                    return
                self._answer(200, f"{receiver.record(alerts)} new")

            def _answer(self, status: int, text: str) -> None:
                raw = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: object) -> None:
                pass  # one line per refusal above; accepted webhooks leave evidence, not log noise

        self._http = LoopbackServer(Handler, port, "watch-alerts")

    @property
    def url(self) -> str:
        return f"{self._http.url}/alerts"

    def start(self) -> AlertReceiver:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def record(self, alerts: list[Alert]) -> int:
        new = 0
        with self._lock:
            for alert in alerts:
                key = alert_key(alert.fingerprint or alert.name, _iso(alert.starts), alert.status)
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.writer.write(to_evidence(alert, self.writer.run_id, self.target))
                new += 1
            self.received += new
        return new
