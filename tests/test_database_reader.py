"""The read-only database driver: rows and raw bytes of a target's tables, never a write, errors that name the table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from launchgate.drivers.database import DatabaseError, DatabaseReader

KEY = "sandbox_0123456789abcdef"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "platform.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE platform_integrations (id TEXT PRIMARY KEY, user_id TEXT, secret TEXT, raw BLOB)")
        conn.execute("INSERT INTO platform_integrations VALUES ('i1', 'u1', 'gAAAAB-sealed', NULL)")
        conn.execute("INSERT INTO platform_integrations VALUES ('i2', 'u2', ?, NULL)", (KEY,))
        conn.execute("INSERT INTO platform_integrations VALUES ('i3', 'u3', 'x', ?)", (KEY.encode(),))
    conn.close()
    return path


def test_rows_scans_and_raw_bytes(database: Path) -> None:
    with DatabaseReader(f"sqlite:///{database}") as db:
        assert [r["id"] for r in db.rows("platform_integrations", where={"user_id": "u1"})] == ["i1"]
        found = {(f.column, f.row) for f in db.scan("platform_integrations", [KEY, "absent"])}
        assert found == {("secret", "i2"), ("raw", "i3")}
        assert (database.name, 0) in db.file_contains([KEY]) or (database.name + "-wal", 0) in db.file_contains([KEY])
        assert db.file_contains(["never stored"]) == []


def test_the_reader_cannot_write(database: Path) -> None:
    with (
        DatabaseReader(f"sqlite:///{database}") as db,
        db.engine.connect() as conn,
        pytest.raises(Exception, match="readonly"),
    ):
        conn.execute(text("DELETE FROM platform_integrations"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite://", "an in-memory database cannot be read"),
        ("sqlite:////nonexistent/platform.db", "no such database file"),
        ("mysql://u:pw@db/x", "only SQLite and PostgreSQL"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(DatabaseError, match=says):
        DatabaseReader(url)


def test_missing_tables_and_columns_are_named(database: Path) -> None:
    with DatabaseReader(f"sqlite:///{database}") as db:
        with pytest.raises(DatabaseError, match="no table 'platform_users'"):
            db.rows("platform_users")
        with pytest.raises(DatabaseError, match="has no column 'owner'"):
            db.rows("platform_integrations", where={"owner": "u1"})


def test_a_password_in_the_url_is_never_shown() -> None:
    with pytest.raises(DatabaseError) as caught:
        DatabaseReader("mysql://reader:hunter2-secret@db.internal/x")
    assert "hunter2-secret" not in str(caught.value)
