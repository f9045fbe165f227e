"""The four special channels (专用监督渠道) at every tier, and a channel's finding starting 后期处置
(bpmn/unit_cycle.bpmn, bpmn/post_cycle.bpmn, bpmn/disposal.bpmn,
engine/programme/services/disposals.py), in the small city of ``programme_org``.

Source: "主要采取自己找、群众提、互相查、领导点、组织评5种方法和利用举报投诉、财务审计、执法检查、
问卷调查等专用监督渠道和手段" — and "从单位、内设机构、岗位“三个层次”,认真查找……可能发生腐败行为的
风险".

- each discovery form of the three tiers (单位 ``unit_discovery``, 内设机构
  ``department_discovery``, 岗位 ``self_identified`` … ``organization_reviewed``) takes a
  risk found through a channel, and the register carries the channel as its ``found_by``;
  a risk that names none is the step's method;
- a channel's finding (a questionnaire whose results show problems, a report, an audit or
  inspection finding) starts a disposal of its own, keyed ``disposal:<post>:channel:<n>``,
  routed by the post's level (responsibility.dmn) and never to the post's own holder;
- bad input is refused at the field and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, ValidationFailed
from engine.models import HumanTask, ProcessInstance
from engine.programme.models import RegisterChange, RiskPoint
from engine.programme.services import disposals, register_pages
from engine.services import tasks as tasks_service

from .programme_org import (
    CHAINS,
    CITY_COMMISSION,
    FGW_HEAD,
    FGW_OFFICER,
    FGW_PRINCIPAL,
    YEAR,
    City,
    post_data,
    risk,
)

CHANNELS = ("complaint", "financial_audit", "enforcement_inspection", "questionnaire")
#: Who answers for each post's disposal reminder (the responsible leader by its level).
RESPONSIBLE = {post: chain[3] for post, chain in CHAINS.items()}


def channel_risks(where: str) -> list[dict[str, Any]]:
    """One risk per channel, each naming its channel."""
    return [{**risk(f"{where}:{channel}发现的问题"), "found_by": channel}
            for channel in CHANNELS]


def found_by(city: City, **tier: str) -> dict[str, str]:
    """Description → channel of the register's risk points at one tier."""
    [(name, code)] = tier.items()
    column = {"unit": RiskPoint.unit, "department": RiskPoint.department,
              "post": RiskPoint.post}[name]
    with city.rt.uow(write=False) as uow:
        points = uow.session.scalars(select(RiskPoint).where(column.has(code=code))).all()
        assert {p.tier for p in points} <= {name}
        return {p.description: p.found_by for p in points}


def state(city: City) -> tuple[int, int, int, int]:
    """What refused input must leave alone."""
    return (city.count(ProcessInstance), city.count(RiskPoint), city.count(RegisterChange),
            city.count(HumanTask))


# ------------------------------------------------------------------ the three tiers


def test_each_channel_is_recorded_at_each_tier(city: City) -> None:
    uid = city.start("unit_cycle", {"unit_code": "fgw", "year": YEAR},
                     business_key="unit_cycle:fgw:2011")
    city.do(uid, "unit_discovery", FGW_PRINCIPAL, {"risks": channel_risks("单位")})
    departments = {t.candidate_groups[0]: t for t in city.open_task_rows(
        uid, "department_discovery [child]")}
    city.complete(departments["department_head:fgw-tzc"].id, city.actor(FGW_HEAD),
                  {"risks": channel_risks("内设机构")})
    city.complete(departments["department_head:fgw-ld"].id, city.actor(FGW_PRINCIPAL),
                  {"risks": [risk("未写明渠道")]})

    post = "fgw-tzc-tj"
    _level, holder, peer, _responsible, _manager = CHAINS[post]
    [pid] = [p.id for p in city.children(uid) if p.business_key == post]
    city.do(pid, "self_identified", holder, {
        "risks": [*channel_risks("自己找"), risk("未写明渠道")]})
    city.do(pid, "peer_checked", peer, {"risks": channel_risks("互相查")[:1]})
    city.do(pid, "leader_pointed", FGW_HEAD, {"risks": channel_risks("领导点")[1:2]})
    city.do(pid, "organization_reviewed", FGW_OFFICER, {"risks": channel_risks("组织评")[3:]})

    assert found_by(city, unit="fgw") == {f"单位:{c}发现的问题": c for c in CHANNELS}
    assert found_by(city, department="fgw-tzc") == {
        f"内设机构:{c}发现的问题": c for c in CHANNELS}
    [(_, method)] = found_by(city, department="fgw-ld").items()
    assert method not in CHANNELS
    assert found_by(city, post=post) == {
        **{f"自己找:{c}发现的问题": c for c in CHANNELS},
        "未写明渠道": "self_identified",
        "互相查:complaint发现的问题": "complaint",
        "领导点:financial_audit发现的问题": "financial_audit",
        "组织评:questionnaire发现的问题": "questionnaire"}


