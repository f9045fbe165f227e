"""Firing due timers, and the clock moves that make timers fall due."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from .. import variables, writebehind
from ..db import UnitOfWork
from ..errors import Conflict, IrpmError, ValidationFailed
from ..execution.checkout import check_out, lock_instance, lock_instances
from ..execution.saving import save
from ..execution.stepping import run_engine
from ..execution.workflow import waiting_timers
from ..models import ACTIVE_STATUSES, PendingTimer, ProcessInstance
from . import clock

log = logging.getLogger(__name__)

#: Instances fired per transaction by ``fire_due_timers``.
FIRE_BATCH = 100
#: A cycle that fell due many times while nothing ran fires at most this often per call.
MAX_FIRINGS_PER_INSTANCE = 1000


def due_instance_ids(uow: UnitOfWork, now: datetime, limit: int | None = None) -> list[int]:
    """Instances with a timer due by ``now``, earliest first — one indexed query."""
    stmt = (select(PendingTimer.instance_id, func.min(PendingTimer.due_at).label("due"))
            .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
            .where(PendingTimer.due_at <= now, ProcessInstance.status.in_(ACTIVE_STATUSES))
            .group_by(PendingTimer.instance_id).order_by("due", PendingTimer.instance_id))
    if limit:
        stmt = stmt.limit(limit)
    return [row[0] for row in uow.session.execute(stmt)]


def next_due(uow: UnitOfWork) -> datetime | None:
    """The earliest pending timer of an active instance (what a scheduler should wait for)."""
    return uow.session.scalar(
        select(func.min(PendingTimer.due_at))
        .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
        .where(ProcessInstance.status.in_(ACTIVE_STATUSES)))


def fire_due_timers(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Advance exactly the instances whose timers are due by ``now``.

    Returns how many timer firings happened. Instances go in batches of ``FIRE_BATCH``: one
    statement locks a batch and loads the states the workflow cache lacks, one commit ends
    it (and the runtime's event listeners hear of the whole batch at once). An instance that
    fails in the engine goes to ``error`` and the others still fire. When a batch cannot
    finish — another transaction holds one of its instances, or the database refused a
    change — it is rolled back and its instances go one by one, each committed alone; one
    that still fails is logged and left due, to be fired by a later call.
    """
    now = now or clock.now(uow)
    fired = 0
    ids = due_instance_ids(uow, now)
    for first in range(0, len(ids), FIRE_BATCH):
        chunk = ids[first:first + FIRE_BATCH]
        try:
            done, later = _fire_batch(uow, chunk, now)
            uow.commit()
        except Exception as exc:
            uow.rollback()
            if _outage(exc):
                raise
            log.debug("timer batch of %d instances rolled back (%s); one by one", len(chunk),
                      exc)
            done, later = 0, chunk
        fired += done
        for instance_id in later:
            fired += _fire_alone(uow, instance_id, now)
    return fired


def _fire_batch(uow: UnitOfWork, instance_ids: list[int], now: datetime) -> tuple[int, list[int]]:
    """Fire a batch in one transaction (not committed here); returns the firings and the
    instances left for one-by-one handling (held elsewhere, or changed by this batch).

    The batch reads its instances' rows, states and variables in three statements, and
    writes their tasks, candidates, timers, variables and rows as one statement each
    (``writebehind.batched``), not a statement of each per instance."""
    with writebehind.batched(uow):
        instances = lock_instances(uow, instance_ids)
        later = sorted(set(instance_ids) - {i.id for i in instances})
        revisions = {i.id: i.revision for i in instances}
        variables.preload(uow, list(revisions))
        fired = 0
        for instance in instances:
            if instance.revision != revisions[instance.id]:
                # Run on already in this transaction (as the caller of a child that
                # completed here): its loaded state is stale; it goes alone after the commit.
                later.append(instance.id)
                continue
            fired += _fire_checked_out(uow, instance, now)
    return fired, later


def _fire_alone(uow: UnitOfWork, instance_id: int, now: datetime) -> int:
    try:
        instance, _clock_now = lock_instance(uow, instance_id)
        fired = _fire_checked_out(uow, instance, now)
        uow.commit()
        return fired
    except Exception as exc:
        uow.rollback()
        if _outage(exc):
            raise
        log.warning("timers of instance %s not fired, left due for a later call: %s",
                    instance_id, exc, exc_info=not isinstance(exc, IrpmError | DBAPIError))
        return 0


