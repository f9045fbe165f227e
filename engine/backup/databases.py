"""Dumping and loading the database, per kind.

- **SQLite**: the online backup API (``sqlite3.Connection.backup``) copies the live database
  in one step under a read transaction — a consistent copy while the app and the scheduler
  write — and loading copies the dump over the target the same way, in one step.
- **PostgreSQL**: ``pg_dump --format=custom`` of the schema the app uses, from a snapshot
  this module exports (``pg_export_snapshot``), so the row counts and schema revision it
  records are those of the dump; loading pipes ``pg_restore``'s SQL into ``psql
  --single-transaction``: the load (and, when replacing, the drop before it) commits whole
  or not at all. Owners and privileges are not restored: the restoring role owns what it
  loads. The password goes to the tools in a temporary passfile, never on a command line.

Each dump also reads the facts the manifest records: the Alembic revision, rows per table
and the evidence files the database refers to.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL

from . import BackupFailed, BackupRefused

__all__ = ["Dump", "PgTools", "dump_database", "load_database", "objects_in", "row_counts"]

PG_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_TIMEOUT = 30.0


@dataclass(frozen=True)
class Dump:
    path: Path
    revision: str | None
    tables: dict[str, int]
    #: The SHA-256 of every evidence file the database refers to.
    evidence: list[str]


@dataclass(frozen=True)
class PgTools:
    """Where ``pg_dump``, ``pg_restore`` and ``psql`` are: ``bin_dir`` (IRPM_PG_BIN_DIR),
    else the PATH, else the newest ``/usr/lib/postgresql/*/bin`` (Debian's layout)."""

    bin_dir: Path | None = None

    def path(self, tool: str) -> str:
        if self.bin_dir is not None:
            if (self.bin_dir / tool).is_file():
                return str(self.bin_dir / tool)
            raise BackupFailed(f"{tool} is not in IRPM_PG_BIN_DIR ({self.bin_dir})")
        found = shutil.which(tool)
        if found:
            return found
        for bin_dir in sorted(Path("/").glob(PG_BIN_DIRS.lstrip("/")), reverse=True):
            if (bin_dir / tool).is_file():
                return str(bin_dir / tool)
        raise BackupFailed(f"{tool} was not found: install the PostgreSQL client tools "
                           "(apt-get install postgresql-client) or set IRPM_PG_BIN_DIR")

    def run(self, tool: str, *args: str, stdin: Any = None) -> str:
        """Run ``tool``; its output, or ``BackupFailed`` with what it wrote to stderr."""
        done = subprocess.run([self.path(tool), *args], stdin=stdin, capture_output=True,
                              check=False)
        if done.returncode != 0:
            raise BackupFailed(f"{tool} failed (exit {done.returncode}): "
                               f"{_last_lines(done.stderr)}")
        return done.stdout.decode("utf-8", "replace")


def _last_lines(stderr: bytes, count: int = 5) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "no message"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _facts(query: Callable[[str], Sequence[Any]], tables: list[str]) -> tuple[
        str | None, dict[str, int], list[str]]:
    counts = {t: int(query(f"SELECT count(*) FROM {_quoted(t)}")[0][0]) for t in tables}
    revision = (str(query("SELECT version_num FROM alembic_version")[0][0])
                if counts.get("alembic_version") else None)
    evidence = (sorted(str(row[0]) for row in query("SELECT DISTINCT sha256 FROM evidence"))
                if "evidence" in counts else [])
    return revision, counts, evidence


# ----------------------------------------------------------------------------- dump


def dump_database(engine: Engine, into: Path, tools: PgTools) -> Dump:
    """A consistent dump of ``engine``'s database as a file under ``into``."""
    if engine.dialect.name == "sqlite":
        return _dump_sqlite(_sqlite_file(engine.url), into / "irpm.sqlite3")
    if engine.dialect.name == "postgresql":
        return _dump_postgres(engine, into / "irpm.pgdump", tools)
    raise BackupFailed(f"backups of {engine.dialect.name} databases are not supported "
                       "(SQLite and PostgreSQL are)")


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupFailed("the SQLite database is in memory: there is no file to back up")
    return Path(url.database)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [name for name, in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _dump_sqlite(source: Path, target: Path) -> Dump:
    if not source.is_file():
        raise BackupFailed(f"the database file {source} does not exist")
    with closing(sqlite3.connect(source, timeout=_TIMEOUT)) as live, \
            closing(sqlite3.connect(target)) as copy:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        revision, tables, evidence = _facts(lambda sql: copy.execute(sql).fetchall(),
                                            _sqlite_tables(copy))
    return Dump(target, revision, tables, evidence)


def _dump_postgres(engine: Engine, target: Path, tools: PgTools) -> Dump:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            conn.begin(), _Libpq(engine.url) as libpq:
        snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
        schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar())
        tools.run("pg_dump", "--format=custom", f"--schema={_quoted(schema)}",
                  f"--snapshot={snapshot}", f"--file={target}", f"--dbname={libpq.conninfo}")
        tables = sorted(inspect(conn).get_table_names(schema=schema))
        facts = _facts(lambda sql: list(conn.exec_driver_sql(sql)), tables)
    return Dump(target, *facts)


class _Libpq:
    """A libpq connection string for ``url`` (without its password) and, while in use, a
    passfile holding the password (removed afterwards)."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.conninfo = ""

    def __enter__(self) -> _Libpq:
        url = self.url
        parts: dict[str, Any] = {"host": url.host, "port": url.port, "user": url.username,
                                 "dbname": url.database, **dict(url.query)}
        if url.password:
            self._dir = tempfile.TemporaryDirectory(prefix="irpm-pg-")
            passfile = Path(self._dir.name) / "pgpass"
            secret = str(url.password).replace("\\", "\\\\").replace(":", "\\:")
            passfile.touch(mode=0o600)
            passfile.write_text(f"*:*:*:*:{secret}\n", encoding="utf-8")
            parts["passfile"] = str(passfile)
        self.conninfo = " ".join(f"{key}={_libpq_value(value)}" for key, value in parts.items()
                                 if value not in (None, "") and not isinstance(value, tuple))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._dir is not None:
            self._dir.cleanup()


def _libpq_value(value: object) -> str:
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ----------------------------------------------------------------------------- load


def objects_in(engine: Engine) -> list[str]:
    """What the target database already holds (tables, views, sequences; on PostgreSQL
    functions too) in the schema the app uses: empty for a new database."""
    if engine.dialect.name == "sqlite":
        path = _sqlite_file(engine.url)
        if not path.exists():
            return []
        try:
            with closing(sqlite3.connect(path, timeout=_TIMEOUT)) as conn:
                return [name for name, in conn.execute(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                    "ORDER BY name")]
        except sqlite3.DatabaseError as exc:
            raise BackupRefused(f"the target {path} is not an SQLite database ({exc}): "
                                "restore into a new file") from None
    with engine.connect() as conn:
        return [str(name) for name, in conn.exec_driver_sql(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f') UNION ALL "
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
            "ORDER BY 1")]


def load_database(engine: Engine, dump: Path, tools: PgTools, *, replace: bool) -> None:
    """Load ``dump`` into ``engine``'s database, in one step: all of it or nothing.
    ``replace``: drop what is there first (in the same step)."""
    engine.dispose()  # no pooled connection holds the target while it is loaded
    if engine.dialect.name == "sqlite":
        target = _sqlite_file(engine.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(dump)) as source, \
                closing(sqlite3.connect(target, timeout=_TIMEOUT)) as live:
            source.backup(live)  # replaces every page of the target, in one transaction
        return
    _load_postgres(engine, dump, tools, replace=replace)


def _load_postgres(engine: Engine, dump: Path, tools: PgTools, *, replace: bool) -> None:
    with engine.connect() as conn:
        schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar())
    engine.dispose()
    # The schema exists in the target (created empty, or re-created below): leave its own
    # entries out of the load.
    own = re.compile(rf"^\d+; \d+ \d+ (SCHEMA - |COMMENT - SCHEMA ){re.escape(schema)} ")
    listing = dump.with_suffix(".list")
    listing.write_text("".join(f"{line}\n" for line in tools.run("pg_restore", "--list",
                                                                  str(dump)).splitlines()
                               if not own.match(line)), encoding="utf-8")
    first = ["--command", f"DROP SCHEMA {_quoted(schema)} CASCADE; "
                          f"CREATE SCHEMA {_quoted(schema)};"] if replace else []
    with _Libpq(engine.url) as libpq, tempfile.TemporaryFile() as errors:
        restore = subprocess.Popen(
            [tools.path("pg_restore"), "--no-owner", "--no-privileges",
             f"--use-list={listing}", "--file=-", str(dump)],
            stdout=subprocess.PIPE, stderr=errors)
        try:
            tools.run("psql", "--no-psqlrc", "--quiet", "--single-transaction",
                      "--set=ON_ERROR_STOP=1", f"--dbname={libpq.conninfo}", *first,
                      "--file=-", stdin=restore.stdout)
        finally:
            assert restore.stdout is not None
            restore.stdout.close()
            code = restore.wait()
        if code != 0:
            errors.seek(0)
            raise BackupFailed(f"pg_restore failed (exit {code}): {_last_lines(errors.read())}")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the database as it is now."""
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        return _facts(lambda sql: list(conn.exec_driver_sql(sql)), tables)[1]


def refuse_kind(kind: str, engine: Engine) -> None:
    if engine.dialect.name != kind:
        raise BackupRefused(f"it is a backup of a {kind} database and the target is "
                            f"{engine.dialect.name}: restore into a {kind} database (moving "
                            "between kinds is not supported)")