@pytest.mark.parametrize("channel", ["hearsay", "", 3])
def test_a_post_form_refuses_an_unknown_channel_at_the_field(city: City,
                                                              channel: Any) -> None:
    post = "fgw-tzc-da"
    _level, holder, *_ = CHAINS[post]
    pid = city.start("post_cycle", post_data(post), business_key=post)
    [task] = city.open_task_rows(pid, "self_identified")
    before = state(city)
    good = {**risk("保留的风险点"), "found_by": "questionnaire"}
    with pytest.raises(ValidationFailed) as refused:
        city.complete(task.id, city.actor(holder), {
            "risks": [good, {**risk("渠道写错"), "found_by": channel}]})
    errors: Any = refused.value.errors
    assert list(errors) == ["risks"] and list(errors["risks"]) == [1]
    assert list(errors["risks"][1]) == ["found_by"]  # the second risk's channel, only
    assert state(city) == before
    assert found_by(city, post=post) == {}
    with city.rt.uow(write=False) as uow:
        still = tasks_service.get_task(uow, task.id)
    assert still.state == "open"


# --------------------------------------------------------------------------- disposal


@pytest.mark.parametrize("post", sorted(CHAINS))
def test_a_questionnaire_finding_starts_a_disposal_routed_by_the_posts_level(
        city: City, post: str) -> None:
    holder = CHAINS[post][1]
    with city.rt.uow() as uow:
        started = disposals.start_from_channel(
            uow, city.actor(FGW_OFFICER), post, "questionnaire",
            "问卷调查:服务对象反映办事须托熟人", year=YEAR, category="process")
    assert started.business_key == f"disposal:{post}:channel:1"
    [event] = [e for e in city.events(started.id) if e.type == "started"]
    assert event.data["data"]["finding"] == {
        "source": "channel", "description": "问卷调查:服务对象反映办事须托熟人",
        "found_by": "questionnaire", "category": "process"}
    with city.rt.uow(write=False) as uow:
        point = uow.session.scalar(select(RiskPoint).where(
            RiskPoint.source_instance_id == started.id))
        assert point is not None
        assert (point.found_by, point.post.code if point.post else None) == (
            "questionnaire", post)
        reasons = {c.reason for c in register_pages.post_history(uow, post)}
    assert "后期处置:专用监督渠道发现问题" in reasons
    reminder = city.task(started.id, "reminder")
    takers = city.who_can_take(reminder)
    assert takers == [RESPONSIBLE[post]]
    assert holder not in takers


def test_every_channel_starts_a_disposal_of_its_own(city: City) -> None:
    post = "fgw-tzc-tj"
    keys = []
    for n, channel in enumerate(CHANNELS, start=1):
        with city.rt.uow() as uow:
            who = CITY_COMMISSION if n % 2 else FGW_OFFICER
            keys.append(disposals.start_from_channel(
                uow, city.actor(who), post, channel, f"{channel}的问题线索", year=YEAR,
                reason="转办" if n == 1 else None).business_key)
    assert keys == [f"disposal:{post}:channel:{n}" for n in range(1, 5)]
    assert found_by(city, post=post) == {f"{c}的问题线索": c for c in CHANNELS}


@pytest.mark.parametrize(("who", "channel", "description", "error", "message"), [
    (FGW_OFFICER, None, "问卷反映问题", ValidationFailed, "found_by"),
    (FGW_OFFICER, "leader_pointed", "问卷反映问题", ValidationFailed,
     "financial_audit, enforcement_inspection, questionnaire"),
    (FGW_OFFICER, "hearsay", "问卷反映问题", ValidationFailed, "found_by"),
    (FGW_OFFICER, "questionnaire", "  ", ValidationFailed, "description"),
    (FGW_HEAD, "questionnaire", "问卷反映问题", Forbidden, "only the discipline officer"),
    ("zhengjie", "questionnaire", "问卷反映问题", Forbidden, "only the discipline officer"),
])
def test_a_bad_channel_start_is_refused_with_nothing_changed(
        city: City, who: str, channel: str | None, description: str,
        error: type[Exception], message: str) -> None:
    before = state(city)
    with city.rt.uow() as uow, pytest.raises(error, match=message):
        disposals.start_from_channel(uow, city.actor(who), "fgw-tzc-da", channel, description,
                                     year=YEAR)
    assert state(city) == before
