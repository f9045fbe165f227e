"""Human tasks: claim / unclaim / delegate / complete, and the task as someone may see it.

Completing a task happens here and only here — the task page, the API and the CLI all call
``complete_task`` — so the permission check, the validation, the completion, its event and
the removal of the task's drafts are one transaction whoever asks. Who may take, work on and
see a task is ``engine.services.task_access``; the inbox queries live in
``engine.services.inbox`` (re-exported here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import defer

from .. import completion_checks
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
from ..execution.checkout import check_out, clock_reading, load_definition
from ..execution.mirror import write_events
from ..execution.saving import save
from ..execution.stepping import run_human_task
from ..forms import form_schema, validate_task_data
from ..models import (
    ACTIVE_STATUSES,
    CandidateKind,
    EventType,
    HumanTask,
    ProcessInstance,
    TaskCandidate,
    TaskDraft,
    TaskState,
    simulated_now_column,
)
from ..separation import EXCLUDES
from . import task_access
from .file_references import check_references
from .inbox import VIEWS, TaskFilter, list_tasks, task_query

__all__ = ["VIEWS", "TaskFilter", "claim_task", "complete_task", "delegate_task", "get_task",
           "list_tasks", "refuse_excluded", "task_query", "unclaim_task", "view_task"]


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
    #: No candidates: only administrators may take it (``task_access``).
    administrators_only: bool


@dataclass(frozen=True)
class _Opened:
    task: OpenTask
    instance: ProcessInstance
    now: datetime
    #: The actor is a candidate for the task (``task_access.candidate_clause``).
    candidate: bool
    #: The task excludes the actor (回避, ``task_access.excluded_clause``).
    excluded: bool
    actor: Actor

    def require_may_work(self, uow: UnitOfWork, claimed_refusal: str) -> None:
        """``task_access.may_work``, or ``Forbidden``: 回避 when the task excludes the
        actor, ``claimed_refusal`` when someone else holds it, else that the actor is not a
        candidate."""
        task = self.task
        if task_access.may_work(task.assignee, self.candidate, self.actor, self.excluded):
            return
        if self.excluded:
            refuse_excluded(uow, task.id, self.instance.definition_id, task.element_id,
                            task.name, self.actor)
        if task.assignee is not None:
            raise Forbidden(claimed_refusal)
        raise Forbidden(task_access.not_candidate_refusal(
            self.actor, task.id, task.name, task.administrators_only))


_TASK_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.element_id, HumanTask.name,
                 HumanTask.assignee, HumanTask.state, HumanTask.completed_by,
                 HumanTask.administrators_only)


@lru_cache(maxsize=4)
def _open_statement(for_update: bool) -> Any:
    """Built once per dialect kind: the inbox actions' statement, bound per call."""
    stmt = (select(ProcessInstance, *_TASK_COLUMNS, simulated_now_column(),
                   task_access.candidate_clause().label("candidate"),
                   task_access.excluded_clause().label("excluded"))
            .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == bindparam("tid"))
            # The state blob is loaded only when the workflow is not cached.
            .options(defer(ProcessInstance.state))
            .execution_options(populate_existing=True))
    if for_update:  # PostgreSQL: both rows as of the lock, not as of the snapshot
        stmt = stmt.with_for_update(of=[ProcessInstance, HumanTask])
    return stmt


def _open_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> _Opened:
    """Lock the task and its instance and read both, the clock and the actor's candidacy
    in one statement — the hot path of every inbox action. Task columns, not an ORM
    object: no identity-map or relationship loading on the way."""
    tid = _parse_id(task_id)
    row = uow.session.execute(
        _open_statement(not uow.is_sqlite),
        {"tid": tid, **task_access.candidate_params(actor)}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    instance, simulated_now, candidate, excluded = row[0], row[-3], row[-2], row[-1]
    task = OpenTask(*row[1:-3])
    if task.state == TaskState.COMPLETED:
        raise TaskAlreadyCompleted(f"task {task.id} ({task.name}) was already completed by "
                                   f"{task.completed_by}")
    if task.state == TaskState.CANCELLED:
        raise Conflict(f"task {task.id} ({task.name}) was cancelled")
    if instance.status not in ACTIVE_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}; its tasks "
                           "cannot be worked on now")
    return _Opened(task, instance, clock_reading(simulated_now), bool(candidate),
                   bool(excluded), actor)


