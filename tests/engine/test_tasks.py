"""Claim rules, form validation that changes nothing on failure, and the inbox views."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from engine.actors import Actor
from engine.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TaskAlreadyClaimed,
    TaskAlreadyCompleted,
    ValidationFailed,
)
from engine.models import TaskState
from engine.services import tasks
from tests.conftest import (
    ADMIN,
    DEPARTMENT_HEAD,
    DISCIPLINE_OFFICER,
    FIXTURES,
    OUTSIDER,
    POST_HOLDER,
    deploy_text,
)

from .conftest import DISCOVERY, REVIEW, Driver, post_attributes

COLLEAGUE = Actor("qianqi", frozenset({"post_holder"}))
DIRECT_USER = Actor("sunba", frozenset())


def _discovery(post: Driver) -> tuple[int, Any]:
    iid = post.start("simple_cycle", post_attributes())
    return iid, post.task(iid, "discovery")


# --------------------------------------------------------------------------- claims


def test_candidate_claims(post: Driver) -> None:
    iid, task = _discovery(post)
    claimed = post.claim(task.id, POST_HOLDER)
    assert claimed.assignee == POST_HOLDER.user
    assert claimed.claimed_at == post.now()
    # claiming again is harmless
    assert post.claim(task.id, POST_HOLDER).assignee == POST_HOLDER.user
    assert post.event_types(iid).count("task_claimed") == 1
    claim_event = next(e for e in post.events(iid) if e.type == "task_claimed")
    assert (claim_event.actor, claim_event.task_id) == (POST_HOLDER.user, task.id)


def test_non_candidate_cannot_claim(post: Driver) -> None:
    _iid, task = _discovery(post)
    for actor in (OUTSIDER, DEPARTMENT_HEAD, DIRECT_USER):
        with pytest.raises(Forbidden):
            post.claim(task.id, actor)
    assert post.get_task(task.id).assignee is None


def test_second_claim_is_refused(post: Driver) -> None:
    _iid, task = _discovery(post)
    post.claim(task.id, POST_HOLDER)
    with pytest.raises(TaskAlreadyClaimed, match=POST_HOLDER.user):
        post.claim(task.id, COLLEAGUE)
    with pytest.raises(TaskAlreadyClaimed):
        post.claim(task.id, ADMIN)
    assert post.get_task(task.id).assignee == POST_HOLDER.user


def test_unclaim_only_by_assignee_or_admin(post: Driver) -> None:
    iid, task = _discovery(post)
    with pytest.raises(Conflict):
        post.unclaim(task.id, POST_HOLDER)  # not claimed yet
    post.claim(task.id, POST_HOLDER)
    for actor in (COLLEAGUE, OUTSIDER):
        with pytest.raises(Forbidden):
            post.unclaim(task.id, actor)
    assert post.get_task(task.id).assignee == POST_HOLDER.user

    released = post.unclaim(task.id, POST_HOLDER)
    assert (released.assignee, released.claimed_at) == (None, None)
    post.claim(task.id, COLLEAGUE)
    assert post.unclaim(task.id, ADMIN).assignee is None
    unclaims = [e for e in post.events(iid) if e.type == "task_unclaimed"]
    assert [(e.actor, e.data) for e in unclaims] == [
        (POST_HOLDER.user, {"was": POST_HOLDER.user}), (ADMIN.user, {"was": COLLEAGUE.user})]


def test_completing_a_task_claimed_by_someone_else_is_forbidden(post: Driver) -> None:
    iid, task = _discovery(post)
    post.claim(task.id, COLLEAGUE)
    revision = post.instance(iid).revision
    with pytest.raises(Forbidden):
        post.complete(task.id, POST_HOLDER, DISCOVERY)
    assert post.get_task(task.id).state == TaskState.OPEN
    assert post.instance(iid).revision == revision
    post.complete(task.id, COLLEAGUE, DISCOVERY)
    assert post.get_task(task.id).completed_by == COLLEAGUE.user


def test_admin_may_complete_on_behalf(post: Driver) -> None:
    iid, task = _discovery(post)
    post.claim(task.id, COLLEAGUE)
    post.complete(task.id, ADMIN, DISCOVERY)
    row = post.get_task(task.id)
    assert (row.completed_by, row.assignee) == (ADMIN.user, COLLEAGUE.user)
    assert post.open_elements(iid) == ["review"]


def test_candidate_completing_unclaimed_task_claims_it(post: Driver) -> None:
    iid, task = _discovery(post)
    post.complete(task.id, POST_HOLDER, DISCOVERY)
    row = post.get_task(task.id)
    assert (row.state, row.assignee, row.completed_by) == \
        (TaskState.COMPLETED, POST_HOLDER.user, POST_HOLDER.user)
    with pytest.raises(Forbidden):
        post.complete_element(iid, "review", OUTSIDER, REVIEW)


def test_named_candidate_users(driver: Driver) -> None:
    """candidateUsers/candidateGroups properties override the lane."""
    xml = (FIXTURES / "gateways.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:userTask id="normal_review" name="Normal review">',
        '<bpmn:userTask id="normal_review" name="Normal review">\n'
        '      <bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="candidateUsers" value="sunba" />'
        '<spiffworkflow:property name="candidateGroups" value="=reviewers" />'
        '</spiffworkflow:properties></bpmn:extensionElements>').replace(
        'xmlns:xsi=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
                      'xmlns:xsi=', 1)
    deploy_text(driver.rt, "gateways.bpmn", xml)
    iid = driver.start("gateways", {"amount": 1, "category": "x",
                                    "reviewers": ["auditors", "staff"]})
    task = driver.task(iid, "normal_review")
    assert (task.candidate_users, task.candidate_groups) == (["sunba"], ["auditors", "staff"])
    with pytest.raises(Forbidden):
        driver.claim(task.id, POST_HOLDER)
    assert driver.claim(task.id, DIRECT_USER).assignee == DIRECT_USER.user
    driver.unclaim(task.id, DIRECT_USER)
    assert driver.claim(task.id, OUTSIDER).assignee == OUTSIDER.user  # group "staff"


def test_unknown_task(post: Driver) -> None:
    with pytest.raises(NotFound):
        post.claim(uuid.uuid4(), POST_HOLDER)
    with pytest.raises(ValidationFailed), post.rt.uow() as uow:
        tasks.claim_task(uow, "not-a-uuid", POST_HOLDER)


# --------------------------------------------------------------------------- validation


def _snapshot(post: Driver, iid: int, task_id: Any) -> tuple[Any, ...]:
    instance = post.instance(iid)
    task = post.get_task(task_id)
    return (instance.revision, instance.state, instance.status, len(post.events(iid)),
            task.state, task.assignee, task.completed_at, post.open_elements(iid))


@pytest.mark.parametrize(("data", "field"), [
    ({}, "risks"),
    ({"risks": []}, "risks"),
    ({"risks": [{"category": "bribery", "description": "x"}]}, "risks"),
    ({"risks": [{"category": "duty"}]}, "risks"),
    ({"risks": [{"category": "duty", "description": ""}]}, "risks"),
    ({"risks": "many"}, "risks"),
    ({"risks": DISCOVERY["risks"], "bonus": 1}, "bonus"),
])
def test_bad_form_data_changes_nothing(post: Driver, data: dict[str, Any], field: str) -> None:
    iid, task = _discovery(post)
    post.claim(task.id, POST_HOLDER)
    before = _snapshot(post, iid, task.id)
    with pytest.raises(ValidationFailed) as caught:
        post.complete(task.id, POST_HOLDER, data)
    assert field in caught.value.errors
    assert field in caught.value.message
    assert _snapshot(post, iid, task.id) == before
    post.complete(task.id, POST_HOLDER, DISCOVERY)  # a correct retry still works
    assert post.open_elements(iid) == ["review"]


def test_form_types_are_strict(post: Driver) -> None:
    iid, _task = _discovery(post)
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    post.advance_to(post.now() + timedelta(days=8))
    post.complete_element(iid, "prevention", DEPARTMENT_HEAD, {"measures": "m"})
    post.complete_element(iid, "monitoring_report", POST_HOLDER, {"report": "r"})
    task = post.task(iid, "assessment")
    for bad, field in (({"score": "80"}, "score"), ({"score": 101}, "score"),
                       ({"score": -1}, "score"), ({"score": 60.5}, "score"),
                       ({"score": None}, "score")):
        before = _snapshot(post, iid, task.id)
        with pytest.raises(ValidationFailed) as caught:
            post.complete(task.id, DISCIPLINE_OFFICER, bad)
        assert field in caught.value.errors, bad
        assert _snapshot(post, iid, task.id) == before
    post.complete(task.id, DISCIPLINE_OFFICER, {"score": 60})
    assert post.instance(iid).status == "completed"  # 60 is a pass


@pytest.mark.parametrize("name", ["datetime", "date", "timedelta", "1st", "_private",
                                  "__class__", "with-dash", "with space", "x" * 65, ""])
def test_reserved_and_invalid_field_names_are_refused(driver: Driver, name: str) -> None:
    driver.deploy_fixture("gateways.bpmn")  # tasks without a form: only the generic checks
    iid = driver.start("gateways", {"amount": 1, "category": "x"})
    task = driver.task(iid, "normal_review")
    before = _snapshot(driver, iid, task.id)
    with pytest.raises(ValidationFailed) as caught:
        driver.complete(task.id, OUTSIDER, {name: 1, "fine": 2})
    assert list(caught.value.errors) == [name]
    assert _snapshot(driver, iid, task.id) == before
    with pytest.raises(ValidationFailed):
        driver.start("gateways", {"amount": 1, "category": "x", name: 1})


def test_task_data_must_be_an_object_of_json(driver: Driver) -> None:
    driver.deploy_fixture("gateways.bpmn")
    iid = driver.start("gateways", {"amount": 1, "category": "x"})
    task = driver.task(iid, "normal_review")
    for bad in ([1, 2], "text", {"when": object()}):
        with pytest.raises(ValidationFailed):
            driver.complete(task.id, OUTSIDER, bad)  # type: ignore[arg-type]
    assert driver.get_task(task.id).state == TaskState.OPEN


def test_completing_twice_is_task_already_completed(post: Driver) -> None:
    iid, task = _discovery(post)
    post.complete(task.id, POST_HOLDER, DISCOVERY)
    revision = post.instance(iid).revision
    for actor in (POST_HOLDER, ADMIN):
        with pytest.raises(TaskAlreadyCompleted):
            post.complete(task.id, actor, DISCOVERY)
    with pytest.raises(TaskAlreadyCompleted):
        post.claim(task.id, POST_HOLDER)
    assert post.instance(iid).revision == revision
    assert post.event_types(iid).count("task_completed") == 1


# --------------------------------------------------------------------------- inbox views


def _view(post: Driver, actor: Actor, view: str) -> set[tuple[int, str]]:
    return {(t.instance_id, t.element_id) for t in post.inbox(actor, view)}


def test_inbox_views(post: Driver) -> None:
    a, task_a = _discovery(post)
    b, task_b = _discovery(post)
    c, _task_c = _discovery(post)
    post.claim(task_a.id, POST_HOLDER)
    post.claim(task_b.id, COLLEAGUE)
    post.complete_element(c, "discovery", POST_HOLDER, DISCOVERY)  # c moves to review

    assert _view(post, POST_HOLDER, "mine") == {(a, "discovery")}
    assert _view(post, POST_HOLDER, "claimable") == set()  # b is COLLEAGUE's, c moved on
    assert _view(post, POST_HOLDER, "open") == {(a, "discovery")}
    assert _view(post, POST_HOLDER, "done") == {(c, "discovery")}
    assert _view(post, COLLEAGUE, "mine") == {(b, "discovery")}
    assert _view(post, COLLEAGUE, "done") == set()
    assert _view(post, DEPARTMENT_HEAD, "claimable") == {(c, "review")}
    assert _view(post, DEPARTMENT_HEAD, "open") == {(c, "review")}
    assert _view(post, DEPARTMENT_HEAD, "mine") == set()
    assert _view(post, OUTSIDER, "open") == set()
    assert _view(post, ADMIN, "all") == {(a, "discovery"), (b, "discovery"),
                                          (c, "discovery"), (c, "review")}

    post.unclaim(task_b.id, COLLEAGUE)
    assert _view(post, POST_HOLDER, "claimable") == {(b, "discovery")}
    assert _view(post, POST_HOLDER, "open") == {(a, "discovery"), (b, "discovery")}

    with post.rt.uow(write=False) as uow:
        with pytest.raises(Forbidden):
            tasks.list_tasks(uow, POST_HOLDER, tasks.TaskFilter("all"))
        with pytest.raises(ValidationFailed):
            tasks.list_tasks(uow, POST_HOLDER, tasks.TaskFilter("everything"))
        page, total = tasks.list_tasks(uow, POST_HOLDER,
                                          tasks.TaskFilter("open", limit=1))
        assert (len(page), total) == (1, 2)
        other_process, _ = tasks.list_tasks(
            uow, POST_HOLDER, tasks.TaskFilter("open", process_id="gateways"))
        assert other_process == []


def test_due_in_can_be_an_expression_over_task_data() -> None:
    from datetime import UTC, datetime

    from engine.assignment import due_date

    now = datetime(2011, 1, 4, tzinfo=UTC)
    element = {"name": "纠错整改", "properties": {"dueIn": "=correction_deadline"}}
    data = {"correction_deadline": "P10D"}
    assert due_date(element, now, lambda expr: data[expr]) == datetime(
        2011, 1, 14, tzinfo=UTC)
    assert due_date({"properties": {"dueIn": "P1M"}}, now) == datetime(2011, 2, 4, tzinfo=UTC)
