"""The discipline commission's dashboard: the whole city's progress in a handful of grouped
queries.

"纪委负责组织协调和监督检查" — the commission watches every unit at once, so nothing here walks
units, posts or tasks one by one: each figure is one ``GROUP BY`` over its table (open tasks by
unit through ``ix_task_state_unit``; posts, gradings and the posts' risk points by department,
joined at most to ``post``), and the few thousand rows that come back are mapped to units and
combined in Python. A constant number of queries, whatever the size of the city; no workflow
is ever deserialized. Read-only: no service here writes or commits.

Units are ranked by a score anyone can recompute from the figures beside it (``SCORE_WEIGHTS``):
the share of posts graded, the share published, the share of open tasks not overdue, and the
unit's own assessment score (单位考核评估) once it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import aliased

from ...db import UnitOfWork
from ...models import EventType, HumanTask, InstanceEvent, ProcessInstance, TaskState
from ...services import clock
from ...services.inbox import DEFAULT_NEAR_DUE
from ..models import Department, Post, RiskCategory, Unit
from .dashboard_milestones import CHINA, CampaignMilestone, campaign_milestones
from .dashboard_register import UNIT_TIER, RegisterCache, RegisterRows, register_rows

LEVELS = (1, 2, 3)
CATEGORIES = tuple(c.value for c in RiskCategory)
#: Points out of 100 for each part of a unit's score: graded, published, on time, assessed.
SCORE_WEIGHTS = {"graded": 30, "published": 30, "on_time": 20, "assessment": 20}
#: The unit assessment's four scores (unit_cycle.bpmn, task ``unit_assessment``).
ASSESSMENT_TASK = "unit_assessment"
ASSESSMENT_FIELDS = ("score_information_monitoring", "score_self_check",
                     "score_superior_inspection", "score_social_evaluation")
LATE_TASKS_SHOWN = 10


@dataclass
class UnitFigures:
    """One unit's figures for the year, and its score (see ``SCORE_WEIGHTS``)."""

    code: str
    name: str
    posts: int = 0
    graded: int = 0
    published: int = 0
    #: Graded posts by effective level (the reviewer's override where there is one).
    post_levels: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    #: Risk points found at any tier of the unit, by level.
    risk_levels: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    open_tasks: int = 0
    overdue: int = 0  #: 红牌
    near_due: int = 0  #: 黄牌
    #: The unit assessment's mean score (0–100), None until the unit has been assessed.
    assessment: float | None = None
    #: Posts graded by each milestone's deadline (milestone name → count).
    graded_by: dict[str, int] = field(default_factory=dict)
    score: float = 0.0
    rank: int = 0

    def share(self, count: int) -> float:
        return count / self.posts if self.posts else 0.0

    @property
    def on_time(self) -> float:
        """Share of the unit's open tasks that are not overdue (1 with none open)."""
        return 1 - self.overdue / self.open_tasks if self.open_tasks else 1.0

    def compute_score(self) -> float:
        parts = {"graded": self.share(self.graded), "published": self.share(self.published),
                 "on_time": self.on_time,
                 "assessment": (self.assessment or 0.0) / 100}
        self.score = round(sum(SCORE_WEIGHTS[k] * v for k, v in parts.items()), 1)
        return self.score


@dataclass(frozen=True)
class LateTask:
    id: str
    name: str
    unit_code: str | None
    post_code: str | None
    assignee: str | None
    due_at: datetime
    business_key: str | None


@dataclass(frozen=True)
class Dashboard:
    year: int
    now: datetime
    simulated: bool
    near_due: timedelta
    #: Ranked, best first.
    units: list[UnitFigures]
    posts_by_level: dict[int, int]
    risks_by_level: dict[int, int]
    #: category → level → risk points.
    risks_by_category: dict[str, dict[int, int]]
    open_tasks: int
    red_cards: int
    yellow_cards: int
    #: The oldest overdue tasks, most overdue first.
    late_tasks: list[LateTask]
    milestones: list[CampaignMilestone]
    #: The campaign instance the milestones come from (None: not started, default dates).
    campaign_instance_id: int | None

    @property
    def posts(self) -> int:
        return sum(u.posts for u in self.units)

    @property
    def graded(self) -> int:
        return sum(u.graded for u in self.units)

    @property
    def published(self) -> int:
        return sum(u.published for u in self.units)

    def graded_by(self, milestone: str) -> int:
        """Posts of the city graded by the milestone's deadline."""
        return sum(u.graded_by.get(milestone, 0) for u in self.units)

    def chart_data(self) -> dict[str, Any]:
        """What the page's charts draw (JSON-ready; labels are added by the web layer)."""
        ranked = sorted(self.units, key=lambda u: u.code)
        return {
            "year": self.year,
            "levels": list(LEVELS),
            "posts_by_level": [self.posts_by_level[lv] for lv in LEVELS],
            "risks_by_level": [self.risks_by_level[lv] for lv in LEVELS],
            "categories": list(CATEGORIES),
            "risks_by_category": {str(lv): [self.risks_by_category[c][lv] for c in CATEGORIES]
                                  for lv in LEVELS},
            "units": [u.code for u in ranked],
            "unit_names": [u.name for u in ranked],
            "unit_post_levels": {str(lv): [u.post_levels[lv] for u in ranked] for lv in LEVELS},
            "unit_risk_levels": {str(lv): [u.risk_levels[lv] for u in ranked] for lv in LEVELS},
            "unit_overdue": [u.overdue for u in ranked],
            "unit_near_due": [u.near_due for u in ranked],
            "milestones": [m.name for m in self.milestones],
            "coverage": {m.name: self._coverage(m, ranked) for m in self.milestones},
            "coverage_source": {m.name: "report" if m.unit_coverage else "graded"
                                for m in self.milestones},
        }

    def _coverage(self, milestone: CampaignMilestone,
                  units: list[UnitFigures]) -> list[float | None]:
        """Per unit, in percent: the milestone report's coverage once the deadline has been
        evaluated (None for a unit the campaign does not cover); before, the share of the
        unit's posts graded by the deadline so far."""
        if milestone.unit_coverage:
            found = [milestone.unit_coverage.get(u.code) for u in units]
            return [None if c is None else c.percent for c in found]
        return [round(100 * u.share(u.graded_by.get(milestone.name, 0)), 1) for u in units]


def dashboard(uow: UnitOfWork, year: int | None = None, *,
              near_due: timedelta = DEFAULT_NEAR_DUE,
              cache: RegisterCache | None = None) -> Dashboard:
    """The dashboard for campaign ``year`` (default: the clock's year, China time). With a
    ``cache``, the register's grouped rows are read again only when the register changed
    (``engine.programme.services.dashboard_register``); tasks, cards and milestones are always
    read."""
    now = clock.now(uow)
    if year is None:
        year = now.astimezone(CHINA).year
    milestones, campaign_id = campaign_milestones(uow, year)
    units = _units(uow)
    dept_unit = _department_units(uow)
    _add_posts(uow, units, dept_unit)
    rows = register_rows(uow, year, sorted(m.due_at for m in milestones), cache)
    posts_by_level = _add_gradings(units, dept_unit, rows, milestones)
    risks_by_level, risks_by_category = _add_risks(units, dept_unit, rows)
    totals = _add_tasks(uow, units, now, near_due)
    _add_assessments(uow, units, year)
    ranked = sorted(units.values(), key=lambda u: (-u.compute_score(), u.overdue, u.code))
    for rank, unit in enumerate(ranked, start=1):
        unit.rank = rank
    return Dashboard(
        year=year, now=now, simulated=clock.is_simulated(uow), near_due=near_due,
        units=ranked, posts_by_level=posts_by_level, risks_by_level=risks_by_level,
        risks_by_category=risks_by_category, open_tasks=totals[0], red_cards=totals[1],
        yellow_cards=totals[2], late_tasks=_late_tasks(uow, now), milestones=milestones,
        campaign_instance_id=campaign_id)


def _units(uow: UnitOfWork) -> dict[int, UnitFigures]:
    rows = uow.session.execute(select(Unit.id, Unit.code, Unit.name).order_by(Unit.code))
    return {uid: UnitFigures(code, name) for uid, code, name in rows}


def _department_units(uow: UnitOfWork) -> dict[int, int]:
    """department id → unit id: a few thousand rows at most, so the big tables are grouped
    by their own department key and never joined to ``department``."""
    return {d: u for d, u in uow.session.execute(select(Department.id, Department.unit_id))}


def _add_posts(uow: UnitOfWork, units: dict[int, UnitFigures],
               dept_unit: dict[int, int]) -> None:
    rows = uow.session.execute(select(Post.department_id, func.count())
                               .group_by(Post.department_id))
    for dept_id, count in rows:
        unit = units.get(dept_unit.get(dept_id, 0))
        if unit is not None:
            unit.posts += count


def _count_if(condition: Any) -> Any:
    """COUNT of the rows meeting ``condition`` (a SUM of a CASE, portable)."""
    return func.sum(case((condition, 1), else_=0), type_=Integer)


def _add_gradings(units: dict[int, UnitFigures], dept_unit: dict[int, int],
                  rows: RegisterRows, milestones: list[CampaignMilestone]) -> dict[int, int]:
    """Posts graded and published per unit and level, and graded by each deadline (the
    running totals of the intervals between deadlines)."""
    ordered = sorted(milestones, key=lambda m: m.due_at)
    by_level = dict.fromkeys(LEVELS, 0)
    for dept_id, lv, after, graded, published in rows.gradings:
        by_level[lv] += graded
        unit = units.get(dept_unit.get(dept_id, 0))
        if unit is None:
            continue
        unit.graded += graded
        unit.published += published
        unit.post_levels[lv] += graded
        for n, milestone in enumerate(ordered):  # graded by this deadline and every later one
            if after <= n:
                unit.graded_by[milestone.name] = unit.graded_by.get(milestone.name, 0) + graded
    return by_level


def _add_risks(units: dict[int, UnitFigures], dept_unit: dict[int, int],
               rows: RegisterRows) -> tuple[dict[int, int], dict[str, dict[int, int]]]:
    """Risk points by unit, category and level; departments mapped to their units."""
    by_level = dict.fromkeys(LEVELS, 0)
    by_category = {c: dict.fromkeys(LEVELS, 0) for c in CATEGORIES}
    for tier, owner, category, lv, count in rows.risks:
        unit_id = owner if tier == UNIT_TIER else dept_unit.get(owner)
        by_level[lv] += count
        by_category[category][lv] += count
        if unit_id is not None and unit_id in units:
            units[unit_id].risk_levels[lv] += count
    return by_level, by_category


def _add_tasks(uow: UnitOfWork, units: dict[int, UnitFigures], now: datetime,
               near_due: timedelta) -> tuple[int, int, int]:
    """Open tasks, 红牌 (overdue) and 黄牌 (due within ``near_due``) per unit, over the
    ``(state, unit_code, due_at)`` index alone. Tasks of no unit count in the totals."""
    stmt = (select(HumanTask.unit_code, func.count(),
                   _count_if(HumanTask.due_at < now),
                   _count_if((HumanTask.due_at >= now) & (HumanTask.due_at < now + near_due)))
            .where(HumanTask.state == TaskState.OPEN).group_by(HumanTask.unit_code))
    by_code = {u.code: u for u in units.values()}
    total = red = yellow = 0
    for code, count, overdue, near in uow.session.execute(stmt):
        total, red, yellow = total + count, red + (overdue or 0), yellow + (near or 0)
        if code in by_code:
            unit = by_code[code]
            unit.open_tasks, unit.overdue, unit.near_due = count, overdue or 0, near or 0
    return total, red, yellow


def _late_tasks(uow: UnitOfWork, now: datetime) -> list[LateTask]:
    stmt = (select(HumanTask.id, HumanTask.name, HumanTask.unit_code, HumanTask.post_code,
                   HumanTask.assignee, HumanTask.due_at, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.state == TaskState.OPEN, HumanTask.due_at < now)
            .order_by(HumanTask.due_at, HumanTask.id).limit(LATE_TASKS_SHOWN))
    return [LateTask(str(task_id), name, unit, post, assignee, due_at, key)
            for task_id, name, unit, post, assignee, due_at, key in uow.session.execute(stmt)
            if due_at is not None]


def _add_assessments(uow: UnitOfWork, units: dict[int, UnitFigures], year: int) -> None:
    """Each unit's latest unit assessment of the year (the four scores' mean), from the
    completion events of the few ``unit_cycle`` instances (business key
    ``unit_cycle:<unit>:<year>``)."""
    cycle = aliased(ProcessInstance)
    rows = uow.session.execute(
        select(cycle.business_key, InstanceEvent.data)
        .join(InstanceEvent, InstanceEvent.instance_id == cycle.id)
        .where(cycle.process_id == "unit_cycle",
               cycle.business_key.like(f"unit_cycle:%:{year}"),
               InstanceEvent.type == EventType.TASK_COMPLETED,
               InstanceEvent.element_id == ASSESSMENT_TASK)
        .order_by(InstanceEvent.id))
    by_code = {u.code: u for u in units.values()}
    for key, data in rows:
        unit = by_code.get((key or "").split(":")[1] if key and key.count(":") == 2 else "")
        found = [data.get(f) for f in ASSESSMENT_FIELDS] if isinstance(data, dict) else []
        scores = [float(s) for s in found if isinstance(s, int | float)]
        if unit is not None and scores and len(scores) == len(ASSESSMENT_FIELDS):
            unit.assessment = round(sum(scores) / len(scores), 1)
