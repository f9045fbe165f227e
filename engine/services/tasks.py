"""Human tasks: the inbox queries and claim / unclaim / complete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import defer

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import (
    ConcurrentUpdate,
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    TaskAlreadyClaimed,
    TaskAlreadyCompleted,
    ValidationFailed,
)
from ..execution import (
    check_out,
    clock_reading,
    load_definition,
    run_human_task,
    runtime,
    save,
    write_events,
)
from ..forms import validate_task_data
from ..models import (
    ACTIVE_STATUSES,
    EventType,
    HumanTask,
    ProcessInstance,
    TaskCandidate,
    TaskState,
    simulated_now_column,
)


def _parse_id(task_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(task_id, uuid.UUID):
        return task_id
    try:
        return uuid.UUID(str(task_id))
    except ValueError:
        raise ValidationFailed(f"'{task_id}' is not a task id (a UUID)",
                               {"task_id": ["not a UUID"]}) from None


def get_task(uow: UnitOfWork, task_id: uuid.UUID | str) -> HumanTask:
    task = uow.session.get(HumanTask, _parse_id(task_id), populate_existing=True)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


@dataclass(frozen=True)
class OpenTask:
    """The columns of a task row that the inbox actions decide on."""

    id: uuid.UUID
    instance_id: int
    element_id: str
    name: str
    assignee: str | None
    state: str
    completed_by: str | None


@dataclass(frozen=True)
class _Opened:
    task: OpenTask
    instance: ProcessInstance
    now: datetime
    #: The actor may take the task: a candidate user, in a candidate group, or no
    #: candidates at all (administrators always may).
    eligible: bool


_TASK_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.element_id, HumanTask.name,
                 HumanTask.assignee, HumanTask.state, HumanTask.completed_by)


@lru_cache(maxsize=4)
def _open_statement(for_update: bool) -> Any:
    """Built once per dialect kind: the inbox actions' statement, bound per call."""
    candidate = exists().where(
        TaskCandidate.task_id == HumanTask.id,
        or_(and_(TaskCandidate.kind == "user", TaskCandidate.name == bindparam("user")),
            and_(TaskCandidate.kind == "group",
                 TaskCandidate.name.in_(bindparam("groups", expanding=True)))))
    stmt = (select(ProcessInstance, *_TASK_COLUMNS, simulated_now_column(),
                   or_(candidate, _unrestricted()).label("eligible"))
            .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == bindparam("tid"))
            # The state blob is loaded only when the workflow is not cached.
            .options(defer(ProcessInstance.state))
            .execution_options(populate_existing=True))
    if for_update:  # PostgreSQL: both rows as of the lock, not as of the snapshot
        stmt = stmt.with_for_update(of=[ProcessInstance, HumanTask])
    return stmt


def _open_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> _Opened:
    """Lock the task and its instance and read both, the clock and the actor's eligibility
    in one statement — the hot path of every inbox action. Task columns, not an ORM
    object: no identity-map or relationship loading on the way."""
    tid = _parse_id(task_id)
    row = uow.session.execute(
        _open_statement(not uow.is_sqlite),
        {"tid": tid, "user": actor.user, "groups": sorted(actor.groups)}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    instance, simulated_now, eligible = row[0], row[-2], row[-1]
    task = OpenTask(*row[1:-2])
    if task.state == TaskState.COMPLETED:
        raise TaskAlreadyCompleted(f"task {task.id} ({task.name}) was already completed by "
                                   f"{task.completed_by}")
    if task.state == TaskState.CANCELLED:
        raise Conflict(f"task {task.id} ({task.name}) was cancelled")
    if instance.status not in ACTIVE_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}; its tasks "
                           "cannot be worked on now")
    return _Opened(task, instance, clock_reading(simulated_now),
                   bool(eligible) or actor.is_admin)


def _log(uow: UnitOfWork, task: OpenTask, type_: EventType, actor: Actor, now: Any,
         data: dict[str, Any] | None = None) -> None:
    write_events(uow, [{"instance_id": task.instance_id, "at": now, "type": type_.value,
                        "actor": actor.user, "task_id": task.id,
                        "element_id": task.element_id, "data": data}])


