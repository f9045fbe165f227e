"""Issue 13, finding 8: one instance whose stored state cannot be loaded stays alone.

Its state blob edited to garbage used to make its pages and actions answer 500 and, with its
timer due, ``irpm clock advance`` retry it forever (the clock stuck). Now it goes to
``error`` ("state unreadable") once, its timers stop being due, the clock moves on with the
other instances' timers fired, its page shows the error, and terminate works.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.errors import Conflict, StateUnreadable
from engine.execution.checkout import check_out, lock_instance
from engine.models import HumanTask, InstanceStatus, PendingTimer, ProcessInstance, TaskState
from engine.services import clock, instance_page, instances, timers
from tests.conftest import ADMIN, OUTSIDER

from .conftest import Driver

#: What a damaged blob looks like: not zlib, or zlib of something that is not a state.
DAMAGE = [b"garbage", b"x\x9c\x03\x00\x00\x00\x00\x01", b""]


@pytest.fixture
def two(driver: Driver) -> tuple[int, int]:
    """Two instances waiting at a user task with a P3D boundary timer; the first damaged."""
    driver.deploy_fixture("timer_boundary.bpmn")
    broken, healthy = driver.start("timer_boundary"), driver.start("timer_boundary")
    damage(driver, broken, DAMAGE[0])
    return broken, healthy


def damage(d: Driver, instance_id: int, blob: bytes) -> None:
    """Edit the stored state as someone with database access would; forget cached copies."""
    with d.rt.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                            .values(state=blob))
        uow.commit()
    d.rt.workflows.clear()


@pytest.mark.parametrize("blob", DAMAGE)
def test_the_clock_moves_past_a_broken_instance_with_the_others_fired(
        driver: Driver, blob: bytes) -> None:
    driver.deploy_fixture("timer_boundary.bpmn")
    broken, healthy = driver.start("timer_boundary"), driver.start("timer_boundary")
    damage(driver, broken, blob)
    began = time.monotonic()
    driver.advance_to(driver.now() + timedelta(days=4))
    assert time.monotonic() - began < 10
    assert driver.open_elements(healthy) == ["escalated"]  # its timer fired
    instance = driver.instance(broken)
    assert instance.status == InstanceStatus.ERROR
    assert (instance.error_message or "").startswith("state unreadable: ")
    assert driver.event_types(broken).count("error") == 1
    assert driver.next_due() is None  # its timer no longer counts, the other one fired
    assert driver.due_ids(driver.now() + timedelta(days=30)) == []


def test_the_error_is_recorded_once_however_often_it_is_met(driver: Driver,
                                                            two: tuple[int, int]) -> None:
    broken, _healthy = two
    with pytest.raises(StateUnreadable, match="cannot be loaded"):
        driver.complete_element(broken, "approve", OUTSIDER)
    for _ in range(2):  # then it is in error: refused before its state is even read
        with pytest.raises(Conflict, match="is error"):
            driver.complete_element(broken, "approve", OUTSIDER)
    with driver.rt.uow() as uow, pytest.raises(StateUnreadable):
        instances.retry_instance(uow, broken, ADMIN)
    driver.advance_to(driver.now() + timedelta(days=4))
    driver.advance_to(driver.now() + timedelta(days=4))
    assert driver.event_types(broken).count("error") == 1
    assert driver.instance(broken).status == InstanceStatus.ERROR


def test_an_action_on_it_is_refused_with_409_and_changes_nothing_else(
        driver: Driver, two: tuple[int, int]) -> None:
    broken, healthy = two
    before = driver.instance(broken).state
    with pytest.raises(StateUnreadable) as refused:
        driver.complete_element(broken, "approve", OUTSIDER)
    assert refused.value.code == "state_unreadable"
    assert "terminate it" in refused.value.message
    assert driver.instance(broken).state == before  # the damaged blob is kept as evidence
    driver.complete_element(healthy, "approve", OUTSIDER)  # the neighbour is untouched
    assert driver.instance(healthy).status == InstanceStatus.COMPLETED


def test_its_page_shows_the_error(driver: Driver, two: tuple[int, int]) -> None:
    broken, _healthy = two
    with driver.rt.uow(write=False) as uow:
        view = instance_page.instance_view(uow, broken)
    assert view.state_error is not None and "state unreadable" in view.state_error
    assert view.tokens == [] and view.variables == {}
    assert [t.element_id for t in view.tasks] == ["approve"]  # rows still show
    assert driver.instance(broken).status == InstanceStatus.ERROR  # marked after the read


def test_terminate_works_without_the_workflow(driver: Driver, two: tuple[int, int]) -> None:
    broken, _healthy = two
    with driver.rt.uow() as uow:
        instances.terminate_instance(uow, broken, ADMIN, "state damaged")
    instance = driver.instance(broken)
    assert instance.status == InstanceStatus.TERMINATED
    assert driver.tasks(broken) == []
    assert [t.state for t in driver.tasks(broken, None)] == [TaskState.CANCELLED]
    assert driver.timers(broken) == []
    assert driver.event_types(broken)[-2:] == ["task_cancelled", "terminated"]


def test_suspend_and_terminate_of_a_marked_instance(driver: Driver,
                                                    two: tuple[int, int]) -> None:
    broken, _healthy = two
    driver.advance_to(driver.now() + timedelta(days=4))  # marked on the way
    with driver.rt.uow() as uow:
        instances.suspend_instance(uow, broken, ADMIN, "look at it")
    with driver.rt.uow() as uow:
        instances.terminate_instance(uow, broken, ADMIN, "state damaged")
    assert driver.instance(broken).status == InstanceStatus.TERMINATED


def test_a_batch_with_a_broken_instance_fires_the_rest(driver: Driver) -> None:
    driver.deploy_fixture("timer_boundary.bpmn")
    ids = [driver.start("timer_boundary") for _ in range(5)]
    damage(driver, ids[2], DAMAGE[0])
    due = driver.now() + timedelta(days=3)
    driver.set_clock(due)
    assert driver.fire(due) == 4
    assert [driver.instance(i).status for i in ids].count(InstanceStatus.ERROR) == 1
    assert all(driver.open_elements(i) == ["escalated"] for i in ids if i != ids[2])


def test_clock_advance_stops_and_says_so_when_timers_cannot_fire(
        driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure that is not a damaged state (here: every firing refused) no longer spins
    the clock forever: after a few fruitless rounds it stops, naming the instances."""
    driver.deploy_fixture("timer_boundary.bpmn")
    stuck = driver.start("timer_boundary")
    start = driver.now()

    def refuse(*_args: object) -> int:
        raise RuntimeError("refused")

    monkeypatch.setattr(timers, "_fire_checked_out", refuse)
    with driver.rt.uow() as uow, pytest.raises(timers.TimersStuck, match=f"instance.s. {stuck} "):
        timers.advance_to(uow, start + timedelta(days=4))
    with driver.rt.uow(write=False) as uow:
        assert clock.now(uow) == start + timedelta(days=3)  # stopped at the stuck timer


def test_checking_out_marks_only_after_the_transaction(driver: Driver,
                                                       two: tuple[int, int]) -> None:
    """The marking waits for the failed transaction to end (on SQLite a second writer inside
    it would wait for itself) and then commits on its own."""
    broken, _healthy = two
    with driver.rt.uow() as uow:
        instance, now = lock_instance(uow, broken)
        with pytest.raises(StateUnreadable):
            check_out(uow, instance, now)
        assert uow.session.scalar(select(ProcessInstance.status)
                                  .where(ProcessInstance.id == broken)) != "error"
    assert driver.instance(broken).status == InstanceStatus.ERROR
    with driver.rt.uow(write=False) as uow:
        assert uow.session.scalars(select(HumanTask.state)
                                   .where(HumanTask.instance_id == broken)).all() == ["open"]
        assert uow.session.scalar(select(PendingTimer.instance_id)
                                  .where(PendingTimer.instance_id == broken)) == broken
