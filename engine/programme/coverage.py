"""Coverage rules: is a unit where a milestone says it must be?

Each rule reads what the programme has already written — the unit's ``unit_cycle`` instance
and its open tasks, its posts' ``post_cycle`` instances, the register's gradings — never a
workflow's serialized state, so a whole city is evaluated with a handful of indexed queries.

======================= ==============================================================
rule                    a unit is on track when
======================= ==============================================================
``launch``              the campaign was mobilised (广泛宣传发动 done) by the deadline and
                        the unit's cycle has started and is not stopped (error, suspended,
                        terminated); mobilised late, every unit is late
``rollout``             its cycle is running and the work has reached every department:
                        the unit's own and every department's risk discovery are in
                        ("在全市所有部门和单位推开")
``initial_network``     every post of the unit is graded, its level published (公示) and
                        filed (建立信息档案) for the year — "覆盖……所有岗位的工作网络"
``long_term_mechanism`` its cycle has completed: every post's cycle, the unit's assessment
                        (考核评估) and every correction (纠正) are done
======================= ==============================================================

A late unit carries its reasons: a code, a short text in the programme's language (it goes
into the yellow and red cards and the report) and, where it helps, up to ``SHOWN`` of the
departments or posts still missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..models import HumanTask, InstanceStatus, ProcessInstance, TaskState
from .models import Account, Department, Post, PostGrading, Unit

RULES = ("launch", "rollout", "initial_network", "long_term_mechanism")
UNIT_PROCESS, POST_PROCESS = "unit_cycle", "post_cycle"
#: Cycles in these states still count as started; the others are stopped.
GOING = (InstanceStatus.RUNNING.value, InstanceStatus.WAITING.value,
         InstanceStatus.COMPLETED.value)
#: Departments or posts named in a reason, at most.
SHOWN = 5
DISCOVERY = ("unit_discovery", "department_discovery [child]")
#: The post cycle's first step after 建立信息档案: its task exists once the post is filed.
FILED_MARK = "prevention"


@dataclass
class UnitCoverage:
    unit_code: str
    unit_name: str
    on_track: bool
    done: int
    total: int
    reasons: list[dict[str, Any]] = field(default_factory=list)
    #: The login of the unit's principal (主要领导), who answers for it.
    principal: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name,
                "on_track": self.on_track, "done": self.done, "total": self.total,
                "reasons": self.reasons, "principal": self.principal}


def reason(code: str, text: str, items: Iterable[str] = ()) -> dict[str, Any]:
    shown = sorted(items)
    if len(shown) > SHOWN:
        text += f"(如 {'、'.join(shown[:SHOWN])} 等)"
    elif shown:
        text += f":{'、'.join(shown)}"
    return {"code": code, "text": text, "items": shown[:SHOWN]}


def unit_cycle_key(unit_code: str, year: int) -> str:
    """The business key campaign.bpmn gives a unit's cycle."""
    return f"unit_cycle:{unit_code}:{year}"


def evaluate(uow: UnitOfWork, campaign_id: int, year: int, units: list[str],
             rule: str, due_at: datetime, now: datetime) -> list[UnitCoverage]:
    """Every unit of the campaign under ``rule`` as of ``now``, in the campaign's order."""
    if rule not in RULES:
        raise ValueError(f"unknown coverage rule {rule!r} (known: {', '.join(RULES)})")
    s = uow.session
    known = {u.code: u for u in s.scalars(select(Unit).where(Unit.code.in_(units)))}
    principals = _principals(uow, [u.principal_id for u in known.values()])
    cycles = _cycles(uow, [unit_cycle_key(u, year) for u in units])
    mobilised_at = _mobilised_at(uow, campaign_id) if rule == "launch" else None
    found = []
    for code in units:
        unit = known.get(code)
        if unit is None:
            found.append(UnitCoverage(code, code, False, 0, 1, [reason(
                "unknown_unit", f"组织机构中没有单位 {code}")]))
            continue
        cycle = cycles.get(unit_cycle_key(code, year))
        coverage = UnitCoverage(code, unit.name, False, 0, 1,
                                principal=principals.get(unit.principal_id))
        found.append(coverage)
        if rule == "launch" and (mobilised_at is None or mobilised_at > due_at):
            coverage.reasons.append(reason(
                "campaign_not_mobilised", "全市宣传发动尚未完成" if mobilised_at is None
                else "全市宣传发动晚于节点日期"))
            continue
        if cycle is None and rule == "launch" and mobilised_at == now:
            # Mobilised in this very step: the cycles start in the background job it
            # queued (engine.jobs), so none exists yet.
            coverage.done, coverage.on_track = 1, True
            continue
        if cycle is None:
            coverage.reasons.append(reason("cycle_not_started", "单位年度循环尚未启动"))
            continue
        if cycle.status not in GOING:
            coverage.reasons.append(reason("cycle_stopped",
                                           f"单位年度循环已停止(状态 {cycle.status})"))
            continue
        RULE_CHECKS[rule](uow, coverage, unit, cycle, year)
        coverage.on_track = not coverage.reasons
    return found


def _principals(uow: UnitOfWork, official_ids: list[int | None]) -> dict[int | None, str]:
    wanted = [i for i in official_ids if i is not None]
    if not wanted:
        return {}
    return {official_id: username for official_id, username in uow.session.execute(
        select(Account.official_id, Account.username).where(
            Account.official_id.in_(wanted), Account.active.is_(True)))}


