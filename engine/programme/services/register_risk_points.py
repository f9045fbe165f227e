"""Risk points (廉政风险点) in the risk register: recording those found at a unit, department
or post, and changing them.

A risk point's level follows its likelihood and harm by the deployed risk_grading.dmn
(``engine.programme.grading.risk_level``; a service task's points by its instance's version).
A change to a post's risk points re-grades a post that already has a grading that year
(``register_grading.regrade_if_graded``), so the stored level never lags its risk points,
and a point more severe than the level in force lifts it (``register_lifts``).
Validation, lookups and the change history are ``register_writes``'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import ValidationFailed
from ...models import ProcessInstance
from ..grading import risk_level
from ..models import Department, Post, RiskPoint, RiskStatus, Unit
from ..registerschema import TIERS, AddRiskPoints, UpdateRiskPoint
from .register_grading import regrade_if_graded
from .register_writes import RISK_POINT, by_code, history, load_input, locked


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
                       source_instance: int | None = None, *,
                       definition_id: int | None = None) -> list[RiskPoint]:
    """``add_risk_points`` in the caller's transaction (no commit): for service-task
    operators, which write in the engine's transaction and pass their instance's process
    version as ``definition_id`` (its tables grade; None: the latest deployed)."""
    data = load_input(AddRiskPoints, {**tier, "year": year, "points": list(points),
                                      "source_instance": source_instance}, "risk points")
    field = next(t for t in TIERS if data.get(t))
    owner: Unit | Department | Post
    if field == "unit":
        owner = by_code(uow, Unit, field, data[field])
    elif field == "department":
        owner = by_code(uow, Department, field, data[field])
    else:
        owner = by_code(uow, Post, field, data[field])
    instance_id = data.get("source_instance")
    if instance_id is not None and uow.session.get(ProcessInstance, instance_id) is None:
        message = f"no process instance {instance_id}"
        raise ValidationFailed(message, {"source_instance": [message]})
    log = history(uow, actor)
    rows = [RiskPoint(**{field: owner}, year=data["year"], **point,
                      level=risk_level(uow, point["likelihood"], point["harm"],
                                       definition_id=definition_id),
                      status=RiskStatus.IDENTIFIED.value, created_at=log.at,
                      created_by=actor.user, source_instance_id=instance_id)
            for point in data["points"]]
    uow.session.add_all(rows)
    uow.session.flush()
    for row in rows:
        log.created(RISK_POINT, row.id, _risk_point_fields(row))
    if isinstance(owner, Post):
        regrade_if_graded(uow, owner, data["year"], log, definition_id=definition_id,
                          points=rows)
    return rows


def update_risk_point(uow: UnitOfWork, risk_point_id: int, changes: Mapping[str, Any],
                      actor: Actor, reason: str | None = None) -> RiskPoint:
    """Change any of category, description, found_by, likelihood, harm, status; the level
    follows likelihood and harm."""
    data = load_input(UpdateRiskPoint, {**changes, **({"reason": reason} if reason else {})},
                      "risk point")
    point: RiskPoint = locked(uow, RiskPoint, risk_point_id)
    log = history(uow, actor, data.pop("reason", None))
    for field in ("category", "description", "found_by", "likelihood", "harm", "status"):
        if field in data:
            log.set(RISK_POINT, point, field, data[field])
    if log.set(RISK_POINT, point, "level", risk_level(uow, point.likelihood, point.harm)) \
            and point.post is not None:
        regrade_if_graded(uow, point.post, point.year, log, points=[point])
    uow.commit()
    return point
