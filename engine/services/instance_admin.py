"""Administrative operations on one instance: lifecycle (suspend, resume, terminate, retry),
reassigning a task, editing variables — each in one transaction with its audit entry.

Every operation here is an administrative act: it asks the one rule (``admin_rule``: only
administrators act) and needs a reason — it overrides what the process or the organisation
decided, so the audit must say who did it and why. The console, the REST API and the
``irpm`` commands all come through here. The audit entry is written before the change and in
the same transaction: a refused or failed operation leaves neither the change nor a record
of it.
"""

from __future__ import annotations

import copy
import keyword
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import update

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import Conflict, InvalidState, NotFound, ValidationFailed
from ..execution.checkout import check_out, lock_instance
from ..execution.mirror import org_codes, write_events
from ..execution.saving import save
from ..execution.workflow import all_tasks
from ..forms import RESERVED_KEYS
from ..models import FINAL_STATUSES, EventType, HumanTask, ProcessInstance, TaskState
from ..variables import current_data
from .admin_rule import require_administrator, require_reason
from .audit import record_admin_action
from .instances import resume_instance, retry_instance, suspend_instance, terminate_instance
from .tasks import refuse_excluded

__all__ = ["LIFECYCLE", "admin_lifecycle", "reassign_task", "set_variables"]

#: What a variable may be called: what a task form's field may be called.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_Steer = Callable[[UnitOfWork, int, Actor, str | None], ProcessInstance]
LIFECYCLE: dict[str, _Steer | None] = {
    "suspend": suspend_instance, "resume": resume_instance, "terminate": terminate_instance,
    "retry": None}  # retry takes corrections (``data``) besides the reason


def admin_lifecycle(uow: UnitOfWork, operation: str, instance_id: int, actor: Actor,
                    reason: str | None, data: dict[str, Any] | None = None
                    ) -> ProcessInstance:
    """Suspend, resume, terminate or retry (``operation``) with a reason, audited; ``data``
    (retry only) is merged into the failed step before it runs again, and its names are
    kept in the audit entry."""
    if operation not in LIFECYCLE:
        raise ValidationFailed(f"unknown operation '{operation}'; use one of "
                               f"{', '.join(LIFECYCLE)}", {"operation": ["unknown"]})
    require_administrator(actor, f"{operation} instances")
    text = require_reason(reason)
    if data and operation != "retry":
        raise ValidationFailed(f"only retry takes corrected data, not {operation}",
                               {"data": ["not allowed"]})
    before = uow.session.get(ProcessInstance, instance_id)
    if before is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    details: dict[str, Any] = {"status_before": before.status}
    if data:
        details["corrected"] = sorted(map(str, data))
    record_admin_action(uow, actor, operation, f"instance:{instance_id}", text, details)
    if operation == "retry":
        return retry_instance(uow, instance_id, actor, data)
    steer = LIFECYCLE[operation]
    assert steer is not None
    return steer(uow, instance_id, actor, text)


def reassign_task(uow: UnitOfWork, task_id: uuid.UUID, actor: Actor, to_username: str,
                  reason: str | None) -> HumanTask:
    """Make ``to_username`` (an active login of the runtime's directory) the assignee of an
    open task, whoever held it — unlike 转办 (``delegate_task``), not limited to whom the
    directory lets the holder delegate to: the administrator's call. But not to someone the
    task excludes (回避, ``engine.separation``): no administrator can make a post holder
    check their own post."""
    require_administrator(actor, "reassign tasks")
    text = require_reason(reason)
    task = uow.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    instance, now = lock_instance(uow, task.instance_id)
    uow.session.refresh(task)
    if task.state != TaskState.OPEN:
        raise Conflict(f"task {task.id} ({task.name}) is {task.state}; only open tasks can be "
                       "reassigned")
    if instance.status in FINAL_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}")
    if to_username == task.assignee:
        raise ValidationFailed(f"task {task.id} is already {to_username}'s",
                               {"to": ["the same person"]})
    directory = uow.runtime.directory
    if not directory.is_active(uow, to_username):
        raise ValidationFailed(f"no active account '{to_username}'; give a login name",
                               {"to": ["unknown"]})
    refuse_excluded(uow, task.id, task.definition_id, task.element_id, task.name,
                    directory.actor_for(uow, to_username))
    record_admin_action(uow, actor, "reassign", f"task:{task.id}", text,
                        {"from": task.assignee, "to": to_username, "task": task.name},
                        instance_id=instance.id)
    previous = task.assignee
    uow.session.execute(update(HumanTask).where(HumanTask.id == task.id)
                        .values(assignee=to_username, claimed_at=now)
                        .execution_options(synchronize_session=False))
    write_events(uow, [{"instance_id": instance.id, "at": now,
                        "type": EventType.TASK_DELEGATED.value, "actor": actor.user,
                        "task_id": task.id, "element_id": task.element_id,
                        "data": {"from": previous, "to": to_username, "reason": text,
                                 "administrator": True}}])
    uow.commit()
    uow.session.refresh(task)
    return task


