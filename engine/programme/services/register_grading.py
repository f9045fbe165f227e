"""Post gradings in the risk register: a post's level for a year, the reviewer's change of it,
and its publication (公示).

The grading follows the source's rules, which are the deployed decision tables
(``engine.programme.grading`` evaluates bpmn/post_grading.dmn, risk_grading.dmn and
responsibility.dmn as deployed — with the instance's process version when a process grades):
"根据岗位风险发生的几率大小、可能造成的危害程度,将岗位廉政风险等级划分为三级" — a post's level is
the most severe of its post rule level and its risk points of that year. A reviewer may change
it only with a written reason ("严格审核把关,确定岗位廉政风险等级"), and the roles answering for the
post follow the level in force ("分级管理、分级负责"). The post rule's level is a floor no
review goes below (``check_floor``). ``regrade_if_graded`` is how a change to a post's risk
points (``register_risk_points``, ``register_disposal``) keeps its stored level in step, and
lifts it when a later risk point demands more (``register_lifts``).
Validation, lookups and the change history are ``register_writes``'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import Conflict, NotFound, ValidationFailed
from ..grading import post_floor, post_rule_level, responsibility
from ..models import Department, Post, PostGrading, RiskPoint, RiskStatus, Unit
from ..registerschema import OverrideLevel, PostYear, UnitYear
from . import register_lifts
from .register_lifts import Standing
from .register_writes import GRADING, RISK_POINT, History, by_code, history, load_input

#: Risk point statuses that grading and publication move on; later ones are left alone.
UNPUBLISHED = (RiskStatus.IDENTIFIED.value, RiskStatus.GRADED.value)


def _grading_fields(grading: PostGrading) -> dict[str, Any]:
    return {"post": grading.post.code, "year": grading.year,
            "rule_level": grading.rule_level, "risk_level": grading.risk_level,
            "level": grading.level, "responsible_role": grading.responsible_role,
            "direct_manager_role": grading.direct_manager_role}


def find_grading(uow: UnitOfWork, post: Post, year: int) -> PostGrading | None:
    """The post's grading of ``year``, locked (after its risk points: the register's lock
    order), or ``None`` if it was never graded."""
    return uow.session.scalar(select(PostGrading).where(
        PostGrading.post_id == post.id, PostGrading.year == year).with_for_update())


def _set_roles(uow: UnitOfWork, grading: PostGrading, log: History,
               definition_id: int | None) -> bool:
    responsible, manager = responsibility(uow, grading.effective_level,
                                          definition_id=definition_id)
    changed = log.set(GRADING, grading, "responsible_role", responsible)
    return log.set(GRADING, grading, "direct_manager_role", manager) or changed


def _grade(uow: UnitOfWork, post: Post, year: int, log: History,
           grading: PostGrading | None, definition_id: int | None) -> PostGrading:
    """Store the rule's answer: the most severe (lowest) of the post's rule level and its
    risk points' levels that year; the tables are those of process version
    ``definition_id`` (None: the latest deployed)."""
    uow.session.flush()  # the session does not autoflush: count pending risk points too
    rule = post_rule_level(uow, post, definition_id=definition_id)
    risk = uow.session.scalar(select(func.min(RiskPoint.level)).where(
        RiskPoint.post_id == post.id, RiskPoint.year == year))
    level = rule if risk is None else min(rule, risk)
    if grading is None:
        grading = PostGrading(post=post, year=year, rule_level=rule, risk_level=risk,
                              level=level, graded_at=log.at, graded_by=log.who)
        grading.responsible_role, grading.direct_manager_role = responsibility(
            uow, level, definition_id=definition_id)
        uow.session.add(grading)
        uow.session.flush()
        log.created(GRADING, grading.id, _grading_fields(grading))
        return grading
    changed = [log.set(GRADING, grading, "rule_level", rule),
               log.set(GRADING, grading, "risk_level", risk),
               log.set(GRADING, grading, "level", level),
               _set_roles(uow, grading, log, definition_id)]
    if any(changed):
        grading.graded_at, grading.graded_by = log.at, log.who
    return grading


def regrade_if_graded(uow: UnitOfWork, post: Post, year: int, log: History, *,
                      definition_id: int | None = None,
                      points: Sequence[RiskPoint] = ()) -> None:
    """After a change to the post's risk points (``points``: those recorded or changed):
    re-grade it if it was graded that year, so the stored level never lags its risk points
    (an ungraded post waits for its grading), and lift it if they demand more.

    The level in force after a later risk point is the most severe (lowest number) of the
    floor (the post rule), the level in force before it (the rule's combined level, or a
    reviewer's, who weighed the points known then) and the new points' own levels: a later
    point can raise a level, never lower it below an earlier reviewer's raise or the floor.
    A rise is written to the grading with the points as its cause — a reviewer's level is
    replaced by the raised one, ``override_reason`` naming the cause — and followed through
    (``register_lifts.follow``: the roles, the open tasks, what the new level requires)."""
    grading = find_grading(uow, post, year)
    if grading is None:
        return
    before = Standing.of(grading)
    cause = register_lifts.cause(points, before.level)
    why = f"{log.reason};{cause}" if log.reason else cause
    lift = History(log.session, log.who, log.at, why)
    _grade(uow, post, year, lift, grading, definition_id)
    reviewed = grading.override_level
    target = None if reviewed is None else min(reviewed, grading.rule_level,
                                               *(p.level for p in points))
    if reviewed is not None and target is not None and target < reviewed:
        lift.set(GRADING, grading, "override_level", target)
        lift.set(GRADING, grading, "override_reason", why)
        lift.set(GRADING, grading, "overridden_by", log.who)
        _set_roles(uow, grading, lift, definition_id)
    register_lifts.follow(uow, grading, before, why, lift.who)


def grade_post(uow: UnitOfWork, post_code: str, year: int, actor: Actor) -> PostGrading:
    """确定风险等级: grade (or re-grade) a post for ``year``; its risk points of that year
    that were only identified become graded."""
    grading = grade(uow, post_code, year, actor)
    uow.commit()
    return grading


def grade(uow: UnitOfWork, post_code: str, year: int, actor: Actor, *,
          definition_id: int | None = None) -> PostGrading:
    """``grade_post`` in the caller's transaction (no commit), by the tables of process
    version ``definition_id`` (a service task passes its instance's; None: the latest)."""
    data = load_input(PostYear, {"post": post_code, "year": year}, "grading")
    post = by_code(uow, Post, "post", data["post"])
    # Locks in one order everywhere — risk points (by id), then the grading — so concurrent
    # writes on PostgreSQL queue instead of deadlocking.
    points = list(uow.session.scalars(select(RiskPoint).where(
        RiskPoint.post_id == post.id, RiskPoint.year == data["year"])
        .order_by(RiskPoint.id).with_for_update()))
    log = history(uow, actor)
    try:
        grading = _grade(uow, post, data["year"], log, find_grading(uow, post, data["year"]),
                         definition_id)
    except IntegrityError as exc:  # another grading of the same post and year won the race
        raise Conflict(f"post {post.code} was graded for {year} meanwhile; "
                       "grade it again") from exc
    for point in points:
        if point.status == RiskStatus.IDENTIFIED:
            log.set(RISK_POINT, point, "status", RiskStatus.GRADED.value)
    return grading


def override_level(uow: UnitOfWork, post_code: str, year: int, level: int, reason: str,
                   actor: Actor) -> PostGrading:
    """严格审核把关: the reviewer sets the post's level, giving a written reason (at least
    ``registerschema.MIN_REASON`` characters), which every resulting change carries."""
    grading = change_level(uow, post_code, year, level, reason, actor)
    uow.commit()
    return grading


def change_level(uow: UnitOfWork, post_code: str, year: int, level: int, reason: str,
                 actor: Actor, *, definition_id: int | None = None) -> PostGrading:
    """``override_level`` in the caller's transaction (no commit); the floor and the roles
    follow the tables of process version ``definition_id`` (None: the latest).

    The post rule's level is a floor: a reviewer may raise the level, or lower it as far as
    the floor, never below — a level below it is refused (``BelowFloor``) naming the rule's
    sentence, with nothing changed."""
    data = load_input(OverrideLevel, {"post": post_code, "year": year, "level": level,
                                      "reason": reason}, "level change")
    post = by_code(uow, Post, "post", data["post"])
    grading = find_grading(uow, post, data["year"])
    if grading is None:
        raise NotFound(f"post {post.code} has no grading for {data['year']}: grade it first")
    check_floor(uow, post, data["level"], definition_id=definition_id)
    before = Standing.of(grading)
    log = history(uow, actor, data["reason"])
    log.set(GRADING, grading, "override_level", data["level"])
    log.set(GRADING, grading, "override_reason", data["reason"])
    log.set(GRADING, grading, "overridden_by", actor.user)
    _set_roles(uow, grading, log, definition_id)
    register_lifts.follow(uow, grading, before, data["reason"], actor.user)
    return grading


class BelowFloor(ValidationFailed):
    """A level below the one the post rule demands (the floor)."""

    code = "below_floor"


def check_floor(uow: UnitOfWork, post: Post, level: int, *, field: str = "level",
                definition_id: int | None = None) -> None:
    """Refuse ``level`` for ``post`` if it is below the post rule's level (a larger number:
    level 1 is the highest risk), naming the rule's sentence; the error is keyed by
    ``field`` (a form's own field name)."""
    floor = post_floor(uow, post, definition_id=definition_id)
    if level > floor.level:
        message = (f"level {level} is below the floor of post {post.code}: its post rule "
                   f"demands level {floor.level} — “{floor.sentence}” (post_grading). A "
                   f"review may raise the level, or lower it to level {floor.level} at most")
        raise BelowFloor(message, {field: [message]})


def _unit_risk_points(unit: Unit, year: int) -> Any:
    """Risk points of every tier of ``unit`` in ``year`` (a select)."""
    departments = select(Department.id).where(Department.unit_id == unit.id)
    posts = select(Post.id).where(Post.department_id.in_(departments))
    return select(RiskPoint).where(RiskPoint.year == year, or_(
        RiskPoint.unit_id == unit.id, RiskPoint.department_id.in_(departments),
        RiskPoint.post_id.in_(posts)))


def publish(uow: UnitOfWork, unit_code: str, year: int, actor: Actor) -> list[PostGrading]:
    """公示: publish the levels of every post of the unit for ``year`` — the public page then
    lists them — and mark the unit's risk points of that year published. Every post must be
    graded first ("覆盖……所有岗位"); publishing again publishes only what was not yet."""
    data = load_input(UnitYear, {"unit": unit_code, "year": year}, "publication")
    unit = by_code(uow, Unit, "unit", data["unit"])
    points = list(uow.session.scalars(_unit_risk_points(unit, data["year"]).where(
        RiskPoint.status.in_(UNPUBLISHED)).order_by(RiskPoint.id).with_for_update()))
    posts = list(uow.session.scalars(select(Post).join(Post.department).where(
        Department.unit_id == unit.id).order_by(Department.code, Post.code)))
    gradings = {g.post_id: g for g in uow.session.scalars(select(PostGrading).where(
        PostGrading.post_id.in_([p.id for p in posts]), PostGrading.year == data["year"])
        .order_by(PostGrading.id).with_for_update())}
    missing = [p.code for p in posts if p.id not in gradings]
    if missing:
        message = (f"{len(missing)} post(s) of unit {unit.code} have no grading for "
                   f"{data['year']}: {', '.join(missing)}")
        raise ValidationFailed(message, {"unit": [message]})
    log = history(uow, actor)
    published = [gradings[p.id] for p in posts]
    for grading in published:
        if grading.published_at is None:
            log.set(GRADING, grading, "published_at", log.at)
    for point in points:
        log.set(RISK_POINT, point, "status", RiskStatus.PUBLISHED.value)
    uow.commit()
    return published
