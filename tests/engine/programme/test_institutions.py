"""中期监控制度 as dated, routed steps (bpmn/institutions.bpmn,
engine/programme/services/register_institutions.py), in the small city of ``programme_org`` on
the simulated clock.

Source: "认真落实廉政谈话、报告个人有关事项、述职述廉、民主生活会、民主评议等制度,加强对党员干部的
监督……凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经单位领导班子集体
研究决定".

- each institution waits for its date (a BPMN timer on the simulated clock) and goes to its
  people: 个人有关事项报告 and 述职述廉 to every leader of the unit (one task each), their review
  to the unit's discipline officer / the city commission, 民主生活会 and 三重一大 to the
  principal, 民主评议 to the discipline officer, 回访座谈 and 明察暗访 to the commission;
- every institution held is a row of the register; a finding (a decision without a meeting,
  a failed review, a low score, an inspection's problems) starts a disposal of its post;
- a finding without a post of the unit is refused at the field, nothing changed;
- nobody reviews their own report (回避).
"""

from __future__ import annotations

from datetime import datetime
from textwrap import dedent
from typing import Any

import pytest

from engine.errors import ValidationFailed
from engine.models import HumanTask, ProcessInstance
from engine.programme.models import InstitutionRecord
from engine.programme.services import org_import, register_institutions

from .programme_org import (
    CHAINS,
    CITY_COMMISSION,
    FGW_OFFICER,
    FGW_PRINCIPAL,
    YEAR,
    City,
    Recorder,
    discover,
    post_data,
    risk,
    run_post_cycle,
)

DEPUTY = "zhangwei"
LEADERS = (FGW_PRINCIPAL, DEPUTY)
#: Posts for the two fgw leaders in 委领导班子 (the small city gives them none).
LEADER_POSTS = """\
    code,department_code,name,holder_code,principal_post
    fgw-ld-zr,fgw-ld,主任岗,o01,是
    fgw-ld-fzr,fgw-ld,副主任岗,o03,否
    """
DATES = {"personal_matters": "01-31", "integrity_talk": "04-30", "follow_up_visit": "06-30",
         "unannounced_inspection": "09-30", "major_decisions": "12-10",
         "democratic_evaluation": "12-10", "duty_report": "12-20",
         "democratic_life_meeting": "12-25"}


def give_leaders_posts(city: City) -> None:
    with city.rt.uow() as uow:
        org_import.import_csv(uow, {"posts.csv": dedent(LEADER_POSTS).encode()})


def start(city: City, unit: str = "fgw") -> int:
    return city.start("institutions", {"unit_code": unit, "year": YEAR},
                      business_key=f"institutions:{unit}:{YEAR}")


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{YEAR}-{day}T09:00:00+08:00")


def records(city: City, unit: str = "fgw") -> list[InstitutionRecord]:
    with city.rt.uow(write=False) as uow:
        rows = register_institutions.records_of(uow, unit, YEAR)
        for row in rows:
            _ = row.official, row.post  # loaded before the session closes
        return rows


def open_rows(city: City, iid: int, element: str) -> list[HumanTask]:
    return [t for t in city.tasks(iid) if t.element_id.startswith(element)]


def do_each(city: City, iid: int, element: str, answer: dict[str, Any]) -> dict[str, str]:
    """Complete every open ``element`` task as the one person it goes to; who did which."""
    done = {}
    for task in open_rows(city, iid, element):
        [who] = city.who_can_take(task)
        city.complete(task.id, city.actor(who), answer)
        done[str(task.id)] = who
    return done


def test_each_institution_waits_for_its_date(city: City) -> None:
    iid = start(city)
    due = {t.element_id: t.due_at for t in city.timers(iid)}
    assert due == {f"{k}_due" if k not in ("democratic_evaluation", "major_decisions",
                                           "democratic_life_meeting") else
                   {"democratic_evaluation": "evaluation_due", "major_decisions": "decisions_due",
                    "democratic_life_meeting": "life_meeting_due"}[k]: at(v)
                   for k, v in DATES.items()}
    assert city.tasks(iid) == []
    city.advance_to(at("01-30"))
    assert city.tasks(iid) == []
    city.advance_to(at("01-31"))
    assert [t.element_id for t in city.tasks(iid)] == ["personal_matters_report [child]"] * 2


