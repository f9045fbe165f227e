"""Starting process instances and driving their lifecycle."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import Select, func, select

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import InvalidState, NotFound, StateUnreadable, ValidationFailed
from ..execution.checkout import (
    check_out,
    clock_reading,
    load_definition,
    lock_instance,
    new_instance,
)
from ..execution.mirror import write_events, write_instance
from ..execution.saving import (
    collect_finished_children,
    failed_child,
    has_children_to_collect,
    save,
)
from ..execution.stepping import run_engine
from ..execution.unreadable import retire_unreadable
from ..forms import validate_task_data
from ..messaging.routing import message_only_start
from ..models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EventType,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
    simulated_now_column,
)
from . import clock


def start_instance(uow: UnitOfWork, process_id: str, business_key: str | None = None,
                   data: dict[str, Any] | None = None, *, version: int | None = None,
                   actor: Actor | None = None) -> ProcessInstance:
    """Start the latest (or the named) version and run it until it waits."""
    instance = begin_instance(uow, process_id, business_key, data, version=version,
                              actor=actor)
    uow.commit()
    return instance


def begin_instance(uow: UnitOfWork, process_id: str, business_key: str | None = None,
                   data: dict[str, Any] | None = None, *, version: int | None = None,
                   actor: Actor | None = None, now: datetime | None = None) -> ProcessInstance:
    """``start_instance`` in the caller's transaction (no commit): for a service-task
    operator that starts another process as an instance of its own — not a child, nothing
    waits for it — in the same commit as its step. ``now``: the caller's step time (default:
    the clock)."""
    rt = uow.runtime
    clean = validate_task_data(data, None, max_bytes=rt.settings.max_task_data_bytes)
    if business_key is not None and not (0 < len(business_key) <= 255):
        raise ValidationFailed("a business key has 1 to 255 characters",
                               {"business_key": ["length"]})
    definition_id, clock_now = _definition_and_clock(uow, process_id, version)
    definition = load_definition(uow, definition_id)
    only_by = message_only_start(definition.bundle[0])
    if only_by:
        raise InvalidState(f"process '{process_id}' starts only when it receives message "
                           f"{', '.join(repr(n) for n in only_by)}: send that message (`irpm "
                           "messages send` or POST /api/v1/messages) instead of starting it")
    live = new_instance(uow, definition, now or clock_now, clean, business_key=business_key,
                        started_by=actor.user if actor else None)
    run_engine(live)
    save(uow, live)
    return live.instance


def _definition_and_clock(uow: UnitOfWork, process_id: str,
                          version: int | None) -> tuple[int, datetime]:
    """The definition to start (latest unless named) and the clock, in one statement."""
    stmt = (select(ProcessDefinition.id, simulated_now_column())
            .where(ProcessDefinition.process_id == process_id))
    stmt = (stmt.where(ProcessDefinition.version == version) if version is not None
            else stmt.order_by(ProcessDefinition.version.desc()).limit(1))
    row = uow.session.execute(stmt).first()
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(f"no {which}process '{process_id}' is deployed; run `irpm deploy` first")
    return row[0], clock_reading(row[1])


def _require(instance: ProcessInstance, allowed: tuple[InstanceStatus, ...], action: str) -> None:
    if instance.status not in allowed:
        raise InvalidState(f"cannot {action} process instance {instance.id}: it is "
                           f"{instance.status}")


def suspend_instance(uow: UnitOfWork, instance_id: int, actor: Actor,
                     reason: str | None = None) -> ProcessInstance:
    instance, now = lock_instance(uow, instance_id)
    _require(instance, (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR),
             "suspend")
    return _set_lifecycle(uow, instance, now, actor, EventType.SUSPENDED, reason,
                          status=InstanceStatus.SUSPENDED, suspended_from=instance.status)


def resume_instance(uow: UnitOfWork, instance_id: int, actor: Actor,
                    reason: str | None = None) -> ProcessInstance:
    instance, now = lock_instance(uow, instance_id)
    _require(instance, (InstanceStatus.SUSPENDED,), "resume")
    resumed = _set_lifecycle(uow, instance, now, actor, EventType.RESUMED, reason,
                             status=instance.suspended_from or InstanceStatus.WAITING,
                             suspended_from=None, commit=False)
    if resumed.status in ACTIVE_STATUSES and has_children_to_collect(uow, resumed.id):
        # Children that completed, or threw errors or escalations, while this instance was
        # suspended hand over now.
        live = check_out(uow, resumed, now)
        collect_finished_children(uow, live)
        save(uow, live)
    uow.commit()
    return resumed


def _set_lifecycle(uow: UnitOfWork, instance: ProcessInstance, now: datetime, actor: Actor,
                   event: EventType, reason: str | None, *, commit: bool = True,
                   **values: Any) -> ProcessInstance:
    """A status change that leaves the workflow untouched (no state rewrite)."""
    for key, value in values.items():
        setattr(instance, key, value)
    instance.updated_at = now
    old_revision = instance.revision
    write_instance(uow, instance)
    write_events(uow, [{"instance_id": instance.id, "at": now, "type": event.value,
                        "actor": actor.user, "task_id": None, "element_id": None,
                        "data": {"reason": reason} if reason else None}])
    _keep_cached(uow, instance, old_revision)
    uow.runtime.timers_changed(uow)  # suspended timers stop counting, resumed ones count
    if commit:
        uow.commit()
    return instance


def _keep_cached(uow: UnitOfWork, instance: ProcessInstance, old_revision: int) -> None:
    """Move a cached workflow to the new revision when only the status changed."""
    workflows = uow.runtime.workflows
    workflow = workflows.checkout(instance.id, old_revision)
    if workflow is not None:
        uow.after_commit(lambda: workflows.checkin(instance.id, instance.revision, workflow))


def terminate_instance(uow: UnitOfWork, instance_id: int, actor: Actor,
                       reason: str | None = None) -> ProcessInstance:
    instance, now = lock_instance(uow, instance_id)
    _require(instance, (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR,
                        InstanceStatus.SUSPENDED), "terminate")
    _terminate(uow, instance, now, actor, reason)
    uow.commit()
    return instance


def _terminate(uow: UnitOfWork, instance: ProcessInstance, now: datetime, actor: Actor,
               reason: str | None) -> None:
    """Terminate the instance and, first, every instance it called that still runs."""
    children = uow.session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.parent_instance_id == instance.id,
        ProcessInstance.status.not_in(FINAL_STATUSES))).all()
    for child_id in children:
        child, _now = lock_instance(uow, child_id)
        _terminate(uow, child, now, actor, f"caller {instance.id} terminated")
    try:
        live = check_out(uow, instance, now)
    except StateUnreadable:  # a damaged state still ends: without its workflow
        retire_unreadable(uow, instance, now, actor.user, reason)
        return
    live.workflow.cancel()
    instance.status, instance.completed_at = InstanceStatus.TERMINATED, live.now
    instance.suspended_from = None
    live.log(EventType.TERMINATED, actor=actor.user, data={"reason": reason} if reason else None)
    save(uow, live)


def retry_instance(uow: UnitOfWork, instance_id: int, actor: Actor,
                   data: dict[str, Any] | None = None) -> ProcessInstance:
    """Run the failed step again, optionally after merging corrected ``data`` into it."""
    instance, now = lock_instance(uow, instance_id)
    _require(instance, (InstanceStatus.ERROR,), "retry")
    child = failed_child(uow, instance)
    if child is not None:
        # Retrying the caller would only clear its error while the child stays broken.
        raise InvalidState(f"cannot retry process instance {instance.id}: it waits for "
                           f"instance {child.id} ({child.process_id}), which failed; retry "
                           f"instance {child.id} instead, and this one goes on when it "
                           "completes")
    rt = uow.runtime
    patch = validate_task_data(data, None, max_bytes=rt.settings.max_task_data_bytes)
    live = check_out(uow, instance, now)
    failed = live.workflow.get_tasks(state=SpiffState.ERROR)
    for sub in live.workflow.subprocesses.values():
        failed += sub.get_tasks(state=SpiffState.ERROR)
    for task in failed:
        corrected = {**task.data, **patch}
        live.workflow.reset_from_task_id(task.id)
        # The reset re-inherits the parent task's data, which overrides any data handed to
        # the reset itself: the correction goes on top afterwards, or it would be lost.
        task.data.update(corrected)
    if not failed and patch:
        for task in live.workflow.get_tasks(state=SpiffState.READY):
            task.data.update(patch)
    instance.status = InstanceStatus.RUNNING
    live.log(EventType.RETRIED, actor=actor.user,
             data={"element": instance.error_element, "data": patch or None})
    run_engine(live)
    save(uow, live)
    uow.commit()
    return instance


def get_instance(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return instance


def instance_data(uow: UnitOfWork, instance_id: int) -> dict[str, Any]:
    """The instance's current variables (deserializes the workflow: not for list views)."""
    instance = get_instance(uow, instance_id)
    workflow = uow.runtime.workflows.checkout(instance.id, instance.revision)
    if workflow is None:
        live = check_out(uow, instance, clock.now(uow))
        workflow = live.workflow
    last = workflow.last_task or workflow.task_tree
    # A deep copy, taken before the workflow goes back to the shared cache: a caller editing
    # the result must not change the live workflow (the next action would persist the edit),
    # nor may another thread's run change the result while it is being copied.
    data = copy.deepcopy(dict(workflow.data) | dict(last.data))
    uow.runtime.workflows.checkin(instance.id, instance.revision, workflow)
    return data


