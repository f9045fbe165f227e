"""Call activities that run the called process as its own instance.

SpiffWorkflow embeds a called process inside the caller's workflow. For a city campaign
that calls one unit cycle per unit, which calls one post cycle per post, that would make
the whole city one instance: every task of every post would lock, load and rewrite the same
row. Like Camunda, IRPM runs each call as a separate process instance with a link to its
caller; the calling task waits (STARTED) until the child completes and then receives the
child's output data. What crosses between them follows SpiffWorkflow's ``CallActivity``:
data in and out through the callee's ioSpecification, else a full copy each way;
errors and escalations the callee does not catch go to the caller's boundary events.

The spec below only records that a child is wanted; ``engine.execution.saving`` starts it in the
same transaction and hands the result back when the child completes.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import SubWorkflowTaskConverter
from SpiffWorkflow.spiff.specs.defaults import CallActivity
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

REQUESTED, CHILD, DONE = "irpm_child_requested", "irpm_child_instance", "irpm_child_done"


class DetachedCallActivity(CallActivity):
    def _update_hook(self, my_task: Task) -> bool:
        if my_task._get_internal_data(DONE):
            return True
        if not my_task._get_internal_data(REQUESTED):
            # The generic hook (inherit data, pre-script), not SubWorkflowTask's, which
            # would build an embedded subprocess.
            super(SubWorkflowTask, self)._update_hook(my_task)
            my_task._set_internal_data(**{REQUESTED: True})
            my_task._set_state(TaskState.STARTED)
        return False

    def child_input(self, my_task: Task, callee: BpmnProcessSpec) -> dict[str, Any]:
        """The data the child starts with, by SpiffWorkflow's ``CallActivity.copy_data``:
        the callee process's declared data inputs, else all the caller's task data.

        Raises ``WorkflowDataException`` (on the caller's task) for a missing input, as
        SpiffWorkflow does.
        """
        io = callee.io_specification
        if io is None or not io.data_inputs:
            return deepcopy(dict(my_task.data))
        data: dict[str, Any] = {}
        for var in io.data_inputs:
            if not var.exists(my_task):
                raise WorkflowDataException(
                    "You are missing a required Data Input for a call activity.",
                    task=my_task, data_input=var)
            data[var.bpmn_id] = deepcopy(var.get(my_task))
        return data

    def receive_result(self, my_task: Task, child: BpmnWorkflow) -> None:
        """Take the child's final data and go on, by SpiffWorkflow's
        ``CallActivity.update_data``: without declared data outputs the caller's task data
        *becomes* the child's (so a variable the child deleted is gone from the caller too);
        with them, only those are taken from the child's end, and a missing one raises
        ``WorkflowDataException``."""
        io = child.spec.io_specification
        if io is None or not io.data_outputs:
            last = child.last_task or child.task_tree
            my_task.data = deepcopy(dict(last.data))
        else:
            end = child.get_next_task(child.task_tree, skip_subprocesses=True, spec_name="End")
            source = end.data if end is not None else {}
            for var in io.data_outputs:
                if var.bpmn_id not in source:
                    raise WorkflowDataException(
                        "The Data Output was not available in the subprocess output.",
                        task=my_task, data_output=var)
                my_task.data[var.bpmn_id] = deepcopy(source[var.bpmn_id])
        my_task._set_internal_data(**{DONE: True})
        self._update(my_task)


#: The events a callee throws that SpiffWorkflow passes up to its caller's workflow.
CALLER_EVENTS = (ErrorEventDefinition, EscalationEventDefinition)


def escaped_events(child: BpmnWorkflow) -> list[BpmnEvent]:
    """Take the errors and escalations nothing in ``child`` caught out of it.

    SpiffWorkflow throws an uncaught event to the enclosing workflow (``EventManager.catch``
    moves its target to ``parent_workflow``); a child instance is a workflow of its own, so
    such events end in its ``bpmn_events`` instead, from where they go to the caller.
    """
    taken = [e for e in child.bpmn_events if isinstance(e.event_definition, CALLER_EVENTS)]
    child.bpmn_events = [e for e in child.bpmn_events if e not in taken]
    return taken


def deliver_to_caller(call_task: Task, events: list[BpmnEvent]) -> None:
    """Throw ``events`` from the callee into the workflow holding ``call_task``, where its
    boundary events catch them (matched by code, as SpiffWorkflow matches them); one not
    caught there goes on up as SpiffWorkflow sends it, ending in the caller's own
    ``bpmn_events`` (and so to the caller's caller)."""
    for event in events:
        call_task.workflow.top_workflow.catch(BpmnEvent(
            event.event_definition, payload=event.payload, target=call_task.workflow))


def pending_calls(tasks: list[Task]) -> list[Task]:
    """Call tasks that want a child and have none yet."""
    return [t for t in tasks if isinstance(t.task_spec, DetachedCallActivity)
            and t.state == TaskState.STARTED and t._get_internal_data(REQUESTED)
            and t._get_internal_data(CHILD) is None]


class IrpmBpmnParser(SpiffBpmnParser):
    """SpiffWorkflow's parser with detached call activities."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, Any]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("callActivity"): (CallActivityParser, DetachedCallActivity),
    }


IRPM_SERIALIZER_CONFIG = {**SPIFF_CONFIG, DetachedCallActivity: SubWorkflowTaskConverter}
