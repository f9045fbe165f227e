"""Running one instance: check it out, advance it, mirror tasks and timers, persist it.

This is the machinery behind the services in ``engine.services``; nothing here commits.
The invariant it keeps: after every save, the ``task`` table holds exactly the instance's
READY human tasks as ``open`` rows, and the ``timer`` table exactly its WAITING timers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from .assignment import TaskContext, due_date
from .cache import LoadedDefinition
from .calls import CHILD, DetachedCallActivity, pending_calls
from .clock import FrozenClock, SystemClock, bind_clock
from .db import UnitOfWork
from .errors import ConcurrentUpdate, NotFound
from .models import (
    ACTIVE_STATUSES,
    Base,
    EventType,
    HumanTask,
    InstanceStatus,
    PendingTimer,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
    simulated_now_column,
)
from .operators import bind_operators
from .serialization import STATE_FORMAT, dump_state, load_spec, load_state
from .variables import mirror_variables

#: SpiffWorkflow's timer resolution: it fires only once its clock is past the due time.
TIMER_TOLERANCE = timedelta(microseconds=1)


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


def check_out(uow: UnitOfWork, instance: ProcessInstance, now: datetime) -> Live:
    rt = uow.runtime
    definition = load_definition(uow, instance.definition_id)
    workflow = rt.workflows.checkout(instance.id, instance.revision)
    if workflow is None:
        workflow = load_state(instance.state, definition.bundle, rt.script_engine)
    live = Live(instance, definition, workflow, now, uow=uow,
                was_active=instance.status in ACTIVE_STATUSES)
    if live.was_active:
        # An error can leave a READY task without its row (a failed assignment); only
        # healthy instances are trusted to mirror their workflow exactly.
        live.known_open = set(ready_human_tasks(workflow))
        live.known_timers = {(tid, due) for tid, (_t, due, _k) in
                             waiting_timers(workflow).items()}
    return live


def new_workflow(uow: UnitOfWork, definition: LoadedDefinition) -> BpmnWorkflow:
    spec, subprocess_specs = definition.bundle
    return BpmnWorkflow(spec, subprocess_specs, script_engine=uow.runtime.script_engine)


def run_human_task(live: Live, task: Task, data: dict[str, Any]) -> None:
    """Complete a READY user task with ``data``, then advance the workflow.

    Completing a task makes SpiffWorkflow update every waiting task, so a timer already due
    can fire inside ``task.run()``: the timers are noted first so that firing is logged too.
    """
    before = waiting_timers(live.workflow)
    with bind_clock(FrozenClock(live.now)), _operators(live):
        task.set_data(**data)
        try:
            task.run()
        except WorkflowTaskException as exc:
            live.error = (_error_text(exc), task.task_spec.name)
            _log_fired_timers(live, before, live.now)
            return
    run_engine(live, timers_before=before)


def run_engine(live: Live, *, timers_at: datetime | None = None,
               timers_before: dict[uuid.UUID, tuple[Task, datetime, str]] | None = None) -> int:
    """Advance until the workflow waits; a failure marks the instance, never loses it.

    With ``timers_at``, the timers due by then fire first and the workflow runs on as of that
    time, so what it starts next is timed from when the timer was due. Returns how many
    timers fired: there, or in the refresh SpiffWorkflow does at the end of every
    ``do_engine_steps`` (a timer that fell due before the scheduler ran, met while a task is
    completed) — each is logged, so the history never misses a firing. ``timers_before`` is
    the caller's earlier snapshot of the waiting timers, when it already changed the workflow.
    """
    at = timers_at or live.now
    before = waiting_timers(live.workflow) if timers_before is None else timers_before
    try:
        if timers_at is not None:
            # SpiffWorkflow fires a timer only once its clock is strictly past the due time;
            # a timer due at T must fire when the clock reads T.
            with bind_clock(FrozenClock(at + TIMER_TOLERANCE)), _operators(live):
                live.workflow.refresh_timers()
        with bind_clock(FrozenClock(at)), _operators(live):
            live.workflow.do_engine_steps()
    except WorkflowTaskException as exc:
        live.error = (_error_text(exc), exc.task.task_spec.name if exc.task else None)
    except SpiffWorkflowException as exc:
        live.error = (_error_text(exc), None)
    return _log_fired_timers(live, before, at + TIMER_TOLERANCE)


def _operators(live: Live) -> AbstractContextManager[None]:
    if live.uow is None:
        return nullcontext()
    instance = live.instance
    return bind_operators(live.uow.runtime.operators, live.uow, instance_id=instance.id,
                          process_id=instance.process_id, business_key=instance.business_key,
                          now=live.now, actor=_acting_user(live))


def _acting_user(live: Live) -> str | None:
    """The user behind this transaction's step: the latest event of it that names one
    (task completed, message received, instance started)."""
    return next((e["actor"] for e in reversed(live.events) if e["actor"]), None)


def _log_fired_timers(live: Live, before: dict[uuid.UUID, tuple[Task, datetime, str]],
                      at: datetime) -> int:
    """Log the timers of ``before`` that fired: due by ``at``, not cancelled, and gone or
    moved on to their next period (a cycle)."""
    after = waiting_timers(live.workflow)
    fired = 0
    for tid, (task, due_at, _kind) in before.items():
        if due_at > at or task.state == SpiffState.CANCELLED:
            continue
        if tid in after and after[tid][1] == due_at:
            continue
        live.log(EventType.TIMER_FIRED, task_id=tid, element_id=task.task_spec.name,
                 data={"due_at": due_at.isoformat()})
        fired += 1
    return fired


def _error_text(exc: Exception) -> str:
    text = str(exc)
    notes = getattr(exc, "notes", None) or getattr(exc, "__notes__", None)
    if notes:
        text = f"{text} ({'; '.join(str(n) for n in notes)})"
    return text[:4000]


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[uuid.UUID, Task]:
    found = {t.id: t for t in workflow.get_tasks(state=SpiffState.READY, manual=True)}
    for sub in workflow.subprocesses.values():
        found.update((t.id, t) for t in sub.get_tasks(state=SpiffState.READY, manual=True))
    return found


def waiting_timers(workflow: BpmnWorkflow) -> dict[uuid.UUID, tuple[Task, datetime, str]]:
    """WAITING timer events (in subprocesses too) with their due time and kind."""
    timers = {}
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state != SpiffState.WAITING or not isinstance(definition, TimerEventDefinition):
            continue
        value = definition.details(task).value
        if not isinstance(value, str):
            continue  # a finished cycle
        kind = ("cycle" if isinstance(definition, CycleTimerEventDefinition)
                else "date" if isinstance(definition, TimeDateEventDefinition) else "duration")
        timers[task.id] = (task, TimerEventDefinition.get_datetime(value), kind)
    return timers


def save(uow: UnitOfWork, live: Live) -> None:
    """Mirror tasks and timers, set the status, write the state and the events."""
    instance = live.instance
    terminated = instance.status == InstanceStatus.TERMINATED
    if not terminated and live.error is None:
        start_calls(uow, live)
    ready = {} if terminated else ready_human_tasks(live.workflow)
    _sync_tasks(uow, live, ready)
    changed, has_timers = _sync_timers(uow, live,
                                       {} if terminated else waiting_timers(live.workflow))
    _set_status(live)
    # state_format 0: inserted in this transaction (new_instance), so no rows to compare.
    mirror_variables(uow, instance.id, live.workflow, new=instance.state_format == 0)
    if changed or (has_timers and live.was_active != (instance.status in ACTIVE_STATUSES)):
        uow.runtime.timers_changed(uow)
    instance.state, instance.state_format = dump_state(live.workflow), STATE_FORMAT
    instance.updated_at = live.now
    write_instance(uow, instance)
    write_events(uow, live.events)
    live.events.clear()
    workflows, workflow, revision = uow.runtime.workflows, live.workflow, instance.revision
    uow.after_commit(lambda: workflows.checkin(instance.id, revision, workflow))
    if instance.status == InstanceStatus.COMPLETED and instance.parent_instance_id is not None \
            and not live.parent_notified:
        live.parent_notified = True
        notify_parent(uow, live)


_TASK, _TASK_CANDIDATE = Base.metadata.tables["task"], Base.metadata.tables["task_candidate"]
_TIMER, _EVENT = Base.metadata.tables["timer"], Base.metadata.tables["instance_event"]
#: The mirror's writes, built once: the hottest statements of every step.
_INSERT_TASK, _INSERT_CANDIDATE = insert(_TASK), insert(_TASK_CANDIDATE)
_INSERT_TIMER, _INSERT_EVENT = insert(_TIMER), insert(_EVENT)
_DELETE_TIMER = delete(_TIMER).where(_TIMER.c.instance_id == bindparam("b_instance"),
                                     _TIMER.c.task_id == bindparam("b_task"))

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
    statement of the engine, and a lost race surfaces here as ``ConcurrentUpdate``.
    """
    old = instance.revision
    params = {f"b_{c}": getattr(instance, c) for c in _MUTABLE}
    result = uow.session.connection().execute(
        _UPDATE_INSTANCE, {"b_id": instance.id, "b_rev": old, "b_new_rev": old + 1, **params})
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"process instance {instance.id} was changed by another "
                               "request; reload it and try again")
    for column in (*_MUTABLE, "revision"):
        set_committed_value(instance, column, old + 1 if column == "revision"
                            else params[f"b_{column}"])


