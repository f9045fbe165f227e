"""The risk register (信息档案): a post's level, the reviewer's change of a level,
history, bad input, publication and the publicity page.

The organisation (imported from CSV like tests/engine/programme/test_organisation.py):
发展和改革委员会
with a leadership department and 投资处, one post per level by rule — 主任 (单位领导班子正职岗位,
level 1), 项目审批岗 (行政审批权, level 1), 统计岗 (公共服务, level 2), 档案岗 (level 3) — and
财政局, whose official may not own a measure of 发改委's risks.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from functools import cache
from textwrap import dedent
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from engine.actors import Actor
from engine.errors import NotFound, ValidationFailed
from engine.passwords import hash_password
from engine.programme.models import ControlMeasure, PostGrading, RegisterChange, RiskPoint
from engine.programme.services import (
    org_import,
    organisation,
    register_grading,
    register_measures,
    register_pages,
    register_risk_points,
)
from engine.runtime import Runtime
from engine.services import clock, instances
from engine.settings import Settings
from tests.conftest import deploy_text
from tests.databases import Template, TestDatabases, world

from .conftest import T0

ORG_CSV = {
    "units.csv": """\
        code,name,principal_code,discipline_officer_code
        fgw,发展和改革委员会,o01,o04
        czj,财政局,o10,
        """,
    "officials.csv": """\
        code,name,unit_code
        o01,王建国,fgw
        o02,李明,fgw
        o03,张伟,fgw
        o04,刘芳,fgw
        o05,陈静,fgw
        o06,杨洋,fgw
        o10,孙丽,czj
        """,
    "departments.csv": """\
        code,unit_code,name,head_code,deputy_in_charge_code
        fgw-ld,fgw,委领导班子,o01,o03
        fgw-tzc,fgw,投资处,o02,o03
        czj-ysk,czj,预算科,o10,o10
        """,
    "posts.csv": """\
        code,department_code,name,holder_code,principal_post,approval_power,public_service
        fgw-zr,fgw-ld,主任,o01,是,否,否
        fgw-tzc-sp,fgw-tzc,项目审批岗,o06,否,是,否
        fgw-tzc-tj,fgw-tzc,统计岗,o05,否,否,是
        fgw-tzc-da,fgw-tzc,档案岗,,否,否,否
        """,
}
FGW_POSTS = ("fgw-tzc-da", "fgw-tzc-sp", "fgw-tzc-tj", "fgw-zr")
ACCOUNTS = {"wangjianguo": "o01", "liming": "o02", "zhangwei": "o03", "liufang": "o04",
            "chenjing": "o05"}

HOLDER = Actor("chenjing", frozenset({"staff"}))
HEAD = Actor("liming", frozenset({"department_head"}))
REVIEWER = Actor("liufang", frozenset({"discipline_commission"}))
YEAR = 2011
REASON = "群众反映该岗位实际承担项目资金拨付审核,风险高于岗位职责所列"

CRIME = {"category": "duty", "description": "利用项目审批收受好处", "found_by": "leader_pointed",
         "likelihood": "low", "harm": "crime"}
MINOR = {"category": "process", "description": "档案借阅登记不全", "found_by": "self_identified",
         "likelihood": "low", "harm": "minor"}
DISCIPLINARY = {"category": "institutional", "description": "统计数据报送缺少复核制度",
                "found_by": "peer_checked", "likelihood": "fairly_high", "harm": "minor"}
MEASURE = {"kind": "prevention", "description": "细化审批自由裁量标准并公开办事流程",
           "owner": "o02", "due_date": "2011-03-31"}


@cache
def shared_hash() -> str:
    return hash_password("demo-password-2011")


def seed_org(settings: Settings) -> None:
    rt = Runtime(settings)
    with rt.uow() as uow:
        org_import.import_csv(uow, {name: dedent(body).encode() for name, body in ORG_CSV.items()})
    with rt.uow() as uow:
        clock.set_clock(uow, T0)
    for username, official in ACCOUNTS.items():
        with rt.uow() as uow:
            organisation.save_account(uow, username, password_hash=shared_hash(),
                                  official_code=official)
    rt.close()


@world
def register_org_world(test_databases: TestDatabases, migrated_template: Template) -> Template:
    """This module's organisation and logins, imported once for its tests."""
    return test_databases.build("register_org", seed_org, migrated_template)


