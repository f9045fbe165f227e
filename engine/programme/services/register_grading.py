"""The risk register (信息档案): risk points, control measures, post gradings, and their history.

Writes validate their input (``engine.programme.registerschema``) and look up every code before
anything
is written, so bad input raises ``ValidationFailed`` naming the field and leaves the database
as it was; each write commits once. ``record_risk_points``, ``grade`` and ``change_level`` are
the same writes without the commit, for the service-task operators of ``engine.programme``,
which write in the engine's transaction (``register_cycle`` has the other writes a post's
cycle makes). Every field a write sets or changes is also recorded in
``register_change`` (who, when, old → new, the reason if one was given).

The grading follows the source's rules (``engine.programme.grading``, mirroring bpmn/*.dmn):
"根据岗位
风险发生的几率大小、可能造成的危害程度,将岗位廉政风险等级划分为三级" — a post's level is the most
severe of its post rule level and its risk points of that year. A reviewer may change it only
with a written reason ("严格审核把关,确定岗位廉政风险等级"), and the roles answering for the post
follow the level in force ("分级管理、分级负责"). A change to a post's risk points re-grades a
post that already has a grading that year, so the stored level never lags its risk points.
The pages that read all this are in ``register_pages``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import Conflict, NotFound, ValidationFailed
from ...models import ProcessInstance
from ...services import clock
from ..grading import post_rule_level, responsibility, risk_level
from ..models import (
    ControlMeasure,
    Department,
    MeasureStatus,
    Official,
    Post,
    PostGrading,
    RegisterChange,
    RegisterEntity,
    RiskPoint,
    RiskStatus,
    Unit,
)
from ..registerschema import (
    TIERS,
    AddRiskPoints,
    MeasureInput,
    OverrideLevel,
    PostYear,
    UnitYear,
    UpdateMeasure,
    UpdateRiskPoint,
    flatten,
)

M = TypeVar("M", Unit, Department, Post, Official)

RISK_POINT, MEASURE, GRADING = (RegisterEntity.RISK_POINT, RegisterEntity.CONTROL_MEASURE,
                                RegisterEntity.POST_GRADING)
#: Risk point statuses that grading and publication move on; later ones are left alone.
_UNPUBLISHED = (RiskStatus.IDENTIFIED.value, RiskStatus.GRADED.value)


# ------------------------------------------------------------------------------ helpers


def _load(schema: type[Schema], data: Mapping[str, Any], what: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        errors = flatten(exc.normalized_messages())
        detail = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                           if isinstance(messages, list) else f"{field}: {messages}"
                           for field, messages in errors.items())
        raise ValidationFailed(f"invalid {what}: {detail}", errors) from exc
    return loaded


def _by_code(uow: UnitOfWork, model: type[M], field: str, code: str) -> M:
    """The row with ``code``; an unknown code is bad input in ``field``."""
    row = uow.session.scalar(select(model).where(model.code == code))
    if row is None:
        message = f"unknown {model.__tablename__} '{code}'"
        raise ValidationFailed(message, {field: [message]})
    return row


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):  # dates and date-times
        return value.isoformat()
    return str(value)


@dataclass
class _History:
    """Writes one ``RegisterChange`` per field changed by one service call."""

    session: Session
    who: str
    at: datetime
    reason: str | None = None

    def record(self, entity: RegisterEntity, entity_id: int, field: str, old: Any,
               new: Any) -> None:
        self.session.add(RegisterChange(
            entity=entity.value, entity_id=entity_id, field=field, old_value=_text(old),
            new_value=_text(new), changed_by=self.who, changed_at=self.at, reason=self.reason))

    def created(self, entity: RegisterEntity, entity_id: int,
                values: Mapping[str, Any]) -> None:
        """A new row: one change per field that has a value."""
        for field, value in values.items():
            if value is not None:
                self.record(entity, entity_id, field, None, value)

    def set(self, entity: RegisterEntity, row: Any, field: str, value: Any) -> bool:
        old = getattr(row, field)
        if old == value:
            return False
        setattr(row, field, value)
        self.record(entity, row.id, field, old, value)
        return True


def _history(uow: UnitOfWork, actor: Actor, reason: str | None = None) -> _History:
    return _History(uow.session, actor.user, clock.now(uow), reason)


def _locked(uow: UnitOfWork, model: type[RiskPoint] | type[ControlMeasure],
            row_id: int) -> Any:
    row = uow.session.scalar(select(model).where(model.id == row_id).with_for_update())
    if row is None:
        raise NotFound(f"no {model.__tablename__.replace('_', ' ')} {row_id}")
    return row


# -------------------------------------------------------------------------- risk points


def _risk_point_fields(point: RiskPoint) -> dict[str, Any]:
    return {"unit": point.unit.code if point.unit else None,
            "department": point.department.code if point.department else None,
            "post": point.post.code if point.post else None,
            "year": point.year, "category": point.category, "description": point.description,
            "found_by": point.found_by, "likelihood": point.likelihood, "harm": point.harm,
            "level": point.level, "status": point.status,
            "source_instance": point.source_instance_id}


def add_risk_points(uow: UnitOfWork, tier: Mapping[str, str | None], year: int,
                    points: Sequence[Mapping[str, Any]], actor: Actor,
                    source_instance: int | None = None) -> list[RiskPoint]:
    """Record risks found at one tier — ``tier`` is ``{"unit" | "department" | "post": code}``
    — in campaign ``year``; ``points`` as a discovery form lists them: ``{category,
    description, found_by, likelihood, harm}``. All are written or none."""
    rows = record_risk_points(uow, tier, year, points, actor, source_instance)
    uow.commit()
    return rows


def record_risk_points(uow: UnitOfWork, tier: Mapping[str, str | None], year: int,
                       points: Sequence[Mapping[str, Any]], actor: Actor,
                       source_instance: int | None = None) -> list[RiskPoint]:
    """``add_risk_points`` in the caller's transaction (no commit): for service-task
    operators, which write in the engine's transaction."""
    data = _load(AddRiskPoints, {**tier, "year": year, "points": list(points),
                                 "source_instance": source_instance}, "risk points")
    field = next(t for t in TIERS if data.get(t))
    owner: Unit | Department | Post
    if field == "unit":
        owner = _by_code(uow, Unit, field, data[field])
    elif field == "department":
        owner = _by_code(uow, Department, field, data[field])
    else:
        owner = _by_code(uow, Post, field, data[field])
    instance_id = data.get("source_instance")
    if instance_id is not None and uow.session.get(ProcessInstance, instance_id) is None:
        message = f"no process instance {instance_id}"
        raise ValidationFailed(message, {"source_instance": [message]})
    log = _history(uow, actor)
    rows = [RiskPoint(**{field: owner}, year=data["year"], **point,
                      level=risk_level(point["likelihood"], point["harm"]),
                      status=RiskStatus.IDENTIFIED.value, created_at=log.at,
                      created_by=actor.user, source_instance_id=instance_id)
            for point in data["points"]]
    uow.session.add_all(rows)
    uow.session.flush()
    for row in rows:
        log.created(RISK_POINT, row.id, _risk_point_fields(row))
    if isinstance(owner, Post):
        _regrade_if_graded(uow, owner, data["year"], log)
    return rows


