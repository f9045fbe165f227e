"""后期处置 in the risk register: what one disposal writes, step by step, in the caller's
transaction (the disposal's service tasks call these through ``register.record_disposal``).

Source: "针对日常监控中发现的漏洞和薄弱环节,完善廉政风险防范措施……对有明显风险表现的个人及时进行
提醒和纠错……对群众有投诉、社会有反映、不按照规定落实廉政风险防范措施的,采取谈话提醒、诫勉纠错等
措施,帮助和督促其及时纠正工作中的失误和偏差。对整改不力,群众仍有反映的,按照相关规定予以追究。"

- ``record_finding`` — the finding (问题线索) as a risk point of the post, ``found_by`` the
  channel it came through; every field of it is logged with why the disposal began. A
  finding without likelihood and harm is kept at level 3 (几率较小、一定影响), so it never
  changes the published level by itself; one the officer graded re-grades the post like any
  risk point (``register_grading.regrade_if_graded``).
- ``record_step`` — each measure (提醒, 谈话提醒, 诫勉), the holder's correction (纠错整改) and
  each verification (核查整改情况) as a *disposal* measure against that risk point, done, owned
  by the official who carries it out; the risk point is then controlled.
- ``record_outcome`` — 结案 (``corrected``: the risk point closed) or 追究 (``accountability``:
  a measure saying where the case went, then closed).
- ``post_standing`` — the post's level and the roles answering for it, and
  ``disposal_outcomes`` — a post's disposals of a year by outcome, for the assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import ValidationFailed
from ...models import ProcessInstance
from ..grading import post_rule_level, responsibility, risk_level
from ..models import (
    ControlMeasure,
    MeasureKind,
    MeasureStatus,
    Official,
    Post,
    PostGrading,
    RiskPoint,
    RiskStatus,
)
from ..registerschema import AddRiskPoints
from .register_grading import regrade_if_graded
from .register_measures import new_measure
from .register_writes import RISK_POINT, by_code, history, load_input, locked

PROCESS = "disposal"
CHINA = timezone(timedelta(hours=8), "+08:00")
#: What each step writes, as the measure's label (its description starts "<label>:").
LABELS = {"reminder": "提醒", "talk": "谈话提醒", "admonishment": "诫勉",
          "correction": "纠错整改", "verification": "核查整改情况", "accountability": "追究"}
#: Who carries out each step, unless the caller names the leader (the responsible one).
OWNERS = {"correction": "post_holder", "verification": "discipline_officer",
          "accountability": "discipline_officer"}
#: Why a finding's risk point is closed (the reason its register history gives).
OUTCOME_REASONS = {"corrected": "后期处置:整改到位,结案",
                   "accountability": "后期处置:整改不力或群众仍有反映,予以追究"}
#: A finding nobody graded: 几率较小 and 不良社会影响或一定经济损失 — level 3 (产品约定).
UNGRADED = {"category": "duty", "likelihood": "low", "harm": "minor"}
MAX_TEXT = 2000


@dataclass(frozen=True)
class Standing:
    """A post's level for a year and who answers for it: the grading's (``graded``), else
    what the rules give now — the post's rule level and its risk points of the year."""

    level: int
    responsible_role: str
    direct_manager_role: str
    graded: bool

    def as_data(self) -> dict[str, Any]:
        return {"post_level": self.level, "responsible_role": self.responsible_role,
                "direct_manager_role": self.direct_manager_role, "level_graded": self.graded}


def post_standing(uow: UnitOfWork, post: Post, year: int) -> Standing:
    grading = uow.session.scalar(select(PostGrading).where(
        PostGrading.post_id == post.id, PostGrading.year == year))
    if grading is not None:
        return Standing(grading.effective_level, grading.responsible_role,
                        grading.direct_manager_role, True)
    uow.session.flush()
    risk = uow.session.scalar(select(func.min(RiskPoint.level)).where(
        RiskPoint.post_id == post.id, RiskPoint.year == year))
    rule = post_rule_level(uow, post)  # outside the post cycle: the latest deployed tables
    level = rule if risk is None else min(rule, risk)
    return Standing(level, *responsibility(uow, level), False)


def record_finding(uow: UnitOfWork, post_code: str, year: int, finding: Mapping[str, Any],
                   actor: Actor, *, instance_id: int | None, why: str) -> RiskPoint:
    """The finding ``{description, found_by, category?, likelihood?, harm?}`` as a risk
    point of the post in ``year``; every field logged with ``why``."""
    point = {**UNGRADED, **{k: finding[k] for k in ("category", "likelihood", "harm")
                            if finding.get(k)},
             "description": _clip(str(finding.get("description") or "")),
             "found_by": finding.get("found_by")}
    data = load_input(AddRiskPoints, {"post": post_code, "year": year, "points": [point],
                                      "source_instance": instance_id}, "disposal finding")
    post = by_code(uow, Post, "post", data["post"])
    log = history(uow, actor, why)
    [loaded] = data["points"]
    row = RiskPoint(post=post, year=data["year"], **loaded,
                    level=risk_level(uow, loaded["likelihood"], loaded["harm"]),
                    status=RiskStatus.IDENTIFIED.value, created_at=log.at,
                    created_by=actor.user, source_instance_id=instance_id)
    uow.session.add(row)
    uow.session.flush()
    log.created(RISK_POINT, row.id, {
        "post": post.code, "year": row.year, "category": row.category,
        "description": row.description, "found_by": row.found_by,
        "likelihood": row.likelihood, "harm": row.harm, "level": row.level,
        "status": row.status, "source_instance": instance_id})
    regrade_if_graded(uow, post, row.year, log, points=[row])
    return row


