"""The message and signal start events of a workflow's event subprocesses, as catches a
message or signal from outside can reach.

SpiffWorkflow keeps no waiting task for them: ``EventManager.update_collaboration`` looks
through the trigger specs of the top workflow's start (``spec.start.trigger_specs``, the
event subprocesses of the process itself) for a start event whose definition equals the
event's, starts that subprocess and lets it catch the event — so ``workflow.catch`` reaches
them while nothing in ``event_manager.tasks`` lists them. Read here from the spec, they get
``message_wait`` rows like any waiting catch, and a message or signal sent with no instance
named finds the instances without loading every workflow. A message thrown by another
instance does not reach them, as a SpiffWorkflow collaboration's throw does not.

Only the top level's, as SpiffWorkflow: an event subprocess inside an embedded subprocess is
a trigger of that subprocess's start, which ``update_collaboration`` does not consult.

Correlation is IRPM's choice where SpiffWorkflow has none: SpiffWorkflow gives the new
event subprocess the message's correlations, so its start takes any message of the name; a
message with correlation properties is compared here with the instance's own correlation
values (the top workflow's, once it has some), so a correlated message reaches only the
instances it names instead of every instance of the process.

Plain Python on a ``BpmnWorkflow`` (no database): ``engine.execution.workflow`` calls it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

#: SpiffWorkflow's class names of the definitions an outside message or signal matches.
_KINDS = {"MessageEventDefinition": "message", "SignalEventDefinition": "signal"}

#: ``(task id, element id, kind, name, compared correlations)`` — ``MessageWaitKey``.
Wait = tuple[uuid.UUID, str, str, str, str | None]


def start_definitions(workflow: BpmnWorkflow) -> list[tuple[str, str, Any]]:
    """``(start event id, kind, definition)`` for each message or signal the start events of
    the process's own event subprocesses catch (a multiple start's members each)."""
    found = []
    for name in getattr(workflow.spec.start, "trigger_specs", ()):
        sp_spec = workflow.subprocess_specs.get(name)
        if sp_spec is None:
            continue
        for start in sp_spec.bpmn_start_events:
            definition = start.event_definition
            for one in (definition.event_definitions
                        if isinstance(definition, MultipleEventDefinition) else [definition]):
                kind = _KINDS.get(type(one).__name__)
                if kind is not None:
                    found.append((start.name, kind, one))
    return found


def start_waits(workflow: BpmnWorkflow) -> set[Wait]:
    """The event-subprocess starts as ``message_wait`` keys of kind ``message_start`` or
    ``signal_start`` (a message or signal from outside reaches them, a thrown one does not:
    in a SpiffWorkflow collaboration a pool's throw reaches only the other pools' waiting
    tasks and participant start events, not their event subprocesses); the row's task is the
    workflow's root (the process itself catches), the correlations compared are the
    instance's when the message has correlation properties and the instance has values."""
    correlations = workflow.correlations
    waits: set[Wait] = set()
    for element, kind, one in start_definitions(workflow):
        compared = (json.dumps(correlations, sort_keys=True, default=str)
                    if getattr(one, "correlation_properties", None) and correlations else None)
        waits.add((workflow.task_tree.id, element, f"{kind}_start", one.name, compared))
    return waits
