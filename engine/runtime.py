"""The process-wide collaborators services need, built once per process.

A ``Runtime`` owns the database engine, the caches, the sandboxed script engine and the
candidate resolver. It is passed around explicitly (as ``uow.runtime``), never reached
through a global, so a scheduler job and a web request build their units of work the same
way and tests can run several runtimes side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from .assignment import CandidateResolver, Escalation, default_resolver, no_escalation
from .cache import SpecCache, WorkflowCache
from .clock import install_spiff_clock
from .completion_checks import CompletionCheck
from .db import UnitOfWork, make_engine, session_factory
from .decisions import DecisionCache
from .directory import Directory, OpenDirectory
from .operators import Operator
from .scripting import create_script_engine
from .settings import Settings
from .task_columns import CodeColumns, TaskColumns

log = logging.getLogger(__name__)

#: Told, after a commit, the instance events (``instance_event`` rows as dicts) it wrote.
EventListener = Callable[["Runtime", list[dict[str, Any]]], None]
#: Told, in the transaction just before it commits, the instance events it wrote; what it
#: writes commits with them (``Runtime.add_event_writer``).
EventWriter = Callable[[UnitOfWork, list[dict[str, Any]]], object]
#: Told, after a commit, that it changed the pending timers (``Runtime.timers_changed``).
TimerListener = Callable[["Runtime"], None]

#: The PostgreSQL channel a transaction that changed the pending timers notifies on commit,
#: so a scheduler in another process re-arms (``LISTEN irpm_timers``).
TIMERS_CHANNEL = "irpm_timers"


class Runtime:
    def __init__(self, settings: Settings | None = None, *,
                 resolver: CandidateResolver = default_resolver,
                 script_globals: dict[str, Any] | None = None,
                 db_engine: Engine | None = None,
                 directory: Directory | None = None,
                 lane_roles: frozenset[str] | None = None,
                 task_columns: TaskColumns | None = None) -> None:
        install_spiff_clock()
        self.settings = settings or Settings.from_env()
        self.db = db_engine or make_engine(self.settings.database_url,
                                           echo=self.settings.sql_echo)
        self._writers = session_factory(self.db, write=True)
        self._readers = session_factory(self.db, write=False)
        self.specs = SpecCache()
        self.workflows = WorkflowCache(self.settings.workflow_cache_size)
        self.script_engine = create_script_engine(script_globals,
                                                  self.settings.script_budget)
        #: Parsed decision tables by content hash, and the tables of each process version
        #: (``engine.services.decisions``: a table evaluated outside a business-rule task).
        self.decisions = DecisionCache()
        self.resolver = resolver
        #: Where a task goes when its ``excludes`` (回避, ``engine.separation``) leave none of
        #: its candidates: one level up (``assignment.Escalation``); by default nowhere —
        #: the administrators get it.
        self.escalation: Escalation = no_escalation
        #: Who people are: logins, their groups, group members (``engine.directory``).
        self.directory: Directory = directory or OpenDirectory()
        #: The lane names the resolver understands — what the designer's lint accepts as a
        #: user task's lane; None accepts any lane (the default resolver takes the lane id
        #: as the candidate group).
        self.lane_roles = lane_roles
        #: What task lists show and search beside a task's codes (``engine.task_columns``):
        #: unit, department and post names, a post's level.
        self.task_columns: TaskColumns = task_columns or CodeColumns()
        #: Service-task operators by name (``engine.operators``); domain modules add theirs.
        self.operators: dict[str, Operator] = {}
        #: Checks a user task's answer must pass before it completes, by the name its
        #: ``completionCheck`` property gives (``engine.completion_checks``).
        self.completion_checks: dict[str, CompletionCheck] = {}
        #: Called after each commit that wrote instance events (``add_event_listener``).
        self.event_listeners: list[EventListener] = []
        #: Called in each transaction that wrote instance events, before it commits
        #: (``add_event_writer``).
        self.event_writers: list[EventWriter] = []
        #: Called after each commit that changed the pending timers (``add_timer_listener``).
        self.timer_listeners: list[TimerListener] = []
        #: What add-ons keep per runtime (e.g. the notification settings), by name.
        self.extensions: dict[str, Any] = {}

    def register_operator(self, name: str, operator: Operator) -> None:
        self.operators[name] = operator

    def add_event_listener(self, listener: EventListener) -> None:
        """Tell ``listener`` the events of every transaction once it has committed (e.g. to
        notify people of new tasks). It runs in the committing thread, opens its own units of
        work, and what it raises is logged, never passed to the service that committed."""
        if listener not in self.event_listeners:
            self.event_listeners.append(listener)

    def add_event_writer(self, writer: EventWriter) -> None:
        """Have ``writer`` write what follows from the events of every transaction (e.g. the
        notifications of new tasks) in that transaction, just before it commits: one
        transaction for the step and what it causes, written exactly once, or neither. What
        it raises fails the commit, so it must only fail where the step should."""
        if writer not in self.event_writers:
            self.event_writers.append(writer)

    def events_written(self, uow: UnitOfWork, events: list[dict[str, Any]]) -> None:
        """Note events written in ``uow``'s transaction for the writers (before the commit)
        and listeners (after it) (see ``execution.mirror.write_events``); dropped if the
        transaction rolls back."""
        if not (self.event_listeners or self.event_writers) or not events:
            return
        if not uow.outbox:
            if self.event_writers:
                uow.before_commit(lambda: self._write(uow))
            if self.event_listeners:
                uow.after_commit(lambda: self._dispatch(uow))
        uow.outbox.extend(dict(event) for event in events)

    def _write(self, uow: UnitOfWork) -> None:
        events = list(uow.outbox)
        if not self.event_listeners:
            uow.outbox.clear()  # nobody after the commit: the next transaction starts anew
        for writer in list(self.event_writers):
            writer(uow, events)

    def _dispatch(self, uow: UnitOfWork) -> None:
        events, uow.outbox = uow.outbox, []
        for listener in list(self.event_listeners):
            try:
                listener(self, events)
            except Exception:  # a listener's failure must not undo a committed step
                log.exception("event listener %r failed", listener)

    def add_timer_listener(self, listener: TimerListener) -> None:
        """Tell ``listener``, after each commit, that the transaction changed the pending
        timers (e.g. so a scheduler re-arms); like an event listener, it runs in the
        committing thread and what it raises is logged."""
        if listener not in self.timer_listeners:
            self.timer_listeners.append(listener)

    def remove_timer_listener(self, listener: TimerListener) -> None:
        if listener in self.timer_listeners:
            self.timer_listeners.remove(listener)

    def timers_changed(self, uow: UnitOfWork) -> None:
        """Note that ``uow``'s transaction changed what a scheduler waits for: it created,
        fired or cancelled timers, made an instance's timers count or stop counting (suspend,
        resume, error, retry, terminate, complete), or moved or switched the clock.

        Once per transaction: on PostgreSQL a ``NOTIFY irpm_timers`` goes into the
        transaction itself (delivered only if it commits, to every process listening); the
        timer listeners of this process are called after the commit.
        """
        if uow.timers_changed:
            return
        uow.timers_changed = True
        if not uow.is_sqlite:
            uow.session.connection().exec_driver_sql(f"NOTIFY {TIMERS_CHANNEL}")
        if self.timer_listeners:
            uow.after_commit(self._timers_dispatch)

    def _timers_dispatch(self) -> None:
        for listener in list(self.timer_listeners):
            try:
                listener(self)
            except Exception:  # a listener's failure must not undo a committed step
                log.exception("timer listener %r failed", listener)

    def uow(self, *, write: bool = True) -> UnitOfWork:
        """A new unit of work; ``write=False`` for pure reads (no SQLite write lock)."""
        return UnitOfWork(self._writers if write else self._readers, self, write=write)

    def close(self) -> None:
        self.db.dispose()
