"""Timers on the simulated clock: date, duration, cycle and interrupting boundary timers
(tests/fixtures/timer_*.bpmn), the timer table, firing, suspension, and the clock service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import Conflict, ValidationFailed
from engine.models import InstanceStatus, TaskState
from engine.services import clock, instances, timers
from tests.conftest import ADMIN, FIXTURES, OUTSIDER, deploy_text

from .conftest import CST, T0, Driver

TIMERS = ("timer_date.bpmn", "timer_duration.bpmn", "timer_cycle.bpmn", "timer_boundary.bpmn")
DATE_DUE = datetime(2011, 1, 10, 9, 0, tzinfo=CST)  # the fixture's timeDate
HOUR = timedelta(hours=1)


@pytest.fixture
def tm(driver: Driver) -> Driver:
    driver.deploy_fixture(*TIMERS)
    return driver


def _start_all(tm: Driver) -> dict[str, int]:
    return {name: tm.start(name) for name in
            ("timer_date", "timer_duration", "timer_cycle", "timer_boundary")}


def _fired(tm: Driver, iid: int) -> list[tuple[str | None, str]]:
    return [(e.element_id, e.data["due_at"]) for e in tm.events(iid) if e.type == "timer_fired"]


def test_timer_table_holds_due_times(tm: Driver) -> None:
    ids = _start_all(tm)
    rows = {(t.instance_id, t.element_id, t.kind, t.due_at) for t in tm.timers()}
    assert rows == {
        (ids["timer_date"], "wait_until", "date", DATE_DUE),
        (ids["timer_duration"], "wait_two_days", "duration", T0 + timedelta(days=2)),
        (ids["timer_cycle"], "hourly", "cycle", T0 + HOUR),
        (ids["timer_boundary"], "deadline", "duration", T0 + timedelta(days=3)),
    }
    assert all(t.due_at.tzinfo is not None for t in tm.timers())
    assert tm.next_due() == T0 + HOUR
    assert tm.open_elements(ids["timer_date"]) == []
    assert tm.open_elements(ids["timer_boundary"]) == ["approve"]
    for iid in ids.values():
        assert tm.instance(iid).status == InstanceStatus.WAITING


def test_timer_overview_counts_the_waiting_timers_and_lists_the_next(tm: Driver) -> None:
    ids = _start_all(tm)
    with tm.rt.uow() as uow:
        instances.suspend_instance(uow, ids["timer_date"], ADMIN, "on hold")
    tm.set_clock(T0 + timedelta(days=3, hours=12))
    with tm.rt.uow(write=False) as uow:
        overview = timers.timer_overview(uow, limit=2)
    assert (overview.now, overview.pending, overview.due, overview.next_due) == (
        T0 + timedelta(days=3, hours=12), 3, 3, T0 + HOUR)  # the suspended one not counted
    assert [(t.instance_id, t.process_id, t.business_key, t.element_id, t.kind, t.due_at)
            for t in overview.timers] == [
        (ids["timer_cycle"], "timer_cycle", None, "hourly", "cycle", T0 + HOUR),
        (ids["timer_duration"], "timer_duration", None, "wait_two_days", "duration",
         T0 + timedelta(days=2))]


def test_due_instance_ids_are_exactly_the_due_ones(tm: Driver) -> None:
    ids = _start_all(tm)
    assert tm.due_ids(T0) == []
    assert tm.due_ids(T0 + HOUR) == [ids["timer_cycle"]]
    at = T0 + timedelta(days=2, hours=12)
    assert tm.due_ids(at) == [ids["timer_cycle"], ids["timer_duration"]]  # earliest first
    assert tm.due_ids(DATE_DUE) == [ids["timer_cycle"], ids["timer_duration"],
                                    ids["timer_boundary"], ids["timer_date"]]
    with tm.rt.uow(write=False) as uow:
        assert timers.due_instance_ids(uow, DATE_DUE, limit=2) == \
            [ids["timer_cycle"], ids["timer_duration"]]


def test_fire_due_timers_advances_exactly_the_due_instances(tm: Driver) -> None:
    ids = _start_all(tm)
    at = T0 + timedelta(days=2, hours=12)
    tm.set_clock(at)
    revisions = {name: tm.instance(iid).revision for name, iid in ids.items()}

    assert tm.fire() == 4  # the cycle three times (it fell behind), the duration once
    assert _fired(tm, ids["timer_duration"]) == [("wait_two_days", "2011-01-06T01:00:00+00:00")]
    assert tm.open_elements(ids["timer_duration"]) == ["after_wait"]
    assert tm.timers(ids["timer_duration"]) == []
    for name in ("timer_date", "timer_boundary"):
        assert tm.instance(ids[name]).revision == revisions[name]
        assert _fired(tm, ids[name]) == []
    assert tm.open_elements(ids["timer_boundary"]) == ["approve"]
    assert tm.due_ids(at) == []
    assert tm.fire() == 0  # nothing left to fire


def test_cycle_fires_three_times(tm: Driver) -> None:
    iid = tm.start("timer_cycle")
    for n in range(1, 4):
        assert tm.advance_to(T0 + n * HOUR + timedelta(minutes=1)) == 1
        assert tm.open_elements(iid) == ["reminder"] * n + ["work"]
        assert len(_fired(tm, iid)) == n
    assert tm.timers(iid) == []  # R3: done
    assert tm.advance_to(T0 + timedelta(days=1)) == 0
    assert tm.open_elements(iid) == ["reminder"] * 3 + ["work"]
    assert _fired(tm, iid) == [("hourly", f"2011-01-04T0{h}:00:00+00:00") for h in (2, 3, 4)]
    # each reminder was created when its period was due
    created = [t.created_at for t in tm.tasks(iid) if t.element_id == "reminder"]
    assert created == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    for task in tm.tasks(iid):
        if task.element_id == "reminder":
            tm.complete(task.id, OUTSIDER)
    assert tm.open_elements(iid) == ["work"]
    tm.complete_element(iid, "work", OUTSIDER)
    assert tm.instance(iid).status == InstanceStatus.COMPLETED


def test_a_cycle_that_fell_behind_fires_every_period_once(tm: Driver) -> None:
    iid = tm.start("timer_cycle")
    tm.advance(timedelta(hours=5))
    assert tm.fire() == 3
    assert _fired(tm, iid) == [("hourly", f"2011-01-04T0{h}:00:00+00:00") for h in (2, 3, 4)]
    assert tm.open_elements(iid) == ["reminder"] * 3 + ["work"]


def test_completing_work_stops_the_cycle(tm: Driver) -> None:
    iid = tm.start("timer_cycle")
    assert tm.advance_to(T0 + HOUR) == 1
    reminder = tm.task(iid, "reminder")
    tm.complete_element(iid, "work", OUTSIDER)
    assert tm.timers(iid) == []
    assert tm.advance_to(T0 + timedelta(days=1)) == 0
    # SpiffWorkflow 3.2 ends the branches of a non-interrupting boundary event together with
    # the activity; the task table must follow the workflow (row and event), whatever it does.
    assert tm.open_elements(iid) == []
    assert tm.get_task(reminder.id).state == TaskState.CANCELLED
    assert [e.task_id for e in tm.events(iid) if e.type == "task_cancelled"] == [reminder.id]
    assert tm.instance(iid).status == InstanceStatus.COMPLETED


def test_timer_due_before_a_task_completion_is_logged(tm: Driver) -> None:
    """A period that fell due before the scheduler ran fires while a task is completed; the
    log must still show it."""
    iid = tm.start("timer_cycle")
    assert tm.advance_to(T0 + HOUR) == 1
    tm.set_clock(T0 + 2 * HOUR + timedelta(minutes=30))  # second period due, not fired yet
    tm.complete(tm.task(iid, "reminder").id, OUTSIDER)
    assert _fired(tm, iid) == [("hourly", "2011-01-04T02:00:00+00:00"),
                               ("hourly", "2011-01-04T03:00:00+00:00")]
    assert tm.open_elements(iid) == ["reminder", "work"]
    assert [t.due_at for t in tm.timers(iid)] == [T0 + 3 * HOUR]


def test_interrupting_boundary_timer_cancels_the_task(tm: Driver) -> None:
    iid = tm.start("timer_boundary")
    approve = tm.task(iid, "approve")
    tm.claim(approve.id, OUTSIDER)
    assert tm.advance_to(T0 + timedelta(days=3) - timedelta(seconds=1)) == 0
    assert tm.open_elements(iid) == ["approve"]
    assert tm.advance_to(T0 + timedelta(days=4)) == 1

    row = tm.get_task(approve.id)
    assert row.state == TaskState.CANCELLED
    assert row.completed_at == T0 + timedelta(days=3)
    assert row.completed_by is None
    assert tm.open_elements(iid) == ["escalated"]
    assert tm.timers(iid) == []
    cancelled = [e for e in tm.events(iid) if e.type == "task_cancelled"]
    assert [(e.task_id, e.element_id) for e in cancelled] == [(approve.id, "approve")]
    types = tm.event_types(iid)
    assert types.index("timer_fired") < types.index("task_cancelled")
    with pytest.raises(Conflict, match="cancelled"):
        tm.complete(approve.id, OUTSIDER)
    tm.complete_element(iid, "escalated", OUTSIDER)
    assert tm.instance(iid).status == InstanceStatus.COMPLETED


def test_completing_before_the_boundary_timer_removes_it(tm: Driver) -> None:
    iid = tm.start("timer_boundary")
    tm.advance(timedelta(days=2))
    tm.complete_element(iid, "approve", OUTSIDER)
    assert tm.timers(iid) == []
    assert tm.instance(iid).status == InstanceStatus.COMPLETED
    assert tm.advance_to(T0 + timedelta(days=5)) == 0
    assert _fired(tm, iid) == []


def test_date_timer_fires_on_its_date(tm: Driver) -> None:
    iid = tm.start("timer_date")
    assert tm.advance_to(DATE_DUE - timedelta(minutes=1)) == 0
    assert tm.open_elements(iid) == []
    tm.set_clock(DATE_DUE)
    assert tm.fire() == 1
    assert tm.open_elements(iid) == ["after_date"]
    assert tm.task(iid, "after_date").created_at == DATE_DUE


def test_suspended_instances_do_not_fire_until_resumed(tm: Driver) -> None:
    waiting = tm.start("timer_duration")
    running = tm.start("timer_duration")
    with tm.rt.uow() as uow:
        instances.suspend_instance(uow, waiting, ADMIN, "on hold")
    due = T0 + timedelta(days=2)
    assert tm.due_ids(due + HOUR) == [running]
    assert tm.advance_to(due + HOUR) == 1
    assert tm.open_elements(running) == ["after_wait"]
    assert tm.open_elements(waiting) == []
    assert [t.instance_id for t in tm.timers()] == [waiting]  # still pending, not lost
    assert tm.next_due() is None  # nothing active is waiting
    assert tm.fire() == 0

    with tm.rt.uow() as uow:
        instances.resume_instance(uow, waiting, ADMIN)
    assert tm.next_due() == due
    assert tm.due_ids(tm.now()) == [waiting]
    assert tm.fire() == 1
    assert tm.open_elements(waiting) == ["after_wait"]
    assert tm.timers() == []


def test_an_instance_failing_when_its_timer_fires_does_not_stop_the_others(tm: Driver) -> None:
    failing = (FIXTURES / "timer_duration.bpmn").read_text(encoding="utf-8").replace(
        'id="timer_duration"', 'id="timer_then_fail"').replace(
        '<bpmn:userTask id="after_wait" name="After the wait">',
        '<bpmn:scriptTask id="after_wait" name="Divide">').replace(
        "</bpmn:userTask>", "  <bpmn:script>ratio = 1 / 0</bpmn:script>\n    </bpmn:scriptTask>")
    deploy_text(tm.rt, "timer_then_fail.bpmn", failing)
    bad = tm.start("timer_then_fail")
    good = tm.start("timer_duration")
    assert tm.advance_to(T0 + timedelta(days=3)) == 2
    instance = tm.instance(bad)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error_element == "after_wait"
    assert "ZeroDivisionError" in (instance.error_message or "")
    assert _fired(tm, bad) == [("wait_two_days", "2011-01-06T01:00:00+00:00")]
    assert tm.open_elements(good) == ["after_wait"]
    assert tm.instance(good).status == InstanceStatus.WAITING


# --------------------------------------------------------------------------- the clock


def test_clock_set_and_advance(driver: Driver) -> None:
    assert driver.now() == T0
    with driver.rt.uow(write=False) as uow:
        assert clock.is_simulated(uow)
    later = driver.set_clock(datetime(2011, 3, 1, 8, 0, tzinfo=CST))
    assert later == datetime(2011, 3, 1, 0, 0, tzinfo=UTC)
    assert later.tzinfo == UTC
    assert driver.advance(timedelta(days=1, hours=2)) == later + timedelta(days=1, hours=2)
    assert driver.now() == later + timedelta(days=1, hours=2)
    assert driver.advance(timedelta(0)) == driver.now()


def test_clock_refuses_to_go_back(driver: Driver) -> None:
    with pytest.raises(ValidationFailed, match="cannot go back"):
        driver.set_clock(T0 - timedelta(seconds=1))
    with pytest.raises(ValidationFailed):
        driver.advance(timedelta(seconds=-1))
    with pytest.raises(ValidationFailed, match="time zone"):
        driver.set_clock(datetime(2011, 2, 1, 9, 0))
    assert driver.now() == T0
    with driver.rt.uow() as uow:
        timers.advance_to(uow, T0 - timedelta(days=1))  # a target in the past moves nothing
    assert driver.now() == T0


def test_system_clock_cannot_be_advanced(driver: Driver) -> None:
    with driver.rt.uow() as uow:
        clock.use_system_clock(uow)
        uow.commit()
    with driver.rt.uow(write=False) as uow:
        assert not clock.is_simulated(uow)
        assert abs(clock.now(uow) - datetime.now(UTC)) < timedelta(minutes=5)
    with pytest.raises(ValidationFailed, match="system clock"):
        driver.advance(timedelta(hours=1))
    # Back on simulated time, any start point is allowed again.
    assert driver.set_clock(T0) == T0


def test_clock_drives_event_and_task_times(tm: Driver) -> None:
    tm.set_clock(datetime(2012, 6, 1, 9, 0, tzinfo=CST))
    iid = tm.start("timer_boundary")
    start = datetime(2012, 6, 1, 1, 0, tzinfo=UTC)
    assert tm.instance(iid).started_at == start
    assert tm.task(iid, "approve").created_at == start
    assert [t.due_at for t in tm.timers(iid)] == [start + timedelta(days=3)]
    assert {e.at for e in tm.events(iid)} == {start}
