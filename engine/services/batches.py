"""Batch operations: suspend, resume, terminate, retry or migrate every instance a console
filter finds, with progress and a per-instance report.

Creating a batch fixes its instances (one ``batch_item`` each, at most ``MAX_BATCH``) and
records it in the audit. It is then run in steps — ``run_batch_step`` takes the next
pending items, each in its own transaction with its own audit entry, and marks each
succeeded or failed (with the reason) in that same transaction, so a step interrupted at any
point loses nothing and repeats nothing: the next step starts from the first pending item.
Creating a batch also queues a ``batch`` job (``engine.services.jobs``), which the
scheduler runs step after step, so a batch goes on without its page open; a script (``irpm
batch``) may loop the steps itself meanwhile — items are taken one at a time, so nothing is
done twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import IrpmError, NotFound, ValidationFailed
from ..models import (
    Base,
    Batch,
    BatchItem,
    BatchStatus,
    ItemOutcome,
    Job,
    JobStatus,
    ProcessDefinition,
)
from .admin_rule import require_administrator, require_reason
from .audit import record_admin_action
from .console_list import InstanceQuery, matching_instance_ids, validate
from .instance_admin import admin_lifecycle
from .version_migration import migrate_instance

__all__ = [
    "BATCH_OPERATIONS",
    "MAX_BATCH",
    "BatchProgress",
    "batch_items",
    "batch_progress",
    "create_batch",
    "get_batch",
    "list_batches",
    "run_batch_step",
]

BATCH_OPERATIONS = ("suspend", "resume", "terminate", "retry", "migrate")
#: The kind of the job that runs a batch's steps in the background.
BATCH_JOB = "batch"
#: The most instances one batch takes: a larger selection is refused (narrow the filter).
MAX_BATCH = 10_000
_ITEMS = Base.metadata.tables["batch_item"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchProgress:
    id: int
    operation: str
    status: str
    total: int
    succeeded: int
    failed: int

    @property
    def done(self) -> int:
        return self.succeeded + self.failed


def create_batch(uow: UnitOfWork, actor: Actor, operation: str, query: InstanceQuery,
                 reason: str | None, *, version: int | None = None) -> Batch:
    require_administrator(actor, "run batch operations")
    text = require_reason(reason)
    if operation not in BATCH_OPERATIONS:
        raise ValidationFailed(f"unknown batch operation '{operation}'; use one of "
                               f"{', '.join(BATCH_OPERATIONS)}", {"operation": ["unknown"]})
    validate(query)
    params: dict[str, Any] | None = None
    if operation == "migrate":
        _check_target(uow, query, version)
        params = {"version": version}
    ids = list(matching_instance_ids(uow, query, cap=MAX_BATCH + 1))
    if not ids:
        raise ValidationFailed("the filter finds no instance", {"query": ["empty"]})
    if len(ids) > MAX_BATCH:
        raise ValidationFailed(f"the filter finds more than {MAX_BATCH} instances; narrow it "
                               "down (status, unit, dates) and run several batches",
                               {"query": ["too many"]})
    now = datetime.now(UTC)
    batch = Batch(operation=operation, created_by=actor.user, created_at=now, reason=text,
                  query=query.as_params(), params=params, status=BatchStatus.PENDING,
                  total=len(ids), succeeded=0, failed=0)
    uow.session.add(batch)
    uow.session.flush()
    uow.session.connection().execute(insert(_ITEMS), [
        {"batch_id": batch.id, "instance_id": i, "outcome": ItemOutcome.PENDING} for i in ids])
    record_admin_action(uow, actor, f"batch_{operation}", f"batch:{batch.id}", text,
                        {"instances": len(ids), "query": batch.query, "params": params})
    uow.session.add(Job(kind=BATCH_JOB, parameters={"batch_id": batch.id},
                        status=JobStatus.QUEUED.value, done=0, total=len(ids),
                        started_by=actor.user, created_at=now))
    uow.commit()
    return batch


def _check_target(uow: UnitOfWork, query: InstanceQuery, version: int | None) -> None:
    if not query.process:
        raise ValidationFailed("a migration batch needs the process filter: instances move "
                               "to a version of their own process", {"process": ["required"]})
    if version is None:
        raise ValidationFailed("choose the version to migrate to", {"version": ["required"]})
    exists = uow.session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == query.process, ProcessDefinition.version == version))
    if exists is None:
        raise ValidationFailed(f"process '{query.process}' has no version {version}",
                               {"version": ["unknown"]})


def get_batch(uow: UnitOfWork, batch_id: int) -> Batch:
    batch = uow.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist")
    return batch


def run_batch_step(uow: UnitOfWork, batch_id: int, actor: Actor, *, max_items: int = 25,
                   max_seconds: float = 1.0) -> BatchProgress:
    """Process up to ``max_items`` pending items (stopping after ``max_seconds``)."""
    require_administrator(actor, "run batch operations")
    batch = get_batch(uow, batch_id)
    operation, reason = batch.operation, f"batch {batch.id}: {batch.reason}"
    version = int((batch.params or {}).get("version") or 0)
    deadline = time.monotonic() + max_seconds
    for _ in range(max_items):
        item = _next_item(uow, batch_id)
        if item is None:
            _finish(uow, batch_id)
            break
        item_id, instance_id = item
        try:
            _mark(uow, batch_id, item_id, ItemOutcome.SUCCEEDED, None)
            if operation == "migrate":
                migrate_instance(uow, instance_id, actor, version, reason)
            else:
                admin_lifecycle(uow, operation, instance_id, actor, reason)
        except IrpmError as exc:
            _fail(uow, batch_id, item_id, exc.message)
        except Exception as exc:  # a bug must not stall the batch on one item forever
            log.exception("batch %s: instance %s failed", batch_id, instance_id)
            _fail(uow, batch_id, item_id, f"internal error ({type(exc).__name__}); see the log")
        if time.monotonic() > deadline:
            break
    return batch_progress(uow, batch_id)


def _fail(uow: UnitOfWork, batch_id: int, item_id: int, message: str) -> None:
    uow.rollback()
    _mark(uow, batch_id, item_id, ItemOutcome.FAILED, message[:2000])
    uow.commit()


def _next_item(uow: UnitOfWork, batch_id: int) -> tuple[int, int] | None:
    stmt = (select(BatchItem.id, BatchItem.instance_id)
            .where(BatchItem.batch_id == batch_id, BatchItem.outcome == ItemOutcome.PENDING)
            .order_by(BatchItem.id).limit(1))
    if not uow.is_sqlite:  # two pages stepping the same batch take different items
        stmt = stmt.with_for_update(skip_locked=True)
    row = uow.session.execute(stmt).first()
    return (row[0], row[1]) if row else None


def _mark(uow: UnitOfWork, batch_id: int, item_id: int, outcome: ItemOutcome,
          message: str | None) -> None:
    uow.session.execute(update(BatchItem).where(BatchItem.id == item_id)
                        .values(outcome=outcome, message=message, done_at=datetime.now(UTC))
                        .execution_options(synchronize_session=False))
    column = Batch.succeeded if outcome == ItemOutcome.SUCCEEDED else Batch.failed
    uow.session.execute(update(Batch).where(Batch.id == batch_id)
                        .values({column: column + 1, Batch.status: BatchStatus.RUNNING})
                        .execution_options(synchronize_session=False))


def _finish(uow: UnitOfWork, batch_id: int) -> None:
    uow.session.execute(update(Batch).where(Batch.id == batch_id,
                                            Batch.status != BatchStatus.DONE)
                        .values(status=BatchStatus.DONE, finished_at=datetime.now(UTC))
                        .execution_options(synchronize_session=False))
    uow.commit()


def batch_progress(uow: UnitOfWork, batch_id: int) -> BatchProgress:
    row = uow.session.execute(select(Batch.id, Batch.operation, Batch.status, Batch.total,
                                     Batch.succeeded, Batch.failed)
                              .where(Batch.id == batch_id)).first()
    if row is None:
        raise NotFound(f"batch {batch_id} does not exist")
    return BatchProgress(*row)


def batch_items(uow: UnitOfWork, batch_id: int, outcome: str | None = None,
                limit: int = 500) -> list[BatchItem]:
    get_batch(uow, batch_id)
    stmt = select(BatchItem).where(BatchItem.batch_id == batch_id)
    if outcome:
        stmt = stmt.where(BatchItem.outcome == outcome)
    return list(uow.session.scalars(stmt.order_by(BatchItem.id).limit(limit)))


def list_batches(uow: UnitOfWork, limit: int = 50) -> list[Batch]:
    return list(uow.session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit)))


def pending_count(uow: UnitOfWork, batch_id: int) -> int:
    return uow.session.scalar(select(func.count()).where(
        BatchItem.batch_id == batch_id, BatchItem.outcome == ItemOutcome.PENDING)) or 0
