"""Control measures (防控措施) against risk points: prevention, monitoring and disposal, each
carried out by an official of the risk's own unit ("落实监管责任").

Adding one, changing one (``done_at`` follows the status), and ``new_measure`` — the insert
that ``register_cycle.record_measures`` shares. Validation, lookups and the change history
are ``register_writes``'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import ValidationFailed
from ..models import ControlMeasure, MeasureStatus, Official, RiskPoint
from ..registerschema import MeasureInput, UpdateMeasure
from .register_writes import MEASURE, History, by_code, history, load_input, locked


def _unit_id(point: RiskPoint) -> int:
    if point.post is not None:
        return point.post.department.unit_id
    if point.department is not None:
        return point.department.unit_id
    assert point.unit_id is not None  # the one_tier check
    return point.unit_id


def _owner(uow: UnitOfWork, point: RiskPoint, code: str) -> Official:
    """The official carrying out a measure: one of the risk's own unit ("落实监管责任")."""
    official = by_code(uow, Official, "owner", code)
    if official.unit_id != _unit_id(point):
        message = (f"official {code} ({official.name}) is not an official of the unit the "
                   f"risk point belongs to")
        raise ValidationFailed(message, {"owner": [message]})
    return official


def add_measure(uow: UnitOfWork, risk_point_id: int, measure: Mapping[str, Any],
                actor: Actor) -> ControlMeasure:
    """A prevention, monitoring or disposal measure: ``{kind, description, owner (official
    code), due_date, status (default planned)}``."""
    data = load_input(MeasureInput, measure, "control measure")
    point: RiskPoint = locked(uow, RiskPoint, risk_point_id)
    row = new_measure(uow, point, data, history(uow, actor))
    uow.commit()
    return row


def new_measure(uow: UnitOfWork, point: RiskPoint, data: dict[str, Any],
                log: History) -> ControlMeasure:
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
    data = load_input(UpdateMeasure, {**changes, **({"reason": reason} if reason else {})},
                      "control measure")
    row: ControlMeasure = locked(uow, ControlMeasure, measure_id)
    log = history(uow, actor, data.pop("reason", None))
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
