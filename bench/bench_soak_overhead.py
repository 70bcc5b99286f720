"""Benchmark: the soak harness's own cost: monitor + recorder CPU, as % of one core, at 1 Hz over 8 services.

Eight stand-in services (one subprocess, so that their CPU is not counted) answer /health and a /metrics as big
as a busy reference service's (25 routes: request counters and latency histograms). The harness process runs
only the monitor (1 Hz probes, 1 Hz scrapes) and the recorder writing soak.sqlite, as `launchgate soak` does.
Prints figures, asserts nothing. Goal: a few % of one core.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launchgate.soak.live import Live  # noqa: E402
from launchgate.soak.monitor import Monitor, Watched  # noqa: E402
from launchgate.soak.store import DB_NAME, Recorder  # noqa: E402

SERVICES = ("gateway", "conduit", "governance", "platform", "postiz", "sink", "anvil", "postgres")
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))


def metrics_text(routes: int = 25) -> str:
    """A /metrics exposition the size of a busy service's: what the monitor parses every scrape."""
    lines = ["# HELP process_resident_memory_bytes Resident memory size in bytes.",
             "# TYPE process_resident_memory_bytes gauge", "process_resident_memory_bytes 9.1e+07",
             "process_cpu_seconds_total 123.4", "process_start_time_seconds 1.8e+09",
             "# TYPE http_requests_total counter"]
    buckets = ("0.002", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf")
    for r in range(routes):
        for status in ("200", "201", "404", "500"):
            lines.append(f'http_requests_total{{service="svc",method="GET",route="/api/r{r}",status="{status}"}} '
                         f"{1000 + r}.0")
    lines.append("# TYPE http_request_duration_seconds histogram")
    for r in range(routes):
        for i, le in enumerate(buckets):
            lines.append(f'http_request_duration_seconds_bucket{{service="svc",method="GET",route="/api/r{r}",'
                         f'le="{le}"}} {100 * (i + 1)}.0')
        lines.append(f'http_request_duration_seconds_count{{service="svc",method="GET",route="/api/r{r}"}} 1300.0')
        lines.append(f'http_request_duration_seconds_sum{{service="svc",method="GET",route="/api/r{r}"}} 42.0')
    return "\n".join(lines) + "\n"


def serve(ports: list[int]) -> None:
    health = b'{"success":true,"status":"operational"}'
    metrics = metrics_text().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = metrics if self.path == "/metrics" else health
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", port), Handler) for port in ports]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_standins() -> tuple[subprocess.Popen[bytes], list[Watched]]:
    ports = free_ports(len(SERVICES))
    proc = subprocess.Popen([sys.executable, __file__, "--serve", ",".join(map(str, ports))])
    deadline = time.monotonic() + 20
    import httpx

    for port in ports:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the stand-in services did not start") from None
                time.sleep(0.05)
    watched = [Watched(name, f"http://127.0.0.1:{port}/health", f"http://127.0.0.1:{port}/metrics")
               for name, port in zip(SERVICES, ports, strict=True)]
    return proc, watched


def run(seconds: int, interval: float = 1.0, scrape_interval: float = 1.0) -> dict[str, float]:
    proc, watched = start_standins()
    me = psutil.Process()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            recorder = Recorder(Path(tmp) / DB_NAME).start()
            live = Live(time.time(), 10)
            monitor = Monitor(watched, recorder, live, interval=interval, scrape_interval=scrape_interval)
            cpu0, wall0 = sum(me.cpu_times()[:2]), time.monotonic()
            monitor.start()
            time.sleep(seconds)  # a benchmark's measured span, not a wait for a condition
            monitor.stop()
            recorder.close()
            cpu, wall = sum(me.cpu_times()[:2]) - cpu0, time.monotonic() - wall0
            return {"cpu_percent": 100 * cpu / wall, "rows": recorder.rows_written, "wall": wall,
                    "rss_mb": me.memory_info().rss / 1048576,
                    "db_mb": sum(f.stat().st_size for f in Path(tmp).glob("soak.sqlite*")) / 1048576,
                    "metrics_kb": len(metrics_text()) / 1024}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    figures = run(SECONDS)
    print(f"soak harness overhead: monitor + recorder over {len(SERVICES)} stand-in services, 1 Hz probes and "
          f"1 Hz /metrics scrapes ({figures['metrics_kb']:.0f} KB each), {figures['wall']:.0f} s")
    print(f"  CPU: {figures['cpu_percent']:.2f}% of one core (goal: a few %)")
    print(f"  rows written: {figures['rows']:,} ({figures['rows'] / figures['wall']:.0f}/s); soak.sqlite "
          f"{figures['db_mb']:.1f} MB; harness RSS {figures['rss_mb']:.0f} MB")
    print(f"  per 72 h at this rate: {figures['db_mb'] / figures['wall'] * 72 * 3600 / 1024:.1f} GB of series "
          "(the default 5 s scrape writes a fifth of the scrape rows)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve([int(p) for p in sys.argv[2].split(",")])
    else:
        main()