def update_risk_point(uow: UnitOfWork, risk_point_id: int, changes: Mapping[str, Any],
                      actor: Actor, reason: str | None = None) -> RiskPoint:
    """Change any of category, description, found_by, likelihood, harm, status; the level
    follows likelihood and harm."""
    data = _load(UpdateRiskPoint, {**changes, **({"reason": reason} if reason else {})},
                 "risk point")
    point: RiskPoint = _locked(uow, RiskPoint, risk_point_id)
    log = _history(uow, actor, data.pop("reason", None))
    for field in ("category", "description", "found_by", "likelihood", "harm", "status"):
        if field in data:
            log.set(RISK_POINT, point, field, data[field])
    if log.set(RISK_POINT, point, "level", risk_level(point.likelihood, point.harm)) \
            and point.post is not None:
        _regrade_if_graded(uow, point.post, point.year, log)
    uow.commit()
    return point


# ----------------------------------------------------------------------------- measures


def _unit_id(point: RiskPoint) -> int:
    if point.post is not None:
        return point.post.department.unit_id
    if point.department is not None:
        return point.department.unit_id
    assert point.unit_id is not None  # the one_tier check
    return point.unit_id


def _owner(uow: UnitOfWork, point: RiskPoint, code: str) -> Official:
    """The official carrying out a measure: one of the risk's own unit ("落实监管责任")."""
    official = _by_code(uow, Official, "owner", code)
    if official.unit_id != _unit_id(point):
        message = (f"official {code} ({official.name}) is not an official of the unit the "
                   f"risk point belongs to")
        raise ValidationFailed(message, {"owner": [message]})
    return official


