"""What every write to the risk register (信息档案) shares: checked input, codes looked up,
rows locked, and the change history.

Writes validate their input (``engine.programme.registerschema``) and look up every code
before anything is written, so bad input raises ``ValidationFailed`` naming the field and
leaves the database as it was; each write commits once. Every field a write sets or changes
is also recorded in ``register_change`` (who, when, old → new, the reason if one was given)
through ``History``. The writes that go without the commit (``record_risk_points``,
``grade``, ``change_level`` and ``register_cycle``'s) are for the service-task operators of
``engine.programme``, which write in the engine's transaction.

The writes are by what they write: ``register_risk_points``, ``register_measures``,
``register_grading`` (a post's level and its publication) and ``register_cycle`` (the other
writes a post's cycle makes); the pages that read the register are in ``register_pages``.
These helpers are shared by all of them, so they live apart from any one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit_chain
from ...actors import Actor
from ...db import UnitOfWork
from ...errors import NotFound, ValidationFailed
from ...services import clock
from ..models import (
    ControlMeasure,
    Department,
    Official,
    Post,
    RegisterChange,
    RegisterEntity,
    RiskPoint,
    Unit,
)
from ..registerschema import flatten

M = TypeVar("M", Unit, Department, Post, Official)

RISK_POINT, MEASURE, GRADING = (RegisterEntity.RISK_POINT, RegisterEntity.CONTROL_MEASURE,
                                RegisterEntity.POST_GRADING)


def load_input(schema: type[Schema], data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``data`` checked and converted by ``schema``; bad input raises ``ValidationFailed``
    naming the fields, keyed by path (``points.0.harm``), before anything is written."""
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        errors = flatten(exc.normalized_messages())
        detail = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                           if isinstance(messages, list) else f"{field}: {messages}"
                           for field, messages in errors.items())
        raise ValidationFailed(f"invalid {what}: {detail}", errors) from exc
    return loaded


def by_code(uow: UnitOfWork, model: type[M], field: str, code: str) -> M:
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


_CHANGES = RegisterChange.metadata.tables["register_change"]


@dataclass
class History:
    """Writes one ``RegisterChange`` per field changed by one service call, appended to the
    register history's hash chain when the transaction commits (``engine.audit_chain``)."""

    session: Session
    who: str
    at: datetime
    reason: str | None = None

    def record(self, entity: RegisterEntity, entity_id: int, field: str, old: Any,
               new: Any) -> None:
        audit_chain.append(self.session, _CHANGES, [{
            "entity": entity.value, "entity_id": entity_id, "field": field,
            "old_value": _text(old), "new_value": _text(new), "changed_by": self.who,
            "changed_at": self.at, "reason": self.reason}])

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


def history(uow: UnitOfWork, actor: Actor, reason: str | None = None) -> History:
    """The change history of one service call: by ``actor``, at the clock's now (simulated
    in a rehearsal), every change carrying ``reason`` if one was given."""
    return History(uow.session, actor.user, clock.now(uow), reason)


def locked(uow: UnitOfWork, model: type[RiskPoint] | type[ControlMeasure],
           row_id: int) -> Any:
    """The risk point or measure ``row_id``, locked for the update; ``NotFound`` if none."""
    row = uow.session.scalar(select(model).where(model.id == row_id).with_for_update())
    if row is None:
        raise NotFound(f"no {model.__tablename__.replace('_', ' ')} {row_id}")
    return row
