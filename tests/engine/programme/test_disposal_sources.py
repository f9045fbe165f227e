"""后期处置 starts from its four sources and follows the post's level (bpmn/disposal.bpmn,
bpmn/post_cycle.bpmn, engine/programme/services/disposals.py), in the small city of
``programme_org`` on the simulated clock.

Source: "针对日常监控中发现的漏洞和薄弱环节,完善廉政风险防范措施……对有明显风险表现的个人及时进行
提醒和纠错……对群众有投诉、社会有反映、不按照规定落实廉政风险防范措施的,采取谈话提醒、诫勉纠错等
措施,帮助和督促其及时纠正工作中的失误和偏差。对整改不力,群众仍有反映的,按照相关规定予以追究。"

- a post's quarterly self-check (定期自查) that found problems, its monitoring report (中期监控)
  with findings, a public complaint the discipline officer upholds (审核群众意见, or pending
  feedback by hand) and a start by hand from the register each start a disposal of its own,
  keyed ``disposal:<post>:<source>:<n>``, while the post's cycle goes on;
- its lanes follow the post's level in the register: 提醒 and 诫勉 to the responsible leader
  (principal, deputy in charge, department head for levels 1, 2, 3), the holder's overdue
  correction to the direct manager, the leader's overdue step one leader up;
- every step writes the register, and the outcome reaches the post's assessment;
- accountability follows "整改不力" and, separately, "群众仍有反映".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.models import InstanceStatus, ProcessInstance
from engine.programme.models import ControlMeasure, Feedback, RegisterChange, RiskPoint
from engine.programme.services import disposals, feedback, register_disposal, register_pages
from tests.conftest import ADMIN

from .programme_org import (
    CHAINS,
    CITY_COMMISSION,
    FGW_HEAD,
    FGW_OFFICER,
    FGW_PRINCIPAL,
    YEAR,
    City,
    element_data,
    post_data,
    risk,
)

DEPUTY = "zhangwei"
TALK = {"kind": "talk", "notes": "约谈指出问题,要求限期纠正"}
CORRECTION = {"actions": "建立办件时限台账"}
CORRECTED = {"corrected": True, "public_still_complaining": False, "findings": "已整改到位"}
NOT_CORRECTED = {"corrected": False, "public_still_complaining": False, "findings": "仍未整改"}
STILL_COMPLAINED = {"corrected": True, "public_still_complaining": True,
                    "findings": "账面已整改,群众仍来信反映"}
ADMONISHMENT = {"notes": "诫勉谈话,本人表示接受", "requirements": "十五日内整改到位"}
ACCOUNTABILITY = {"referred_to": "discipline_commission", "details": "诫勉后仍未整改,移送纪委"}
#: Who answers for each post (responsible, direct manager, one up from the responsible).
LEADERS = {"fgw-tzc-sp": (FGW_PRINCIPAL, DEPUTY, CITY_COMMISSION),
           "fgw-tzc-tj": (DEPUTY, FGW_HEAD, FGW_PRINCIPAL),
           "fgw-tzc-da": (FGW_HEAD, FGW_HEAD, DEPUTY)}
GROUPS = {"fgw-tzc-sp": ("principal:fgw", "deputy_in_charge:fgw-tzc", "discipline_commission"),
          "fgw-tzc-tj": ("deputy_in_charge:fgw-tzc", "department_head:fgw-tzc", "principal:fgw"),
          "fgw-tzc-da": ("department_head:fgw-tzc", "department_head:fgw-tzc",
                         "deputy_in_charge:fgw-tzc")}
OFFICIALS = {FGW_PRINCIPAL: "o01", FGW_HEAD: "o02", DEPUTY: "o03", FGW_OFFICER: "o04",
             "chenjing": "o05", "yangyang": "o06", "zhaolei": "o07"}


# ------------------------------------------------------------------------------ helpers


def to_control(city: City, post: str, **extra: Any) -> int:
    """A post's cycle through discovery, review and publicity to its control measures."""
    level, holder, peer, responsible, manager = CHAINS[post]
    iid = city.start("post_cycle", post_data(post, **extra), business_key=post)
    city.do(iid, "self_identified", holder, {"risks": [risk(f"{post}:办事程序公开不及时")]})
    city.do(iid, "peer_checked", peer, {"risks": []})
    city.do(iid, "leader_pointed", FGW_HEAD, {"risks": []})
    city.do(iid, "organization_reviewed", FGW_OFFICER, {"risks": []})
    city.do(iid, "review", manager, {"approved": True})
    [publicity] = city.timers(iid)
    city.advance_to(publicity.due_at)
    city.do(iid, "prevention", responsible, {"measures": [{"description": "办事公开"}]})
    if level == 1:
        city.do(iid, "integrity_talk", FGW_PRINCIPAL, {"talk_summary": "严守纪律"})
    return iid