def add_measure(uow: UnitOfWork, risk_point_id: int, measure: Mapping[str, Any],
                actor: Actor) -> ControlMeasure:
    """A prevention, monitoring or disposal measure: ``{kind, description, owner (official
    code), due_date, status (default planned)}``."""
    data = _load(MeasureInput, measure, "control measure")
    point: RiskPoint = _locked(uow, RiskPoint, risk_point_id)
    row = _new_measure(uow, point, data, _history(uow, actor))
    uow.commit()
    return row


def _new_measure(uow: UnitOfWork, point: RiskPoint, data: dict[str, Any],
                 log: _History) -> ControlMeasure:
    """Insert one measure from loaded ``MeasureInput`` data (``data`` is consumed)."""
    owner = _owner(uow, point, data.pop("owner"))
    status = data.pop("status", MeasureStatus.PLANNED.value)
    row = ControlMeasure(risk_point=point, owner=owner, status=status,
                         done_at=log.at if status == MeasureStatus.DONE else None,
                         created_at=log.at, created_by=log.who, **data)
    uow.session.add(row)
    uow.session.flush()
    log.created(MEASURE, row.id, {
        "risk_point": point.id, "kind": row.kind, "description": row.description,
        "owner": owner.code, "due_date": row.due_date, "status": row.status,
        "done_at": row.done_at})
    return row


def update_measure(uow: UnitOfWork, measure_id: int, changes: Mapping[str, Any],
                   actor: Actor, reason: str | None = None) -> ControlMeasure:
    """Change any of kind, description, owner, due_date, status; ``done_at`` is set when the
    status becomes done and cleared when it leaves done."""
    data = _load(UpdateMeasure, {**changes, **({"reason": reason} if reason else {})},
                 "control measure")
    row: ControlMeasure = _locked(uow, ControlMeasure, measure_id)
    log = _history(uow, actor, data.pop("reason", None))
    if "owner" in data:
        owner = _owner(uow, row.risk_point, data.pop("owner"))
        if owner.id != row.owner_id:
            log.record(MEASURE, row.id, "owner", row.owner.code, owner.code)
            row.owner = owner
    for field, value in data.items():
        log.set(MEASURE, row, field, value)
    if row.status == MeasureStatus.DONE:
        if row.done_at is None:
            log.set(MEASURE, row, "done_at", log.at)
    else:
        log.set(MEASURE, row, "done_at", None)
    uow.commit()
    return row


# ------------------------------------------------------------------------------ grading


def _grading_fields(grading: PostGrading) -> dict[str, Any]:
    return {"post": grading.post.code, "year": grading.year,
            "rule_level": grading.rule_level, "risk_level": grading.risk_level,
            "level": grading.level, "responsible_role": grading.responsible_role,
            "direct_manager_role": grading.direct_manager_role}


def _find_grading(uow: UnitOfWork, post: Post, year: int) -> PostGrading | None:
    return uow.session.scalar(select(PostGrading).where(
        PostGrading.post_id == post.id, PostGrading.year == year).with_for_update())


def _set_roles(grading: PostGrading, log: _History) -> bool:
    responsible, manager = responsibility(grading.effective_level)
    changed = log.set(GRADING, grading, "responsible_role", responsible)
    return log.set(GRADING, grading, "direct_manager_role", manager) or changed


