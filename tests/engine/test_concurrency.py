"""Races on a real database: threads with their own units of work, started together by a
Barrier; and two runtimes (two processes' worth of caches) sharing one database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.actors import Actor
from engine.errors import Conflict, TaskAlreadyClaimed
from engine.models import InstanceStatus, TaskState
from engine.runtime import Runtime
from engine.settings import Settings
from tests.conftest import DEPARTMENT_HEAD, DISCIPLINE_OFFICER, POST_HOLDER

from .conftest import (
    DISCOVERY,
    MONITORING,
    PREVENTION,
    REVIEW,
    T0,
    Driver,
    post_attributes,
)

THREADS = 8


def _race(actions: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run the actions at once; ("ok", result) or ("error", exception) for each, in order."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[tuple[str, Any]] = [("missing", None)] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            outcomes[index] = ("ok", action())
        except Exception as exc:  # collected and asserted on by the test
            outcomes[index] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread hung"
    return outcomes


def test_many_threads_complete_the_same_task(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    task = post.task(iid, "discovery")
    actors = [POST_HOLDER] * THREADS
    outcomes = _race([
        lambda i=i: post.complete(task.id, actors[i], {**DISCOVERY, "risks": [
            {"category": "duty", "description": f"thread {i}"}]})
        for i in range(THREADS)])

    winners = [i for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1, outcomes
    assert len(losers) == THREADS - 1
    assert all(isinstance(exc, Conflict) for exc in losers), losers

    completed = [e for e in post.events(iid) if e.type == "task_completed"]
    assert len(completed) == 1
    assert completed[0].task_id == task.id
    winner_text = f"thread {winners[0]}"
    assert completed[0].data["risks"][0]["description"] == winner_text
    assert post.get_task(task.id).state == TaskState.COMPLETED

    # Consistent: the winner's data is in the workflow, review exists once, and it goes on.
    post.rt.workflows.clear()
    assert post.data(iid)["risks"][0]["description"] == winner_text
    assert post.open_elements(iid) == ["review"]
    assert post.event_types(iid).count("task_created") == 2
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    assert [t.element_id for t in post.timers(iid)] == ["publicity"]


def test_many_threads_claim_the_same_task(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    task = post.task(iid, "discovery")
    actors = [Actor(f"user{i}", frozenset({"post_holder"})) for i in range(THREADS)]
    outcomes = _race([lambda a=a: post.claim(task.id, a) for a in actors])
    winners = [actors[i].user for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert len(winners) == 1, outcomes
    assert all(isinstance(v, TaskAlreadyClaimed) for kind, v in outcomes if kind == "error")
    assert post.get_task(task.id).assignee == winners[0]
    assert post.event_types(iid).count("task_claimed") == 1


def _to_parallel(post: Driver) -> int:
    iid = post.start("simple_cycle", post_attributes())
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    assert post.advance_to(post.now() + timedelta(days=8)) == 1
    assert post.open_elements(iid) == ["monitoring_report", "prevention"]
    return iid


def test_parallel_tasks_completed_at_once_lose_nothing(post: Driver) -> None:
    for round_ in range(3):  # a few rounds: either thread may go first
        iid = _to_parallel(post)
        prevention, monitoring = post.task(iid, "prevention"), post.task(iid, "monitoring_report")
        revision = post.instance(iid).revision
        if round_ == 1:
            post.rt.workflows.clear()  # both threads load from the database
        outcomes = _race([
            lambda t=prevention.id: post.complete(t, DEPARTMENT_HEAD, PREVENTION),
            lambda t=monitoring.id: post.complete(t, POST_HOLDER, MONITORING),
        ])
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        assert post.instance(iid).revision == revision + 2  # serialized: two writes
        assert post.open_elements(iid) == ["assessment"]
        assert post.event_types(iid).count("task_completed") == 4
        assert [e.element_id for e in post.events(iid)
                if e.type == "task_created"].count("assessment") == 1
        post.rt.workflows.clear()
        data = post.data(iid)
        assert data["measures"] == PREVENTION["measures"]
        assert data["report"] == MONITORING["report"]
        post.complete_element(iid, "assessment", DISCIPLINE_OFFICER, {"score": 90})
        assert post.instance(iid).status == InstanceStatus.COMPLETED


def test_two_runtimes_see_each_others_changes(post: Driver, settings: Settings) -> None:
    other_rt = Runtime(settings)
    try:
        other = Driver(other_rt)
        iid = post.start("simple_cycle", post_attributes(public_service=True))
        assert other.open_elements(iid) == ["discovery"]

        # A caches the workflow; B changes the instance; A must notice.
        assert "risks" not in post.data(iid)
        other.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
        assert post.data(iid)["risks"] == DISCOVERY["risks"]
        assert post.data(iid)["post_level"] == 2

        post.complete_element(iid, "review", DEPARTMENT_HEAD, {**REVIEW, "comment": "from A"})
        assert other.data(iid)["comment"] == "from A"
        assert other.advance_to(T0 + timedelta(days=8)) == 1

        misses = post.rt.workflows.misses
        post.complete_element(iid, "prevention", DEPARTMENT_HEAD, PREVENTION)
        assert post.rt.workflows.misses == misses + 1  # its cached copy was stale
        other.complete_element(iid, "monitoring_report", POST_HOLDER, MONITORING)
        post.complete_element(iid, "assessment", DISCIPLINE_OFFICER, {"score": 70})

        for driver in (post, other):
            instance = driver.instance(iid)
            assert instance.status == InstanceStatus.COMPLETED
            data = driver.data(iid)
            assert (data["measures"], data["report"], data["score"]) == \
                (PREVENTION["measures"], MONITORING["report"], 70)
        assert post.event_types(iid).count("task_completed") == 5
    finally:
        other_rt.close()


def test_two_runtimes_racing_on_one_task(post: Driver, settings: Settings) -> None:
    other_rt = Runtime(settings)
    try:
        other = Driver(other_rt)
        iid = post.start("simple_cycle", post_attributes())
        task = post.task(iid, "discovery")
        assert post.data(iid) == other.data(iid)  # both runtimes have it cached now
        outcomes = _race([lambda d=d: d.complete(task.id, POST_HOLDER, DISCOVERY)
                          for d in (post, other) * 2])
        assert sum(kind == "ok" for kind, _ in outcomes) == 1, outcomes
        assert all(isinstance(v, Conflict) for kind, v in outcomes if kind == "error")
        assert post.open_elements(iid) == other.open_elements(iid) == ["review"]
        other.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
        assert post.data(iid)["approved"] is True
        assert post.event_types(iid).count("task_completed") == 2
    finally:
        other_rt.close()
