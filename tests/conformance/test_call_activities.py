"""Call activities as IRPM runs them (a child instance per call) against raw SpiffWorkflow
(the called process a subworkflow of the same in-memory workflow), in the same test run.

Each model under ``models/calls`` holds a caller (the file's name) and its callee; a callee
with a user task ``c_work`` waits for it (completed with ``WORK``: in IRPM in a transaction
of its own, so what the child then throws, fails or returns reaches a caller that is not
in memory). Both runs must end with the same status, the same caller data and the same
path (the completed elements of the caller and of the callee), the same callee data, and a
failure must name the same element.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.execution.checkout import check_out
from engine.models import InstanceStatus, ProcessInstance
from engine.models.task import TaskState
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import clock as clock_service
from engine.services import deployment, instances
from engine.services import tasks as tasks_service
from tests.conftest import ADMIN

MODELS = Path(__file__).parent / "models" / "calls"
#: What the callee's user task ``c_work`` is completed with, where it has one.
WORK = {"worked": True}


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
    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=SpiffState.COMPLETED)
                  if t.task_spec.bpmn_id and t.workflow is workflow)


def _data(workflow: BpmnWorkflow) -> dict[str, Any]:
    last = workflow.last_task or workflow.task_tree
    return dict(last.data)


def _call_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """At a failure, the data of the caller's call activity ``call`` (which task is the
    "last" one differs: raw SpiffWorkflow counts the subworkflow's tasks too)."""
    [task] = [t for t in workflow.get_tasks(spec_name="call") if t.workflow is workflow]
    return dict(task.data)


def run_raw(name: str) -> Outcome:
    """The model in memory, as SpiffWorkflow runs it: the callee a subworkflow."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODELS / f"{name}.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec(name), parser.get_subprocess_specs(name))
    failed = None
    try:
        workflow.do_engine_steps()
        for task in workflow.get_tasks(state=SpiffState.READY, manual=True):
            assert task.task_spec.bpmn_id == "c_work"
            task.set_data(**WORK)
            task.run()
            workflow.do_engine_steps()
    except WorkflowTaskException as exc:
        failed = exc.task.task_spec.bpmn_id if exc.task else None
    [callee] = workflow.subprocesses.values()
    status = "error" if failed else "completed" if workflow.completed else "waiting"
    data = _call_data(workflow) if failed else _data(workflow)
    return Outcome(status, data, _path(workflow), _path(callee), _data(callee), failed)


def run_irpm(rt: Runtime, name: str) -> Outcome:
    """The model deployed and started in IRPM: the callee a child instance."""
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([MODELS / f"{name}.bpmn"]), deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, name, None, {})
    with rt.uow(write=False) as uow:
        open_tasks = tasks_service.list_tasks(uow, ADMIN, tasks_service.TaskFilter(view="all"))[0]
    for task in (t for t in open_tasks if t.state == TaskState.OPEN):
        assert task.element_id == "c_work" and task.instance_id != caller.id
        with rt.uow() as uow:
            tasks_service.complete_task(uow, task.id, ADMIN, WORK)
    with rt.uow(write=False) as uow:
        caller = instances.get_instance(uow, caller.id)
        children = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.parent_instance_id == caller.id)).all()
        now = clock_service.now(uow)
        caller_workflow = check_out(uow, caller, now).workflow
        caller_path = _path(caller_workflow)
        if caller.status == InstanceStatus.ERROR:
            data = _call_data(caller_workflow)
        callee_path, callee_data = [], {}  # no child: the caller lacked the callee's input
        for child in children:
            callee = check_out(uow, child, now).workflow
            callee_path, callee_data = _path(callee), _data(callee)
        if caller.status != InstanceStatus.ERROR:
            data = instances.instance_data(uow, caller.id)
    assert len(children) == (0 if name == "ca_io_missing_input" else 1)
    if name.startswith("ca_interrupted_"):
        # SpiffWorkflow cancels the subworkflow with the interrupted call activity.
        assert children[0].status == InstanceStatus.TERMINATED
    status = {InstanceStatus.COMPLETED: "completed", InstanceStatus.ERROR: "error"}.get(
        caller.status, "waiting")
    return Outcome(status, data, caller_path, callee_path, callee_data,
                   caller.error_element)


CASES = sorted(p.stem for p in MODELS.glob("*.bpmn"))


@pytest.mark.parametrize("name", CASES)
def test_call_activity_runs_as_in_spiffworkflow(rt: Runtime, name: str) -> None:
    raw = run_raw(name)
    assert run_irpm(rt, name) == raw


def test_the_models_cover_each_construct() -> None:
    """The comparison above is only as good as its models: each construct has one, and
    the raw runs differ where the constructs do (not all the same trivial outcome)."""
    assert {"ca_full_copy", "ca_io_spec", "ca_error_interrupting", "ca_error_other_code",
            "ca_escalation_interrupting", "ca_escalation_noninterrupting", "ca_script_failure",
            "ca_terminate", "ca_error_after_wait", "ca_escalation_after_wait",
            "ca_failure_after_wait", "ca_interrupted_while_waiting",
            "ca_interrupted_after_wait", "ca_io_missing_input",
            "ca_io_missing_output", "ca_escalation_other_code",
            "ca_error_catch_all"} <= set(CASES)
    assert run_raw("ca_full_copy").data == {"a": 11, "b": 2, "c": 5}  # "gone" deleted
    assert run_raw("ca_io_spec").data == {"x": 4, "z": 9, "w": 7, "y": 8}
    assert "w" not in run_raw("ca_io_spec").callee_data
    assert run_raw("ca_error_interrupting").data == {"handled": True}
    assert run_raw("ca_error_other_code").data == {"worked": True, "normal": True}
    assert run_raw("ca_escalation_other_code").data == {"worked": True, "normal": True}
    assert run_raw("ca_error_catch_all").data == {"handled": True}
    assert run_raw("ca_escalation_after_wait").data == {
        "handled": True, "worked": True, "after": True, "normal": True}
    failed = run_raw("ca_failure_after_wait")
    assert (failed.status, failed.error_element) == ("error", "c_broken")


NESTED = MODELS / "nested" / "ca_nested.bpmn"


def test_an_error_passes_through_a_caller_without_boundary_event(rt: Runtime) -> None:
    """caller → middle → callee: the callee's error, not caught in the middle, reaches the
    outer caller's boundary event, as SpiffWorkflow passes it from workflow to parent."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(NESTED))
    raw = BpmnWorkflow(parser.get_spec("ca_nested"), parser.get_subprocess_specs("ca_nested"))
    raw.do_engine_steps()
    [work] = raw.get_tasks(state=SpiffState.READY, manual=True)
    work.set_data(**WORK)
    work.run()
    raw.do_engine_steps()
    raw_paths = {sp.spec.name: _path(sp) for sp in raw.subprocesses.values()}

    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([NESTED]), deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, "ca_nested", None, {})
    with rt.uow(write=False) as uow:
        [task] = [t for t in tasks_service.list_tasks(
            uow, ADMIN, tasks_service.TaskFilter(view="all"))[0] if t.state == TaskState.OPEN]
    with rt.uow() as uow:
        tasks_service.complete_task(uow, task.id, ADMIN, WORK)
    with rt.uow(write=False) as uow:
        everyone = list(uow.session.scalars(select(ProcessInstance).order_by(
            ProcessInstance.id)))
        now = clock_service.now(uow)
        paths = {i.process_id: _path(check_out(uow, i, now).workflow) for i in everyone}
        data = instances.instance_data(uow, caller.id)
    assert raw.completed and _data(raw) == {"handled": True}
    assert [i.status for i in everyone] == [InstanceStatus.COMPLETED] * 3
    assert data == _data(raw)
    assert paths == {"ca_nested": _path(raw), **raw_paths}


