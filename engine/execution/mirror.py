"""Writing a step to the database: the instance row (checked against its revision), its
events, and the mirror tables — ``task`` / ``task_candidate`` for the READY human tasks (with
their candidates and due dates), ``timer`` for the WAITING timers.

The invariant it keeps: after every save, the ``task`` table holds exactly the instance's
READY human tasks as ``open`` rows, and the ``timer`` table exactly its WAITING timers.
Separate from ``saving``, which orders a save (call activities first, the caller last); this
module only writes, with statements built once at import — the hottest of every step.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from SpiffWorkflow.task import Task
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit_chain, separation, writebehind
from ..assignment import Candidates, TaskContext, due_date
from ..clock import FrozenClock, bind_clock
from ..db import UnitOfWork
from ..models import (
    Base,
    CandidateKind,
    EventType,
    HumanTask,
    ProcessInstance,
    TaskState,
)
from ..separation import Excluded
from .checkout import Live
from .escalation import Assigned, assign

_TASK, _TASK_CANDIDATE = Base.metadata.tables["task"], Base.metadata.tables["task_candidate"]
_TIMER, _EVENT = Base.metadata.tables["timer"], Base.metadata.tables["instance_event"]
#: The mirror's writes, built once: the hottest statements of every step.
_INSERT_TASK, _INSERT_CANDIDATE = insert(_TASK), insert(_TASK_CANDIDATE)
_INSERT_TIMER = insert(_TIMER)
_DELETE_TIMER = delete(_TIMER).where(_TIMER.c.instance_id == bindparam("b_instance"),
                                     _TIMER.c.task_id == bindparam("b_task"))
_TIMERS_OF = select(_TIMER.c.task_id, _TIMER.c.due_at).where(
    _TIMER.c.instance_id == bindparam("b_instance"))
_OPEN_IDS = select(_TASK.c.id).where(_TASK.c.instance_id == bindparam("b_instance"),
                                     _TASK.c.state == TaskState.OPEN)
_ELEMENTS_OF = select(_TASK.c.id, _TASK.c.element_id).where(
    _TASK.c.id.in_(bindparam("b_ids", expanding=True)))
_CANCEL = (update(_TASK).where(_TASK.c.id.in_(bindparam("b_ids", expanding=True)))
           .values(state=TaskState.CANCELLED, completed_at=bindparam("b_now")))
_PERFORMERS = select(_TASK.c.completed_by).where(
    _TASK.c.instance_id == bindparam("b_instance"), _TASK.c.element_id == bindparam("b_element"),
    _TASK.c.state == TaskState.COMPLETED)

#: The columns a service may change on an instance; written together by write_instance.
_MUTABLE = ("status", "suspended_from", "state", "state_format", "updated_at", "completed_at",
            "error_message", "error_element")
_instances = Base.metadata.tables["process_instance"]
_UPDATE_INSTANCE = (
    update(_instances)
    .where(_instances.c.id == bindparam("b_id"), _instances.c.revision == bindparam("b_rev"))
    .values(revision=bindparam("b_new_rev"), **{c: bindparam(f"b_{c}") for c in _MUTABLE}))


def write_instance(uow: UnitOfWork, instance: ProcessInstance) -> None:
    """Write the instance's row with ``revision = revision + 1`` if nobody else did first.

    A Core UPDATE (checked in its WHERE clause) rather than an ORM flush: it is the hottest
    statement of the engine, and a lost race surfaces as ``ConcurrentUpdate`` — here, or in
    a batch (``writebehind.batched``) when the batch's updates are sent.
    """
    old = instance.revision
    params = {f"b_{c}": getattr(instance, c) for c in _MUTABLE}
    writebehind.write(uow, _UPDATE_INSTANCE, instance.id,
                      [{"b_id": instance.id, "b_rev": old, "b_new_rev": old + 1, **params}],
                      missed=f"process instance {instance.id} was changed by another "
                             "request; reload it and try again")
    for column in (*_MUTABLE, "revision"):
        set_committed_value(instance, column, old + 1 if column == "revision"
                            else params[f"b_{column}"])


def write_events(uow: UnitOfWork, events: list[dict[str, Any]]) -> None:
    """Append the events to the instance event log's hash chain (written, linked, when the
    transaction commits: ``engine.audit_chain``)."""
    if events:
        audit_chain.append(uow.session, _EVENT, events)
        uow.runtime.events_written(uow, events)  # for listeners, after the commit


def open_task_ids(uow: UnitOfWork, instance_id: int) -> set[uuid.UUID]:
    return set(uow.session.connection().scalars(_OPEN_IDS, {"b_instance": instance_id}))


def sync_tasks(uow: UnitOfWork, live: Live, ready: dict[uuid.UUID, Task]) -> None:
    current = live.known_open
    if current is None:
        current = open_task_ids(uow, live.instance.id)
    current = current - completed_now(live)
    gone = current - ready.keys()
    if gone:
        cancel_tasks(uow, live, gone)
    created = [ready[tid] for tid in ready if tid not in current]
    if created:
        _create_tasks(uow, live, created)


def completed_now(live: Live) -> set[uuid.UUID]:
    """Tasks this transaction completed (their rows were already updated)."""
    return {e["task_id"] for e in live.events if e["type"] == EventType.TASK_COMPLETED.value}


def cancel_tasks(uow: UnitOfWork, live: Live, task_ids: Iterable[uuid.UUID]) -> None:
    ids = list(task_ids)
    connection = uow.session.connection()
    rows = connection.execute(_ELEMENTS_OF, {"b_ids": ids}).all()
    connection.execute(_CANCEL, {"b_ids": ids, "b_now": live.now})
    for task_id, element_id in rows:
        live.log(EventType.TASK_CANCELLED, task_id=task_id, element_id=element_id)


def _assignments(uow: UnitOfWork, live: Live, tasks: list[Task]
                 ) -> list[tuple[Task, dict[str, Any], datetime | None, Assigned]]:
    """Each READY task's element, due date and candidates — the resolver's, less the
    task's exclusions (回避, ``engine.separation``), escalated when those leave nobody
    (``escalation.assign``) — from the task's own data. A task whose assignment rule fails
    is left out, the failure kept as the step's error."""
    rt = uow.runtime
    performers = _Performers(uow, live.instance.id)
    pending: list[tuple[TaskContext, Candidates, Excluded | None]] = []
    made: list[tuple[Task, dict[str, Any], datetime | None]] = []
    for task in tasks:
        element_id = task.task_spec.name
        element = live.definition.element(element_id)
        ctx = TaskContext(element, task.data, live.instance.process_id,
                          live.instance.business_key)
        def evaluate(expr: str, t: Task = task) -> Any:
            return rt.script_engine.evaluate(t, expr)

        try:
            with bind_clock(FrozenClock(live.now)):
                candidates = rt.resolver(ctx, evaluate)
                due = due_date(element, live.now, evaluate)
                excluded = separation.resolve(ctx, evaluate, rt.resolver, performers)
        except Exception as exc:  # a bad assignment rule is the diagram's error
            live.error = (f"cannot assign task '{element.get('name')}': {exc}", element_id)
            continue
        pending.append((ctx, candidates, excluded))
        made.append((task, element, due))
    return [(task, element, due, found) for (task, element, due), found
            in zip(made, assign(uow, pending), strict=True)]