def open_tasks(uow: UnitOfWork, instance_id: int) -> list[HumanTask]:
    """The tasks open in an instance, oldest first (what it waits for after a change)."""
    return list(uow.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id,
                                HumanTask.state == TaskState.OPEN)
        .order_by(HumanTask.created_at, HumanTask.name)))


def instance_events(uow: UnitOfWork, instance_id: int) -> list[InstanceEvent]:
    get_instance(uow, instance_id)
    return list(uow.session.scalars(select(InstanceEvent)
                                    .where(InstanceEvent.instance_id == instance_id)
                                    .order_by(InstanceEvent.id)))


@dataclass(frozen=True)
class InstanceFilter:
    status: str | None = None
    process_id: str | None = None
    business_key: str | None = None
    limit: int = 100
    offset: int = 0


def list_instances(uow: UnitOfWork, flt: InstanceFilter | None = None
                   ) -> tuple[list[ProcessInstance], int]:
    flt = flt or InstanceFilter()
    if flt.status is not None and flt.status not in {s.value for s in InstanceStatus}:
        raise ValidationFailed(f"unknown status '{flt.status}'; use one of "
                               f"{', '.join(s.value for s in InstanceStatus)}",
                               {"status": ["unknown"]})
    stmt: Select[ProcessInstance] = select(ProcessInstance)
    if flt.status:
        stmt = stmt.where(ProcessInstance.status == flt.status)
    if flt.process_id:
        stmt = stmt.where(ProcessInstance.process_id == flt.process_id)
    if flt.business_key:
        stmt = stmt.where(ProcessInstance.business_key == flt.business_key)
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = uow.session.scalars(stmt.order_by(ProcessInstance.id.desc())
                               .limit(flt.limit).offset(flt.offset))
    return list(rows), total


def updated_since(uow: UnitOfWork, since: datetime) -> int:
    return uow.session.scalar(select(func.count()).where(ProcessInstance.updated_at >= since)) or 0
