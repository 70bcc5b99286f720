"""A PostgreSQL server for the stack: initdb and pg_ctl as the `postgres` user, on 127.0.0.1, by PID."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from reference371os import procs
from reference371os.tools import BOOTSTRAP_HINT, postgres_bindir

DATABASE = "launchgate"


class Postgres:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "run"
        self.port = port
        self.pidfile = root.parent / "pids" / "postgres.pid"
        self.log = root.parent / "logs" / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _bindir(self) -> Path:
        bindir = postgres_bindir()
        if bindir is None:
            raise procs.StackError(f"PostgreSQL is not installed (initdb/pg_ctl not found): {BOOTSTRAP_HINT}")
        return bindir

    def _as_owner(self, args: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root; as root we switch to the `postgres` user.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return args

    def _owner(self) -> tuple[int, int]:
        if os.geteuid() != 0:
            return os.getuid(), os.getgid()
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise procs.StackError(f"no `postgres` user on this machine: {BOOTSTRAP_HINT}") from exc
        return entry.pw_uid, entry.pw_gid

    def start(self) -> None:
        bindir = self._bindir()
        uid, gid = self._owner()
        for path in (self.root, self.sockets, self.log.parent):
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.root, self.sockets):
            os.chown(path, uid, gid)
        self.log.touch()
        os.chown(self.log, uid, gid)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                [str(bindir / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--locale=C.UTF-8"],
                "initdb",
            )
        self._clear_stale_lock()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=on"
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30",
             "start"],
            "pg_ctl start",
        )
        pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.write_text(str(pid))
        self._ensure_database(bindir)

    def _clear_stale_lock(self) -> None:
        """After a crash the lock files name a dead postmaster; a zombie one still passes PostgreSQL's own
        kill(pid, 0) check, because PID 1 here reaps slowly, so judge it from /proc instead."""
        for lock in [self.data / "postmaster.pid", *self.sockets.glob(".s.PGSQL.*.lock")]:
            try:
                pid = int(lock.read_text().splitlines()[0])
            except (FileNotFoundError, ValueError, IndexError):
                continue
            if not procs.is_alive(pid):
                lock.unlink(missing_ok=True)

    def _ensure_database(self, bindir: Path) -> None:
        psql = shutil.which("psql") or str(bindir / "psql")
        base = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-tAc"]
        exists = subprocess.run(
            [*base, f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'"],
            capture_output=True, text=True, check=False,
        )
        if exists.stdout.strip() != "1":
            self._run([*base, f"CREATE DATABASE {DATABASE}"], "create database")

    def _run(self, args: list[str], what: str) -> None:
        result = subprocess.run(self._as_owner(args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise procs.StackError(f"PostgreSQL {what} failed: {' | '.join(detail)} (log: {self.log})")

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown: it ends sessions and checkpoints.
        return procs.stop(self.pidfile, sig=signal.SIGINT, timeout=20, group=False)
