"""soak.sqlite: the soak's durable time series, written by one thread in small batched transactions.

`samples` is exactly the table the report reads (launchgate/report/series.py): one row per
(metric, service, ts). The other tables hold what the analysis needs beyond charts:
- load_seconds: one row per second of Locust stats: request and failure counts of that second, current
  rates and percentiles, and the latency histogram of that second (b0..bN, upper edges in BUCKET_EDGES_MS);
- scrapes:      each /metrics scrape per service: RSS, CPU seconds, process start, request and 5xx
  counters, histogram bucket counts (cumulative, as the service exposes them);
- events:       restarts, downtime, harness gaps, Locust starts and exits, an abort;
- meta:         the run's settings and the ingest offsets (written in the same transaction as the rows
  they account for, so a crash can neither lose nor repeat a Locust line).

WAL journal: readers (the report, the live verdict) never block the writer, and a crash keeps every
committed batch. Memory stays flat however long the run: rows go through a bounded queue, never a list.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from launchgate.soak.windows import BUCKET_EDGES_MS

DB_NAME = "soak.sqlite"
# The per-second latency histogram's buckets: upper edges BUCKET_EDGES_MS (load/support.py has the same), then open.
BUCKETS = len(BUCKET_EDGES_MS) + 1
BUCKET_COLUMNS = [f"b{i}" for i in range(BUCKETS)]

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS samples (
    metric  TEXT NOT NULL,
    service TEXT NOT NULL,
    ts      REAL NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (metric, service, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS load_seconds (
    ts REAL NOT NULL, part INTEGER NOT NULL, users INTEGER, requests INTEGER, failures INTEGER,
    rps REAL, fail_rps REAL, p50_ms REAL, p95_ms REAL,
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in BUCKET_COLUMNS)},
    PRIMARY KEY (ts, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scrapes (
    service TEXT NOT NULL, ts REAL NOT NULL, rss_bytes REAL, cpu_seconds REAL, start_time REAL, pid INTEGER,
    requests REAL, errors REAL, buckets TEXT,
    PRIMARY KEY (service, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    ts REAL NOT NULL, kind TEXT NOT NULL, service TEXT NOT NULL DEFAULT '', until REAL, detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a process crash loses no committed batch
        conn.executescript(SCHEMA)
    return conn


Row = tuple[str, tuple[Any, ...]]  # (table, values)

_INSERT = {
    "samples": "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?)",
    "load_seconds": f"INSERT OR REPLACE INTO load_seconds VALUES ({', '.join('?' * (9 + BUCKETS))})",
    "scrapes": "INSERT OR REPLACE INTO scrapes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
    "meta": "INSERT OR REPLACE INTO meta VALUES (?, ?)",
}


class Recorder:
    """The only writer: threads `put` rows, one thread commits them in batches every `flush_s`."""

    def __init__(self, path: Path, flush_s: float = 0.5, max_pending: int = 20_000) -> None:
        self.path = path
        self.conn = connect(path)
        self.flush_s = flush_s
        self._queue: queue.Queue[Row | list[Row] | None] = queue.Queue(max_pending)
        self._thread = threading.Thread(target=self._run, name="soak-recorder", daemon=True)
        self._closed = threading.Event()
        self.rows_written = 0
        self.error: BaseException | None = None

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def put(self, table: str, *values: Any) -> None:
        self._queue.put((table, values))

    def put_batch(self, rows: list[Row]) -> None:
        """Rows that must land in one transaction (Locust lines and their ingest offset)."""
        self._queue.put(rows)

    def sample(self, metric: str, service: str, ts: float, value: float) -> None:
        self.put("samples", metric, service, ts, float(value))

    def event(self, ts: float, kind: str, service: str = "", until: float | None = None, **detail: Any) -> None:
        self.put("events", ts, kind, service, until, json.dumps(detail) if detail else None)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.conn.close()

    def _run(self) -> None:
        done = False
        while not done:
            batch: list[Row] = []
            deadline = time.monotonic() + self.flush_s
            while True:
                timeout = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=max(timeout, 0.0)) if timeout > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                if isinstance(item, list):
                    batch.extend(item)
                else:
                    batch.append(item)
                if len(batch) >= 5000:
                    break
            if batch:
                self._write(batch)

    def _write(self, batch: Iterable[Row]) -> None:
        try:
            self.conn.execute("BEGIN")
            n = 0
            for table, values in batch:
                self.conn.execute(_INSERT[table], values)
                n += 1
            self.conn.execute("COMMIT")
            self.rows_written += n
        except sqlite3.Error as exc:  # the disk is full or the file went away: say so, do not spin
            self.error = exc
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")


def read_meta(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def meta_row(key: str, value: Any) -> Row:
    return ("meta", (key, json.dumps(value)))


# -- the read side: every query of the analysis and of a resumed run ---------------------------------------
MB = 1048576.0


class SoakQueries:
    """What the analysis and a resumed run read from soak.sqlite, each in one grouped pass: aggregates in SQL, no
    sample lists in memory. Windows are numbered from `start` in steps of `width`, the last one open-ended."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @staticmethod
    def _window(start: float, width: float, last: int) -> str:
        return f"MIN(CAST((ts - {start!r}) / {width!r} AS INTEGER), {last})"

    def load_by_window(self, start: float, end: float, width: float, last: int,
                       ) -> dict[int, tuple[int, int, list[int]]]:
        """Requests, failures and the latency histogram of each window."""
        sums = ", ".join(f"SUM({c})" for c in BUCKET_COLUMNS)
        rows = self.conn.execute(f"SELECT {self._window(start, width, last)} AS k, SUM(requests), SUM(failures), "
                                 f"{sums} FROM load_seconds WHERE ts >= ? AND ts < ? GROUP BY k", (start, end))
        return {int(r[0]): (int(r[1] or 0), int(r[2] or 0), [int(v or 0) for v in r[3:3 + BUCKETS]]) for r in rows}

    def probes_by_window(self, start: float, end: float, width: float, last: int) -> dict[int, tuple[int, int]]:
        """How many whole-system probes each window had, and how many found it up."""
        rows = self.conn.execute(f"SELECT {self._window(start, width, last)} AS k, COUNT(*), SUM(value) FROM samples "
                                 "WHERE metric = 'up' AND service = 'all' AND ts >= ? AND ts < ? GROUP BY k",
                                 (start, end))
        return {int(k): (int(n), int(up or 0)) for k, n, up in rows}

    def generator_by_window(self, start: float, end: float, width: float, last: int) -> dict[int, dict[str, float]]:
        """Per window: the busiest Locust process's highest CPU (Locust averages it over 5 s), and how late its
        users' waits ran on average over the window's seconds (each second's worst)."""
        out: dict[int, dict[str, float]] = {}
        for k, metric, worst, mean in self.conn.execute(
                f"SELECT {self._window(start, width, last)} AS k, metric, MAX(value), AVG(value) FROM samples WHERE "
                "metric IN ('generator_cpu_percent', 'generator_lag_ms') AND ts >= ? AND ts < ? GROUP BY k, metric",
                (start, end)):
            cpu = metric == "generator_cpu_percent"
            out.setdefault(int(k), {})["cpu" if cpu else "lag_ms"] = float(worst if cpu else mean)
        return out

    def memory_sums(self, service: str, start: float, end: float, width: float, last: int,
                    ) -> dict[int, tuple[float, ...]]:
        """Per window after the warm-up one: least-squares sums of the service's RSS (MB) over time (h)."""
        rows = self.conn.execute(
            f"SELECT k, COUNT(*), SUM(x), SUM(y), SUM(x * x), SUM(x * y), MIN(x), MAX(x) FROM ("
            f"SELECT {self._window(start, width, last)} AS k, (ts - ?) / 3600.0 AS x, value / {MB} AS y FROM samples "
            "WHERE metric = 'rss_bytes' AND service = ? AND ts >= ? AND ts < ?) GROUP BY k",
            (start, service, start + width, end)).fetchall()
        return {int(r[0]): tuple(float(v) for v in r[1:]) for r in rows}

    def restarts(self, start: float, end: float) -> list[dict[str, Any]]:
        return [{"ts": ts, "service": svc, **json.loads(detail or "{}")}
                for ts, svc, detail in self.conn.execute("SELECT ts, service, detail FROM events WHERE kind = "
                                                         "'restart' AND ts >= ? AND ts < ? ORDER BY ts", (start, end))]

    def can_see_restarts(self) -> bool:
        """The target gave process start times or PIDs: restarts can be counted at all."""
        return self.conn.execute("SELECT 1 FROM scrapes WHERE start_time IS NOT NULL OR pid IS NOT NULL "
                                 "LIMIT 1").fetchone() is not None

    def events(self, kind: str, start: float = float("-inf"), end: float = float("inf"),
               service: str | None = None) -> list[tuple[float, float | None, str, str | None]]:
        """Events of one kind (ts, until, service, detail), by time; `service` "all" or one service."""
        query = "SELECT ts, until, service, detail FROM events WHERE kind = ? AND ts >= ? AND ts < ?"
        args: list[Any] = [kind, start, end]
        if service is not None:
            query += " AND service = ?"
            args.append(service)
        return [(float(ts), until, svc, detail) for ts, until, svc, detail in
                self.conn.execute(query + " ORDER BY ts", args)]

    def load_totals(self, start: float, end: float) -> tuple[int, int]:
        row = self.conn.execute("SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(failures), 0) FROM load_seconds "
                                "WHERE ts >= ? AND ts < ?", (start, end)).fetchone()
        return int(row[0]), int(row[1])

    def last_probe(self) -> float | None:
        row = self.conn.execute("SELECT MAX(ts) FROM samples WHERE metric = 'up' AND service = 'all'").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def still_down(self, service: str) -> tuple[float | None, float] | None:
        """When `service` ("all": the system) was last seen up and when last probed, if its last probe found it
        down; None if it was up."""
        latest = self.conn.execute("SELECT ts, value FROM samples WHERE metric = 'up' AND service = ? "
                                   "ORDER BY ts DESC LIMIT 1", (service,)).fetchone()
        if not latest or latest[1] != 0.0:
            return None
        up = self.conn.execute("SELECT MAX(ts) FROM samples WHERE metric = 'up' AND service = ? AND value = 1",
                               (service,)).fetchone()[0]
        return (float(up) if up is not None else None), float(latest[0])

    def load_parts(self) -> dict[str, Any]:
        """The Locust parts a run started (meta load.part.N), by N."""
        return {k.rsplit(".", 1)[1]: json.loads(v) for k, v in
                self.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'load.part.%'")}

    def latest_scrape(self, service: str) -> tuple[Any, Any] | None:
        """The last process start time and PID scraped from `service`."""
        row = self.conn.execute("SELECT start_time, pid FROM scrapes WHERE service = ? ORDER BY ts DESC LIMIT 1",
                                (service,)).fetchone()
        return (row[0], row[1]) if row else None