def _cycles(uow: UnitOfWork, keys: list[str]) -> dict[str, ProcessInstance]:
    """The latest unit cycle under each business key."""
    latest: dict[str, ProcessInstance] = {}
    for cycle in uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_id == UNIT_PROCESS,
            ProcessInstance.business_key.in_(keys)).order_by(ProcessInstance.id)):
        latest[cycle.business_key or ""] = cycle
    return latest


def _mobilised_at(uow: UnitOfWork, campaign_id: int) -> datetime | None:
    return uow.session.scalar(select(func.min(HumanTask.completed_at)).where(
        HumanTask.instance_id == campaign_id, HumanTask.element_id == "mobilization",
        HumanTask.state == TaskState.COMPLETED))


def _launch(uow: UnitOfWork, coverage: UnitCoverage, unit: Unit, cycle: ProcessInstance,
            year: int) -> None:
    coverage.done = 1


def _rollout(uow: UnitOfWork, coverage: UnitCoverage, unit: Unit, cycle: ProcessInstance,
             year: int) -> None:
    departments = [d.code for d in unit.departments]
    coverage.total = 1 + len(departments)
    coverage.done = coverage.total
    if cycle.status == InstanceStatus.COMPLETED:
        return
    pending = list(uow.session.execute(select(HumanTask.element_id, HumanTask.department_code)
                                       .where(HumanTask.instance_id == cycle.id,
                                              HumanTask.state == TaskState.OPEN,
                                              HumanTask.element_id.in_(DISCOVERY))))
    if any(element == DISCOVERY[0] for element, _d in pending):
        coverage.done -= 1
        coverage.reasons.append(reason("unit_discovery_pending", "单位层面风险尚未查找上报"))
    late = [d or "?" for element, d in pending if element == DISCOVERY[1]]
    if late:
        coverage.done -= len(late)
        coverage.reasons.append(reason("departments_pending",
                                       f"{len(late)} 个内设机构尚未查找上报风险", late))


def _initial_network(uow: UnitOfWork, coverage: UnitCoverage, unit: Unit,
                     cycle: ProcessInstance, year: int) -> None:
    s = uow.session
    posts = dict(s.execute(select(Post.id, Post.code).join(Department, Post.department_id
                                                           == Department.id)
                           .where(Department.unit_id == unit.id)).all())
    coverage.total = len(posts) or 1
    gradings = dict(s.execute(select(PostGrading.post_id, PostGrading.published_at).where(
        PostGrading.year == year, PostGrading.post_id.in_(list(posts)))).all())
    filed = set(s.scalars(
        select(ProcessInstance.business_key).join(HumanTask,
                                                  HumanTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.parent_instance_id == cycle.id,
               ProcessInstance.process_id == POST_PROCESS,
               HumanTask.element_id == FILED_MARK).distinct()))
    filed |= set(s.scalars(select(ProcessInstance.business_key).where(
        ProcessInstance.parent_instance_id == cycle.id,
        ProcessInstance.process_id == POST_PROCESS,
        ProcessInstance.status == InstanceStatus.COMPLETED)))
    missing: dict[str, list[str]] = defaultdict(list)
    for post_id, code in posts.items():
        if post_id not in gradings:
            missing["posts_not_graded"].append(code)
        elif gradings[post_id] is None:
            missing["posts_not_published"].append(code)
        elif code not in filed:
            missing["posts_not_filed"].append(code)
    texts = {"posts_not_graded": "{n} 个岗位尚未确定风险等级",
             "posts_not_published": "{n} 个岗位的风险等级尚未公示",
             "posts_not_filed": "{n} 个岗位尚未建立信息档案"}
    for code, text in texts.items():
        if missing[code]:
            coverage.reasons.append(reason(code, text.format(n=len(missing[code])),
                                           missing[code]))
    coverage.done = len(posts) - sum(len(v) for v in missing.values())


def _long_term_mechanism(uow: UnitOfWork, coverage: UnitCoverage, unit: Unit,
                         cycle: ProcessInstance, year: int) -> None:
    s = uow.session
    statuses = list(s.execute(select(ProcessInstance.business_key, ProcessInstance.status)
                              .where(ProcessInstance.parent_instance_id == cycle.id,
                                     ProcessInstance.process_id == POST_PROCESS)))
    running = [key or "?" for key, status in statuses if status != InstanceStatus.COMPLETED]
    coverage.total = len(statuses) + 1
    if cycle.status == InstanceStatus.COMPLETED:
        coverage.done = coverage.total
        return
    coverage.done = len(statuses) - len(running)
    if running:
        coverage.reasons.append(reason("post_cycles_open",
                                       f"{len(running)} 个岗位的年度循环尚未完成", running))
    open_tasks = dict(s.execute(select(HumanTask.element_id, func.count())
                                .where(HumanTask.instance_id == cycle.id,
                                       HumanTask.state == TaskState.OPEN)
                                .group_by(HumanTask.element_id)).all())
    if open_tasks.get("unit_assessment"):
        coverage.reasons.append(reason("assessment_pending", "单位考核评估尚未完成"))
    elif corrections := open_tasks.get("unit_correction [child]"):
        coverage.reasons.append(reason("corrections_open", f"{corrections} 项纠正尚未完成"))
    elif not running:
        coverage.reasons.append(reason("unit_work_open", "单位层面或内设机构的工作尚未完成"))


RULE_CHECKS = {"launch": _launch, "rollout": _rollout, "initial_network": _initial_network,
               "long_term_mechanism": _long_term_mechanism}
