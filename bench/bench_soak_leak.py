"""Benchmark: does the soak harness itself leak? RSS growth per hour, from a shortened run, extrapolated.

The harness of a 72-hour soak must not grow with the run (locust #2045 is the cautionary tale). This runs the
monitor, the recorder and the Locust-line feed against 8 stand-in services for BENCH_SECONDS (default 600 s),
ten times faster than a real soak (10 Hz probes, 2 Hz scrapes, 10 Locust lines a second), so the short run covers
as many samples as 100 minutes of a real one. RSS is sampled every 5 s; the growth rate is a
least-squares slope over the second half, EXTRAPOLATED to an hour and to 72 hours of real (1 Hz) operation.
Prints figures, asserts nothing. Goal: no growth beyond noise (well under 1 MB per hour of real operation).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_soak_overhead import start_standins  # noqa: E402

from launchgate.soak.live import Live  # noqa: E402
from launchgate.soak.loadgen import LoadFeed  # noqa: E402
from launchgate.soak.monitor import Monitor  # noqa: E402
from launchgate.soak.store import DB_NAME, Recorder  # noqa: E402
from launchgate.soak.windows import slope_of  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "600"))  # 180 s still measures the warm-up (arenas filling)
SPEEDUP = 10  # samples per second, relative to a real soak's 1 Hz


def fake_locust(path: Path, stop: threading.Event) -> None:
    """Writes Locust's per-second lines (load/support.py format) at SPEEDUP lines a second."""
    n = f = 0
    ts = int(time.time())
    with path.open("a") as out:
        while not stop.wait(1 / SPEEDUP):
            n += 12
            f += 0
            ts += 1
            out.write(json.dumps({"ts": ts, "users": 10, "n": n, "f": f, "rps": 12.0, "fps": 0.0, "p50": 40,
                                  "p95": 120, "h": {"12": 6, "17": 5, "21": 1}, "flows": {}}) + "\n")
            out.flush()


def main() -> None:
    proc, watched = start_standins()
    me = psutil.Process()
    stop = threading.Event()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seconds_file = Path(tmp) / "part-1_seconds.jsonl"
            writer = threading.Thread(target=fake_locust, args=(seconds_file, stop), daemon=True)
            recorder = Recorder(Path(tmp) / DB_NAME).start()
            live = Live(time.time(), 10)
            feed = LoadFeed(recorder, live, poll_s=0.1)
            feed.add_part(1, seconds_file)
            monitor = Monitor(watched, recorder, live, interval=1 / SPEEDUP, scrape_interval=0.5)
            writer.start()
            feed.start()
            monitor.start()
            started = time.monotonic()
            points: list[tuple[float, float]] = []
            while (elapsed := time.monotonic() - started) < SECONDS:
                points.append((elapsed, me.memory_info().rss / 1048576))
                time.sleep(5)  # the sampling period of the measurement itself
            monitor.stop()
            stop.set()
            feed.stop()
            recorder.close()
            rows = recorder.rows_written
    finally:
        proc.terminate()
        proc.wait(10)
    steady = [(t, mb) for t, mb in points if t >= SECONDS / 2]  # the second half: caches and arenas have filled
    slope_per_s = slope_of(steady) or 0.0  # MB per second of this accelerated run
    quarters = [points[min(len(points) - 1, round(q * (len(points) - 1) / 4))] for q in range(5)]
    real_hour = slope_per_s * 3600 / SPEEDUP  # one accelerated second holds SPEEDUP real seconds of samples
    print(f"soak harness leak: monitor + recorder + Locust feed, {SECONDS} s at {SPEEDUP}x a real soak's rate "
          f"({rows:,} rows; {SECONDS * SPEEDUP / 60:.0f} min of real samples)")
    print("  RSS by quarter of the run: " + ", ".join(f"{mb:.1f} MB at {t:.0f} s" for t, mb in quarters))
    print(f"  growth over the second half: {slope_per_s * 60:+.3f} MB per minute of this run -> EXTRAPOLATED "
          f"{real_hour:+.3f} MB per hour of real operation, {real_hour * 72:+.1f} MB over 72 h (goal: < 1 MB/h)")


if __name__ == "__main__":
    main()
