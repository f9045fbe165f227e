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
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from engine.services import notifications
from tests.conftest import DEPARTMENT_HEAD, DISCIPLINE_OFFICER, POST_HOLDER

from .conftest import CORRECTION, DISCOVERY, MONITORING, PREVENTION, REVIEW, Driver, post_attributes

#: What completing a task in the loop writes, one statement each: (BEGIN IMMEDIATE on
#: SQLite), lock the task with its instance, mark the task completed, insert the next task,
#: its candidates, read the instance's variables, update the instance (state and revision),
#: drop the task's drafts, read the new task's facts for its notifications, and link the
#: events into the audit chain (lock its head, insert the events, move the head).
MAX_STATEMENTS = 12


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
        with counting(d) as counted:
            d.complete(task.id, actor, data)
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
