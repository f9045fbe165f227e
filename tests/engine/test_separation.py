"""Separation of duties (回避, engine/separation.py) on the runtime alone, without the
programme: a task's ``excludes`` take people out of its candidates — in the lists, the
counts, claim, complete, delegate and reassign — and a task they empty goes up through the
runtime's ``escalation`` hook, or to administrators only (tests/fixtures/four_eyes.bpmn)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.actors import Actor
from engine.assignment import Candidates, TaskContext
from engine.db import UnitOfWork
from engine.errors import Forbidden
from engine.models import HumanTask, InstanceEvent, InstanceStatus, Notification, TaskState
from engine.runtime import Runtime
from engine.separation import Rule, parse_entries, parse_property
from engine.services import instance_admin, notifications, tasks

from .conftest import Driver

GROUPS = {"ann": {"clerks"}, "bob": {"clerks"}, "boss": set(), "chief": set(),
          "ivy": {"interns"}}


class Staff:
    """A directory of five people; it counts how often it is asked who is in a group."""

    def __init__(self) -> None:
        self.lookups: list[set[str]] = []

    def actor_for(self, uow: UnitOfWork, username: str) -> Actor:
        return Actor(username, frozenset(GROUPS.get(username, ())),
                     is_admin=username == "admin")

    def is_active(self, uow: UnitOfWork, username: str) -> bool:
        return username in GROUPS or username == "admin"

    def members(self, uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
        wanted = set(groups)
        self.lookups.append(wanted)
        return {g: {u for u, gs in GROUPS.items() if g in gs} for g in wanted}

    def may_delegate(self, uow: UnitOfWork, holder: str, to_username: str) -> bool:
        return True


ANN, BOB, BOSS, CHIEF = (Actor(u, frozenset(GROUPS[u])) for u in ("ann", "bob", "boss", "chief"))
ADMIN = Actor("admin", frozenset(), is_admin=True)


@pytest.fixture
def staff(driver: Driver) -> Staff:
    directory = Staff()
    driver.rt.directory = directory
    driver.deploy_fixture("four_eyes.bpmn")
    return directory


def start(driver: Driver, **data: Any) -> int:
    return driver.start("four_eyes", {"approval_excludes": [], **data})


def claimable(driver: Driver, actor: Actor) -> list[str]:
    with driver.rt.uow(write=False) as uow:
        rows, total = tasks.list_tasks(uow, actor, tasks.TaskFilter("claimable"))
    assert total == len(rows)
    return [t.element_id for t in rows]


def created(driver: Driver, task_id: uuid.UUID) -> dict[str, Any]:
    [event] = [e for e in driver.events(driver.get_task(task_id).instance_id)
               if e.type == "task_created" and e.task_id == task_id]
    assert event.data is not None
    return event.data


def history(driver: Driver, instance_id: int) -> list[str]:
    return driver.event_types(instance_id)


# ------------------------------------------------------------------------------ syntax


def test_the_property_is_entries_or_an_expression() -> None:
    assert parse_property("lane:post_holder, performer:draft") == (
        Rule("lane", "post_holder"), Rule("performer", "draft"))
    assert parse_property("user:ann,group:interns,user:ann") == (
        Rule("user", "ann"), Rule("group", "interns"))
    assert parse_property(" = approval_excludes ") == "approval_excludes"
    assert parse_entries(["ann", "group:g"], bare_is_user=True) == (
        Rule("user", "ann"), Rule("group", "g"))


@pytest.mark.parametrize(("text", "message"), [
    ("post_holder", "is not an exclusion: write kind:value"),
    ("holder:x", "unknown kind 'holder'"),
    ("lane:", "needs a name"),
    ("user:two words", "needs a name without spaces"),
    ("=", "needs an expression"),
])
def test_a_malformed_property_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_property(text)


# --------------------------------------------------------------------- performer (四眼)


def test_whoever_drafted_may_not_check(driver: Driver, staff: Staff) -> None:
    iid = start(driver)
    driver.complete_element(iid, "draft", ANN)
    check = driver.task(iid, "check")
    assert (check.candidate_groups, check.excluded_users) == (["clerks"], ["ann"])
    assert created(driver, check.id)["excluded"] == {
        "rules": ["performer:draft"], "users": ["ann"], "groups": [], "logins": ["ann"]}
    # Listed and counted for bob, not for ann.
    assert claimable(driver, BOB) == ["check"]
    assert claimable(driver, ANN) == []
    before = history(driver, iid)
    for refused in (lambda: driver.claim(check.id, ANN),
                    lambda: driver.complete(check.id, ANN, {})):
        with pytest.raises(Forbidden, match=r"回避 .*ann is excluded by name "
                                            r"\(excludes=\"performer:draft\"\)"):
            refused()
    # Nothing changed: still unclaimed, no new event.
    assert driver.get_task(check.id).assignee is None
    assert history(driver, iid) == before
    driver.complete(check.id, BOB, {})
    assert driver.get_task(check.id).completed_by == "bob"


def test_nobody_hands_the_task_to_someone_it_excludes(driver: Driver, staff: Staff) -> None:
    iid = start(driver)
    driver.complete_element(iid, "draft", ANN)
    check = driver.task(iid, "check")
    driver.claim(check.id, BOB)
    before = history(driver, iid)
    with driver.rt.uow() as uow, pytest.raises(Forbidden, match="回避"):
        tasks.delegate_task(uow, check.id, BOB, "ann", "出差")
    with driver.rt.uow() as uow, pytest.raises(Forbidden, match=r"回避.*ann is excluded"):
        instance_admin.reassign_task(uow, check.id, ADMIN, "ann", "出差")
    assert driver.get_task(check.id).assignee == "bob"
    assert history(driver, iid) == before
    with driver.rt.uow() as uow:  # to someone else: as ever
        tasks.delegate_task(uow, check.id, BOB, "ivy", "出差")
    assert driver.get_task(check.id).assignee == "ivy"


def test_an_administrator_is_excluded_like_anyone(driver: Driver, staff: Staff) -> None:
    """Being an administrator does not let you check your own work."""
    iid = start(driver)
    driver.complete_element(iid, "draft", ADMIN)
    check = driver.task(iid, "check")
    assert check.excluded_users == ["admin"]
    with pytest.raises(Forbidden, match="回避"):
        driver.complete(check.id, ADMIN, {})


# ------------------------------------------------------------------ emptied: escalation


def test_an_emptied_task_goes_to_administrators_only(driver: Driver, staff: Staff) -> None:
    iid = start(driver, approval_excludes=["boss"])
    driver.complete_element(iid, "draft", ANN)
    driver.complete_element(iid, "check", BOB)
    approve = driver.task(iid, "approve")
    assert (approve.candidate_users, approve.candidate_groups) == ([], [])
    assert approve.administrators_only is True  # never open to all: the administrators'
    assert created(driver, approve.id)["escalated"] == [
        {"from": {"users": ["boss"], "groups": []}, "to": "administrators"}]
    assert created(driver, approve.id)["administrators"] is True
    for nobody in (BOSS, CHIEF, ANN):
        assert claimable(driver, nobody) == []
        with pytest.raises(Forbidden):
            driver.claim(approve.id, nobody)
    assert [t.element_id for t in driver.inbox(ADMIN, "all") if t.state == "open"] == [
        "approve"]
    driver.complete(approve.id, ADMIN, {})
    assert driver.open_elements(iid) == ["sign"]


def test_the_escalation_hook_says_who_is_next(driver: Driver, staff: Staff) -> None:
    asked: list[Candidates] = []

    def chief_above(uow: UnitOfWork, ctx: TaskContext, emptied: Candidates) -> Candidates:
        asked.append(emptied)
        return Candidates(("chief",)) if "boss" in emptied.users else Candidates(("boss",))

    driver.rt.escalation = chief_above
    iid = start(driver, approval_excludes="boss")
    driver.complete_element(iid, "draft", ANN)
    driver.complete_element(iid, "check", BOB)
    approve = driver.task(iid, "approve")
    assert approve.candidate_users == ["chief"] and approve.excluded_users == ["boss"]
    assert asked == [Candidates(("boss",))]
    assert claimable(driver, CHIEF) == ["approve"] and claimable(driver, BOSS) == []
    driver.complete(approve.id, CHIEF, {})
    # sign: ann by name, and the interns; the hook offers boss.
    sign = driver.task(iid, "sign")
    assert (sign.candidate_users, sign.excluded_users, sign.excluded_groups) == (
        ["boss"], ["ann"], ["interns"])
    assert created(driver, sign.id)["excluded"]["logins"] == ["ann", "ivy"]


def test_members_are_asked_once_per_step_and_only_for_exclusions(driver: Driver,
                                                                 staff: Staff) -> None:
    iid = start(driver)
    assert staff.lookups == []  # draft excludes nobody: no lookup
    driver.complete_element(iid, "draft", ANN)
    assert staff.lookups == [{"clerks"}]


def test_an_exclusion_that_cannot_be_worked_out_stops_the_instance(driver: Driver,
                                                                   staff: Staff) -> None:
    iid = start(driver, approval_excludes=42)
    driver.complete_element(iid, "draft", ANN)
    driver.complete_element(iid, "check", BOB)
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert "cannot assign task '批准'" in (instance.error_message or "")


def test_whom_a_task_excludes_is_not_told_of_it(driver: Driver, staff: Staff) -> None:
    notifications.install(driver.rt)
    iid = start(driver)
    driver.complete_element(iid, "draft", ANN)
    with driver.rt.uow(write=False) as uow:
        told = list(uow.session.scalars(select(Notification.recipient).where(
            Notification.subject == "复核")))
        events = uow.session.scalar(select(func.count()).select_from(InstanceEvent))
    assert told == ["bob"] and events


def test_candidate_rows_of_exclusions_are_not_candidates(driver: Driver,
                                                         staff: Staff) -> None:
    iid = start(driver)
    driver.complete_element(iid, "draft", ANN)
    with driver.rt.uow(write=False) as uow:
        check = uow.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                           HumanTask.state == TaskState.OPEN))
        assert check is not None
        assert sorted((c.kind, c.name) for c in check.candidates) == [
            ("ex_user", "ann"), ("group", "clerks")]


def test_the_default_runtime_has_no_hierarchy(rt: Runtime) -> None:
    with rt.uow(write=False) as uow:
        assert rt.escalation(uow, TaskContext({}, {}, "p", None), Candidates(("x",))) is None
