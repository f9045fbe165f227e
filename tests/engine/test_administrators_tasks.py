"""A user task that ends up with no lane and no candidates is an administrators' task — never
open to all (issue 12 point 3): only administrators see it in their inbox and may claim,
fill in and complete it; everyone else is refused with the reason, and nothing changes.
The model: tests/fixtures/laneless.bpmn (``prepare`` in the lane ``staff``, then
``sign_off`` in no lane)."""

from __future__ import annotations

import pytest

from engine.actors import Actor
from engine.errors import Forbidden
from engine.models import HumanTask
from engine.services import drafts, task_access, tasks
from tests.conftest import ADMIN, DEPARTMENT_HEAD, OUTSIDER, POST_HOLDER

from .conftest import Driver

#: Not an administrator however its groups are named: only ``is_admin`` makes one.
NAMED_ADMIN = Actor("guest", frozenset({"admin", "administrators", "staff"}))
NOBODY_ELSE = (OUTSIDER, POST_HOLDER, DEPARTMENT_HEAD, NAMED_ADMIN)


def _sign_off(driver: Driver) -> tuple[int, HumanTask]:
    driver.deploy_fixture("laneless.bpmn")
    iid = driver.start("laneless")
    driver.complete_element(iid, "prepare", OUTSIDER)  # in the lane staff: staff's
    return iid, driver.task(iid, "sign_off")


def _ids(driver: Driver, actor: Actor, view: str) -> set[str]:
    return {t.element_id for t in driver.inbox(actor, view) if t.state == "open"}


def test_a_task_in_a_lane_is_its_groups_not_the_administrators(driver: Driver) -> None:
    driver.deploy_fixture("laneless.bpmn")
    iid = driver.start("laneless")
    prepare = driver.task(iid, "prepare")
    assert (prepare.lane, prepare.candidate_groups, prepare.administrators_only) == (
        "staff", ["staff"], False)
    assert _ids(driver, OUTSIDER, "claimable") == {"prepare"}
    assert _ids(driver, POST_HOLDER, "claimable") == set()
    assert _ids(driver, ADMIN, "claimable") == set()  # an administrator may, but it is not theirs


def test_a_task_without_lane_or_candidates_is_the_administrators(driver: Driver) -> None:
    iid, task = _sign_off(driver)
    assert (task.lane, task.candidate_users, task.candidate_groups) == (None, [], [])
    assert task.administrators_only is True
    created = next(e for e in driver.events(iid)
                   if e.type == "task_created" and e.task_id == task.id)
    assert created.data is not None
    assert (created.data["users"], created.data["groups"]) == ([], [])
    for actor in NOBODY_ELSE:
        for view in ("claimable", "open", "mine"):
            assert "sign_off" not in _ids(driver, actor, view), (actor.user, view)
    assert _ids(driver, ADMIN, "claimable") == {"sign_off"}
    assert _ids(driver, ADMIN, "open") == {"sign_off"}


def test_nobody_else_may_see_claim_or_complete_it(driver: Driver) -> None:
    iid, task = _sign_off(driver)
    before = driver.event_types(iid)
    for actor in NOBODY_ELSE:
        with pytest.raises(Forbidden, match=r"administrators' task.*only an administrator"):
            driver.claim(task.id, actor)
        with pytest.raises(Forbidden, match="administrators' task"):
            driver.complete(task.id, actor, {})
        with driver.rt.uow(write=False) as uow, pytest.raises(Forbidden):
            tasks.view_task(uow, task.id, actor)
        with driver.rt.uow() as uow, pytest.raises(Forbidden):
            drafts.save_draft(uow, task.id, actor, {"note": "x"})
    assert driver.event_types(iid) == before  # nothing happened
    row = driver.get_task(task.id)
    assert (row.state, row.assignee) == ("open", None)


def test_an_administrator_claims_and_completes_it(driver: Driver) -> None:
    iid, task = _sign_off(driver)
    with driver.rt.uow(write=False) as uow:
        assert tasks.view_task(uow, task.id, ADMIN).id == task.id
    assert driver.claim(task.id, ADMIN).assignee == "admin"
    assert _ids(driver, ADMIN, "mine") == {"sign_off"}
    driver.complete(task.id, ADMIN, {})
    assert driver.instance(iid).status == "completed"
    assert driver.get_task(task.id).completed_by == "admin"


def test_once_handed_to_someone_it_is_theirs(driver: Driver) -> None:
    """An administrator may delegate it (as any task): the assignee then works on it — the
    rule is about who may take an unclaimed task, not who may hold one."""
    _iid, task = _sign_off(driver)
    driver.claim(task.id, ADMIN)
    with driver.rt.uow() as uow:
        tasks.delegate_task(uow, task.id, ADMIN, OUTSIDER.user, "请代为签发")
    assert _ids(driver, OUTSIDER, "mine") == {"sign_off"}
    driver.complete(task.id, OUTSIDER, {})
    assert driver.get_task(task.id).completed_by == OUTSIDER.user


def test_python_and_sql_rules_agree(driver: Driver) -> None:
    """``is_candidate`` (a loaded task) and ``candidate_clause`` (SQL, one row) say the same."""
    from sqlalchemy import select

    _iid, task = _sign_off(driver)
    stmt = select(task_access.candidate_clause()).select_from(HumanTask).where(
        HumanTask.id == task.id)
    with driver.rt.uow(write=False) as uow:
        row = uow.session.get(HumanTask, task.id)
        assert row is not None
        for actor in (*NOBODY_ELSE, ADMIN):
            in_sql = bool(uow.session.scalar(stmt, task_access.candidate_params(actor)))
            assert in_sql is task_access.is_candidate(row, actor) is actor.is_admin, actor
            assert task_access.may_view(row, actor) is actor.is_admin


def test_the_old_actor_helper_keeps_the_rule() -> None:
    assert not OUTSIDER.may_claim([], [])
    assert ADMIN.may_claim([], [])
