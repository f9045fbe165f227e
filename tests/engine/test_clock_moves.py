"""``clock.move_clock``: the one way the ``irpm clock`` commands and the console's clock
controls move the project clock — to a time, by a step, or back to the system clock — firing
what falls due on the way; in rehearsal mode only a simulated clock moves, only forward, and
an audited move leaves an entry in the audit log. A refused move changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import ValidationFailed
from engine.models import AuditEntry
from engine.services import audit, clock
from engine.services.clock import ClockMove, ClockNotAhead, ClockNotSimulated
from tests.conftest import ADMIN

from .conftest import CST, T0, Driver

HOUR = timedelta(hours=1)


@pytest.fixture
def tm(driver: Driver) -> Driver:
    driver.deploy_fixture("timer_cycle.bpmn", "timer_duration.bpmn")
    return driver


def move(drv: Driver, **how: object) -> ClockMove:
    with drv.rt.uow() as uow:
        return clock.move_clock(uow, **how)


def simulated(drv: Driver) -> bool:
    with drv.rt.uow(write=False) as uow:
        return clock.is_simulated(uow)


@dataclass(frozen=True)
class Months:
    """A calendar step, as the CLI's durations are (``P1M``)."""

    months: int

    def after(self, start: datetime) -> datetime:
        return start.replace(month=start.month + self.months)


def test_to_a_later_time_fires_each_timer_at_its_own_time(tm: Driver) -> None:
    cycle = tm.start("timer_cycle")
    moved = move(tm, to=T0 + 3 * HOUR + timedelta(minutes=1))
    assert moved == ClockMove(T0, T0 + 3 * HOUR + timedelta(minutes=1), True, 3)
    assert tm.now() == moved.now
    created = [t.created_at for t in tm.tasks(cycle) if t.element_id == "reminder"]
    assert created == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    assert tm.count(AuditEntry) == 0  # only an audited move is written to the log


def test_to_from_the_system_clock_sets_it_and_fires_what_is_due_then(tm: Driver) -> None:
    cycle = tm.start("timer_cycle")
    back = move(tm, system=True)
    assert (back.before, back.simulated, back.fired) == (T0, False, 0)
    assert abs(back.now - datetime.now(UTC)) < timedelta(minutes=5)
    assert not simulated(tm) and len(tm.timers(cycle)) == 1
    moved = move(tm, to=T0 + 2 * HOUR)
    assert (moved.now, moved.simulated, moved.fired) == (T0 + 2 * HOUR, True, 2)
    assert move(tm, to=T0 + 2 * HOUR).fired == 0  # the time it reads: nothing left due


def test_to_an_earlier_or_naive_time_is_refused(tm: Driver) -> None:
    with pytest.raises(ValidationFailed, match="cannot go back"):
        move(tm, to=T0 - timedelta(seconds=1))
    with pytest.raises(ValidationFailed, match="time zone"):
        move(tm, to=datetime(2011, 2, 1, 9, 0))
    assert tm.now() == T0


def test_by_a_span_or_a_calendar_step(tm: Driver) -> None:
    waiting = tm.start("timer_duration")
    moved = move(tm, by=timedelta(days=2, hours=1))
    assert moved == ClockMove(T0, T0 + timedelta(days=2, hours=1), True, 1)
    assert tm.open_elements(waiting) == ["after_wait"]
    assert move(tm, by=Months(1)).now == datetime(2011, 2, 6, 10, 0, tzinfo=CST)


def test_by_needs_the_simulated_clock(tm: Driver) -> None:
    move(tm, system=True)
    with pytest.raises(ClockNotSimulated, match="cannot be advanced; set a simulated time"):
        move(tm, by=HOUR)
    assert not simulated(tm)


def test_rehearsal_moves_only_a_simulated_clock_only_forward(tm: Driver) -> None:
    tm.start("timer_duration")
    for how in ({"to": T0}, {"to": T0 - HOUR}, {"by": timedelta(0)}):
        with pytest.raises(ClockNotAhead) as refused:
            move(tm, rehearsal=True, audited_by=ADMIN, reason="演练", **how)
        assert refused.value.now == T0
    move(tm, system=True)
    for how in ({"to": T0 + timedelta(days=400)}, {"by": HOUR}):
        with pytest.raises(ClockNotSimulated):
            move(tm, rehearsal=True, audited_by=ADMIN, reason="演练", **how)
    assert not simulated(tm) and tm.count(AuditEntry) == 0 and len(tm.timers()) == 1


def test_an_audited_move_writes_who_why_from_to_and_the_timers_fired(tm: Driver) -> None:
    tm.start("timer_duration")
    move(tm, by=timedelta(days=3), rehearsal=True, audited_by=ADMIN, reason="公示期结束")
    move(tm, to=T0 + timedelta(days=4), rehearsal=True, audited_by=ADMIN, reason="下一周")
    with tm.rt.uow(write=False) as uow:
        entries = audit.list_audit(uow).entries
    assert [(e.actor, e.action, e.target, e.reason, e.details) for e in entries] == [
        ("admin", "clock_set", "clock", "下一周",
         {"from": "2011-01-07T01:00:00+00:00", "to": "2011-01-08T01:00:00+00:00",
          "timers_fired": 0}),
        ("admin", "clock_advance", "clock", "公示期结束",
         {"from": "2011-01-04T01:00:00+00:00", "to": "2011-01-07T01:00:00+00:00",
          "timers_fired": 1}),
    ]


def test_one_kind_of_move_at_a_time(tm: Driver) -> None:
    for how in ({}, {"to": T0, "by": HOUR}, {"by": HOUR, "system": True}):
        with pytest.raises(ValueError, match="to a time, by a step"):
            move(tm, **how)
    assert tm.now() == T0
