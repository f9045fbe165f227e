"""The ``message_wait`` rows of an instance (its waiting message and signal catches),
written at save from its workflow."""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select

from ..db import UnitOfWork
from ..execution.checkout import Live
from ..execution.workflow import MessageWaitKey, message_waits
from ..models import ACTIVE_STATUSES, MessageWait


def sync_message_waits(uow: UnitOfWork, live: Live) -> None:
    """Make the instance's rows its workflow's waiting message catches — none once it is no
    longer active (a suspended or failed instance takes no message without a target).

    Compared with what the rows held at check-out (``Live.known_waits``), so a step that
    changes no message catch writes nothing."""
    instance = live.instance
    wanted = message_waits(live.workflow) if instance.status in ACTIVE_STATUSES else set()
    existing = live.known_waits
    if existing is None:
        existing = _stored(uow, instance.id)
    if wanted == existing:
        return
    if existing:
        uow.session.execute(delete(MessageWait).where(MessageWait.instance_id == instance.id))
    if wanted:
        uow.session.execute(insert(MessageWait), [
            {"instance_id": instance.id, "task_id": tid, "element_id": element, "kind": kind,
             "name": name, "correlations": json.loads(compared) if compared else None}
            for tid, element, kind, name, compared in wanted])
    live.known_waits = wanted


def _stored(uow: UnitOfWork, instance_id: int) -> set[MessageWaitKey]:
    return {(row.task_id, row.element_id, row.kind, row.name,
             json.dumps(row.correlations, sort_keys=True, default=str)
             if row.correlations else None)
            for row in uow.session.scalars(
                select(MessageWait).where(MessageWait.instance_id == instance_id))}