def disposal_started(city: City, row: InstitutionRecord) -> dict[str, Any]:
    """The disposal a finding started: its key and its finding."""
    assert row.disposal_instance_id is not None
    instance = city.instance(row.disposal_instance_id)
    [started] = [e for e in city.events(instance.id) if e.type == "started"]
    return {"key": instance.business_key, "finding": started.data["data"]["finding"]}


def state(city: City) -> tuple[int, int]:
    """What a refused answer must leave alone."""
    return city.count(ProcessInstance), city.count(InstitutionRecord)


def test_every_leader_reports_personal_matters_and_the_officer_reviews(city: City) -> None:
    give_leaders_posts(city)
    iid = start(city)
    city.advance_to(at("01-31"))
    reporters = do_each(city, iid, "personal_matters_report", {"matters": "无变化"})
    assert sorted(reporters.values()) == sorted(LEADERS)
    reviews = open_rows(city, iid, "personal_matters_review")
    assert [city.who_can_take(t) for t in reviews] == [[FGW_OFFICER]] * 2
    city.complete(reviews[0].id, city.actor(FGW_OFFICER), {"passed": True})
    city.complete(reviews[1].id, city.actor(FGW_OFFICER),
                  {"passed": False, "review_notes": "漏报房产"})
    rows = records(city)
    assert [(r.institution, r.official.code if r.official else None) for r in rows] == [
        ("personal_matters", "o01"), ("personal_matters", "o03")]
    [finding] = [r for r in rows if r.finding]
    assert finding.post is not None and finding.post.code == {
        "o01": "fgw-ld-zr", "o03": "fgw-ld-fzr"}[finding.official.code if finding.official
                                                 else ""]
    started = disposal_started(city, finding)
    assert started["key"] == f"disposal:{finding.post.code}:institution:1"
    assert started["finding"]["source"] == "institution"
    assert started["finding"]["found_by"] == "organization_reviewed"
    assert started["finding"]["description"].startswith("报告个人有关事项发现问题:")


def test_a_finding_without_a_post_of_the_unit_is_refused_at_the_field(city: City) -> None:
    iid = start(city)  # the small city's leaders hold no post of their own
    city.advance_to(at("12-20"))
    assert sorted(do_each(city, iid, "duty_report", {"duty_report": "全年履职尽责,廉洁自律"})
                  .values()) == sorted(LEADERS)
    review = open_rows(city, iid, "duty_report_review")[0]
    assert city.who_can_take(review) == [CITY_COMMISSION]
    jiwei = city.actor(CITY_COMMISSION)
    before = state(city)
    for post, problem in [("", "name the post"), ("czj-ysk-sh", "not a post of unit fgw"),
                          ("nowhere", "there is no post nowhere")]:
        with pytest.raises(ValidationFailed) as refused:
            city.complete(review.id, jiwei, {"passed": False, "review_comments": "述廉不实",
                                             "finding_post": post})
        assert list(refused.value.errors) == ["finding_post"]
        assert problem in str(refused.value)
        assert state(city) == before
        assert city.get_task(review.id).state == "open"
    city.complete(review.id, jiwei, {"passed": False, "review_comments": "述廉不实",
                                     "finding_post": "fgw-tzc-sp"})
    assert records(city) == []  # recorded once every leader's review is in
    city.complete(open_rows(city, iid, "duty_report_review")[0].id, jiwei, {"passed": True})
    [row] = [r for r in records(city) if r.finding]
    assert (row.institution, row.finding, row.post.code if row.post else None) == (
        "duty_report", True, "fgw-tzc-sp")
    assert disposal_started(city, row)["key"] == "disposal:fgw-tzc-sp:institution:1"


