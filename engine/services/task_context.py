"""The context a task shows beside its form (``engine.task_context``), with its values.

Read for the task page and the API's task answer, in the caller's read transaction. The
values come from the task's own data in its workflow — what the task sees, a multi-instance
item included — or, once the task has left the workflow's tree, from the instance's data.
An element that declares no context costs no workflow load."""

from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.exceptions import TaskNotFoundException

from ..db import UnitOfWork
from ..errors import NotFound, StateUnreadable
from ..execution.checkout import check_out, load_definition
from ..models import HumanTask
from ..task_context import ContextValue, from_catalog, resolve
from . import clock, instances

__all__ = ["task_context"]


def task_context(uow: UnitOfWork, task: HumanTask) -> list[ContextValue]:
    """The declared context fields of ``task``'s element with their values (the caller has
    checked the actor may see the task); an unreadable state shows every field empty."""
    fields = from_catalog(load_definition(uow, task.definition_id).element(task.element_id))
    if not fields:
        return []
    try:
        data = _task_data(uow, task)
    except (NotFound, StateUnreadable):
        data = {}
    return resolve(fields, data)


def _task_data(uow: UnitOfWork, task: HumanTask) -> dict[str, Any]:
    instance = instances.get_instance(uow, task.instance_id)
    workflows = uow.runtime.workflows
    workflow = workflows.checkout(instance.id, instance.revision)
    if workflow is None:
        workflow = check_out(uow, instance, clock.now(uow)).workflow
    try:
        # A copy, as ``instance_data`` takes: the workflow goes back to the shared cache.
        found: dict[str, Any] | None = copy.deepcopy(
            dict(workflow.get_task_from_id(task.id).data))
    except TaskNotFoundException:  # left the tree (a loop reset it): the instance's data
        found = None
    finally:
        workflows.checkin(instance.id, instance.revision, workflow)
    return found if found is not None else instances.instance_data(uow, task.instance_id)
