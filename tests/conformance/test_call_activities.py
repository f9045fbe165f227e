"""Call activities as IRPM runs them (a child instance per call) against raw SpiffWorkflow
(the called process a subworkflow of the same in-memory workflow), in the same test run.

Each model under ``models/calls`` holds a caller (the file's name) and its callee. Both
runs must end with the same status, the same caller data and the same path (the completed
elements of the caller and of the callee), and a failure must name the same element.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.execution.checkout import check_out
from engine.models import InstanceStatus, ProcessInstance
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import clock as clock_service
from engine.services import deployment, instances

MODELS = Path(__file__).parent / "models" / "calls"


@dataclass(frozen=True)
class Outcome:
    """How one run ended: ``status`` is completed / waiting / error."""

    status: str
    data: dict[str, Any]
    caller_path: list[str]
    callee_path: list[str]
    callee_data: dict[str, Any]
    error_element: str | None = None


def _path(workflow: BpmnWorkflow) -> list[str]:
    """The completed BPMN elements of ``workflow`` itself (not of its subworkflows)."""
    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                  if t.task_spec.bpmn_id and t.workflow is workflow)


def _data(workflow: BpmnWorkflow) -> dict[str, Any]:
    last = workflow.last_task or workflow.task_tree
    return dict(last.data)


def run_raw(name: str) -> Outcome:
    """The model in memory, as SpiffWorkflow runs it: the callee a subworkflow."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODELS / f"{name}.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec(name), parser.get_subprocess_specs(name))
    failed = None
    try:
        workflow.do_engine_steps()
    except WorkflowTaskException as exc:
        failed = exc.task.task_spec.bpmn_id if exc.task else None
    [callee] = workflow.subprocesses.values()
    status = "error" if failed else "completed" if workflow.completed else "waiting"
    return Outcome(status, _data(workflow), _path(workflow), _path(callee),
                   _data(callee), failed)


def run_irpm(rt: Runtime, name: str) -> Outcome:
    """The model deployed and started in IRPM: the callee a child instance."""
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([MODELS / f"{name}.bpmn"]), deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, name, None, {})
    with rt.uow(write=False) as uow:
        caller = instances.get_instance(uow, caller.id)
        [child] = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.parent_instance_id == caller.id)).all()
        now = clock_service.now(uow)
        caller_path = _path(check_out(uow, caller, now).workflow)
        callee = check_out(uow, child, now).workflow
        callee_path, callee_data = _path(callee), _data(callee)
        data = instances.instance_data(uow, caller.id)
    status = {InstanceStatus.COMPLETED: "completed", InstanceStatus.ERROR: "error"}.get(
        caller.status, "waiting")
    return Outcome(status, data, caller_path, callee_path, callee_data,
                   caller.error_element)


CASES = sorted(p.stem for p in MODELS.glob("*.bpmn"))


@pytest.mark.parametrize("name", CASES)
def test_call_activity_runs_as_in_spiffworkflow(rt: Runtime, name: str) -> None:
    raw = run_raw(name)
    assert run_irpm(rt, name) == raw
