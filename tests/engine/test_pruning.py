"""Pruning the task tree (engine/execution/pruning.py): long loops run to their real end,
and a pruned workflow holds exactly what a full one holds for everything still live."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.execution import pruning
from engine.execution.pruning import PRUNE_ABOVE, prune, prune_all, pruned_done
from engine.models import InstanceStatus
from engine.serialization import dump_state, load_state
from engine.services.instance_page import instance_view
from tests.conftest import ADMIN, FIXTURES

from .conftest import Driver

LOOP = "counting_loop.bpmn"


def _raw_loop(limit: int, pause: int) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURES / LOOP))
    workflow = BpmnWorkflow(parser.get_spec("counting_loop"), {})
    workflow.get_tasks(state=TaskState.READY)[0].data.update(limit=limit, pause=pause)
    return workflow


def test_a_loop_of_5000_turns_runs_to_its_real_end(driver: Driver) -> None:
    """Five thousand turns, a user task every thousand: the instance waits at each with the
    count it reached and completes only after the last (raw SpiffWorkflow stops at 333)."""
    driver.deploy_fixture(LOOP)
    iid = driver.start("counting_loop", {"limit": 5000, "pause": 1000})
    for turn in range(1000, 5001, 1000):
        instance = driver.instance(iid)
        assert instance.status == InstanceStatus.WAITING, turn
        assert driver.data(iid)["i"] == turn
        driver.complete_element(iid, "check", ADMIN)
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.COMPLETED
    assert driver.data(iid)["i"] == 5000
    assert driver.event_types(iid).count("task_completed") == 5
    with driver.rt.uow(write=False) as uow:  # the diagram still shows the pruned path done
        view = instance_view(uow, iid)
    assert {"start", "begin", "again", "count", "ask", "check", "end"} <= set(view.done)


def test_raw_spiffworkflow_stops_silently_at_depth_1000() -> None:
    """Why IRPM prunes: unpruned, SpiffWorkflow's task iterator (max_depth=1000) finds no
    READY task below depth 1,000 and calls the workflow completed — at turn 333 of 400."""
    workflow = _raw_loop(400, 10**6)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.last_task.data["i"] == 333


def _live(workflow: BpmnWorkflow) -> dict[Any, tuple[Any, ...]]:
    """Everything SpiffWorkflow reads of the live tasks: each with its parent and data."""
    def row(task: Task) -> tuple[Any, ...]:
        parent = task.parent
        return (task.task_spec.name, task.state, task.data, task.internal_data,
                parent.id, parent.task_spec.name, parent.state, parent.data,
                sorted(str(c) for c in task._children))
    return {t.id: row(t) for t in workflow.tasks.values()
            if not t.state & (TaskState.COMPLETED | TaskState.CANCELLED)}


def _shape(workflow: BpmnWorkflow) -> list[str]:
    """``_live`` without the ids (random in two separate runs): each live task's spec, state,
    data and internal data (less a timer's due time: wall clock), its parent's, and its
    children's specs."""
    def row(task: Task) -> str:
        parent = task.parent
        return repr((task.task_spec.name, task.state, sorted(task.data.items()),
                     sorted((k, v) for k, v in task.internal_data.items()
                            if k != "event_value"), parent.task_spec.name, parent.state,
                     sorted(parent.data.items()),
                     sorted(c.task_spec.name for c in task.children)))
    return sorted(row(t) for t in workflow.tasks.values()
                  if not t.state & (TaskState.COMPLETED | TaskState.CANCELLED))


def _copy(workflow: BpmnWorkflow) -> BpmnWorkflow:
    bundle = (workflow.spec, workflow.subprocess_specs)
    return load_state(dump_state(workflow), bundle, workflow.script_engine)


def test_a_pruned_workflow_equals_the_full_one_for_everything_live() -> None:
    full = _raw_loop(200, 7)
    for _ in range(20):  # 140 turns, waiting at the user task each 7th
        full.do_engine_steps()
        full.get_tasks(state=TaskState.READY, manual=True)[0].run()
    full.do_engine_steps()
    before = len(full.tasks)
    pruned = _copy(full)

    gone = prune(pruned, above=0)

    assert gone > 0 and len(pruned.tasks) == before - gone < 20
    assert _live(pruned) == _live(full)
    assert pruned.last_task.data == full.last_task.data
    assert pruned.data == full.data
    assert {"count", "check", "again"} <= pruned_done(pruned)
    # It stores and loads as itself, and runs on to the same end as the full one.
    again = _copy(pruned)
    assert _live(again) == _live(pruned) and dump_state(again) == dump_state(pruned)
    for workflow in (full, again):
        while not workflow.is_completed():
            workflow.do_engine_steps()
            for task in workflow.get_tasks(state=TaskState.READY, manual=True):
                task.run()
    assert full.data == again.data and again.data["i"] == 200


def test_small_trees_are_left_whole() -> None:
    workflow = _raw_loop(10, 3)
    workflow.do_engine_steps()
    assert len(workflow.tasks) < PRUNE_ABOVE
    assert prune(workflow) == 0
    assert pruned_done(workflow) == set()


def test_an_instance_stored_unpruned_loads_prunes_and_runs_past_the_old_limit(
        driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state saved before pruning existed (the whole tree: 240 turns, ≈ 740 tasks deep)
    loads, is pruned on its next step and runs on to its real end, past where it would have
    stopped (the same format: nothing to migrate but the tree's size)."""
    driver.deploy_fixture(LOOP)
    monkeypatch.setattr(pruning, "PRUNE_ABOVE", 10**9)  # as saved by the code before
    iid = driver.start("counting_loop", {"limit": 600, "pause": 240})
    whole = driver.instance(iid).state
    assert driver.data(iid)["i"] == 240
    monkeypatch.setattr(pruning, "PRUNE_ABOVE", 64)
    driver.rt.workflows.clear()  # loaded from what is stored, as another worker would

    driver.complete_element(iid, "check", ADMIN)
    assert driver.data(iid)["i"] == 480
    assert len(driver.instance(iid).state) < len(whole) / 4
    driver.complete_element(iid, "check", ADMIN)
    assert driver.instance(iid).status == InstanceStatus.COMPLETED
    assert driver.data(iid)["i"] == 600


def _parallel_loop(limit: int) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURES / "parallel_loop.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("parallel_loop"), {})
    workflow.get_tasks(state=TaskState.READY)[0].data.update(limit=limit)
    return workflow


def _turn(workflow: BpmnWorkflow, after_each: Any = None) -> None:
    """Complete the one READY user task and run the engine (pruning after each task)."""
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    task.run()
    workflow.do_engine_steps(did_complete_task=after_each)


def test_a_parallel_join_and_a_boundary_timer_in_a_loop_run_as_unpruned() -> None:
    """Pruned after every task, a loop around a parallel gateway (one branch a script, the
    other a user task with a timer boundary event) waits, joins and ends as the unpruned
    one; while the user task waits, the pruned tree holds the same live tasks in a fifth of the
    size."""
    full, pruned = _parallel_loop(30), _parallel_loop(30)
    full.do_engine_steps()
    pruned.do_engine_steps(did_complete_task=lambda t: prune(t.workflow, above=0))
    largest = 0
    for _ in range(25):
        _turn(full)
        _turn(pruned, lambda t: prune(t.workflow, above=0))
        largest = max(largest, len(pruned.tasks))
        assert _shape(pruned) == _shape(full)
        assert [t.task_spec.name for t in pruned.get_tasks(state=TaskState.WAITING)] == \
            [t.task_spec.name for t in full.get_tasks(state=TaskState.WAITING)]
    assert largest * 5 < len(full.tasks)
    assert "late" in {t.task_spec.bpmn_id for t in pruned.event_manager.tasks.values()}
    for workflow in (full, pruned):
        while not workflow.is_completed():
            _turn(workflow)
    assert pruned.data == full.data and pruned.data["i"] == 30


def test_a_loop_around_a_subprocess_forgets_the_finished_subworkflows() -> None:
    """Each turn runs a new embedded subworkflow, and SpiffWorkflow keeps every one (each
    stored on every save); pruned, the finished ones go with the tasks that ran them, and
    the loop waits and ends as the unpruned one."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURES / "subprocess_loop.bpmn"))
    spec = parser.get_spec("subprocess_loop")
    subs = parser.get_subprocess_specs("subprocess_loop")
    runs = []
    for after_each in (None, lambda t: prune_all(t.workflow.top_workflow, above=0)):
        workflow = BpmnWorkflow(spec, subs)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(limit=30)
        workflow.do_engine_steps(did_complete_task=after_each)
        while not workflow.is_completed():
            _turn(workflow, after_each)
            if after_each is not None and not workflow.is_completed():
                assert len(workflow.subprocesses) <= 3
                assert {s.completed for s in workflow.subprocesses.values()} >= {False}
        runs.append(workflow)
    full, pruned = runs
    assert len(full.subprocesses) == 30
    assert pruned.data == full.data and pruned.data["i"] == 30
    assert pruned_done(full) == set()
    assert {"round", "count", "check"} <= pruned_done(pruned)  # the subworkflows' too
