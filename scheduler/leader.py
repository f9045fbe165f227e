"""Leadership: at most one scheduler fires jobs for a database, the others wait as standby.

* **PostgreSQL** — a session-level advisory lock (``pg_try_advisory_lock(LOCK_KEY)``) held on
  a connection of its own, opened with psycopg outside any pool, in autocommit. A standby
  tries again every ``IRPM_SCHEDULER_STANDBY_POLL`` seconds. The lock lives as long as the
  session: when the leader dies (even ``kill -9``) its connection closes, the server drops the
  lock and a standby takes over within a poll. TCP keepalives on the session make a
  vanished host count as dead within about half a minute. The same connection ``LISTEN``\\ s
  on ``irpm_timers``, so the leader hears every other process's timer changes the moment they
  commit (``engine.runtime.TIMERS_CHANNEL``); between notifications it checks the session
  every second and steps down if it is gone.
* **SQLite** — one machine, and in practice one process: an exclusive ``flock`` on
  ``<database file>.scheduler.lock`` (the holder's host and pid written into it). A second
  scheduler on the same file waits as standby exactly as on PostgreSQL. SQLite has no
  NOTIFY: changes committed by *other* processes (an ``irpm`` command in another shell) are
  noticed through ``PRAGMA data_version``, read once a second on a connection of its own;
  changes in the scheduler's own process reach it at once through the runtime's timer
  listener.
* **In-memory SQLite** — nothing to share: the scheduler always leads.

Whatever the lock, the engine never fires one timer twice: an instance is fired under its
row lock (or SQLite's write lock) and its timer is gone, or moved on, when that commits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import make_url

from engine.runtime import TIMERS_CHANNEL

log = logging.getLogger(__name__)

#: The advisory lock key: "irpmschd" as a big-endian 64-bit integer (advisory locks are per
#: database, so one key serves every IRPM database on a server).
LOCK_KEY = int.from_bytes(b"irpmschd", "big")
#: Seconds between checks, while leading, that the lock's session is still there.
CHECK_SECONDS = 1.0
APPLICATION_NAME = "irpm-scheduler"


class LeadershipLost(Exception):
    """The lock's session or file went away: whoever held it leads no more."""


class Leadership(Protocol):
    def acquire(self) -> bool:
        """Take the lead if nobody holds it; never waits."""

    def wait(self, timeout: float) -> bool:
        """While leading: wait up to ``timeout`` seconds for news that another process
        changed the timers; True if some came. Raises ``LeadershipLost``."""

    def release(self) -> None:
        """Give up the lead (also safe when not leading)."""

    def describe(self) -> str:
        """Where the lock is, for logs."""


def identity() -> str:
    """This process, as other processes and logs see it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def leadership_for(database_url: str, stop: threading.Event) -> Leadership:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PgLeadership(database_url, stop)
    if backend == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            return FileLeadership(Path(url.database), stop)
        return LocalLeadership(stop)
    raise ValueError(f"the scheduler supports PostgreSQL and SQLite, not {backend}")


def pg_connect_args(database_url: str) -> dict[str, Any]:
    """libpq keywords for a SQLAlchemy PostgreSQL URL (postgresql+psycopg://...)."""
    url = make_url(database_url)
    args: dict[str, Any] = {k: v for k, v in url.translate_connect_args(
        username="user", database="dbname").items() if v is not None}
    args.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    return args


class PgLeadership:
    def __init__(self, database_url: str, stop: threading.Event) -> None:
        self._args = pg_connect_args(database_url)
        self._stop = stop
        self._conn: psycopg.Connection[Any] | None = None
        self._leading = False

    def describe(self) -> str:
        host = self._args.get("host", "local socket")
        return (f"PostgreSQL advisory lock {LOCK_KEY} on {self._args.get('dbname', '?')} at "
                f"{host}:{self._args.get('port', 5432)}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                autocommit=True, application_name=f"{APPLICATION_NAME} {identity()}",
                connect_timeout=10, keepalives=1, keepalives_idle=10, keepalives_interval=5,
                keepalives_count=3, **self._args)
            # The server side too: a leader whose host vanished lets go within ~25 s.
            for name, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5),
                                ("tcp_keepalives_count", 3)):
                self._conn.execute(f"SET {name} = {value}")
        return self._conn

    def acquire(self) -> bool:
        try:
            conn = self._connection()
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if not (row and row[0]):
                return False
            conn.execute(f"LISTEN {TIMERS_CHANNEL}")
        except psycopg.Error as exc:
            self._drop()
            raise LeadershipLost(f"cannot reach the database for the lock: {exc}") from exc
        self._leading = True
        return True

    def wait(self, timeout: float) -> bool:
        conn = self._conn
        if conn is None or not self._leading:
            raise LeadershipLost("not leading")
        try:
            for _notify in conn.notifies(timeout=min(timeout, CHECK_SECONDS), stop_after=1):
                return True
            conn.execute("SELECT 1")  # the session (and with it the lock) is still there
            return False
        except psycopg.Error as exc:
            self._drop()
            raise LeadershipLost(f"the lock's session is gone: {exc}") from exc

    def release(self) -> None:
        self._leading = False
        self._drop()  # closing the session releases the lock and the LISTEN

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._leading = False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class FileLeadership:
    def __init__(self, database: Path, stop: threading.Event) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".scheduler.lock")
        self._stop = stop
        self._fd: int | None = None
        self._watch: sqlite3.Connection | None = None
        self._version: int | None = None

    def describe(self) -> str:
        return f"lock file {self.path}"

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{identity()}\n".encode())
        self._fd = fd
        self._watch = sqlite3.connect(self.database, check_same_thread=False)
        self._version = self._data_version()
        return True

    def _data_version(self) -> int:
        assert self._watch is not None
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> bool:
        if self._fd is None:
            raise LeadershipLost("not leading")
        self._stop.wait(min(timeout, CHECK_SECONDS))
        try:
            version = self._data_version()
        except sqlite3.Error as exc:
            raise LeadershipLost(f"cannot read the database: {exc}") from exc
        changed, self._version = version != self._version, version
        return changed

    def release(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            with contextlib.suppress(Exception):
                watch.close()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor releases the flock


def file_lock_holder(database: Path) -> str | None:
    """Who holds a SQLite database's scheduler lock (host:pid), or None if nobody does."""
    path = database.with_name(database.name + ".scheduler.lock")
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return path.read_text(encoding="utf-8").strip() or "unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def pg_lock_holder(database_url: str) -> str | None:
    """Who holds the PostgreSQL scheduler lock (its application name), or None."""
    with psycopg.connect(autocommit=True, connect_timeout=10,
                         **pg_connect_args(database_url)) as conn:
        row = conn.execute(
            "SELECT a.application_name, a.pid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            (LOCK_KEY,)).fetchone()
    if row is None:
        return None
    name, pid = row
    return name.removeprefix(f"{APPLICATION_NAME} ") if name else f"backend {pid}"


class LocalLeadership:
    """In-memory SQLite: one process, one database; the scheduler always leads."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def describe(self) -> str:
        return "this process (in-memory database)"

    def acquire(self) -> bool:
        return True

    def wait(self, timeout: float) -> bool:
        self._stop.wait(min(timeout, CHECK_SECONDS))
        return False

    def release(self) -> None:
        pass