def write_events(uow: UnitOfWork, events: list[dict[str, Any]]) -> None:
    if events:
        uow.session.connection().execute(_INSERT_EVENT, events)
        uow.runtime.events_written(uow, events)  # for listeners, after the commit


def _set_status(live: Live) -> None:
    instance, workflow = live.instance, live.workflow
    if instance.status in (InstanceStatus.SUSPENDED, InstanceStatus.TERMINATED):
        return
    if live.error is not None:
        message, element = live.error
        if instance.status != InstanceStatus.ERROR or instance.error_message != message:
            live.log(EventType.ERROR, element_id=element, data={"message": message})
        instance.status, instance.error_message, instance.error_element = \
            InstanceStatus.ERROR, message, element
        return
    instance.error_message = instance.error_element = None
    if workflow.is_completed():
        if instance.status != InstanceStatus.COMPLETED:
            live.log(EventType.COMPLETED)
        instance.status, instance.completed_at = InstanceStatus.COMPLETED, live.now
    else:
        # Waiting for a person, a timer, a message or a called instance.
        instance.status = InstanceStatus.WAITING


def open_task_ids(uow: UnitOfWork, instance_id: int) -> set[uuid.UUID]:
    return set(uow.session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN)))


def _sync_tasks(uow: UnitOfWork, live: Live, ready: dict[uuid.UUID, Task]) -> None:
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
    rows = uow.session.execute(select(HumanTask.id, HumanTask.element_id)
                               .where(HumanTask.id.in_(ids))).all()
    uow.session.execute(update(HumanTask).where(HumanTask.id.in_(ids))
                        .values(state=TaskState.CANCELLED, completed_at=live.now)
                        .execution_options(synchronize_session=False))
    for task_id, element_id in rows:
        live.log(EventType.TASK_CANCELLED, task_id=task_id, element_id=element_id)


