"""Call activities that run the called process as its own instance.

SpiffWorkflow embeds a called process inside the caller's workflow. For a city campaign
that calls one unit cycle per unit, which calls one post cycle per post, that would make
the whole city one instance: every task of every post would lock, load and rewrite the same
row. Like Camunda, IRPM runs each call as a separate process instance with a link to its
caller; the calling task waits (STARTED) until the child completes and then receives the
child's output data.

The spec below only records that a child is wanted; ``engine.execution.saving`` starts it in the
same transaction and hands the result back when the child completes.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
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

    def child_input(self, my_task: Task) -> dict[str, Any]:
        """The data the child starts with: the declared data inputs, else all task data."""
        io = getattr(self, "io_specification", None)
        if io is None or not io.data_inputs:
            return deepcopy(dict(my_task.data))
        return {var.bpmn_id: deepcopy(var.get(my_task)) for var in io.data_inputs}

    def receive_result(self, my_task: Task, child_data: dict[str, Any]) -> None:
        """Take the child's final data (its declared outputs, else all of it) and go on."""
        io = getattr(self, "io_specification", None)
        if io is None or not io.data_outputs:
            my_task.data.update(deepcopy(child_data))
        else:
            for var in io.data_outputs:
                my_task.data[var.bpmn_id] = deepcopy(child_data.get(var.bpmn_id))
        my_task._set_internal_data(**{DONE: True})
        self._update(my_task)


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