@pytest.fixture
def org(rt: Runtime, register_org_world: Template) -> Runtime:
    return rt


def call(rt: Runtime, service: Any, *args: Any, **kwargs: Any) -> Any:
    """One service call in its own unit of work, as web/ and the CLI make them."""
    with rt.uow() as uow:
        return service(uow, *args, **kwargs)


def read(rt: Runtime, service: Any, *args: Any, **kwargs: Any) -> Any:
    with rt.uow(write=False) as uow:
        return service(uow, *args, **kwargs)


def add(rt: Runtime, post: str, *points: dict[str, Any], actor: Actor = HOLDER,
        **kwargs: Any) -> list[RiskPoint]:
    return call(rt, register_risk_points.add_risk_points, {"post": post}, YEAR, list(points), actor,
                **kwargs)


def advance(rt: Runtime, minutes: int = 1) -> None:
    call(rt, clock.advance_clock, timedelta(minutes=minutes))


def counts(rt: Runtime) -> dict[str, int]:
    with rt.uow(write=False) as uow:
        return {m.__tablename__: uow.session.scalar(select(func.count()).select_from(m)) or 0
                for m in (RiskPoint, ControlMeasure, PostGrading, RegisterChange)}


def refused(rt: Runtime, service: Any, *args: Any) -> ValidationFailed:
    """Call a write that must be refused; check it changed no row of the register."""
    before = counts(rt)
    with pytest.raises(ValidationFailed) as caught:
        call(rt, service, *args)
    assert counts(rt) == before
    return caught.value


def changes(rt: Runtime, post: str) -> list[tuple[str, str, str | None, str | None, str]]:
    return [(c.entity, c.field, c.old_value, c.new_value, c.changed_by)
            for c in read(rt, register_pages.post_history, post)]


# ------------------------------------------------------------------------------ grading


def test_a_posts_level_is_the_highest_of_its_rule_and_its_risk_points(org: Runtime) -> None:
    """档案岗 is level 3 by rule; a risk that could be a crime makes it level 1 — and the
    principal responsible, the deputy in charge managing directly."""
    add(org, "fgw-tzc-da", MINOR)
    grading = call(org, register_grading.grade_post, "fgw-tzc-da", YEAR, HEAD)
    assert (grading.rule_level, grading.risk_level, grading.level) == (3, 3, 3)
    assert (grading.responsible_role, grading.direct_manager_role) == \
        ("department_head", "department_head")

    add(org, "fgw-tzc-da", CRIME)  # an existing grading follows its risk points
    register = read(org, register_pages.post_register, "fgw-tzc-da", YEAR)
    assert register.grading is not None
    assert (register.grading.rule_level, register.grading.risk_level,
            register.grading.level, register.grading.effective_level) == (3, 1, 1, 1)
    assert (register.grading.responsible_role, register.grading.direct_manager_role) == \
        ("principal", "deputy_in_charge")


def test_a_risk_point_never_lowers_the_rule_level(org: Runtime) -> None:
    add(org, "fgw-tzc-sp", MINOR)
    grading = call(org, register_grading.grade_post, "fgw-tzc-sp", YEAR, HEAD)
    assert (grading.rule_level, grading.risk_level, grading.level) == (1, 3, 1)
    grading = call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)  # no risk points
    assert (grading.rule_level, grading.risk_level, grading.level) == (2, None, 2)
    assert (grading.responsible_role, grading.direct_manager_role) == \
        ("deputy_in_charge", "department_head")


