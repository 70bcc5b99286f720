"""Benchmark: score and render a synthetic run with 72 h of soak evidence and 500 scenarios.

Soak data: 1 Hz probes of 8 services (`up`, `latency_ms`) and 5-second stats (`rss_bytes` per service; Locust's
`rps`, `p50_ms`, `p95_ms`, `error_rate` as service "load") in soak.sqlite, the table launchgate/report/series.py
documents; plus the window and uptime measurement records a soak writes. The report is built in a fresh
process, as `launchgate report` would, so its wall time and peak RSS are its own.
Prints figures, asserts nothing. Goals: < 10 s, < 300 MB, index.html < 5 MB.
"""

from __future__ import annotations

import math
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.evidence import Evidence, EvidenceWriter  # noqa: E402

HOURS = 72
SERVICES = ("gateway", "conduit", "governance", "platform", "postiz", "sink", "anvil", "postgres")
SCENARIOS = 500
START = datetime(2025, 11, 1, tzinfo=UTC)
CRITERIA = ("env.separation", "security.access-control", "data.persistence", "core.campaign-creation",
            "core.agent-approvals", "core.dao-lifecycle", "core.social-posting", "core.campaign-delivery",
            "core.e2e-data-flow", "chain.verification", "beta.analytics", "monitoring.health")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def soak_rows(seconds: int) -> Iterator[tuple[str, str, float, float]]:
    """(metric, service, ts, value) in key order, which is how the table stores them."""
    rng = random.Random(7)
    t0 = START.timestamp()
    for i, service in enumerate(SERVICES):
        for s in range(seconds):
            yield "latency_ms", service, t0 + s, 8 + i + 3 * math.sin(s / 3600) + rng.expovariate(0.5)
        for s in range(0, seconds, 5):
            yield "rss_bytes", service, t0 + s, (80 + 10 * i) * 2**20 + s * 4
        for s in range(seconds):
            yield "up", service, t0 + s, 0.0 if rng.random() < 0.0003 else 1.0
    load = {"error_rate": lambda s: max(0.0, rng.gauss(0.002, 0.001)), "p50_ms": lambda s: 22 + rng.gauss(0, 2),
            "p95_ms": lambda s: 60 + rng.gauss(0, 8), "rps": lambda s: 120 + 20 * math.sin(s / 7200) + rng.gauss(0, 4)}
    for metric, make in load.items():
        for s in range(0, seconds, 5):
            yield metric, "load", t0 + s, make(s)


def write_soak_db(path: Path, indexed: bool = True) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    if indexed:  # the schema launchgate/report/series.py recommends to the soak
        conn.execute("CREATE TABLE samples (metric TEXT NOT NULL, service TEXT NOT NULL, ts REAL NOT NULL, "
                     "value REAL NOT NULL, PRIMARY KEY (metric, service, ts)) WITHOUT ROWID")
    else:
        conn.execute("CREATE TABLE samples (ts REAL NOT NULL, service TEXT NOT NULL, metric TEXT NOT NULL, "
                     "value REAL NOT NULL)")
    conn.executemany("INSERT INTO samples (metric, service, ts, value) VALUES (?, ?, ?, ?)", soak_rows(HOURS * 3600))
    conn.commit()
    (rows,) = conn.execute("SELECT COUNT(*) FROM samples").fetchone()
    conn.close()
    return int(rows)


