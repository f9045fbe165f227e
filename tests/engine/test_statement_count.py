"""What a step costs the database does not grow with the instance's history: completing a
task issues the same statements, in one transaction, after 50 loop iterations as after
two (issue 14: a step in year two costs what it cost on day one).

The statements are counted as the driver sends them (SQLAlchemy's ``before_cursor_execute``;
SQLite's ``BEGIN IMMEDIATE`` is one of them, PostgreSQL begins implicitly), the
transactions by their commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from engine.db import UnitOfWork
from engine.models import ProcessInstance
from engine.services import notifications, tasks
from engine.services import timers as timer_service
from tests.conftest import DEPARTMENT_HEAD, DISCIPLINE_OFFICER, POST_HOLDER

from .conftest import (
    CORRECTION,
    DISCOVERY,
    MONITORING,
    PREVENTION,
    REVIEW,
    T0,
    Driver,
    post_attributes,
)

#: What completing a task in the loop writes, one statement each: (BEGIN IMMEDIATE on
#: SQLite), lock the task with its instance, mark the task completed, insert the next task,
#: its candidates, read the instance's variables, update the instance (state and revision),
#: drop the task's drafts, read the new task's facts for its notifications, mark the done
#: task's notifications read, and link the events into the audit chain (lock its head,
#: insert the events, move the head).
MAX_STATEMENTS = 13


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def counting(driver: Driver) -> Iterator[Counted]:
    counted = Counted()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        counted.statements.append(sql.split("\n")[0][:80])

    def commit(_conn: Any) -> None:
        counted.commits += 1

    event.listen(driver.rt.db, "before_cursor_execute", statement)
    event.listen(driver.rt.db, "commit", commit)
    try:
        yield counted
    finally:
        event.remove(driver.rt.db, "before_cursor_execute", statement)
        event.remove(driver.rt.db, "commit", commit)


def _to_assessment(d: Driver) -> int:
    iid = d.start("simple_cycle", post_attributes(key_resources=True), business_key="post-9")
    d.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    d.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    assert d.advance_to(d.now() + timedelta(days=8)) == 1
    d.complete_element(iid, "prevention", DEPARTMENT_HEAD, PREVENTION)
    d.complete_element(iid, "monitoring_report", POST_HOLDER, MONITORING)
    return iid


def _loop(d: Driver, iid: int) -> tuple[Counted, Counted]:
    """One correction loop: the assessment fails, the correction sends it back; what each
    completion cost."""
    steps: list[Counted] = []
    for element, actor, data in (("assessment", DISCIPLINE_OFFICER, {"score": 40}),
                                 ("correction", POST_HOLDER, CORRECTION)):
        task = d.task(iid, element)
        with counting(d) as counted, d.rt.uow() as uow:  # complete_task alone, no job run
            tasks.complete_task(uow, task.id, actor, data)
        steps.append(counted)
    return steps[0], steps[1]


@pytest.fixture
def notifying(post: Driver) -> Driver:
    notifications.install(post.rt)
    return post


def test_a_step_costs_the_same_statements_after_50_loop_iterations(notifying: Driver) -> None:
    d = notifying
    iid = _to_assessment(d)
    _loop(d, iid)  # the first iteration writes the loop's variables for the first time
    early = _loop(d, iid)
    for _ in range(47):
        _loop(d, iid)
    late = _loop(d, iid)
    assert len(d.events(iid)) > 200  # a long history: 50 iterations, four events each
    for before, after in zip(early, late, strict=True):
        assert after.statements == before.statements
        assert len(after.statements) <= MAX_STATEMENTS, after.statements
        # The notifications of the new task are made in the step's own transaction.
        assert (before.commits, after.commits) == (1, 1)
    assert d.open_elements(iid) == ["assessment"]


# ------------------------------------------------------------------------ timers in bulk


@pytest.fixture
def tm(driver: Driver) -> Driver:
    driver.deploy_fixture("timer_duration.bpmn")
    return driver


def _fire_counted(d: Driver, at: datetime) -> tuple[int, Counted]:
    with counting(d) as counted:
        fired = d.fire(at)
    return fired, counted


def test_a_batch_of_timers_writes_in_as_many_statements_for_six_instances_as_for_two(
        tm: Driver) -> None:
    """A timer batch loads its instances' rows, states and variables and writes their tasks,
    candidates, timers and rows in one statement each, however many instances it holds."""
    counts = []
    for n, day in ((2, 3), (6, 6)):
        ids = [tm.start("timer_duration") for _ in range(n)]
        fired, counted = _fire_counted(tm, T0 + timedelta(days=day))
        assert fired == n
        assert counted.commits == 1
        for iid in ids:
            assert tm.open_elements(iid) == ["after_wait"]
        counts.append(counted.statements)
    assert counts[1] == counts[0]
    assert tm.timers() == []


def test_a_lost_race_found_when_the_batch_writes_rolls_it_back_then_each_fires_alone(
        tm: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The revision check of a batched instance update is made when the batch's writes go
    out: another writer that moved an instance on meanwhile fails the whole batch (nothing
    of it stays), and its instances then fire one by one — every timer once."""
    ids = [tm.start("timer_duration") for _ in range(3)]
    real = timer_service._fire_checked_out
    raced: list[int] = []

    def fire(uow: UnitOfWork, instance: ProcessInstance, now: datetime) -> int:
        if instance.id == ids[1] and not raced:
            raced.append(instance.id)  # another writer moves the row on, once
            rows = ProcessInstance.__table__
            uow.session.connection().execute(  # behind the session's back, as another would
                update(rows).where(rows.c.id == instance.id).values(revision=rows.c.revision + 1))
        return real(uow, instance, now)

    monkeypatch.setattr(timer_service, "_fire_checked_out", fire)
    fired, counted = _fire_counted(tm, T0 + timedelta(days=3))
    assert fired == 3 and raced == [ids[1]]
    assert counted.commits == 3  # the batch rolled back; each instance in its own commit
    for iid in ids:
        assert tm.open_elements(iid) == ["after_wait"]
        assert tm.event_types(iid).count("timer_fired") == 1
    assert tm.timers() == []
