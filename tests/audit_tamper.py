"""Tampering with an audit chain as someone who owns the database would: past the triggers
that refuse UPDATE and DELETE to the application. On SQLite the triggers are dropped from
the file; on PostgreSQL a superuser disables them for one transaction (``DISABLE TRIGGER
USER`` … ``ENABLE``: DDL is transactional, so the schema is as before and only the rows
changed)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def tamper(url: str, table: str, *statements: str) -> None:
    """Run ``statements`` on ``table``'s database with its append-only triggers out of the
    way."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database
        with closing(sqlite3.connect(parsed.database)) as conn:
            for name, in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                      "AND tbl_name = ?", (table,)).fetchall():
                conn.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                conn.execute(text(statement))
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    finally:
        engine.dispose()


def copy_of(url: str, where: Path) -> str:
    """SQLite: a copy of the database file (SQLite's online backup: the write-ahead log's
    pages included), to tamper with instead of the original; PostgreSQL: the URL itself —
    the test's database is already a copy, restored from its template for each test."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    assert parsed.database
    target = where / "tampered.db"
    with closing(sqlite3.connect(parsed.database)) as source, \
            closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"
