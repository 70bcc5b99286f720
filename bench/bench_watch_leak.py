"""Benchmark: does `launchgate watch` leak? RSS growth per hour of real operation, from a shortened run.

A watch lasts weeks, so its process must not grow with them. This runs the real `launchgate watch` process
against 8 stand-in services for BENCH_SECONDS (default 600 s), ten times faster than a real watch: probes at
10 Hz, the evidence written and the report rebuilt every 30 s (5 min in a real watch), an uptime window every
6 min. The method is bench_soak_leak.py's: RSS of the watch process every 5 s, a least-squares slope over the
second half (caches and arenas have filled), EXTRAPOLATED to an hour and a month of real operation.
Prints figures, asserts nothing. Goal (issue: evidence over weeks): <= 1 MB per hour.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_soak_overhead import start_standins  # noqa: E402

from launchgate.soak.windows import slope_of  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "600"))
SPEEDUP = 10


def profile(directory: Path, urls: dict[str, str]) -> Path:
    path = directory / "standins.toml"
    services = "".join(f'[services.{name}]\nurl = "{url}"\n' for name, url in urls.items())
    first = next(iter(urls.values()))
    path.write_text(f'name = "standins"\nenvironment = "mock"\n{services}[api]\nemail = "{first}"\n')
    return path


def main() -> None:
    standins, watched = start_standins()
    urls = {w.name: w.health_url.removesuffix("/health") for w in watched}
    try:
        with tempfile.TemporaryDirectory(prefix="lg-bench-watch-") as tmp:
            run_dir = Path(tmp) / "reports" / "watch"
            proc = subprocess.Popen(
                [sys.executable, "-m", "launchgate", "watch", "--target", str(profile(Path(tmp), urls)),
                 "--gate", "launch", "--run-dir", str(run_dir), "--for", f"{SECONDS + 60}s",
                 "--probe-interval", f"{1 / SPEEDUP}s", "--cycle", f"{300 // SPEEDUP}s",
                 "--window", f"{3600 // SPEEDUP}s"],
                cwd=ROOT, env={**os.environ, "LAUNCHGATE_LOOPBACK_ONLY": "1"}, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            watcher = psutil.Process(proc.pid)
            time.sleep(5)  # imports and the first report: not growth
            started = time.monotonic()
            points: list[tuple[float, float]] = []
            while (elapsed := time.monotonic() - started) < SECONDS and proc.poll() is None:
                points.append((elapsed, watcher.memory_info().rss / 1048576))
                time.sleep(5)  # the sampling period of the measurement itself
            proc.terminate()
            proc.wait(60)
            reports = len(list((Path(tmp) / "reports").glob("history.jsonl")))
    finally:
        standins.terminate()
        standins.wait(10)
    steady = [(t, mb) for t, mb in points if t >= SECONDS / 2]
    slope_per_s = slope_of(steady) or 0.0
    quarters = [points[min(len(points) - 1, round(q * (len(points) - 1) / 4))] for q in range(5)]
    real_hour = slope_per_s * 3600 / SPEEDUP
    print(f"watch leak: the `launchgate watch` process, {SECONDS} s at {SPEEDUP}x a real watch's rate "
          f"({SECONDS * SPEEDUP / 3600:.1f} h of real operation; history written: {bool(reports)})")
    print("  RSS by quarter of the run: " + ", ".join(f"{mb:.1f} MB at {t:.0f} s" for t, mb in quarters))
    print(f"  growth over the second half: {slope_per_s * 60:+.3f} MB per minute of this run -> EXTRAPOLATED "
          f"{real_hour:+.3f} MB per hour of real operation, {real_hour * 24 * 30:+.1f} MB over 30 days "
          "(goal: <= 1 MB/h)")


if __name__ == "__main__":
    main()