def record_step(uow: UnitOfWork, risk_point_id: int, step: str, text: str, actor: Actor, *,
                owner_role: str | None = None) -> ControlMeasure:
    """One step of the disposal as a done disposal measure ``"<label>:<text>"`` against the
    finding's risk point, owned by the official in ``owner_role`` of the post (default: the
    step's own, ``OWNERS``); the risk point becomes controlled."""
    if step not in LABELS:
        raise ValidationFailed(f"unknown disposal step {step!r}; one of {', '.join(LABELS)}",
                               {"step": ["unknown"]})
    point = _finding(uow, risk_point_id)
    role = owner_role or OWNERS.get(step)
    if role is None:
        raise ValidationFailed(f"disposal step {step!r} needs the leader who carries it out",
                               {"owner_role": ["required"]})
    log = history(uow, actor)
    today = log.at.astimezone(CHINA).date()
    assert point.post is not None  # _finding
    owner = _official(point.post, role)
    measure = new_measure(uow, point, {
        "kind": MeasureKind.DISPOSAL.value, "description": _clip(f"{LABELS[step]}:{text}"),
        "owner": owner.code, "due_date": today, "status": MeasureStatus.DONE.value}, log)
    if point.status not in (RiskStatus.CONTROLLED.value, RiskStatus.CLOSED.value):
        log.set(RISK_POINT, point, "status", RiskStatus.CONTROLLED.value)
    return measure


def record_outcome(uow: UnitOfWork, risk_point_id: int, outcome: str, text: str,
                   actor: Actor) -> RiskPoint:
    """结案 (``corrected``) or 追究 (``accountability``, ``text`` saying where it went): the
    risk point is closed, the change carrying the outcome as its reason."""
    if outcome not in ("corrected", "accountability"):
        raise ValidationFailed(f"unknown disposal outcome {outcome!r}",
                               {"outcome": ["corrected or accountability"]})
    point = _finding(uow, risk_point_id)
    if outcome == "accountability":
        record_step(uow, risk_point_id, "accountability", text, actor)
    history(uow, actor, _clip(f"{OUTCOME_REASONS[outcome]}。{text}")).set(
        RISK_POINT, point, "status", RiskStatus.CLOSED.value)
    return point


def disposal_outcomes(uow: UnitOfWork, post_code: str, year: int) -> dict[str, int]:
    """The post's disposals of ``year`` by outcome: ``{total, open, corrected,
    accountability}`` — a finding whose risk point is closed was corrected unless an 追究
    measure stands against it."""
    post = by_code(uow, Post, "post", post_code)
    disposals = select(ProcessInstance.id).where(ProcessInstance.process_id == PROCESS)
    points = list(uow.session.execute(select(RiskPoint.id, RiskPoint.status).where(
        RiskPoint.post_id == post.id, RiskPoint.year == year,
        RiskPoint.source_instance_id.in_(disposals))))
    referred = set(uow.session.scalars(select(ControlMeasure.risk_point_id).where(
        ControlMeasure.risk_point_id.in_([p for p, _s in points]),
        ControlMeasure.kind == MeasureKind.DISPOSAL.value,
        ControlMeasure.description.startswith(f"{LABELS['accountability']}:"))))
    closed = {p for p, status in points if status == RiskStatus.CLOSED.value}
    return {"total": len(points), "open": len(points) - len(closed),
            "corrected": len(closed - referred), "accountability": len(closed & referred)}


def _finding(uow: UnitOfWork, risk_point_id: int) -> RiskPoint:
    """The finding's risk point, locked; it must be a post's."""
    point: RiskPoint = locked(uow, RiskPoint, risk_point_id)
    if point.post is None:
        raise ValidationFailed(f"risk point {risk_point_id} is not a post's: a disposal "
                               "concerns one post", {"risk_point": ["not a post's"]})
    return point


def _official(post: Post, role: str) -> Official:
    """The official of ``post`` in ``role``; a vacant post falls back to its head, a vacant
    deputy or discipline officer to the principal."""
    department, unit = post.department, post.department.unit
    chains: dict[str, tuple[Official | None, ...]] = {
        "post_holder": (post.holder, department.head),
        "department_head": (department.head,),
        "deputy_in_charge": (department.deputy_in_charge, unit.principal),
        "principal": (unit.principal,),
        "discipline_officer": (unit.discipline_officer, unit.principal)}
    if role not in chains:
        raise ValidationFailed(f"unknown role {role!r} for a disposal measure",
                               {"owner_role": ["unknown"]})
    official = next((o for o in chains[role] if o is not None), None)
    if official is None:
        raise ValidationFailed(f"post {post.code} has no {role} to carry the measure out",
                               {"owner_role": [f"{role} vacant"]})
    return official


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"