def _create_tasks(uow: UnitOfWork, live: Live, tasks: list[Task]) -> None:
    rt = uow.runtime
    task_rows, candidate_rows = [], []
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
        except Exception as exc:  # a bad assignment rule is the diagram's error
            live.error = (f"cannot assign task '{element.get('name')}': {exc}", element_id)
            continue
        task_rows.append({
            "id": task.id, "instance_id": live.instance.id, "definition_id": live.definition.id,
            "element_id": element_id, "name": element.get("name") or element_id,
            "lane": element.get("lane"), "state": TaskState.OPEN, "created_at": live.now,
            "due_at": due, "assignee": None, **org_codes(task.data),
            "open_to_all": not (candidates.users or candidates.groups),
        })
        candidate_rows += [{"task_id": task.id, "kind": "user", "name": u}
                           for u in candidates.users]
        candidate_rows += [{"task_id": task.id, "kind": "group", "name": g}
                           for g in candidates.groups]
        live.log(EventType.TASK_CREATED, task_id=task.id, element_id=element_id,
                 data={"users": list(candidates.users), "groups": list(candidates.groups),
                       "due_at": due.isoformat() if due else None})
    connection = uow.session.connection()
    if task_rows:
        connection.execute(_INSERT_TASK, task_rows)
    if candidate_rows:
        connection.execute(_INSERT_CANDIDATE, candidate_rows)


#: Task-data keys copied onto the task row (see ``HumanTask.unit_code``).
ORG_KEYS = ("unit_code", "department_code", "post_code")


def org_codes(data: dict[str, Any]) -> dict[str, str | None]:
    """The organisation codes a task's data names; anything but short text is ignored."""
    return {key: value if isinstance(value := data.get(key), str) and 0 < len(value) <= 64
            else None for key in ORG_KEYS}


def _sync_timers(uow: UnitOfWork, live: Live,
                 waiting: dict[uuid.UUID, tuple[Task, datetime, str]]) -> tuple[bool, bool]:
    """Make the timer rows the workflow's waiting timers; returns whether rows changed and
    whether the instance has timer rows (after or before)."""
    wanted = {(tid, due): (task, kind) for tid, (task, due, kind) in waiting.items()}
    existing = live.known_timers
    if existing is None:
        existing = set(uow.session.execute(
            select(PendingTimer.task_id, PendingTimer.due_at)
            .where(PendingTimer.instance_id == live.instance.id)).all())
    stale = {tid for tid, due in existing if (tid, due) not in wanted}
    if stale:
        uow.session.connection().execute(
            _DELETE_TIMER, [{"b_instance": live.instance.id, "b_task": tid} for tid in stale])
    fresh = [{"instance_id": live.instance.id, "task_id": tid, "due_at": due,
              "element_id": task.task_spec.name, "kind": kind}
             for (tid, due), (task, kind) in wanted.items()
             if (tid, due) not in existing or tid in stale]
    if fresh:
        uow.session.connection().execute(_INSERT_TIMER, fresh)
    return bool(stale or fresh), bool(wanted or existing)


