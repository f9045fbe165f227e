"""The programme's post cycle (bpmn/post_cycle.bpmn) through the engine on the simulated
clock, in the small city of ``programme_org``: who receives each task at each level, the
register it writes, public suggestions and objections during publicity, the quarterly
self-checks, and a failing register write.

Source: "对确定为一级廉政风险等级的,在单位分管领导直接管理的基础上,由单位主要领导负责;对确定为二级
廉政风险等级的,在内设机构领导直接管理的基础上,由单位分管领导负责;对确定为三级廉政风险等级的,由内设
机构领导直接管理和负责" — "要严格审核把关,确定岗位廉政风险等级,并进行公示,明确监管内容,落实监管责任,
接受群众监督".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import Conflict, ValidationFailed
from engine.models import InstanceStatus
from engine.programme.models import RiskPoint
from engine.programme.services import organisation, register_pages
from engine.services import instances, messages
from tests.conftest import ADMIN

from .conftest import T0
from .programme_org import (
    CHAINS,
    CORRECTION,
    FGW_HEAD,
    FGW_OFFICER,
    YEAR,
    City,
    Recorder,
    discover,
    expected_routes,
    post_data,
    run_post_cycle,
)

PUBLICITY = timedelta(days=7)
ROLES = {1: ("principal", "deputy_in_charge"), 2: ("deputy_in_charge", "department_head"),
         3: ("department_head", "department_head")}


def months(at: datetime, n: int) -> datetime:
    """``at`` plus ``n`` calendar months (as ISO 8601 durations count them)."""
    index = at.month - 1 + n
    return at.replace(year=at.year + index // 12, month=index % 12 + 1)


def start(city: City, post: str, **extra: object) -> int:
    return city.start("post_cycle", post_data(post, **extra), business_key=post)


def to_publicity(city: City, post: str) -> tuple[int, Recorder]:
    iid = start(city, post)
    rec = Recorder(city)
    discover(rec, iid, post)
    rec.do(iid, "review", CHAINS[post][4], {"approved": True})
    return iid, rec


@pytest.mark.parametrize("post", sorted(CHAINS))
def test_each_level_routes_every_task_to_its_leaders(city: City, post: str) -> None:
    level, holder, *_ = CHAINS[post]
    iid = start(city, post)
    first = city.task(iid, "self_identified")
    assert (first.created_at, first.due_at) == (T0, T0 + timedelta(days=15))
    assert first.candidate_groups == [f"post:{post}"]

    routes = run_post_cycle(city, iid, post, shortfalls=2)

    assert {k: tuple(sorted(v)) for k, v in routes.items()} == {
        k: tuple(sorted(v)) for k, v in expected_routes(post).items()}
    assert city.instance(iid).status == InstanceStatus.COMPLETED
    data = city.data(iid)
    assert (data["post_level"], data["responsible_role"], data["direct_manager_role"]) == \
        (level, *ROLES[level])
    assert (data["assessment_score"], data["assessment_grade"]) == (82, "good")
    assert data["corrections"] == ["已整改", "已整改"]
    # The register holds the year: level, roles, publication, risks under control, measures.
    with city.rt.uow(write=False) as uow:
        page = register_pages.post_register(uow, post, YEAR)
        history = register_pages.post_history(uow, post)
    assert page.grading is not None and page.grading.published_at is not None
    assert (page.grading.level, page.grading.rule_level) == (level, level)
    assert (page.grading.responsible_role, page.grading.direct_manager_role) == ROLES[level]
    assert sorted((p.found_by, p.status) for p in page.risk_points) == [
        ("leader_pointed", "controlled"), ("self_identified", "controlled")]
    kinds = sorted((m.kind, m.owner.code, m.status) for p in page.risk_points
                   for m in p.measures)
    holder_code = {"fgw-tzc-sp": "o06", "fgw-tzc-tj": "o05", "fgw-tzc-da": "o07"}[post]
    talk = [("monitoring", "o01", "done")] * 2 if level == 1 else []
    assert kinds == sorted([("prevention", holder_code, "planned")] * 2 + talk)
    # Every write names the person whose task made it.
    authors = {(c.entity, c.field): c.changed_by for c in history if c.old_value is None}
    assert authors[("risk_point", "found_by")] in (holder, FGW_HEAD)
    assert {c.changed_by for c in history} >= {holder, FGW_HEAD, FGW_OFFICER}


def test_publicity_lists_the_levels_and_leaders_of_the_unit(city: City) -> None:
    for post in sorted(CHAINS):
        to_publicity(city, post)
    with city.rt.uow(write=False) as uow:
        page = {e.post_code: e for e in register_pages.unit_publicity(uow, "fgw", YEAR)}
    assert sorted(page) == sorted(CHAINS)
    for post, (level, _holder, _peer, responsible, manager) in CHAINS.items():
        entry = page[post]
        assert (entry.level, entry.responsible, entry.direct_manager) == \
            (level, responsible, manager)
        assert entry.published_at == T0
    assert page["fgw-tzc-sp"].responsible_name == "王建国"


def test_publicity_waits_its_period_from_data_or_seven_days(city: City) -> None:
    default, _rec = to_publicity(city, "fgw-tzc-da")
    city.advance(timedelta(hours=2))
    custom = start(city, "fgw-tzc-tj", publicity_period="P10D")
    rec = Recorder(city)
    discover(rec, custom, "fgw-tzc-tj")
    rec.do(custom, "review", "liming", {"approved": True})
    assert [(t.element_id, t.kind, t.due_at) for t in city.timers(default)] == [
        ("publicity_expired", "duration", T0 + PUBLICITY)]
    [later] = city.timers(custom)
    assert later.due_at == T0 + timedelta(hours=2, days=10)

    city.advance_to(T0 + PUBLICITY - timedelta(seconds=1))
    assert city.open_elements(default) == []
    city.advance_to(T0 + PUBLICITY)
    assert city.open_elements(default) == ["monitoring", "prevention"]
    assert city.open_elements(custom) == []
    assert city.task(default, "prevention").created_at == T0 + PUBLICITY


def test_public_suggestions_during_publicity_are_reviewed_and_recorded(city: City) -> None:
    iid, rec = to_publicity(city, "fgw-tzc-tj")  # level 2 by rule
    with city.rt.uow() as uow:
        assert messages.waiting_messages(uow, iid) == ["public_suggestion",
                                                       "publicity_objection"]
    city.advance(timedelta(days=2))
    city.send(iid, "public_suggestion", {"text": "统计数据报送可能被人为调整", "contact": "138"})
    city.send(iid, "public_suggestion", {"text": "窗口态度不好"})
    reviews = city.open_task_rows(iid, "suggestion_review")
    assert len(reviews) == 2
    assert {u for t in reviews for u in city.who_can_take(t)} == {FGW_OFFICER}
    accepted = {"suggestion_accepted": True, "suggestion_category": "duty",
                "suggestion_likelihood": "high", "suggestion_harm": "disciplinary"}
    rec.do(iid, "suggestion_review", FGW_OFFICER, accepted)
    rec.do(iid, "suggestion_review", FGW_OFFICER, {**accepted, "suggestion_accepted": False})

    with city.rt.uow(write=False) as uow:
        page = register_pages.post_register(uow, "fgw-tzc-tj", YEAR)
        publicity = {e.post_code: e for e in register_pages.unit_publicity(uow, "fgw", YEAR)}
    [public] = [p for p in page.risk_points if p.found_by == "public_suggested"]
    assert (public.description, public.level, public.created_by) == \
        ("统计数据报送可能被人为调整", 1, FGW_OFFICER)
    assert public.created_at == T0 + timedelta(days=2)
    # The accepted risk re-grades the post: the level in force, and who answers for it.
    assert page.grading is not None and page.grading.level == 1
    assert publicity["fgw-tzc-tj"].responsible == "wangjianguo"

    city.advance_to(T0 + PUBLICITY)  # publicity over: no more suggestions taken
    with city.rt.uow() as uow, pytest.raises(Conflict, match="public_suggestion"):
        messages.send_message(uow, iid, "public_suggestion", {"text": "迟到的意见"},
                              organisation.actor_for(uow, "liming"))
    # The archive files the suggestion with the rest, and control follows the new level.
    assert {e for e in city.open_elements(iid)} == {"integrity_talk", "monitoring",
                                                      "prevention"}
    assert city.who_can_take(city.task(iid, "prevention")) == ["wangjianguo"]
    assert city.who_can_take(city.task(iid, "monitoring")) == ["zhangwei"]
    with city.rt.uow(write=False) as uow:
        statuses = {p.found_by: p.status for p in register_pages.post_register(
            uow, "fgw-tzc-tj", YEAR).risk_points}
    assert statuses["public_suggested"] == "published"
    events = [e for e in city.events(iid) if e.type == "message_received"]
    # The rise (2 → 1) reached the cycle as post_level_raised; before the control phase
    # its event subprocess adds nothing: the talk gateway read the new level (one talk).
    assert [e.data["name"] for e in events] == ["public_suggestion"] * 2 + ["post_level_raised"]
    assert events[-1].data["payload"]["talk_outstanding"] is False


def test_an_objection_reopens_review_and_a_changed_level_needs_a_reason(city: City) -> None:
    iid, rec = to_publicity(city, "fgw-tzc-da")  # level 3: the head answers for it
    city.advance(timedelta(days=3))
    city.send(iid, "publicity_objection", {"text": "该岗位实际经手项目资金", "contact": "王先生"})
    assert city.timers(iid) == []
    review = city.task(iid, "review")
    assert city.who_can_take(review) == [FGW_HEAD]
    [received] = [e for e in city.events(iid) if e.type == "message_received"]
    assert received.data == {"name": "publicity_objection",
                             "payload": {"text": "该岗位实际经手项目资金", "contact": "王先生"}}
    rec.do(iid, "review", FGW_HEAD, {"approved": False, "review_comment": "采纳异议"})
    change = city.task(iid, "change_level")
    with pytest.raises(ValidationFailed, match="level_reason"):
        city.complete(change.id, city.actor(FGW_HEAD), {"new_level": 2, "level_reason": "太低"})
    assert city.open_elements(iid) == ["change_level"]
    reason = "群众异议反映该岗位实际经手项目资金拨付,风险高于岗位职责所列"
    rec.do(iid, "change_level", FGW_HEAD, {"new_level": 2, "level_reason": reason})

    reopened = T0 + timedelta(days=3)
    [timer] = city.timers(iid)
    assert timer.due_at == reopened + PUBLICITY  # publicity starts again
    with city.rt.uow(write=False) as uow:
        grading = register_pages.post_register(uow, "fgw-tzc-da", YEAR).grading
        history = register_pages.post_history(uow, "fgw-tzc-da")
    assert grading is not None
    assert (grading.level, grading.override_level, grading.overridden_by) == (3, 2, FGW_HEAD)
    assert grading.published_at == reopened
    logged = [(c.field, c.new_value, c.changed_by) for c in history if c.reason == reason]
    assert ("override_level", "2", FGW_HEAD) in logged
    assert ("responsible_role", "deputy_in_charge", FGW_HEAD) in logged

    city.advance_to(timer.due_at)  # level 2 now: the deputy answers, the head manages
    assert city.who_can_take(city.task(iid, "prevention")) == ["zhangwei"]
    assert city.who_can_take(city.task(iid, "monitoring")) == [FGW_HEAD]
    assert "integrity_talk" not in city.open_elements(iid)


def test_self_checks_follow_the_cycle_and_stop_with_monitoring(city: City) -> None:
    iid = start(city, "fgw-tzc-tj", self_check_cycle="R3/P1M", publicity_period="P3D")
    rec = Recorder(city)
    discover(rec, iid, "fgw-tzc-tj")
    rec.do(iid, "review", "liming", {"approved": True})
    city.advance_to(T0 + timedelta(days=3))
    rec.do(iid, "prevention", "zhangwei", {"measures": [{"description": "数据报送双人复核"}]})
    [cycle] = city.timers(iid)
    began = T0 + timedelta(days=3)
    assert (cycle.element_id, cycle.kind, cycle.due_at) == (
        "quarterly_self_check", "cycle", months(began, 1))
    # SpiffWorkflow turns P1M into a fixed period counted from the first start (31 days
    # here) and repeats that period.
    period = months(began, 1) - began
    city.advance_to(began + 2 * period + timedelta(days=1))
    checks = city.open_task_rows(iid, "self_check")
    assert [t.created_at for t in checks] == [began + period, began + 2 * period]
    assert {u for t in checks for u in city.who_can_take(t)} == {"chenjing"}
    rec.do(iid, "monitoring", "liming", {"monitoring_report": "提前结束监控"})
    # Closing the year's monitoring stops the cycle, and self-checks still open lapse with it
    # (SpiffWorkflow keeps a cycle's branches under its boundary event).
    assert city.timers(iid) == []
    assert city.open_elements(iid) == ["assessment"]
    lapsed = [e.task_id for e in city.events(iid)
              if e.type == "task_cancelled" and e.element_id == "self_check"]
    assert sorted(lapsed) == sorted(t.id for t in checks)
    city.advance_to(began + 6 * period)
    assert city.open_elements(iid) == ["assessment"]


def test_a_failed_register_write_stops_the_step_and_writes_nothing(city: City) -> None:
    iid = city.start("post_cycle", {**post_data("fgw-tzc-sp"), "post_code": "fgw-nope"})
    task = city.task(iid, "self_identified")
    assert task.candidate_groups == ["post:fgw-nope"] and city.who_can_take(task) == []
    city.complete(task.id, ADMIN, {"risks": [{
        "category": "duty", "description": "x", "likelihood": "low", "harm": "minor"}]})
    failed = city.instance(iid)
    assert failed.status == InstanceStatus.ERROR
    assert failed.error_element == "record_self_identified"
    assert "register.record_risks" in (failed.error_message or "")
    assert "unknown post 'fgw-nope'" in (failed.error_message or "")
    assert city.count(RiskPoint) == 0
    # A corrected post code and a retry carry the cycle on.
    with city.rt.uow() as uow:
        instances.retry_instance(uow, iid, ADMIN, {"post_code": "fgw-tzc-sp"})
    assert city.instance(iid).status == InstanceStatus.WAITING
    assert city.open_elements(iid) == ["peer_checked"]
    assert city.count(RiskPoint) == 1


def test_the_cycle_keeps_a_small_state_and_its_own_history(city: City) -> None:
    iid = start(city, "fgw-tzc-sp")
    run_post_cycle(city, iid, "fgw-tzc-sp")
    instance = city.instance(iid)
    assert instance.completed_at == city.now().astimezone(UTC)
    assert len(instance.state) < 12 * 1024
    types = city.event_types(iid)
    assert types[0] == "started" and types[-1] == "completed"
    assert types.count("timer_fired") == 5  # publicity, then four quarterly self-checks
    assert CORRECTION in {e.element_id for e in city.events(iid)}
