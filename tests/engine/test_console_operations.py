"""The console's operations on one instance: each succeeds for an administrator with a
reason and leaves an audit entry; each refusal (not an administrator, no reason, invalid
input, wrong state) leaves the instance, its tasks and the audit exactly as they were."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.directory import OpenDirectory
from engine.errors import Forbidden, InvalidState, ValidationFailed
from engine.models import AuditEntry, InstanceStatus, InstanceVariable, ProcessInstance, TaskState
from engine.programme.directory import OrgDirectory
from engine.programme.services import organisation
from engine.services import audit, console_list, instance_admin, token_move, version_migration
from tests.conftest import ADMIN, OUTSIDER
from tests.console_versions import ADDED, deploy_version, with_added_step, without_discovery

from .conftest import DISCOVERY, REVIEW, SIMPLE_CYCLE, Driver, post_attributes

COMMISSION = type(OUTSIDER)("jiwei", frozenset({"discipline_commission"}))


def _start(d: Driver, unit: str = "CZJ", key: str = "CZJ-01") -> int:
    return d.start(SIMPLE_CYCLE, {**post_attributes(), "unit_code": unit, "year": 2011},
                   business_key=key)


def _snapshot(d: Driver, iid: int) -> tuple[Any, ...]:
    """Everything an operation could change: the row, the tasks, the variables, the audit."""
    with d.rt.uow(write=False) as uow:
        row = uow.session.get(ProcessInstance, iid)
        assert row is not None
        tasks = sorted((str(t.id), t.state, t.assignee, t.definition_id)
                       for t in d.tasks(iid, state=None))
        variables = sorted(uow.session.execute(
            select(InstanceVariable.name, InstanceVariable.value)
            .where(InstanceVariable.instance_id == iid)).all())
        audit = uow.session.scalars(select(AuditEntry.id)).all()
        return (row.revision, row.status, row.definition_id, row.state, tasks, variables,
                list(audit), len(d.events(iid)))


def _audit(d: Driver) -> list[tuple[str, str, str | None]]:
    with d.rt.uow(write=False) as uow:
        return [(e.action, e.target, e.reason)
                for e in reversed(audit.list_audit(uow).entries)]


# ------------------------------------------------------------------------- lifecycle


def test_suspend_and_resume_are_audited(post: Driver) -> None:
    iid = _start(post)
    with post.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "suspend", iid, ADMIN, "核查材料")
    assert post.instance(iid).status == InstanceStatus.SUSPENDED
    with post.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "resume", iid, ADMIN, "核查完毕")
    assert post.instance(iid).status == InstanceStatus.WAITING
    assert _audit(post) == [("suspend", f"instance:{iid}", "核查材料"),
                            ("resume", f"instance:{iid}", "核查完毕")]


@pytest.mark.parametrize(("actor", "reason", "error"), [
    (COMMISSION, "看看", Forbidden),        # the commission watches; administrators act
    (OUTSIDER, "看看", Forbidden),
    (ADMIN, "   ", ValidationFailed),       # a reason is mandatory
    (ADMIN, "x" * 501, ValidationFailed),
])
def test_refused_lifecycle_changes_nothing(post: Driver, actor: Any, reason: str,
                                           error: type[Exception]) -> None:
    iid = _start(post)
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(error):
        instance_admin.admin_lifecycle(uow, "terminate", iid, actor, reason)
    assert _snapshot(post, iid) == before


def test_resuming_a_running_instance_is_refused_without_a_trace(post: Driver) -> None:
    iid = _start(post)
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(InvalidState):
        instance_admin.admin_lifecycle(uow, "resume", iid, ADMIN, "误操作")
    assert _snapshot(post, iid) == before


def test_terminate_closes_the_tasks(post: Driver) -> None:
    iid = _start(post)
    with post.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "terminate", iid, ADMIN, "岗位撤销")
    assert post.instance(iid).status == InstanceStatus.TERMINATED
    assert post.tasks(iid) == []


# ------------------------------------------------------------------------- variables


def test_variables_change_for_the_steps_to_come(post: Driver) -> None:
    iid = _start(post)
    with post.rt.uow() as uow:
        data = instance_admin.set_variables(uow, iid, ADMIN, {"unit_code": "FGW", "year": 2012,
                                                        "note": "补录"}, "单位录错")
    assert (data["unit_code"], data["year"], data["note"]) == ("FGW", 2012, "补录")
    assert post.data(iid)["unit_code"] == "FGW"
    assert post.task(iid, "discovery").unit_code == "FGW"
    with post.rt.uow(write=False) as uow:
        page = console_list.list_console_instances(uow, console_list.InstanceQuery(unit="FGW"))
        assert [r.id for r in page.rows] == [iid]
        entry = audit.list_audit(uow).entries[0]
    assert entry.action == "set_variables" and entry.details == {
        "old": {"unit_code": "CZJ", "year": 2011, "note": None},
        "new": {"unit_code": "FGW", "year": 2012, "note": "补录"}}
    # the next step sees the new values
    post.complete_element(iid, "discovery", ADMIN, DISCOVERY)
    assert post.data(iid)["year"] == 2012


@pytest.mark.parametrize(("changes", "field"), [
    ({"year": "二〇一一"}, "year"),            # a number stays a number
    ({"unit_code": 7}, "unit_code"),
    ({"1abc": 1}, "1abc"),                     # not a variable name
    ({}, "variables"),
    ({"big": "x" * 300_000}, "variables"),
])
def test_invalid_variable_edits_change_nothing(post: Driver, changes: dict[str, Any],
                                               field: str) -> None:
    iid = _start(post)
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(ValidationFailed) as refused:
        instance_admin.set_variables(uow, iid, ADMIN, changes, "修正")
    assert field in refused.value.errors
    assert _snapshot(post, iid) == before


def test_only_administrators_edit_variables(post: Driver) -> None:
    iid = _start(post)
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(Forbidden):
        instance_admin.set_variables(uow, iid, COMMISSION, {"year": 2012}, "修正")
    assert _snapshot(post, iid) == before


# ------------------------------------------------------------------------- reassign


def test_reassign_a_task_to_any_active_login(post: Driver) -> None:
    post.rt.directory = OrgDirectory()  # the logins are the organisation's accounts
    with post.rt.uow() as uow:
        for login in ("czj-0011", "czj-0012"):
            organisation.save_account(uow, login, password_hash="x", roles={"staff"})
    accounts = ["czj-0011", "czj-0012"]
    iid = _start(post)
    task = post.task(iid, "discovery")
    with post.rt.uow() as uow:
        instance_admin.reassign_task(uow, task.id, ADMIN, accounts[0], "原岗位人员出差")
    assert post.get_task(task.id).assignee == accounts[0]
    assert post.events(iid)[-1].data == {"from": None, "to": accounts[0],
                                          "reason": "原岗位人员出差", "administrator": True}
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(ValidationFailed):
        instance_admin.reassign_task(uow, task.id, ADMIN, "nobody-here", "出差")
    with post.rt.uow() as uow, pytest.raises(Forbidden):
        instance_admin.reassign_task(uow, task.id, COMMISSION, accounts[0], "出差")
    assert _snapshot(post, iid) == before


def test_reassign_asks_the_runtimes_directory_who_may_act(post: Driver) -> None:
    """Without the programme (``OpenDirectory``) every name is an active login; with its
    directory, only an account that is not disabled."""
    assert isinstance(post.rt.directory, OpenDirectory)
    task = post.task(_start(post), "discovery")
    with post.rt.uow() as uow:
        instance_admin.reassign_task(uow, task.id, ADMIN, "anyone", "出差")
    assert post.get_task(task.id).assignee == "anyone"
    post.rt.directory = OrgDirectory()
    with post.rt.uow() as uow:
        organisation.save_account(uow, "czj-0011", password_hash="x", roles={"staff"},
                                  active=False)
    for login in ("anyone-else", "czj-0011"):
        with post.rt.uow() as uow, pytest.raises(ValidationFailed):
            instance_admin.reassign_task(uow, task.id, ADMIN, login, "出差")


# ------------------------------------------------------------------------- move token


def test_move_a_token_forward_and_back(post: Driver) -> None:
    iid = _start(post)
    discovery = post.task(iid, "discovery")
    with post.rt.uow() as uow:
        token_move.move_token(uow, iid, ADMIN, discovery.id, "review", "材料已线下提交")
    assert post.open_elements(iid) == ["review"]
    assert post.get_task(discovery.id).state == TaskState.CANCELLED
    assert post.data(iid)["unit_code"] == "CZJ"  # the data went along
    review = post.task(iid, "review")
    with post.rt.uow() as uow:
        token_move.move_token(uow, iid, ADMIN, review.id, "discovery", "退回重新查找")
    assert post.open_elements(iid) == ["discovery"]
    post.complete_element(iid, "discovery", ADMIN, DISCOVERY)
    assert post.open_elements(iid) == ["review"]
    post.complete_element(iid, "review", ADMIN, REVIEW)
    assert post.instance(iid).status == InstanceStatus.WAITING  # the publicity timer
    assert [a for a, _t, _r in _audit(post)] == ["move_token", "move_token"]


@pytest.mark.parametrize("target", ["control_join", "publicity", "nowhere", "discovery"])
def test_move_to_an_invalid_target_changes_nothing(post: Driver, target: str) -> None:
    iid = _start(post)
    before = _snapshot(post, iid)
    task = post.task(iid, "discovery")
    with post.rt.uow() as uow, pytest.raises(ValidationFailed, match="not an activity"):
        token_move.move_token(uow, iid, ADMIN, task.id, target, "试试")
    assert _snapshot(post, iid) == before


def test_move_refused_for_non_admin_and_suspended(post: Driver) -> None:
    iid = _start(post)
    task = post.task(iid, "discovery")
    with post.rt.uow() as uow, pytest.raises(Forbidden):
        token_move.move_token(uow, iid, COMMISSION, task.id, "review", "试试")
    with post.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "suspend", iid, ADMIN, "暂停")
    before = _snapshot(post, iid)
    with post.rt.uow() as uow, pytest.raises(InvalidState):
        token_move.move_token(uow, iid, ADMIN, task.id, "review", "试试")
    assert _snapshot(post, iid) == before


# ------------------------------------------------------------------------- migration


def test_migrate_to_a_version_with_an_added_step(post: Driver) -> None:
    iid = _start(post)
    post.complete_element(iid, "discovery", ADMIN, DISCOVERY)
    v2 = deploy_version(post.rt, with_added_step())
    with post.rt.uow(write=False) as uow:
        check = version_migration.check_migration(uow, iid, v2.version)
    assert check.safe and (check.from_version, check.to_version) == (1, 2)
    with post.rt.uow() as uow:
        version_migration.migrate_instance(uow, iid, ADMIN, v2.version, "新增复核环节")
    assert post.instance(iid).definition_id == v2.definition_id
    assert post.task(iid, "review").definition_id == v2.definition_id
    post.complete_element(iid, "review", ADMIN, REVIEW)
    assert post.open_elements(iid) == [ADDED]  # the new step is taken
    assert _audit(post)[-1] == ("migrate", f"instance:{iid}", "新增复核环节")


def test_unsafe_migration_says_why_and_changes_nothing(post: Driver) -> None:
    iid = _start(post)
    deploy_version(post.rt, without_discovery())
    before = _snapshot(post, iid)
    with post.rt.uow(write=False) as uow:
        check = version_migration.check_migration(uow, iid, 2)
    assert not check.safe
    assert any("'discovery' does not exist in version 2" in p for p in check.problems)
    with post.rt.uow() as uow, pytest.raises(version_migration.MigrationRefused) as refused:
        version_migration.migrate_instance(uow, iid, ADMIN, 2, "升级")
    assert refused.value.problems == check.problems
    assert _snapshot(post, iid) == before
    with post.rt.uow() as uow, pytest.raises(Forbidden):
        version_migration.migrate_instance(uow, iid, COMMISSION, 2, "升级")
    with post.rt.uow(write=False) as uow:
        same = version_migration.check_migration(uow, iid, 1)
    assert same.problems == ["version 1 is not newer than the instance's version 1"]
