"""Writing many instances' rows in few statements: inside ``batched(uow)`` (a batch of timer
firings), the writes a save sends for every instance — its new task and candidate rows, its
timer rows, its variable rows, the update of its own row — are queued and go out as one
``executemany`` per statement instead of a statement per instance.

Why it stays correct without the callers knowing: the queue is sent before any other
statement reaches the transaction's connection (a ``before_execute`` hook on it) and when
the batch ends, so whatever reads the tables — a later step of the batch, an operator, the
notifications, the audit chain's seal — reads them as if each write had gone at once. The
queue merges a write into an earlier statement of the same kind only past writes of other
instances (writes of different instances touch different rows and commute), so the order
of one instance's writes is kept. A checked write (an instance row updated where its
revision matches) counts its rows when it is sent: one missed is ``ConcurrentUpdate``, as it
would have been at once, and a batch in which that happens is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.sql import Executable

from .db import UnitOfWork
from .errors import ConcurrentUpdate

_KEY = "irpm_write_behind"


@dataclass
class _Run:
    """One statement and the rows queued for it, of these instances."""

    statement: Executable
    rows: list[Mapping[str, Any]]
    instances: set[int]
    #: What a row that matches nothing means (a lost race), or None when that is fine (the
    #: first instance's words: runs merge whenever both or neither are checked).
    missed: str | None


@dataclass
class WriteBehind:
    """The writes queued in one transaction, and what the batch knows of its instances'
    mirrored variables (read for the whole batch at once)."""

    runs: list[_Run] = field(default_factory=list)
    #: instance id → its ``instance_variable`` rows (name → value), as written so far.
    variables: dict[int, dict[str, str]] = field(default_factory=dict)
    sending: bool = False

    def add(self, statement: Executable, instance_id: int, rows: Sequence[Mapping[str, Any]],
            missed: str | None) -> None:
        for run in reversed(self.runs):
            if run.statement is statement and (run.missed is None) == (missed is None):
                run.rows.extend(rows)
                run.instances.add(instance_id)
                return
            if instance_id in run.instances:
                break  # this instance wrote something since: keep its order
        self.runs.append(_Run(statement, list(rows), {instance_id}, missed))

    def send(self, connection: Connection) -> None:
        if self.sending or not self.runs:
            return
        self.sending = True
        try:
            while self.runs:
                run = self.runs.pop(0)
                result = connection.execute(run.statement, run.rows)
                if run.missed is not None and result.rowcount != len(run.rows):
                    self.runs.clear()
                    raise ConcurrentUpdate(run.missed if len(run.instances) == 1 else
                                           "one of the process instances "
                                           f"{', '.join(map(str, sorted(run.instances)))} was "
                                           "changed by another request; try again")
        finally:
            self.sending = False


def current(uow: UnitOfWork) -> WriteBehind | None:
    """The queue of ``uow``'s transaction while ``batched``, else None."""
    found = uow.session.info.get(_KEY)
    return found if isinstance(found, WriteBehind) else None


def write(uow: UnitOfWork, statement: Executable, instance_id: int,
          rows: Sequence[Mapping[str, Any]], *, missed: str | None = None) -> None:
    """Send ``statement`` with ``rows`` (of ``instance_id``) now, or queue it while
    ``batched``. With ``missed``: every row must match one row in the database, else
    ``ConcurrentUpdate(missed)``."""
    if not rows:
        return
    queue = current(uow)
    if queue is not None:
        queue.add(statement, instance_id, rows, missed)
        return
    result = uow.session.connection().execute(statement, rows if len(rows) > 1 else rows[0])
    if missed is not None and result.rowcount != len(rows):
        raise ConcurrentUpdate(missed)


@contextmanager
def batched(uow: UnitOfWork) -> Iterator[WriteBehind]:
    """Queue the rows written meanwhile (``write``) and send them as few statements — before
    any other statement of the transaction, and at the end. A failure inside drops the
    queue: the caller rolls the transaction back."""
    if current(uow) is not None:  # already batched further out
        yield uow.session.info[_KEY]
        return
    connection = uow.session.connection()
    queue = WriteBehind()

    def send_first(conn: Connection, *_args: Any) -> None:
        queue.send(conn)

    uow.session.info[_KEY] = queue
    event.listen(connection, "before_execute", send_first)
    try:
        yield queue
        queue.send(connection)
    finally:
        event.remove(connection, "before_execute", send_first)
        del uow.session.info[_KEY]
