"""Benchmark: the stability analysis over 72 hours of 1 Hz samples. Goal: < 5 s.

Synthesizes the soak.sqlite a 72-hour soak writes (launchgate/soak/store.py): 1 Hz probes of 8 services and the
system (`up`, `latency_ms`), one Locust second per second (load_seconds with its latency histogram, and the
`rps`, `users`, `error_rate`, `p50_ms`, `p95_ms` samples), 5-second scrapes (`rss_bytes`, `cpu_percent`, scrapes
rows), a few restarts and a downtime. Then times launchgate.soak.analysis.analyze (72 hourly windows: error rate,
p95, drift, memory slopes of 8 services, restarts, uptime) and the evidence it writes, in a fresh process.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.soak.store import BUCKETS, DB_NAME, connect  # noqa: E402
from launchgate.soak.windows import bucket_index  # noqa: E402

HOURS = int(os.environ.get("BENCH_HOURS", "72"))
SERVICES = ("gateway", "conduit", "governance", "platform", "postiz", "sink", "anvil", "postgres")
T0 = 1_800_000_000.0


def synthesize(path: Path) -> int:
    rng = random.Random(7)
    conn = connect(path)
    seconds = HOURS * 3600
    rows = 0
    conn.execute("BEGIN")
    load_sql = f"INSERT INTO load_seconds VALUES ({', '.join('?' * (9 + BUCKETS))})"
    for chunk in range(0, seconds, 3600):
        samples, load, scrapes = [], [], []
        for t in range(chunk, min(chunk + 3600, seconds)):
            ts = T0 + t
            down = 100_000 <= t < 100_030  # one 30-second outage of conduit
            for svc in SERVICES:
                up = 0.0 if (down and svc == "conduit") else 1.0
                samples.append(("up", svc, ts, up))
                if up:
                    samples.append(("latency_ms", svc, ts, 2 + rng.random() * 3))
            samples.append(("up", "all", ts, 0.0 if down else 1.0))
            latency = 40 + rng.random() * 30
            requests = 20 + rng.randrange(10)
            failures = 1 if rng.random() < 0.01 else 0
            histogram = [0] * BUCKETS
            histogram[bucket_index(latency)] = requests
            load.append((ts, 1, 50, requests, failures, float(requests), float(failures), latency, latency * 1.8,
                         *histogram))
            samples += [("rps", "load", ts, float(requests)), ("users", "load", ts, 50.0),
                        ("error_rate", "load", ts, failures / requests), ("p95_ms", "load", ts, latency * 1.8),
                        ("p50_ms", "load", ts, latency)]
            if t % 5 == 0:
                for svc in SERVICES:
                    rss = 90e6 + rng.random() * 2e6
                    samples += [("rss_bytes", svc, ts, rss), ("cpu_percent", svc, ts, rng.random() * 20)]
                    scrapes.append((svc, ts, rss, t * 0.01, T0 - 60, 1000, t * 20.0, 0.0, "0.05:90,inf:100"))
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", samples)
        conn.executemany(load_sql, load)
        conn.executemany("INSERT INTO scrapes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", scrapes)
        rows += len(samples) + len(load) + len(scrapes)
    conn.execute("INSERT INTO events VALUES (?, 'down', 'conduit', ?, NULL)", (T0 + 100_000, T0 + 100_030))
    conn.execute("INSERT INTO events VALUES (?, 'down', 'all', ?, NULL)", (T0 + 100_000, T0 + 100_030))
    conn.execute("INSERT INTO events VALUES (?, 'restart', 'conduit', NULL, '{\"reason\": \"PID 1 -> 2\"}')",
                 (T0 + 100_035,))
    conn.execute("COMMIT")
    conn.close()
    return rows


ANALYZE = """
import json, sys, time, resource
from pathlib import Path
sys.path.insert(0, {root!r})
from launchgate.gates.loader import load_gates
from launchgate.soak import analysis
from launchgate.soak.windows import window_seconds
bounds = load_gates(Path({root!r}) / "gates.yaml").criterion("alpha.stability").windows
duration = {hours} * 3600
started = time.monotonic()
result = analysis.analyze(Path({db!r}), bounds, {t0}, {t0} + duration, window_seconds(duration, bounds), 1.0,
                          {services!r})
analyzed = time.monotonic() - started
records = analysis.evidence(result, "bench", "reference", bounds)
print(json.dumps({{"analyze_s": analyzed, "total_s": time.monotonic() - started, "windows": len(result.windows),
                  "failed": [w.index + 1 for w in result.windows if w.outcome == "failed"], "records": len(records),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / DB_NAME
        started = time.monotonic()
        rows = synthesize(db)
        built = time.monotonic() - started
        size = sum(f.stat().st_size for f in Path(tmp).glob("soak.sqlite*")) / 1048576
        code = ANALYZE.format(root=str(ROOT), hours=HOURS, db=str(db), t0=T0, services=list(SERVICES))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        figures = json.loads(out.stdout)
    print(f"soak analysis at scale: {HOURS} h of 1 Hz samples, {len(SERVICES)} services, {rows:,} rows, "
          f"soak.sqlite {size:.0f} MB (synthesized in {built:.0f} s)")
    print(f"  analyze: {figures['analyze_s']:.2f} s for {figures['windows']} windows (goal < 5 s); with evidence "
          f"{figures['total_s']:.2f} s, {figures['records']} records; peak RSS {figures['peak_rss_mb']:.0f} MB")
    print(f"  windows failed (the synthetic outage and restart are in window 28): {figures['failed']}")


if __name__ == "__main__":
    main()