def test_grading_marks_the_risk_points_graded_and_is_idempotent(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-tj", DISCIPLINARY)
    assert point.status == "identified" and point.level == 2
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    before = counts(org)
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    assert counts(org) == before  # nothing changed, nothing recorded
    [point] = read(org, register_pages.post_register, "fgw-tzc-tj").risk_points
    assert point.status == "graded"


def test_changing_likelihood_regrades_the_post(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-tj", DISCIPLINARY)
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    point = call(org, register_risk_points.update_risk_point, point.id, {"likelihood": "high"},
                 HEAD)
    assert point.level == 1
    grading = read(org, register_pages.post_register, "fgw-tzc-tj").grading
    assert (grading.risk_level, grading.level, grading.responsible_role) == (1, 1, "principal")


# ----------------------------------------------------------------- the reviewer's change


@pytest.mark.parametrize("reason", [None, "", "          ", "理由太短不够十字"],
                         ids=["none", "empty", "blank", "nine characters"])
def test_changing_a_level_without_a_written_reason_is_refused(org: Runtime,
                                                              reason: Any) -> None:
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    error = refused(org, register_grading.override_level, "fgw-tzc-tj", YEAR, 1, reason, REVIEWER)
    assert list(error.errors) == ["reason"]
    assert "written reason of at least 10 characters" in error.message
    grading = read(org, register_pages.post_register, "fgw-tzc-tj").grading
    assert (grading.override_level, grading.effective_level) == (None, 2)


def test_a_level_changed_with_a_reason_is_logged_with_it(org: Runtime) -> None:
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    advance(org)
    grading = call(org, register_grading.override_level, "fgw-tzc-tj", YEAR, 1, f"  {REASON} ",
                   REVIEWER)
    assert (grading.level, grading.override_level, grading.effective_level) == (2, 1, 1)
    assert (grading.override_reason, grading.overridden_by) == (REASON, "liufang")
    assert (grading.responsible_role, grading.direct_manager_role) == \
        ("principal", "deputy_in_charge")
    history = read(org, register_pages.post_history, "fgw-tzc-tj")
    logged = [(c.field, c.old_value, c.new_value) for c in history if c.reason == REASON]
    assert logged == [("direct_manager_role", "department_head", "deputy_in_charge"),
                      ("responsible_role", "deputy_in_charge", "principal"),
                      ("overridden_by", None, "liufang"),
                      ("override_reason", None, REASON),
                      ("override_level", None, "1")]
    assert {(c.changed_by, c.changed_at) for c in history if c.reason == REASON} == \
        {("liufang", T0 + timedelta(minutes=1))}


def test_a_level_change_needs_a_grading_and_a_known_level(org: Runtime) -> None:
    with pytest.raises(NotFound, match="no grading for 2011"):
        call(org, register_grading.override_level, "fgw-tzc-tj", YEAR, 1, REASON, REVIEWER)
    call(org, register_grading.grade_post, "fgw-tzc-tj", YEAR, HEAD)
    assert list(refused(org, register_grading.override_level, "fgw-tzc-tj", YEAR, 4, REASON,
                        REVIEWER).errors) == ["level"]
    assert list(refused(org, register_grading.override_level, "nope", YEAR, 1, REASON,
                        REVIEWER).errors) == ["post"]


# ------------------------------------------------------------------------------ history


def test_creation_records_one_change_per_field(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-sp", CRIME)
    assert sorted(changes(org, "fgw-tzc-sp")) == sorted(
        ("risk_point", field, None, value, "chenjing") for field, value in (
            ("post", "fgw-tzc-sp"), ("year", "2011"), ("category", "duty"),
            ("description", "利用项目审批收受好处"), ("found_by", "leader_pointed"),
            ("likelihood", "low"), ("harm", "crime"), ("level", "1"),
            ("status", "identified")))
    assert {c.entity_id for c in read(org, register_pages.post_history, "fgw-tzc-sp")} == {point.id}


def test_history_shows_old_and_new_values_and_who_newest_first(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-tj", DISCIPLINARY)
    advance(org)
    call(org, register_risk_points.update_risk_point, point.id,
         {"description": "统计数据报送缺少复核", "likelihood": "low"}, HEAD,
         reason="核实后几率较小")
    advance(org)
    measure = call(org, register_measures.add_measure, point.id, MEASURE, HEAD)
    advance(org)
    call(org, register_measures.update_measure, measure.id, {"status": "done"}, HOLDER)

    history = read(org, register_pages.post_history, "fgw-tzc-tj")
    assert [c.changed_at for c in history] == sorted((c.changed_at for c in history),
                                                     reverse=True)
    done_at = (T0 + timedelta(minutes=3)).astimezone(UTC).isoformat()
    assert [(c.entity, c.field, c.old_value, c.new_value, c.changed_by, c.reason)
            for c in history[:2]] == [
        ("control_measure", "done_at", None, done_at, "chenjing", None),
        ("control_measure", "status", "planned", "done", "chenjing", None)]
    assert [(c.entity, c.field, c.old_value, c.new_value) for c in history[2:8]] == [
        ("control_measure", field, None, value) for field, value in (
            ("status", "planned"), ("due_date", "2011-03-31"), ("owner", "o02"),
            ("description", MEASURE["description"]), ("kind", "prevention"),
            ("risk_point", str(point.id)))]
    assert [(c.field, c.old_value, c.new_value, c.changed_by, c.reason)
            for c in history[8:11]] == [
        ("level", "2", "3", "liming", "核实后几率较小"),
        ("likelihood", "fairly_high", "low", "liming", "核实后几率较小"),
        ("description", DISCIPLINARY["description"], "统计数据报送缺少复核", "liming",
         "核实后几率较小")]
    assert {c.changed_by for c in history[11:]} == {"chenjing"}  # the creation
    assert history[-1].field == "post"


def test_history_is_append_only(org: Runtime) -> None:
    add(org, "fgw-tzc-da", MINOR)
    for statement in ("UPDATE register_change SET new_value = 'x'", "DELETE FROM register_change"):
        with pytest.raises(DBAPIError, match="append-only"), org.db.begin() as conn:
            conn.execute(text(statement))
    assert counts(org)["register_change"] == 9


# ---------------------------------------------------------------------------- bad input

GOOD = dict(MINOR)


@pytest.mark.parametrize(("tier", "points", "fields"), [
    pytest.param({"post": "fgw-tzc-da"}, [GOOD | {"category": "moral"}],
                 ["points.0.category"], id="unknown category"),
    pytest.param({"post": "fgw-tzc-da"}, [GOOD, GOOD | {"description": ""}],
                 ["points.1.description"], id="description empty (second of two)"),
    pytest.param({"post": "fgw-tzc-da"}, [GOOD | {"description": "  \n "}],
                 ["points.0.description"], id="description blank"),
    pytest.param({"post": "fgw-tzc-da"}, [GOOD | {"found_by": "rumour", "harm": "fatal"}],
                 ["points.0.found_by", "points.0.harm"], id="unknown method and harm"),
    pytest.param({"post": "fgw-tzc-da"}, [{k: v for k, v in GOOD.items() if k != "likelihood"}],
                 ["points.0.likelihood"], id="likelihood missing"),
    pytest.param({"post": "fgw-tzc-da"}, [GOOD | {"level": 1}], ["points.0.level"],
                 id="an unknown key"),
    pytest.param({"post": "fgw-tzc-da"}, [], ["points"], id="no points"),
    pytest.param({"post": "no-such-post"}, [GOOD], ["post"], id="unknown post"),
    pytest.param({"department": "no-such-dept"}, [GOOD], ["department"],
                 id="unknown department"),
    pytest.param({"unit": "fgw", "post": "fgw-tzc-da"}, [GOOD], ["unit", "post"],
                 id="two tiers at once"),
    pytest.param({}, [GOOD], ["tier"], id="no tier"),
    pytest.param({"post": "a post"}, [GOOD], ["post"], id="not a code"),
])
def test_bad_risk_points_are_refused_naming_the_field(org: Runtime, tier: dict[str, str],
                                                      points: list[Any],
                                                      fields: list[str]) -> None:
    add(org, "fgw-tzc-da", GOOD)
    error = refused(org, register_risk_points.add_risk_points, tier, YEAR, points, HOLDER)
    assert sorted(error.errors) == sorted(fields)


def test_bad_year_and_source_instance_are_refused(org: Runtime) -> None:
    assert list(refused(org, register_risk_points.add_risk_points, {"post": "fgw-tzc-da"}, 201,
                        [GOOD], HOLDER).errors) == ["year"]
    assert list(refused(org, register_risk_points.add_risk_points, {"post": "fgw-tzc-da"}, YEAR,
                        [GOOD], HOLDER, 999).errors) == ["source_instance"]


@pytest.mark.parametrize(("measure", "fields"), [
    pytest.param(MEASURE | {"kind": "punishment"}, ["kind"], id="unknown kind"),
    pytest.param(MEASURE | {"owner": "o99"}, ["owner"], id="unknown owner"),
    pytest.param(MEASURE | {"owner": "o10"}, ["owner"], id="owner of another unit"),
    pytest.param(MEASURE | {"due_date": "31/03/2011"}, ["due_date"], id="not a date"),
    pytest.param(MEASURE | {"description": " "}, ["description"], id="blank description"),
    pytest.param(MEASURE | {"status": "finished"}, ["status"], id="unknown status"),
])
def test_bad_measures_are_refused_naming_the_field(org: Runtime, measure: dict[str, Any],
                                                   fields: list[str]) -> None:
    [point] = add(org, "fgw-tzc-sp", CRIME)
    refusal = refused(org, register_measures.add_measure, point.id, measure, HEAD)
    assert sorted(refusal.errors) == fields


def test_unknown_rows_are_not_found(org: Runtime) -> None:
    with pytest.raises(NotFound):
        call(org, register_risk_points.update_risk_point, 404, {"likelihood": "high"}, HEAD)
    with pytest.raises(NotFound):
        call(org, register_measures.update_measure, 404, {"status": "done"}, HEAD)
    with pytest.raises(NotFound):
        read(org, register_pages.post_register, "no-such-post")


# ----------------------------------------------------------------- tiers, measures, pages


def test_risk_points_at_the_three_tiers(org: Runtime) -> None:
    """"从单位、内设机构、岗位'三个层次'": each point belongs to exactly one tier."""
    deploy_text(org, "one_task.bpmn", ONE_TASK_BPMN)
    instance = call(org, instances.start_instance, "one_task", "fgw-2011")
    unit_point = call(org, register_risk_points.add_risk_points, {"unit": "fgw"}, YEAR,
                      [CRIME | {"description": "重大项目安排未经集体研究"}], REVIEWER)[0]
    department_point = call(org, register_risk_points.add_risk_points, {"department": "fgw-tzc"},
                            YEAR, [MINOR], HEAD, instance.id)[0]
    post_point = add(org, "fgw-tzc-sp", CRIME)[0]
    assert [p.tier for p in (unit_point, department_point, post_point)] == \
        ["unit", "department", "post"]
    assert department_point.source_instance_id == instance.id
    with pytest.raises(DBAPIError, match="one_tier"), org.db.begin() as conn:
        conn.execute(text("UPDATE risk_point SET unit_id = (SELECT id FROM unit WHERE code = "
                          "'fgw') WHERE post_id IS NOT NULL"))


def test_a_measure_done_gets_its_time_and_loses_it_when_reopened(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-sp", CRIME)
    measure = call(org, register_measures.add_measure, point.id, MEASURE | {"status": "done"}, HEAD)
    assert measure.done_at == T0
    measure = call(org, register_measures.update_measure, measure.id,
                   {"status": "in_progress", "owner": "o03", "due_date": date(2011, 6, 30)},
                   HEAD, reason="整改未到位,重新启动")
    assert (measure.status, measure.done_at, measure.due_date) == \
        ("in_progress", None, date(2011, 6, 30))
    assert measure.owner.code == "o03"
    assert changes(org, "fgw-tzc-sp")[:4] == [
        ("control_measure", "done_at", T0.astimezone(UTC).isoformat(), None, "liming"),
        ("control_measure", "status", "done", "in_progress", "liming"),
        ("control_measure", "due_date", "2011-03-31", "2011-06-30", "liming"),
        ("control_measure", "owner", "o02", "o03", "liming")]


def test_the_register_page_of_a_post(org: Runtime) -> None:
    [point] = add(org, "fgw-tzc-sp", CRIME)
    call(org, register_measures.add_measure, point.id, MEASURE, HEAD)
    call(org, register_grading.grade_post, "fgw-tzc-sp", YEAR, HEAD)
    call(org, register_risk_points.add_risk_points, {"post": "fgw-tzc-sp"}, YEAR + 1, [MINOR],
         HOLDER)

    register = read(org, register_pages.post_register, "fgw-tzc-sp")  # the latest year
    assert (register.year, register.grading, len(register.risk_points)) == (2012, None, 1)
    register = read(org, register_pages.post_register, "fgw-tzc-sp", YEAR)
    assert register.post.department.unit.name == "发展和改革委员会"
    assert {k for k, v in register.attributes.items() if v} == {"approval_power"}
    assert register.rule_level == 1 and register.grading.level == 1
    [shown] = register.risk_points
    assert [(m.kind, m.owner.name, m.status) for m in shown.measures] == \
        [("prevention", "李明", "planned")]
    assert (register.leaders.principal, register.leaders.deputy_in_charge) == \
        ("wangjianguo", "zhangwei")
    empty = read(org, register_pages.post_register, "fgw-tzc-da")
    assert (empty.year, empty.grading, empty.risk_points, empty.rule_level) == (None, None, [], 3)


def test_publication_and_the_publicity_page(org: Runtime) -> None:
    add(org, "fgw-tzc-da", CRIME)
    unit_point = call(org, register_risk_points.add_risk_points, {"unit": "fgw"}, YEAR, [MINOR],
                      REVIEWER)[0]
    for post in FGW_POSTS[:3]:
        call(org, register_grading.grade_post, post, YEAR, HEAD)
    error = refused(org, register_grading.publish, "fgw", YEAR, REVIEWER)
    assert error.errors == {"unit": ["1 post(s) of unit fgw have no grading for 2011: fgw-zr"]}
    assert read(org, register_pages.unit_publicity, "fgw", YEAR) == []

    call(org, register_grading.grade_post, "fgw-zr", YEAR, HEAD)
    # 档案岗: level 3 by rule, level 1 by its crime-harm risk point; the reviewer lowers it
    # to its floor (a level below the rule's is refused: test_level_floors.py)
    call(org, register_grading.override_level, "fgw-tzc-da", YEAR, 3, REASON, REVIEWER)
    advance(org, 60)
    published = call(org, register_grading.publish, "fgw", YEAR, REVIEWER)
    assert {g.published_at for g in published} == {T0 + timedelta(hours=1)}
    page = read(org, register_pages.unit_publicity, "fgw", YEAR)
    assert [(e.post_code, e.level, e.responsible_role, e.responsible, e.responsible_name,
             e.direct_manager, e.direct_manager_name) for e in page] == [
        ("fgw-zr", 1, "principal", "wangjianguo", "王建国", "zhangwei", "张伟"),
        # 档案岗: set to 3, its floor, by the reviewer
        ("fgw-tzc-da", 3, "department_head", "liming", "李明", "liming", "李明"),
        ("fgw-tzc-sp", 1, "principal", "wangjianguo", "王建国", "zhangwei", "张伟"),
        # 统计岗: level 2 by rule
        ("fgw-tzc-tj", 2, "deputy_in_charge", "zhangwei", "张伟", "liming", "李明"),
    ]
    assert page[0].department_name == "委领导班子" and page[1].post_name == "档案岗"
    points = read(org, register_pages.post_register, "fgw-tzc-da").risk_points
    assert [p.status for p in points] == ["published"]
    assert ("risk_point", unit_point.id, "status", "identified", "published") in [
        (c.entity, c.entity_id, c.field, c.old_value, c.new_value)
        for c in read(org, _all_changes)]
    before = counts(org)
    call(org, register_grading.publish, "fgw", YEAR, REVIEWER)  # again: nothing new to publish
    assert counts(org) == before
    assert read(org, register_pages.unit_publicity, "czj", YEAR) == []


def _all_changes(uow: Any) -> list[RegisterChange]:
    return list(uow.session.scalars(select(RegisterChange).order_by(RegisterChange.id)))


ONE_TASK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="definitions_one_task" targetNamespace="urn:irpm:test">
  <bpmn:process id="one_task" name="查找风险" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="discover" name="查找廉政风险">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="discover" />
    <bpmn:sequenceFlow id="f2" sourceRef="discover" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
