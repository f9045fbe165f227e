"""Milestones of the campaign (engine/programme/services/milestones.py,
engine/programme/coverage.py): the plan,
the yellow card before a deadline, the red card and the report at it, the escalation task,
and a plan edited after the start re-timing the campaign's timers — or, rejected, changing
nothing.

Source: "2011年6月,在全市所有部门和单位推开" — rollout is on track when the unit's own and every
department's risk discovery are in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from engine.actors import Actor
from engine.errors import Forbidden, InvalidState, IrpmError, NotFound, ValidationFailed
from engine.models import InstanceStatus, Notification, PendingTimer
from engine.programme.models import Milestone
from engine.programme.services import milestones
from engine.services import clock, notification_mail, notifications, tasks, timers
from scheduler import SchedulerService, SchedulerSettings

from ...web.mailserver import Mailbox, SmtpServer, free_port
from .programme_org import CITY_COMMISSION, FGW_HEAD, FGW_PRINCIPAL, YEAR, City, risk

CST = timezone(timedelta(hours=8))
CZJ_PRINCIPAL = "sunli"
DISCOVERY = {"risks": [risk("重大项目安排未经领导班子集体研究", "fairly_high")]}


def at_nine(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CST)


def start(city: City, milestones: dict[str, Any] | None = None, *,
          mobilise: bool = True) -> int:
    data: dict[str, Any] = {"year": YEAR, "units": ["fgw", "czj"]}
    if milestones is not None:
        data["milestones"] = milestones
    cid = city.start("campaign", data, business_key="campaign-2011")
    if mobilise:
        city.do(cid, "mobilization", CITY_COMMISSION, {"mobilization_notice": "动员部署"})
    return cid


def cards(city: City, kind: str, title: str = "全面推开") -> list[Notification]:
    """The milestone cards of ``kind`` for the milestone called ``title``."""
    with city.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Notification).where(
            Notification.kind == kind, Notification.task_id.is_(None),
            Notification.subject.contains(f"“{title}”")).order_by(Notification.id)))


def fgw_rolls_out(city: City) -> None:
    """fgw's principal and both department heads hand in their discovery."""
    unit = city.by_key("unit_cycle", "unit_cycle:fgw:2011")
    city.do(unit.id, "unit_discovery", FGW_PRINCIPAL, DISCOVERY)
    for task in city.open_task_rows(unit.id, "department_discovery [child]"):
        who = FGW_PRINCIPAL if task.department_code == "fgw-ld" else FGW_HEAD
        city.complete(task.id, city.actor(who), DISCOVERY)


def timer_dates(city: City, cid: int) -> dict[str, datetime]:
    return {t.element_id: t.due_at for t in city.timers(cid)}


def plan_rows(city: City) -> list[tuple[str, datetime, int, str | None]]:
    with city.rt.uow(write=False) as uow:
        return [(m.name, m.due_at, m.warn_days, m.updated_by)
                for m in uow.session.scalars(select(Milestone).order_by(Milestone.id))]


def jiwei(city: City) -> Actor:
    return city.actor(CITY_COMMISSION)


def test_the_default_plan_is_the_sources_four_dates_with_two_weeks_warning(city: City) -> None:
    start(city, mobilise=False)
    with city.rt.uow(write=False) as uow:
        view = milestones.get_milestone_plan(uow, "campaign-2011")
        rows = [(m.name, m.title, m.rule, m.due_at, m.warn_days) for m in view.milestones]
        assert view.plan.units == ["fgw", "czj"] and view.plan.year == YEAR
    assert rows == [
        ("launch", "启动", "launch", at_nine("2010-12-31"), 14),
        ("rollout", "全面推开", "rollout", at_nine("2011-06-30"), 14),
        ("initial_network", "初步形成网络", "initial_network", at_nine("2011-12-31"), 14),
        ("long_term_mechanism", "形成长效机制", "long_term_mechanism", at_nine("2012-12-31"), 14)]


