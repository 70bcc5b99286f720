"""Benchmark: a 30-day watch of 8 services at 1 Hz, scored and rendered.

Data as `launchgate watch` writes it: soak.sqlite with every probe (`up` of 8 services and of the whole system,
one row per second each: about 23 M samples), and the watch's evidence: an `uptime` record per hour, an
`observation.window` per 5-minute cycle, incidents from alerts and downtime, testers' feedback. The report is
built in a fresh process, as each watch cycle does, so its wall time and peak RSS are its own.
Prints figures, asserts nothing. Goals (issue: evidence over weeks): <= 10 s, <= 300 MB, index.html <= 5 MB.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_report import build_in_child, iso  # noqa: E402

from launchgate.evidence import Evidence, EvidenceWriter  # noqa: E402
from launchgate.soak.store import connect  # noqa: E402

DAYS = 30
SERVICES = ("gateway", "conduit", "governance", "platform", "postiz", "sink", "anvil", "postgres")
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=DAYS)


def probes(seconds: int) -> Iterator[tuple[str, str, float, float]]:
    """(metric, service, ts, value) in key order; a rare down probe, and one 10-minute outage of the conduit."""
    rng = random.Random(3)
    t0 = START.timestamp()
    outage = range(12 * 86400, 12 * 86400 + 600)
    for service in ("all", *SERVICES):
        for s in range(seconds):
            down = rng.random() < 0.0001 or (s in outage and service in ("all", "conduit"))
            yield "up", service, t0 + s, 0.0 if down else 1.0


def write_store(path: Path) -> int:
    connect(path).close()  # the store's own schema
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", probes(DAYS * 86400))
    conn.commit()
    (rows,) = conn.execute("SELECT COUNT(*) FROM samples").fetchone()
    conn.close()
    return int(rows)


def write_evidence(run: Path) -> int:
    watch = EvidenceWriter(run, "watch")
    count = 0

    def measurement(name: str, begin: datetime, end: datetime, **fields: object) -> None:
        nonlocal count
        watch.write(Evidence(run=run.name, kind="measurement", name=name, outcome="passed", started=iso(begin),
                             finished=iso(end), target="staging", details={"source": "watch"},
                             **fields))  # type: ignore[arg-type]
        count += 1

    for h in range(DAYS * 24):
        begin = START + timedelta(hours=h)
        down = 600 if h == 12 * 24 else 0
        measurement("uptime", begin, begin + timedelta(hours=1), criterion="beta.uptime",
                    value=(3600 - down) / 3600, unit="ratio")
    for c in range(DAYS * 288):
        begin = START + timedelta(minutes=5 * c)
        measurement("observation.window", begin, begin + timedelta(minutes=5), criterion="launch.no-incidents")
    outage = START + timedelta(days=12)
    watch.write(Evidence(run=run.name, kind="incident", name="downtime", outcome="failed",
                         criterion="launch.no-incidents", value=600.0, unit="s", started=iso(outage),
                         finished=iso(outage + timedelta(minutes=10)), target="staging",
                         details={"source": "watch", "kind": "disruption", "severity": "major", "counted": True}))
    feedback = EvidenceWriter(run, "feedback-watch")
    rng = random.Random(5)
    for i in range(300):
        when = iso(START + timedelta(hours=2 * i))
        positive = rng.random() < 0.85
        feedback.write(Evidence(run=run.name, kind="feedback", name=f"feedback from tester-{i}",
                                outcome="passed" if positive else "failed", criterion="launch.feedback-positive",
                                value=5.0 if positive else 2.0, started=when, finished=when, target="staging",
                                details={"tester": f"tester-{i}", "positive": positive, "date": when}))
    return count + 301


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lg-bench-watch-") as tmp:
        run = Path(tmp) / "reports" / "watch-staging-launch"
        run.mkdir(parents=True)
        t0 = time.perf_counter()
        rows = write_store(run / "soak.sqlite")
        records = write_evidence(run)
        print(f"setup: {rows:,} probe samples over {DAYS} days ({(run / 'soak.sqlite').stat().st_size / 2**20:.0f} "
              f"MB), {records:,} evidence records, {time.perf_counter() - t0:.1f} s")
        wall, inner, code, rss = build_in_child(run)
        print(f"build_report: wall {wall:.2f} s (in-process {inner:.2f} s incl. imports), exit code {code}")
        print(f"peak RSS of the report process: {rss:.0f} MB")
        for name in ("index.html", "verdict.json"):
            print(f"{name}: {(run / name).stat().st_size / 1024:.0f} KB")
        wall2, _, _, _ = build_in_child(run)
        print(f"rebuild (as each watch cycle does): wall {wall2:.2f} s")


if __name__ == "__main__":
    main()
