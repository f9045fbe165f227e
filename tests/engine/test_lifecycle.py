"""Suspend, resume, terminate, and the error state with retry
(tests/fixtures/script_error.bpmn: ``ratio = total / count`` before a user task)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Conflict, InvalidState, NotFound
from engine.models import InstanceStatus, TaskState
from engine.services import instances
from tests.conftest import ADMIN, DEPARTMENT_HEAD, OUTSIDER, POST_HOLDER

from .conftest import DISCOVERY, REVIEW, T0, Driver, post_attributes


def _suspend(d: Driver, iid: int, reason: str | None = "audit") -> None:
    with d.rt.uow() as uow:
        instances.suspend_instance(uow, iid, ADMIN, reason)


def _resume(d: Driver, iid: int) -> None:
    with d.rt.uow() as uow:
        instances.resume_instance(uow, iid, ADMIN, "audit done")


def _terminate(d: Driver, iid: int) -> None:
    with d.rt.uow() as uow:
        instances.terminate_instance(uow, iid, ADMIN, "post abolished")


def _retry(d: Driver, iid: int, data: dict[str, object] | None = None) -> None:
    with d.rt.uow() as uow:
        instances.retry_instance(uow, iid, ADMIN, data)


# --------------------------------------------------------------------------- suspend


def test_suspended_tasks_cannot_be_worked_on(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    task = post.task(iid, "discovery")
    post.claim(task.id, POST_HOLDER)
    _suspend(post, iid)
    instance = post.instance(iid)
    assert (instance.status, instance.suspended_from) == \
        (InstanceStatus.SUSPENDED, InstanceStatus.WAITING)
    state, revision = instance.state, instance.revision

    with pytest.raises(InvalidState):
        post.complete(task.id, POST_HOLDER, DISCOVERY)
    with pytest.raises(InvalidState):
        post.unclaim(task.id, POST_HOLDER)
    with pytest.raises(InvalidState):
        post.claim(task.id, ADMIN)
    with pytest.raises(InvalidState):
        _suspend(post, iid)
    with pytest.raises(InvalidState):
        _retry(post, iid)
    assert post.get_task(task.id).state == TaskState.OPEN  # still there, just frozen
    after = post.instance(iid)
    assert (after.state, after.revision) == (state, revision)

    _resume(post, iid)
    resumed = post.instance(iid)
    assert (resumed.status, resumed.suspended_from) == (InstanceStatus.WAITING, None)
    post.complete(task.id, POST_HOLDER, DISCOVERY)
    assert post.open_elements(iid) == ["review"]


def test_suspend_does_not_rewrite_the_state(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    before = post.instance(iid)
    _suspend(post, iid)
    _resume(post, iid)
    after = post.instance(iid)
    assert after.state == before.state
    assert after.revision == before.revision + 2  # two status writes, each checked


def test_resume_needs_a_suspended_instance(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    with pytest.raises(InvalidState):
        _resume(post, iid)
    with pytest.raises(NotFound):
        _suspend(post, 999_999)


# --------------------------------------------------------------------------- terminate


def test_terminate_cancels_tasks_and_timers(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    review = post.task(iid, "review")
    post.claim(review.id, DEPARTMENT_HEAD)
    post.advance(timedelta(hours=2))
    _terminate(post, iid)

    instance = post.instance(iid)
    assert instance.status == InstanceStatus.TERMINATED
    assert instance.completed_at == T0 + timedelta(hours=2)
    row = post.get_task(review.id)
    assert (row.state, row.completed_at, row.completed_by) == \
        (TaskState.CANCELLED, T0 + timedelta(hours=2), None)
    assert post.open_elements(iid) == []
    cancelled = [e for e in post.events(iid) if e.type == "task_cancelled"]
    assert [e.task_id for e in cancelled] == [review.id]

    with pytest.raises(Conflict):
        post.complete(review.id, DEPARTMENT_HEAD, REVIEW)
    for action in (_suspend, _resume, _terminate, _retry):
        with pytest.raises(InvalidState):
            action(post, iid)
    assert post.instance(iid).status == InstanceStatus.TERMINATED
    assert post.data(iid)["risks"] == DISCOVERY["risks"]  # still loadable


def test_terminate_removes_pending_timers(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    assert [t.element_id for t in post.timers(iid)] == ["publicity"]
    _terminate(post, iid)
    assert post.timers(iid) == []
    assert post.next_due() is None
    assert post.advance_to(T0 + timedelta(days=30)) == 0
    assert post.open_elements(iid) == []
    assert "timer_fired" not in post.event_types(iid)


def test_terminate_a_suspended_instance(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes())
    task = post.task(iid, "discovery")
    _suspend(post, iid)
    _terminate(post, iid)
    instance = post.instance(iid)
    assert (instance.status, instance.suspended_from) == (InstanceStatus.TERMINATED, None)
    assert post.get_task(task.id).state == TaskState.CANCELLED


# --------------------------------------------------------------------------- errors


@pytest.fixture
def err(driver: Driver) -> Driver:
    driver.deploy_fixture("script_error.bpmn")
    return driver


@pytest.mark.parametrize(("data", "reason"), [
    ({"total": 10, "count": 0}, "ZeroDivisionError"),
    ({"total": 10}, "count"),  # a missing variable
])
def test_script_failure_puts_the_instance_in_error(err: Driver, data: dict[str, int],
                                                   reason: str) -> None:
    iid = err.start("script_error", data)
    instance = err.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert reason in (instance.error_message or "")
    assert instance.error_element == "compute_ratio"
    assert err.open_elements(iid) == []
    err.rt.workflows.clear()
    assert err.data(iid) == data  # still loadable from the database
    errors = [e for e in err.events(iid) if e.type == "error"]
    assert len(errors) == 1
    assert errors[0].element_id == "compute_ratio"
    assert reason in errors[0].data["message"]


@pytest.mark.parametrize("start", [{"total": 10, "count": 0}, {"total": 10}])
def test_retry_with_corrected_data_proceeds(err: Driver, start: dict[str, int]) -> None:
    iid = err.start("script_error", start)
    err.rt.workflows.clear()
    _retry(err, iid, {"count": 4})
    instance = err.instance(iid)
    assert instance.status == InstanceStatus.WAITING
    assert (instance.error_message, instance.error_element) == (None, None)
    assert err.open_elements(iid) == ["confirm"]
    data = err.data(iid)
    assert (data["count"], data["ratio"]) == (4, 2.5)
    err.complete_element(iid, "confirm", OUTSIDER)
    assert err.instance(iid).status == InstanceStatus.COMPLETED
    retried = [e for e in err.events(iid) if e.type == "retried"]
    assert [(e.actor, e.data) for e in retried] == \
        [(ADMIN.user, {"element": "compute_ratio", "data": {"count": 4}})]


def test_retry_without_a_fix_fails_again(err: Driver) -> None:
    iid = err.start("script_error", {"total": 1, "count": 0})
    _retry(err, iid)
    instance = err.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error_element == "compute_ratio"
    assert err.event_types(iid).count("retried") == 1
    _retry(err, iid, {"count": 1})
    assert err.instance(iid).status == InstanceStatus.WAITING
    assert err.data(iid)["ratio"] == 1.0


def test_retry_only_in_error(err: Driver) -> None:
    iid = err.start("script_error", {"total": 10, "count": 5})
    assert err.instance(iid).status == InstanceStatus.WAITING
    with pytest.raises(InvalidState, match="cannot retry"):
        _retry(err, iid, {"count": 1})
    assert err.data(iid)["count"] == 5


def test_an_instance_in_error_can_be_suspended_and_resumed_to_error(err: Driver) -> None:
    iid = err.start("script_error", {"total": 10, "count": 0})
    _suspend(err, iid)
    with pytest.raises(InvalidState):
        _retry(err, iid, {"count": 2})
    _resume(err, iid)
    assert err.instance(iid).status == InstanceStatus.ERROR
    _retry(err, iid, {"count": 2})
    assert err.data(iid)["ratio"] == 5.0