def test_yellow_card_red_card_and_report_of_one_milestone(city: City) -> None:
    cid = start(city, {"rollout": {"due": "2011-03-31", "warn_days": 10}})
    assert timer_dates(city, cid)["warn_rollout"] == at_nine("2011-03-21")
    fgw_rolls_out(city)

    # The warning: czj has done nothing, so its principal (only) gets a yellow card.
    city.advance_to(at_nine("2011-03-21"))
    [yellow] = cards(city, "yellow_card")
    assert (yellow.recipient, yellow.unit_code, yellow.instance_id) == (CZJ_PRINCIPAL, "czj", cid)
    assert yellow.due_at == at_nine("2011-03-31") and yellow.created_at == at_nine("2011-03-21")
    assert "单位层面风险尚未查找上报" in (yellow.detail or "")
    assert "czj-ysk" in (yellow.detail or "")
    assert "全面推开" in yellow.subject

    # czj's principal catches up on the unit's own discovery, not its department's.
    czj = city.by_key("unit_cycle", "unit_cycle:czj:2011")
    city.do(czj.id, "unit_discovery", CZJ_PRINCIPAL, DISCOVERY)
    city.advance_to(at_nine("2011-03-31") - timedelta(minutes=1))
    assert cards(city, "red_card") == []
    assert "checkpoint_rollout" not in city.open_elements(cid)

    city.advance_to(at_nine("2011-03-31"))
    [red] = cards(city, "red_card")
    assert (red.recipient, red.unit_code) == (CZJ_PRINCIPAL, "czj")
    assert "1 个内设机构尚未查找上报风险" in (red.detail or "")
    assert len(cards(city, "yellow_card")) == 1  # nothing repeated

    with city.rt.uow(write=False) as uow:
        launch, report = milestones.list_milestone_reports(uow, cid)  # in deadline order
        assert launch.name == "launch"
        assert (report.name, report.units_total, report.units_on_track) == ("rollout", 2, 1)
        assert report.coverage == 0.5 and report.late_units == ["czj"]
        assert report.evaluated_at == at_nine("2011-03-31") and report.red_cards == 1
        by_unit = {u["unit_code"]: u for u in report.units}
        report_id = report.id
    assert by_unit["fgw"]["on_track"] and by_unit["fgw"]["reasons"] == []
    assert (by_unit["fgw"]["done"], by_unit["fgw"]["total"]) == (3, 3)
    assert not by_unit["czj"]["on_track"]
    assert (by_unit["czj"]["done"], by_unit["czj"]["total"]) == (1, 2)
    assert [(r["code"], r["items"]) for r in by_unit["czj"]["reasons"]] == [
        ("departments_pending", ["czj-ysk"])]
    assert by_unit["czj"]["principal"] == CZJ_PRINCIPAL

    # The escalation: the checkpoint in the commission's inbox, carrying the report.
    checkpoint = city.task(cid, "checkpoint_rollout")
    assert checkpoint.created_at == at_nine("2011-03-31")
    assert city.who_can_take(checkpoint) == [CITY_COMMISSION]
    with city.rt.uow(write=False) as uow:
        carried = tasks.view_task(uow, checkpoint.id, jiwei(city))
    assert carried.instance_id == cid
    assert task_data(city, cid, "checkpoint_rollout")["rollout_report"] == {
        "report_id": report_id, "milestone": "rollout", "units_total": 2,
        "units_on_track": 1, "coverage": 0.5, "late_units": ["czj"]}


def task_data(city: City, instance_id: int, element: str) -> dict[str, Any]:
    """The data an open task of the instance sees (what its form and the console show)."""
    from engine.execution.checkout import load_definition
    from engine.serialization import load_state

    instance = city.instance(instance_id)
    task = city.task(instance_id, element)
    with city.rt.uow(write=False) as uow:
        bundle = load_definition(uow, instance.definition_id).bundle
    workflow = load_state(instance.state, bundle, city.rt.script_engine)
    return dict(workflow.get_task_from_id(task.id).data)


