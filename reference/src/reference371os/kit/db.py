"""Database access: SQLite by default, PostgreSQL when a URL is given; in memory under the state-loss fault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from reference371os.config import ServiceConfig


class Base(DeclarativeBase):
    """Declarative base shared by every service's models; each service creates only its own tables."""


def make_engine(config: ServiceConfig, honour_state_loss: bool = True) -> Engine:
    url = config.database_url
    if honour_state_loss and config.fault("state-loss"):
        # The 371OS of today: everything in process memory, gone on restart.
        url = "sqlite://"
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 15},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            if not memory:
                # WAL + full sync: a kill -9 loses no committed transaction.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


class Database:
    def __init__(self, config: ServiceConfig, tables: list | None = None, honour_state_loss: bool = True) -> None:
        # The sink and the Postiz sandbox stand for the outside world: the state-loss fault spares them.
        self.engine = make_engine(config, honour_state_loss)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._tables = tables

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine, tables=self._tables)
        self._add_new_columns()

    def _add_new_columns(self) -> None:
        """A state directory from an older version lacks columns added since: each is nullable, so it is added."""
        existing = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in self._tables or Base.metadata.sorted_tables:
                have = {c["name"] for c in existing.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in have and column.nullable:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
