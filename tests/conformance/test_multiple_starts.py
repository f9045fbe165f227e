"""Multiple and parallel-multiple start events (models/multiple_start.bpmn,
models/parallel_multiple_start.bpmn: a start event with a P1D timer and message ``go``),
started directly as SpiffWorkflow starts them: the instance waits at its start event — for
either event (multiple) or for both (parallel multiple) — with its timer in the timer table
and its message one ``send_message`` accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.runtime import Runtime
from engine.services import messages, timers

from .compare import ACTOR, T0, MoveClock, Send, Step, assert_same, deploy, start_at, timer_rows

DAY = T0 + timedelta(days=1)
STARTED = {"started": True}
PATH = ["start", "mark", "end"]


@pytest.mark.parametrize("steps", [(MoveClock(DAY),), (Send("go"),)],
                         ids=["the timer", "the message"])
def test_a_multiple_start_goes_on_either_event(rt: Runtime, steps: tuple[Step, ...]) -> None:
    outcome = assert_same(rt, "multiple_start.bpmn", "multiple_start", T0, None, steps)
    assert (outcome.status, outcome.data, outcome.path) == ("completed", STARTED, PATH)


def test_a_multiple_start_waits_with_nothing_yet(rt: Runtime) -> None:
    outcome = assert_same(rt, "multiple_start.bpmn", "multiple_start", T0, None,
                          (MoveClock(DAY - timedelta(minutes=1)),))
    assert (outcome.status, outcome.path) == ("waiting", [])


@pytest.mark.parametrize("steps", [
    (MoveClock(DAY),), (Send("go"),), (Send("go"), MoveClock(DAY - timedelta(minutes=1)))],
    ids=["the timer alone", "the message alone", "the message, the timer not yet due"])
def test_a_parallel_multiple_start_waits_for_every_event(rt: Runtime,
                                                         steps: tuple[Step, ...]) -> None:
    outcome = assert_same(rt, "parallel_multiple_start.bpmn", "parallel_multiple_start", T0,
                          None, steps)
    assert (outcome.status, outcome.path) == ("waiting", [])


@pytest.mark.parametrize("steps", [(Send("go"), MoveClock(DAY)), (MoveClock(DAY), Send("go"))],
                         ids=["message then timer", "timer then message"])
def test_a_parallel_multiple_start_goes_on_once_both_came(rt: Runtime,
                                                          steps: tuple[Step, ...]) -> None:
    outcome = assert_same(rt, "parallel_multiple_start.bpmn", "parallel_multiple_start", T0,
                          None, steps)
    assert (outcome.status, outcome.data, outcome.path) == ("completed", STARTED, PATH)


def test_the_parallel_start_keeps_what_it_still_waits_for(rt: Runtime) -> None:
    """The timer row stays until the timer fired; the message stays acceptable until it
    came — and each goes once it did."""
    deploy(rt, "parallel_multiple_start.bpmn")
    iid = start_at(rt, "parallel_multiple_start", T0)
    assert timer_rows(rt, iid) == [("start", "duration", DAY)]
    with rt.uow() as uow:
        assert timers.advance_to(uow, DAY) == 1
    assert timer_rows(rt, iid) == []
    with rt.uow() as uow:
        assert messages.waiting_messages(uow, iid) == ["go"]
    with rt.uow() as uow:
        messages.send_message(uow, iid, "go", {}, ACTOR)
    with rt.uow() as uow:
        assert messages.waiting_messages(uow, iid) == []
