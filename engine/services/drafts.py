"""Task drafts: save what someone typed into a task's form and give it back. Completing the
task (``tasks.complete_task``) drops every draft of it, in the completion's own transaction.

A draft is the form's raw values as typed (not validated: a half-filled form must be
savable); only someone who may work on the open task (``task_access.may_work_on``: its
assignee, a candidate while it is unclaimed, an administrator) may keep one. The size limit
is the engine's task-data limit, so a draft can never be larger than a completion could be.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import ConcurrentUpdate, ValidationFailed
from ..models import HumanTask, TaskDraft
from . import clock, task_access
from .tasks import get_task

__all__ = ["discard_draft", "get_draft", "save_draft"]


def _workable(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> HumanTask:
    task = get_task(uow, task_id)
    return task_access.require_workable(
        task, actor, f"{actor.user} may not work on task {task.id} ({task.name})")


def get_draft(uow: UnitOfWork, task_id: uuid.UUID, username: str) -> TaskDraft | None:
    return uow.session.scalar(select(TaskDraft).where(TaskDraft.task_id == task_id,
                                                      TaskDraft.username == username))


def save_draft(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor,
               data: dict[str, Any]) -> TaskDraft:
    """Keep ``data`` (a JSON object, at most the task-data limit) as ``actor``'s draft of the
    task, replacing the previous one."""
    task = _workable(uow, task_id, actor)
    if not isinstance(data, dict):
        raise ValidationFailed("a draft is a JSON object", {"_schema": ["not an object"]})
    limit = uow.runtime.settings.max_task_data_bytes
    size = len(orjson.dumps(data))
    if size > limit:
        raise ValidationFailed(f"the draft is {size} bytes; the limit is {limit}",
                               {"_schema": ["too large"]})
    now = clock.now(uow)
    draft = get_draft(uow, task.id, actor.user)
    if draft is None:
        draft = TaskDraft(task_id=task.id, username=actor.user, data=data, saved_at=now)
        uow.session.add(draft)
    else:
        draft.data, draft.saved_at = data, now
    try:
        uow.commit()
    except IntegrityError:  # the same user saved twice at once: the other save won
        raise ConcurrentUpdate(f"a draft of task {task.id} was saved at the same time") \
            from None
    return draft


def discard_draft(uow: UnitOfWork, task_id: uuid.UUID | str, actor: Actor) -> bool:
    """Drop ``actor``'s draft of the task; whether there was one."""
    task = get_task(uow, task_id)
    result = uow.session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id,
                                                         TaskDraft.username == actor.user))
    uow.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