def write_evidence(run: Path) -> int:
    rng = random.Random(11)
    count = 0
    scen = EvidenceWriter(run, "scenarios-main")
    for i in range(SCENARIOS):
        crit = CRITERIA[i % len(CRITERIA)]
        failed = i % 97 == 5
        steps = [{"keyword": k, "name": f"step {j} of scenario {i}", "line": 10 + j, "status": "passed"}
                 for j, k in enumerate(("Given", "When", "Then", "And"))]
        details = {"feature": f"feature {crit}", "scenario": f"scenario {i}", "location": f"features/x.feature:{i}",
                   "tags": ["alpha", f"criterion.{crit}", *(["critical"] if i % 25 == 0 else [])],
                   "critical": i % 25 == 0, "steps": steps, "nodeid": f"features/test_x.py::test_{i}"}
        if failed:
            steps[-1].update(status="failed", error="AssertionError: expected 3 delivered emails, found 2")
            details["error"] = "AssertionError: expected 3 delivered emails, found 2"
        when = START + timedelta(seconds=i)
        scen.write(Evidence(run=run.name, kind="scenario", name=f"scenario {i}", outcome="failed" if failed
                            else "passed", criterion=crit, gate="alpha", value=rng.random(), unit="s",
                            started=iso(when), finished=iso(when + timedelta(seconds=1)), details=details,
                            attachments=[f"artifacts/shot-{i}.png"] if failed else []))
        count += 1
    soak = EvidenceWriter(run, "soak")
    for w in range(HOURS * 12):  # 5-minute analysis windows
        begin = START + timedelta(minutes=5 * w)
        soak.write(Evidence(run=run.name, kind="measurement", name="soak.window", outcome="passed",
                            criterion="alpha.stability", value=0.002, unit="ratio", started=iso(begin),
                            finished=iso(begin + timedelta(minutes=5)), details={"window": w}))
        count += 1
    for h in range(HOURS):
        begin = START + timedelta(hours=h)
        for service in SERVICES:
            soak.write(Evidence(run=run.name, kind="measurement", name="uptime", outcome="passed", value=0.9997,
                                unit="ratio", started=iso(begin), finished=iso(begin + timedelta(hours=1)),
                                details={"service": service, "probes": 3600}))
            count += 1
    chain = EvidenceWriter(run, "chain")
    for i in range(18):
        kind = "campaign" if i < 12 else "proposal"
        tx = "0x" + f"{i + 1:064x}"
        chain.write(Evidence(run=run.name, kind="chain", name=f"{kind} anchored", outcome="passed",
                             details={"subject": f"{kind}-{i}", "subject_kind": kind, "tx_hash": tx,
                                      "explorer_url": f"https://sepolia.etherscan.io/tx/{tx}"}))
        count += 1
    return count


CHILD = """
import resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from launchgate.report.build import build_report
run = Path(sys.argv[1])
result = build_report(run, Path(sys.argv[2]), run.parent / "history.jsonl")
print(f"{time.perf_counter() - t0:.3f} {result.exit_code}")
"""


def build_in_child(run: Path) -> tuple[float, float, int, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(run), str(ROOT / "gates.yaml")], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.split()
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, float(out[0]), int(out[1]), max(peak_kb, before) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lg-bench-") as tmp:
        run = Path(tmp) / "reports" / "bench-run"
        run.mkdir(parents=True)
        t0 = time.perf_counter()
        rows = write_soak_db(run / "soak.sqlite")
        records = write_evidence(run)
        print(f"setup: {rows:,} soak samples ({(run / 'soak.sqlite').stat().st_size / 2**20:.0f} MB), "
              f"{records:,} evidence records, {time.perf_counter() - t0:.1f} s")
        wall, inner, code, rss = build_in_child(run)
        print(f"build_report: wall {wall:.2f} s (in-process {inner:.2f} s incl. imports), exit code {code}")
        print(f"peak RSS of the report process: {rss:.0f} MB")
        for name in ("index.html", "verdict.json", "junit.xml"):
            print(f"{name}: {(run / name).stat().st_size / 1024:.0f} KB")
        wall2, _, _, _ = build_in_child(run)
        print(f"rebuild (history present): wall {wall2:.2f} s")
        if "--unindexed" in sys.argv:  # the fallback: a plain samples table without the key
            (run / "soak.sqlite").unlink()
            write_soak_db(run / "soak.sqlite", indexed=False)
            wall3, _, _, rss3 = build_in_child(run)
            print(f"unindexed soak.sqlite: wall {wall3:.2f} s, peak RSS {rss3:.0f} MB")


if __name__ == "__main__":
    main()