def disposal_of(city: City, post: str, source: str, n: int = 1) -> int:
    return city.by_key("disposal", f"disposal:{post}:{source}:{n}").id


def started_with(city: City, did: int) -> dict[str, Any]:
    [started] = [e for e in city.events(did) if e.type == "started"]
    data: dict[str, Any] = started.data["data"]
    return data


def finding_point(city: City, did: int) -> RiskPoint:
    with city.rt.uow(write=False) as uow:
        point = uow.session.scalar(select(RiskPoint).where(RiskPoint.source_instance_id == did))
    assert point is not None
    return point


def measures(city: City, point_id: int) -> list[tuple[str, str, str]]:
    """(label, owner official, status) of the finding's measures, in order."""
    with city.rt.uow(write=False) as uow:
        rows = uow.session.execute(select(ControlMeasure).where(
            ControlMeasure.risk_point_id == point_id).order_by(ControlMeasure.id)).scalars()
        return [(m.description.split(":")[0], m.owner.code, m.status) for m in rows]


def outcomes(city: City, post: str) -> dict[str, int]:
    with city.rt.uow(write=False) as uow:
        return register_disposal.disposal_outcomes(uow, post, YEAR)


def routed(city: City, did: int, element: str) -> tuple[list[str], list[str]]:
    task = city.task(did, element)
    return task.candidate_groups, city.who_can_take(task)


def state(city: City) -> tuple[int, int, int, int]:
    """What a refused start must leave alone."""
    return (city.count(ProcessInstance), city.count(RiskPoint), city.count(ControlMeasure),
            city.count(RegisterChange))


# ----------------------------------------------------------------------------- sources


def test_a_self_check_that_found_problems_starts_a_disposal_and_the_cycle_goes_on(
        city: City) -> None:
    post = "fgw-tzc-sp"  # level 1: the principal answers for it
    iid = to_control(city, post)
    quarter = next(t for t in city.timers(iid) if t.element_id == "quarterly_self_check")
    city.advance_to(quarter.due_at)
    city.do(iid, "self_check", "yangyang", {"self_check_report": "按季自查",
                                            "problems_found": True,
                                            "self_check_problems": "审批材料未按时归档"})
    did = disposal_of(city, post, "self_check")
    data = started_with(city, did)
    assert {k: data[k] for k in ("post_code", "department_code", "unit_code", "year",
                                 "post_level", "responsible_role", "direct_manager_role")} == {
        "post_code": post, "department_code": "fgw-tzc", "unit_code": "fgw", "year": YEAR,
        "post_level": 1, "responsible_role": "principal",
        "direct_manager_role": "deputy_in_charge"}
    assert data["finding"] == {"source": "self_check", "description": "审批材料未按时归档",
                               "found_by": "self_identified"}
    # A disposal of its own: the cycle does not wait for it.
    disposal = city.instance(did)
    assert disposal.parent_instance_id is None and disposal.started_by == "yangyang"
    assert city.instance(iid).status == InstanceStatus.WAITING
    assert city.open_elements(iid) == ["monitoring"]
    assert {t.element_id for t in city.timers(iid)} == {"quarterly_self_check"}
    # A self-check without problems starts nothing.
    city.advance_to(next(t for t in city.timers(iid)
                         if t.element_id == "quarterly_self_check").due_at)
    city.do(iid, "self_check", "yangyang", {"self_check_report": "未发现问题"})
    assert [d.business_key for d in _disposals(city)] == [f"disposal:{post}:self_check:1"]

    # The register has the finding (自己找), with why it is there.
    point = finding_point(city, did)
    assert (point.post_id is not None, point.found_by, point.description, point.level) == (
        True, "self_identified", "审批材料未按时归档", 3)
    with city.rt.uow(write=False) as uow:
        logged = {c.reason for c in register_pages.post_history(uow, post)
                  if c.entity == "risk_point" and c.entity_id == point.id}
    assert "后期处置:定期自查发现问题" in logged

    # Level 1: the principal reminds, the officer verifies; corrected, the case closes.
    assert routed(city, did, "reminder") == (["principal:fgw"], [FGW_PRINCIPAL])
    city.do(did, "reminder", FGW_PRINCIPAL, TALK)
    city.do(did, "correction", "yangyang", {**CORRECTION, "evidence": "台账扫描件"})
    assert routed(city, did, "verification") == (["discipline_officer:fgw"], [FGW_OFFICER])
    city.do(did, "verification", FGW_OFFICER, CORRECTED)
    assert city.instance(did).status == InstanceStatus.COMPLETED
    assert measures(city, point.id) == [("谈话提醒", "o01", "done"), ("纠错整改", "o06", "done"),
                                        ("核查整改情况", "o04", "done")]
    assert finding_point(city, did).status == "closed"

    # The assessment reads the outcome from the register.
    city.do(iid, "monitoring", DEPUTY, {"monitoring_report": "全年未发现问题"})
    assert city.open_elements(iid) == ["assessment"]
    assert element_data(city, iid, "count_disposals")["disposal_outcomes"] == {
        "total": 1, "open": 0, "corrected": 1, "accountability": 0}


def test_a_monitoring_report_with_findings_starts_a_disposal_that_ends_in_accountability(
        city: City) -> None:
    """整改不力: not corrected after the talk, the admonishment and the deadlines."""
    post = "fgw-tzc-da"  # level 3: the department head answers for it and manages it
    iid = to_control(city, post)
    city.do(iid, "monitoring", FGW_HEAD, {"monitoring_report": "抽查档案借阅登记",
                                          "monitoring_problems_found": True,
                                          "monitoring_problems": "档案借阅未登记"})
    did = disposal_of(city, post, "monitoring")
    assert started_with(city, did)["finding"]["found_by"] == "leader_pointed"  # 领导点
    assert element_data(city, iid, "count_disposals")["disposal_outcomes"] == {
        "total": 1, "open": 1, "corrected": 0, "accountability": 0}
    assert city.open_elements(iid) == ["assessment"]  # the cycle went on to its assessment

    assert routed(city, did, "reminder") == (["department_head:fgw-tzc"], [FGW_HEAD])
    city.do(did, "reminder", FGW_HEAD, {"kind": "reminder", "notes": "提醒按规定登记"})
    city.do(did, "correction", "zhaolei", CORRECTION)
    city.do(did, "verification", FGW_OFFICER, NOT_CORRECTED)
    assert routed(city, did, "admonishment") == (["department_head:fgw-tzc"], [FGW_HEAD])
    city.do(did, "admonishment", FGW_HEAD, ADMONISHMENT)
    city.do(did, "recorrection", "zhaolei", CORRECTION)
    city.do(did, "reverification", FGW_OFFICER, NOT_CORRECTED)
    assert routed(city, did, "accountability") == (["discipline_commission"],
                                                   [CITY_COMMISSION])
    city.do(did, "accountability", CITY_COMMISSION, ACCOUNTABILITY)
    assert city.instance(did).status == InstanceStatus.COMPLETED

    point = finding_point(city, did)
    assert measures(city, point.id) == [
        ("提醒", "o02", "done"), ("纠错整改", "o07", "done"), ("核查整改情况", "o04", "done"),
        ("诫勉", "o02", "done"), ("纠错整改", "o07", "done"), ("核查整改情况", "o04", "done"),
        ("追究", "o04", "done")]
    assert point.status == "closed"
    assert outcomes(city, post) == {"total": 1, "open": 0, "corrected": 0, "accountability": 1}
    with city.rt.uow(write=False) as uow:
        closed = [c for c in register_pages.post_history(uow, post)
                  if c.entity == "risk_point" and c.entity_id == point.id
                  and c.field == "status" and c.new_value == "closed"]
    assert [c.changed_by for c in closed] == [CITY_COMMISSION]
    assert (closed[0].reason or "").startswith("后期处置:整改不力或群众仍有反映,予以追究")


def test_an_upheld_public_complaint_starts_a_disposal_and_public_complaints_reach_accountability(
        city: City) -> None:
    """群众仍有反映: corrected, yet still complained of — admonishment, then accountability."""
    post = "fgw-tzc-tj"  # level 2: the deputy answers for it, the head manages it
    iid = city.start("post_cycle", post_data(post), business_key=post)
    city.send(iid, "public_suggestion", {"text": "统计岗办事索要好处费", "contact": "139"})
    city.send(iid, "public_suggestion", {"text": "窗口态度不好"})
    reviews = city.open_task_rows(iid, "suggestion_review")
    review = {"suggestion_accepted": False, "suggestion_category": "duty",
              "suggestion_likelihood": "low", "suggestion_harm": "disciplinary"}
    # An upheld complaint starts a disposal (and is not also recorded by the cycle)…
    city.complete(reviews[0].id, city.actor(FGW_OFFICER), {**review, "complaint_upheld": True})
    # …a declined one starts nothing.
    city.complete(reviews[1].id, city.actor(FGW_OFFICER), review)
    did = disposal_of(city, post, "complaint")
    assert [d.business_key for d in _disposals(city)] == [f"disposal:{post}:complaint:1"]
    assert "self_identified" in city.open_elements(iid)  # discovery goes on
    point = finding_point(city, did)
    assert (point.found_by, point.description, point.category, point.harm, point.level) == (
        "public_suggested", "统计岗办事索要好处费", "duty", "disciplinary", 2)
    with city.rt.uow(write=False) as uow:
        public = uow.session.scalars(select(RiskPoint).where(
            RiskPoint.found_by == "public_suggested")).all()
    assert [p.id for p in public] == [point.id]

    assert routed(city, did, "reminder") == (["deputy_in_charge:fgw-tzc"], [DEPUTY])
    city.do(did, "reminder", DEPUTY, TALK)
    city.do(did, "correction", "chenjing", CORRECTION)
    city.do(did, "verification", FGW_OFFICER, STILL_COMPLAINED)  # corrected, yet complained of
    assert city.open_elements(did) == ["admonishment"]
    city.do(did, "admonishment", DEPUTY, ADMONISHMENT)
    city.do(did, "recorrection", "chenjing", CORRECTION)
    city.do(did, "reverification", FGW_OFFICER, STILL_COMPLAINED)
    assert city.open_elements(did) == ["accountability"]
    city.do(did, "accountability", CITY_COMMISSION, ACCOUNTABILITY)
    assert outcomes(city, post)["accountability"] == 1
    assert [label for label, _o, _s in measures(city, point.id)][-2:] == ["核查整改情况", "追究"]
    with city.rt.uow(write=False) as uow:
        verified = uow.session.scalars(select(ControlMeasure.description).where(
            ControlMeasure.risk_point_id == point.id,
            ControlMeasure.description.startswith("核查"))).all()
    assert all("群众仍有反映" in text for text in verified)


def test_pending_feedback_upheld_as_a_complaint_starts_a_disposal(city: City) -> None:
    """Feedback no cycle took (outside publicity): the officer upholds it by hand."""
    with city.rt.uow() as uow:
        receipt = feedback.submit_feedback(uow, "fgw-tzc-sp", "审批岗吃拿卡要", year=YEAR)
    assert not receipt.delivered
    before = state(city)
    for who, error in ((FGW_HEAD, NotFound), ("zhengjie", NotFound), ("admin", Forbidden)):
        actor = ADMIN if who == "admin" else city.actor(who)
        with city.rt.uow() as uow, pytest.raises(error):
            feedback.uphold_complaint(uow, receipt.feedback_id, actor, "属实")
    assert state(city) == before
    with city.rt.uow() as uow:
        disposal = feedback.uphold_complaint(uow, receipt.feedback_id,
                                             city.actor(FGW_OFFICER), "经核实属实")
    assert disposal.business_key == "disposal:fgw-tzc-sp:complaint:1"
    data = started_with(city, disposal.id)
    assert data["finding"] == {"source": "complaint", "description": "审批岗吃拿卡要",
                               "reason": "经核实属实", "found_by": "public_suggested"}
    with city.rt.uow(write=False) as uow:
        row = uow.session.get(Feedback, receipt.feedback_id)
        assert row is not None
        assert (row.handled_by, row.handling_note) == (FGW_OFFICER, "经核实属实")
    with city.rt.uow() as uow, pytest.raises(Conflict, match="handled"):
        feedback.uphold_complaint(uow, receipt.feedback_id, city.actor(FGW_OFFICER))
    assert routed(city, disposal.id, "reminder") == (["principal:fgw"], [FGW_PRINCIPAL])


def test_a_disposal_started_by_hand_from_the_register(city: City) -> None:
    post = "fgw-tzc-tj"
    with city.rt.uow() as uow:
        first = disposals.start_by_hand(uow, city.actor(FGW_OFFICER), post, "差旅费报销不合规",
                                        "财务审计移交问题线索", year=YEAR,
                                        found_by="financial_audit")
    with city.rt.uow() as uow:
        second = disposals.start_by_hand(uow, city.actor(CITY_COMMISSION), post,
                                         "举报信反映办件拖延", "市纪委转办举报件")
    assert (first.business_key, second.business_key) == (
        f"disposal:{post}:register:1", f"disposal:{post}:register:2")
    assert started_with(city, second.id)["year"] == 2011  # the clock's year: never graded
    assert [finding_point(city, d.id).found_by for d in (first, second)] == [
        "financial_audit", "complaint"]
    with city.rt.uow(write=False) as uow:
        reasons = {c.reason for c in register_pages.post_history(uow, post)}
        listed = [d.business_key for d in disposals.post_disposals(uow, post)]
    assert "后期处置:由信息档案手工启动:财务审计移交问题线索" in reasons
    assert listed == [second.business_key, first.business_key]
    assert routed(city, first.id, "reminder") == (["deputy_in_charge:fgw-tzc"], [DEPUTY])


@pytest.mark.parametrize(("who", "reason", "error", "message"), [
    (FGW_OFFICER, None, ValidationFailed, "reason"),
    (FGW_OFFICER, "   ", ValidationFailed, "reason"),
    (FGW_HEAD, "部门发现问题", Forbidden, "only the discipline officer of unit fgw"),
    ("zhengjie", "他单位纪检", Forbidden, "only the discipline officer of unit fgw"),
    ("admin", "管理员", Forbidden, "纪检监察员"),
])
def test_a_bad_start_by_hand_is_refused_with_nothing_changed(
        city: City, who: str, reason: str | None, error: type[Exception], message: str) -> None:
    actor = ADMIN if who == "admin" else city.actor(who)
    before = state(city)
    with city.rt.uow() as uow, pytest.raises(error, match=message):
        disposals.start_by_hand(uow, actor, "fgw-tzc-da", "档案借阅未登记", reason, year=YEAR)
    assert state(city) == before
    with city.rt.uow() as uow, pytest.raises(NotFound):
        disposals.start_by_hand(uow, city.actor(FGW_OFFICER), "fgw-nope", "x", "y")
    with city.rt.uow() as uow, pytest.raises(ValidationFailed, match="description"):
        disposals.start_by_hand(uow, city.actor(FGW_OFFICER), "fgw-tzc-da", " ", "理由")
    assert state(city) == before


# -------------------------------------------------------------------------------- lanes


@pytest.mark.parametrize("post", sorted(CHAINS))
def test_the_lanes_follow_the_posts_level(city: City, post: str) -> None:
    """提醒 and 诫勉: the responsible leader; the holder's overdue correction: the direct
    manager; the responsible leader's overdue step: one leader up; verification: the unit's
    discipline officer."""
    responsible, manager, above = LEADERS[post]
    groups = GROUPS[post]
    with city.rt.uow() as uow:
        did = disposals.start_by_hand(uow, city.actor(CITY_COMMISSION), post, "问题线索",
                                      "市纪委交办", year=YEAR).id
    assert routed(city, did, "reminder") == ([groups[0]], [responsible])
    due = city.task(did, "reminder").due_at
    assert due is not None
    city.advance_to(due + timedelta(hours=1))
    assert routed(city, did, "escalate_reminder") == ([groups[2]], [above])
    city.do(did, "escalate_reminder", above, {"supervision": "三日内办结"})
    city.do(did, "reminder", responsible, TALK)
    holder = CHAINS[post][1]
    correction = city.task(did, "correction")
    assert correction.candidate_groups == [f"post:{post}"]
    assert correction.due_at is not None
    city.advance_to(correction.due_at + timedelta(hours=1))
    assert routed(city, did, "escalate_correction") == ([groups[1]], [manager])
    city.do(did, "correction", holder, CORRECTION)
    city.do(did, "verification", FGW_OFFICER, NOT_CORRECTED)
    assert routed(city, did, "admonishment") == ([groups[0]], [responsible])
    point = finding_point(city, did)
    owners = [owner for label, owner, _s in measures(city, point.id) if label in ("谈话提醒",)]
    assert owners == [OFFICIALS[responsible]]


def test_the_lanes_follow_a_level_the_finding_itself_raises(city: City) -> None:
    """A finding graded 可能构成犯罪 makes the level-3 post level 1: the register re-grades it,
    and the disposal goes to the principal, not the head."""
    post = "fgw-tzc-da"
    with city.rt.uow() as uow:
        did = disposals.start_by_hand(uow, city.actor(FGW_OFFICER), post, "档案被违规出借牟利",
                                      "群众实名举报", year=YEAR, likelihood="low", harm="crime").id
    assert started_with(city, did)["post_level"] == 3  # before the finding was registered
    data = city.data(did)
    assert (data["post_level"], data["responsible_role"], data["supervising_role"]) == (
        1, "principal", "discipline_commission")
    assert routed(city, did, "reminder") == (["principal:fgw"], [FGW_PRINCIPAL])


def _disposals(city: City) -> list[ProcessInstance]:
    with city.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_id == "disposal").order_by(ProcessInstance.id)))
