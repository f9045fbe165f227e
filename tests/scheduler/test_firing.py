"""The scheduler fires BPMN timers on time by the real clock (date, duration, cycle), hears of
timer changes in its own process and in others, leaves a simulated clock to the clock
commands, and after downtime fires what it missed once. On SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import HumanTask, TaskState, scheduler_jobs
from engine.runtime import Runtime
from engine.services import clock, due_cards, instances, tasks, timers
from engine.settings import Settings
from scheduler import jobs
from tests.conftest import OUTSIDER, deploy_text

from .conftest import (
    ON_TIME,
    QUICK,
    WAIT,
    Schedulers,
    deploy_short,
    firings,
    lateness,
    start,
    wait_until,
)


@pytest.fixture
def srt(rt: Runtime) -> Runtime:
    """The test runtime (system clock) with the short timer processes deployed."""
    deploy_short(rt)
    return rt


@pytest.fixture
def other(settings: Settings) -> Iterator[Runtime]:
    """A second runtime on the same database: another process, as far as the scheduler's
    runtime can tell (its own engine and pool, its own timer listeners)."""
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


def open_elements(rt: Runtime, instance_id: int) -> list[str]:
    with rt.uow(write=False) as uow:
        return sorted(uow.session.scalars(select(HumanTask.element_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN)))


def stored_jobs(rt: Runtime) -> dict[str, datetime | None]:
    with rt.uow(write=False) as uow:
        return {job_id: None if ts is None else datetime.fromtimestamp(ts, UTC)
                for job_id, ts in uow.session.execute(
                    select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time))}


def test_a_short_timer_fires_within_a_second_of_its_due_time(
        srt: Runtime, schedulers: Schedulers) -> None:
    schedulers.start(srt)
    iid = start(srt, "short_wait", wait="PT1S")
    [fired] = wait_until(lambda: firings(srt, iid), 5, "the PT1S timer fired")
    assert 0 <= lateness(fired) < ON_TIME, lateness(fired)
    assert open_elements(srt, iid) == ["after_wait"]
    time.sleep(0.3)
    assert len(firings(srt, iid)) == 1


def test_date_timers_fire_in_due_order_each_on_time(srt: Runtime,
                                                    schedulers: Schedulers) -> None:
    schedulers.start(srt)
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    deploy_text(srt, "short_date.bpmn", _date_process())
    late = start(srt, "short_date", at=(soon + timedelta(seconds=0.6)).isoformat())
    early = start(srt, "short_date", at=soon.isoformat())
    fired = [wait_until(lambda i=i: firings(srt, i), 5, f"instance {i} fired")[0]
             for i in (early, late)]
    for event in fired:
        assert 0 <= lateness(event) < ON_TIME, lateness(event)
    assert fired[0].at < fired[1].at


def _date_process() -> str:
    """short_wait with a date timer at the start data's ``at``."""
    return (WAIT.replace("short_wait", "short_date").replace("timeDuration", "timeDate")
            .replace(">wait</", ">at</"))


def test_a_cycle_timer_repeats(srt: Runtime, schedulers: Schedulers) -> None:
    schedulers.start(srt)
    iid = start(srt, "short_cycle", cycle="R3/PT1S")
    fired = wait_until(lambda: len(found := firings(srt, iid)) == 3 and found, 8,
                       "three periods fired")
    for event in fired:
        assert 0 <= lateness(event) < ON_TIME, lateness(event)
    dues = [datetime.fromisoformat(e.data["due_at"]) for e in fired]
    assert [round((b - a).total_seconds()) for a, b in pairwise(dues)] == [1, 1]
    assert open_elements(srt, iid) == ["reminder"] * 3 + ["work"]
    time.sleep(1.5)  # R3: nothing more
    assert len(firings(srt, iid)) == 3
    with srt.uow(write=False) as uow:
        assert timers.next_due(uow) is None


def test_cancelled_and_suspended_timers_are_not_fired(srt: Runtime,
                                                      schedulers: Schedulers) -> None:
    service = schedulers.start(srt)
    cycling = start(srt, "short_cycle", cycle="R5/PT1S")
    waiting = start(srt, "short_wait", wait="PT1S")
    with srt.uow() as uow:
        instances.suspend_instance(uow, waiting, OUTSIDER)
    with srt.uow(write=False) as uow:
        task = uow.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == cycling, HumanTask.element_id == "work"))
    with srt.uow() as uow:  # ends the work, and with it its cycle
        tasks.complete_task(uow, task, OUTSIDER)
    time.sleep(2)
    assert firings(srt, cycling) == [] and firings(srt, waiting) == []
    assert service.arming is not None
    assert service.arming.arm(verify=True) is None  # nothing left to wait for
    resumed = datetime.now(UTC)
    with srt.uow() as uow:
        instances.resume_instance(uow, waiting, OUTSIDER)
    [late] = wait_until(lambda: firings(srt, waiting), 5, "the resumed timer fired")
    # Overdue since before the suspension ended: fired on resume, not at a later poll.
    assert datetime.fromisoformat(late.data["due_at"]) < resumed
    assert late.at - resumed < timedelta(seconds=3)


def test_a_change_committed_by_another_process_re_arms(srt: Runtime, other: Runtime,
                                                       schedulers: Schedulers) -> None:
    """PostgreSQL: NOTIFY irpm_timers, heard on the leader's LISTEN; SQLite: the database's
    data_version, read every second."""
    schedulers.start(srt)
    iid = start(other, "short_wait", wait="PT2S")
    [fired] = wait_until(lambda: firings(srt, iid), 6, "the timer of the other process fired")
    assert 0 <= lateness(fired) < ON_TIME, lateness(fired)