def _grade(uow: UnitOfWork, post: Post, year: int, log: _History,
           grading: PostGrading | None) -> PostGrading:
    """Store the rule's answer: the most severe (lowest) of the post's rule level and its
    risk points' levels that year."""
    uow.session.flush()  # the session does not autoflush: count pending risk points too
    rule = post_rule_level(post)
    risk = uow.session.scalar(select(func.min(RiskPoint.level)).where(
        RiskPoint.post_id == post.id, RiskPoint.year == year))
    level = rule if risk is None else min(rule, risk)
    if grading is None:
        grading = PostGrading(post=post, year=year, rule_level=rule, risk_level=risk,
                              level=level, graded_at=log.at, graded_by=log.who)
        grading.responsible_role, grading.direct_manager_role = responsibility(level)
        uow.session.add(grading)
        uow.session.flush()
        log.created(GRADING, grading.id, _grading_fields(grading))
        return grading
    changed = [log.set(GRADING, grading, "rule_level", rule),
               log.set(GRADING, grading, "risk_level", risk),
               log.set(GRADING, grading, "level", level),
               _set_roles(grading, log)]
    if any(changed):
        grading.graded_at, grading.graded_by = log.at, log.who
    return grading


def _regrade_if_graded(uow: UnitOfWork, post: Post, year: int, log: _History) -> None:
    grading = _find_grading(uow, post, year)
    if grading is not None:
        _grade(uow, post, year, log, grading)


def grade_post(uow: UnitOfWork, post_code: str, year: int, actor: Actor) -> PostGrading:
    """确定风险等级: grade (or re-grade) a post for ``year``; its risk points of that year
    that were only identified become graded."""
    grading = grade(uow, post_code, year, actor)
    uow.commit()
    return grading


def grade(uow: UnitOfWork, post_code: str, year: int, actor: Actor) -> PostGrading:
    """``grade_post`` in the caller's transaction (no commit)."""
    data = _load(PostYear, {"post": post_code, "year": year}, "grading")
    post = _by_code(uow, Post, "post", data["post"])
    # Locks in one order everywhere — risk points (by id), then the grading — so concurrent
    # writes on PostgreSQL queue instead of deadlocking.
    points = list(uow.session.scalars(select(RiskPoint).where(
        RiskPoint.post_id == post.id, RiskPoint.year == data["year"])
        .order_by(RiskPoint.id).with_for_update()))
    log = _history(uow, actor)
    try:
        grading = _grade(uow, post, data["year"], log, _find_grading(uow, post, data["year"]))
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
                 actor: Actor) -> PostGrading:
    """``override_level`` in the caller's transaction (no commit)."""
    data = _load(OverrideLevel, {"post": post_code, "year": year, "level": level,
                                 "reason": reason}, "level change")
    post = _by_code(uow, Post, "post", data["post"])
    grading = _find_grading(uow, post, data["year"])
    if grading is None:
        raise NotFound(f"post {post.code} has no grading for {data['year']}: grade it first")
    log = _history(uow, actor, data["reason"])
    log.set(GRADING, grading, "override_level", data["level"])
    log.set(GRADING, grading, "override_reason", data["reason"])
    log.set(GRADING, grading, "overridden_by", actor.user)
    _set_roles(grading, log)
    return grading


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
    data = _load(UnitYear, {"unit": unit_code, "year": year}, "publication")
    unit = _by_code(uow, Unit, "unit", data["unit"])
    points = list(uow.session.scalars(_unit_risk_points(unit, data["year"]).where(
        RiskPoint.status.in_(_UNPUBLISHED)).order_by(RiskPoint.id).with_for_update()))
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
    log = _history(uow, actor)
    published = [gradings[p.id] for p in posts]
    for grading in published:
        if grading.published_at is None:
            log.set(GRADING, grading, "published_at", log.at)
    for point in points:
        log.set(RISK_POINT, point, "status", RiskStatus.PUBLISHED.value)
    uow.commit()
    return published