def _clean_changes(changes: Any, max_bytes: int) -> dict[str, Any]:
    if not isinstance(changes, dict) or not changes:
        raise ValidationFailed("name at least one variable to change",
                               {"variables": ["empty"]})
    errors: dict[str, object] = {}
    for name in changes:
        if (not isinstance(name, str) or not NAME.match(name) or name in RESERVED_KEYS
                or keyword.iskeyword(name)):
            errors[str(name)] = ["a variable name starts with a letter and has only letters, "
                                 "digits and _"]
    try:
        size = len(orjson.dumps(changes))
    except TypeError as exc:
        raise ValidationFailed(f"values must be JSON: {exc}", {"variables": ["not JSON"]}) \
            from None
    if size > max_bytes:
        errors["variables"] = [f"{size} bytes; the limit is {max_bytes}"]
    if errors:
        raise ValidationFailed("invalid variables: " + ", ".join(errors), errors)
    return dict(changes)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    kinds: dict[type, str] = {str: "text", list: "list", dict: "object"}
    return kinds.get(type(value), type(value).__name__)


def set_variables(uow: UnitOfWork, instance_id: int, actor: Actor, changes: dict[str, Any],
                  reason: str | None) -> dict[str, Any]:
    """Change the instance's variables for every step still to come, and return them.

    An existing variable keeps its kind (a number stays a number: the process's conditions
    and forms expect it); a new variable may be anything JSON. The change goes into the data
    of every active task (what the following steps inherit) and of the last completed task
    (what the console shows), and the open tasks' unit/department/post codes follow it.
    """
    require_administrator(actor, "change variables")
    text = require_reason(reason)
    clean = _clean_changes(changes, uow.runtime.settings.max_task_data_bytes)
    instance, now = lock_instance(uow, instance_id)
    if instance.status in FINAL_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}; its "
                           "variables are history now")
    live = check_out(uow, instance, now)
    current = current_data(live.workflow)
    wrong = {name: [f"was {_json_kind(current[name])}, not {_json_kind(value)}"]
             for name, value in clean.items()
             if name in current and current[name] is not None
             and _json_kind(current[name]) != _json_kind(value)}
    if wrong:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
        raise ValidationFailed("a variable keeps its kind: " + ", ".join(
            f"{n} {m[0]}" for n, m in wrong.items()), dict(wrong))
    old = orjson.loads(orjson.dumps({name: current.get(name) for name in clean}, default=str))
    record_admin_action(uow, actor, "set_variables", f"instance:{instance.id}", text,
                        {"old": old, "new": clean})
    active = [t for t in all_tasks(live.workflow)
              if t.state in (SpiffState.READY, SpiffState.WAITING, SpiffState.STARTED,
                             SpiffState.ERROR)]
    last = live.workflow.last_task
    for task in [*active, *([last] if last is not None else [])]:
        task.data.update(copy.deepcopy(clean))
    codes = {k: v for k, v in org_codes(clean).items() if k in clean}
    if codes:
        uow.session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id,
                                                    HumanTask.state == TaskState.OPEN)
                            .values(**codes).execution_options(synchronize_session=False))
    live.log(EventType.VARIABLES_CHANGED, actor=actor.user,
             data={"names": sorted(clean), "reason": text})
    save(uow, live)
    uow.commit()
    return current_data(live.workflow)