def _outage(exc: Exception) -> bool:
    """The database is gone (as opposed to a lost race or one instance's problem)."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _fire_checked_out(uow: UnitOfWork, instance: ProcessInstance, now: datetime) -> int:
    """Fire a locked instance's due timers in due order, each at its own due time.

    One step per distinct due time: firing everything as of ``now`` at once would let a
    cycle that fell behind fire twice in one engine run (SpiffWorkflow refreshes timers
    again at the end of ``do_engine_steps``) and be logged and counted once.
    """
    if instance.status not in ACTIVE_STATUSES:
        return 0
    live = check_out(uow, instance, now)
    fired = 0
    for _ in range(MAX_FIRINGS_PER_INSTANCE):
        waiting = waiting_timers(live.workflow)
        due = [due_at for _task, due_at, _kind in waiting.values() if due_at <= now]
        if not due or live.error is not None:
            break
        step = run_engine(live, timers_at=min(due), timers_before=waiting)
        if not step:
            break
        fired += step
    save(uow, live)
    return fired


def advance_to(uow: UnitOfWork, target: datetime) -> int:
    """Move the simulated clock to ``target`` through every due time on the way, firing what
    falls due at its own time, so later due dates are counted from when each timer fired."""
    if not clock.is_simulated(uow):
        raise ValidationFailed("the system clock cannot be moved; set a simulated time first "
                               "(irpm clock set 2011-01-04T09:00:00+08:00 --reason …)")
    fired, fruitless = 0, 0
    while True:
        upcoming = next_due(uow)
        if upcoming is None or upcoming > target:
            break
        step = max(upcoming, clock.now(uow))
        clock.set_clock(uow, step)
        done = fire_due_timers(uow, step)
        fired += done
        # Nothing fired and something still due: each failure was logged and left its
        # instance due. Retrying forever kept the clock stuck (issue 13): a few more tries
        # (a lost race ends), then stop there and say which instances.
        fruitless = 0 if done else fruitless + 1
        if fruitless >= MAX_FRUITLESS_ROUNDS:
            raise TimersStuck(step, _due_ids(uow, step))
    clock.set_clock(uow, max(target, clock.now(uow)))
    return fired


#: Rounds of ``advance_to`` that fired nothing while timers stayed due, before it gives up.
MAX_FRUITLESS_ROUNDS = 3


class TimersStuck(Conflict):
    """``advance_to`` could not fire the timers due at a step: the clock stays there."""

    code = "timers_stuck"

    def __init__(self, at: datetime, instance_ids: list[int]) -> None:
        super().__init__(f"the timers of process instance(s) {', '.join(map(str, instance_ids))} "
                         f"due by {at.isoformat()} could not be fired (see the log); the clock "
                         "stopped there. Suspend or terminate them, then move the clock again",
                         at=at.isoformat(), instances=instance_ids)


def _due_ids(uow: UnitOfWork, at: datetime) -> list[int]:
    try:
        return due_instance_ids(uow, at, limit=10)
    finally:
        uow.rollback()


@dataclass(frozen=True)
class WaitingTimer:
    """A pending timer of a running instance, with the instance's process and key."""

    instance_id: int
    process_id: str
    business_key: str | None
    element_id: str
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class TimerOverview:
    """What the running instances wait for, as of the clock's reading ``now``: how many
    timers, how many of them due, the earliest due time, and the first ``timers``."""

    now: datetime
    pending: int
    due: int
    next_due: datetime | None
    timers: list[WaitingTimer]


def timer_overview(uow: UnitOfWork, limit: int = 20) -> TimerOverview:
    """The pending timers of active instances, the next due first (``irpm timers list``)."""
    now = clock.now(uow)
    active = (select(PendingTimer, ProcessInstance.process_id, ProcessInstance.business_key)
              .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
              .where(ProcessInstance.status.in_(ACTIVE_STATUSES)))
    pending = active.subquery()
    count, due = uow.session.execute(select(
        func.count(), func.count().filter(pending.c.due_at <= now)).select_from(pending)).one()
    found = uow.session.execute(active.order_by(PendingTimer.due_at).limit(limit))
    return TimerOverview(now=now, pending=count, due=due, next_due=next_due(uow), timers=[
        WaitingTimer(t.instance_id, process_id, key, t.element_id, t.kind, t.due_at)
        for t, process_id, key in found])