def all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def start_calls(uow: UnitOfWork, live: Live) -> None:
    """Start a child instance for every call activity that asked for one; a child that
    completes at once hands its result back here and the caller runs on."""
    for _ in range(MAX_CALL_ROUNDS):
        calls = pending_calls(all_tasks(live.workflow)) if live.definition.has_calls else []
        if not calls or live.error is not None:
            return
        for task in calls:
            child = _start_child(uow, live, task)
            task._set_internal_data(**{CHILD: child.instance.id})
            live.log(EventType.CHILD_STARTED, task_id=task.id, element_id=task.task_spec.name,
                     data={"instance": child.instance.id, "process": child.instance.process_id})
            if child.instance.status == InstanceStatus.COMPLETED:
                _receive(live, task, child)
        run_engine(live)


#: Rounds of "start children, run on" in one save; a loop of instant calls ends here.
MAX_CALL_ROUNDS = 100


def _start_child(uow: UnitOfWork, parent: Live, task: Task) -> Live:
    spec = task.task_spec
    assert isinstance(spec, DetachedCallActivity)
    definition_id = uow.session.scalar(
        select(ProcessDefinition.id).where(ProcessDefinition.process_id == spec.spec)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if definition_id is None:
        raise NotFound(f"call activity '{spec.name}' calls process '{spec.spec}', which is "
                       "not deployed")
    definition = load_definition(uow, definition_id)
    data = spec.child_input(task)
    key = data.get("business_key") if isinstance(data.get("business_key"), str) else None
    child = new_instance(uow, definition, parent.now, data,
                         business_key=key or parent.instance.business_key,
                         started_by=parent.instance.started_by,
                         parent=(parent.instance.id, task.id))
    run_engine(child)
    child.parent_notified = True  # the caller is right here and takes the result itself
    save(uow, child)
    return child


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
                uow=uow)
    started: dict[str, Any] = {"version": definition.version, "business_key": business_key,
                               "data": data}
    if parent:
        started["parent"] = parent[0]
    live.log(EventType.STARTED, actor=started_by, data=started)
    return live


def _receive(live: Live, task: Task, child: Live) -> None:
    spec = task.task_spec
    assert isinstance(spec, DetachedCallActivity)
    last = child.workflow.last_task or child.workflow.task_tree
    with bind_clock(FrozenClock(live.now)), _operators(live):
        spec.receive_result(task, dict(last.data))
    live.log(EventType.CHILD_COMPLETED, task_id=task.id, element_id=spec.name,
             data={"instance": child.instance.id})


def has_finished_children(uow: UnitOfWork, instance_id: int) -> bool:
    return uow.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.parent_instance_id == instance_id,
        ProcessInstance.status == InstanceStatus.COMPLETED).limit(1)) is not None


def collect_finished_children(uow: UnitOfWork, live: Live) -> None:
    """Take the results of children that completed while the caller could not (it was
    suspended), then run the caller on."""
    waiting = {t._get_internal_data(CHILD): t for t in all_tasks(live.workflow)
               if isinstance(t.task_spec, DetachedCallActivity)
               and t.state == SpiffState.STARTED and t._get_internal_data(CHILD) is not None}
    if not waiting:
        return
    finished = uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_(list(waiting)),
        ProcessInstance.status == InstanceStatus.COMPLETED)).all()
    for child in finished:
        child_live = check_out(uow, child, live.now)
        _receive(live, waiting[child.id], child_live)
        uow.runtime.workflows.checkin(child.id, child.revision, child_live.workflow)
    if finished:
        run_engine(live)


def notify_parent(uow: UnitOfWork, child: Live) -> None:
    """A child completed: hand its data to the waiting call activity and run the caller on,
    in the same transaction (lock order: child, then parent)."""
    parent_id, task_id = child.instance.parent_instance_id, child.instance.parent_task_id
    assert parent_id is not None and task_id is not None
    parent, _now = lock_instance(uow, parent_id)
    if parent.status not in (InstanceStatus.RUNNING, InstanceStatus.WAITING):
        return  # a suspended or terminated caller takes no results; it is in the history
    live = check_out(uow, parent, child.now)
    task = live.workflow.get_task_from_id(task_id)
    if task is None or task.state != SpiffState.STARTED:
        return
    _receive(live, task, child)
    run_engine(live)
    save(uow, live)