def test_a_major_decision_without_a_meeting_is_a_finding(city: City) -> None:
    iid = start(city)
    city.advance_to(at("12-10"))
    task = open_rows(city, iid, "major_decisions")[0]
    assert city.who_can_take(task) == [FGW_PRINCIPAL]
    met = {"matter": "年度预算安排", "kind": "funds", "decided_on": "2011-03-02",
           "meeting_held": True, "members": 7, "attendance": 6, "votes_for": 5,
           "votes_against": 1, "dissent": "建议压缩会议费"}
    unmet = {"matter": "项目招标代理选定", "kind": "project", "decided_on": "2011-05-10",
             "meeting_held": False}
    before = state(city)
    with pytest.raises(ValidationFailed) as refused:
        city.complete(task.id, city.actor(FGW_PRINCIPAL), {"decisions": [met, unmet]})
    assert list(refused.value.errors) == ["decisions.1.post_code"]
    assert state(city) == before
    city.complete(task.id, city.actor(FGW_PRINCIPAL),
                  {"decisions": [met, {**unmet, "post_code": "fgw-tzc-sp"}]})
    first, second = records(city)
    assert (first.institution, first.finding, first.details["attendance"],
            first.details["votes_against"], first.details["dissent"]) == (
        "major_decision", False, 6, 1, "建议压缩会议费")
    assert first.disposal_instance_id is None
    assert (second.finding, second.post.code if second.post else None) == (True, "fgw-tzc-sp")
    assert disposal_started(city, second)["finding"]["description"] == \
        "三重一大集体决策发现问题:项目招标代理选定"


def test_evaluation_meeting_and_inspections_on_their_dates_to_their_people(city: City) -> None:
    give_leaders_posts(city)
    iid = start(city)
    city.advance_to(at("06-30"))
    visit = open_rows(city, iid, "follow_up_visit")[0]
    assert city.who_can_take(visit) == [CITY_COMMISSION]
    city.complete(visit.id, city.actor(CITY_COMMISSION),
                  {"held_on": "2011-06-30", "participants": 20, "opinions": "群众反映良好",
                   "problems_found": False})
    city.advance_to(at("09-30"))
    inspection = open_rows(city, iid, "unannounced_inspection")[0]
    assert city.who_can_take(inspection) == [CITY_COMMISSION]
    city.complete(inspection.id, city.actor(CITY_COMMISSION),
                  {"inspected_on": "2011-09-28", "method": "covert", "checked": "窗口办件",
                   "problems_found": True, "problems": "超时限办件未说明理由",
                   "finding_post": "fgw-tzc-tj"})
    city.advance_to(at("12-25"))
    evaluation = open_rows(city, iid, "democratic_evaluation")[0]
    assert city.who_can_take(evaluation) == [FGW_OFFICER]
    city.complete(evaluation.id, city.actor(FGW_OFFICER),
                  {"score": 55, "staff_raters": 40, "public_raters": 60, "opinions": "办事拖拉"})
    meeting = open_rows(city, iid, "democratic_life_meeting")[0]
    assert city.who_can_take(meeting) == [FGW_PRINCIPAL]
    city.complete(meeting.id, city.actor(FGW_PRINCIPAL),
                  {"held_on": "2011-12-26", "attendees": 7, "meeting_record": "开展批评与自我批评"})
    rows = {r.institution: r for r in records(city)}
    assert list(rows) == ["follow_up_visit", "unannounced_inspection", "democratic_evaluation",
                          "democratic_life_meeting"]
    assert not rows["follow_up_visit"].finding and not rows["democratic_life_meeting"].finding
    assert disposal_started(city, rows["unannounced_inspection"])["key"] == \
        "disposal:fgw-tzc-tj:institution:1"
    low = rows["democratic_evaluation"]
    assert (low.score, low.finding) == (55, True)
    assert disposal_started(city, low)["key"] == "disposal:fgw-ld-zr:institution:1"


def test_nobody_reviews_their_own_personal_matters(city: City) -> None:
    """The unit's discipline officer made a leader (分管委领导班子): her own report is not
    hers to review (回避); it goes one up the chain instead."""
    with city.rt.uow() as uow:
        org_import.import_csv(uow, {"departments.csv": dedent("""\
            code,unit_code,name,head_code,deputy_in_charge_code
            fgw-ld,fgw,委领导班子,o01,o04
            """).encode()})
    iid = start(city)
    city.advance_to(at("01-31"))
    assert sorted(do_each(city, iid, "personal_matters_report", {"matters": "无变化"})
                  .values()) == sorted((FGW_PRINCIPAL, FGW_OFFICER, DEPUTY))
    routes = sorted(tuple(city.who_can_take(t))
                    for t in open_rows(city, iid, "personal_matters_review"))
    own = [r for r in routes if r != (FGW_OFFICER,)]
    assert len(own) == 1 and FGW_OFFICER not in own[0] and own[0], routes


