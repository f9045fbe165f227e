"""Checking an instance out for one transaction: its definition loaded (through the spec
cache), its row locked, its workflow taken from the workflow cache or deserialized, all held
in a ``Live``; and new workflows and instances, which start out as a ``Live`` too.

Separate because everything else in ``engine.execution`` works on the ``Live`` this module
hands out; of them it depends only on ``workflow`` (what a checked-out workflow waits on).
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from ..cache import LoadedDefinition
from ..clock import SystemClock
from ..db import UnitOfWork
from ..errors import IrpmError, NotFound
from ..models import (
    ACTIVE_STATUSES,
    EventType,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    simulated_now_column,
)
from ..serialization import load_spec, load_state
from .workflow import MessageWaitKey, message_waits, ready_human_tasks, waiting_timers


@dataclass
class Live:
    """An instance checked out for one transaction."""

    instance: ProcessInstance
    definition: LoadedDefinition
    workflow: BpmnWorkflow
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[str, str | None] | None = None
    #: The open task ids and timers the database holds for this revision. Known from the
    #: workflow itself when the mirror is trusted (it is written from the same state);
    #: ``None`` makes ``save`` read them from the database instead.
    known_open: set[uuid.UUID] | None = None
    known_timers: set[tuple[uuid.UUID, datetime]] | None = None
    #: The transaction this checkout belongs to: service-task operators and call
    #: activities act in it.
    uow: UnitOfWork | None = None
    #: Set once a completed child has handed its result to its caller.
    parent_notified: bool = False
    #: Whether the instance's timers counted (running or waiting) when it was checked out:
    #: a change of that is a change for the scheduler (``Runtime.timers_changed``).
    was_active: bool = False
    #: Messages to catch once the engine run in progress ends (``amend``: a message for an
    #: instance in the middle of its own step), caught and run on by ``save``.
    pending_messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Why the open tasks' candidates must be resolved again from the data at ``save``
    #: (``amend``: the data lanes resolve from changed), or None.
    reroute: str | None = None
    #: The errors and escalations this (child) instance threw that nothing in it caught,
    #: on their way to its caller (``calls.escaped_events``).
    to_caller: list[Any] = field(default_factory=list)
    #: Set on a (child) instance whose call activity an interrupting boundary event of the
    #: caller cancelled meanwhile: it must end, as SpiffWorkflow cancels the subworkflow.
    call_cancelled: bool = False
    #: The waiting message catches the ``message_wait`` rows hold for this revision
    #: (``workflow.message_waits``); ``None`` makes ``save`` read them from the database.
    known_waits: set[MessageWaitKey] | None = None
    #: Messages another instance threw to this one while its engine was running (a
    #: service task's operator acting on that instance), with their correlations: caught
    #: by ``save``, like ``pending_messages``.
    pending_events: list[BpmnEvent] = field(default_factory=list)

    def log(self, type_: EventType, *, actor: str | None = None, task_id: uuid.UUID | None = None,
            element_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.events.append({
            "instance_id": self.instance.id, "at": self.now, "type": type_.value,
            "actor": actor, "task_id": task_id, "element_id": element_id, "data": data,
        })


def load_definition(uow: UnitOfWork, definition_id: int) -> LoadedDefinition:
    cache = uow.runtime.specs
    loaded = cache.get(definition_id)
    if loaded is None:
        row = uow.session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        loaded = LoadedDefinition(row.id, row.process_id, row.version, row.name,
                                  load_spec(row.spec), row.catalog)
        cache.put(loaded)
    return loaded


def lock_instance(uow: UnitOfWork, instance_id: int) -> tuple[ProcessInstance, datetime]:
    """Read the instance for update, and the clock with it; writers of one instance queue
    here (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the lock)."""
    stmt = (select(ProcessInstance, simulated_now_column())
            .where(ProcessInstance.id == instance_id)
            .options(defer(ProcessInstance.state)))  # loaded only if the cache misses
    if not uow.is_sqlite:
        stmt = stmt.with_for_update(of=ProcessInstance)
    row = uow.session.execute(stmt.execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return row[0], clock_reading(row[1])


def lock_instances(uow: UnitOfWork, instance_ids: list[int]) -> list[ProcessInstance]:
    """Read many instances for update in one statement, in id order, with the state only of
    those the workflow cache does not hold (one more statement).

    On PostgreSQL, instances another transaction holds are skipped (``SKIP LOCKED``), not
    waited for: the caller takes them one by one afterwards (``lock_instance``), so a batch
    never waits while holding other locks.
    """
    if not instance_ids:
        return []
    stmt = (select(ProcessInstance).where(ProcessInstance.id.in_(instance_ids))
            .order_by(ProcessInstance.id).options(defer(ProcessInstance.state)))
    if not uow.is_sqlite:
        stmt = stmt.with_for_update(of=ProcessInstance, skip_locked=True)
    found = list(uow.session.scalars(stmt.execution_options(populate_existing=True)))
    cache = uow.runtime.workflows
    by_id = {i.id: i for i in found if not cache.holds(i.id, i.revision)}
    if by_id:
        for instance_id, state in uow.session.execute(
                select(ProcessInstance.id, ProcessInstance.state)
                .where(ProcessInstance.id.in_(list(by_id)))):
            set_committed_value(by_id[instance_id], "state", state)
    return found


def clock_reading(simulated_now: datetime | None) -> datetime:
    """"Now" from a ``simulated_now_column()`` value read along with other data."""
    return simulated_now if simulated_now is not None else SystemClock().now()


#: How a damaged blob fails to load: in zlib, in orjson (a ValueError), or in the converters
#: meeting a shape they do not expect. (A ``StateFormatError`` is a ValueError too.) Other
#: exceptions are bugs, not damage, and propagate as they are.
DAMAGED_BLOB = (zlib.error, ValueError, KeyError, IndexError, TypeError, AttributeError,
                RecursionError)


def check_out(uow: UnitOfWork, instance: ProcessInstance, now: datetime) -> Live:
    """The instance's workflow for this transaction. A state (or spec) that cannot be loaded
    raises ``StateUnreadable`` and puts the instance into ``error`` once the transaction is
    over (``unreadable``)."""
    rt = uow.runtime
    try:
        definition = load_definition(uow, instance.definition_id)
        workflow = rt.workflows.checkout(instance.id, instance.revision)
        if workflow is None:
            workflow = load_state(instance.state, definition.bundle, rt.script_engine)
    except (IrpmError, SQLAlchemyError):  # not the blob's fault
        raise
    except DAMAGED_BLOB as exc:
        from .unreadable import unreadable  # imports mirror, which imports this module

        raise unreadable(uow, instance.id, exc) from exc
    live = Live(instance, definition, workflow, now, uow=uow,
                was_active=instance.status in ACTIVE_STATUSES)
    if live.was_active:
        # An error can leave a READY task without its row (a failed assignment); only
        # healthy instances are trusted to mirror their workflow exactly.
        live.known_open = set(ready_human_tasks(workflow))
        live.known_timers = {(tid, due) for tid, (_t, due, _k) in
                             waiting_timers(workflow).items()}
        live.known_waits = message_waits(workflow)
    return live


def new_workflow(uow: UnitOfWork, definition: LoadedDefinition) -> BpmnWorkflow:
    spec, subprocess_specs = definition.bundle
    return BpmnWorkflow(spec, subprocess_specs, script_engine=uow.runtime.script_engine)


def new_instance(uow: UnitOfWork, definition: LoadedDefinition, now: datetime,
                 data: dict[str, Any], *, business_key: str | None, started_by: str | None,
                 parent: tuple[int, uuid.UUID] | None = None) -> Live:
    """Insert a new instance of ``definition`` with ``data`` on its start task (not run)."""
    workflow = new_workflow(uow, definition)
    for task in workflow.get_tasks(state=SpiffState.READY):
        task.data.update(data)
    instance = ProcessInstance(
        definition_id=definition.id, process_id=definition.process_id,
        business_key=business_key, status=InstanceStatus.RUNNING, state_format=0, state=b"",
        started_at=now, updated_at=now, started_by=started_by,
        parent_instance_id=parent[0] if parent else None,
        parent_task_id=parent[1] if parent else None)
    uow.session.add(instance)
    uow.session.flush()
    live = Live(instance, definition, workflow, now, known_open=set(), known_timers=set(),
                uow=uow, known_waits=set())
    started: dict[str, Any] = {"version": definition.version, "business_key": business_key,
                               "data": data}
    if parent:
        started["parent"] = parent[0]
    live.log(EventType.STARTED, actor=started_by, data=started)
    return live
