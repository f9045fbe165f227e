"""Amending a running instance (``engine.services.amendments.amend``): new values for the
data its lanes resolve from, its open tasks routed again by them — a claim by someone no
longer a candidate released, a ``task_rerouted`` event with the reason — and nothing for an
instance that is no longer active. On the inbox cycle of tests/inbox_org.py, whose first task
goes to the holder of the instance's ``post_code`` (``post:<code>``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.services import instance_admin
from engine.services.amendments import amend
from engine.settings import Settings
from tests.conftest import ADMIN
from tests.databases import Template
from tests.inbox_org import Org, open_org

POST, OTHER_POST = "CZJ-BGS-02", "CZJ-BGS-03"
HOLDER = "czj-0011"


@pytest.fixture
def org(settings: Settings, inbox_org_world: Template) -> Iterator[Org]:
    org = open_org(settings)
    yield org
    org.rt.close()


def test_amend_routes_the_open_task_by_the_new_data(org: Org) -> None:
    iid = org.start(POST)
    task = org.open_task(iid)
    assert task.candidate_groups == [f"post:{POST}"]
    org.claim(task.id, HOLDER)
    with org.rt.uow() as uow:
        assert amend(uow, iid, {"post_code": OTHER_POST}, reason="岗位调整", actor="tests")
        uow.commit()
    moved = org.task(task.id)
    assert moved.candidate_groups == [f"post:{OTHER_POST}"]
    assert (moved.state, moved.assignee, moved.post_code) == ("open", None, OTHER_POST)
    [rerouted] = [e for e in org.events(iid) if e.type == "task_rerouted"]
    assert rerouted.data["from"] == [f"post:{POST}"]
    assert (rerouted.data["groups"], rerouted.data["reason"]) == ([f"post:{OTHER_POST}"],
                                                                 "岗位调整")
    changed = [e for e in org.events(iid) if e.type == "variables_changed"]
    assert changed[-1].data["values"] == {"post_code": OTHER_POST}


def test_amend_leaves_tasks_alone_when_their_candidates_stay(org: Org) -> None:
    iid = org.start(POST)
    task = org.open_task(iid)
    org.claim(task.id, HOLDER)
    with org.rt.uow() as uow:
        amend(uow, iid, {"note": "仅记录"}, reason="补充说明")
        uow.commit()
    assert org.task(task.id).assignee == HOLDER
    assert [e for e in org.events(iid) if e.type == "task_rerouted"] == []


def test_amend_does_nothing_to_an_instance_that_is_not_active(org: Org) -> None:
    iid = org.start(POST)
    with org.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "terminate", iid, ADMIN, "测试终止流程实例")
    events = len(org.events(iid))
    with org.rt.uow() as uow:
        assert amend(uow, iid, {"post_code": OTHER_POST}, reason="岗位调整") is False
        uow.commit()
    assert len(org.events(iid)) == events
