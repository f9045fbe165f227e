"""The rehearsal (engine/programme/rehearsal.py) on a town of three units — the demo city's shape,
small enough for the suite (the whole city: ``irpm rehearse``, see the README): 2011-01-04
to 2013-01-01 on the simulated clock, every task completed by a person it was routed to,
the four milestone reports with the coverage the lagging units make.

Source: "2010年底前启动……;2011年6月,在全市所有部门和单位推开;2011年底,初步形成……工作网络……;
2012年底,形成比较完善的……长效机制".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidState, NotFound
from engine.models import HumanTask, InstanceStatus, Notification, ProcessInstance, TaskState
from engine.programme.composition import programme_runtime
from engine.programme.rehearsal import END, LATE_START, STALLED_REVIEW, default_lags, rehearse
from engine.programme.services import milestones, organisation
from engine.runtime import Runtime
from engine.services import clock, instances, tasks
from engine.settings import Settings
from tests.databases import Template

from .rehearsal_town import UNITS

CST = timezone(timedelta(hours=8))


@pytest.fixture
def town(settings: Settings, rehearsal_town_world: Template) -> Iterator[Runtime]:
    rt = programme_runtime(settings)
    yield rt
    rt.close()


def at_nine(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST)


def test_the_rehearsal_reaches_the_four_reports_with_the_expected_coverage(
        town: Runtime) -> None:
    result = rehearse(town)

    assert result.units == sorted(UNITS)  # by code: the last two lag
    assert result.lags == {"RSJ": LATE_START.why, "FGW": STALLED_REVIEW.why}
    assert [(r.milestone, r.due_at, r.units_on_track, r.units_total, r.late_units)
            for r in result.reports] == [
        ("launch", at_nine("2011-03-01"), 3, 3, []),
        ("rollout", at_nine("2011-06-30"), 2, 3, ["RSJ"]),
        ("initial_network", at_nine("2011-12-31"), 2, 3, ["FGW"]),
        ("long_term_mechanism", at_nine("2012-12-31"), 2, 3, ["FGW"])]

    with town.uow(write=False) as uow:
        assert clock.now(uow) == END
        reports = {r.name: r for r in milestones.list_milestone_reports(uow)}
        notes = list(uow.session.scalars(select(Notification).where(
            Notification.task_id.is_(None))))
        cards = sorted((n.kind, n.recipient, n.subject) for n in notes)
        fired = [e.element_id for e in instances.instance_events(uow, result.campaign_id)
                 if e.type == "timer_fired"]
        unit_cycles = {p.business_key: p.status for p in uow.session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "unit_cycle"))}
        checkpoints = {t.element_id: t.completed_by for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.element_id.startswith("checkpoint_")))}
        by_whom = dict(uow.session.execute(
            select(HumanTask.element_id, func.count(func.distinct(HumanTask.completed_by)))
            .where(HumanTask.state == TaskState.COMPLETED)
            .group_by(HumanTask.element_id)).all())
        self_identified_by = set(uow.session.scalars(select(HumanTask.completed_by).where(
            HumanTask.element_id == "self_identified")))

    # Why the late units are late, as the report tells the discipline commission.
    rollout = {u["unit_code"]: u for u in reports["rollout"].units}
    assert [r["code"] for r in rollout["RSJ"]["reasons"]] == ["unit_discovery_pending",
                                                             "departments_pending"]
    network = {u["unit_code"]: u for u in reports["initial_network"].units}
    assert [r["code"] for r in network["FGW"]["reasons"]] == ["posts_not_published"]
    assert (network["FGW"]["done"], network["FGW"]["total"]) == (0, 2)
    mechanism = {u["unit_code"]: u for u in reports["long_term_mechanism"].units}
    assert [r["code"] for r in mechanism["FGW"]["reasons"]] == ["post_cycles_open"]

    # A yellow card before and a red card at each missed deadline, to the late principal.
    assert cards == [
        ("red_card", "fgw-01", "工作节点“初步形成网络”:发展和改革委员会"),
        ("red_card", "fgw-01", "工作节点“形成长效机制”:发展和改革委员会"),
        ("red_card", "rsj-01", "工作节点“全面推开”:人力资源和社会保障局"),
        ("yellow_card", "fgw-01", "工作节点“初步形成网络”:发展和改革委员会"),
        ("yellow_card", "fgw-01", "工作节点“形成长效机制”:发展和改革委员会"),
        ("yellow_card", "rsj-01", "工作节点“全面推开”:人力资源和社会保障局")]

    # Each card went out when its BPMN timer fired: 14 days before, and at, the deadline.
    assert all(n.created_at == (n.due_at - timedelta(days=14) if n.kind == "yellow_card"
                                else n.due_at) for n in notes)
    assert sorted(fired) == sorted(f"{kind}_{name}" for kind in ("warn", "milestone")
                                   for name in reports)

    # The units on time ran their whole year; the stalled one is still at it.
    assert unit_cycles == {"unit_cycle:CZJ:2011": InstanceStatus.COMPLETED,
                           "unit_cycle:RSJ:2011": InstanceStatus.COMPLETED,
                           "unit_cycle:FGW:2011": InstanceStatus.WAITING}
    # The commission handled every escalation; the last, a day old, waits in its inbox.
    assert checkpoints == {"checkpoint_launch": "jiwei", "checkpoint_rollout": "jiwei",
                           "checkpoint_initial_network": "jiwei",
                           "checkpoint_long_term_mechanism": None}
    with town.uow(write=False) as uow:
        inbox, _total = tasks.list_tasks(uow, organisation.actor_for(uow, "jiwei"),
                                            tasks.TaskFilter("claimable"))
    assert [t.element_id for t in inbox] == ["checkpoint_long_term_mechanism"]
    # Each post holder found their own post's risks.
    assert self_identified_by == {f"{u.lower()}-0{i}" for u in UNITS for i in (4, 5)}
    # Reviews by each post's direct manager: the deputy in charge of a level-1 post, the
    # head of a level-3 one — two people per unit.
    assert by_whom["review"] == 6
    # 财政局's monitoring of its level-3 post found a problem: a disposal of its own, closed
    # after the head's talk, the holder's correction and the officer's verification.
    with town.uow(write=False) as uow:
        [disposal] = uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_id == "disposal",
            ProcessInstance.business_key.contains(":monitoring:")))
        done = {t.element_id: t.completed_by for t in uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == disposal.id, HumanTask.state == TaskState.COMPLETED))}
    assert (disposal.business_key, disposal.status) == ("disposal:CZJ-BGS-02:monitoring:1",
                                                        InstanceStatus.COMPLETED)
    assert {e: done[e] for e in ("reminder", "correction", "verification")} == {
        "reminder": "czj-03", "correction": "czj-05", "verification": "czj-02"}
    # Every unit held its 中期监控制度 on their dates, the stalled one too; 财政局's 三重一大
    # register showed a decision without a meeting, disposed of on its first post.
    with town.uow(write=False) as uow:
        held = {p.business_key: p.status for p in uow.session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "institutions"))}
        findings = sorted(k for k in uow.session.scalars(select(ProcessInstance.business_key)
                                                         .where(ProcessInstance.process_id
                                                                == "disposal"))
                          if ":institution:" in (k or ""))
    assert held == {f"institutions:{u}:2011": InstanceStatus.COMPLETED for u in UNITS}
    assert findings == ["disposal:CZJ-BGS-01:institution:1"]


def test_default_lags_need_three_units() -> None:
    assert default_lags(["A", "B"]) == {}
    assert default_lags(["A", "B", "C", "D"]) == {"D": LATE_START, "C": STALLED_REVIEW}


def test_the_rehearsal_refuses_what_it_cannot_do(town: Runtime) -> None:
    with pytest.raises(NotFound, match="no unit XYZ"):
        rehearse(town, units=["FGW", "XYZ"])
    result = rehearse(town, units=["FGW"], until=at_nine("2011-01-11"))
    assert result.reports == [] and result.rounds == 2
    with pytest.raises(InvalidState, match="was started already"):
        rehearse(town)


def test_the_rehearsal_needs_an_organisation(settings: Settings) -> None:
    rt = programme_runtime(settings)
    try:
        with pytest.raises(NotFound, match="no organisation is loaded"):
            rehearse(rt)
    finally:
        rt.close()