def test_no_yellow_card_when_every_unit_is_on_track_and_none_after_the_deadline(
        city: City) -> None:
    cid = start(city, {"rollout": "2011-03-31"})
    # The launch deadline (2010-12-31) had passed at the start: its warning gives no card.
    with city.rt.uow(write=False) as uow:
        launch = milestones.get_milestone_plan(uow, cid).milestones[0]
        assert launch.warned_at is not None and launch.yellow_cards == 0
    fgw_rolls_out(city)
    czj = city.by_key("unit_cycle", "unit_cycle:czj:2011")
    city.do(czj.id, "unit_discovery", CZJ_PRINCIPAL, DISCOVERY)
    [dept] = city.open_task_rows(czj.id, "department_discovery [child]")
    city.complete(dept.id, city.actor("zhouqiang"), DISCOVERY)
    city.advance_to(at_nine("2011-03-31"))
    assert cards(city, "yellow_card") == [] and cards(city, "red_card") == []
    with city.rt.uow(write=False) as uow:
        reports = {r.name: r for r in milestones.list_milestone_reports(uow)}
    assert reports["rollout"].coverage == 1.0
    # Launch: mobilised on 2011-01-04, after the 2010-12-31 deadline — every unit is late.
    assert reports["launch"].units_on_track == 0
    assert [c.recipient for c in cards(city, "red_card", "启动")] == [FGW_PRINCIPAL,
                                                                     CZJ_PRINCIPAL]
    assert {r["code"] for u in reports["launch"].units for r in u["reasons"]} == {
        "campaign_not_mobilised"}


def test_a_launch_met_in_time_counts_the_cycles_started_with_the_mobilisation(
        city: City) -> None:
    cid = start(city, {"launch": "2011-03-01"})
    city.advance_to(at_nine("2011-03-01"))
    with city.rt.uow(write=False) as uow:
        [report] = milestones.list_milestone_reports(uow, cid)
    assert (report.name, report.units_on_track, report.units_total) == ("launch", 2, 2)


def test_editing_the_plan_retimes_the_waiting_timers(city: City) -> None:
    cid = start(city)
    assert timer_dates(city, cid)["warn_rollout"] == at_nine("2011-06-16")
    with city.rt.uow() as uow:
        milestones.set_milestone(uow, "campaign-2011",
                               {"name": "rollout", "due": "2011-05-15", "warn_days": 7},
                               jiwei(city))
    assert timer_dates(city, cid)["warn_rollout"] == at_nine("2011-05-08")
    rows = {name: (due, days, by) for name, due, days, by in plan_rows(city)}
    assert rows["rollout"] == (at_nine("2011-05-15"), 7, CITY_COMMISSION)

    city.advance_to(at_nine("2011-05-08"))  # the warning fires, then the deadline waits
    assert timer_dates(city, cid)["milestone_rollout"] == at_nine("2011-05-15")
    with city.rt.uow() as uow:  # the deadline can still move once the warning is out
        milestones.set_milestone(uow, cid, {"name": "rollout",
                                          "due": "2011-05-20T15:30:00+08:00"}, jiwei(city))
    due = datetime(2011, 5, 20, 15, 30, tzinfo=CST)
    assert timer_dates(city, cid)["milestone_rollout"] == due
    city.advance_to(due - timedelta(minutes=1))
    assert "checkpoint_rollout" not in city.open_elements(cid)
    city.advance_to(due)
    assert city.task(cid, "checkpoint_rollout").created_at == due


def test_an_edit_before_mobilisation_times_the_timers_still_to_come(city: City) -> None:
    cid = start(city, mobilise=False)
    assert city.timers(cid) == []
    with city.rt.uow() as uow:
        milestones.set_milestone(uow, cid, {"name": "initial_network", "due": "2011-10-31",
                                          "warn_days": 30}, jiwei(city))
    city.do(cid, "mobilization", CITY_COMMISSION, {"mobilization_notice": "动员部署"})
    assert timer_dates(city, cid)["warn_initial_network"] == at_nine("2011-10-01")