def _candidate_rows(task_id: uuid.UUID, found: Assigned) -> list[dict[str, Any]]:
    candidates, excluded = found.candidates, found.excluded
    rows: list[dict[str, Any]] = []
    for kind, names in ((CandidateKind.USER, candidates.users),
                        (CandidateKind.GROUP, candidates.groups),
                        (CandidateKind.EXCLUDED_USER, excluded.users if excluded else ()),
                        (CandidateKind.EXCLUDED_GROUP, excluded.groups if excluded else ())):
        rows += [{"task_id": task_id, "kind": kind, "name": n} for n in names]
    return rows


def _administrators_only(found: Assigned) -> bool:
    """No candidates — none named, or 回避 took them all: an administrators' task (its
    column is still called ``open_to_all``; ``engine.services.task_access``)."""
    return not (found.candidates.users or found.candidates.groups)


def _create_tasks(uow: UnitOfWork, live: Live, tasks: list[Task]) -> None:
    """Rows for new READY tasks, with their candidates (``_assignments``)."""
    task_rows, candidate_rows = [], []
    for task, element, due, found in _assignments(uow, live, tasks):
        element_id, candidates = task.task_spec.name, found.candidates
        task_rows.append({
            "id": task.id, "instance_id": live.instance.id, "definition_id": live.definition.id,
            "element_id": element_id, "name": element.get("name") or element_id,
            "lane": element.get("lane"), "state": TaskState.OPEN, "created_at": live.now,
            "due_at": due, "assignee": None, **org_codes(task.data),
            "open_to_all": _administrators_only(found),
        })
        candidate_rows += _candidate_rows(task.id, found)
        live.log(EventType.TASK_CREATED, task_id=task.id, element_id=element_id,
                 data={"users": list(candidates.users), "groups": list(candidates.groups),
                       "due_at": due.isoformat() if due else None, **found.event_data()})
    writebehind.write(uow, _INSERT_TASK, live.instance.id, task_rows)
    writebehind.write(uow, _INSERT_CANDIDATE, live.instance.id, candidate_rows)


