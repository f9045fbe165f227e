"""What a scheduler needs from the engine: being told when the pending timers change (once
per transaction, after the commit; ``NOTIFY irpm_timers`` on PostgreSQL), and
``fire_due_timers`` firing in batches, with a lost race or a broken instance handled one by
one without holding up the rest."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select

from engine.errors import ConcurrentUpdate
from engine.models import ProcessInstance
from engine.runtime import TIMERS_CHANNEL, Runtime
from engine.services import instances
from engine.services import timers as timer_service
from tests.conftest import ADMIN, OUTSIDER, PG_URL

from .conftest import T0, Driver

TIMERS = ("timer_duration.bpmn", "timer_cycle.bpmn")


@pytest.fixture
def tm(driver: Driver) -> Driver:
    driver.deploy_fixture(*TIMERS)
    return driver


class Heard:
    def __init__(self, rt: Runtime) -> None:
        self.count = 0
        rt.add_timer_listener(self)

    def __call__(self, _rt: Runtime) -> None:
        self.count += 1

    def since(self, before: int) -> int:
        return self.count - before


def test_the_runtime_hears_of_every_timer_change_after_its_commit(tm: Driver) -> None:
    heard = Heard(tm.rt)

    def delta(action: object) -> int:
        before = heard.count
        action()  # type: ignore[operator]
        return heard.since(before)

    ids: dict[str, int] = {}
    assert delta(lambda: ids.update(d=tm.start("timer_duration"))) == 1  # a timer created
    assert delta(lambda: ids.update(c=tm.start("timer_cycle"))) == 1
    assert delta(lambda: tm.set_clock(T0 + timedelta(minutes=90))) == 1  # the clock moved
    assert delta(tm.fire) == 1  # the cycle's first period
    assert delta(lambda: tm.complete_element(ids["c"], "work", OUTSIDER)) == 1  # cancelled
    tm.set_clock(T0 + timedelta(days=2))
    assert delta(tm.fire) == 1
    assert delta(lambda: tm.complete_element(ids["d"], "after_wait", OUTSIDER)) == 0
    other = tm.start("timer_duration")
    with tm.rt.uow() as uow:
        assert delta(lambda: instances.suspend_instance(uow, other, ADMIN)) == 1
    with tm.rt.uow() as uow:
        assert delta(lambda: instances.resume_instance(uow, other, ADMIN)) == 1
    with tm.rt.uow() as uow:
        assert delta(lambda: instances.terminate_instance(uow, other, ADMIN)) == 1


def test_a_change_that_is_not_committed_tells_nobody(tm: Driver) -> None:
    heard = Heard(tm.rt)
    with tm.rt.uow() as uow:
        tm.rt.timers_changed(uow)
        tm.rt.timers_changed(uow)  # once per transaction
        assert uow.timers_changed
        uow.rollback()
        assert not uow.timers_changed
        tm.rt.timers_changed(uow)
        uow.commit()
        tm.rt.timers_changed(uow)  # a new transaction, never committed
    assert heard.count == 1


def test_a_failing_timer_listener_does_not_undo_the_step(tm: Driver) -> None:
    def broken(_rt: Runtime) -> None:
        raise RuntimeError("listener down")

    tm.rt.add_timer_listener(broken)
    iid = tm.start("timer_duration")
    assert [t.instance_id for t in tm.timers()] == [iid]


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs IRPM_TEST_DATABASE_URL (PostgreSQL)")
def test_postgresql_is_notified_on_commit_only(tm: Driver) -> None:
    from scheduler.leader import pg_connect_args

    with psycopg.connect(autocommit=True, **pg_connect_args(PG_URL)) as listener:
        listener.execute(f"LISTEN {TIMERS_CHANNEL}")
        with tm.rt.uow() as uow:
            tm.rt.timers_changed(uow)
            uow.rollback()
        assert list(listener.notifies(timeout=0.3)) == []
        tm.start("timer_duration")
        [note] = list(listener.notifies(timeout=2, stop_after=1))
        assert note.channel == TIMERS_CHANNEL
        tm.start("timer_duration")
        assert len(list(listener.notifies(timeout=2, stop_after=1))) == 1


# --------------------------------------------------------------------------- batches


def test_due_timers_fire_in_batches(tm: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer_service, "FIRE_BATCH", 2)
    ids = [tm.start("timer_duration") for _ in range(5)]
    heard = Heard(tm.rt)
    tm.set_clock(T0 + timedelta(days=3))
    before = heard.count
    assert tm.fire() == 5
    assert heard.since(before) == 3  # three transactions: 2 + 2 + 1
    for iid in ids:
        assert tm.open_elements(iid) == ["after_wait"]
    assert tm.timers() == []


def test_a_broken_instance_is_left_due_and_the_others_fire(
        tm: Driver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    ids = [tm.start("timer_duration") for _ in range(4)]
    broken = ids[1]
    real = timer_service._fire_checked_out

    def fire(uow, instance, now):  # type: ignore[no-untyped-def]
        if instance.id == broken:
            raise RuntimeError("a bug met while firing")
        return real(uow, instance, now)

    monkeypatch.setattr(timer_service, "_fire_checked_out", fire)
    tm.set_clock(T0 + timedelta(days=3))
    assert tm.fire() == 3
    assert "a bug met while firing" in caplog.text
    assert [t.instance_id for t in tm.timers()] == [broken]  # still due, nothing half-done
    assert tm.open_elements(broken) == []
    for iid in ids:
        if iid != broken:
            assert tm.open_elements(iid) == ["after_wait"]
    monkeypatch.setattr(timer_service, "_fire_checked_out", real)
    assert tm.fire() == 1
    assert tm.open_elements(broken) == ["after_wait"]


def test_a_lost_race_leaves_the_instance_due(tm: Driver,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    iid = tm.start("timer_duration")
    real = timer_service._fire_checked_out

    def fire(uow, instance, now):  # type: ignore[no-untyped-def]
        raise ConcurrentUpdate("another request changed it")

    monkeypatch.setattr(timer_service, "_fire_checked_out", fire)
    tm.set_clock(T0 + timedelta(days=3))
    assert tm.fire() == 0
    assert [t.instance_id for t in tm.timers()] == [iid]
    monkeypatch.setattr(timer_service, "_fire_checked_out", real)
    assert tm.fire() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL")
def test_an_instance_locked_elsewhere_is_skipped_by_the_batch_then_fired(tm: Driver) -> None:
    ids = [tm.start("timer_duration") for _ in range(3)]
    tm.set_clock(T0 + timedelta(days=3))
    locked, released = threading.Event(), threading.Event()

    def hold() -> None:
        with tm.rt.uow() as uow:
            uow.session.execute(select(ProcessInstance.id).where(
                ProcessInstance.id == ids[0]).with_for_update())
            locked.set()
            time.sleep(0.5)
            released.set()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(5)
    assert tm.fire() == 3  # the batch takes two; the third waits for its lock, alone
    assert released.is_set()
    thread.join(5)
    for iid in ids:
        assert tm.open_elements(iid) == ["after_wait"]
