"""Database snapshots of the reference stack: `reference371os snapshot NAME` and `reference371os restore NAME`.

A snapshot holds 371OS's own databases (platform, governance, conduit); the mail sink and the Postiz sandbox
stand for the outside world and are never rolled back. SQLite: one file per service, copied with SQLite's online
backup API while the services run (a consistent copy, WAL included). PostgreSQL: pg_dump of those services'
tables (custom format). A restore stops the affected services by PID (release slots included), puts the
snapshot back whole (pg_restore --clean for PostgreSQL), and starts them again, waiting for their /health.

Faults: `partial-snapshot` leaves the platform's database out of new snapshots; `broken-restore` replays the
snapshot's rows over the live ones (SQLite: INSERT OR REPLACE; PostgreSQL: no restore at all), so rows written
after the snapshot survive.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reference371os import procs
from reference371os.manager import Stack
from reference371os.slots import Releases
from reference371os.tools import BOOTSTRAP_HINT, postgres_bindir

SNAPSHOT_SERVICES = ("platform", "governance", "conduit")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
PG_TIMEOUT_S = 120


@dataclass(frozen=True)
class Snapshot:
    name: str
    path: Path
    kind: str  # sqlite | postgresql
    services: tuple[str, ...]
    created: str


class Snapshots:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.root = stack.state_dir / "snapshots"

    @property
    def kind(self) -> str:
        return "sqlite" if self.stack.options.database == "sqlite" else "postgresql"

    def _services(self) -> tuple[str, ...]:
        if "partial-snapshot" in self.stack.options.faults:
            return tuple(s for s in SNAPSHOT_SERVICES if s != "platform")
        return SNAPSHOT_SERVICES

    # -- snapshot --------------------------------------------------------------------------------------
    def take(self, name: str) -> Snapshot:
        _check_name(name)
        final = self.root / name
        if final.exists():
            raise procs.StackError(f"snapshot {name!r} exists already ({final}): pick another name")
        work = self.root / f".{name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        services = self._services()
        try:
            if self.kind == "sqlite":
                for service in services:
                    _sqlite_copy(self._live_file(service), work / f"{service}.db")
            else:
                self._pg_dump(work / PG_DUMP_FILE, services)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        manifest = {"name": name, "kind": self.kind, "services": list(services), "created": created}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        work.rename(final)  # a snapshot is there whole or not at all
        return Snapshot(name, final, self.kind, services, created)

    def _live_file(self, service: str) -> Path:
        path = self.stack.data / f"{service}.db"
        if not path.exists():
            raise procs.StackError(f"no database file for {service} ({path}): is the stack up?")
        return path

    def get(self, name: str) -> Snapshot:
        _check_name(name)
        path = self.root / name
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except FileNotFoundError:
            known = ", ".join(sorted(p.name for p in self.root.glob("*") if (p / MANIFEST).exists())) or "none"
            raise procs.StackError(f"no snapshot {name!r} in {self.root} (known: {known})") from None
        except ValueError as exc:
            raise procs.StackError(f"snapshot {name!r}: {path / MANIFEST} is damaged ({exc})") from exc
        return Snapshot(name, path, manifest["kind"], tuple(manifest["services"]), manifest["created"])

    # -- restore ---------------------------------------------------------------------------------------
    def restore(self, name: str) -> list[str]:
        """Puts snapshot `name` back; returns the processes it stopped and started again."""
        snapshot = self.get(name)
        if snapshot.kind != self.kind:
            raise procs.StackError(f"snapshot {name!r} is a {snapshot.kind} snapshot; this stack runs {self.kind}")
        releases = Releases(self.stack)
        slots = releases.running_slots()
        # Every service with a database stops, not only those in the snapshot: a restore is one point in time.
        services = [s for s in SNAPSHOT_SERVICES if self._running(s)]
        with ThreadPoolExecutor(max(1, len(services) + len(slots))) as pool:
            list(pool.map(lambda s: procs.stop(self.stack.pids / f"{s}.pid"), services))
            list(pool.map(releases.stop_process, slots))
        broken = "broken-restore" in self.stack.options.faults
        try:
            if snapshot.kind == "sqlite":
                for service in snapshot.services:
                    live = self.stack.data / f"{service}.db"
                    (_sqlite_merge if broken else _sqlite_copy)(snapshot.path / f"{service}.db", live)
            elif not broken:
                self._pg_restore(snapshot.path / PG_DUMP_FILE)
        finally:
            # Started again whatever happened: a failed restore must not leave the stack down.
            with ThreadPoolExecutor(max(1, len(services))) as pool:
                list(pool.map(self.stack.start_service, services))
            for slot in slots:
                releases.start_process(slot)
        return [*services, *(f"conduit-{slot}" for slot in slots)]

    def _running(self, service: str) -> bool:
        pid = procs.read_pid(self.stack.pids / f"{service}.pid")
        return pid is not None and procs.is_alive(pid)

    # -- PostgreSQL ------------------------------------------------------------------------------------
    def _libpq_url(self) -> str:
        return self.stack.database_url("conduit").replace("postgresql+psycopg://", "postgresql://", 1)

    def _pg_dump(self, out: Path, services: tuple[str, ...]) -> None:
        tables = [arg for s in services for arg in ("--table", f"{s}_*")]
        _run_pg([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={out}", *tables,
                 f"--dbname={self._libpq_url()}"], "pg_dump")

    def _pg_restore(self, dump: Path) -> None:
        _run_pg([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 f"--dbname={self._libpq_url()}", str(dump)], "pg_restore")


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise procs.StackError(f"snapshot name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while writers are busy; `target` is replaced whole."""
    src = sqlite3.connect(source, timeout=15)
    dst = sqlite3.connect(target, timeout=15)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _sqlite_merge(source: Path, target: Path) -> None:
    """The broken-restore fault: the snapshot's rows are written over the live ones, and later rows stay."""
    conn = sqlite3.connect(target, timeout=15)
    try:
        conn.execute("ATTACH DATABASE ? AS snap", (str(source),))
        tables = [r[0] for r in conn.execute("SELECT name FROM snap.sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        with conn:
            for table in tables:
                conn.execute(f'INSERT OR REPLACE INTO main."{table}" SELECT * FROM snap."{table}"')
        conn.execute("DETACH DATABASE snap")
    finally:
        conn.close()


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    bindir = postgres_bindir()
    if bindir is not None and (bindir / name).exists():
        return str(bindir / name)
    raise procs.StackError(f"{name} is not installed: {BOOTSTRAP_HINT}")


def _run_pg(args: list[str], what: str) -> None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise procs.StackError(f"{what} did not finish within {PG_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        detail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise procs.StackError(f"{what} exited with status {result.returncode}: {detail}")
