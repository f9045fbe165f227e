"""Re-building ``instance_variable`` from the instances' states: for a database that held
instances before migration 0012 (whose variables are mirrored only from their next save
on), or after a change of what is mirrored. Batched and restartable: each call handles the
next ``limit`` instances after ``after_id`` in one transaction and says where it stopped."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select

from ..db import UnitOfWork
from ..execution.checkout import check_out, lock_instance
from ..models import ProcessInstance
from ..variables import mirror_variables

__all__ = ["reindex_variables"]


def reindex_variables(uow: UnitOfWork, *, after_id: int = 0,
                      limit: int = 500) -> tuple[int, int | None]:
    """Mirror the variables of up to ``limit`` instances with an id above ``after_id``;
    returns how many, and the last id (None when there was none left)."""
    ids = list(uow.session.scalars(select(ProcessInstance.id)
                                   .where(ProcessInstance.id > after_id)
                                   .order_by(ProcessInstance.id).limit(limit)))
    workflows = uow.runtime.workflows
    for instance_id in ids:
        # Locked like any writer, so a step saving the same instance cannot interleave.
        instance, now = lock_instance(uow, instance_id)
        live = check_out(uow, instance, now)
        mirror_variables(uow, instance.id, live.workflow)
        uow.after_commit(partial(workflows.checkin, instance.id, instance.revision,
                                 live.workflow))
    uow.commit()
    return len(ids), ids[-1] if ids else None
