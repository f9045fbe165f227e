"""Instance-list filters saved by name, per user (each sees and deletes only their own)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from ..db import UnitOfWork
from ..errors import NotFound, ValidationFailed
from ..models import SavedFilter
from .console_list import InstanceQuery, validate

__all__ = ["MAX_FILTERS", "delete_filter", "get_filter", "list_filters", "save_filter"]

MAX_FILTERS = 50


def save_filter(uow: UnitOfWork, owner: str, name: str, query: InstanceQuery) -> SavedFilter:
    """Keep ``query`` as ``owner``'s filter ``name`` (replacing one of the same name)."""
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise ValidationFailed("a saved filter's name has 1 to 100 characters",
                               {"name": ["length"]})
    validate(query)
    params = query.as_params()
    row = uow.session.scalar(select(SavedFilter).where(SavedFilter.owner == owner,
                                                       SavedFilter.name == name))
    if row is None:
        count = uow.session.scalar(select(func.count()).where(SavedFilter.owner == owner)) or 0
        if count >= MAX_FILTERS:
            raise ValidationFailed(f"you have {count} saved filters; delete one first (at "
                                   f"most {MAX_FILTERS})", {"name": ["too many"]})
        row = SavedFilter(owner=owner, name=name, query=params, created_at=datetime.now(UTC))
        uow.session.add(row)
    else:
        row.query = params
    uow.commit()
    return row


def list_filters(uow: UnitOfWork, owner: str) -> list[SavedFilter]:
    return list(uow.session.scalars(select(SavedFilter).where(SavedFilter.owner == owner)
                                    .order_by(SavedFilter.name)))


def get_filter(uow: UnitOfWork, owner: str, filter_id: int) -> SavedFilter:
    row = uow.session.get(SavedFilter, filter_id)
    if row is None or row.owner != owner:  # another's filter is as good as absent
        raise NotFound(f"no saved filter {filter_id}")
    return row


def delete_filter(uow: UnitOfWork, owner: str, filter_id: int) -> None:
    get_filter(uow, owner, filter_id)
    uow.session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id))
    uow.commit()
