"""The harness itself, on constructs IRPM already runs as SpiffWorkflow does: a user task,
a script task and an intermediate timer — and that it tells a difference when there is one."""

from __future__ import annotations

from datetime import timedelta

from engine.runtime import Runtime

from .compare import T0, Complete, MoveClock, Outcome, assert_same, run_raw

MODEL = "sequence_timer.bpmn"


def test_user_task_script_and_timer_run_the_same(rt: Runtime) -> None:
    steps = (Complete("fill_in", {"amount": 21}), MoveClock(T0 + timedelta(days=1)))
    outcome = assert_same(rt, MODEL, "sequence_timer", T0, {"who": "张三"}, steps)
    assert outcome == Outcome("completed", {"who": "张三", "amount": 21, "total": 42},
                              ["start", "fill_in", "double", "wait_a_day", "end"])


def test_a_run_stopped_before_the_timer_is_waiting_in_both(rt: Runtime) -> None:
    steps = (Complete("fill_in", {"amount": 1}), MoveClock(T0 + timedelta(hours=23)))
    outcome = assert_same(rt, MODEL, "sequence_timer", T0, None, steps)
    assert (outcome.status, outcome.path) == ("waiting", ["start", "fill_in", "double"])


def test_the_raw_run_sees_a_different_script_of_steps() -> None:
    """The comparison is not vacuous: another step script gives another outcome."""
    done = run_raw(MODEL, "sequence_timer", T0, None,
                   (Complete("fill_in", {"amount": 1}), MoveClock(T0 + timedelta(days=1))))
    early = run_raw(MODEL, "sequence_timer", T0, None, (Complete("fill_in", {"amount": 1}),))
    assert done != early
