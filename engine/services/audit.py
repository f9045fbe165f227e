"""The administrators' audit log: every console operation writes one entry in its own
transaction, so an operation and its record commit (or roll back) together.

``record_admin_action`` never commits: the service performing the operation calls it
before its own ``uow.commit()``, which appends the entry to the log's hash chain
(``engine.audit_chain``). Reading (``list_audit``) is keyset-paginated on
``(at, id)`` so the page stays fast however long the log grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from .. import audit_chain
from ..actors import Actor
from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..models import AuditEntry
from . import clock

__all__ = ["AUDIT_PAGE", "AuditFilter", "AuditPage", "audit_actions", "list_audit",
           "record_admin_action"]

#: Longest reason kept; a longer one is refused rather than cut.
MAX_REASON = 2000


def record_admin_action(uow: UnitOfWork, actor: Actor | str, action: str, target: str,
                        reason: str | None = None, details: dict[str, Any] | None = None,
                        *, instance_id: int | None = None) -> AuditEntry:
    """Add an audit entry to the caller's transaction: appended to the audit log's chain
    when it commits, dropped if it rolls back. The entry returned has no ``id`` and link yet.

    ``target`` names the object as ``kind:id`` (``instance:42``); an ``instance:<n>`` target
    also fills ``instance_id`` so the instance page finds its trail. ``details`` must be
    JSON (what changed: old and new values, the batch's counts...).
    """
    user = actor.user if isinstance(actor, Actor) else actor
    if not user or not action or not target:
        raise ValueError("an audit entry needs an actor, an action and a target")
    if reason is not None and len(reason) > MAX_REASON:
        raise ValidationFailed(f"the reason has {len(reason)} characters; at most {MAX_REASON}",
                               {"reason": ["too long"]})
    if instance_id is None and target.startswith("instance:"):
        tail = target.removeprefix("instance:")
        instance_id = int(tail) if tail.isdigit() else None
    simulated = clock.is_simulated(uow)
    values = {"at": datetime.now(UTC), "clock_at": clock.now(uow) if simulated else None,
              "actor": user[:255], "action": action[:64], "target": target[:255],
              "instance_id": instance_id, "reason": reason or None, "details": details}
    [queued] = audit_chain.append(uow.session, _AUDIT, [values])
    return AuditEntry(**queued)


_AUDIT = AuditEntry.metadata.tables["admin_audit"]


AUDIT_PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    instance_id: int | None = None
    #: Substring of the target (``task:``, ``batch:7``).
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Keyset cursor: entries older than ``(at, id)``.
    before: tuple[datetime, int] | None = None
    limit: int = AUDIT_PAGE


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    #: The cursor of the next (older) page, or None on the last page.
    next_before: tuple[datetime, int] | None


def list_audit(uow: UnitOfWork, flt: AuditFilter | None = None) -> AuditPage:
    """Newest first."""
    flt = flt or AuditFilter()
    if not 1 <= flt.limit <= 500:
        raise ValidationFailed("an audit page has 1 to 500 entries", {"limit": ["range"]})
    stmt: Select[Any] = select(AuditEntry)
    if flt.actor:
        stmt = stmt.where(AuditEntry.actor == flt.actor)
    if flt.action:
        stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.instance_id is not None:
        stmt = stmt.where(AuditEntry.instance_id == flt.instance_id)
    if flt.target:
        escaped = flt.target.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.target.like(f"%{escaped}%", escape="\\"))
    if flt.since:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEntry.at < flt.until)
    if flt.before:
        at, entry_id = flt.before
        stmt = stmt.where(or_(AuditEntry.at < at, and_(AuditEntry.at == at,
                                                        AuditEntry.id < entry_id)))
    rows = list(uow.session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                    .limit(flt.limit + 1)))
    more = len(rows) > flt.limit
    rows = rows[:flt.limit]
    return AuditPage(rows, (rows[-1].at, rows[-1].id) if more and rows else None)


def audit_actions(uow: UnitOfWork) -> list[str]:
    """The actions recorded so far, for the audit page's filter."""
    return list(uow.session.scalars(select(AuditEntry.action).distinct()
                                    .order_by(AuditEntry.action)))
