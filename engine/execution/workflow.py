"""What a workflow holds, read off its task tree (subprocesses included): the READY human
tasks, the WAITING timers, all tasks.

Pure functions of a ``BpmnWorkflow`` — no database, no ``Live`` — kept apart so that checking
out, stepping, mirroring and call activities all read the workflow without depending on one
another.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState


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


def all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks
