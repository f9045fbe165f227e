"""Level floors and lifts (issue 11, point 3), in the small city of ``programme_org``.

Source: "单位领导班子正职岗位……具有行政审批权和执法权的岗位……应确定为一级廉政风险" — the post
rule's level is a floor: a review may raise a level with a written reason and lower it to the
floor, never below, and a lower level is refused with the sentence it violates (the deployed
post_grading rule's description). "对确定为一级廉政风险等级的,在单位分管领导直接管理的基础上,由单位
主要领导负责" — a later risk point that lifts a post moves its open control tasks to the new
leaders and adds the 廉政谈话 level 1 requires, recorded in the register's history.

The level in force after a later risk point is the most severe (lowest number) of the floor,
the level in force before it (the rule's combined level or a reviewer's) and the new points'
own levels (``register_grading.regrade_if_graded``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import ValidationFailed
from engine.models import InstanceEvent
from engine.parsing import Source
from engine.programme.models import PostGrading, RegisterChange
from engine.programme.services import (
    disposals,
    register_grading,
    register_pages,
    register_risk_points,
)
from engine.programme.services.register_grading import BelowFloor
from engine.services import design, notifications
from tests.conftest import BPMN_DIR
from tests.dmn_edits import retested

from .programme_org import CHAINS, FGW_HEAD, FGW_OFFICER, FGW_PRINCIPAL, YEAR, City, Recorder
from .programme_org import discover as discover_risks
from .test_post_cycle_domain import PUBLICITY, start

REASON = "经集体研究,该岗位风险需重新评估确定"
APPROVAL_SENTENCE = "具有行政审批权和执法权的岗位"
#: A 群众提 risk: high likelihood, harm that may be a crime — level 1 by risk_grading.dmn.
CRIME = {"category": "duty", "description": "群众反映:借档案查询收受好处",
         "found_by": "public_suggested", "likelihood": "high", "harm": "crime"}
MINOR = {"category": "process", "description": "群众反映:查档登记不规范",
         "found_by": "public_suggested", "likelihood": "low", "harm": "minor"}


def graded(city: City, post: str) -> PostGrading:
    with city.rt.uow() as uow:
        return register_grading.grade_post(uow, post, YEAR, city.actor(FGW_HEAD))


def change(city: City, post: str, level: int, reviewer: str = "zhangwei") -> PostGrading:
    with city.rt.uow() as uow:
        return register_grading.override_level(uow, post, YEAR, level, REASON,
                                               city.actor(reviewer))


def grading_of(city: City, post: str) -> PostGrading:
    with city.rt.uow(write=False) as uow:
        grading = register_pages.post_register(uow, post, YEAR).grading
    assert grading is not None
    return grading


def register_changes(city: City) -> int:
    with city.rt.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(RegisterChange)) or 0)


def history(city: City, post: str) -> list[tuple[str, str | None, str | None, str | None]]:
    with city.rt.uow(write=False) as uow:
        return [(c.field, c.old_value, c.new_value, c.reason)
                for c in register_pages.post_history(uow, post) if c.entity == "post_grading"]


# ------------------------------------------------------------------------------- floors


def test_a_review_below_the_floor_is_refused_with_the_rule_it_violates(city: City) -> None:
    graded(city, "fgw-tzc-sp")  # 项目审批岗: level 1 by its approval power
    before = register_changes(city)
    for level in (2, 3):
        with pytest.raises(BelowFloor) as refused:
            change(city, "fgw-tzc-sp", level)
        assert list(refused.value.errors) == ["level"]
        assert f"level {level} is below the floor of post fgw-tzc-sp" in refused.value.message
        assert "demands level 1" in refused.value.message
        assert APPROVAL_SENTENCE in refused.value.message  # the deployed rule's sentence
    grading = grading_of(city, "fgw-tzc-sp")
    assert (grading.override_level, grading.effective_level, grading.responsible_role) == \
        (None, 1, "principal")
    assert register_changes(city) == before  # nothing changed


def test_a_review_raises_with_a_reason_and_lowers_only_to_the_floor(city: City) -> None:
    graded(city, "fgw-tzc-tj")  # 统计岗: level 2 by its public service
    raised = change(city, "fgw-tzc-tj", 1)
    assert (raised.effective_level, raised.responsible_role, raised.override_reason) == \
        (1, "principal", REASON)
    assert ("override_level", None, "1", REASON) in history(city, "fgw-tzc-tj")
    lowered = change(city, "fgw-tzc-tj", 2)  # back to the floor: allowed
    assert (lowered.effective_level, lowered.responsible_role) == (2, "deputy_in_charge")
    with pytest.raises(BelowFloor, match="公共服务"):
        change(city, "fgw-tzc-tj", 3)
    assert grading_of(city, "fgw-tzc-tj").effective_level == 2
    # A raise needs its written reason like any change.
    with city.rt.uow() as uow, pytest.raises(ValidationFailed) as short:
        register_grading.override_level(uow, "fgw-tzc-tj", YEAR, 1, "提高", city.actor(FGW_HEAD))
    assert list(short.value.errors) == ["reason"]


def test_a_post_lowered_by_a_reviewer_to_its_floor_keeps_it(city: City) -> None:
    with city.rt.uow() as uow:
        register_risk_points.add_risk_points(uow, {"post": "fgw-tzc-da"}, YEAR, [CRIME],
                                             city.actor(FGW_OFFICER))
    assert graded(city, "fgw-tzc-da").effective_level == 1  # by the risk point
    assert change(city, "fgw-tzc-da", 3).effective_level == 3  # its floor (rule: level 3)
    # A later point no more severe than the level in force leaves it.
    with city.rt.uow() as uow:
        register_risk_points.add_risk_points(uow, {"post": "fgw-tzc-da"}, YEAR, [MINOR],
                                             city.actor(FGW_OFFICER))
    grading = grading_of(city, "fgw-tzc-da")
    assert (grading.level, grading.override_level, grading.effective_level) == (1, 3, 3)


def _public_service_is_level_1() -> Source:
    text = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
    text, n = re.subn(r'(<outputEntry id="rule_8_out">\s*<text>)2(</text>)', r"\g<1>1\2", text)
    assert n == 1
    text = text.replace("公共服务等职能的岗位,应确定为二级廉政风险。(依据:具有公共服务职能)",
                        "公共服务职能的岗位,本市确定为一级廉政风险。(依据:具有公共服务职能)", 1)
    return Source("post_grading.dmn", retested("post_grading.dmn", text).encode())


def test_an_altered_deployed_table_moves_the_floor(city: City) -> None:
    graded(city, "fgw-tzc-tj")
    assert change(city, "fgw-tzc-tj", 2).effective_level == 2  # the shipped floor: 2
    with city.rt.uow() as uow:
        design.deploy_design(uow, [_public_service_is_level_1()], deployed_by="designer")
    with pytest.raises(BelowFloor) as refused:
        change(city, "fgw-tzc-tj", 2)
    assert "demands level 1" in refused.value.message
    assert "本市确定为一级廉政风险" in refused.value.message  # the altered rule's sentence
    assert change(city, "fgw-tzc-tj", 1).effective_level == 1


# ----------------------------------------------------------------- the review form


def test_the_change_level_form_refuses_a_level_below_the_floor_at_the_field(
        city: City) -> None:
    post = "fgw-tzc-sp"
    iid = start(city, post)
    rec = Recorder(city)
    discover_risks(rec, iid, post)
    manager = CHAINS[post][4]
    rec.do(iid, "review", manager, {"approved": False, "review_comment": "等级偏高"})
    task = city.task(iid, "change_level")
    revision, changes = city.instance(iid).revision, register_changes(city)
    with pytest.raises(ValidationFailed) as refused:
        city.complete(task.id, city.actor(manager), {"new_level": 3, "level_reason": REASON})
    assert list(refused.value.errors) == ["new_level"]
    assert APPROVAL_SENTENCE in refused.value.errors["new_level"][0]
    # Nothing changed: the task is open, the instance and the register as they were.
    assert city.open_elements(iid) == ["change_level"]
    assert (city.instance(iid).revision, register_changes(city)) == (revision, changes)
    assert city.get_task(task.id).state == "open"
    # The floor itself is accepted; the cycle goes on to publicity.
    city.complete(task.id, city.actor(manager), {"new_level": 1, "level_reason": REASON})
    assert city.instance(iid).status == "waiting"
    assert grading_of(city, post).override_level == 1


# ------------------------------------------------------------------------------- lifts


def _to_control(city: City, post: str) -> tuple[int, Recorder]:
    """The post's cycle past publicity: prevention and monitoring wait for a person."""
    iid = start(city, post)
    rec = Recorder(city)
    discover_risks(rec, iid, post)
    rec.do(iid, "review", CHAINS[post][4], {"approved": True})
    city.advance_to(city.now() + PUBLICITY)
    return iid, rec


def _events(city: City, iid: int, type_: str) -> list[dict[str, Any]]:
    with city.rt.uow(write=False) as uow:
        return [e.data or {} for e in uow.session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == iid,
                                        InstanceEvent.type == type_)
            .order_by(InstanceEvent.id))]


def test_a_later_public_risk_lifts_a_level_3_post_and_its_cycle_follows(city: City) -> None:
    post, holder = "fgw-tzc-da", "zhaolei"  # level 3: the head answers for it
    iid, rec = _to_control(city, post)
    assert sorted(city.open_elements(iid)) == ["monitoring", "prevention"]
    prevention = city.task(iid, "prevention")
    assert city.who_can_take(prevention) == [FGW_HEAD]
    city.claim(prevention.id, city.actor(FGW_HEAD))

    with city.rt.uow() as uow:
        [point] = register_risk_points.add_risk_points(
            uow, {"post": post}, YEAR, [CRIME], city.actor(FGW_OFFICER))

    # The register: level 3 → 1 with its cause, the roles by responsibility.dmn.
    grading = grading_of(city, post)
    assert (grading.level, grading.effective_level, grading.responsible_role,
            grading.direct_manager_role) == (1, 1, "principal", "deputy_in_charge")
    rows = history(city, post)
    lifted = [r for r in rows if r[3] and f"风险点#{point.id}(群众提,1级)" in r[3]]
    assert {(f, old, new) for f, old, new, _r in lifted} >= {
        ("level", "3", "1"), ("responsible_role", "department_head", "principal"),
        ("direct_manager_role", "department_head", "deputy_in_charge")}
    # The open control tasks moved to the new leaders, the head's claim released.
    assert city.who_can_take(city.task(iid, "prevention")) == [FGW_PRINCIPAL]
    assert city.get_task(prevention.id).assignee is None
    assert city.who_can_take(city.task(iid, "monitoring")) == ["zhangwei"]
    rerouted = _events(city, iid, "task_rerouted")
    assert len(rerouted) == 2 and all("群众提" in e["reason"] for e in rerouted)
    # The new leader is told, with the cause; the head who had the task is not told again.
    with city.rt.uow(write=False) as uow:
        told = {login: [n.detail or "" for n in notifications.list_notifications(
            uow, login).rows if n.task_id == prevention.id]
            for login in (FGW_PRINCIPAL, FGW_HEAD)}
    assert len(told[FGW_PRINCIPAL]) == 1 and "群众提" in told[FGW_PRINCIPAL][0]
    assert not any("群众提" in detail for detail in told[FGW_HEAD])
    data = city.data(iid)
    assert (data["post_level"], data["responsible_role"], data["direct_manager_role"]) == \
        (1, "principal", "deputy_in_charge")
    # What level 1 requires: the 廉政谈话, with the principal — never the holder (回避).
    talk = city.task(iid, "lift_talk")
    assert city.who_can_take(talk) == [FGW_PRINCIPAL]
    assert holder not in city.who_can_take(talk)
    [raised] = [e for e in _events(city, iid, "message_received")
                if e["name"] == "post_level_raised"]
    assert raised["payload"]["previous_level"] == 3
    assert raised["payload"]["talk_outstanding"] is True

    rec.do(iid, "lift_talk", FGW_PRINCIPAL, {"talk_summary": "严守档案管理纪律"})
    with city.rt.uow(write=False) as uow:
        page = register_pages.post_register(uow, post, YEAR)
    talks = [m for p in page.risk_points for m in p.measures
             if m.description.startswith("廉政谈话(等级提升)")]
    assert talks and {(m.kind, m.status, m.owner.code) for m in talks} == \
        {("monitoring", "done", "o01")}
    # The new leaders do the control tasks; the cycle runs on at level 1.
    rec.do(iid, "prevention", FGW_PRINCIPAL,
           {"measures": [{"description": "档案查询双人登记", "due_in_days": 30}]})
    assert sorted(city.open_elements(iid)) == ["monitoring"]


