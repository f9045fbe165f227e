"""The inbox services (engine/services/inbox.py) and delegation / visibility
(engine/services/tasks.py, the rules of engine/services/task_access.py) on the organisation
of tests/inbox_org.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from engine.actors import Actor
from engine.errors import Forbidden, TaskAlreadyCompleted, ValidationFailed
from engine.execution.mirror import org_codes
from engine.models import HumanTask
from engine.programme.services import organisation
from engine.services import inbox, task_access, tasks
from engine.services.inbox import count_tasks
from engine.services.tasks import TaskFilter
from engine.settings import Settings
from engine.task_columns import CodeColumns
from tests.databases import Template
from tests.inbox_org import T0, Org, open_org

HOLDER_POST = "CZJ-BGS-02"


@pytest.fixture
def org(settings: Settings, inbox_org_world: Template) -> Iterator[Org]:
    org = open_org(settings)
    yield org
    org.rt.close()


def actor(org: Org, username: str) -> Actor:
    with org.rt.uow(write=False) as uow:
        return organisation.actor_for(uow, username)


def page(org: Org, username: str, **flt: Any) -> list[uuid.UUID]:
    with org.rt.uow(write=False) as uow:
        result = inbox.inbox_page(uow, actor(org, username), TaskFilter(**flt))
        return [row.id for row in result.rows]


def delegate(org: Org, task_id: uuid.UUID, by: str | Actor, to: str,
             reason: str | None = "出差") -> HumanTask:
    who = by if isinstance(by, Actor) else actor(org, by)
    with org.rt.uow() as uow:
        return tasks.delegate_task(uow, task_id, who, to, reason)


def test_tasks_carry_the_organisation_codes_of_their_data(org: Org) -> None:
    task = org.open_task(org.start(HOLDER_POST))
    assert (task.unit_code, task.department_code, task.post_code) == (
        "CZJ", "CZJ-BGS", HOLDER_POST)
    assert org_codes({"unit_code": "x" * 65, "department_code": 7, "post_code": ""}) == {
        "unit_code": None, "department_code": None, "post_code": None}


def test_inbox_rows_have_names_and_cards(org: Org) -> None:
    task_id = org.open_task(org.start(HOLDER_POST)).id
    org.set_clock(T0 + timedelta(days=8))
    with org.rt.uow(write=False) as uow:
        result = inbox.inbox_page(uow, actor(org, "czj-0011"), TaskFilter("claimable"))
    [row] = result.rows
    assert (row.id, row.unit_name, row.department_name, row.post_name, row.process_name) == (
        task_id, "财政局", "办公室", "科员（文秘）", "岗位风险查找(测试)")
    assert (row.card, result.total, result.capped) == ("yellow_card", 1, False)
    assert inbox.due_card("open", row.due_at, row.due_at + timedelta(seconds=1)) == (
        "red_card")
    assert inbox.due_card("completed", row.due_at, row.due_at + timedelta(days=1)) is None


def test_without_the_programme_rows_show_codes_and_searches_skip_post_names(
        org: Org) -> None:
    """The runtime's default task columns (``CodeColumns``) know no organisation: rows keep
    their codes, names and level are empty, a search matches the task's name and post code
    only."""
    task_id = org.open_task(org.start(HOLDER_POST)).id
    org.rt.task_columns = CodeColumns()
    with org.rt.uow(write=False) as uow:
        [row] = inbox.inbox_page(uow, actor(org, "admin"), TaskFilter("all")).rows
    assert (row.id, row.unit_code, row.department_code, row.post_code) == (
        task_id, "CZJ", "CZJ-BGS", HOLDER_POST)
    assert (row.unit_name, row.department_name, row.post_name, row.post_level) == (
        None, None, None, None)
    for text, found in (("文秘", 0), ("bgs-02", 1), ("查找", 1)):
        assert len(page(org, "admin", view="all", search=text)) == found, text


def test_a_page_costs_the_same_statements_whatever_its_size(org: Org) -> None:
    """Names are looked up for the page at once, never row by row."""
    def statements(**flt: Any) -> int:
        seen: list[str] = []
        def count(*args: Any) -> None:
            seen.append(args[2])
        event.listen(org.rt.db, "before_cursor_execute", count)
        try:
            with org.rt.uow(write=False) as uow:
                inbox.inbox_page(uow, actor(org, "admin"), TaskFilter("all", **flt))
        finally:
            event.remove(org.rt.db, "before_cursor_execute", count)
        return len(seen)
    org.start(HOLDER_POST)
    one = statements()
    for post in ("CZJ-BGS-01", "CZJ-BGS-03", "CZJ-YSK-01", "FGW-BGS-02"):
        org.start(post)
    assert len(page(org, "admin", view="all")) == 5
    assert statements() == one
    assert statements(search="文秘") == one


def test_counts_stop_at_the_cap(org: Org) -> None:
    for post in ("CZJ-BGS-01", "CZJ-BGS-02", "CZJ-BGS-03"):
        org.start(post)
    admin = actor(org, "admin")
    with org.rt.uow(write=False) as uow:
        assert count_tasks(uow, admin, TaskFilter("all")) == 3
        assert count_tasks(uow, admin, TaskFilter("all"), cap=1) == 2
        assert inbox.inbox_counts(uow, actor(org, "czj-0011")) == {"mine": 0,
                                                                      "claimable": 1}


def test_search_takes_wildcards_literally(org: Org) -> None:
    org.start(HOLDER_POST)
    for text, found in (("文秘", 1), ("bgs-02", 1), ("%", 0), ("_", 0), ("查找", 1)):
        assert len(page(org, "admin", view="all", search=text)) == found, text


def test_a_search_counts_no_further_than_its_own_cap(org: Org,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        org.start(HOLDER_POST)
    monkeypatch.setattr(inbox, "SEARCH_COUNT_CAP", 2)  # stands for 1,000
    with org.rt.uow(write=False) as uow:
        searched = inbox.inbox_page(uow, actor(org, "admin"), TaskFilter("all", search="文秘"))
        listed = inbox.inbox_page(uow, actor(org, "admin"), TaskFilter("all"))
    assert (len(searched.rows), searched.total, searched.capped) == (3, 2, True)
    assert (listed.total, listed.capped) == (3, False)  # without a search: COUNT_CAP


def test_unknown_view_sort_and_due_state_are_refused(org: Org) -> None:
    admin = actor(org, "admin")
    with org.rt.uow(write=False) as uow:
        for flt in (TaskFilter("everything"), TaskFilter("all", sort="colour"),
                    TaskFilter("all", due="someday")):
            with pytest.raises(ValidationFailed):
                inbox.inbox_page(uow, admin, flt)
        with pytest.raises(Forbidden):
            inbox.inbox_page(uow, actor(org, "czj-0011"), TaskFilter("all"))


def test_involved_instances(org: Org) -> None:
    mine = org.start(HOLDER_POST, by="czj-0011")
    worked = org.start(HOLDER_POST, "started-by-admin")
    org.start("CZJ-YSK-02")
    task = org.open_task(worked).id
    org.claim(task, "czj-0011")
    org.complete(task, "czj-0011")
    with org.rt.uow(write=False) as uow:
        rows, total = inbox.involved_instances(uow, actor(org, "czj-0011"))
        assert ({r.id for r in rows}, total) == ({mine, worked}, 2)
        rows, total = inbox.involved_instances(uow, actor(org, "czj-0011"), limit=1)
        assert (len(rows), total) == (1, 2)
        assert inbox.involved_instances(uow, actor(org, "czj-0011"),
                                           process_id="other")[1] == 0


def test_colleagues_share_a_department(org: Org) -> None:
    with org.rt.uow(write=False) as uow:
        colleagues = organisation.colleagues(uow, "czj-0011")
        assert {(c.username, c.name, c.posts) for c in colleagues} == {
            ("czj-0012", "李文静", ("科员（档案管理）",)), ("czj-0009", "孟涛", ("办公室主任",))}
        assert organisation.colleagues(uow, "admin") == []
        assert organisation.department_codes(uow, "czj-0009") == {"CZJ-BGS"}
        assert organisation.share_department(uow, "czj-0011", "czj-0009")
        assert not organisation.share_department(uow, "czj-0011", "czj-0021")
        # the deputy oversees 办公室 and 预算科 but belongs to 领导班子
        assert organisation.department_codes(uow, "czj-0002") == {"CZJ-LDBZ"}


def test_delegation_rules(org: Org) -> None:
    task = org.open_task(org.start(HOLDER_POST)).id
    # a candidate may hand on an unclaimed task; an outsider may not
    with pytest.raises(Forbidden, match="not a candidate"):
        delegate(org, task, "czj-0012", "czj-0009")
    delegated = delegate(org, task, "czj-0011", "czj-0012")
    assert delegated.assignee == "czj-0012"
    # now only the new assignee may hand it on, within the department, with a reason
    with pytest.raises(Forbidden, match="claimed by czj-0012"):
        delegate(org, task, "czj-0011", "czj-0009")
    with pytest.raises(Forbidden, match="not in the same department"):
        delegate(org, task, "czj-0012", "czj-0021")
    for reason in (None, "  ", "长" * 501):
        with pytest.raises(ValidationFailed):
            delegate(org, task, "czj-0012", "czj-0009", reason)
    with pytest.raises(ValidationFailed, match="already"):
        delegate(org, task, "czj-0012", "czj-0012")
    with pytest.raises(ValidationFailed, match="no active account"):
        delegate(org, task, "czj-0012", "nobody")
    # an administrator hands it on within the assignee's department
    assert delegate(org, task, "admin", "czj-0009").assignee == "czj-0009"
    events = [(e.type, e.actor, e.data) for e in org.events(org.task(task).instance_id)
              if e.type == "task_delegated"]
    assert events == [
        ("task_delegated", "czj-0011", {"from": None, "to": "czj-0012", "reason": "出差"}),
        ("task_delegated", "admin", {"from": "czj-0012", "to": "czj-0009", "reason": "出差"})]
    org.complete(task, "czj-0009")
    with pytest.raises(TaskAlreadyCompleted):
        delegate(org, task, "czj-0009", "czj-0011")


def test_who_may_view_a_task(org: Org) -> None:
    task = org.open_task(org.start(HOLDER_POST)).id
    allowed = {"czj-0011", "czj-0009", "czj-0002", "czj-0001", "czj-0004", "jiwei", "admin"}
    refused = {"czj-0012", "czj-0021", "czj-0020", "fgw-0001", "fgw-0004", "fgw-0011"}
    with org.rt.uow(write=False) as uow:
        for username in sorted(allowed | refused):
            who = organisation.actor_for(uow, username)
            if username in allowed:
                assert tasks.view_task(uow, task, who).id == task
            else:
                with pytest.raises(Forbidden):
                    tasks.view_task(uow, task, who)
    # unrestricted tasks and the assignee
    with org.rt.uow(write=False) as uow:
        row = uow.session.scalars(select(HumanTask).where(HumanTask.id == task)).one()
        assert task_access.may_view(row, Actor("czj-0012", frozenset())) is False
        row.assignee = "czj-0012"
        assert task_access.may_view(row, Actor("czj-0012", frozenset())) is True
