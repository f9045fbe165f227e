"""Event-based gateways (models/event_gateway.bpmn): the first of a timer, a message and a
signal takes its branch, the others are cancelled — in IRPM as in SpiffWorkflow. The
gateway's timer is a row of the timer table that fires on the simulated clock; the message
it waits for is one ``send_message`` accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Conflict
from engine.models import InstanceStatus
from engine.runtime import Runtime
from engine.services import instances, messages, timers

from .compare import ACTOR, T0, Complete, MoveClock, Send, assert_same, deploy, start_at, timer_rows

MODEL, PROCESS = "event_gateway.bpmn", "event_gateway"
DUE = T0 + timedelta(days=2)


def test_the_timer_branch_is_taken_when_nothing_comes_first(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None, (MoveClock(DUE),))
    assert outcome.status == "completed"
    assert outcome.data == {"outcome": "timeout"}
    assert outcome.path == ["start", "wait_for_first", "deadline", "note_timeout", "end_timeout"]


def test_the_message_branch_is_taken_when_the_message_comes_first(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None,
                          (MoveClock(DUE - timedelta(hours=1)), Send("reply"), MoveClock(DUE)))
    assert (outcome.status, outcome.data["outcome"]) == ("completed", "reply")
    assert outcome.path == ["start", "wait_for_first", "reply_received", "note_reply",
                            "end_reply"]


def test_the_message_payload_reaches_the_data_through_the_gateway(rt: Runtime) -> None:
    reply = {"answer": "同意", "by": "李四"}
    outcome = assert_same(rt, MODEL, PROCESS, T0, {"case": "A-1"}, (Send("reply", reply),))
    assert outcome.data == {"case": "A-1", "reply": reply, "outcome": "reply"}


def test_waiting_at_the_gateway_both_runs_wait(rt: Runtime) -> None:
    outcome = assert_same(rt, MODEL, PROCESS, T0, None, (MoveClock(DUE - timedelta(hours=1)),))
    assert (outcome.status, outcome.path) == ("waiting", ["start"])


def test_the_gateway_timer_is_in_the_timer_table_and_goes_with_the_message(
        rt: Runtime) -> None:
    """Issue 12: the timer never reached the table, and ``send_message`` answered "not
    waiting for message … (waiting for: none)" while the instance waited at the gateway."""
    deploy(rt, MODEL)
    iid = start_at(rt, PROCESS, T0)
    assert timer_rows(rt, iid) == [("wait_for_first", "duration", DUE)]
    with rt.uow() as uow:
        assert messages.waiting_messages(uow, iid) == ["reply"]
    with rt.uow() as uow, pytest.raises(Conflict, match=r"\(waiting for: reply\)"):
        messages.send_message(uow, iid, "no_such_message", {}, ACTOR)
    assert timer_rows(rt, iid) == [("wait_for_first", "duration", DUE)]  # refused: unchanged
    with rt.uow() as uow:
        messages.send_message(uow, iid, "reply", {}, ACTOR)
    assert timer_rows(rt, iid) == []  # the timer's branch is gone with the message's taken
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, iid).status == InstanceStatus.COMPLETED


def test_a_message_after_the_due_time_finds_the_timer_branch_taken(rt: Runtime) -> None:
    """Once the timer fired, the gateway waits no more: the message is refused, as
    SpiffWorkflow would not catch it."""
    deploy(rt, MODEL)
    iid = start_at(rt, PROCESS, T0)
    with rt.uow() as uow:
        assert timers.advance_to(uow, DUE) == 1
    with rt.uow() as uow, pytest.raises(Conflict):
        messages.send_message(uow, iid, "reply", {}, ACTOR)
    with rt.uow(write=False) as uow:
        assert instances.instance_data(uow, iid) == {"outcome": "timeout"}


SIGNAL_MODEL, SIGNAL_PROCESS = "event_gateway_signal.bpmn", "event_gateway_signal"


def test_the_signal_branch_is_taken_when_the_instance_throws_the_signal(rt: Runtime) -> None:
    """IRPM has no way to send a signal from outside yet: the signal is thrown inside the
    instance (a parallel branch's throw event), which both engines deliver to the gateway."""
    outcome = assert_same(rt, SIGNAL_MODEL, SIGNAL_PROCESS, T0, None,
                          (MoveClock(DUE - timedelta(hours=1)),
                           Complete("decide_withdrawal", {"reason": "撤回"}), MoveClock(DUE)))
    assert (outcome.status, outcome.data) == ("completed",
                                              {"reason": "撤回", "outcome": "withdrawn"})
    assert {"withdrawn", "note_withdrawal", "end_withdrawal"} <= set(outcome.path)
    assert not {"deadline", "reply_received"} & set(outcome.path)


def test_with_no_signal_the_timer_still_wins_beside_the_open_task(rt: Runtime) -> None:
    outcome = assert_same(rt, SIGNAL_MODEL, SIGNAL_PROCESS, T0, None, (MoveClock(DUE),))
    assert outcome.status == "waiting"  # decide_withdrawal is still open
    assert "end_timeout" in outcome.path and "withdrawn" not in outcome.path