def refuse_excluded(uow: UnitOfWork, task_id: uuid.UUID, definition_id: int, element_id: str,
                    name: str, actor: Actor) -> None:
    """回避: ``Forbidden`` naming the rule if the task excludes ``actor`` — who would take,
    complete, be delegated or reassigned the task; else nothing. Reads the task's exclusion
    rows (none for most tasks) and, to quote it, its ``excludes`` property."""
    users: list[str] = []
    groups: list[str] = []
    for kind, named in uow.session.execute(
            select(TaskCandidate.kind, TaskCandidate.name).where(
                TaskCandidate.task_id == task_id,
                TaskCandidate.kind.in_([CandidateKind.EXCLUDED_USER.value,
                                        CandidateKind.EXCLUDED_GROUP.value]))):
        (users if kind == CandidateKind.EXCLUDED_USER else groups).append(named)
    if actor.user not in users and actor.groups.isdisjoint(groups):
        return
    element = load_definition(uow, definition_id).element(element_id)
    rule = element.get("properties", {}).get(EXCLUDES)
    raise Forbidden(task_access.exclusion_refusal(actor, task_id, name, users, groups, rule))


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
    if opened.excluded:
        refuse_excluded(uow, task.id, opened.instance.definition_id, task.element_id,
                        task.name, actor)
    if not task_access.may_take(opened.candidate, actor):
        raise Forbidden(task_access.not_candidate_refusal(actor, task.id, task.name,
                                                          task.administrators_only))
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
    """Validate ``data``, complete the task, drop every draft of it and run the instance
    until it waits again; returns the instance as it now stands.

    The completing user must be able to work on the task (``task_access.may_work``): hold
    the claim, or be a candidate of an unclaimed task (which claims it implicitly), or be an
    administrator. A rejected request changes nothing — the drafts included.
    """
    opened = _open_task(uow, task_id, actor)
    task, instance = opened.task, opened.instance
    opened.require_may_work(uow, f"task {task.id} is claimed by {task.assignee}")
    definition = load_definition(uow, instance.definition_id)
    form = definition.form(task.element_id)
    clean = validate_task_data(data, form, max_bytes=uow.runtime.settings.max_task_data_bytes)
    check_references(uow, task.id, form_schema(form), clean)
    live = check_out(uow, instance, opened.now)
    spiff_task = live.workflow.get_task_from_id(task.id)
    if spiff_task is None or spiff_task.state != SpiffState.READY:
        raise ConcurrentUpdate(f"task {task.id} is no longer ready in its workflow")
    check = definition.element(task.element_id).get("properties", {}).get(
        completion_checks.PROPERTY)
    if check:
        try:
            completion_checks.run_check(check, completion_checks.CompletionCheckCall(
                uow, instance.id, instance.process_id, instance.definition_id,
                task.element_id, {**spiff_task.data, **clean}, clean, actor.user))
        except Exception:
            uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
            raise
    uow.session.execute(
        update(HumanTask).where(HumanTask.id == task.id)
        .values(state=TaskState.COMPLETED, completed_at=live.now, completed_by=actor.user,
                assignee=task.assignee or actor.user)
        .execution_options(synchronize_session=False))
    live.log(EventType.TASK_COMPLETED, actor=actor.user, task_id=task.id,
             element_id=task.element_id, data=clean)
    run_human_task(live, spiff_task, clean)
    save(uow, live)
    uow.session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id))
    uow.commit()
    return instance


MAX_REASON = 500


def _delegation_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("a delegation needs a reason", {"reason": ["required"]})
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"the reason has at most {MAX_REASON} characters",
                               {"reason": ["too long"]})
    return text


def delegate_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor, to_username: str,
                  reason: str | None) -> HumanTask:
    """转办: hand an open task to a colleague, with a reason.

    The assignee may delegate, as may a candidate of an unclaimed task (it is handed on
    without being claimed first) and an administrator. The colleague must be an active login
    the runtime's directory lets whoever hands the task over delegate to
    (``Directory.may_delegate``; the programme's: a department, 内设机构, in common) — for an
    administrator, whoever holds the task, if anyone. The task becomes the colleague's;
    ``task_delegated`` records who handed it to whom and why.
    """
    text = _delegation_reason(reason)
    opened = _open_task(uow, task_id, actor)
    task, now = opened.task, opened.now
    opened.require_may_work(uow, f"task {task.id} is claimed by {task.assignee}; only they "
                                 "can delegate it")
    holder = task.assignee if actor.is_admin else actor.user
    if to_username in (actor.user, task.assignee):
        raise ValidationFailed(f"task {task.id} is already {to_username}'s",
                               {"to": ["the same person"]})
    directory = uow.runtime.directory
    if not directory.is_active(uow, to_username):
        raise ValidationFailed(f"no active account '{to_username}'", {"to": ["unknown"]})
    if holder is not None and not directory.may_delegate(uow, holder, to_username):
        raise Forbidden(f"{to_username} is not in the same department as {holder}")
    refuse_excluded(uow, task.id, opened.instance.definition_id, task.element_id, task.name,
                    directory.actor_for(uow, to_username))
    uow.session.execute(update(HumanTask).where(HumanTask.id == task.id)
                        .values(assignee=to_username, claimed_at=now)
                        .execution_options(synchronize_session=False))
    _log(uow, task, EventType.TASK_DELEGATED, actor, now,
         {"from": task.assignee, "to": to_username, "reason": text})
    uow.commit()
    return get_task(uow, task.id)


def view_task(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> HumanTask:
    """The task, if ``actor`` may see it (``task_access.may_view``); else ``Forbidden`` —
    saying 回避 when it is a task that excludes them (the holder asking for the 互相查 of
    their own post learns why, not just that they may not see it)."""
    task = get_task(uow, task_id)
    if not task_access.may_view(task, actor):
        if task_access.is_excluded(task, actor):
            refuse_excluded(uow, task.id, task.definition_id, task.element_id, task.name,
                            actor)
        raise Forbidden(f"{actor.user} may not see task {task.id}")
    return task