NESTED_INTERRUPTED = MODELS / "nested" / "ca_nested_interrupted.bpmn"


def test_an_interrupted_call_ends_the_callee_and_what_it_calls(rt: Runtime) -> None:
    """The middle instance throws an escalation while its own call waits: the caller's
    interrupting boundary event ends the middle and its callee, as SpiffWorkflow cancels
    both subworkflows."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(NESTED_INTERRUPTED))
    name = "ca_nested_interrupted"
    raw = BpmnWorkflow(parser.get_spec(name), parser.get_subprocess_specs(name))
    raw.do_engine_steps()
    [work] = [t for t in raw.get_tasks(state=SpiffState.READY, manual=True)
              if t.task_spec.bpmn_id == "m_work"]
    work.run()
    raw.do_engine_steps()
    assert raw.completed and not raw.get_tasks(state=SpiffState.READY, manual=True)

    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([NESTED_INTERRUPTED]), deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, name, None, {})
    with rt.uow(write=False) as uow:
        [task] = [t for t in tasks_service.list_tasks(
            uow, ADMIN, tasks_service.TaskFilter(view="all"))[0] if t.element_id == "m_work"]
    with rt.uow() as uow:
        tasks_service.complete_task(uow, task.id, ADMIN, {})
    with rt.uow(write=False) as uow:
        everyone = list(uow.session.scalars(select(ProcessInstance).order_by(
            ProcessInstance.id)))
        still_open = [t for t in tasks_service.list_tasks(
            uow, ADMIN, tasks_service.TaskFilter(view="all"))[0] if t.state == TaskState.OPEN]
        now = clock_service.now(uow)
        caller_path = _path(check_out(uow, everyone[0], now).workflow)
        data = instances.instance_data(uow, caller.id)
    assert [(i.process_id, i.status) for i in everyone] == [
        (name, InstanceStatus.COMPLETED), ("ca_ni_middle", InstanceStatus.TERMINATED),
        ("ca_ni_callee", InstanceStatus.TERMINATED)]
    assert still_open == []
    assert (caller_path, data) == (_path(raw), _data(raw))
