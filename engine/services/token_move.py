"""Instance modification: cancel an activity where a token waits and start another activity
of the same process instead (Camunda's "move token").

Only what SpiffWorkflow can represent faithfully is allowed: the token must be an active
task (ready, waiting or failed) of the instance, and the target a task-like activity (user,
manual, script, service or business-rule task) of the same (sub)process, reachable from its
start. The cancelled task's data goes to the new one, so the process carries on with what it
knew. Gateways and events are refused as targets: starting one by hand would not mean what
the diagram says (a join would wait forever for branches that never come).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import InvalidState, ValidationFailed
from ..execution.checkout import check_out, lock_instance
from ..execution.saving import save
from ..execution.stepping import run_engine
from ..execution.workflow import all_tasks
from ..models import EventType, InstanceStatus, ProcessInstance
from .admin_rule import require_administrator, require_reason
from .audit import record_admin_action

__all__ = ["MOVABLE_TYPES", "Token", "active_tokens", "element_name", "move_targets",
           "move_token", "targets_in"]

MOVABLE_TYPES = (UserTask, ManualTask, ScriptTask, ServiceTask, BusinessRuleTask)
ACTIVE = (SpiffState.READY, SpiffState.WAITING, SpiffState.ERROR)


@dataclass(frozen=True)
class Token:
    task_id: uuid.UUID
    element_id: str
    name: str
    state: str


def element_name(spec: TaskSpec) -> str:
    return str(getattr(spec, "bpmn_name", None) or spec.name)


def _tokens(tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if t.state in ACTIVE
            and getattr(t.task_spec, "bpmn_id", None) is not None]


def active_tokens(uow: UnitOfWork, instance: ProcessInstance) -> list[Token]:
    """Where the instance's tokens are (tasks that can be moved away from)."""
    live = check_out(uow, instance, instance.updated_at)
    try:
        return [Token(t.id, t.task_spec.name, element_name(t.task_spec),
                      SpiffState.get_name(t.state)) for t in _tokens(all_tasks(live.workflow))]
    finally:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)


def _reachable(start: TaskSpec) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        spec = todo.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        todo.extend(spec.outputs)
    return seen


def targets_in(process_spec: object) -> dict[str, TaskSpec]:
    specs: dict[str, TaskSpec] = getattr(process_spec, "task_specs", {})
    start = specs.get("Start")
    reachable = _reachable(start) if start is not None else set(specs)
    return {name: spec for name, spec in specs.items()
            if isinstance(spec, MOVABLE_TYPES) and name in reachable
            and getattr(spec, "bpmn_id", None) is not None}


def move_targets(uow: UnitOfWork, instance: ProcessInstance) -> list[tuple[str, str]]:
    """The activities a token of the instance's main process may be moved to: (id, name)."""
    live = check_out(uow, instance, instance.updated_at)
    try:
        return sorted((name, element_name(spec)) for name, spec in
                      targets_in(live.workflow.spec).items())
    finally:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)


def move_token(uow: UnitOfWork, instance_id: int, actor: Actor, from_task: uuid.UUID,
               to_element: str, reason: str | None) -> ProcessInstance:
    """Cancel the active task ``from_task`` and start ``to_element`` in its place, then run
    the instance on (the new task opens in the inbox, a script runs at once)."""
    require_administrator(actor, "move tokens")
    text = require_reason(reason)
    instance, now = lock_instance(uow, instance_id)
    if instance.status not in (InstanceStatus.WAITING, InstanceStatus.RUNNING,
                               InstanceStatus.ERROR):
        raise InvalidState(f"process instance {instance.id} is {instance.status}; only a "
                           "waiting or failed instance can be modified (resume it first)")
    live = check_out(uow, instance, now)
    workflows = uow.runtime.workflows
    source = next((t for t in _tokens(all_tasks(live.workflow)) if t.id == from_task), None)
    if source is None:
        workflows.checkin(instance.id, instance.revision, live.workflow)
        raise ValidationFailed(f"task {from_task} is not an active token of instance "
                               f"{instance.id}; reload the page", {"from": ["not active"]})
    targets = targets_in(source.workflow.spec)
    if to_element not in targets or to_element == source.task_spec.name:
        workflows.checkin(instance.id, instance.revision, live.workflow)
        known = ", ".join(sorted(targets)) or "none"
        raise ValidationFailed(
            f"'{to_element}' is not an activity a token can be moved to from "
            f"'{source.task_spec.name}' (user, manual, script, service or business-rule task "
            f"of the same process, reachable from its start; not the same one): {known}",
            {"to": ["not a valid target"]})
    record_admin_action(uow, actor, "move_token", f"instance:{instance.id}", text,
                        {"from": source.task_spec.name, "to": to_element,
                         "task": str(source.id)})
    _move(source, targets[to_element])
    instance.status = InstanceStatus.RUNNING
    live.log(EventType.TOKEN_MOVED, actor=actor.user, task_id=source.id,
             element_id=to_element, data={"from": source.task_spec.name, "to": to_element,
                                          "reason": text})
    run_engine(live)
    save(uow, live)
    uow.commit()
    return instance


def _move(source: Task, target: TaskSpec) -> None:
    """Cancel the token's task (and a boundary event's other branches with it) and add a
    task of ``target`` where it was, with its data; the engine readies it on the next run."""
    data = copy.deepcopy(source.data)
    anchor = source.parent
    if isinstance(anchor.task_spec, BoundaryEventSplit):
        for sibling in anchor.children:
            sibling.cancel()
    else:
        source.cancel()
    moved = anchor._add_child(target, SpiffState.FUTURE)
    # As Task.reset_branch does: predict its way on, then ready it (the parent is complete).
    # The ready hook inherits the parent's data, so the cancelled task's data goes back after.
    target._predict(moved, mask=SpiffState.PREDICTED_MASK | SpiffState.FUTURE)
    target._update(moved)
    moved.data = data
    source.workflow.last_task = anchor
