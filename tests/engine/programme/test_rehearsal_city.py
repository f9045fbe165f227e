"""The rehearsal on a slice of the demo city — 财政局, whose leaders hold posts of their own
(局长, 常务副局长, 副局长, 纪检组长 … in 领导班子) — for the two years of the programme: nobody
supervises their own post, and 后期处置 starts from each of its four sources, as the rehearsal
reports and as the database shows (the whole city: ``irpm rehearse``, measured in the README).
The slice stops once its last disposal is closed (April 2012): what is left of 2012 only
waits for the long-term mechanism's deadline.

Issue 11, done when: "a whole-city rehearsal with zero self-supervision and at least one
disposal started from each of the four sources". Source: "对有明显风险表现的个人及时进行提醒和
纠错……对群众有投诉、社会有反映、不按照规定落实廉政风险防范措施的,采取谈话提醒、诫勉纠错等措施……
对整改不力,群众仍有反映的,按照相关规定予以追究。"
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import HumanTask, InstanceEvent, InstanceStatus, ProcessInstance, TaskState
from engine.programme.composition import programme_runtime
from engine.programme.models import Feedback, RiskPoint
from engine.programme.rehearsal import rehearse
from engine.programme.rehearsal_proof import Separation, separation
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import Template

from .self_supervision import self_supervised, supervisory_steps

UNIT = "CZJ"
#: The bureau's last task is done in March 2012 (its monitoring's disposals closed).
UNTIL = datetime(2012, 4, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def bureau(settings: Settings, demo_city_world: Template) -> Iterator[Runtime]:
    rt = programme_runtime(settings)
    yield rt
    rt.close()


def disposal_steps(rt: Runtime, key: str) -> tuple[ProcessInstance, dict[str, Any],
                                                    list[tuple[str, str | None]]]:
    """The disposal, its start data and its completed steps (element, by whom) in order."""
    with rt.uow(write=False) as uow:
        instance = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.business_key == key)).one()
        started = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == instance.id, InstanceEvent.type == "started")).one()
        steps = [(t.element_id, t.completed_by) for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id,
                                    HumanTask.state == TaskState.COMPLETED)
            .order_by(HumanTask.completed_at, HumanTask.id))]
    return instance, started.data["data"], steps


def test_a_rehearsed_bureau_supervises_no_own_post_and_disposes_from_every_source(
        bureau: Runtime) -> None:
    result = rehearse(bureau, units=[UNIT], until=UNTIL)

    assert [(r.milestone, r.units_on_track, r.units_total) for r in result.reports] == [
        ("launch", 1, 1), ("rollout", 1, 1), ("initial_network", 1, 1)]
    with bureau.uow(write=False) as uow:
        assert uow.session.scalars(select(HumanTask.element_id).where(
            HumanTask.state == TaskState.OPEN)).all() == []
    # 回避: the rehearsal's own count, and the tests' independent one (a list of steps),
    # agree — hundreds of steps judging a post, none by its holder.
    with bureau.uow(write=False) as uow:
        assert self_supervised(uow) == []
        assert supervisory_steps(uow) == result.supervisory_steps
    assert result.self_supervised == 0 and result.supervisory_steps > 300
    # 后期处置 from every source; the complaint still complained of ends in accountability.
    # (institution: the principal's 三重一大 register shows a decision without a meeting.)
    assert result.disposals == {"self_check": 1, "monitoring": 6, "complaint": 1,
                                "channel": 1, "register": 1, "institution": 1}
    assert result.accountability == 1
    assert [line.split(": ", 1)[1] for line in result.events] == [
        "public feedback on CZJ-BGS-07 (feedback 1, taken by its cycle)",
        "czj-0004 started disposal:CZJ-GKK-08:register:1 by hand",
        "czj-0004 started disposal:CZJ-ZFCGGLK-05:channel:1 from questionnaire"]

    # A leader's own post (副局长, level 1): his first self-check found the problem, the
    # principal reminded him, he corrected it, the discipline officer found it corrected.
    instance, data, steps = disposal_steps(bureau, "disposal:CZJ-LDBZ-03:self_check:1")
    assert instance.status == InstanceStatus.COMPLETED
    assert (data["post_level"], data["finding"]["found_by"]) == (1, "self_identified")
    done = dict(steps)
    assert (done["reminder"], done["correction"], done["verification"]) == (
        "czj-0001", "czj-0003", "czj-0004")

    # The citizen's feedback went through the public page's service to the post's cycle;
    # the discipline officer upheld it at 审核群众意见: a complaint (群众提).
    with bureau.uow(write=False) as uow:
        [sent] = uow.session.scalars(select(Feedback)).all()
        review = uow.session.scalars(select(HumanTask).where(
            HumanTask.element_id == "suggestion_review")).one()
        cycle = uow.session.get(ProcessInstance, review.instance_id)
    assert cycle is not None and (sent.post_code, sent.instance_id) == ("CZJ-BGS-07", cycle.id)
    assert (cycle.business_key, review.completed_by) == ("CZJ-BGS-07", "czj-0004")
    # Corrected on paper, but the public still complained at both verifications (群众仍有
    # 反映): admonished by the deputy in charge (level 2), then accountability (追究).
    instance, data, steps = disposal_steps(bureau, "disposal:CZJ-BGS-07:complaint:1")
    assert (data["post_level"], data["finding"]["found_by"]) == (2, "public_suggested")
    main = [(e, who) for e, who in steps if not e.startswith("escalate_")]
    assert main == [("reminder", "czj-0002"), ("correction", "czj-0015"),
                    ("verification", "czj-0004"), ("admonishment", "czj-0002"),
                    ("recorrection", "czj-0015"), ("reverification", "czj-0004"),
                    ("accountability", "jiwei")]
    with bureau.uow(write=False) as uow:
        point = uow.session.scalars(select(RiskPoint).where(
            RiskPoint.source_instance_id == instance.id)).one()
    assert point.status == "closed"

    # Started by hand from the register by the unit's discipline officer, with a reason.
    instance, data, steps = disposal_steps(bureau, "disposal:CZJ-GKK-08:register:1")
    assert instance.started_by == "czj-0004"
    assert (data["finding"]["reason"], data["finding"]["found_by"]) == (
        "财政审计移交问题线索", "complaint")
    assert [e for e, _who in steps if not e.startswith("escalate_")] == [
        "reminder", "correction", "verification"]

    # Started from a channel: the suppliers' questionnaire (问卷调查) showed a problem.
    instance, data, steps = disposal_steps(bureau, "disposal:CZJ-ZFCGGLK-05:channel:1")
    assert instance.started_by == "czj-0004"
    assert data["finding"]["found_by"] == "questionnaire"
    assert [e for e, _who in steps if not e.startswith("escalate_")] == [
        "reminder", "correction", "verification"]
    done = dict(steps)  # the holder corrects; others remind and verify
    assert done["correction"] not in (done["reminder"], done["verification"])

    # The count can count: a 互相查 of the office director's post recorded as done by the
    # director himself — what issue 11 found before 回避 — is one, in both counts.
    with bureau.uow() as uow:
        check = uow.session.scalars(select(HumanTask).where(
            HumanTask.element_id == "peer_checked",
            HumanTask.post_code == "CZJ-BGS-01")).one()
        check.completed_by = "czj-0009"
        uow.commit()
    with bureau.uow(write=False) as uow:
        assert separation(uow) == Separation(result.supervisory_steps, 1)
        assert self_supervised(uow) == [("peer_checked", "CZJ-BGS-01", "czj-0009")]