def test_with_a_simulated_clock_the_clock_commands_fire(srt: Runtime,
                                                        schedulers: Schedulers) -> None:
    t0 = datetime(2011, 1, 4, 1, 0, tzinfo=UTC)
    with srt.uow() as uow:
        clock.set_clock(uow, t0)
    service = schedulers.start(srt)
    iid = start(srt, "short_wait", wait="PT1S")
    with srt.uow(write=False) as uow:  # due in simulated time, long past in wall time
        assert timers.next_due(uow) == t0 + timedelta(seconds=1)
    time.sleep(1.5)
    assert firings(srt, iid) == []
    assert service.arming is not None and service.arming.arm(verify=True) is None
    assert jobs.TIMER_JOB not in stored_jobs(srt)

    with srt.uow() as uow:
        assert timers.advance_to(uow, t0 + timedelta(minutes=1)) == 1
    [fired] = firings(srt, iid)
    assert fired.at == t0 + timedelta(seconds=1)  # at its due time, on the simulated clock

    # Back on the system clock, the scheduler re-arms and fires what is due by wall time.
    later = start(srt, "short_wait", wait="P1D")  # due 2011-01-05, simulated
    with srt.uow() as uow:
        clock.use_system_clock(uow)
    [caught_up] = wait_until(lambda: firings(srt, later), 5, "the timer fired by wall time")
    assert caught_up.at > datetime.now(UTC) - timedelta(seconds=10)


def test_a_timer_missed_while_no_scheduler_ran_fires_once_on_start(
        srt: Runtime, schedulers: Schedulers) -> None:
    iid = start(srt, "short_wait", wait="PT1S")
    time.sleep(1.5)
    assert firings(srt, iid) == []
    service = schedulers.start(srt)
    [fired] = wait_until(lambda: firings(srt, iid), 5, "the missed timer fired")
    assert lateness(fired) > 0.5
    service.stop(10)
    schedulers.start(srt)  # and a restart does not fire it again
    time.sleep(1)
    assert len(firings(srt, iid)) == 1
    assert open_elements(srt, iid) == ["after_wait"]


def test_a_persisted_timer_job_whose_time_passed_runs_once_on_start(
        srt: Runtime, schedulers: Schedulers) -> None:
    first = schedulers.start(srt)
    iid = start(srt, "short_wait", wait="PT2S")
    armed = wait_until(lambda: stored_jobs(srt).get(jobs.TIMER_JOB), 5, "the job stored")
    first.stop(10)  # the job stays in the database
    assert jobs.TIMER_JOB in stored_jobs(srt)
    with srt.uow(write=False) as uow:
        assert abs((armed - timers.next_due(uow)).total_seconds()) < 0.01
    time.sleep(2.5)  # the scheduler is down at the due time
    assert firings(srt, iid) == []
    schedulers.start(srt)
    [fired] = wait_until(lambda: firings(srt, iid), 5, "the missed timer fired")
    time.sleep(1)
    assert len(firings(srt, iid)) == 1 and lateness(fired) > 0.5
    assert jobs.TIMER_JOB not in stored_jobs(srt)  # nothing left to arm


def test_a_periodic_job_missed_while_down_runs_once_coalesced(
        srt: Runtime, schedulers: Schedulers, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[datetime] = []

    def counting(_uow: Any, *_args: Any, **_kwargs: Any) -> due_cards.CardScan:
        calls.append(datetime.now(UTC))
        return due_cards.CardScan()

    monkeypatch.setattr(due_cards, "scan_due_cards", counting)
    settings = replace(QUICK, cards_every_seconds=2)
    first = schedulers.start(srt, settings)
    wait_until(lambda: calls, 4, "the card scan ran")  # its first run: 2 s after adding
    first.stop(10)
    assert stored_jobs(srt)[jobs.CARDS_JOB] is not None  # kept in the database
    # Down while the scan was due 4 times (2, 4, 6 and 8 s after its first run); back half
    # a second after the last of them, so the next one on its schedule is 1.5 s away.
    time.sleep(max(0.0, (calls[0] + timedelta(seconds=8.5) - datetime.now(UTC))
                   .total_seconds()))
    assert len(calls) == 1
    schedulers.start(srt, settings)
    wait_until(lambda: len(calls) > 1, 2, "the missed scan ran on start")
    time.sleep(0.5)
    assert len(calls) == 2  # once for the four missed runs
    following = stored_jobs(srt)[jobs.CARDS_JOB]
    assert following is not None  # next on its old schedule: 10 s after its first run
    assert abs((following - calls[0]).total_seconds() - 10) < 0.5


def test_the_card_scan_waits_while_the_clock_is_simulated(
        srt: Runtime, schedulers: Schedulers, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(due_cards, "scan_due_cards",
                        lambda *_a, **_k: calls.append(1) or due_cards.CardScan())
    with srt.uow() as uow:
        clock.set_clock(uow, datetime(2011, 1, 4, tzinfo=UTC))
    service = schedulers.start(srt, replace(QUICK, cards_every_seconds=0.5))
    time.sleep(1.6)
    assert calls == []
    assert service.scheduler is not None and service.scheduler.get_job(jobs.CARDS_JOB)