def snapshot(city: City, cid: int) -> tuple[Any, ...]:
    instance = city.instance(cid)
    return (instance.revision, sorted((t.element_id, t.due_at) for t in city.timers(cid)),
            plan_rows(city))


@pytest.mark.parametrize(("edit", "who", "error", "words"), [
    ({"name": "rollout", "due": "30 June"}, CITY_COMMISSION, ValidationFailed,
     "is not a date"),
    ({"name": "rollout", "due": "2011-06-30T09:00:00"}, CITY_COMMISSION, ValidationFailed,
     "offset"),
    ({"name": "rollout", "warn_days": -1}, CITY_COMMISSION, ValidationFailed, "warn_days"),
    ({"name": "rollout", "warn_days": "7"}, CITY_COMMISSION, ValidationFailed, "warn_days"),
    ({"name": "rollout"}, CITY_COMMISSION, ValidationFailed, "nothing to change"),
    ({"name": "handover", "due": "2011-06-30"}, CITY_COMMISSION, ValidationFailed, "name"),
    ({"name": "rollout", "due": "2011-01-01"}, CITY_COMMISSION, ValidationFailed,
     "not after the current time"),
    ({"name": "launch", "due": "2011-06-30"}, CITY_COMMISSION, InvalidState, "evaluated"),
    ({"name": "rollout", "due": "2011-07-31"}, FGW_PRINCIPAL, Forbidden, "may not change"),
])
def test_a_rejected_edit_changes_nothing(city: City, edit: dict[str, Any], who: str,
                                         error: type[IrpmError], words: str) -> None:
    cid = start(city)
    before = snapshot(city, cid)
    with city.rt.uow() as uow, pytest.raises(error) as raised:
        milestones.set_milestone(uow, cid, edit, city.actor(who))
    assert words in str(raised.value) + str(getattr(raised.value, "errors", ""))
    assert snapshot(city, cid) == before


def test_warning_days_cannot_change_once_the_yellow_cards_went_out(city: City) -> None:
    cid = start(city)
    city.advance_to(at_nine("2011-06-16"))
    before = snapshot(city, cid)
    with city.rt.uow() as uow, pytest.raises(InvalidState, match="yellow cards"):
        milestones.set_milestone(uow, cid, {"name": "rollout", "warn_days": 3}, jiwei(city))
    assert snapshot(city, cid) == before


def test_bad_milestones_in_the_start_data_stop_the_campaign_with_a_clear_error(
        city: City) -> None:
    cid = start(city, {"rollout": "mid-2011", "handover": "2011-01-01"}, mobilise=False)
    instance = city.instance(cid)
    assert instance.status == InstanceStatus.ERROR
    assert "milestones.handover" in (instance.error_message or "")
    with city.rt.uow(write=False) as uow, pytest.raises(NotFound):
        milestones.get_milestone_plan(uow, cid)


def test_unknown_campaign_and_report_are_not_found(city: City) -> None:
    with city.rt.uow(write=False) as uow:
        with pytest.raises(NotFound, match="no campaign has a milestone plan"):
            milestones.get_milestone_plan(uow)
        with pytest.raises(NotFound, match="no milestone report 7"):
            milestones.get_milestone_report(uow, 7)


def test_timers_are_ordinary_bpmn_timers(city: City) -> None:
    """The scheduler needs nothing new: the milestones are rows of the timer table."""
    cid = start(city)
    with city.rt.uow(write=False) as uow:
        kinds = {t.element_id: t.kind for t in uow.session.scalars(
            select(PendingTimer).where(PendingTimer.instance_id == cid))}
        # The units' 中期监控制度 (institutions.bpmn) wait on dates of their own.
        institutions = set(uow.session.scalars(select(PendingTimer.due_at).where(
            PendingTimer.instance_id != cid)))
        assert timers.next_due(uow) == min({at_nine("2011-06-16"), *institutions})
        assert min(t.due_at for t in uow.session.scalars(
            select(PendingTimer).where(PendingTimer.instance_id == cid))) == \
            at_nine("2011-06-16")
    assert kinds == {"warn_rollout": "date", "warn_initial_network": "date",
                     "warn_long_term_mechanism": "date"}


def test_milestone_cards_are_e_mailed_after_the_commit(city: City) -> None:
    """Through a real SMTP server on loopback (aiosmtpd) and the e-mail outbox."""
    mailbox = Mailbox(free_port())
    server = SmtpServer(mailbox).start()
    try:
        notifications.configure(city.rt, smtp=mailbox.settings(
            timeout=5, base_url="https://irpm.example"))
        with city.rt.uow() as uow:
            notification_mail.set_email(uow, CZJ_PRINCIPAL, "sunli@example.gov.cn")
        start(city, {"rollout": "2011-03-31"})
        fgw_rolls_out(city)
        city.advance_to(at_nine("2011-03-17"))

        def about_rollout(red: bool) -> list[EmailMessage]:
            return [m for m in mailbox.received if "全面推开" in str(m["Subject"])
                    and ("红牌" in str(m["Subject"])) == red]

        [yellow] = about_rollout(red=False)
        body = yellow.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert yellow["To"] == "sunli@example.gov.cn"
        assert str(yellow["Subject"]).startswith("【IRPM】黄牌提醒:工作节点“全面推开”:财政局")
        assert "您单位的工作进度未达到即将到期的工作节点要求" in text
        assert "单位层面风险尚未查找上报" in text
        assert "https://irpm.example/notifications" in text
        city.advance_to(at_nine("2011-03-31"))
        [red] = about_rollout(red=True)
        red_body = red.get_body(("plain",))
        assert red_body is not None
        assert "您单位未按期达到工作节点要求(红牌)" in red_body.get_content()
    finally:
        server.stop()


def test_milestones_missed_while_no_scheduler_ran_are_evaluated_once_when_one_starts(
        city: City) -> None:
    """The campaign's milestone deadlines in 2011–2012 passed while no scheduler ran (back
    on the system clock): the first scheduler to lead fires each once — four reports, one per
    milestone — and a scheduler started after it finds nothing left to fire."""
    start(city, {"rollout": "2011-03-31"})
    with city.rt.uow() as uow:
        clock.use_system_clock(uow)
        uow.commit()
    with city.rt.uow(write=False) as uow:  # launch (2010-12-31) was due when it started;
        # the rest passed on the system clock while nothing ran, and nothing fires by itself
        assert [r.name for r in milestones.list_milestone_reports(uow)] == ["launch"]
    quick = SchedulerSettings(sweep_seconds=30, standby_poll_seconds=0.2, retry_seconds=1,
                              cards_every_seconds=0, mail_every_seconds=0)

    def reports() -> list[str]:
        with city.rt.uow(write=False) as uow:
            return [r.name for r in milestones.list_milestone_reports(uow)]

    first = SchedulerService(city.rt, quick).start()
    try:
        assert first.wait_leading(10)
        deadline = time.monotonic() + 60
        while len(reports()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the database for the other thread's work
        assert sorted(reports()) == sorted(
            ["launch", "rollout", "initial_network", "long_term_mechanism"])
    finally:
        first.stop(10)
    with city.rt.uow(write=False) as uow:
        upcoming = timers.next_due(uow)
    assert upcoming is None or upcoming > datetime.now(UTC)  # nothing left due
    second = SchedulerService(city.rt, quick).start()
    try:
        assert second.wait_leading(10)
    finally:
        second.stop(10)
    assert len(reports()) == 4
    for title in ("全面推开", "形成长效机制"):  # late units' red cards, once per person
        red = cards(city, "red_card", title)
        assert red and len(red) == len({c.recipient for c in red})
