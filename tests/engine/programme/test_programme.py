"""engine/programme/ (composition, operators) and the programme's process models above the
post: the runtime, the operators on their own, a unit's cycle end to end (unit, department
and post tiers, one post per level) and the city's campaign (unit and post cycles as child
instances, the milestone checkpoints on the source's timetable).

Source: "从单位、内设机构、岗位'三个层次',认真查找……风险" — "2010年底前启动廉政风险防范管理工作;
2011年6月,在全市所有部门和单位推开;2011年底,初步形成……工作网络……;2012年底,形成比较完善的
廉政风险防范管理长效机制".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select

from engine.errors import ValidationFailed
from engine.models import InstanceStatus
from engine.operators import OperatorCall
from engine.programme import (
    composition,
    disposal_operators,
    institution_operators,
    milestone_operators,
    operators,
)
from engine.programme.models import ControlMeasure, Official, RiskPoint
from engine.programme.routing import org_resolver
from engine.programme.services import organisation, register_pages, register_risk_points
from engine.runtime import Runtime
from engine.settings import Settings

from .conftest import T0
from .programme_org import (
    ACCOUNTS,
    CHAINS,
    CITY_COMMISSION,
    FGW_HEAD,
    FGW_OFFICER,
    FGW_PRINCIPAL,
    YEAR,
    City,
    Recorder,
    expected_routes,
    risk,
    run_post_cycle,
)

CST = timezone(timedelta(hours=8))
UNIT_RISK = risk("重大项目安排未经领导班子集体研究", "fairly_high", "disciplinary", "institutional")


def call(city: City, operator: str, element: str = "task", instance: int | None = None,
         **params: Any) -> Any:
    """Run one operator as a service task of ``instance`` would, in a unit of work of its
    own, on behalf of the discipline officer."""
    if instance is None:
        instance = city.start("campaign", {"year": YEAR, "units": []})
    with city.rt.uow() as uow:
        result = city.rt.operators[operator](OperatorCall(
            uow, instance, "test", None, element, {}, params, city.now(), "liufang"))
        uow.commit()
        return result


# ------------------------------------------------------------------------------ runtime


def test_programme_runtime_routes_through_the_organisation(settings: Settings) -> None:
    rt = composition.programme_runtime(settings)
    try:
        assert rt.resolver is org_resolver
        assert sorted(rt.operators) == sorted({**operators.OPERATORS,
                                                **milestone_operators.OPERATORS,
                                                **disposal_operators.OPERATORS,
                                                **institution_operators.OPERATORS})
        plain = composition.install(Runtime(settings))
        assert sorted(plain.operators) == sorted(rt.operators)
        plain.close()
    finally:
        rt.close()


def test_org_operators_give_the_units_posts_and_departments(city: City) -> None:
    posts = call(city, "org.unit_posts", unit_code="fgw")
    assert [p["post_code"] for p in posts] == ["fgw-tzc-da", "fgw-tzc-sp", "fgw-tzc-tj"]
    assert posts[1] == {
        "post_code": "fgw-tzc-sp", "post_name": "项目审批岗", "department_code": "fgw-tzc",
        "unit_code": "fgw", "principal_post": False, "approval_power": True,
        "enforcement_power": False, "key_resources": False, "livelihood": False,
        "general_economic": False, "social_affairs": False, "public_service": False,
        "business_key": "fgw-tzc-sp"}
    assert call(city, "org.unit_departments", unit_code="czj") == [
        {"department_code": "czj-ysk", "department_name": "预算科", "unit_code": "czj"}]


@pytest.mark.parametrize(("operator", "params", "message"), [
    ("register.record_risks", {"code": "fgw", "year": YEAR, "risks": [], "found_by": "x",
                               "tier": "city"}, "parameter 'tier' must be one of"),
    ("register.record_risks", {"code": "fgw-tzc-sp", "year": "2011", "risks": [],
                               "found_by": "peer_checked"}, "parameter 'year' must be a whole"),
    ("register.record_risks", {"code": "fgw-tzc-sp", "year": YEAR, "risks": "none",
                               "found_by": "peer_checked"}, "parameter 'risks' must be a list"),
    ("register.grade_post", {"year": YEAR}, "parameter 'post_code' must be non-empty text"),
    ("register.add_measures", {"post_code": "fgw-tzc-sp", "year": YEAR, "owner_role": "mayor",
                               "measures": []}, "parameter 'owner_role' must be one of"),
    ("register.archive", {"post_code": "fgw-tzc-sp", "year": YEAR}, "has no grading for 2011"),
])
def test_operators_name_the_task_and_the_bad_parameter(city: City, operator: str,
                                                       params: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        call(city, operator, "record_x", **params)
    if "parameter" in message:
        assert "service task 'record_x'" in str(caught.value)


def test_operators_write_the_register_as_the_acting_user(city: City) -> None:
    ids = call(city, "register.record_risks", tier="department", code="fgw-tzc", year=YEAR,
               risks=[{**UNIT_RISK, "found_by": "financial_audit"}, UNIT_RISK],
               found_by="leader_pointed")
    with city.rt.uow(write=False) as uow:
        rows = [(r.department.code, r.found_by, r.level, r.created_by, r.source_instance_id)
                for r in (uow.session.get(RiskPoint, i) for i in ids) if r and r.department]
    assert rows == [
        ("fgw-tzc", "financial_audit", 2, "liufang", 1),
        ("fgw-tzc", "leader_pointed", 2, "liufang", 1)]
    assert call(city, "register.record_risks", code="fgw-tzc-da", year=YEAR, risks=[],
                found_by="peer_checked") == []


def test_a_measures_owner_is_the_named_leader_read_alone(city: City) -> None:
    """Each ``owner_role`` names its own leader of the post, and only that leader is read:
    naming the principal loads no holder, head or deputy (one ``official`` row by id; the
    register then finds the owner by code, as for any caller)."""
    instance = city.start("campaign", {"year": YEAR, "units": []})
    call(city, "register.record_risks", instance=instance, code="fgw-tzc-sp", year=YEAR,
         risks=[UNIT_RISK], found_by="peer_checked")
    with city.rt.uow(write=False) as uow:
        post = organisation.get_post(uow, "fgw-tzc-sp")
        department, unit = post.department, post.department.unit
        expected = {"post_holder": post.holder, "department_head": department.head,
                    "deputy_in_charge": department.deputy_in_charge,
                    "principal": unit.principal, "discipline_officer": unit.discipline_officer}
        expected_codes = {role: o.code for role, o in expected.items() if o is not None}
    assert sorted(expected_codes) == sorted(operators.OWNER_ROLES)
    assert len(set(expected_codes.values())) >= 4  # the roles name different people here
    official_reads: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "FROM official" in sql and "WHERE official.id =" in sql:  # a leader's lazy load
            official_reads.append(sql)

    for role, code in expected_codes.items():
        official_reads.clear()
        event.listen(city.rt.db, "before_cursor_execute", statement)
        try:
            ids = call(city, "register.add_measures", instance=instance, post_code="fgw-tzc-sp",
                       year=YEAR, owner_role=role,
                       measures=[{"description": f"{role} 落实", "due_in_days": 10}])
        finally:
            event.remove(city.rt.db, "before_cursor_execute", statement)
        with city.rt.uow(write=False) as uow:
            owners = uow.session.scalars(select(Official.code).join(
                ControlMeasure, ControlMeasure.owner_id == Official.id).where(
                ControlMeasure.id.in_(ids))).all()
        assert ids and set(owners) == {code}, role
        assert len(official_reads) == 1, (role, official_reads)


def test_a_failing_operator_leaves_none_of_its_writes(city: City) -> None:
    """Operators run in a savepoint: the engine records the error, never half a step."""
    def writes_then_fails(call_: OperatorCall) -> None:
        officer = organisation.actor_for(call_.uow, "liufang")
        register_risk_points.record_risk_points(
            call_.uow, {"post": "fgw-tzc-sp"}, YEAR,
            [{**UNIT_RISK, "found_by": "self_identified"}], officer)
        raise ValidationFailed("and then something was wrong")

    with city.rt.uow() as uow:
        guarded = composition._guarded(writes_then_fails)
        with pytest.raises(ValidationFailed):
            guarded(OperatorCall(uow, 0, "test", None, "x", {}, {}, city.now()))
        assert uow.session.scalars(select(RiskPoint)).all() == []
        uow.commit()
    assert city.count(RiskPoint) == 0


# ------------------------------------------------------------------------------ unit


def test_a_units_cycle_covers_the_three_tiers_and_routes_every_task(city: City) -> None:
    uid = city.start("unit_cycle", {"unit_code": "fgw", "year": YEAR},
                     business_key="unit_cycle:fgw:2011")
    posts = {p.business_key: p for p in city.children(uid)}
    assert sorted(posts) == sorted(CHAINS)
    assert all(p.process_id == "post_cycle" and p.status == InstanceStatus.WAITING
               for p in posts.values())

    # The unit's and each department's own discovery, in parallel with the posts.
    unit = Recorder(city)
    departments = {t.candidate_groups[0]: t for t in city.open_task_rows(
        uid, "department_discovery [child]")}
    assert sorted(departments) == ["department_head:fgw-ld", "department_head:fgw-tzc"]
    assert city.who_can_take(departments["department_head:fgw-ld"]) == [FGW_PRINCIPAL]
    assert city.who_can_take(departments["department_head:fgw-tzc"]) == [FGW_HEAD]
    unit.do(uid, "unit_discovery", FGW_PRINCIPAL, {"risks": [UNIT_RISK]})
    city.complete(departments["department_head:fgw-tzc"].id, city.actor(FGW_HEAD), {"risks": [
        risk("项目评审时限没有明确规定", "fairly_high", category="institutional")]})
    city.complete(departments["department_head:fgw-ld"].id, city.actor(FGW_PRINCIPAL), {
        "risks": [risk("干部选拔任用程序执行不严", harm="disciplinary", category="process")]})
    assert unit.routes == {"unit_discovery": {FGW_PRINCIPAL}}

    # Each post's cycle, each task to the person its level says.
    for post in sorted(CHAINS):
        routes = run_post_cycle(city, posts[post].id, post)
        assert {k: sorted(v) for k, v in routes.items()} == {
            k: sorted(v) for k, v in expected_routes(post).items()}
        assert city.instance(posts[post].id).status == InstanceStatus.COMPLETED

    assessment = city.task(uid, "unit_assessment")
    assert city.who_can_take(assessment) == [FGW_OFFICER]
    unit.do(uid, "unit_assessment", FGW_OFFICER, {
        "score_information_monitoring": 95, "score_self_check": 90,
        "score_superior_inspection": 92, "score_social_evaluation": 88,
        "shortfalls": ["三重一大事项会议记录不全"]})
    [correction] = city.open_task_rows(uid, "unit_correction [child]")
    assert city.who_can_take(correction) == [FGW_PRINCIPAL]
    unit.do(uid, "unit_correction [child]", FGW_PRINCIPAL, {"correction": "补齐会议记录"})

    finished = city.instance(uid)
    assert finished.status == InstanceStatus.COMPLETED
    data = city.data(uid)
    assert sorted((r["post_code"], r["post_level"], r["assessment_grade"])
                  for r in data["post_results"]) == [
        ("fgw-tzc-da", 3, "good"), ("fgw-tzc-sp", 1, "good"), ("fgw-tzc-tj", 2, "good")]
    assert (data["assessment_score"], data["assessment_grade"]) == (91, "excellent")
    with city.rt.uow(write=False) as uow:
        tiers = sorted((p.tier, p.unit.code if p.unit else p.department.code if p.department
                        else p.post.code if p.post else "") for p in uow.session.scalars(
            select(RiskPoint).where(RiskPoint.post_id.is_(None))))
        publicity = register_pages.unit_publicity(uow, "fgw", YEAR)
    assert tiers == [("department", "fgw-ld"), ("department", "fgw-tzc"), ("unit", "fgw")]
    assert [(e.post_code, e.level, e.responsible, e.direct_manager) for e in publicity] == [
        (post, level, responsible, manager)
        for post, (level, _h, _p, responsible, manager) in sorted(CHAINS.items())]


# ------------------------------------------------------------------------------ campaign


def at_nine(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST)


def test_the_campaign_starts_every_units_cycle_and_its_posts(city: City) -> None:
    cid = city.start("campaign", {"year": YEAR, "units": ["fgw", "czj"]},
                     business_key="campaign-2011")
    mobilization = city.task(cid, "mobilization")
    assert city.who_can_take(mobilization) == [CITY_COMMISSION]
    assert city.children(cid) == []  # the units start once the programme is launched
    city.do(cid, "mobilization", CITY_COMMISSION,
            {"mobilization_notice": "全市廉政风险防范管理工作推进会议",
             "mobilization_meeting": "3月1日"})

    units = city.children(cid)
    assert [(u.process_id, u.business_key, u.status) for u in units] == [
        ("unit_cycle", "unit_cycle:fgw:2011", InstanceStatus.WAITING),
        ("unit_cycle", "unit_cycle:czj:2011", InstanceStatus.WAITING)]
    posts = {u.business_key: sorted(p.business_key or "" for p in city.children(u.id))
             for u in units}
    assert posts == {"unit_cycle:fgw:2011": sorted(CHAINS),
                     "unit_cycle:czj:2011": ["czj-ysk-sh"]}
    czj_post = city.by_key("post_cycle", "czj-ysk-sh")
    assert city.who_can_take(city.task(czj_post.id, "self_identified")) == ["wangxiaoming"]
    czj = city.by_key("unit_cycle", "unit_cycle:czj:2011")
    assert city.who_can_take(city.task(czj.id, "unit_discovery")) == ["sunli"]
    events = [e for e in city.events(cid) if e.type == "child_started"]
    assert [e.data["instance"] for e in events] == [u.id for u in units]


def test_milestone_checkpoints_appear_at_their_dates(city: City) -> None:
    cid = city.start("campaign", {"year": YEAR, "units": ["czj"],
                                  "milestones": {"rollout": "2011-05-31"}})
    city.do(cid, "mobilization", CITY_COMMISSION, {"mobilization_notice": "动员部署"})
    # The launch date has passed: its checkpoint is there at once.
    launch = city.task(cid, "checkpoint_launch")
    assert launch.created_at == T0 and city.who_can_take(launch) == [CITY_COMMISSION]
    # Each milestone first waits for its warning, 14 days before (the yellow cards).
    assert sorted((t.element_id, t.kind, t.due_at) for t in city.timers(cid)) == [
        ("warn_initial_network", "date", at_nine("2011-12-17")),
        ("warn_long_term_mechanism", "date", at_nine("2012-12-17")),
        ("warn_rollout", "date", at_nine("2011-05-17"))]
    city.do(cid, "checkpoint_launch", CITY_COMMISSION, {"launch_met": True})

    city.advance_to(at_nine("2011-05-31") - timedelta(minutes=1))
    assert "checkpoint_rollout" not in city.open_elements(cid)
    city.advance_to(at_nine("2011-05-31"))
    rollout = city.task(cid, "checkpoint_rollout")
    assert rollout.created_at == at_nine("2011-05-31")
    assert rollout.due_at == at_nine("2011-06-10")
    city.advance_to(at_nine("2012-12-31"))
    assert city.open_elements(cid) == ["checkpoint_initial_network",
                                       "checkpoint_long_term_mechanism", "checkpoint_rollout"]
    assert city.task(cid, "checkpoint_initial_network").created_at == at_nine("2011-12-31")
    assert city.task(cid, "checkpoint_long_term_mechanism").created_at == at_nine("2012-12-31")
    assert CITY_COMMISSION not in ACCOUNTS  # the commission is the city's, not a unit's