def test_a_lift_after_the_talk_adds_no_second_talk(city: City) -> None:
    """A level-2 post raised to 1 by its reviewer gets its talk in the control phase; a later
    level-1 risk point keeps it at 1 and asks for nothing more."""
    post = "fgw-tzc-tj"
    iid = start(city, post)
    rec = Recorder(city)
    discover_risks(rec, iid, post)
    rec.do(iid, "review", "liming", {"approved": False})
    rec.do(iid, "change_level", "liming", {"new_level": 1, "level_reason": REASON})
    city.advance_to(city.now() + PUBLICITY)
    assert sorted(city.open_elements(iid)) == ["integrity_talk", "monitoring", "prevention"]
    with city.rt.uow() as uow:
        register_risk_points.add_risk_points(uow, {"post": post}, YEAR, [CRIME],
                                             city.actor(FGW_OFFICER))
    assert sorted(city.open_elements(iid)) == ["integrity_talk", "monitoring", "prevention"]
    assert _events(city, iid, "task_rerouted") == []
    assert grading_of(city, post).effective_level == 1


def test_a_reviewers_raise_holds_and_a_more_severe_point_lifts_above_it(city: City) -> None:
    post = "fgw-tzc-da"
    graded(city, post)
    assert change(city, post, 2).effective_level == 2  # the reviewer raised 3 → 2
    with city.rt.uow() as uow:
        register_risk_points.add_risk_points(uow, {"post": post}, YEAR, [MINOR],
                                             city.actor(FGW_OFFICER))
    assert grading_of(city, post).effective_level == 2  # never below the reviewer's raise
    with city.rt.uow() as uow:
        [point] = register_risk_points.add_risk_points(uow, {"post": post}, YEAR, [CRIME],
                                                       city.actor(FGW_OFFICER))
    grading = grading_of(city, post)
    assert (grading.override_level, grading.effective_level, grading.responsible_role) == \
        (1, 1, "principal")
    assert grading.override_reason is not None and f"风险点#{point.id}" in grading.override_reason
    assert ("override_level", "2", "1", grading.override_reason) in history(city, post)


def test_a_disposal_finding_graded_high_lifts_the_post_in_control(city: City) -> None:
    """A finding recorded by a disposal (by hand, as a 群众提 complaint graded high likelihood
    and crime) lifts the post; the disposal itself follows the new level."""
    post = "fgw-tzc-da"
    iid, _rec = _to_control(city, post)
    with city.rt.uow() as uow:
        disposal = disposals.start_by_hand(
            uow, city.actor(FGW_OFFICER), post, "群众举报借查档收受好处", "群众实名举报,线索具体",
            year=YEAR, found_by="public_suggested", likelihood="high", harm="crime")
    assert grading_of(city, post).effective_level == 1
    assert city.who_can_take(city.task(iid, "prevention")) == [FGW_PRINCIPAL]
    assert city.who_can_take(city.task(iid, "lift_talk")) == [FGW_PRINCIPAL]
    assert city.data(disposal.id)["post_level"] == 1
