"""The campaign's milestones as the dashboard shows them: their dates, how far each has got,
and — once a deadline has been evaluated — its report's coverage per unit.

The milestone plan (``engine.programme.services.milestones``: one per campaign instance, with its
warnings, cards and reports) is the source. A campaign started before plans existed has none;
its dates are then read back from the instance's start event and log, as below.

"2010年底前启动……2011年6月,在全市所有部门和单位推开;2011年底,初步形成覆盖全市各级机关、所有岗位
的……工作网络;2012年底,形成比较完善的……长效机制" — campaign.bpmn turns these into four timer
events (``milestone_<name>``), each raising a checkpoint task (``checkpoint_<name>``) whose form
answers ``<name>_met``. The dates are the source's unless the campaign's start data
(``milestones``) overrode one; this module reads them back from the instance's start event and
its log, exactly as the prepare script computes them, so no workflow is deserialized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...db import UnitOfWork
from ...models import EventType, InstanceEvent, ProcessInstance
from ..models import Milestone, MilestonePlan

CHINA = timezone(timedelta(hours=8), "+08:00")
CAMPAIGN_PROCESS = "campaign"
#: The source's timetable (GLOSSARY, Milestones): name → default date, checked at 09:00.
DEFAULT_DATES = {"launch": "2010-12-31", "rollout": "2011-06-30",
                 "initial_network": "2011-12-31", "long_term_mechanism": "2012-12-31"}
PENDING, WARNED, DUE, CHECKED = "pending", "warned", "due", "checked"
NOT_STARTED = "not_started"


@dataclass(frozen=True)
class UnitCoverage:
    """One unit in a milestone report: ``done`` of ``total`` (posts, departments… as the
    milestone's rule counts them)."""

    done: int
    total: int
    on_track: bool

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 100.0


@dataclass(frozen=True)
class CampaignMilestone:
    name: str
    due_at: datetime
    #: ``not_started`` (no campaign), ``pending`` (ahead), ``warned`` (yellow cards sent),
    #: ``due`` (deadline passed: evaluated, the checkpoint task open), ``checked`` (the
    #: commission answered the checkpoint).
    state: str
    #: The checkpoint's answer (``<name>_met``), once checked.
    met: bool | None = None
    title: str | None = None
    warn_at: datetime | None = None
    yellow_cards: int = 0
    red_cards: int = 0
    #: The report's figures, once the deadline has been evaluated (None before).
    units_on_track: int | None = None
    units_total: int | None = None
    #: unit code → its coverage in the report.
    unit_coverage: dict[str, UnitCoverage] = field(default_factory=dict)
    late_units: tuple[str, ...] = ()


def milestone_time(value: object) -> datetime | None:
    """A milestone's moment as the campaign's prepare script reads it: a bare date means
    09:00 China time. None when the value is not a date."""
    text = str(value)
    if len(text) == 10:
        text += "T09:00:00+08:00"
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=CHINA)


def _default(name: str) -> datetime:
    found = milestone_time(DEFAULT_DATES[name])
    assert found is not None  # the constants are dates
    return found


def _campaign(uow: UnitOfWork, year: int) -> tuple[int, dict[str, Any]] | None:
    """The latest campaign instance started for ``year``, with its start data."""
    rows = uow.session.execute(
        select(ProcessInstance.id, InstanceEvent.data)
        .join(InstanceEvent, InstanceEvent.instance_id == ProcessInstance.id)
        .where(ProcessInstance.process_id == CAMPAIGN_PROCESS,
               InstanceEvent.type == EventType.STARTED)
        .order_by(ProcessInstance.id.desc()))
    for instance_id, started in rows:
        data = (started or {}).get("data") or {}
        if isinstance(data, dict) and str(data.get("year")) == str(year):
            return instance_id, data
    return None


def _answers(uow: UnitOfWork, instance_id: int) -> tuple[set[str], dict[str, bool | None]]:
    """From the campaign's log: the milestones whose deadline timer fired, and the
    checkpoints answered (``<name>_met``)."""
    events = uow.session.execute(
        select(InstanceEvent.type, InstanceEvent.element_id, InstanceEvent.data)
        .where(InstanceEvent.instance_id == instance_id,
               InstanceEvent.type.in_([EventType.TIMER_FIRED, EventType.TASK_COMPLETED]))
        .order_by(InstanceEvent.id))
    fired: set[str] = set()
    answers: dict[str, bool | None] = {}
    for kind, element, payload in events:
        if kind == EventType.TIMER_FIRED and (element or "").startswith("milestone_"):
            fired.add(element.removeprefix("milestone_"))
        elif kind == EventType.TASK_COMPLETED and (element or "").startswith("checkpoint_"):
            name = element.removeprefix("checkpoint_")
            met = (payload or {}).get(f"{name}_met")
            answers[name] = met if isinstance(met, bool) else None
    return fired, answers


def _from_plan(milestone: Milestone, answers: dict[str, bool | None]) -> CampaignMilestone:
    report = milestone.report
    name = milestone.name
    state = (CHECKED if name in answers else DUE if milestone.evaluated_at is not None
             else WARNED if milestone.warned_at is not None else PENDING)
    coverage = {} if report is None else {
        str(u.get("unit_code")): UnitCoverage(int(u.get("done") or 0), int(u.get("total") or 0),
                                              bool(u.get("on_track")))
        for u in report.units if isinstance(u, dict)}
    return CampaignMilestone(
        name, milestone.due_at, state, answers.get(name), title=milestone.title,
        warn_at=milestone.due_at - timedelta(days=milestone.warn_days),
        yellow_cards=milestone.yellow_cards or 0, red_cards=milestone.red_cards or 0,
        units_on_track=None if report is None else report.units_on_track,
        units_total=None if report is None else report.units_total,
        unit_coverage=coverage, late_units=tuple(report.late_units) if report else ())


def campaign_milestones(uow: UnitOfWork, year: int) -> tuple[list[CampaignMilestone], int | None]:
    """The milestones of ``year``'s campaign and its instance id: from its milestone plan,
    else from its start data and log; the source's dates in state ``not_started`` when no
    campaign was started for that year."""
    plan = uow.session.scalar(
        select(MilestonePlan).where(MilestonePlan.year == year)
        .options(selectinload(MilestonePlan.milestones).selectinload(Milestone.report))
        .order_by(MilestonePlan.id.desc()).limit(1))
    if plan is not None:
        _fired, answers = _answers(uow, plan.instance_id)
        return [_from_plan(m, answers) for m in plan.milestones], plan.instance_id
    found = _campaign(uow, year)
    if found is None:
        return [CampaignMilestone(name, _default(name), NOT_STARTED)
                for name in DEFAULT_DATES], None
    instance_id, data = found
    overrides = data.get("milestones") if isinstance(data.get("milestones"), dict) else {}
    fired, answers = _answers(uow, instance_id)
    milestones = []
    for name, day in DEFAULT_DATES.items():
        due_at = milestone_time((overrides or {}).get(name, day)) or _default(name)
        state = CHECKED if name in answers else DUE if name in fired else PENDING
        milestones.append(CampaignMilestone(name, due_at, state, answers.get(name)))
    return milestones, instance_id
