"""Read-only access to a target's database, for the checks that must see what is stored (encryption at rest).

SQLAlchemy Core, never the ORM: the harness reads the target's tables by name, whatever models wrote them.
Read only by construction: SQLite files are opened with `mode=ro`; PostgreSQL sessions start with
`default_transaction_read_only=on`. Values are compared as the bytes the database holds; for SQLite the
file itself (and its write-ahead log) can be scanned too, so that nothing is missed between columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from launchgate.drivers.errors import DriverError

MAX_ROWS = 50_000  # a scan of a production table stops here, and says so


class DatabaseError(DriverError):
    """The database cannot be read as the profile says; the message names the database (never its password)."""


@dataclass(frozen=True)
class Finding:
    table: str
    column: str
    row: str  # the row's primary key, or its position
    needle: int  # which of the values looked for was found (by index: the value itself is a secret)


class DatabaseReader:
    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseError(f"not a database URL: {exc}") from None
        self.label = parsed.render_as_string(hide_password=True)
        self.sqlite_file: Path | None = None
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise DatabaseError(f"{self.label}: an in-memory database cannot be read from outside")
            self.sqlite_file = Path(parsed.database)
            if not self.sqlite_file.exists():
                raise DatabaseError(f"{self.label}: no such database file")
            self.engine: Engine = create_engine(
                f"sqlite:///file:{self.sqlite_file}?mode=ro&uri=true", connect_args={"timeout": 15}
            )
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self.engine = create_engine(
                parsed,
                connect_args={"connect_timeout": 5, "options": "-c default_transaction_read_only=on"},
                pool_pre_ping=True,
            )
        else:
            raise DatabaseError(f"{self.label}: only SQLite and PostgreSQL databases can be read")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> DatabaseReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _table(self, name: str) -> Table:
        try:
            return Table(name, MetaData(), autoload_with=self.engine)
        except NoSuchTableError:
            raise DatabaseError(f"{self.label}: no table {name!r}") from None
        except SQLAlchemyError as exc:
            raise DatabaseError(f"{self.label}: cannot read table {name!r}: {type(exc).__name__}") from None

    def rows(self, table_name: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of `table_name` (at most MAX_ROWS), optionally where columns equal the given values."""
        table = self._table(table_name)
        query = select(table).limit(MAX_ROWS)
        for column, value in (where or {}).items():
            if column not in table.c:
                raise DatabaseError(f"{self.label}: table {table_name!r} has no column {column!r}")
            query = query.where(table.c[column] == value)
        try:
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise DatabaseError(f"{self.label}: reading {table_name!r} failed: {type(exc).__name__}") from None

    def scan(self, table_name: str, needles: Iterable[str]) -> list[Finding]:
        """Where any of `needles` occurs, as bytes, in any column of any row of `table_name`."""
        wanted = [n.encode() for n in needles if n]
        table = self._table(table_name)
        keys = [c.name for c in table.primary_key.columns]
        findings = []
        for position, row in enumerate(self.rows(table_name)):
            for column, value in row.items():
                raw = _as_bytes(value)
                for index, needle in enumerate(wanted):
                    if raw is not None and needle in raw:
                        row_id = "/".join(str(row[k]) for k in keys) if keys else f"#{position}"
                        findings.append(Finding(table_name, column, row_id, index))
        return findings

    def file_contains(self, needles: Iterable[str]) -> list[tuple[str, int]]:
        """SQLite only: (file name, needle index) for each value found in the raw database file or its WAL."""
        if self.sqlite_file is None:
            return []
        found = []
        for path in _sqlite_files(self.sqlite_file):
            data = path.read_bytes()
            found += [(path.name, i) for i, n in enumerate(needles) if n and n.encode() in data]
        return found


def _sqlite_files(main: Path) -> Iterator[Path]:
    for path in (main, main.with_name(main.name + "-wal")):
        if path.exists():
            yield path


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()
