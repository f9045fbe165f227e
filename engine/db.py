"""Database engines and the unit of work — the single transaction boundary.

Services receive a ``UnitOfWork`` and are the only code that commits. SQLite is tuned for
cheap durable commits (WAL, ``synchronous=NORMAL``) and write transactions start with
``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a lock upgrade; on
PostgreSQL the services lock the instance row with ``SELECT ... FOR UPDATE`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from . import audit_chain
from .errors import ConcurrentUpdate

if TYPE_CHECKING:  # the runtime makes units of work; imported for the type only
    from .runtime import Runtime

SQLITE_BUSY_TIMEOUT_MS = 30_000

log = logging.getLogger(__name__)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL and explicit transaction control."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("irpm_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class UnitOfWork:
    """One transaction. ``with uow: ...; uow.commit()`` — leaving without commit rolls back.

    ``write=True`` takes SQLite's write lock at the start, so a read-modify-write service
    cannot be overtaken between its read and its write.
    """

    def __init__(self, session_factory: Callable[[], Session], runtime: Runtime, *,
                 write: bool = True) -> None:
        self._session_factory = session_factory
        #: Informational: the factory decides how transactions begin (see session_factory).
        self.write = write
        #: The process-wide collaborators (spec and workflow caches, script engine, resolver,
        #: directory, operators, listeners) of the runtime that made this unit of work.
        self.runtime = runtime
        self.session: Session
        self._before_commit: list[Callable[[], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []
        #: Instance events written in this transaction, for the runtime's event writers (just
        #: before the commit) and listeners (once it committed): ``Runtime.events_written``.
        self.outbox: list[dict[str, Any]] = []
        #: Set once this transaction changed the pending timers (``Runtime.timers_changed``).
        self.timers_changed = False
        #: Per caller instance, how many of its background call activities this transaction
        #: may start (``engine.jobs``): set by the job that starts them, else empty.
        self.call_allowance: dict[int, int] = {}

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back anything uncommitted without expiring loaded objects, so
        # results stay readable after the unit of work ends.
        self.session.close()
        self._before_commit.clear()
        self._after_commit.clear()
        self.outbox.clear()
        self.timers_changed = False
        self._run_after_rollback()
        if isinstance(exc, DBAPIError) and _is_contention(exc):
            raise ConcurrentUpdate("the database refused this change because another request "
                                   "changed the same data at the same time; try again") from exc

    @property
    def is_sqlite(self) -> bool:
        bind = self.session.get_bind()
        return bind.dialect.name == "sqlite"

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` in the transaction, just before it commits (what it writes
        commits with the rest; what it raises fails the commit). Callbacks it adds run too,
        in order; a rollback drops them."""
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` only once the transaction is durable (e.g. refill a cache)."""
        self._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has ended without committing (rolled back,
        or left without a commit) — for what must be written even though the transaction
        that found it failed, such as marking an instance whose state cannot be read
        (``engine.execution.unreadable``). The callback opens its own unit of work; what it
        raises is logged, never passed on. A commit drops it."""
        self._after_rollback.append(callback)

    def _run_after_rollback(self) -> None:
        callbacks, self._after_rollback = self._after_rollback, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the failure that brought us here is the one to report
                log.exception("after-rollback callback %r failed", callback)

    def commit(self) -> None:
        while self._before_commit:
            self._before_commit.pop(0)()
        self.session.commit()
        self._after_rollback.clear()
        self.timers_changed = False
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        """Undo everything since the last commit, with what was to follow it (after-commit
        callbacks, outbox); the unit of work can go on with a fresh transaction."""
        self.session.rollback()
        self._before_commit.clear()
        self._after_commit.clear()
        self.outbox.clear()
        self.timers_changed = False
        self._run_after_rollback()


#: PostgreSQL deadlock_detected / serialization_failure / lock_not_available.
_CONTENTION_SQLSTATES = {"40P01", "40001", "55P03"}


def _is_contention(exc: DBAPIError) -> bool:
    """A lost race the client can retry, as opposed to a bug or an outage."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _CONTENTION_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def session_factory(engine: Engine, *, write: bool) -> sessionmaker[Session]:
    """Sessions whose every transaction is a write transaction (``BEGIN IMMEDIATE`` on
    SQLite) or a plain read; a unit of work may commit several times. Each commit writes
    the audit chains' queued rows first (``audit_chain.seal``)."""
    bind = engine.execution_options(irpm_write=True) if write else engine
    factory = sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
    audit_chain.install(factory)
    return factory
