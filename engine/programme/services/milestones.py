"""Milestone plans (工作节点), their yellow and red cards, and the milestone reports.

The dates are BPMN timers of ``bpmn/campaign.bpmn``, so one mechanism drives them — the
scheduler, or the simulated clock's ``advance_to`` — and they fire inside the campaign's own
transaction through the service tasks of ``engine.programme.milestone_operators``:

1. at the start, ``create_plan`` stores the plan (the source's four dates unless the start
   data ``milestones`` says otherwise) and gives the timers their dates;
2. ``warn_days`` before a deadline, ``send_warnings``: a yellow card (黄牌) to the principal
   of every unit not on track, with the reasons;
3. at the deadline, ``close_milestone``: coverage per unit (``engine.programme.coverage``), a red
card
   (红牌) to the principal of every late unit, and the report; the campaign then puts the
   checkpoint task, carrying the report's number and coverage, in the discipline
   commission's inbox (the escalation).

Cards are notifications (``engine.services.notifications``): in the app, and e-mailed after
the commit. Their keys make them idempotent, like the task cards.

After the start, ``set_milestone`` moves a deadline or changes the warning: it re-times the
campaign's waiting timers in the same transaction as the plan row, or — rejected — changes
nothing. The reading services (``list_milestone_plans``, ``get_milestone_plan``,
``list_milestone_reports``, ``get_milestone_report``) are what the console and the CLI show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import Forbidden, InvalidState, NotFound, ValidationFailed
from ...execution.checkout import check_out, lock_instance
from ...execution.saving import save
from ...execution.workflow import waiting_timers
from ...models import ACTIVE_STATUSES, NotificationKind, ProcessInstance
from ...services import notifications
from .. import coverage
from ..milestoneschema import MILESTONES, NAMES, load_edit, load_plan
from ..models import Milestone, MilestonePlan, MilestoneReport

#: Who may change a running campaign's plan (besides administrators).
PLANNERS = frozenset({"discipline_commission"})
#: BPMN element ids of a milestone's timers in campaign.bpmn.
WARNING_TIMER, DEADLINE_TIMER = "warn_{}", "milestone_{}"
PROCESS_NAME = "全市廉政风险防范管理工作"


# ----------------------------------------------------------------- inside the campaign


def create_plan(uow: UnitOfWork, instance_id: int, business_key: str | None, year: int,
                units: list[str], milestones: Any, now: datetime) -> MilestonePlan:
    """Store the plan of a campaign that is starting (in its transaction; no commit).

    Raises ``ValidationFailed`` for bad ``milestones`` start data, naming the milestone."""
    wanted = load_plan(milestones)
    if uow.session.scalar(select(MilestonePlan.id).where(
            MilestonePlan.instance_id == instance_id)) is not None:
        raise InvalidState(f"campaign instance {instance_id} has a milestone plan already")
    plan = MilestonePlan(instance_id=instance_id, business_key=business_key, year=year,
                         units=list(units), created_at=now)
    for position, spec in enumerate(MILESTONES):
        plan.milestones.append(Milestone(
            name=spec.name, position=position, title=spec.title, rule=spec.rule,
            due_at=wanted[spec.name]["due_at"], warn_days=wanted[spec.name]["warn_days"],
            yellow_cards=0, red_cards=0, updated_at=now, updated_by=None))
    uow.session.add(plan)
    uow.session.flush()
    return plan


def timer_dates(plan: MilestonePlan) -> dict[str, dict[str, str]]:
    """What campaign.bpmn's timers read: ``{name: {warn_at, due_at}}`` as ISO text."""
    return {m.name: {"warn_at": warn_at(m).isoformat(), "due_at": m.due_at.isoformat()}
            for m in plan.milestones}


def warn_at(milestone: Milestone) -> datetime:
    return milestone.due_at - timedelta(days=milestone.warn_days)


def _milestone(uow: UnitOfWork, instance_id: int, name: str) -> Milestone:
    found = uow.session.scalar(select(Milestone).join(MilestonePlan).where(
        MilestonePlan.instance_id == instance_id, Milestone.name == name))
    if found is None:
        raise NotFound(f"campaign instance {instance_id} has no milestone '{name}' "
                       f"(known: {', '.join(NAMES)})")
    return found


def send_warnings(uow: UnitOfWork, instance_id: int, name: str, now: datetime) -> int:
    """The yellow cards of a milestone's warning: to the principal of each unit not on
    track. None once the deadline itself has passed (its red cards say more). No commit."""
    milestone = _milestone(uow, instance_id, name)
    if milestone.warned_at is not None:
        return 0
    milestone.warned_at = now
    if now >= milestone.due_at:
        return 0
    plan = milestone.plan
    found = coverage.evaluate(uow, instance_id, plan.year, plan.units, milestone.rule,
                              milestone.due_at, now)
    made = notifications.create(uow, _cards(milestone, found, NotificationKind.YELLOW_CARD,
                                            now))
    milestone.yellow_cards = len(made)
    return len(made)


def close_milestone(uow: UnitOfWork, instance_id: int, name: str,
                    now: datetime) -> MilestoneReport:
    """Evaluate a milestone at its deadline, red-card the late units and write the report.
    No commit: the campaign's step commits it with the checkpoint task it creates."""
    milestone = _milestone(uow, instance_id, name)
    if milestone.report is not None:
        return milestone.report
    plan = milestone.plan
    found = coverage.evaluate(uow, instance_id, plan.year, plan.units, milestone.rule,
                              milestone.due_at, now)
    made = notifications.create(uow, _cards(milestone, found, NotificationKind.RED_CARD, now))
    milestone.evaluated_at, milestone.red_cards = now, len(made)
    report = MilestoneReport(
        milestone_id=milestone.id, instance_id=instance_id, name=milestone.name,
        rule=milestone.rule, due_at=milestone.due_at, evaluated_at=now,
        units_total=len(found), units_on_track=sum(u.on_track for u in found),
        units=[u.as_dict() for u in found], red_cards=len(made))
    uow.session.add(report)
    uow.session.flush()
    return report


def report_summary(report: MilestoneReport) -> dict[str, Any]:
    """What the checkpoint task carries: enough to judge, and the number to look it up."""
    return {"report_id": report.id, "milestone": report.name,
            "units_total": report.units_total, "units_on_track": report.units_on_track,
            "coverage": round(report.coverage, 4), "late_units": report.late_units}


def _cards(milestone: Milestone, found: list[coverage.UnitCoverage], kind: NotificationKind,
           now: datetime) -> list[dict[str, Any]]:
    rows = []
    for unit in found:
        if unit.on_track or unit.principal is None:
            continue
        reasons = ";".join(r["text"] for r in unit.reasons)
        rows.append({
            "recipient": unit.principal, "kind": kind.value, "task_id": None,
            "instance_id": milestone.plan.instance_id, "feedback_id": None,
            "subject": f"工作节点“{milestone.title}”:{unit.unit_name}"[:255],
            "process_name": PROCESS_NAME, "unit_code": unit.unit_code, "post_code": None,
            "due_at": milestone.due_at, "actor": None,
            "detail": f"{unit.done}/{unit.total} 已完成;{reasons}"[:4000],
            "created_at": now, "read_at": None,
            "dedupe_key": f"milestone:{milestone.id}:{kind.value}:{unit.unit_code}:"
                          f"{unit.principal}"[:160]})
    return rows


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PlanView:
    plan: MilestonePlan
    process_status: str

    @property
    def milestones(self) -> list[Milestone]:
        return list(self.plan.milestones)


def _plan_query() -> Any:
    return select(MilestonePlan).options(
        selectinload(MilestonePlan.milestones).selectinload(Milestone.report))


def list_milestone_plans(uow: UnitOfWork) -> list[PlanView]:
    """Every campaign's plan, newest first."""
    plans = list(uow.session.scalars(_plan_query().order_by(MilestonePlan.id.desc())))
    return [PlanView(p, _status(uow, p.instance_id)) for p in plans]


def _status(uow: UnitOfWork, instance_id: int) -> str:
    return uow.session.scalar(select(ProcessInstance.status).where(
        ProcessInstance.id == instance_id)) or "?"


def find_plan(uow: UnitOfWork, campaign: int | str | None = None) -> MilestonePlan:
    """A plan by campaign instance id or business key (``campaign-2011``); without either,
    the newest campaign's."""
    stmt = _plan_query()
    if isinstance(campaign, int) or (isinstance(campaign, str) and campaign.isdigit()):
        stmt = stmt.where(MilestonePlan.instance_id == int(campaign))
    elif campaign:
        stmt = stmt.where(MilestonePlan.business_key == campaign)
    plan = uow.session.scalar(stmt.order_by(MilestonePlan.id.desc()).limit(1))
    if plan is None:
        raise NotFound(f"no milestone plan for campaign {campaign}" if campaign else
                       "no campaign has a milestone plan yet (start the campaign process)")
    return plan


def get_milestone_plan(uow: UnitOfWork, campaign: int | str | None = None) -> PlanView:
    plan = find_plan(uow, campaign)
    return PlanView(plan, _status(uow, plan.instance_id))


def list_milestone_reports(uow: UnitOfWork,
                           campaign: int | str | None = None) -> list[MilestoneReport]:
    """Reports in deadline order: a campaign's, or every campaign's."""
    stmt = select(MilestoneReport)
    if campaign is not None:
        stmt = stmt.where(MilestoneReport.instance_id == find_plan(uow, campaign).instance_id)
    return list(uow.session.scalars(stmt.order_by(MilestoneReport.due_at,
                                                  MilestoneReport.id)))


def get_milestone_report(uow: UnitOfWork, report_id: int) -> MilestoneReport:
    report = uow.session.get(MilestoneReport, report_id)
    if report is None:
        raise NotFound(f"no milestone report {report_id} (irpm milestones reports lists them)")
    return report


# --------------------------------------------------------------------------- editing


def set_milestone(uow: UnitOfWork, campaign: int | str | None, edit: Mapping[str, Any],
                  actor: Actor) -> Milestone:
    """Move a milestone's deadline (``due``) or change its warning (``warn_days``) and
    re-time the campaign's waiting timers with it; commits.

    Refused, changing nothing: bad input; someone outside the discipline commission; a
    milestone already evaluated; a deadline not after the current time; new warning days
    once the yellow cards went out; a campaign that is not running.
    """
    loaded = load_edit(edit)
    if not (actor.is_admin or actor.groups & PLANNERS):
        raise Forbidden(f"{actor.user} may not change milestone plans (the discipline "
                        "commission does)")
    plan = find_plan(uow, campaign)
    # The campaign first: its timers may be firing this milestone right now; once we hold
    # it, the milestone row read again is the truth.
    instance, now = lock_instance(uow, plan.instance_id)
    name = loaded["name"]
    milestone = next(m for m in plan.milestones if m.name == name)
    uow.session.refresh(milestone)
    if instance.status not in ACTIVE_STATUSES:
        raise InvalidState(f"campaign instance {instance.id} is {instance.status}; only a "
                           "running campaign's plan can change")
    if milestone.evaluated_at is not None:
        raise InvalidState(f"milestone '{name}' was evaluated on "
                           f"{milestone.evaluated_at.isoformat()}; its report stands")
    due = loaded.get("due", milestone.due_at)
    warn_days = loaded.get("warn_days", milestone.warn_days)
    if due <= now:
        raise ValidationFailed(f"the new deadline {due.isoformat()} of '{name}' is not after "
                               f"the current time {now.isoformat()}",
                               {"due": ["must be later than now"]})
    if milestone.warned_at is not None and warn_days != milestone.warn_days:
        raise InvalidState(f"the yellow cards of '{name}' went out on "
                           f"{milestone.warned_at.isoformat()}; the warning can no longer "
                           "change (the deadline still can)")
    milestone.due_at, milestone.warn_days = due, warn_days
    milestone.updated_at, milestone.updated_by = now, actor.user
    _retime(uow, instance, now, milestone)
    uow.commit()
    return milestone


def _retime(uow: UnitOfWork, instance: ProcessInstance, now: datetime,
            milestone: Milestone) -> None:
    """Give the campaign's timers of ``milestone`` its new dates: those already waiting
    (a timer's due time is fixed once it is reached) and the ``milestone_plan`` the timers
    still to come will read. That is every task's copy, the finished ones too: SpiffWorkflow
    hands a waiting event its parent's data again each time it looks at it."""
    live = check_out(uow, instance, now)
    dates = {"warn_at": warn_at(milestone).isoformat(), "due_at": milestone.due_at.isoformat()}
    targets = {WARNING_TIMER.format(milestone.name): dates["warn_at"],
               DEADLINE_TIMER.format(milestone.name): dates["due_at"]}
    for task, _due, _kind in waiting_timers(live.workflow).values():
        value = targets.get(task.task_spec.name)
        if value is not None:
            task._set_internal_data(event_value=value)
    for task in live.workflow.get_tasks():
        plan = task.data.get("milestone_plan")
        if isinstance(plan, dict) and milestone.name in plan:
            task.data["milestone_plan"] = {**plan, milestone.name: dates}
    save(uow, live)
