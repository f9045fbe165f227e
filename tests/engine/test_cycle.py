"""The post cycle end to end on the simulated clock: who gets each task, what the grading
decision says, how the publicity timer waits, the correction loop, and the task rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import serialization, services
from engine.errors import Forbidden
from engine.models import InstanceStatus, TaskState
from tests.conftest import DEPARTMENT_HEAD, DISCIPLINE_OFFICER, OUTSIDER, POST_HOLDER

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

PUBLICITY = timedelta(days=7)


def _to_publicity(post: Driver, **attributes: bool) -> int:
    iid = post.start("post_cycle", post_attributes(**attributes), business_key="post-1")
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    return iid


def test_whole_cycle_with_correction_loop(post: Driver) -> None:
    iid = post.start("post_cycle", post_attributes(approval_power=True), business_key="post-1",
                     actor=POST_HOLDER)
    instance = post.instance(iid)
    assert instance.status == InstanceStatus.WAITING
    assert (instance.started_at, instance.started_by, instance.business_key) == \
        (T0, POST_HOLDER.user, "post-1")

    # discovery: the post holder's lane
    discovery = post.task(iid, "discovery")
    assert discovery.candidate_groups == ["post_holder"]
    assert discovery.candidate_users == []
    assert discovery.lane == "post_holder"
    assert discovery.name == "查找廉政风险"
    assert (discovery.created_at, discovery.due_at) == (T0, T0 + timedelta(days=30))
    assert discovery.assignee is None
    with pytest.raises(Forbidden):
        post.complete(discovery.id, DEPARTMENT_HEAD, DISCOVERY)
    post.claim(discovery.id, POST_HOLDER)
    post.complete(discovery.id, POST_HOLDER, DISCOVERY)
    done = post.get_task(discovery.id)
    assert (done.state, done.completed_by, done.completed_at) == \
        (TaskState.COMPLETED, POST_HOLDER.user, T0)

    # grading (DMN) ran on its own; review goes to the department head
    assert post.data(iid)["post_level"] == 1
    assert post.open_elements(iid) == ["review"]
    review = post.task(iid, "review")
    assert review.candidate_groups == ["department_head"]
    assert review.due_at == T0 + timedelta(days=10)
    post.advance(timedelta(hours=3))
    post.complete(review.id, DEPARTMENT_HEAD, REVIEW)
    reviewed_at = T0 + timedelta(hours=3)
    assert post.get_task(review.id).completed_at == reviewed_at

    # publicity: seven days from the review, counted on the simulated clock
    assert post.open_elements(iid) == []
    assert post.instance(iid).status == InstanceStatus.WAITING
    [timer] = post.timers(iid)
    due = reviewed_at + PUBLICITY
    assert (timer.element_id, timer.kind, timer.due_at) == ("publicity", "duration", due)
    assert post.next_due() == due

    post.advance(timedelta(days=6))
    assert post.due_ids(post.now()) == []
    assert post.fire() == 0
    assert post.open_elements(iid) == []
    assert "timer_fired" not in post.event_types(iid)

    assert post.advance_to(due + timedelta(hours=1)) == 1
    assert post.now() == due + timedelta(hours=1)
    assert post.timers(iid) == []
    assert post.open_elements(iid) == ["monitoring_report", "prevention"]
    prevention, monitoring = post.task(iid, "prevention"), post.task(iid, "monitoring_report")
    assert prevention.candidate_groups == ["department_head"]
    assert monitoring.candidate_groups == ["post_holder"]
    assert prevention.created_at == monitoring.created_at == due  # created when the timer fired
    assert prevention.due_at == due + timedelta(days=30)
    assert monitoring.due_at == due + timedelta(days=90)

    # the parallel join waits for both
    post.complete(prevention.id, DEPARTMENT_HEAD, PREVENTION)
    assert post.open_elements(iid) == ["monitoring_report"]
    post.complete(monitoring.id, POST_HOLDER, MONITORING)
    assert post.open_elements(iid) == ["assessment"]
    assert post.task(iid, "assessment").candidate_groups == ["discipline_officer"]

    # score 50 < 60: correction, then a second assessment
    post.complete_element(iid, "assessment", DISCIPLINE_OFFICER, {"score": 50})
    assert post.open_elements(iid) == ["correction"]
    assert post.task(iid, "correction").candidate_groups == ["post_holder"]
    post.advance(timedelta(days=1))
    post.complete_element(iid, "correction", POST_HOLDER, CORRECTION)
    assert post.open_elements(iid) == ["assessment"]
    assert post.instance(iid).status == InstanceStatus.WAITING
    post.advance(timedelta(days=2))
    post.complete_element(iid, "assessment", DISCIPLINE_OFFICER, {"score": 80})

    finished = post.instance(iid)
    assert finished.status == InstanceStatus.COMPLETED
    assert finished.completed_at == post.now()
    assert post.open_elements(iid) == []
    rows = post.tasks(iid, state=None)
    assert [t.element_id for t in rows] == [
        "discovery", "review", "monitoring_report", "prevention", "assessment", "correction",
        "assessment"]
    assert all(t.state == TaskState.COMPLETED for t in rows)
    assert [t.completed_by for t in rows] == [
        POST_HOLDER.user, DEPARTMENT_HEAD.user, POST_HOLDER.user, DEPARTMENT_HEAD.user,
        DISCIPLINE_OFFICER.user, POST_HOLDER.user, DISCIPLINE_OFFICER.user]
    # a candidate completing an unclaimed task holds it afterwards
    assert [t.assignee for t in rows] == [t.completed_by for t in rows]
    data = post.data(iid)
    assert data["score"] == 80
    assert data["actions"] == CORRECTION["actions"]
    assert data["risks"] == DISCOVERY["risks"]


@pytest.mark.parametrize(("attributes", "level"), [
    ({}, 3),
    ({"general_economic": True}, 2),
    ({"social_affairs": True}, 2),
    ({"public_service": True}, 2),
    ({"social_affairs": True, "public_service": True}, 2),
    ({"principal_post": True}, 1),
    ({"approval_power": True}, 1),
    ({"enforcement_power": True}, 1),
    ({"key_resources": True}, 1),
    ({"livelihood": True}, 1),
    ({"livelihood": True, "public_service": True}, 1),  # level 1 wins over level 2
    ({name: True for name in ("principal_post", "approval_power", "enforcement_power",
                              "key_resources", "livelihood", "general_economic",
                              "social_affairs", "public_service")}, 1),
])
def test_grading_decision(post: Driver, attributes: dict[str, bool], level: int) -> None:
    iid = post.start("post_cycle", post_attributes(**attributes))
    assert "post_level" not in post.data(iid)
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    assert post.data(iid)["post_level"] == level
    assert post.open_elements(iid) == ["review"]


def test_timer_waits_exactly_seven_days(post: Driver) -> None:
    iid = _to_publicity(post)
    due = T0 + PUBLICITY
    assert post.due_ids(due - timedelta(seconds=1)) == []
    assert post.due_ids(due) == [iid]
    post.set_clock(due - timedelta(seconds=1))
    assert post.fire() == 0
    assert post.open_elements(iid) == []
    # At the due instant itself the timer fires: what due_instance_ids reports is what fires.
    post.set_clock(due)
    assert post.fire() == 1
    assert post.open_elements(iid) == ["monitoring_report", "prevention"]
    assert post.task(iid, "prevention").created_at == due


def test_other_instances_keep_waiting(post: Driver) -> None:
    early = _to_publicity(post)
    post.advance(timedelta(days=2))
    late = _to_publicity(post)
    untouched = post.start("post_cycle", post_attributes())
    revision = post.instance(late).revision
    assert post.advance_to(T0 + PUBLICITY + timedelta(hours=1)) == 1
    assert post.open_elements(early) == ["monitoring_report", "prevention"]
    assert post.open_elements(late) == []
    assert post.instance(late).revision == revision
    assert post.open_elements(untouched) == ["discovery"]
    assert [t.instance_id for t in post.timers()] == [late]


def test_listing_tasks_never_loads_a_workflow(post: Driver,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    iid = post.start("post_cycle", post_attributes())
    post.claim(post.task(iid, "discovery").id, POST_HOLDER)
    other = post.start("post_cycle", post_attributes())

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a workflow was deserialized")

    post.rt.workflows.clear()
    post.rt.specs = type(post.rt.specs)()
    from engine import execution
    for module in (serialization, execution):
        monkeypatch.setattr(module, "load_state", refuse)
        monkeypatch.setattr(module, "load_spec", refuse)

    with post.rt.uow(write=False) as uow:
        mine, mine_total = services.list_tasks(uow, POST_HOLDER, services.TaskFilter("mine"))
        claimable, _ = services.list_tasks(uow, POST_HOLDER, services.TaskFilter("claimable"))
        everything, total = services.list_tasks(uow, POST_HOLDER, services.TaskFilter("open"))
        assert services.list_tasks(uow, OUTSIDER, services.TaskFilter("open"))[1] == 0
        instances, _ = services.list_instances(uow)
    assert [(t.instance_id, t.element_id) for t in mine] == [(iid, "discovery")]
    assert mine_total == 1
    assert [(t.instance_id, t.element_id) for t in claimable] == [(other, "discovery")]
    assert total == 2 and {t.instance_id for t in everything} == {iid, other}
    assert everything[0].candidate_groups == ["post_holder"]
    assert {i.id for i in instances} == {iid, other}
    # The patch does bite: anything that needs the workflow now fails.
    with pytest.raises(AssertionError, match="deserialized"):
        post.data(iid)


def test_instance_data_is_a_copy(post: Driver) -> None:
    """Callers (web views) may edit what they get; the cached live workflow must not change."""
    iid = post.start("post_cycle", post_attributes())
    post.complete_element(iid, "discovery", POST_HOLDER, DISCOVERY)
    data = post.data(iid)
    data["risks"].append({"category": "external", "description": "injected"})
    data["risks"][0]["description"] = "changed"
    data["post_level"] = 99
    again = post.data(iid)
    assert again["risks"] == DISCOVERY["risks"]
    assert again["post_level"] == 3
    post.complete_element(iid, "review", DEPARTMENT_HEAD, REVIEW)
    post.rt.workflows.clear()
    assert post.data(iid)["risks"] == DISCOVERY["risks"]
