"""A boundary event with several definitions (models/boundary_multiple.bpmn: a P3D timer or
message ``recall`` on a user task) waits on SpiffWorkflow's combined event definition like
an event-based gateway: its timer is a row of the timer table and its message one
``send_message`` accepts, and either cuts the task short as in SpiffWorkflow. (SpiffWorkflow
3.2 puts no payload of a combined event into the data, ``messageVariable`` or not: neither
does IRPM.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.runtime import Runtime
from engine.services import messages

from .compare import (
    ACTOR,
    T0,
    Complete,
    MoveClock,
    Send,
    Step,
    assert_same,
    deploy,
    start_at,
    timer_rows,
)

MODEL, PROCESS = "boundary_multiple.bpmn", "boundary_multiple"
DUE = T0 + timedelta(days=3)
CUT_SHORT = ["start", "review.BoundaryEventSplit", "cut_short", "note_cut_short",
             "end_cut_short", "review.BoundaryEventJoin"]


@pytest.mark.parametrize("steps", [(MoveClock(DUE),), (Send("recall", {"by": "纪委"}),)],
                         ids=["the deadline", "a recall"])
def test_either_event_cuts_the_task_short(rt: Runtime, steps: tuple[Step, ...]) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None, steps)
    assert (outcome.status, outcome.data, outcome.path) == (
        "completed", {"cut_short": True}, CUT_SHORT)


def test_a_task_done_in_time_takes_the_normal_path(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None,
                          (Complete("review", {"ok": True}), MoveClock(DUE)))
    assert (outcome.status, outcome.data) == ("completed", {"ok": True})
    assert "end_reviewed" in outcome.path and "cut_short" not in outcome.path


def test_the_boundary_timer_and_message_are_mirrored(rt: Runtime) -> None:
    deploy(rt, MODEL)
    iid = start_at(rt, PROCESS, T0)
    assert timer_rows(rt, iid) == [("cut_short", "duration", DUE)]
    with rt.uow() as uow:
        assert messages.waiting_messages(uow, iid) == ["recall"]
    with rt.uow() as uow:
        messages.send_message(uow, iid, "recall", {}, ACTOR)
    assert timer_rows(rt, iid) == []
