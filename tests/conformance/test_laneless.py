"""Issue 12 point 3: a user task with no lane and no candidates. SpiffWorkflow runs it for
whoever asks; IRPM runs it the same way — same status, data and path — but only an
administrator may take it (the harness acts as whoever the access rule lets: a candidate,
or an administrator for such a task), and the inboxes show it so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.actors import Actor
from engine.errors import Forbidden
from engine.models import HumanTask, TaskState
from engine.runtime import Runtime
from engine.services import tasks

from .compare import ACTOR, T0, Complete, Outcome, assert_same, deploy, start_at

MODEL, PROCESS = "laneless_task.bpmn", "laneless_task"
STEPS = (Complete("prepare", {"amount": 1}), Complete("inner_check", {"checked": 10}),
         Complete("sign_off", {"signed": 100}))
STAFF = Actor("clerk1", frozenset({"staff"}))


def test_it_runs_as_in_spiffworkflow(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None, STEPS)
    assert outcome == Outcome("completed", {"amount": 1, "checked": 10, "signed": 100,
                                            "total": 111},
                              ["start", "prepare", "review_sub", "review_start",
                               "inner_check", "review_end", "sign_off", "total", "end"])


def _open(rt: Runtime, iid: int) -> HumanTask:
    with rt.uow(write=False) as uow:
        return uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.state == TaskState.OPEN)).one()


def test_only_the_task_left_without_a_lane_is_the_administrators(rt: Runtime) -> None:
    deploy(rt, MODEL)
    iid = start_at(rt, PROCESS, T0)
    seen = []
    for element, data in (("prepare", {"amount": 1}), ("inner_check", {"checked": 10})):
        task = _open(rt, iid)
        assert task.element_id == element
        seen.append((task.element_id, task.lane, task.candidate_groups,
                     task.administrators_only))
        with rt.uow() as uow:
            tasks.complete_task(uow, task.id, STAFF, data)
    task = _open(rt, iid)
    seen.append((task.element_id, task.lane, task.candidate_groups, task.administrators_only))
    assert seen == [("prepare", "staff", ["staff"], False),
                    ("inner_check", "staff", ["staff"], False),  # inherited from review_sub
                    ("sign_off", None, [], True)]
    with rt.uow() as uow, pytest.raises(Forbidden, match="administrators' task"):
        tasks.complete_task(uow, task.id, STAFF, {"signed": 100})
    with rt.uow(write=False) as uow:
        listed, _ = tasks.list_tasks(uow, ACTOR, tasks.TaskFilter(view="claimable"))
        assert [t.id for t in listed] == [task.id]
        listed, _ = tasks.list_tasks(uow, STAFF, tasks.TaskFilter(view="claimable"))
        assert listed == []
