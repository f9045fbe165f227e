"""The event log: complete and ordered for a whole cycle, lifecycle changes with actor and
reason, and append-only (earlier rows never change)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from engine.errors import Conflict, Forbidden, InvalidState, ValidationFailed
from engine.models import InstanceEvent
from engine.services import instances
from tests.conftest import ADMIN, DEPARTMENT_HEAD, DISCIPLINE_OFFICER, POST_HOLDER

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


def _rows(events: list[InstanceEvent]) -> list[tuple[Any, ...]]:
    return [(e.id, e.instance_id, e.at, e.type, e.actor, e.task_id, e.element_id, e.data)
            for e in events]


def _claim_and_complete(d: Driver, iid: int, element: str, actor: Any,
                        data: dict[str, Any]) -> None:
    task = d.task(iid, element)
    d.claim(task.id, actor)
    d.complete(task.id, actor, data)


def _full_cycle(d: Driver) -> int:
    iid = d.start("simple_cycle", post_attributes(key_resources=True), business_key="post-9",
                  actor=POST_HOLDER)
    _claim_and_complete(d, iid, "discovery", POST_HOLDER, DISCOVERY)
    d.advance(timedelta(hours=1))
    _claim_and_complete(d, iid, "review", DEPARTMENT_HEAD, REVIEW)
    d.advance_to(T0 + timedelta(days=8))
    _claim_and_complete(d, iid, "prevention", DEPARTMENT_HEAD, PREVENTION)
    _claim_and_complete(d, iid, "monitoring_report", POST_HOLDER, MONITORING)
    _claim_and_complete(d, iid, "assessment", DISCIPLINE_OFFICER, {"score": 40})
    _claim_and_complete(d, iid, "correction", POST_HOLDER, CORRECTION)
    _claim_and_complete(d, iid, "assessment", DISCIPLINE_OFFICER, {"score": 95})
    return iid


def test_full_cycle_log_in_order(post: Driver) -> None:
    iid = _full_cycle(post)
    events = post.events(iid)
    summary = [(e.type, e.element_id) for e in events]
    human: list[tuple[str, str | None]] = []
    for element in ("discovery", "review"):
        human += [("task_created", element), ("task_claimed", element),
                  ("task_completed", element)]
    assert summary[:1 + len(human)] == [("started", None), *human]
    assert summary[len(human) + 1] == ("timer_fired", "publicity")
    rest = summary[len(human) + 2:]
    assert sorted(rest[:2]) == [("task_created", "monitoring_report"),
                                ("task_created", "prevention")]
    assert rest[2:] == [
        ("task_claimed", "prevention"), ("task_completed", "prevention"),
        ("task_claimed", "monitoring_report"), ("task_completed", "monitoring_report"),
        ("task_created", "assessment"),
        ("task_claimed", "assessment"), ("task_completed", "assessment"),
        ("task_created", "correction"),
        ("task_claimed", "correction"), ("task_completed", "correction"),
        ("task_created", "assessment"),
        ("task_claimed", "assessment"), ("task_completed", "assessment"),
        ("completed", None),
    ]

    started = events[0]
    assert (started.actor, started.at) == (POST_HOLDER.user, T0)
    assert started.data == {"version": 1, "business_key": "post-9",
                            "data": post_attributes(key_resources=True)}
    completions = [e for e in events if e.type == "task_completed"]
    assert [(e.actor, e.data) for e in completions] == [
        (POST_HOLDER.user, DISCOVERY), (DEPARTMENT_HEAD.user, REVIEW),
        (DEPARTMENT_HEAD.user, PREVENTION), (POST_HOLDER.user, MONITORING),
        (DISCIPLINE_OFFICER.user, {"score": 40}), (POST_HOLDER.user, CORRECTION),
        (DISCIPLINE_OFFICER.user, {"score": 95})]
    for event in events:
        if event.type.startswith("task_"):
            assert event.task_id is not None
    claims = [e for e in events if e.type == "task_claimed"]
    assert [e.actor for e in claims] == [e.actor for e in completions]
    created = [e for e in events if e.type == "task_created"]
    assert created[0].data == {"users": [], "groups": ["post_holder"],
                               "due_at": (T0 + timedelta(days=30)).astimezone(UTC).isoformat()}
    [timer] = [e for e in events if e.type == "timer_fired"]
    due = T0 + timedelta(hours=1) + timedelta(days=7)
    assert timer.at == due
    assert timer.data == {"due_at": due.astimezone(UTC).isoformat()}
    assert events[-1].at == T0 + timedelta(days=8)
    # the clock only moves forward, and so do the timestamps
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_lifecycle_events_carry_actor_and_reason(driver: Driver) -> None:
    driver.deploy_fixture("script_error.bpmn")
    iid = driver.start("script_error", {"total": 3, "count": 0})
    with driver.rt.uow() as uow:
        instances.suspend_instance(uow, iid, ADMIN, "checking the data")
    driver.advance(timedelta(minutes=5))
    with driver.rt.uow() as uow:
        instances.resume_instance(uow, iid, ADMIN, "data checked")
    with driver.rt.uow() as uow:
        instances.retry_instance(uow, iid, ADMIN, {"count": 3})
    with driver.rt.uow() as uow:
        instances.terminate_instance(uow, iid, ADMIN, "no longer needed")

    events = driver.events(iid)
    types = [e.type for e in events]
    assert types[:6] == ["started", "error", "suspended", "resumed", "retried", "task_created"]
    assert sorted(types[6:]) == ["task_cancelled", "terminated"]
    by_type = {e.type: e for e in events}
    assert by_type["error"].actor is None
    assert by_type["error"].element_id == "compute_ratio"
    assert "ZeroDivisionError" in by_type["error"].data["message"]
    assert (by_type["suspended"].actor, by_type["suspended"].data) == \
        (ADMIN.user, {"reason": "checking the data"})
    assert (by_type["resumed"].actor, by_type["resumed"].data) == \
        (ADMIN.user, {"reason": "data checked"})
    assert by_type["resumed"].at == T0 + timedelta(minutes=5)
    assert (by_type["retried"].actor, by_type["retried"].data) == \
        (ADMIN.user, {"element": "compute_ratio", "data": {"count": 3}})
    assert (by_type["terminated"].actor, by_type["terminated"].data) == \
        (ADMIN.user, {"reason": "no longer needed"})
    assert by_type["task_cancelled"].element_id == "confirm"


def test_events_are_append_only(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    other = post.start("simple_cycle", post_attributes())
    _claim_and_complete(post, iid, "discovery", POST_HOLDER, DISCOVERY)
    snapshot = _rows(post.events(iid))
    other_snapshot = _rows(post.events(other))

    _claim_and_complete(post, iid, "review", DEPARTMENT_HEAD, REVIEW)
    with post.rt.uow() as uow:
        instances.suspend_instance(uow, iid, ADMIN, "pause")
    with post.rt.uow() as uow:
        instances.resume_instance(uow, iid, ADMIN)
    post.advance_to(T0 + timedelta(days=8))
    with post.rt.uow() as uow:
        instances.terminate_instance(uow, iid, ADMIN, "stop")

    later = _rows(post.events(iid))
    assert later[:len(snapshot)] == snapshot  # earlier rows unchanged
    assert len(later) > len(snapshot) + 5
    ids = [row[0] for row in later]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert min(ids[len(snapshot):]) > max(ids[:len(snapshot)])
    assert _rows(post.events(other)) == other_snapshot  # another instance's log is untouched
    assert post.count(InstanceEvent) == len(later) + len(other_snapshot)


def test_rejected_actions_leave_no_events(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    task = post.task(iid, "discovery")
    before = _rows(post.events(iid))
    with pytest.raises(ValidationFailed):
        post.complete(task.id, POST_HOLDER, {"risks": []})
    with pytest.raises(Forbidden):
        post.claim(task.id, DEPARTMENT_HEAD)
    with pytest.raises(Conflict):
        post.unclaim(task.id, POST_HOLDER)
    with pytest.raises(InvalidState), post.rt.uow() as uow:
        instances.resume_instance(uow, iid, ADMIN, "not suspended")
    assert _rows(post.events(iid)) == before