def claim_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> HumanTask:
    opened = _open_task(uow, task_id, actor)
    task, now = opened.task, opened.now
    if task.assignee == actor.user:
        return get_task(uow, task.id)
    if task.assignee is not None:
        raise TaskAlreadyClaimed(f"task {task.id} is already claimed by {task.assignee}")
    if not opened.eligible:
        raise Forbidden(f"{actor.user} is not a candidate for task {task.id} ({task.name})")
    result = uow.session.execute(
        update(HumanTask).where(HumanTask.id == task.id, HumanTask.assignee.is_(None),
                                HumanTask.state == TaskState.OPEN)
        .values(assignee=actor.user, claimed_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TaskAlreadyClaimed(f"task {task.id} was claimed by someone else just now")
    _log(uow, task, EventType.TASK_CLAIMED, actor, now)
    uow.commit()
    return get_task(uow, task.id)


def unclaim_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> HumanTask:
    opened = _open_task(uow, task_id, actor)
    task, now = opened.task, opened.now
    if task.assignee is None:
        raise Conflict(f"task {task.id} is not claimed")
    if task.assignee != actor.user and not actor.is_admin:
        raise Forbidden(f"task {task.id} is claimed by {task.assignee}; only they can release it")
    uow.session.execute(update(HumanTask).where(HumanTask.id == task.id)
                        .values(assignee=None, claimed_at=None)
                        .execution_options(synchronize_session=False))
    _log(uow, task, EventType.TASK_UNCLAIMED, actor, now, {"was": task.assignee})
    uow.commit()
    return get_task(uow, task.id)


def complete_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor,
                  data: dict[str, Any] | None = None) -> ProcessInstance:
    """Validate ``data``, complete the task and run the instance until it waits again;
    returns the instance as it now stands.

    The completing user must hold the claim, or be a candidate of an unclaimed task (which
    claims it implicitly). A rejected request changes nothing.
    """
    opened = _open_task(uow, task_id, actor)
    task, instance = opened.task, opened.instance
    if task.assignee is not None and task.assignee != actor.user and not actor.is_admin:
        raise Forbidden(f"task {task.id} is claimed by {task.assignee}")
    if task.assignee is None and not opened.eligible:
        raise Forbidden(f"{actor.user} is not a candidate for task {task.id} ({task.name})")
    definition = load_definition(uow, instance.definition_id)
    clean = validate_task_data(data, definition.form(task.element_id),
                               max_bytes=runtime(uow).settings.max_task_data_bytes)
    live = check_out(uow, instance, opened.now)
    spiff_task = live.workflow.get_task_from_id(task.id)
    if spiff_task is None or spiff_task.state != SpiffState.READY:
        raise ConcurrentUpdate(f"task {task.id} is no longer ready in its workflow")
    uow.session.execute(
        update(HumanTask).where(HumanTask.id == task.id)
        .values(state=TaskState.COMPLETED, completed_at=live.now, completed_by=actor.user,
                assignee=task.assignee or actor.user)
        .execution_options(synchronize_session=False))
    live.log(EventType.TASK_COMPLETED, actor=actor.user, task_id=task.id,
             element_id=task.element_id, data=clean)
    run_human_task(live, spiff_task, clean)
    save(uow, live)
    uow.commit()
    return instance


@dataclass(frozen=True)
class TaskFilter:
    """Inbox views: ``mine`` (assigned to me), ``claimable`` (my groups, unclaimed),
    ``done`` (completed by me), ``all`` (admins)."""

    view: str = "mine"
    process_id: str | None = None
    limit: int = 100
    offset: int = 0


VIEWS = ("mine", "claimable", "open", "done", "all")


def _candidate_of(actor: Actor) -> Any:
    conditions = [and_(TaskCandidate.kind == "user", TaskCandidate.name == actor.user)]
    if actor.groups:
        conditions.append(and_(TaskCandidate.kind == "group",
                               TaskCandidate.name.in_(sorted(actor.groups))))
    return exists().where(TaskCandidate.task_id == HumanTask.id, or_(*conditions))


def _unrestricted() -> Any:
    return ~exists().where(TaskCandidate.task_id == HumanTask.id)


def task_query(actor: Actor, flt: TaskFilter) -> Select[HumanTask]:
    if flt.view not in VIEWS:
        raise ValidationFailed(f"unknown view '{flt.view}'; use one of {', '.join(VIEWS)}",
                               {"view": ["unknown"]})
    stmt = select(HumanTask)
    is_open = HumanTask.state == TaskState.OPEN
    if flt.view == "mine":
        stmt = stmt.where(is_open, HumanTask.assignee == actor.user)
    elif flt.view == "claimable":
        stmt = stmt.where(is_open, HumanTask.assignee.is_(None),
                          or_(_candidate_of(actor), _unrestricted()))
    elif flt.view == "open":
        stmt = stmt.where(is_open, or_(HumanTask.assignee == actor.user, and_(
            HumanTask.assignee.is_(None), or_(_candidate_of(actor), _unrestricted()))))
    elif flt.view == "done":
        stmt = stmt.where(HumanTask.state == TaskState.COMPLETED,
                          HumanTask.completed_by == actor.user)
    elif not actor.is_admin:
        raise Forbidden("only administrators can list every task")
    if flt.process_id:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            ProcessInstance.process_id == flt.process_id)
    return stmt


def list_tasks(uow: UnitOfWork, actor: Actor, flt: TaskFilter | None = None
               ) -> tuple[list[HumanTask], int]:
    """One indexed query over the task table — no workflow is ever deserialized here."""
    flt = flt or TaskFilter()
    stmt = task_query(actor, flt)
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (HumanTask.completed_at.desc(),) if flt.view == "done" else (
        HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    rows = uow.session.scalars(stmt.order_by(*order).limit(flt.limit).offset(flt.offset))
    return list(rows), total

