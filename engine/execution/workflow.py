"""What a workflow holds, read off its task tree (subprocesses included): the READY human
tasks, the WAITING timers, all tasks.

Pure functions of a ``BpmnWorkflow`` — no database, no ``Live`` — kept apart so that checking
out, stepping, mirroring and call activities all read the workflow without depending on one
another.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState

from ..messaging.event_subprocesses import start_waits


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[uuid.UUID, Task]:
    """The READY manual tasks of the workflow and its subprocesses, in creation order.

    A flat look at each tree's task mapping, not ``get_tasks``: SpiffWorkflow's iterator
    walks the tree a task at a time (several times the cost) and stops at depth 1,000. The
    trees are small because they are pruned (``pruning``).
    """
    return {t.id: t for one in (workflow, *workflow.subprocesses.values())
            for t in one.tasks.values() if t.state == SpiffState.READY and t.task_spec.manual}


def waiting_timers(workflow: BpmnWorkflow) -> dict[uuid.UUID, tuple[Task, datetime, str]]:
    """WAITING timer events (in subprocesses too) with their due time and kind.

    A task waits on a timer when its event definition is one, or holds one: an event-based
    gateway and a multiple / parallel-multiple start event wait on SpiffWorkflow's
    ``MultipleEventDefinition`` of all their events, whose timer keeps its due time on the
    task that waits (one per task: SpiffWorkflow keeps a single ``event_value`` there).
    """
    timers = {}
    for task in workflow.event_manager.tasks.values():
        if task.state != SpiffState.WAITING:
            continue
        definition = _waiting_timer(task)
        if definition is None:
            continue
        value = definition.details(task).value
        if not isinstance(value, str):
            continue  # a finished cycle, or a timer not yet evaluated
        kind = ("cycle" if isinstance(definition, CycleTimerEventDefinition)
                else "date" if isinstance(definition, TimeDateEventDefinition) else "duration")
        timers[task.id] = (task, TimerEventDefinition.get_datetime(value), kind)
    return timers


def _waiting_timer(task: Task) -> TimerEventDefinition | None:
    """The timer ``task`` waits on: its own event, or the first of a combined event's
    timers that has not fired yet (a parallel-multiple start still waiting for others)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return definition
    if not isinstance(definition, MultipleEventDefinition):
        return None
    seen = [e.event_definition for e in task.internal_data.get("seen_events", [])]
    return next((d for d in definition.event_definitions
                 if isinstance(d, TimerEventDefinition) and d not in seen), None)


def waiting_message_names(workflow: BpmnWorkflow) -> set[str]:
    """The messages the workflow's waiting events catch now: a message catch event or
    receive task, and the messages an event-based gateway or a multiple start event waits
    on among its other events."""
    return {one.name for _task, one in _waiting_events(workflow, MESSAGE)}


def waiting_message_definitions(workflow: BpmnWorkflow, name: str) -> list[EventDefinition]:
    """The definitions of the waiting catches of message ``name`` (their correlation
    properties say how a message sent to this workflow is correlated)."""
    return [one for _task, one in _waiting_events(workflow, MESSAGE) if one.name == name]


#: The kinds of waiting catch ``message_wait`` holds, by SpiffWorkflow's class name.
MESSAGE, SIGNAL = "MessageEventDefinition", "SignalEventDefinition"
KINDS = {MESSAGE: "message", SIGNAL: "signal"}


def _waiting_events(workflow: BpmnWorkflow,
                    *kinds: str) -> list[tuple[Task, EventDefinition]]:
    found = []
    for task in workflow.event_manager.tasks.values():
        definition: EventDefinition = task.task_spec.event_definition
        seen = [e.event_definition for e in task.internal_data.get("seen_events", [])]
        for one in (definition.event_definitions
                    if isinstance(definition, MultipleEventDefinition) else [definition]):
            if type(one).__name__ in kinds and one not in seen:
                found.append((task, one))
    return found


#: A waiting catch as ``message_wait`` holds it: task, element, kind (``message`` or
#: ``signal``), name, and the correlations it compares as canonical JSON (``None``: it takes
#: any message of that name; always for a signal) — hashable, so a save compares the set
#: before and after.
MessageWaitKey = tuple[uuid.UUID, str, str, str, str | None]


def message_waits(workflow: BpmnWorkflow) -> set[MessageWaitKey]:
    """Every message and signal the workflow's waiting events catch now (as
    ``waiting_message_names``), a message with the correlations SpiffWorkflow's
    ``MessageEventDefinition.catches`` would compare: none when the message has no
    correlation properties or the catching workflow has no correlation values yet (then
    any message of the name is caught)."""
    waits: set[MessageWaitKey] = set()
    for task, one in _waiting_events(workflow, MESSAGE, SIGNAL):
        correlations = task.workflow.correlations
        compared = (json.dumps(correlations, sort_keys=True, default=str)
                    if getattr(one, "correlation_properties", None) and correlations else None)
        waits.add((task.id, task.task_spec.name, KINDS[type(one).__name__], one.name,
                   compared))
    return waits | start_waits(workflow)  # hook: the event subprocesses' starts


def all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks
