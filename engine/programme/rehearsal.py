"""The rehearsal: the city's programme from 2011-01-04 to 2013-01-01 on the simulated clock.

It starts the ``campaign`` for 2011 over the organisation's units (or a slice of them) and
plays the people: every week of simulated time it moves the clock — through ``advance_to``,
so publicity periods, quarterly self-checks and the milestones' warnings and deadlines fire
as the scheduler would fire them — and then completes the tasks that are waiting, each as a
person it was routed to (the post holder, a colleague, the department head, the responsible
leader, the unit's discipline officer, the principal, the city's discipline commission) and
does not exclude (回避: nobody checks their own post; a task that went up the responsibility
chain is answered by whom it went to), through ``services.complete_task``, like the web app
would, with the answers of ``engine.programme.rehearsal_answers``; a citizen's feedback during
publicity and a disposal started by hand from the register happen through their services too
(``engine.programme.rehearsal_events``). Nothing is bypassed: what the rehearsal shows is what
the programme does — and it reports what it proves (``engine.programme.rehearsal_proof``):
how many supervisory steps the holder of the post did (must be 0: 回避) and how many 后期处置
started from each of the four sources.

People answer a task at the first weekly round at least ``RESPONSE`` after it appeared. A
post's monitoring (中期监控) is written once its four quarterly self-checks are in. Two units
are made to lag so the milestone reports say something (``default_lags``):

- the last unit rehearsed **starts late**: its leadership and departments hand in their risk
  discovery only in August 2011 — late for the rollout (2011-06-30);
- the one before it **stalls at review**: its direct managers review the posts' levels only
  in mid-January 2012 — late for the initial network (2011-12-31), and, since a post's
  monitoring then runs a year, for the long-term mechanism (2012-12-31) too.

The launch is set to 2011-03-01 — the day of the city's 推进会议 ("2011年3月1日,我市专门召开推进
会议") — through the campaign's start data: a campaign started in 2011 cannot have been
launched "by the end of 2010". The other three dates are the source's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import InvalidState, NotFound
from ..models import HumanTask, ProcessInstance, TaskState
from ..parsing import read_sources
from ..runtime import Runtime
from ..services.clock import is_simulated, now, set_clock
from ..services.deployment import deploy
from ..services.instances import start_instance
from ..services.jobs import run_pending_jobs
from ..services.tasks import complete_task
from ..services.timers import advance_to
from . import membership
from .models import AccountRole, MilestoneReport, Unit
from .models.org import Account
from .rehearsal_answers import Asked, answer
from .rehearsal_events import Events
from .rehearsal_proof import accountability, disposals_by_source, separation
from .services.milestones import list_milestone_reports
from .services.organisation import actor_for

CHINA = timezone(timedelta(hours=8), "+08:00")
START = datetime(2011, 1, 4, 9, 0, tzinfo=CHINA)
END = datetime(2013, 1, 1, 9, 0, tzinfo=CHINA)
CAMPAIGN, CAMPAIGN_KEY, YEAR = "campaign", "campaign-2011", 2011
#: "2011年3月1日,我市专门召开推进会议": the launch the rehearsal's campaign is held to.
LAUNCH_DAY = "2011-03-01"
STEP = timedelta(days=7)
#: A task is answered at the first round at least this long after it appeared.
RESPONSE = timedelta(days=3)
SELF_CHECKS = 4
COMMISSION_ROLE = "discipline_commission"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Lag:
    """A unit's people leave ``elements`` (BPMN element ids) alone until ``until``."""

    elements: frozenset[str]
    until: datetime
    why: str


LATE_START = Lag(frozenset({"unit_discovery", "department_discovery [child]"}),
                 datetime(2011, 8, 1, 9, 0, tzinfo=CHINA),
                 "starts late: unit and department discovery only in August 2011")
STALLED_REVIEW = Lag(frozenset({"review"}), datetime(2012, 1, 16, 9, 0, tzinfo=CHINA),
                     "stalls at review: the posts' levels reviewed only in January 2012")


def default_lags(units: Sequence[str]) -> dict[str, Lag]:
    """The last unit starts late, the one before it stalls (with three units or more)."""
    if len(units) < 3:
        return {}
    return {units[-1]: LATE_START, units[-2]: STALLED_REVIEW}


@dataclass(frozen=True)
class ReportLine:
    report_id: int
    milestone: str
    due_at: datetime
    units_on_track: int
    units_total: int
    late_units: list[str]

    @property
    def coverage(self) -> float:
        return self.units_on_track / self.units_total if self.units_total else 1.0


@dataclass
class Rehearsal:
    """What a rehearsal did."""

    campaign_id: int
    units: list[str]
    lags: dict[str, str]
    rounds: int = 0
    tasks_completed: int = 0
    timers_fired: int = 0
    seconds: float = 0.0
    reports: list[ReportLine] = field(default_factory=list)
    #: Completed steps judging a post, and those done by the post's holder (回避: 0).
    supervisory_steps: int = 0
    self_supervised: int = 0
    #: 后期处置 started per source (self_check, monitoring, complaint, register).
    disposals: dict[str, int] = field(default_factory=dict)
    #: …and how many of them ended in accountability (追究).
    accountability: int = 0
    #: What happened besides answering tasks (public feedback, disposals started by hand).
    events: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "units": self.units, "lags": self.lags,
                "rounds": self.rounds, "tasks_completed": self.tasks_completed,
                "timers_fired": self.timers_fired, "seconds": round(self.seconds, 2),
                "supervisory_steps": self.supervisory_steps,
                "self_supervised": self.self_supervised, "disposals": self.disposals,
                "accountability": self.accountability, "events": self.events,
                "reports": [{"report_id": r.report_id, "milestone": r.milestone,
                             "due_at": r.due_at.isoformat(),
                             "units_on_track": r.units_on_track,
                             "units_total": r.units_total, "coverage": round(r.coverage, 4),
                             "late_units": r.late_units} for r in self.reports]}


def rehearse(rt: Runtime, *, units: Sequence[str] | None = None,
             lags: Mapping[str, Lag] | None = None, until: datetime = END,
             say: Say | None = None,
             progress: Callable[[datetime], None] | None = None) -> Rehearsal:
    """Run the rehearsal on ``rt``'s database (organisation loaded, clock not past
    2011-01-04 09:00, no ``campaign-2011`` yet); see the module docstring. ``progress`` is
    told the simulated time each weekly round reached (the CLI's progress bar)."""
    started = time.perf_counter()
    note = say or (lambda _text: None)
    with rt.uow() as uow:
        chosen = _units(uow, units)
        commission = _commission(uow)
        _prepare(rt, uow)
        lag_of = dict(default_lags(chosen) if lags is None else lags)
        events = Events.of(uow, chosen, YEAR)
        campaign = start_instance(uow, CAMPAIGN, CAMPAIGN_KEY, {
            "year": YEAR, "units": chosen, "milestones": {"launch": LAUNCH_DAY}},
            actor=commission)
    result = Rehearsal(campaign.id, chosen, {u: lag.why for u, lag in lag_of.items()})
    note(f"campaign {CAMPAIGN_KEY} (instance {campaign.id}) over {len(chosen)} units; "
         + ("; ".join(f"{u} {why}" for u, why in result.lags.items()) or "no lagging unit"))
    people = _People(rt)
    at = START
    while True:
        with rt.uow() as uow:
            result.timers_fired += advance_to(uow, at)
        result.rounds += 1
        result.tasks_completed += _work(rt, people, lag_of, at, result)
        for line in events.happen(rt, at, people.first_of):
            result.events.append(f"{at.astimezone(CHINA):%Y-%m-%d}: {line}")
            note(result.events[-1])
        if at.month != (at - STEP).month:
            note(f"{at.astimezone(CHINA):%Y-%m-%d}: {result.tasks_completed} tasks done, "
                 f"{result.timers_fired} timers fired")
        if progress is not None:
            progress(at)
        if at >= until:
            break
        at = min(at + STEP, until)
    with rt.uow(write=False) as uow:
        result.reports = [_line(r) for r in list_milestone_reports(uow, campaign.id)]
        _prove(uow, result)
    result.seconds = time.perf_counter() - started
    return result


def _prove(uow: UnitOfWork, result: Rehearsal) -> None:
    steps = separation(uow)
    result.supervisory_steps, result.self_supervised = (steps.supervisory_steps,
                                                        steps.self_supervised)
    result.disposals = disposals_by_source(uow)
    result.accountability = accountability(uow)


def _line(report: MilestoneReport) -> ReportLine:
    return ReportLine(report.id, report.name, report.due_at, report.units_on_track,
                      report.units_total, report.late_units)


def _units(uow: UnitOfWork, wanted: Sequence[str] | None) -> list[str]:
    known = list(uow.session.scalars(select(Unit.code).order_by(Unit.code)))
    if not known:
        raise NotFound("no organisation is loaded (irpm demo load loads the demo city)")
    if not wanted:
        return known
    unknown = [u for u in wanted if u not in known]
    if unknown:
        raise NotFound(f"no unit {', '.join(unknown)} (known: {', '.join(known)})")
    return list(dict.fromkeys(wanted))


def _commission(uow: UnitOfWork) -> Actor:
    username = uow.session.scalar(
        select(Account.username).join(AccountRole, AccountRole.account_id == Account.id)
        .where(AccountRole.role == COMMISSION_ROLE, Account.active.is_(True))
        .order_by(Account.id).limit(1))
    if username is None:
        raise NotFound("no account of the city's discipline commission (role "
                       f"{COMMISSION_ROLE}); the demo city has 'jiwei'")
    return actor_for(uow, username)


def _prepare(rt: Runtime, uow: UnitOfWork) -> None:
    """Deploy bpmn/ (a no-op when deployed) and put the simulated clock at the start
    (switching from the system clock if need be; a simulated clock never goes back)."""
    if uow.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.process_id == CAMPAIGN,
            ProcessInstance.business_key == CAMPAIGN_KEY).limit(1)) is not None:
        raise InvalidState(f"the campaign {CAMPAIGN_KEY} was started already; rehearse on a "
                           "fresh database (irpm db upgrade, irpm demo load)")
    deploy(uow, read_sources([rt.settings.bpmn_dir]), deployed_by="rehearsal")
    current = now(uow)
    if is_simulated(uow) and current > START:
        raise InvalidState(f"the clock reads {current.isoformat()}, after the rehearsal's "
                           f"start {START.isoformat()}; it cannot go back")
    set_clock(uow, START)


class _People:
    """Whom a task goes to, as actors, looked up once per login."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.actors: dict[str, Actor] = {}
        self.groups: dict[str, list[str]] = {}

    def _people(self, uow: UnitOfWork, users: list[str], groups: list[str]) -> list[str]:
        logins = sorted(users)
        missing = [g for g in groups if g not in self.groups]
        if missing:
            for group, people in membership.members(uow, missing).items():
                self.groups[group] = sorted(people)
        for group in sorted(groups):
            logins += self.groups.get(group, [])
        return logins

    def _actor(self, uow: UnitOfWork, login: str) -> Actor:
        if login not in self.actors:
            self.actors[login] = actor_for(uow, login)
        return self.actors[login]

    def first_of(self, uow: UnitOfWork, group: str) -> Actor | None:
        """The first member of ``group`` (e.g. a unit's discipline officer), or None."""
        logins = self._people(uow, [], [group])
        return self._actor(uow, logins[0]) if logins else None

    def for_task(self, uow: UnitOfWork, task: HumanTask) -> Actor | None:
        """The first of the task's candidates it does not exclude (回避: the post holder
        does not check their own post; an escalated task goes to whom it went up to)."""
        excluded = set(self._people(uow, task.excluded_users, task.excluded_groups))
        logins = [login for login in self._people(uow, task.candidate_users,
                                                   task.candidate_groups)
                  if login not in excluded]
        return self._actor(uow, logins[0]) if logins else None


def _open_tasks(uow: UnitOfWork, at: datetime) -> list[HumanTask]:
    return list(uow.session.scalars(select(HumanTask).where(
        HumanTask.state == TaskState.OPEN, HumanTask.created_at <= at - RESPONSE)
        .order_by(HumanTask.created_at, HumanTask.id)))


def _self_checks(uow: UnitOfWork, instance_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    return dict(uow.session.execute(
        select(HumanTask.instance_id, func.count()).where(
            HumanTask.instance_id.in_(ids), HumanTask.element_id == "self_check",
            HumanTask.state == TaskState.COMPLETED).group_by(HumanTask.instance_id)).all())


def _work(rt: Runtime, people: _People, lags: Mapping[str, Lag], at: datetime,
          result: Rehearsal) -> int:
    """Complete every task that is due for an answer this round, until none is left."""
    done = 0
    skipped: set[uuid.UUID] = set()
    while True:
        with rt.uow(write=False) as uow:
            tasks = [t for t in _open_tasks(uow, at) if t.id not in skipped]
            checks = _self_checks(uow, (t.instance_id for t in tasks
                                        if t.element_id == "monitoring"))
            plan = []
            for task in tasks:
                lag = lags.get(task.unit_code or "")
                if lag is not None and task.element_id in lag.elements and at < lag.until:
                    skipped.add(task.id)
                    continue
                if task.element_id == "monitoring" and \
                        checks.get(task.instance_id, 0) < SELF_CHECKS:
                    skipped.add(task.id)
                    continue
                actor = people.for_task(uow, task)
                if actor is None:
                    skipped.add(task.id)
                    continue
                plan.append((task.id, Asked(task.element_id,
                                            task.post_code or task.unit_code or "",
                                            task.instance_id), actor))
        if not plan:
            return done
        for task_id, asked, actor in plan:
            with rt.uow() as uow:
                complete_task(uow, task_id, actor, answer(uow, asked, result.campaign_id))
            done += 1
        with rt.uow() as uow:  # the jobs those steps queued (the mobilisation's cycles),
            run_pending_jobs(uow)  # run as the scheduler would before anyone looks again