def reroute_tasks(uow: UnitOfWork, live: Live, tasks: list[Task], reason: str) -> None:
    """Resolve the candidates of open tasks again from their data (after the data lanes
    resolve from changed: a post's level rose, so its responsible leader is another). A task
    whose candidates change gets the new ones — its claim released, its due date kept — and
    a ``task_rerouted`` event saying from whom to whom and why; the others are untouched."""
    if not tasks:
        return
    held = {row.id: row for row in uow.session.execute(
        select(HumanTask.id, HumanTask.assignee).where(
            HumanTask.id.in_([t.id for t in tasks]), HumanTask.state == TaskState.OPEN))}
    current: dict[uuid.UUID, set[tuple[str, str]]] = {tid: set() for tid in held}
    for tid, kind, name in uow.session.execute(
            select(_TASK_CANDIDATE.c.task_id, _TASK_CANDIDATE.c.kind, _TASK_CANDIDATE.c.name)
            .where(_TASK_CANDIDATE.c.task_id.in_(list(held)))):
        current[tid].add((str(kind), name))
    connection = uow.session.connection()
    for task, _element, _due, found in _assignments(uow, live, [t for t in tasks
                                                               if t.id in held]):
        rows = _candidate_rows(task.id, found)
        if {(str(r["kind"]), r["name"]) for r in rows} == current[task.id]:
            continue
        connection.execute(delete(_TASK_CANDIDATE).where(_TASK_CANDIDATE.c.task_id == task.id))
        if rows:
            connection.execute(_INSERT_CANDIDATE, rows)
        connection.execute(update(_TASK).where(_TASK.c.id == task.id).values(
            assignee=None, claimed_at=None, open_to_all=_administrators_only(found),
            **org_codes(task.data)))
        before = sorted(name for kind, name in current[task.id]
                        if kind in (CandidateKind.USER, CandidateKind.GROUP))
        live.log(EventType.TASK_REROUTED, task_id=task.id, element_id=task.task_spec.name,
                 data={"from": before, "assignee": held[task.id].assignee,
                       "users": list(found.candidates.users),
                       "groups": list(found.candidates.groups), "reason": reason,
                       **found.event_data()})


class _Performers:
    """``performer:<element>``: who completed that element in the instance, read once per
    element and step (the rows of this transaction's completions included)."""

    def __init__(self, uow: UnitOfWork, instance_id: int) -> None:
        self.uow, self.instance_id = uow, instance_id
        self.known: dict[str, set[str]] = {}

    def __call__(self, element_id: str) -> set[str]:
        if element_id not in self.known:
            self.known[element_id] = {who for who in self.uow.session.connection().scalars(
                _PERFORMERS, {"b_instance": self.instance_id, "b_element": element_id})
                if who}
        return self.known[element_id]


#: Task-data keys copied onto the task row (see ``HumanTask.unit_code``).
ORG_KEYS = ("unit_code", "department_code", "post_code")


def org_codes(data: dict[str, Any]) -> dict[str, str | None]:
    """The organisation codes a task's data names; anything but short text is ignored."""
    return {key: value if isinstance(value := data.get(key), str) and 0 < len(value) <= 64
            else None for key in ORG_KEYS}


def sync_timers(uow: UnitOfWork, live: Live,
                waiting: dict[uuid.UUID, tuple[Task, datetime, str]]) -> tuple[bool, bool]:
    """Make the timer rows the workflow's waiting timers; returns whether rows changed and
    whether the instance has timer rows (after or before)."""
    wanted = {(tid, due): (task, kind) for tid, (task, due, kind) in waiting.items()}
    existing = live.known_timers
    if existing is None:
        existing = {(tid, due) for tid, due in uow.session.connection().execute(
            _TIMERS_OF, {"b_instance": live.instance.id})}
    stale = {tid for tid, due in existing if (tid, due) not in wanted}
    instance_id = live.instance.id
    writebehind.write(uow, _DELETE_TIMER, instance_id,
                      [{"b_instance": instance_id, "b_task": tid} for tid in stale])
    fresh = [{"instance_id": instance_id, "task_id": tid, "due_at": due,
              "element_id": task.task_spec.name, "kind": kind}
             for (tid, due), (task, kind) in wanted.items()
             if (tid, due) not in existing or tid in stale]
    writebehind.write(uow, _INSERT_TIMER, instance_id, fresh)
    return bool(stale or fresh), bool(wanted or existing)
