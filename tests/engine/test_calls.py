"""Call activities as child instances, messages into waiting instances, service operators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.actors import Actor
from engine.errors import Conflict, InvalidState
from engine.models import InstanceEvent, InstanceStatus, ProcessInstance
from engine.operators import OperatorCall
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import deployment, instances, messages
from engine.services import tasks as tasks_service
from tests.conftest import ADMIN, FIXTURES, deploy_text

UNITS = ["FGW", "CZJ", "RSJ"]


@pytest.fixture
def calls(rt: Runtime) -> Runtime:
    seen: list[OperatorCall] = []

    def echo(call: OperatorCall) -> dict[str, Any]:
        seen.append(call)
        return {"count": call.params["count"], "key": call.business_key}

    rt.register_operator("test.echo", echo)
    rt.echo_calls = seen  # type: ignore[attr-defined]
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "calls"]), deployed_by="tests")
    return rt


def _start(rt: Runtime) -> ProcessInstance:
    with rt.uow() as uow:
        return instances.start_instance(uow, "call_parent", "campaign-2011", {"units": UNITS})


def _children(rt: Runtime, parent_id: int) -> list[ProcessInstance]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.parent_instance_id == parent_id).order_by(ProcessInstance.id)))


def _finish_child(rt: Runtime, child: ProcessInstance, unit: str) -> None:
    actor = Actor(f"user-{unit}", frozenset({f"unit:{unit}"}))
    with rt.uow(write=False) as uow:
        tasks, _ = tasks_service.list_tasks(uow, actor, tasks_service.TaskFilter(view="open"))
    [task] = [t for t in tasks if t.instance_id == child.id]
    with rt.uow() as uow:
        tasks_service.complete_task(uow, task.id, actor, {})
    with rt.uow() as uow:
        messages.send_message(uow, child.id, "public_suggestion", {"text": f"意见{unit}"},
                              Actor("public"))


def test_each_call_is_its_own_instance_linked_to_its_caller(calls: Runtime) -> None:
    parent = _start(calls)
    children = _children(calls, parent.id)
    assert [c.process_id for c in children] == ["call_child"] * 3
    assert all(c.status == InstanceStatus.WAITING for c in children)
    assert {c.business_key for c in children} == {"campaign-2011"}
    # The caller waits for its children; nothing of theirs lives in its state.
    assert parent.status == InstanceStatus.WAITING
    with calls.uow(write=False) as uow:
        routed = {t.instance_id: t.candidate_groups for t in tasks_service.list_tasks(
            uow, ADMIN, tasks_service.TaskFilter(view="all"))[0]}
    assert routed == {c.id: [f"unit:{u}"] for c, u in zip(children, UNITS, strict=True)}


def test_children_results_are_collected_and_the_caller_runs_on(calls: Runtime) -> None:
    parent = _start(calls)
    children = _children(calls, parent.id)
    for child, unit in zip(children[:2], UNITS[:2], strict=True):
        _finish_child(calls, child, unit)
    with calls.uow(write=False) as uow:
        assert instances.get_instance(uow, parent.id).status == InstanceStatus.WAITING
        assert "echoed" not in instances.instance_data(uow, parent.id)
    _finish_child(calls, children[2], UNITS[2])
    with calls.uow(write=False) as uow:
        data = instances.instance_data(uow, parent.id)
        tasks, _ = tasks_service.list_tasks(uow, ADMIN, tasks_service.TaskFilter(view="all"))
        events = [e.type for e in instances.instance_events(uow, parent.id)]
    assert data["results"] == [f"{u}:意见{u}" for u in UNITS]
    # The service task ran in the same transaction, with the evaluated parameter.
    assert data["echoed"] == {"count": 3, "key": "campaign-2011"}
    assert [c.element_id for c in calls.echo_calls] == ["echo"]  # type: ignore[attr-defined]
    assert any(t.element_id == "summary" and t.instance_id == parent.id for t in tasks)
    assert events.count("child_started") == 3 and events.count("child_completed") == 3


def test_message_refused_when_not_waiting_for_it_and_nothing_changes(calls: Runtime) -> None:
    parent = _start(calls)
    child = _children(calls, parent.id)[0]
    with calls.uow() as uow, pytest.raises(Conflict, match="not waiting for message 'unknown'"):
        messages.send_message(uow, child.id, "unknown", {}, Actor("public"))
    with calls.uow() as uow:
        messages.send_message(uow, child.id, "public_suggestion", {"text": "x"}, Actor("p"))
    with calls.uow() as uow:
        revision = instances.get_instance(uow, child.id).revision
        events = uow.session.scalar(select(func.count()).select_from(InstanceEvent))
        with pytest.raises(Conflict, match="waiting for: none"):
            messages.send_message(uow, child.id, "public_suggestion", {"text": "y"}, Actor("p"))
    with calls.uow(write=False) as uow:
        assert instances.get_instance(uow, child.id).revision == revision
        assert uow.session.scalar(select(func.count()).select_from(InstanceEvent)) == events
        received = [e for e in instances.instance_events(uow, child.id)
                    if e.type == "message_received"]
    assert [(e.actor, e.data) for e in received] == [
        ("p", {"name": "public_suggestion", "payload": {"text": "x"}})]


def test_terminating_the_caller_terminates_its_running_children(calls: Runtime) -> None:
    parent = _start(calls)
    children = _children(calls, parent.id)
    _finish_child(calls, children[0], UNITS[0])
    with calls.uow() as uow:
        instances.terminate_instance(uow, parent.id, ADMIN, "演练结束")
    statuses = [c.status for c in _children(calls, parent.id)]
    assert statuses == [InstanceStatus.COMPLETED, InstanceStatus.TERMINATED,
                        InstanceStatus.TERMINATED]
    with calls.uow() as uow, pytest.raises(InvalidState):
        messages.send_message(uow, children[1].id, "public_suggestion", {}, Actor("p"))


def test_unknown_operator_puts_the_instance_in_error(rt: Runtime) -> None:
    with rt.uow() as uow:  # no operator registered on this runtime
        deployment.deploy(uow, read_sources([FIXTURES / "calls"]), deployed_by="tests")
    parent = _start(rt)
    for child, unit in zip(_children(rt, parent.id), UNITS, strict=True):
        _finish_child(rt, child, unit)
    with rt.uow(write=False) as uow:
        instance = instances.get_instance(uow, parent.id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error_element == "echo"
    assert "no service operator 'test.echo'" in (instance.error_message or "")


def test_a_suspended_caller_collects_finished_children_when_resumed(calls: Runtime) -> None:
    parent = _start(calls)
    children = _children(calls, parent.id)
    with calls.uow() as uow:
        instances.suspend_instance(uow, parent.id, ADMIN, "核查")
    for child, unit in zip(children, UNITS, strict=True):
        _finish_child(calls, child, unit)
    with calls.uow(write=False) as uow:  # the results wait for the caller
        assert "echoed" not in instances.instance_data(uow, parent.id)
        assert instances.get_instance(uow, parent.id).status == InstanceStatus.SUSPENDED
    with calls.uow() as uow:
        instances.resume_instance(uow, parent.id, ADMIN)
    with calls.uow(write=False) as uow:
        data = instances.instance_data(uow, parent.id)
        assert instances.get_instance(uow, parent.id).status == InstanceStatus.WAITING
    assert data["results"] == [f"{u}:意见{u}" for u in UNITS]
    assert data["echoed"]["count"] == 3


FAILING_CALL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_fc"
    targetNamespace="urn:irpm:test">
  <bpmn:process id="failing_caller" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" calledElement="failing_callee">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" />
  </bpmn:process>
  <bpmn:process id="failing_callee" isExecutable="true">
    <bpmn:startEvent id="c_start"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="c_divide"><bpmn:incoming>c1</bpmn:incoming>
      <bpmn:outgoing>c2</bpmn:outgoing><bpmn:script>ratio = 1 / divisor</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="c_end"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="c_divide" />
    <bpmn:sequenceFlow id="c2" sourceRef="c_divide" targetRef="c_end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_failed_child_puts_its_caller_in_error_until_it_is_retried(rt: Runtime) -> None:
    deploy_text(rt, "failing_call.bpmn", FAILING_CALL)
    with rt.uow() as uow:
        caller = instances.start_instance(uow, "failing_caller", None, {"divisor": 0})
    [child] = _children(rt, caller.id)
    with rt.uow(write=False) as uow:
        caller = instances.get_instance(uow, caller.id)
    assert (child.status, child.error_element) == (InstanceStatus.ERROR, "c_divide")
    # Not "waiting": the caller says which child failed, where, and why.
    assert (caller.status, caller.error_element) == (InstanceStatus.ERROR, "c_divide")
    assert caller.error_message is not None
    assert caller.error_message.startswith(
        f"called process 'failing_callee' (instance {child.id}) failed at 'c_divide': ")
    assert "division by zero" in caller.error_message
    with rt.uow() as uow, pytest.raises(InvalidState, match=f"retry instance {child.id} instead"):
        instances.retry_instance(uow, caller.id, ADMIN)
    with rt.uow() as uow:
        instances.retry_instance(uow, child.id, ADMIN, {"divisor": 4})
    with rt.uow(write=False) as uow:
        caller = instances.get_instance(uow, caller.id)
        data = instances.instance_data(uow, caller.id)
    assert (caller.status, caller.error_message) == (InstanceStatus.COMPLETED, None)
    assert data == {"divisor": 4, "ratio": 0.25}


CONFORMANCE_CALLS = Path(__file__).parents[1] / "conformance" / "models" / "calls"


@pytest.mark.parametrize(("model", "child_status", "data"), [
    # The child completes while the caller is suspended: its escalation (non-interrupting)
    # and its result are both collected on resume.
    ("ca_escalation_after_wait", InstanceStatus.COMPLETED,
     {"handled": True, "worked": True, "after": True, "normal": True}),
    # The child runs on: its escalation (interrupting) waits in its state for the resume,
    # which cancels the call and so ends the child.
    ("ca_interrupted_after_wait", InstanceStatus.TERMINATED, {"handled": True}),
])
def test_a_suspended_caller_collects_what_its_child_threw_when_resumed(
        rt: Runtime, model: str, child_status: InstanceStatus, data: dict[str, Any]) -> None:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([CONFORMANCE_CALLS / f"{model}.bpmn"]),
                          deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, model, None, {})
    [child] = _children(rt, caller.id)
    with rt.uow() as uow:
        instances.suspend_instance(uow, caller.id, ADMIN, "核查")
    with rt.uow(write=False) as uow:
        [task] = [t for t in tasks_service.list_tasks(
            uow, ADMIN, tasks_service.TaskFilter(view="all"))[0] if t.instance_id == child.id]
    with rt.uow() as uow:
        tasks_service.complete_task(uow, task.id, ADMIN, {"worked": True})
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, caller.id).status == InstanceStatus.SUSPENDED
        assert "handled" not in instances.instance_data(uow, caller.id)
    with rt.uow() as uow:
        instances.resume_instance(uow, caller.id, ADMIN)
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, caller.id).status == InstanceStatus.COMPLETED
        assert instances.instance_data(uow, caller.id) == data
        assert instances.get_instance(uow, child.id).status == child_status


def test_a_missing_data_input_fails_the_call_until_retried_with_it(rt: Runtime) -> None:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([CONFORMANCE_CALLS / "ca_io_missing_input.bpmn"]),
                          deployed_by="tests")
    with rt.uow() as uow:
        caller = instances.start_instance(uow, "ca_io_missing_input", None, {})
    with rt.uow(write=False) as uow:
        caller = instances.get_instance(uow, caller.id)
    assert (caller.status, caller.error_element) == (InstanceStatus.ERROR, "call")
    assert "missing a required Data Input" in (caller.error_message or "")
    assert _children(rt, caller.id) == []  # no child started without its input
    with rt.uow() as uow:
        instances.retry_instance(uow, caller.id, ADMIN, {"x": 4})
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, caller.id).status == InstanceStatus.COMPLETED
        data = instances.instance_data(uow, caller.id)
    # Only the declared output came back (the callee's own "z" stayed there).
    assert data == {"x_wrong": 4, "z": 9, "w": 7, "x": 4, "y": 8}
