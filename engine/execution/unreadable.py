"""An instance whose stored state cannot be loaded: put into ``error`` once, and retired
(terminated) without its workflow.

One damaged blob used to make every page and action of its instance answer 500 and, with a
timer of it due, ``irpm clock advance`` retry it forever (the clock stuck, 96 MB of log in
five minutes). Now ``check_out`` raises ``StateUnreadable`` and asks, through
``UnitOfWork.after_rollback``, for ``mark_unreadable`` once the failed transaction is over:
the instance goes to ``error`` ("state unreadable: …") in a transaction of its own, so its
timers stop being due (only running and waiting instances' timers count) and the clock and
the scheduler move on. The damaged blob is kept as it is, for whoever repairs it.

Unlike the rest of ``engine.execution``, ``mark_unreadable`` commits: it is the transaction
that records what the failed one found.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from ..errors import StateUnreadable
from ..models import (
    FINAL_STATUSES,
    EventType,
    HumanTask,
    InstanceStatus,
    PendingTimer,
    ProcessInstance,
    TaskState,
)
from .mirror import write_events, write_instance

if TYPE_CHECKING:  # the runtime builds units of work; imported for the types only
    from ..db import UnitOfWork
    from ..runtime import Runtime

log = logging.getLogger(__name__)

#: How much of the loader's exception the error message keeps.
SUMMARY_CHARS = 300


def unreadable(uow: UnitOfWork, instance_id: int, exc: Exception) -> StateUnreadable:
    """The error to raise for ``instance_id``, with its marking arranged for after the
    transaction (it will not commit: the caller cannot go on without the workflow)."""
    message = f"state unreadable: {type(exc).__name__}: {exc}"[:SUMMARY_CHARS]
    runtime = uow.runtime
    uow.after_rollback(lambda: mark_unreadable(runtime, instance_id, message))
    log.warning("process instance %s: %s", instance_id, message)
    return StateUnreadable(f"process instance {instance_id} cannot be loaded ({message}); it "
                           "is in error now: terminate it, or restore its state from a backup",
                           instance=instance_id)


def mark_unreadable(runtime: Runtime, instance_id: int, message: str) -> None:
    """Put the instance into ``error`` with ``message`` and one ``error`` event — unless it
    already is (so a retried action logs nothing new) or has ended."""
    from .checkout import lock_instance  # checkout imports this module

    with runtime.uow() as uow:
        instance, now = lock_instance(uow, instance_id)
        if instance.status in FINAL_STATUSES or (
                instance.status == InstanceStatus.ERROR and instance.error_message == message):
            return
        instance.status, instance.suspended_from = InstanceStatus.ERROR, None
        instance.error_message, instance.error_element = message, None
        instance.updated_at = max(now, instance.updated_at)
        write_instance(uow, instance)
        write_events(uow, [_event(instance_id, now, EventType.ERROR, None,
                                  {"message": message, "state_unreadable": True})])
        uow.runtime.timers_changed(uow)  # its timers stop counting
        uow.commit()


def retire_unreadable(uow: UnitOfWork, instance: ProcessInstance, now: datetime,
                      actor: str | None, reason: str | None) -> None:
    """Terminate an instance without loading its workflow: its open tasks cancelled, its
    timers gone, the damaged state left as it is (not committed here)."""
    open_tasks = list(uow.session.execute(select(HumanTask.id, HumanTask.element_id).where(
        HumanTask.instance_id == instance.id, HumanTask.state == TaskState.OPEN)))
    if open_tasks:
        uow.session.execute(update(HumanTask)
                            .where(HumanTask.id.in_([task_id for task_id, _e in open_tasks]))
                            .values(state=TaskState.CANCELLED, completed_at=now)
                            .execution_options(synchronize_session=False))
    uow.session.execute(delete(PendingTimer).where(PendingTimer.instance_id == instance.id))
    instance.status, instance.completed_at, instance.suspended_from = \
        InstanceStatus.TERMINATED, now, None
    instance.updated_at = now
    write_instance(uow, instance)
    write_events(uow, [
        *(_event(instance.id, now, EventType.TASK_CANCELLED, None, None, task_id, element)
          for task_id, element in open_tasks),
        _event(instance.id, now, EventType.TERMINATED, actor,
               {"reason": reason} if reason else None)])
    uow.runtime.timers_changed(uow)


def _event(instance_id: int, at: datetime, type_: EventType, actor: str | None,
           data: dict[str, object] | None, task_id: object = None,
           element_id: str | None = None) -> dict[str, object]:
    return {"instance_id": instance_id, "at": at, "type": type_.value, "actor": actor,
            "task_id": task_id, "element_id": element_id, "data": data}