def test_the_unit_cycle_starts_its_institutions_once_a_year(city: City) -> None:
    cycle = city.start("unit_cycle", {"unit_code": "fgw", "year": YEAR},
                       business_key=f"unit_cycle:fgw:{YEAR}")
    key = f"institutions:fgw:{YEAR}"
    institutions = city.by_key("institutions", key)
    assert city.data(cycle)["institutions"] == {"institutions_instance": institutions.id,
                                                "institutions_key": key}
    assert institutions.parent_instance_id is None  # the unit's cycle does not wait for it
    with city.rt.uow() as uow:  # a second start of the year finds the first
        assert register_institutions.begin(uow, "fgw", YEAR, None).id == institutions.id
    assert city.count(ProcessInstance) == len(city.children(cycle)) + 2
    assert len(city.timers(institutions.id)) == len(DATES)


def test_the_evaluation_score_counts_in_the_units_assessment(city: City) -> None:
    """社会评议 in the unit's assessment is the mean of the assessor's score and the year's
    民主评议 score (product convention)."""
    uid = city.start("unit_cycle", {"unit_code": "fgw", "year": YEAR},
                     business_key=f"unit_cycle:fgw:{YEAR}")
    iid = city.by_key("institutions", f"institutions:fgw:{YEAR}").id
    city.do(uid, "unit_discovery", FGW_PRINCIPAL, {"risks": [risk("重大项目安排未经集体研究")]})
    for task in city.open_task_rows(uid, "department_discovery [child]"):
        [head] = city.who_can_take(task)
        city.complete(task.id, city.actor(head), {"risks": [risk("工作时限没有明确规定")]})
    posts = {p.business_key: p.id for p in city.children(uid)}
    first, *others = sorted(CHAINS)
    run_post_cycle(city, posts[first], first, shortfalls=0)  # into 2012: 民主评议 is due
    evaluation = open_rows(city, iid, "democratic_evaluation")[0]
    city.complete(evaluation.id, city.actor(FGW_OFFICER),
                  {"score": 70, "staff_raters": 30, "public_raters": 50})
    for post in others:  # the last one done, the unit's assessment reads the score
        run_post_cycle(city, posts[post], post, shortfalls=0)
    city.do(uid, "unit_assessment", FGW_OFFICER, {
        "score_information_monitoring": 95, "score_self_check": 90,
        "score_superior_inspection": 92, "score_social_evaluation": 90, "shortfalls": []})
    data = city.data(uid)
    assert data["democratic_evaluation_score"] == 70
    assert data["assessment_score"] == round((95 + 90 + 92 + (90 + 70) / 2) / 4) == 89


def test_level_2_and_3_posts_get_their_talk_from_their_responsible_leader(city: City) -> None:
    """廉政谈话 below level 1 (level 1: the principal's, in the post's cycle): each level-2
    and level-3 post graded by the talks' date gets one, from the leader the responsibility
    rule names — the deputy in charge for level 2, the department head for level 3."""
    for post in ("fgw-tzc-tj", "fgw-tzc-da", "fgw-tzc-sp"):
        cycle = city.start("post_cycle", post_data(post), business_key=post)
        discover(Recorder(city), cycle, post)  # graded: the register holds its level
    iid = start(city)
    city.advance_to(at("04-30"))
    talks = {t.post_code: t for t in open_rows(city, iid, "leader_talk")}
    routes = {post: city.who_can_take(task) for post, task in sorted(talks.items())}
    assert routes == {"fgw-tzc-da": [CHAINS["fgw-tzc-da"][3]],
                      "fgw-tzc-tj": [CHAINS["fgw-tzc-tj"][3]]}
    for post, task in talks.items():
        city.complete(task.id, city.actor(routes[post][0]), {"talk_summary": "严守纪律"})
    rows = [r for r in records(city) if r.institution == "integrity_talk"]
    assert sorted((r.details["post_code"], r.details["post_level"],
                   r.official.code if r.official else None) for r in rows) == [
        ("fgw-tzc-da", 3, "o07"), ("fgw-tzc-tj", 2, "o05")]
